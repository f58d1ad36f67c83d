"""The portal's document page: the context of the page and of each fragment of its sidebar (the
pay block, the quote decision, the comments), one builder each, used by the page and by every
view that re-renders one of them. Not a blueprint: the documents, payments, quotes and comments
views all build the same page, and none of them imports another.

Everything the templates show is read here; the templates ask the database nothing."""
import datetime

from flask import url_for

from .. import comments, payments, quotes, webhooks
from ..db import compiled
from ..models import CREDIT_NOTE, INVOICE, Activity, Document, Payment, Refund, Settings, utcnow
from ..web.i18n import amount_field
from ..payments import service
from ..sheet import logo_version, sheet_context
from ..web.forms import Form

_recent_activity = compiled(lambda doc_id, person_id, action, since: (
    Activity.select(Activity.id).where((Activity.document == doc_id) & (Activity.person == person_id)
                                       & (Activity.action == action) & (Activity.created_at > since))
    .limit(1).tuples()))


def record_view(doc, person, action="viewed"):
    """Log a view or a download for staff, at most once per person and document per 10 minutes."""
    since = Activity.created_at.db_value(utcnow() - datetime.timedelta(minutes=10))
    if _recent_activity.first(doc.id, person.id, action, since) is None:
        Activity.record(action, person=person.id, contact=doc.contact_id, document=doc)
        if action == "viewed":
            webhooks.emit("document.viewed", webhooks.document_viewed_data(doc, person))


def pay_context(doc, contact, form=None):
    """What _pay.html and _pay_receipts.html need for this document."""
    settings = Settings.get_solo()
    methods = payments.methods_for(contact) if doc.is_payable else []
    processing = Payment.processing_for(doc, utcnow() - service.PROCESSING_WINDOW) if methods else None
    minimum = settings.min_partial_amount if doc.currency == settings.default_currency else 0
    return {
        "doc": doc, "payable": bool(methods), "processing": processing,
        "methods": [(name, payments.label(name)) for name in methods],
        # The hint names a minimum only when one applies: a real one, below the amount due.
        "partial": settings.allow_partial_payments, "minimum": minimum if 0 < minimum < doc.amount_due else 0,
        "form": form or Form(values={"amount": amount_field(doc.amount_due, doc.currency)}),
        "receipts": list(Payment.receipts_for(doc)),
        "refunds": refunds_by_payment(doc),
        # A link to pay this invoice together with the others that wait.
        "several": bool(methods) and doc.kind == "invoice"
                   and Document.payable_invoices(contact).limit(2).count() > 1,
    }


def refunds_by_payment(doc):
    """{payment id: its completed refunds, oldest first} for the payments that touch `doc`:
    one query, however many payments the page lists."""
    found = {}
    for refund in Refund.for_document(doc):
        found.setdefault(refund.payment_id, []).append(refund)
    return found


def credit_notes_context(doc, contact):
    """An invoice's issued credit notes (the contact's own, oldest first); empty for other kinds."""
    if doc.kind != INVOICE or not doc.amount_credited:
        return []
    return list(Document.visible_to(contact).where((Document.source == doc) & (Document.kind == CREDIT_NOTE))
                .order_by(Document.issue_date, Document.id))


def decision_context(doc, form=None, refused=None):
    """What the decision fragment (_quote_decision.html) needs."""
    return {"decision": quotes.decision_for(doc) if doc.kind == "quote" else None,
            "decision_form": form or Form(),
            "decision_problem": refused or (quotes.decidable_problem(doc) if doc.status == "open" else None),
            "decision_url": url_for("quotes.decide", doc_id=doc.id)}


def decided_sheet_context(doc, contact):
    """The sheet again after a decision (its acceptance, the status it shows), for the quote's
    decision answer to swap out of band."""
    return {**_sheet(doc, contact), "link_rectifies": True}


def comments_context(doc, form=None):
    """What the comments fragment (_comments.html) needs."""
    return {"comments": comments.thread(doc), "comment_form": form or Form(),
            "comment_url": url_for("comments.create", doc_id=doc.id)}


def _sheet(doc, contact):
    """The sheet, with the logo it was issued with (a versioned, cacheable URL)."""
    settings = Settings.get_solo()
    return sheet_context(doc, contact, settings, url_for("logo", v=logo_version(doc, settings) or None))


def print_context(doc, contact):
    """The sheet alone, with a quote's acceptance: the print view."""
    return {**_sheet(doc, contact), "decision": quotes.decision_for(doc) if doc.kind == "quote" else None}


def document_context(doc, contact, pay_form=None, decision_form=None, refused=None, comment_form=None):
    """The document page: the sheet and every fragment of the sidebar, each fragment showing the
    form a failed post left it with."""
    # Refunded and reversed payments stay listed, marked as such: the customer sees why the
    # amount due came back.
    return {**_sheet(doc, contact), "link_rectifies": True,
            "credit_notes": credit_notes_context(doc, contact),
            "payments": list(doc.payments.where(Payment.status.in_(("succeeded", "refunded", "reversed")))
                             .order_by(Payment.paid_at, Payment.id)),
            "pay": pay_context(doc, contact, pay_form),
            "can_reorder": doc.kind == "order" and contact.catalog_enabled,
            **decision_context(doc, decision_form, refused), **comments_context(doc, comment_form)}
