"""The value types of API input. Each is declared once and serves twice: pydantic checks a value
with it (the message a client reads comes from here too), and derives from it the JSON Schema
that the OpenAPI description publishes. app/api/schemas.py builds the request bodies and query
strings out of them."""
import base64
import datetime
import re
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Literal

from annotated_types import Ge, Gt, Le, MaxLen
from babel.numbers import list_currencies
from pydantic import AfterValidator, BeforeValidator, Strict, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError, core_schema

from .. import money
from ..web.i18n import country_codes

MAX_ID = 2 ** 31 - 1   # ids are 32-bit on PostgreSQL; a larger one names nothing
MAX_AMOUNT = money.MAX_AMOUNT - 1

# What str.strip() removes, spelt out (tests/test_api_schemas.py checks it). `\s` means a
# different set to each engine that reads these patterns: ECMA for clients, Python's re with
# re.ASCII for schemathesis, plain re here.
WS = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
WS_IN_LINE = WS.replace(r"\t-\r", r"\t\x0b\x0c")   # the same without CR and LF

# Every pattern is linear to match (no two adjacent parts that can take the same character), as
# the server runs each on up to 10,000 characters.
ONE_LINE = r"[^\r\n\x00]*"
ONE_LINE_FILLED = rf"[{WS_IN_LINE}]*[^{WS}\x00][^\r\n\x00]*"
TEXT = r"[^\x00]*"
TEXT_FILLED = rf"[{WS}]*[^{WS}\x00][^\x00]*"
_ADDRESS = rf"[^@{WS}\x00]+@[^@{WS}\x00]+\.[^@{WS}\x00]+"
EMAIL = rf"[{WS_IN_LINE}]*{_ADDRESS}[{WS_IN_LINE}]*"
EMAIL_OR_EMPTY = rf"[{WS_IN_LINE}]*(?:{_ADDRESS}[{WS_IN_LINE}]*)?"


def _error(kind, message):
    return PydanticCustomError(kind, message)


@dataclass(frozen=True)
class Matches:
    """The text must match `regex` whole. re.fullmatch, because `$` lets a final newline through
    in Python; the schema anchors the same regex with ^ and $, which ECMA reads as whole."""
    regex: str
    message: object   # a str, or (value) -> str

    def __get_pydantic_core_schema__(self, source, handler):
        compiled, message = re.compile(self.regex), self.message

        def check(value):
            if compiled.fullmatch(value) is None:
                raise _error("pattern", message(value) if callable(message) else message)
            return value
        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, schema, handler):
        return dict(handler(schema), pattern=f"^(?:{self.regex})$")


@dataclass(frozen=True)
class OneOf:
    """A code from a list read when first needed (babel's data is not loaded at import),
    compared after stripping and upper-casing."""
    values: object   # () -> list of str
    message: str

    def __get_pydantic_core_schema__(self, source, handler):
        def check(value):
            value = value.strip().upper()
            if value not in self.values():
                raise _error("enum", self.message)
            return value
        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, schema, handler):
        return dict(handler(schema), enum=list(self.values()))


class Schema:
    """JSON Schema keywords for a constraint that a validator next to it enforces."""

    def __init__(self, **keywords):
        self.keywords = keywords

    def __get_pydantic_json_schema__(self, schema, handler):
        return dict(handler(schema), **self.keywords)


def one_message(message):
    """Any failure inside a list is one message on the list (not one per item)."""
    def validate(value, handler):
        try:
            return handler(value)
        except ValidationError:
            raise _error("list", message) from None
    return WrapValidator(validate)


# --- numbers and flags ------------------------------------------------------------------------

def _integral(value):
    # JSON has one kind of number: to a JSON Schema validator 741.0 is the integer 741.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def Int(minimum, maximum):
    return Annotated[int, Ge(minimum), Le(maximum), Strict(), BeforeValidator(_integral)]


Id = Int(1, MAX_ID)
BasisPoints = Int(0, 10000)
Bool = Annotated[bool, Strict()]


def _not_zero(value):
    if value == 0:
        raise _error("zero", "Must not be zero.")
    return value


def NonZero(minimum, maximum):
    return Annotated[Int(minimum, maximum), AfterValidator(_not_zero), Schema(**{"not": {"const": 0}})]


def _thousandths(value):
    # A JSON Schema validator reads multipleOf 0.001 through floats: 9 × 0.001 arrives as
    # 0.009000000000000001 and is valid. So is it here; 1.0005 is not.
    scaled = value * money.QTY_SCALE
    whole = round(scaled)
    if abs(scaled - whole) > 1e-9 + abs(scaled) * 1e-12:
        raise _error("decimals", "Use at most 3 decimals.")
    return whole


# Returned in thousandths: 1.5 is 1500.
Quantity = Annotated[float, Gt(0), Le(10_000_000), Strict(), AfterValidator(_thousandths),
                     Schema(multipleOf=0.001)]


# --- text -------------------------------------------------------------------------------------

def _line(value):
    return value.strip()


def _text(value):
    return value.replace("\r\n", "\n").strip()


