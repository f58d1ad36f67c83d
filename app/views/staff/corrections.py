"""Back-office: correcting money received on a document. A manual payment recorded by mistake is
reversed (app/documents.reverse_payment); an online payment is refunded through its gateway
(app/refunds.request). Each starts from the document's payments list and asks for a reason on a
page of its own; the services decide what is allowed and nothing is written when they refuse."""
import re
import secrets

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ... import documents, refunds
from ...models import Payment
from ...money import amount_input
from ...rules import By, Refused
from ...web.forms import Form
from ...web.i18n import fmt_money
from . import get_any_document, staff_blueprint
from .fields import read_amount

bp = staff_blueprint("corrections", "/documents")
MAX_REASON = 300   # what documents.reverse_payment and refunds.request keep
KEY = re.compile(r"[0-9a-f]{32}")


def get_payment(doc_id, payment_id):
    """The document and one of the payments that touch it (its own or a share of a grouped
    one), or 404: a payment id from another document's page is not found here."""
    doc = get_any_document(doc_id)
    payment = Payment.for_document(doc).where(Payment.id == payment_id).first()
    if payment is None:
        abort(404)
    return doc, payment


def refundable_now(payment):
    """What a new refund may still ask for: refunds on their way count as given."""
    pending = sum(r.amount for r in payment.refunds() if r.status == "pending")
    return max(payment.refundable - pending, 0)


def _back(doc):
    return redirect(url_for("staff.documents.show", doc_id=doc.id) + "#payments", 303)


# --- reversing a manual payment ---------------------------------------------------------------

def reverse_page(doc, payment, form, status=200):
    return render_template("staff/documents/reverse_payment.html", doc=doc, payment=payment, form=form), status


@bp.get("/<int:doc_id>/payments/<int:payment_id>/reverse")
def confirm_reversal(doc_id, payment_id):
    """Ask why a manual payment is reversed before reversing it."""
    doc, payment = get_payment(doc_id, payment_id)
    return reverse_page(doc, payment, Form())


@bp.post("/<int:doc_id>/payments/<int:payment_id>/reverse")
def reverse(doc_id, payment_id):
    """Reverse a manual payment: the document owes its amount again; the payment stays listed."""
    doc, payment = get_payment(doc_id, payment_id)
    form = Form(request.form)
    reason = form.text("reason", max_length=MAX_REASON, multiline=True)
    if form.ok:
        try:
            documents.reverse_payment(payment, reason, By(staff=g.staff))
        except Refused as exc:
            form.error(exc.field or "form", str(exc.message))
    if not form.ok:
        return reverse_page(doc, Payment.get_by_id(payment.id), form, 422)
    flash(_("Payment of %(amount)s reversed.", amount=fmt_money(payment.amount, payment.currency)), "success")
    return _back(doc)


# --- refunding an online payment --------------------------------------------------------------

def refund_page(doc, payment, form, status=200):
    return render_template("staff/documents/refund.html", doc=doc, payment=payment, form=form,
                           left=refundable_now(payment)), status


@bp.get("/<int:doc_id>/payments/<int:payment_id>/refund")
def new_refund(doc_id, payment_id):
    """Show the refund form, the amount preset to what can still be refunded."""
    doc, payment = get_payment(doc_id, payment_id)
    form = Form(values={"amount": amount_input(refundable_now(payment), payment.currency),
                        "key": secrets.token_hex(16)})
    return refund_page(doc, payment, form)


@bp.post("/<int:doc_id>/payments/<int:payment_id>/refund")
def refund(doc_id, payment_id):
    """Ask the payment's gateway to refund it, and say how that went."""
    doc, payment = get_payment(doc_id, payment_id)
    form = Form(request.form)
    amount = read_amount(form, "amount", payment.currency)
    reason = form.text("reason", max_length=MAX_REASON, multiline=True)
    # The form's one-time key: a second click answers the first refund instead of making another.
    key = form.raw("key") if KEY.fullmatch(form.raw("key")) else None
    row = None
    if form.ok:
        try:
            row = refunds.request(payment, amount, reason, By(staff=g.staff), key=key)
        except Refused as exc:
            form.error(exc.field or "form", str(exc.message))
    if not form.ok:
        return refund_page(doc, payment, form, 422)
    shown = fmt_money(row.amount, row.currency)
    if row.status == "succeeded":
        flash(_("Refund of %(amount)s done.", amount=shown), "success")
    elif row.status == "pending":
        flash(_("Refund of %(amount)s requested: the gateway will confirm it.", amount=shown), "info")
    else:
        flash(_("The gateway did not refund %(amount)s: %(error)s", amount=shown,
                error=row.last_error or _("no reason given")), "error")
    return _back(doc)
