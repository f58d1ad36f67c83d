"""Back-office: issuing a credit note against an issued invoice.

The form lists the invoice's lines with a quantity to credit (0 = not credited) and an optional
lower unit price; "credit everything" takes every line in full. The rules (what may be credited,
how much is left, the reason) are app/credit_notes.py's: this view only reads the form into
Picks and shows a refusal beside the field it concerns, having written nothing."""
import re

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ... import credit_notes
from ...credit_notes import Pick
from ...models import INVOICE
from ...money import amount_input
from ...rules import By, Refused
from ...web.forms import Form
from . import get_any_document, staff_blueprint
from .fields import read_amount

bp = staff_blueprint("credit_notes", "/documents")
ZERO = re.compile(r"0+([.,]0*)?")
# Line inputs are qty-<line id> and price-<line id>; an id that is not one of the invoice's
# lines (a tampered form) is passed on, and the service refuses it.
LINE_FIELD = re.compile(r"qty-(\d{1,18})")


def get_invoice(doc_id):
    doc = get_any_document(doc_id)
    if doc.kind != INVOICE:
        abort(404)
    return doc


def form_page(invoice, form, status=200):
    lines = list(invoice.ordered_lines())
    return render_template("staff/documents/credit_note.html", doc=invoice, lines=lines, form=form,
                           price_inputs={line.id: amount_input(line.unit_price, invoice.currency) for line in lines},
                           left=invoice.total - invoice.amount_credited,
                           everything_allowed=not invoice.amount_credited), status


def read_picks(form, invoice):
    """The lines the form credits, in the invoice's order, then any unknown ids sent."""
    own = [line.id for line in invoice.ordered_lines()]
    sent = [int(m.group(1)) for key in form.data.keys() if (m := LINE_FIELD.fullmatch(key))]
    picks = []
    for line_id in own + [i for i in sent if i not in own]:
        qty = _quantity(form, f"qty-{line_id}")
        price = _price(form, f"price-{line_id}", invoice.currency)
        if qty:
            picks.append(Pick(line_id, qty, price))
    return picks


def _quantity(form, name):
    raw = form.raw(name).strip()
    if not raw or ZERO.fullmatch(raw):
        return 0   # not credited
    return form.quantity(name)


def _price(form, name, currency):
    if not form.raw(name).strip():
        return None   # the invoiced price
    return read_amount(form, name, currency)


@bp.get("/<int:doc_id>/credit-note")
def new(doc_id):
    """Show the credit note form for an issued invoice."""
    invoice = get_invoice(doc_id)
    if invoice.status not in credit_notes.CREDITABLE:
        flash(_("Credit notes are issued only against issued invoices."), "error")
        return redirect(url_for("staff.documents.show", doc_id=invoice.id))
    values = {f"qty-{line.id}": "0" for line in invoice.ordered_lines()}
    return form_page(invoice, Form(values=values))


@bp.post("/<int:doc_id>/credit-note")
def issue(doc_id):
    """Issue the credit note the form describes, or show why not (nothing written)."""
    invoice = get_invoice(doc_id)
    form = Form(request.form)
    everything = request.form.get("action") == "everything"
    reason = form.text("reason", max_length=credit_notes.MAX_REASON, multiline=True)
    picks = credit_notes.everything(invoice) if everything else read_picks(form, invoice)
    if form.ok:
        try:
            note = credit_notes.issue(invoice, picks, reason, By(staff=g.staff))
        except Refused as exc:
            form.error(exc.field or "form", str(exc.message))
    if not form.ok:
        return form_page(invoice, form, 422)
    flash(_("Credit note %(number)s issued for %(invoice)s.", number=note.number, invoice=invoice.number),
          "success")
    return redirect(url_for("staff.documents.show", doc_id=note.id), 303)
