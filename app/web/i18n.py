"""Languages: which locale a request speaks, and the formatters templates use for it."""
from decimal import Decimal

from flask import g, has_request_context, request
from flask_babel import Babel, format_currency, format_date, format_datetime, format_decimal
from flask_babel import get_locale

from .. import money
from ..config import LANGUAGES

LANGUAGE_NAMES = {"es": "Español", "en": "English", "ca": "Català", "fr": "Français",
                  "de": "Deutsch", "it": "Italiano", "pt": "Português"}


def select_locale():
    """The person's choice, then the contact's language set by staff, then the browser's.
    Outside a request (the worker, the CLI) the default locale: mails choose their own."""
    if not has_request_context():
        return None
    person = getattr(g, "person", None)
    if person is not None:
        if person.language in LANGUAGES:
            return person.language
        if person.contact.language in LANGUAGES:
            return person.contact.language
    staff = getattr(g, "staff", None)
    if staff is not None and getattr(staff, "language", "") in LANGUAGES:
        return staff.language
    return request.accept_languages.best_match(LANGUAGES) or "en"


def fmt_money(minor, currency):
    if minor is None:
        return ""
    return format_currency(money.to_decimal(minor, currency), currency)


def fmt_qty(qty_milli):
    return format_decimal(Decimal(qty_milli) / money.QTY_SCALE)


def fmt_percent(bp):
    return format_decimal(Decimal(bp) / 100) + "\u00a0%"


def init_app(app):
    import os
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES",
                          os.path.join(os.path.dirname(app.root_path), "translations"))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters.update(
        money=fmt_money, qty=fmt_qty, percent=fmt_percent,
        date=lambda d, fmt="medium": format_date(d, fmt) if d else "",
        datetime=lambda d, fmt="medium": format_datetime(d, fmt) if d else "",
    )
    app.jinja_env.globals.update(get_locale=get_locale, LANGUAGE_NAMES=LANGUAGE_NAMES)
