"""Money and tax arithmetic: integer minor units, one rounding rule, parsing of typed amounts.

The rounding rule (written down because invoices must add up the same everywhere):
1. A line's net = quantity × unit price × (1 − discount), rounded once to the currency's
   minor unit, half away from zero.
2. Each tax is computed on the sum of the nets of the lines that carry it (one base per
   tax name and rate, as Spanish invoices show it), rounded once, half away from zero.
   A withholding (IRPF) is a tax with a negative rate.
3. Total = sum of line nets + sum of taxes. Nothing else is rounded.
"""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import get_currency_precision, list_currencies

QTY_SCALE = 1000          # quantities are stored in thousandths
RATE_SCALE = 10000        # tax rates and discounts in basis points of one (21 % = 2100)
MAX_AMOUNT = 10 ** 13     # minor units; far above any real invoice, far below int64


class MoneyError(ValueError):
    """A typed amount that cannot be money: the message is shown next to the field."""


def currency_exponent(code):
    return get_currency_precision(code)


_CURRENCIES = None


def is_currency(code):
    global _CURRENCIES
    if _CURRENCIES is None:
        # X-codes are metals, test and "no currency" codes, except four real regional currencies.
        _CURRENCIES = {c for c in list_currencies() if len(c) == 3 and c.isalpha() and c.isupper()
                       and (not c.startswith("X") or c in {"XAF", "XOF", "XPF", "XCD"})}
    return code in _CURRENCIES


def round_half_up(value):
    """Round a Decimal to an integer, half away from zero."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_net(qty_milli, unit_price, discount_bp=0):
    """Net of one line in minor units (rule 1)."""
    exact = (Decimal(qty_milli) * Decimal(unit_price) * Decimal(RATE_SCALE - discount_bp)
             / Decimal(QTY_SCALE * RATE_SCALE))
    return round_half_up(exact)


def tax_amount(base, rate_bp):
    """Tax on a base in minor units (rule 2)."""
    return round_half_up(Decimal(base) * Decimal(rate_bp) / Decimal(RATE_SCALE))


def compute_totals(lines):
    """Totals from lines given as (qty_milli, unit_price, discount_bp, [(tax_name, rate_bp)]).

    Returns dict(subtotal, taxes=[(name, rate_bp, base, amount)], tax_total, total, nets).
    """
    nets, bases = [], {}
    for qty_milli, unit_price, discount_bp, taxes in lines:
        net = line_net(qty_milli, unit_price, discount_bp)
        nets.append(net)
        for name, rate_bp in taxes:
            bases[(name, rate_bp)] = bases.get((name, rate_bp), 0) + net
    # Positive taxes first, then withholdings, each by rate descending: the order invoices use.
    taxes = [(name, rate, base, tax_amount(base, rate))
             for (name, rate), base in sorted(bases.items(), key=lambda kv: (kv[0][1] < 0, -abs(kv[0][1]), kv[0][0]))]
    subtotal = sum(nets)
    tax_total = sum(t[3] for t in taxes)
    return {"subtotal": subtotal, "taxes": taxes, "tax_total": tax_total,
            "total": subtotal + tax_total, "nets": nets}


def _decimal(text):
    text = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if not text:
        raise MoneyError("required")
    if len(text) > 40:   # thousands of digits would overflow Decimal's context: no amount is that long
        raise MoneyError("too large")
    # Accept both 1.234,56 and 1,234.56: the last separator is the decimal one.
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MoneyError("not a number") from None
    if not value.is_finite():
        raise MoneyError("not a number")
    return value


def parse_amount(text, currency, allow_negative=False):
    """'1.234,56' in EUR -> 123456. Raises MoneyError with a short reason."""
    value = _decimal(text)
    exp = currency_exponent(currency)
    scaled = value * (10 ** exp)
    if scaled != scaled.to_integral_value():
        raise MoneyError("too many decimals")
    if value < 0 and not allow_negative:
        raise MoneyError("negative")
    if abs(scaled) >= MAX_AMOUNT:
        raise MoneyError("too large")
    return int(scaled)


def parse_quantity(text, whole=False):
    """'1,5' -> 1500 thousandths. Quantities are positive; `whole` refuses fractions."""
    value = _decimal(text)
    scaled = value * QTY_SCALE
    if scaled != scaled.to_integral_value() or (whole and value != value.to_integral_value()):
        raise MoneyError("too many decimals" if not whole else "not a whole number")
    if value <= 0:
        raise MoneyError("not positive")
    if value > 10 ** 7:
        raise MoneyError("too large")
    return int(scaled)


def parse_percent(text, allow_negative=False, maximum=100):
    """'21' or '10,5' -> basis points (2100, 1050)."""
    value = _decimal(text)
    scaled = value * 100
    if scaled != scaled.to_integral_value():
        raise MoneyError("too many decimals")
    if value < 0 and not allow_negative:
        raise MoneyError("negative")
    if abs(value) > maximum:
        raise MoneyError("too large")
    return int(scaled)


def to_decimal(minor, currency):
    return Decimal(minor).scaleb(-currency_exponent(currency))


def amount_input(minor, currency):
    """The value to put back in an input field: plain digits with a dot."""
    return str(to_decimal(minor, currency))
