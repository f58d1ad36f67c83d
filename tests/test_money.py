"""The rounding rule, checked against totals worked out by hand."""
import pytest

from app import money

IVA21, IVA10, IVA4, IRPF = ("IVA", 2100), ("IVA", 1000), ("IVA", 400), ("IRPF", -1500)

# (lines as (qty_milli, unit_price, discount_bp, taxes), subtotal, [tax amounts in order], total)
CASES = [
    # Three lines at 21, 10 and 4 %: 59.97 + 100.00 + 20.25; taxes 12.5937->12.59, 10.00, 0.81.
    ([(3000, 1999, 0, [IVA21]), (1000, 10000, 0, [IVA10]), (2500, 810, 0, [IVA4])],
     18022, [1259, 1000, 81], 20362),
    # Half a cent on the tax rounds away from zero: 10 % of 0.05 = 0.005 -> 0.01.
    ([(1000, 5, 0, [IVA10])], 5, [1], 6),
    # Half a cent on a line net: 0.5 x 0.05 = 0.025 -> 0.03; 50 % off 10.05 = 5.025 -> 5.03.
    ([(500, 5, 0, []), (1000, 1005, 5000, [])], 506, [], 506),
    # Withholding: 1000.00 with IVA 21 % and IRPF -15 %.
    ([(1000, 100000, 0, [IVA21, IRPF])], 100000, [21000, -15000], 106000),
    # A negative half cent rounds away from zero too: -15 % of 0.10 = -0.015 -> -0.02.
    ([(1000, 10, 0, [IRPF])], 10, [-2], 8),
    # Tax is computed once per rate on the summed base, not per line: 3 x (0.10 at 21 %)
    # would be 3 x 0.021 -> 3 x 0.02 = 0.06 per line; on the base 0.30 it is 0.063 -> 0.06.
    # And 3 x 0.03 at 21 %: per line 0.0063 -> 0.01 each (0.03); on the base 0.09 -> 0.0189 -> 0.02.
    ([(1000, 3, 0, [IVA21]), (1000, 3, 0, [IVA21]), (1000, 3, 0, [IVA21])], 9, [2], 11),
    # Mixed: IVA 21 and 10 with IRPF on the services line only; discount 10 % on 33.33.
    ([(2000, 3333, 1000, [IVA21, IRPF]), (1000, 1250, 0, [IVA10])],
     5999 + 1250, [1260, 125, -900], 5999 + 1250 + 1260 + 125 - 900),
]


@pytest.mark.parametrize("lines,subtotal,taxes,total", CASES)
def test_totals_match_hand_worked_table(lines, subtotal, taxes, total):
    result = money.compute_totals(lines)
    assert result["subtotal"] == subtotal
    assert [t[3] for t in result["taxes"]] == taxes
    assert result["total"] == total


def test_tax_breakdown_lists_positive_taxes_then_withholdings():
    result = money.compute_totals([(1000, 10000, 0, [IRPF, IVA4, IVA21])])
    assert [(t[0], t[1]) for t in result["taxes"]] == [IVA21, IVA4, IRPF]


@pytest.mark.parametrize("text,currency,expected", [
    ("12.50", "EUR", 1250), ("12,50", "EUR", 1250), ("1.234,56", "EUR", 123456),
    ("1,234.56", "EUR", 123456), ("0", "EUR", 0), ("1500", "JPY", 1500), (" 7 ", "EUR", 700),
])
def test_parse_amount(text, currency, expected):
    assert money.parse_amount(text, currency) == expected


@pytest.mark.parametrize("text,reason", [
    ("", "required"), ("abc", "not a number"), ("1.234", "too many decimals"), ("-1", "negative"),
    ("1e20", "too large"), ("NaN", "not a number"), ("Infinity", "not a number"),
])
def test_parse_amount_refuses(text, reason):
    with pytest.raises(money.MoneyError, match=reason):
        money.parse_amount(text, "EUR")


@pytest.mark.parametrize("text,whole,reason", [
    ("0", False, "not positive"), ("-1", False, "not positive"), ("1.5", True, "not a whole number"),
    ("1e9", False, "too large"), ("x", False, "not a number"), ("", False, "required"),
    ("0.0001", False, "too many decimals"),
])
def test_parse_quantity_refuses(text, whole, reason):
    with pytest.raises(money.MoneyError, match=reason):
        money.parse_quantity(text, whole=whole)


def test_currency_codes():
    assert money.is_currency("EUR") and money.is_currency("GBP") and money.is_currency("XOF")
    assert not money.is_currency("XXX") and not money.is_currency("EURO") and not money.is_currency("eur")


def test_absurdly_long_number_is_refused_not_a_crash():
    with pytest.raises(money.MoneyError, match="too large"):
        money.parse_amount("9" * 5000, "EUR")
    with pytest.raises(money.MoneyError):
        money.parse_percent("1" + "0" * 3000)
