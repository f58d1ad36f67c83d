"""The value types of API input (app/api/fields.py) say in their patterns what the server does:
the whitespace they spell out is what str.strip() removes, every cursor the server writes is one
the pattern allows and every string the pattern allows is a cursor, the currency enum is what
money.is_currency takes, and a quantity is read as a JSON Schema validator reads multipleOf."""
import re
import sys

import pytest
from babel.numbers import list_currencies
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app import money
from app.api.fields import CURSOR, WS, currencies, decode_cursor, encode_cursor
from app.api.schemas import LineCreate


def test_the_spelt_out_whitespace_is_what_strip_removes():
    pattern = re.compile(f"[{WS}]")
    spelt = {chr(c) for c in range(sys.maxunicode + 1) if pattern.fullmatch(chr(c))}
    assert spelt == {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}


@pytest.mark.parametrize("last_id", [1, 9, 10, 99, 100, 999, 1000, 123456, 2 ** 31 - 1, 10 ** 19 - 1])
def test_every_cursor_written_matches_the_pattern_and_reads_back(last_id):
    cursor = encode_cursor(last_id)
    assert re.fullmatch(CURSOR, cursor)
    assert decode_cursor(cursor) == min(last_id, 2 ** 31)


@given(st.from_regex(re.compile(f"(?:{CURSOR})"), fullmatch=True))
@settings(max_examples=200, deadline=None)
def test_every_string_the_pattern_allows_is_a_cursor(text):
    assert 0 <= decode_cursor(text) <= 2 ** 31


def test_the_currency_enum_is_what_money_takes():
    assert set(currencies()) == {c for c in list_currencies() if money.is_currency(c)}
    assert "EUR" in currencies() and "XXX" not in currencies()


@pytest.mark.parametrize("sent, thousandths", [(1, 1000), (1.5, 1500), (9 * 0.001, 9), (0.009000000000000001, 9),
                                                (9999999.999, 9999999999)])
def test_quantities_within_float_noise_of_a_thousandth(sent, thousandths):
    assert LineCreate.model_validate({"product_id": 1, "quantity": sent}).quantity == thousandths


@pytest.mark.parametrize("sent", [1.0005, 0, -1, 10_000_001, True, "1"])
def test_quantities_refused(sent):
    with pytest.raises(ValidationError):
        LineCreate.model_validate({"product_id": 1, "quantity": sent})
