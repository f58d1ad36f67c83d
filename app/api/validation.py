"""Reading API input: a JSON object field by field with one message per field (like forms.py
does for HTML forms), query-string filters, and cursor pagination."""
import base64
import datetime
import json
import re
from decimal import Decimal, InvalidOperation

from flask import request

from .. import money
from ..web.forms import EMAIL_RE
from .errors import ApiError

MAX_PAGE = 100
MAX_ID = 2 ** 31 - 1   # ids are 32-bit on PostgreSQL; a larger one names nothing
DEFAULT_PAGE = 50


def json_body():
    """The request's JSON object; 400 when the body is not one."""
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return data


class Body:
    """Typed access to a JSON object. Each getter returns the value or None and records one
    message per field; `done()` raises 422 with all of them. Unknown fields are refused, so a
    client sending a total (computed here) or a misspelt field hears about it."""

    def __init__(self, data, allowed, prefix=""):
        self.data = data
        self.errors = {}
        self.prefix = prefix
        for name in data:
            if name not in allowed:
                self.error(name, "Unknown field." if name not in ("total", "subtotal", "tax_total", "net",
                                                                  "amount_paid", "amount_due")
                           else "Totals are computed by the server; do not send them.")

    def error(self, name, message):
        self.errors.setdefault(self.prefix + name, message)
        return None

    @property
    def ok(self):
        return not self.errors

    def has(self, name):
        return name in self.data

    def done(self):
        if self.errors:
            raise ApiError(422, "validation_failed", "Some fields are not valid.", self.errors)

    def _get(self, name, required):
        if name not in self.data or self.data[name] is None:
            if required:
                self.error(name, "This field is required.")
            return None, False
        return self.data[name], True

    def string(self, name, required=False, max_length=200, multiline=False, default=""):
        value, present = self._get(name, required)
        if not present:
            return None if required else default
        if not isinstance(value, str):
            return self.error(name, "Must be a string.")
        value = value.replace("\r\n", "\n") if multiline else value.strip()
        if not multiline and ("\n" in value or "\r" in value):
            return self.error(name, "Must be a single line.")
        if "\x00" in value:
            return self.error(name, "Contains characters that are not allowed.")
        if required and not value.strip():
            return self.error(name, "This field is required.")
        if len(value) > max_length:
            return self.error(name, f"Use at most {max_length} characters.")
        return value.strip() if multiline else value

    def email(self, name, required=False):
        value = self.string(name, required=required, max_length=254, default=None)
        if value is None:
            return None
        if value and not EMAIL_RE.match(value):
            return self.error(name, "Enter an email address like name@example.com.")
        return value.lower()

    def integer(self, name, required=False, minimum=None, maximum=None, default=None):
        value, present = self._get(name, required)
        if not present:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            return self.error(name, "Must be an integer.")
        if minimum is not None and value < minimum:
            return self.error(name, f"Must be at least {minimum}.")
        if maximum is not None and value > maximum:
            return self.error(name, f"Must be at most {maximum}.")
        return value

    def boolean(self, name, required=False, default=None):
        value, present = self._get(name, required)
        if not present:
            return default
        if not isinstance(value, bool):
            return self.error(name, "Must be true or false.")
        return value

    def choice(self, name, choices, required=False, default=None):
        value, present = self._get(name, required)
        if not present:
            return default
        if value not in choices:
            return self.error(name, "Must be one of: " + ", ".join(choices) + ".")
        return value

    def date(self, name, required=False):
        value = self.string(name, required=required, max_length=10, default=None)
        if value is None:
            return None
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(value)
            return datetime.date.fromisoformat(value)
        except ValueError:
            return self.error(name, "Enter a date as YYYY-MM-DD.")

    def currency(self, name, required=False):
        value = self.string(name, required=required, max_length=3, default=None)
        if value is None:
            return None
        value = value.upper()
        if not money.is_currency(value):
            return self.error(name, "Enter a three-letter ISO 4217 currency code, like EUR.")
        return value

    def amount(self, name, required=False, minimum=0):
        """Money in minor units (an integer: 1250 is 12.50 EUR)."""
        return self.integer(name, required=required, minimum=minimum, maximum=money.MAX_AMOUNT - 1)

    def quantity(self, name, required=False):
        """A positive number with at most 3 decimals, returned in thousandths."""
        value, present = self._get(name, required)
        if not present:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self.error(name, "Must be a number.")
        try:
            return money.parse_quantity(str(Decimal(str(value))))
        except (money.MoneyError, InvalidOperation) as exc:
            reason = str(exc)
            return self.error(name, {"too many decimals": "Use at most 3 decimals.",
                                     "not positive": "Must be greater than zero.",
                                     "too large": "Must be at most 10000000."}.get(reason, "Must be a number."))

    def id_list(self, name, required=False):
        value, present = self._get(name, required)
        if not present:
            return None
        if (not isinstance(value, list) or len(value) > 20
                or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value)):
            return self.error(name, "Must be a list of at most 20 ids.")
        return list(dict.fromkeys(value))

    def string_list(self, name, choices, required=False):
        value, present = self._get(name, required)
        if not present:
            return None
        if not isinstance(value, list) or any(v not in choices for v in value):
            return self.error(name, "Must be a list of: " + ", ".join(choices) + ".")
        return [c for c in choices if c in value]