def _text_message(value):
    if "\x00" in value:
        return "Contains characters that are not allowed."
    if "\r" in value or "\n" in value:
        return "Must be a single line."
    return "This field is required."


def Line(max_length, filled=False):
    """One line of text (no CR, LF or NUL), stripped; `filled`: not blank either."""
    check = Matches(ONE_LINE_FILLED if filled else ONE_LINE, _text_message)
    return Annotated[str, MaxLen(max_length), check, AfterValidator(_line)]


def Text(max_length, filled=False):
    """Text of several lines (no NUL), CRLF as LF, stripped; `filled`: not blank either."""
    check = Matches(TEXT_FILLED if filled else TEXT, _text_message)
    return Annotated[str, MaxLen(max_length), check, AfterValidator(_text)]


def _email(value):
    return value.strip().lower()


EMAIL_MESSAGE = "Enter an email address like name@example.com."
Email = Annotated[str, MaxLen(254), Matches(EMAIL, EMAIL_MESSAGE), AfterValidator(_email)]
EmailOrEmpty = Annotated[str, MaxLen(254), Matches(EMAIL_OR_EMPTY, EMAIL_MESSAGE), AfterValidator(_email)]


@cache
def currencies():
    """The ISO 4217 codes the app takes (money.is_currency), sorted."""
    return tuple(sorted(c for c in list_currencies() if money.is_currency(c)))


COUNTRY_MESSAGE = "Enter a two-letter ISO 3166-1 country code, like ES, or an empty string for none."
CountryOrEmpty = Annotated[str, OneOf(lambda: ("",) + tuple(sorted(country_codes())), COUNTRY_MESSAGE)]

CURRENCY_MESSAGE = "Enter a three-letter ISO 4217 currency code, like EUR."
Currency = Annotated[str, OneOf(currencies, CURRENCY_MESSAGE)]
CurrencyOrEmpty = Annotated[str, OneOf(lambda: ("",) + currencies(), CURRENCY_MESSAGE)]


# Years 1900 to 2999: issuing moves a document's due date by as many days as its issue date
# moves to today, which would carry a date from far-off years past the year 9999.
DAY = r"(?:19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}"


def _day(value):
    try:
        if isinstance(value, str) and re.fullmatch(DAY, value):
            return datetime.date.fromisoformat(value)
    except ValueError:
        pass
    raise _error("date", "Enter a date as YYYY-MM-DD, from 1900 to 2999.")


Day = Annotated[datetime.date, Strict(), BeforeValidator(_day), Schema(pattern=f"^(?:{DAY})$")]


# --- lists ------------------------------------------------------------------------------------

def _unique(values):
    return list(dict.fromkeys(values))


IdList = Annotated[list[Id], MaxLen(20), one_message("Must be a list of at most 20 ids."),
                   AfterValidator(_unique)]


def ChoiceList(choices):
    """Some of `choices`, in their order, each once."""
    return Annotated[list[Literal[choices]], one_message("Must be a list of: " + ", ".join(choices) + "."),
                     AfterValidator(lambda values: [c for c in choices if c in values])]


# --- query strings: every value arrives as text ---------------------------------------------

def _query_int(value):
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,19}", value):
        return int(value)
    raise _error("int", "Must be a positive integer.")


def _query_bool(value):
    if value in ("true", "false"):
        return value == "true"
    raise _error("bool", "Must be true or false.")


def QueryInt(minimum, maximum):
    return Annotated[int, Ge(minimum), Le(maximum), Strict(), BeforeValidator(_query_int)]


QueryId = QueryInt(1, MAX_ID)
QueryBool = Annotated[bool, Strict(), BeforeValidator(_query_bool)]


def QueryText(max_length):
    return Annotated[str, MaxLen(max_length), Matches(TEXT, _text_message)]


# --- cursors ----------------------------------------------------------------------------------
# A cursor is the last id of a page, "v1:<id>" in URL-safe base64 without padding: opaque to
# clients, yet a pattern can say which strings are cursors. "v1:" is "djE6"; then every three
# digits are four characters, and one or two digits left over are two or three.
_DIGITS_3 = "(?:[MN][DTjz]|O[DT])[AEIMQUYcgk][w-z0-5]"
_DIGITS_2 = "(?:[MN][DTjz]|O[DT])[AEIMQUYcgk]"
_DIGITS_1 = "(?:[MN][AQgw]|O[AQ])"
CURSOR = (f"djE6(?:(?:{_DIGITS_3}){{0,6}}{_DIGITS_1}|(?:{_DIGITS_3}){{0,5}}{_DIGITS_2}"
          f"|(?:{_DIGITS_3}){{1,6}})")   # 1 to 19 digits


def encode_cursor(last_id):
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(text):
    """The id in a cursor that matches CURSOR; ids past the largest possible one all mean
    "from the end" (and stay within what SQLite can compare)."""
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    return min(int(raw[3:]), MAX_ID + 1)


Cursor = Annotated[str, Matches(CURSOR, "This cursor is not valid."), AfterValidator(decode_cursor)]
