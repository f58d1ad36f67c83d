"""CSV that a spreadsheet opens safely: staff exports and the yearly pack's index use it.

A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to
Excel, LibreOffice and Google Sheets (CSV injection, OWASP); such text gets a leading apostrophe,
which every one of them shows as plain text. Numbers are written as numbers, even negative ones:
they are ours, not typed by anybody, and an accountant must be able to sum them."""
import csv
import decimal
import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """The text written for `value`: None as empty, numbers as they are, risky text quoted."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, float, decimal.Decimal)):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def row(values):
    return [cell(v) for v in values]


def text(header, rows):
    """The whole CSV (header first) as a str; Excel-friendly line ends, every cell through cell()."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(row(header))
    for values in rows:
        writer.writerow(row(values))
    return out.getvalue()


def data(header, rows):
    """text() as UTF-8 with a byte order mark, so that Excel reads accents right."""
    return ("\ufeff" + text(header, rows)).encode("utf-8")