# --- query strings ------------------------------------------------------------------------

class Query:
    """Typed query-string filters; bad values are a 400 naming the parameter."""

    def __init__(self, allowed=()):
        self.args = request.args
        self.errors = {}
        known = set(allowed) | {"limit", "cursor"}
        for name in self.args:
            if name not in known:
                self.errors[name] = "Unknown parameter."

    def done(self):
        if self.errors:
            raise ApiError(400, "invalid_parameter", "Some query parameters are not valid.", self.errors)

    def string(self, name, max_length=100):
        value = self.args.get(name)
        if value is None:
            return None
        if len(value) > max_length or "\x00" in value:
            self.errors[name] = f"Use at most {max_length} characters."
            return None
        return value

    def integer(self, name, minimum=1, maximum=MAX_ID):
        value = self.args.get(name)
        if value is None:
            return None
        if not re.fullmatch(r"\d{1,19}", value) or not minimum <= int(value) <= maximum:
            self.errors[name] = "Must be a positive integer."
            return None
        return int(value)

    def boolean(self, name):
        value = self.args.get(name)
        if value is None:
            return None
        if value not in ("true", "false"):
            self.errors[name] = "Must be true or false."
            return None
        return value == "true"

    def choice(self, name, choices):
        value = self.args.get(name)
        if value is None:
            return None
        if value not in choices:
            self.errors[name] = "Must be one of: " + ", ".join(choices) + "."
            return None
        return value

    def date(self, name):
        value = self.args.get(name)
        if value is None:
            return None
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            return datetime.date.fromisoformat(value)
        except ValueError:
            self.errors[name] = "Enter a date as YYYY-MM-DD."
            return None

    def page(self, query, id_field, serialize):
        """One page of `query`, newest first, after the cursor: {"data", "next_cursor"}.

        The cursor is the last id seen (opaque to clients): keyset pagination never skips or
        repeats a row when rows are added meanwhile, unlike offsets."""
        limit = self.integer("limit", 1, MAX_PAGE) or DEFAULT_PAGE
        after = None
        if self.args.get("cursor") is not None:
            after = decode_cursor(self.args["cursor"])
            if after is None:
                self.errors["cursor"] = "This cursor is not valid."
        self.done()
        if after is not None:
            query = query.where(id_field < after)
        rows = list(query.order_by(id_field.desc()).limit(limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        return {"data": [serialize(r) for r in rows],
                "next_cursor": encode_cursor(rows[-1].id) if more else None}


def encode_cursor(last_id):
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(text):
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    match = re.fullmatch(r"v1:(\d{1,19})", raw)
    return int(match.group(1)) if match else None


def fetch(model, row_id, what):
    """The row with this id, or a 404 naming what was looked for."""
    row = model.get_or_none(model.id == row_id) if 0 < row_id <= MAX_ID else None
    if row is None:
        raise ApiError(404, "not_found", f"No such {what}.")
    return row


def reference(body, name, model, what, required=False):
    """A field holding the id of another row: the row, or a field error."""
    row_id = body.integer(name, required=required, minimum=1, maximum=MAX_ID)
    if row_id is None:
        return None
    row = model.get_or_none(model.id == row_id)
    if row is None:
        body.error(name, f"No {what} has this id.")
    return row
