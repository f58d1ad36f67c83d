"""Paying online from the portal: start a gateway's hosted checkout for a document (or several
invoices at once), come back from it, download the receipt.

The amount is computed here from the documents, never read from the gateway's return URL;
only a verified webhook or our own fetch of the gateway's object marks anything paid (see
app/payments/service.py). The webhooks themselves are in app/views/payment_webhooks.py."""
from urllib.parse import urlsplit

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import payments
from ..models import Document, Settings
from ..payments import GatewayError, service
from ..web.forms import Form
from ..web.htmx import is_fragment_request
from ..web.i18n import fmt_money
from . import get_document, get_payment, portal_blueprint
from .document_page import document_context, pay_context

bp = portal_blueprint("payments", __name__)


# --- the sidebar block ----------------------------------------------------------------------

@bp.get("/documents/<int:doc_id>/pay")
def panel(doc_id):
    """The payment block alone (HTMX polls it while a payment is processing)."""
    doc = get_document(g.contact, doc_id)
    context = pay_context(doc, g.contact)
    if not is_fragment_request():
        return redirect(url_for("documents.show", doc_id=doc.id) + "#pay")
    if not context["processing"]:
        # Settled (or given up): the whole page changes (status, amount due, receipt).
        response = Response("", 200)
        response.headers["HX-Refresh"] = "true"
    else:
        response = Response(render_template("partials/_pay.html", pay=context))
    response.headers["Vary"] = "HX-Request"
    return response


# --- paying one document --------------------------------------------------------------------

def read_gateway(form):
    """The chosen gateway: only one enabled for this contact and configured may be used."""
    return form.choice("gateway", payments.methods_for(g.contact))


def read_amount(form, doc):
    """The whole amount due, or the part the person typed when the business allows it."""
    settings = Settings.get_solo()
    due = doc.amount_due
    if not settings.allow_partial_payments or "amount" not in request.form:
        return due
    amount = form.amount("amount", doc.currency)
    if amount is None:
        return None
    minimum = settings.min_partial_amount if doc.currency == settings.default_currency else 0
    if amount <= 0:
        return form.error("amount", _("Enter a number greater than zero."))
    if amount > due:
        return form.error("amount", _("This is more than the amount due (%(due)s).",
                                      due=fmt_money(due, doc.currency)))
    if amount < due and amount < minimum:
        return form.error("amount", _("Pay at least %(minimum)s, or the whole amount due.",
                                      minimum=fmt_money(minimum, doc.currency)))
    return amount


@bp.post("/documents/<int:doc_id>/pay")
def start(doc_id):
    """Send the person to the chosen gateway's page for the amount due (or the part chosen)."""
    doc = get_document(g.contact, doc_id)
    if not doc.is_payable:
        flash(_("Nothing is due on this document."), "error")
        return redirect(url_for("documents.show", doc_id=doc.id), 303)
    if not payments.methods_for(g.contact):
        abort(403)   # no gateway for this contact: nothing to choose from
    form = Form(request.form)
    gateway = read_gateway(form)
    amount = read_amount(form, doc)
    if not form.ok:
        return render_template("portal/documents/show.html", **document_context(doc, g.contact, pay_form=form)), 422
    return _go(gateway, [doc], {doc.id: amount}, url_for("documents.show", doc_id=doc.id))


def _go(gateway, docs, shares, back):
    try:
        payment = service.start(g.person, gateway, docs, shares)
    except service.NotPayable:
        flash(_("These documents changed meanwhile; please check them and try again."), "error")
        return redirect(back, 303)
    except GatewayError:
        flash(_("The payment service did not answer. Please try again in a moment."), "error")
        return redirect(back, 303)
    return redirect(url_for("payments.go", payment_id=payment.id), 303)


@bp.get("/payments/<int:payment_id>/go")
def go(payment_id):
    """Move on from our form to the gateway's page. Browsers hold a form's redirects to the
    page's form-action policy ('self' here), so the POST lands on this page of ours, which
    moves on by a plain navigation (a Refresh header, and a link should that be turned off)."""
    payment = get_payment(g.contact, payment_id)
    parts = urlsplit(payment.checkout_url)
    if payment.status != "pending" or parts.scheme not in ("https", "http") or not parts.netloc:
        return redirect(_back_to(payment), 303)
    response = Response(render_template("portal/payments/go.html", payment=payment,
                                        gateway=payments.label(payment.gateway)))
    response.headers["Refresh"] = f"0;url={payment.checkout_url}"   # what <meta http-equiv> would say
    return response


# --- paying several invoices ----------------------------------------------------------------

def select_context(form=None, chosen=()):
    invoices = list(Document.payable_invoices(g.contact))
    return {"invoices": invoices, "chosen": {str(i) for i in chosen},
            "methods": [(name, payments.label(name)) for name in payments.methods_for(g.contact)],
            "form": form or Form()}


@bp.get("/pay")
def choose():
    """Choose pending invoices to pay together in one payment."""
    chosen = request.args.getlist("documents")
    return render_template("portal/payments/choose.html", **select_context(chosen=chosen))


@bp.post("/pay")
def start_several():
    """Send the person to the gateway's page for the total due on the invoices chosen."""
    form = Form(request.form)
    payable = {str(d.id): d for d in Document.payable_invoices(g.contact)}
    chosen = request.form.getlist("documents")[:200]
    if not chosen:
        form.error("documents", _("Choose at least one invoice."))
    elif any(c not in payable for c in chosen):
        form.error("documents", _("Choose invoices from the list."))
    docs = [payable[c] for c in dict.fromkeys(chosen) if c in payable]
    if len({d.currency for d in docs}) > 1:
        form.error("documents", _("Choose invoices in one currency: each payment is in a single currency."))
    gateway = read_gateway(form)
    if not form.ok:
        return render_template("portal/payments/choose.html", **select_context(form, chosen)), 422
    return _go(gateway, docs, {d.id: d.amount_due for d in docs}, url_for("payments.choose"))


# --- back from the gateway ------------------------------------------------------------------

def _back_to(payment):
    shares = list(payment.shares())
    if len(shares) == 1:
        return url_for("documents.show", doc_id=shares[0].document_id) + "#pay"
    return url_for("portal.home")


@bp.get("/payments/<int:payment_id>/return")
def returned(payment_id):
    """Back from the gateway: ask it (not the URL) whether it is paid, then show the document."""
    payment = get_payment(g.contact, payment_id)
    if service.returned(payment) == service.CHOOSE_AGAIN and payment.checkout_url:
        # PayPal: the card or bank declined at capture; the payer picks another on PayPal's page.
        return redirect(payment.checkout_url, 303)
    return redirect(_back_to(payment), 303)


@bp.get("/payments/<int:payment_id>/cancel")
def cancelled(payment_id):
    """Back from the gateway without paying."""
    payment = get_payment(g.contact, payment_id)
    service.cancelled(payment)
    flash(_("The payment was not completed."), "info")
    return redirect(_back_to(payment), 303)


@bp.get("/payments/<int:payment_id>/receipt")
def receipt(payment_id):
    """Download the receipt of a completed payment as a PDF, in the person's language."""
    from ..payments.receipt import receipt_pdf
    payment = get_payment(g.contact, payment_id)
    if payment.status not in ("succeeded", "refunded"):   # a refunded payment's receipt shows the refund
        abort(404)
    response = Response(receipt_pdf(payment), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="receipt-{payment.id}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response
