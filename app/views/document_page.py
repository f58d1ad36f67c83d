"""The portal's document page: the context of the page and of each fragment of its sidebar (the
pay block, the quote decision, the comments), one builder each, used by the page and by every
view that re-renders one of them. Not a blueprint: the documents, payments, quotes and comments
views all build the same page, and none of them imports another.

Everything the templates show is read here; the templates ask the database nothing."""
import datetime

from flask import abort, url_for

from .. import comments, payments, quotes, webhooks
from ..models import INVOICE, Activity, Document, Payment, Settings, utcnow
from ..web.i18n import amount_field
from ..payments import service
from ..sheet import logo_version, sheet_context
from ..web.forms import Form
from . import readable

VIEW_WINDOW = datetime.timedelta(minutes=10)


def viewed_document(contact, person, doc_id, action="viewed"):
    """The contact's document (or 404), its view or download logged for staff at most once per
    person and document per 10 minutes; whether it was is read with the document, in one query.
    An accountant's read-only session (person None) is logged as its link's uses instead."""
    if person is None:
        doc = Document.for_contact(contact, doc_id)
        if doc is None:
            abort(404)
        return doc
    doc = Document.for_contact_seen(contact, doc_id, person, action, utcnow() - VIEW_WINDOW)
    if doc is None:
        abort(404)
    readable(doc)   # before it is logged as seen
    if not doc.seen_recently:
        Activity.record(action, person=person.id, contact=doc.contact_id, document=doc)
        if action == "viewed":
            webhooks.emit("document.viewed", webhooks.document_viewed_data(doc, person))
    return doc


def pay_context(doc, contact, form=None, touching=None, several=None):
    """What _pay.html and _pay_receipts.html need for this document. `touching` (the payments
    that touch it, Payment.touching_with_refunds) and `several` (another invoice waits) are
    read here unless the page read them already with its other lists."""
    settings = Settings.get_solo()
    methods = payments.methods_for(contact) if doc.is_payable else []
    touching = Payment.touching_with_refunds(doc) if touching is None else touching
    since = utcnow() - service.PROCESSING_WINDOW
    processing = None
    if methods:   # the newest, should there be two
        processing = max((p for p in touching if p.is_processing(since)), key=lambda p: p.id, default=None)
    minimum = settings.min_partial_amount if doc.currency == settings.default_currency else 0
    receipts = [p for p in touching if p.gateway in Payment.ONLINE and p.status in ("succeeded", "refunded")]
    if several is None:
        several = bool(methods) and doc.kind == INVOICE and Document.beside(contact, doc, False, True)[1]
    return {
        "doc": doc, "payable": bool(methods), "processing": processing,
        "methods": [(name, payments.label(name)) for name in methods],
        # The hint names a minimum only when one applies: a real one, below the amount due.
        "partial": settings.allow_partial_payments, "minimum": minimum if 0 < minimum < doc.amount_due else 0,
        "form": form or Form(values={"amount": amount_field(doc.amount_due, doc.currency)}),
        "receipts": receipts,
        "refunds": {p.id: p.completed_refunds for p in touching if p.completed_refunds},
        # A link to pay this invoice together with the others that wait.
        "several": bool(methods) and several,
    }


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
    touching = Payment.touching_with_refunds(doc)
    # The credit notes and "another invoice waits" come in one query, each only when it can show.
    payable_invoice = doc.kind == INVOICE and doc.is_payable and bool(payments.methods_for(contact))
    notes, several = Document.beside(contact, doc, doc.kind == INVOICE and bool(doc.amount_credited),
                                     payable_invoice)
    return {**_sheet(doc, contact), "link_rectifies": True,
            "credit_notes": notes,
            # Refunded and reversed payments stay listed, marked as such: the customer sees why
            # the amount due came back.
            "payments": [p for p in touching if p.document_id == doc.id
                         and p.status in ("succeeded", "refunded", "reversed")],
            "pay": pay_context(doc, contact, pay_form, touching, several),
            "can_reorder": doc.kind == "order" and contact.catalog_enabled,
            **decision_context(doc, decision_form, refused), **comments_context(doc, comment_form)}
