"""Reading the back-office document editor: header fields plus a list of lines.

Lines arrive as lines-N-description, lines-N-qty, lines-N-price, lines-N-discount,
lines-N-tax (repeated, TaxRate ids) and lines-N-sku. Totals are always computed from the
typed lines (app/documents.py); nothing the browser sends as a total is read.
"""
import datetime
import re

from flask_babel import gettext as _

from ... import documents, money
from ...documents import MAX_LINES
from ...models import INVOICE, ORDER, QUOTE, Contact, Product, TaxRate
from ...web.forms import Form
LINE_KEY = re.compile(r"^lines-(\d{1,4})-")


class LineRow:
    """One editor row: what was typed (for re-display), its errors, and parsed values."""

    def __init__(self, index):
        self.index = index
        self.values = {"description": "", "qty": "1", "price": "", "discount": "", "sku": "", "taxes": []}
        self.errors = {}
        self.parsed = None
        self.net = None

    def name(self, field):
        return f"lines-{self.index}-{field}"


def blank_rows(count=1, start=0, default_taxes=()):
    rows = []
    for i in range(start, start + count):
        row = LineRow(i)
        row.values["taxes"] = [str(t) for t in default_taxes]
        rows.append(row)
    return rows


def rows_from_document(doc):
    rows = []
    for i, line in enumerate(doc.ordered_lines()):
        row = LineRow(i)
        row.values.update(
            description=line.description,
            qty=_qty_text(line.qty_milli),
            price=money.amount_input(line.unit_price, doc.currency),
            discount=_percent_text(line.discount_bp),
            sku=line.product.sku if line.product_id and line.product else "",
            taxes=[str(t.id) for t in _tax_ids(line)])
        row.net = line.net
        rows.append(row)
    return rows


def _qty_text(qty_milli):
    return f"{qty_milli / money.QTY_SCALE:.3f}".rstrip("0").rstrip(".")


def _percent_text(bp):
    return f"{bp / 100:.2f}".rstrip("0").rstrip(".") if bp else ""


def _tax_ids(line):
    taxes = []
    for lt in line.line_taxes:
        rate = TaxRate.get_or_none((TaxRate.name == lt.name) & (TaxRate.rate_bp == lt.rate_bp))
        if rate:
            taxes.append(rate)
    return taxes


def read_rows(data, currency, tax_rates):
    """Parse every line row in the posted data. Returns (rows, errors_found)."""
    indices = sorted({int(m.group(1)) for key in data.keys() if (m := LINE_KEY.match(key))})
    rows, bad = [], False
    taxes_by_id = {str(t.id): t for t in tax_rates}
    for index in indices[:MAX_LINES + 1]:
        row = LineRow(index)
        get = lambda f: data.get(row.name(f), "") if isinstance(data.get(row.name(f), ""), str) else ""  # noqa: E731, B023 (used in this iteration only)
        row.values.update(description=get("description"), qty=get("qty"), price=get("price"),
                          discount=get("discount"), sku=get("sku").strip(),
                          taxes=data.getlist(row.name("tax")) if hasattr(data, "getlist") else [])
        if data.get(row.name("remove")):
            continue  # the row's "remove" box was ticked
        if not any(row.values[k].strip() for k in ("description", "price", "sku")):
            continue  # an untouched blank row is not a line
        _parse_row(row, currency, taxes_by_id)
        bad = bad or bool(row.errors)
        rows.append(row)
    return rows, bad


def _parse_row(row, currency, taxes_by_id):
    form = Form({"description": row.values["description"], "qty": row.values["qty"],
                 "price": row.values["price"], "discount": row.values["discount"]})
    product = None
    if row.values["sku"]:
        product = Product.get_or_none(Product.sku == row.values["sku"])
        if product is None:
            form.error("sku", _("No product has this reference."))
        else:
            if not row.values["description"].strip():
                row.values["description"] = form.data["description"] = product.name
            if not row.values["price"].strip() and product.currency == currency:
                row.values["price"] = form.data["price"] = money.amount_input(product.price, currency)
    description = form.text("description", required=True, max_length=2000, multiline=True)
    qty = form.quantity("qty")
    price = form.amount("price", currency, allow_negative=True)
    discount = form.percent("discount")
    chosen = []
    for tax_id in row.values["taxes"]:
        if tax_id not in taxes_by_id:
            form.error("tax", _("Choose one of the options."))
        else:
            chosen.append(taxes_by_id[tax_id])
    names = [t.name for t in chosen]
    if len(set(names)) != len(names):
        form.error("tax", _("A line cannot carry the same tax twice."))
    row.errors = form.errors
    if form.ok:
        row.parsed = documents.Line(description=description, qty_milli=qty, unit_price=price,
                                    discount_bp=discount, product=product,
                                    taxes=[(t.name, t.rate_bp) for t in chosen])
        row.net = row.parsed.net


def read_header(data, kind, doc=None):
    """Validate the header fields. Returns (form, values)."""
    form = Form(data)
    values = {}
    contact_id = form.integer("contact", minimum=1)
    contact = Contact.get_or_none(Contact.id == contact_id) if contact_id else None
    if contact_id and contact is None:
        form.error("contact", _("Choose a contact from the list."))
    values["contact"] = contact
    values["issue_date"] = form.date("issue_date")
    if kind == QUOTE:
        values["valid_until"] = form.date("valid_until", required=False)
    else:
        values["due_date"] = form.date("due_date", required=False)
    if values.get("issue_date"):
        later = values.get("valid_until") or values.get("due_date")
        if later and later < values["issue_date"]:
            form.error("valid_until" if kind == QUOTE else "due_date",
                       _("This date cannot be before the issue date."))
    values["currency"] = form.currency("currency")
    values["reference"] = form.text("reference", max_length=80)
    values["notes"] = form.text("notes", max_length=10000, multiline=True)
    values["terms"] = form.text("terms", max_length=10000, multiline=True)
    if kind == ORDER:
        values["shipping_address"] = form.text("shipping_address", max_length=1000, multiline=True)
    return form, values


def preview_totals(rows):
    """Totals of the rows that parsed, for the live totals panel."""
    return documents.totals([r.parsed for r in rows if r.parsed])


def default_dates(kind, settings, today=None):
    today = today or datetime.date.today()
    if kind == QUOTE:
        return {"valid_until": (today + datetime.timedelta(days=settings.quote_validity_days)).isoformat()}
    if kind == INVOICE:
        return {"due_date": (today + datetime.timedelta(days=settings.payment_terms_days)).isoformat()}
    return {"due_date": ""}
