"""Languages: which locale a request speaks, and the formatters templates use for it."""
import functools
from decimal import Decimal

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import current_app, g, has_request_context, request
from flask.globals import _cv_app
from flask_babel import Babel, get_locale, get_translations, to_user_timezone

from .. import money
from ..bank import current_iban, format_iban, notice_date
from ..config import LANGUAGES

LANGUAGE_NAMES = {"es": "Español", "en": "English", "ca": "Català", "fr": "Français",
                  "de": "Deutsch", "it": "Italiano", "pt": "Português"}


@functools.lru_cache(maxsize=16)
def _countries(locale):
    names = Locale.parse(locale).territories
    codes = Locale("en").territories
    return tuple(sorted(((c, names.get(c, codes[c])) for c in codes if len(c) == 2 and c.isalpha() and c != "ZZ"),
                        key=lambda pair: pair[1]))


def country_options():
    """[(ISO 3166-1 alpha-2 code, name in the request's language)], by name: for country selects."""
    return list(_countries(str(get_locale() or "en")))


@functools.cache
def country_codes():
    """The ISO 3166-1 alpha-2 codes the country selects offer (and the API takes)."""
    return frozenset(c for c, _name in _countries("en"))


def is_country(code):
    return code in country_codes()


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


# Countries whose English writes dates month first and times with AM/PM; every other business
# (a European one first of all) gets British English's formats: "4 Dec 2026", "14:51".
US_STYLE_COUNTRIES = {"US"}


def format_locale():
    """The locale numbers and dates are written in: the person's language, and for English the
    business's country's conventions (en-GB unless the business is American)."""
    locale = get_locale() or Locale.parse("en")
    if locale.language == "en" and not locale.territory:
        country = current_app.config.get("COUNTRY", "ES") if current_app else "ES"
        return locale if country in US_STYLE_COUNTRIES else EN_GB
    return locale


EN_GB = Locale.parse("en_GB")


def fmt_money(minor, currency):
    if minor is None:
        return ""
    return _money_text(minor, currency, format_locale())


@functools.lru_cache(maxsize=4096)
def _money_text(minor, currency, locale):
    """Babel parses the locale's pattern on every call: a page of prices repeats few amounts."""
    return babel_numbers.format_currency(money.to_decimal(minor, currency), currency, locale=locale)


def fmt_money_compact(minor, currency):
    """A short amount for a chart's labels: "1,2 mil €", "€1.2K"."""
    return babel_numbers.format_compact_currency(money.to_decimal(minor, currency), currency,
                                                 locale=format_locale(), fraction_digits=1)


def amount_field(minor, currency):
    """An amount to show in an input field: the person's decimal separator, no grouping, no
    symbol ("158,37" in Spanish, "158.37" in English); Form.amount reads either separator."""
    exponent = money.currency_exponent(currency)
    pattern = "0." + "0" * exponent if exponent else "0"
    return babel_numbers.format_decimal(money.to_decimal(minor, currency), format=pattern,
                                        locale=format_locale(), group_separator=False)


def fmt_qty(qty_milli):
    return babel_numbers.format_decimal(Decimal(qty_milli) / money.QTY_SCALE, locale=format_locale())


def fmt_percent(bp):
    return babel_numbers.format_decimal(Decimal(bp) / 100, locale=format_locale()) + "\u00a0%"


def fmt_date(value, fmt="medium"):
    """A date; "medium" is day, abbreviated month and year in every language ("4 dic 2026",
    "4. Dez. 2026"): never numbers only, which a reader may take day for month."""
    if not value:
        return ""
    if hasattr(value, "hour"):
        value = to_user_timezone(value).date()
    return _date_text(value, fmt, format_locale())


@functools.lru_cache(maxsize=4096)
def _date_text(day, fmt, locale):
    """A list page writes the same few dates again and again; Babel parses its pattern each time."""
    if fmt == "medium":
        return babel_dates.format_skeleton("yMMMd", day, locale=locale)
    return babel_dates.format_date(day, fmt, locale=locale)


def fmt_datetime(value, fmt="medium"):
    """A moment: the medium date and the time in the locale's clock (24 h but in US English)."""
    if not value:
        return ""
    local = to_user_timezone(value)
    if fmt in ("medium", "short"):
        time = babel_dates.format_time(local, "short", locale=format_locale())
        return f"{fmt_date(local)}, {time}"
    return babel_dates.format_datetime(local, fmt, locale=format_locale())


def _translations():
    """flask_babel's translations for the current locale, kept on the context's babel namespace
    next to the locale they are for: a template's strings cost a dict lookup each, not five
    context lookups. force_locale (mails) sets another Locale object, so the pair no longer
    matches and the translations are asked for again."""
    ctx = _cv_app.get(None)
    space = ctx.g.__dict__.get("_flask_babel") if ctx is not None else None
    locale = getattr(space, "babel_locale", None)
    if locale is None:
        return get_translations()   # the first string of a request: flask_babel picks the locale
    kept = space.__dict__.get("portal_translations")
    if kept is None or kept[0] is not locale:
        kept = (locale, get_translations())
        space.portal_translations = kept
    return kept[1]


def init_app(app):
    import os
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES",
                          os.path.join(os.path.dirname(app.root_path), "translations"))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.filters.update(
        money=fmt_money, qty=fmt_qty, percent=fmt_percent,
        date=fmt_date, datetime=fmt_datetime, amount_field=amount_field, money_compact=fmt_money_compact,
        iban=format_iban,
    )
    app.jinja_env.globals.update(get_locale=get_locale, LANGUAGE_NAMES=LANGUAGE_NAMES, country_options=country_options,
                                  bank_notice=notice_date, current_iban=current_iban)
