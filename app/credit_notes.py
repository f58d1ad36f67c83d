"""Credit notes (facturas rectificativas): how an issued invoice is corrected.

A credit note is a document of its own kind, numbered in its own series (R-2026-0001),
issued at once against one issued invoice and never edited afterwards. Its lines come from
the invoice's lines (a quantity to give back, optionally a lower unit price: a discount given
afterwards), so prices and taxes match what was invoiced. It records the invoice it rectifies
(`source`) and why (`reason`); its snapshot carries the invoice's number and date, which its
PDF prints.

Its total is taken off the invoice (`amount_credited`) in the issuing transaction, by a
conditional UPDATE that never lets credit notes exceed the invoice's total. What the customer
owes drops accordingly; when the invoice was already paid, the excess is a balance in the
customer's favour (Document.credit_balance), for staff to refund through the gateway or keep.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from . import documents, money, webhooks
from .db import db
from .models import CREDIT_NOTE, INVOICE, Activity, Document, utcnow
from .rules import Refused

CREDITABLE = ("open", "paid")
MAX_REASON = 1000


@dataclass
class Pick:
    """What to credit of one invoice line: a quantity (thousandths) and, to credit a price
    reduction rather than goods given back, a unit price below the invoiced one."""
    line_id: int
    qty_milli: int
    unit_price: int = None


def everything(invoice):
    """Picks that credit the whole of every line."""
    return [Pick(line.id, line.qty_milli) for line in invoice.ordered_lines()]


def lines_for(invoice, picks):
    """documents.Line rows for these picks, checked against the invoice's own lines."""
    own = {line.id: line for line in invoice.ordered_lines()}
    lines = []
    for pick in picks:
        line = own.get(pick.line_id)
        if line is None:
            raise Refused("unknown_line", _l("A line to credit is not a line of this invoice."), field="lines")
        if pick.qty_milli <= 0 or pick.qty_milli > line.qty_milli:
            raise Refused("bad_quantity", _l("Credit between a little more than zero and the quantity invoiced."),
                          field="lines")
        price = line.unit_price if pick.unit_price is None else pick.unit_price
        if price <= 0 or price > line.unit_price:
            raise Refused("bad_price", _l("A credited unit price must be above zero and at most the invoiced one."),
                          field="lines")
        lines.append(documents.Line(description=line.description, qty_milli=pick.qty_milli, unit_price=price,
                                    discount_bp=line.discount_bp, product=line.product_id,
                                    taxes=[(t.name, t.rate_bp) for t in line.line_taxes]))
    if not lines:
        raise Refused("no_lines", _l("Choose at least one line to credit."), field="lines")
    return lines


def issue(invoice, picks, reason, by):
    """Issue a credit note for `picks` of `invoice`; returns it. Refused (nothing written)
    when the invoice is not issued, the reason is missing, or credit notes would exceed it."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused("reason_required", _l("Say why the invoice is corrected."), field="reason")
    if len(reason) > MAX_REASON:
        raise Refused("reason_too_long", _l("Use at most %(n)s characters.", n=MAX_REASON), field="reason")
    if invoice.kind != INVOICE or invoice.status not in CREDITABLE:
        raise Refused("not_creditable", _l("Credit notes are issued only against issued invoices."))
    lines = lines_for(invoice, picks)
    amount = documents.totals(lines)["total"]
    with db.atomic():
        Document.lock_rows([invoice.id])
        fresh = Document.get_by_id(invoice.id)
        if fresh.status not in CREDITABLE:
            raise Refused("not_creditable", _l("Credit notes are issued only against issued invoices."))
        left = fresh.total - fresh.amount_credited
        if amount > left:
            raise Refused("over_credit", _l("This is more than is left to credit on the invoice (%(left)s).",
                                            left=money.amount_input(left, fresh.currency)), field="lines")
        raised = (Document.update(amount_credited=Document.amount_credited + amount, updated_at=utcnow(),
                                  version=Document.version + 1)
                  .where((Document.id == fresh.id)
                         & (Document.amount_credited + amount <= Document.total)).execute())
        if not raised:
            raise Refused("document_changed", _l("The document changed meanwhile; reload and try again."))
        fresh.settle_status()
        header = {"contact": fresh.contact_id, "issue_date": fresh.issue_date, "currency": fresh.currency,
                  "reference": fresh.reference, "source": fresh.id, "reason": reason,
                  "shipping_address": fresh.shipping_address}
        note = documents.save_draft(CREDIT_NOTE, header, lines)
        documents.move(note, "issued", by)
        Activity.record("credit_note_issued", document=fresh, contact=fresh.contact_id,
                        **by.activity(f"{note.number}: {money.amount_input(amount, fresh.currency)} {fresh.currency}",
                                      credit_note=note.id, number=note.number, amount=amount,
                                      amount_credited=fresh.amount_credited, status=fresh.status))
        webhooks.emit("credit_note.issued", {**webhooks.document_data(note),
                                             "invoice": webhooks.document_data(fresh)["document"]})
    invoice.amount_credited, invoice.status = fresh.amount_credited, fresh.status
    return note


def of(invoice):
    """The issued credit notes of an invoice, oldest first."""
    return (Document.select().where((Document.source == invoice) & (Document.kind == CREDIT_NOTE)
                                    & (Document.status != "draft"))
            .order_by(Document.issue_date, Document.id))

