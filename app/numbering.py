"""Document numbers: correlative within a series, given when a document is issued.

A series is a row per (kind, series code, year) holding the next number. Issuing takes it
with one UPDATE that adds one, inside the issuing transaction: on PostgreSQL the row lock
orders concurrent issues, on SQLite the IMMEDIATE transaction already holds the write lock.
A rolled-back issue gives its number back with the rest of the transaction, drafts have no
number and a deleted draft leaves no gap. The series code is the business's prefix for the
kind (Settings.invoice_prefix...), so a new prefix starts a new series."""
import re
import string

from flask_babel import lazy_gettext as _l

from .db import db
from .models import CREDIT_NOTE, INVOICE, ORDER, QUOTE, NumberSeries, Settings
from .rules import Refused

DEFAULT_PATTERN = "{code}-{year}-{n:04d}"
MAX_START = 10 ** 9
_FIELDS = {"code", "year", "n"}


def code_for(kind, settings=None):
    settings = settings or Settings.get_solo()
    return {INVOICE: settings.invoice_prefix, QUOTE: settings.quote_prefix,
            ORDER: settings.order_prefix, CREDIT_NOTE: settings.credit_note_prefix}[kind]


def _key(kind, code, year):
    return (NumberSeries.kind == kind) & (NumberSeries.code == code) & (NumberSeries.year == year)


def series(kind, year, settings=None):
    """The kind's series for the year under the current code, created when first asked."""
    code = code_for(kind, settings)
    NumberSeries.insert(kind=kind, code=code, year=year, pattern=DEFAULT_PATTERN).on_conflict_ignore().execute()
    return NumberSeries.get(_key(kind, code, year))


def take(kind, on_date, settings=None):
    """The next number of the kind's series for that date's year. Call inside the transaction
    that gives the number to a document: if it rolls back, the number was never taken."""
    code = code_for(kind, settings)
    taken = _take(kind, code, on_date.year)
    if taken is None:   # the series' first number: the row is made, then taken from
        series(kind, on_date.year, settings)
        taken = _take(kind, code, on_date.year)
    pattern, n = taken
    return format_number(pattern, code, on_date.year, n)


def _take(kind, code, year):
    """(pattern, number) taken from the series in one statement, or None when it has no row.
    RETURNING (SQLite 3.35+, PostgreSQL), written out because peewee offers it on PostgreSQL
    only: one round trip where reading, adding and reading again took three."""
    p = db.param
    row = db.execute_sql(
        f'UPDATE "number_series" SET "next_n" = "next_n" + 1, "last_used" = "next_n" '
        f'WHERE "kind" = {p} AND "code" = {p} AND "year" = {p} RETURNING "pattern", "last_used"',
        (kind, code, year)).fetchone()
    return tuple(row) if row else None


def format_number(pattern, code, year, n):
    return pattern.format(code=code, year=year, n=n)


def check_pattern(pattern):
    """Why a numbering pattern cannot be used, or None. It must contain {n} (optionally with a
    width, {n:05d}), may contain {code} and {year}, and give at most 40 characters."""
    try:
        fields = [(name, spec) for _text, name, spec, _conv in string.Formatter().parse(pattern) if name is not None]
    except ValueError:
        return _l("Write fields as {code}, {year} and {n}, each in braces.")
    if not any(name == "n" for name, _spec in fields):
        return _l("The pattern must contain {n}, where the number goes.")
    if any(name not in _FIELDS for name, _spec in fields) or any(
            spec and not re.fullmatch(r"0?\d?d", spec) for name, spec in fields if name == "n") or any(
            spec for name, spec in fields if name != "n"):
        return _l("Only {code}, {year} and {n} (or {n:04d}) can be used.")
    if len(format_number(pattern, "X" * 20, 9999, MAX_START)) > 40:
        return _l("Numbers from this pattern would be longer than 40 characters.")
    return None


def configure(row, pattern, next_n):
    """Change a series' pattern and next number. The next number never goes back to or below
    a number already given; a new pattern applies from the next number on."""
    problem = check_pattern(pattern)
    if problem:
        raise Refused("invalid_pattern", problem, field="pattern")
    if not 1 <= next_n <= MAX_START:
        raise Refused("invalid_next", _l("Enter a whole number from 1 to %(max)d.", max=MAX_START), field="next_n")
    if next_n <= row.last_used:
        raise Refused("below_used", _l("Number %(n)d is already used; the next one must be higher.",
                                       n=row.last_used), field="next_n")
    updated = (NumberSeries.update(pattern=pattern, next_n=next_n)
               .where((NumberSeries.id == row.id) & (NumberSeries.last_used < next_n)).execute())
    if not updated:   # a number was given meanwhile
        raise Refused("below_used", _l("A number was just given; reload and try again."), field="next_n")
