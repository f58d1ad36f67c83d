"""Form validation in the sourcehut manner: read each field, collect one message per field.

A view builds `Form(request.form)`, asks it for typed values, and when `form.ok` is false
re-renders the same template with `form` (submitted values and errors) and status 422.
"""
import datetime
import re

from flask_babel import gettext as _

from .. import comments, money

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Form:
    def __init__(self, data=None, values=None):
        self.data = data if data is not None else {}
        self.values = dict(values or {})   # what the template shows back in each input
        self.errors = {}

    @property
    def ok(self):
        return not self.errors

    def error(self, name, message):
        self.errors.setdefault(name, message)
        return None

    def value(self, name, default=""):
        return self.values.get(name, default)

    def raw(self, name):
        value = self.data.get(name, "")
        value = value if isinstance(value, str) else ""
        self.values[name] = value
        return value

    def text(self, name, required=False, max_length=200, multiline=False):
        value = self.raw(name)
        value = value.replace("\r\n", "\n") if multiline else value.strip()
        if not multiline and ("\n" in value or "\r" in value):
            return self.error(name, _("This field must be a single line."))
        if required and not value.strip():
            return self.error(name, _("This field is required."))
        if len(value) > max_length:
            return self.error(name, _("Use at most %(n)d characters (you typed %(m)d).",
                                      n=max_length, m=len(value)))
        if "\x00" in value:
            return self.error(name, _("This field contains characters that are not allowed."))
        return value.strip() if multiline else value

    def email(self, name, required=False):
        value = self.text(name, required=required, max_length=254)
        if value and not EMAIL_RE.match(value):
            return self.error(name, _("Enter an email address like name@example.com."))
        return (value or "").lower() if value is not None else None

    def choice(self, name, choices, required=True):
        value = self.raw(name).strip()
        if not value and not required:
            return ""
        if value not in choices:
            return self.error(name, _("Choose one of the options."))
        return value

    def checkbox(self, name):
        value = name in self.data and self.data.get(name) not in ("", "0", "off", "false")
        self.values[name] = value
        return value

    def integer(self, name, minimum=None, maximum=None, required=True, default=None):
        value = self.raw(name).strip()
        if not value:
            if required:
                return self.error(name, _("This field is required."))
            return default
        if not re.fullmatch(r"-?\d{1,12}", value):
            return self.error(name, _("Enter a whole number."))
        number = int(value)
        if minimum is not None and number < minimum:
            return self.error(name, _("Enter a number of at least %(n)d.", n=minimum))
        if maximum is not None and number > maximum:
            return self.error(name, _("Enter a number no greater than %(n)d.", n=maximum))
        return number

    def date(self, name, required=True):
        value = self.raw(name).strip()
        if not value:
            return self.error(name, _("This field is required.")) if required else None
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return self.error(name, _("Enter a date as YYYY-MM-DD."))

    def amount(self, name, currency, required=True, allow_negative=False):
        value = self.raw(name)
        if not value.strip() and not required:
            return 0
        try:
            return money.parse_amount(value, currency, allow_negative=allow_negative)
        except money.MoneyError as exc:
            return self.error(name, _money_message(str(exc)))

    def quantity(self, name, whole=False):
        try:
            return money.parse_quantity(self.raw(name), whole=whole)
        except money.MoneyError as exc:
            return self.error(name, _money_message(str(exc)))

    def percent(self, name, allow_negative=False, required=False):
        value = self.raw(name)
        if not value.strip() and not required:
            return 0
        try:
            return money.parse_percent(value, allow_negative=allow_negative)
        except money.MoneyError as exc:
            return self.error(name, _money_message(str(exc)))

    def country(self, name, required=False):
        """An ISO 3166-1 alpha-2 code from a country select ("" when not required and empty)."""
        from .i18n import is_country
        value = self.raw(name).strip().upper()
        self.values[name] = value
        if not value and not required:
            return ""
        if not is_country(value):
            return self.error(name, _("Choose a country from the list."))
        return value

    def currency(self, name):
        value = self.raw(name).strip().upper()
        self.values[name] = value
        if not money.is_currency(value):
            return self.error(name, _("Enter a three-letter ISO 4217 currency code, like EUR."))
        return value


def _money_message(reason):
    return {
        "required": _("This field is required."),
        "not a number": _("Enter a number, like 12.50."),
        "too many decimals": _("Too many decimal places."),
        "negative": _("Enter a number that is not negative."),
        "not positive": _("Enter a number greater than zero."),
        "not a whole number": _("Enter a whole number."),
        "too large": _("This number is too large."),
    }.get(reason, _("Enter a valid number."))


def read_comment(data):
    """Validate a comment form (portal or back-office); returns (form, body or None)."""
    form = Form(data)
    if not form.raw("body").strip():
        form.error("body", _("Write a comment before sending."))
        return form, None
    body = form.text("body", max_length=comments.MAX_LENGTH, multiline=True)
    return form, (body if form.ok else None)
