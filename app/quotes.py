"""Quote approval (seed item 3): accept with a name, a reference and the terms, or decline.

A decision is taken only from status 'open' with a conditional UPDATE, and QuoteDecision has a
unique document: two racing clicks leave exactly one decision. The acceptance records who,
when, from where, and a SHA-256 of the exact version accepted."""
import datetime

from flask_babel import gettext as _
from peewee import IntegrityError

from . import numbering, snapshot, webhooks
from .db import db
from .models import (ORDER, Activity, Document, DocumentLine, LineTax, QuoteDecision, Settings, utcnow)


class DecisionRefused(Exception):
    """The quote cannot be decided now; the message says why, in the reader's language."""


def decidable_problem(doc):
    """Why this quote cannot be decided, or None."""
    if doc.kind != "quote":
        return _("Only quotes can be accepted or declined.")
    if doc.status in ("accepted", "declined"):
        return _("This quote has already been decided.")
    if doc.status == "void":
        return _("This quote was withdrawn and can no longer be decided.")
    if doc.status != "open":
        return _("This quote cannot be decided.")
    if doc.valid_until and doc.valid_until < datetime.date.today():
        return _("This quote expired on %(date)s. Ask us for an updated one.", date=doc.valid_until.isoformat())
    return None


def decide(doc, person, decision, fields, ip="", user_agent=""):
    """Record the decision and move the quote; raises DecisionRefused if it lost a race or may not."""
    problem = decidable_problem(doc)
    if problem:
        raise DecisionRefused(problem)
    status = "accepted" if decision == "accept" else "declined"
    content_hash, version = doc.content_hash(), doc.version
    try:
        with db.atomic():
            moved = (Document.update(status=status, updated_at=utcnow())
                     .where((Document.id == doc.id) & (Document.status == "open")
                            & (Document.version == version)).execute())
            if not moved:
                raise DecisionRefused(_("This quote has already been decided."))
            row = QuoteDecision.create(document=doc, decision=status, person=person,
                                       signer_name=fields.get("signer_name", ""),
                                       po_reference=fields.get("po_reference", ""),
                                       reason=fields.get("reason", ""), ip=(ip or "")[:45],
                                       user_agent=(user_agent or "")[:400], document_version=version,
                                       document_hash=content_hash)
            Activity.record("quote_" + status, person=person, contact=doc.contact_id, document=doc)
            order = None
            settings = Settings.get_solo()
            if status == "accepted" and settings.quote_to_order:
                order = order_from_quote(doc, settings, fields.get("po_reference", ""))
            _notify(doc, row, settings)
    except IntegrityError:
        raise DecisionRefused(_("This quote has already been decided.")) from None
    doc.status = status
    return row, order


def order_from_quote(quote, settings, reference=""):
    """A sales order with the quote's lines (the business turned this on in its settings)."""
    today = datetime.date.today()
    order = Document.create(contact=quote.contact_id, kind=ORDER, number=numbering.take(ORDER, today, settings),
                            status="open", issue_date=today, currency=quote.currency,
                            reference=reference or quote.reference, notes=quote.notes, terms=quote.terms,
                            shipping_address=quote.contact.shipping_address or quote.contact.billing_address,
                            source=quote, issued_at=utcnow())
    for line in quote.ordered_lines():
        copy = DocumentLine.create(document=order, position=line.position, product=line.product_id,
                                   description=line.description, qty_milli=line.qty_milli,
                                   unit_price=line.unit_price, discount_bp=line.discount_bp, net=line.net)
        for tax in line.line_taxes:
            LineTax.create(line=copy, name=tax.name, rate_bp=tax.rate_bp)
    order.recompute()
    order.save()
    snapshot.freeze(order, settings)
    Activity.record("order_placed", contact=quote.contact_id, document=order)
    webhooks.emit("order.created", webhooks.document_data(order))
    return order


def _notify(doc, decision, settings):
    from .mail import send_template
    to = settings.notify_email or settings.email
    if to:
        send_template(to, "quote_decision", settings.default_language, doc=doc, decision=decision,
                      business=settings)
    webhooks.emit("quote." + decision.decision, webhooks.decision_data(decision))


def decision_for(doc):
    """The quote's decision, or None."""
    return QuoteDecision.get_or_none(QuoteDecision.document == doc)
