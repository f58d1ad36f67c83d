"""How each model looks in the API (and in webhook payloads): plain dicts of JSON types.

Money is integer minor units next to its ISO 4217 currency; rates and discounts are basis
points (2100 = 21 %); quantities are numbers; times are UTC ISO 8601 with a Z."""
import json

from . import snapshot
from .models import CREDIT_NOTE, INVOICE, Comment, Document, Payment, QuoteDecision
from .links import external_url


def when(value):
    return value.isoformat() + "Z" if value is not None else None


def day(value):
    return value.isoformat() if value is not None else None


def contact(c):
    return {"id": c.id, "kind": c.kind, "name": c.name, "tax_id": c.tax_id, "email": c.email,
            "phone": c.phone, "billing_address": c.billing_address,
            "shipping_address": c.shipping_address, "language": c.language, "currency": c.currency,
            "payment_methods": c.gateway_list, "portal_enabled": c.portal_enabled,
            "catalog_enabled": c.catalog_enabled, "discount_bp": c.discount_bp, "notes": c.notes,
            "country": c.country, "no_reminders": c.no_reminders, "archived": c.archived,
            "created_at": when(c.created_at)}


def person(p):
    return {"id": p.id, "contact_id": p.contact_id, "name": p.name, "email": p.email,
            "active": p.active, "role": p.role, "has_password": bool(p.password_hash), "language": p.language,
            "created_at": when(p.created_at), "last_login_at": when(p.last_login_at)}


def document_summary(d):
    return {"id": d.id, "kind": d.kind, "number": d.number or None, "status": d.status,
            "contact_id": d.contact_id, "issue_date": day(d.issue_date), "due_date": day(d.due_date),
            "valid_until": day(d.valid_until), "currency": d.currency, "reference": d.reference,
            "subtotal": d.subtotal, "tax_total": d.tax_total, "total": d.total,
            # A credit note is money the business owes back, not a debt of the customer: it has
            # nothing due (the invoice it rectifies owes less instead).
            "amount_paid": d.amount_paid, "amount_due": 0 if d.kind == CREDIT_NOTE else d.amount_due,
            "amount_credited": d.amount_credited, "credit_balance": d.credit_balance,
            "reason": d.reason, "rectifies": _rectifies(d), "overdue": d.is_overdue,
            "expired": d.is_expired, "version": d.version, "source_id": d.source_id,
            "created_at": when(d.created_at), "updated_at": when(d.updated_at),
            "issued_at": when(d.issued_at),
            "portal_url": external_url(f"/documents/{d.id}"),
            "pdf_url": external_url(f"/documents/{d.id}/pdf")}


def _rectifies(d):
    """A credit note's invoice as the credit note was issued against it (number and date
    frozen in its snapshot), or None."""
    if d.kind != CREDIT_NOTE:
        return None
    frozen = snapshot.frozen(d) or {}
    if "rectifies" in frozen:
        return frozen["rectifies"]
    source = Document.get_or_none(Document.id == d.source_id) if d.source_id else None
    return {"id": source.id, "number": source.number, "issue_date": day(source.issue_date)} if source else None


def line(l):
    return {"id": l.id, "position": l.position, "product_id": l.product_id,
            "description": l.description, "quantity": _quantity(l.qty_milli),
            "unit_price": l.unit_price, "discount_bp": l.discount_bp, "net": l.net,
            "taxes": [{"name": t.name, "rate_bp": t.rate_bp} for t in l.line_taxes]}


def _quantity(qty_milli):
    return qty_milli // 1000 if qty_milli % 1000 == 0 else qty_milli / 1000


def document(d):
    """A document with everything that happened on it."""
    out = document_summary(d)
    decision_row = QuoteDecision.get_or_none(QuoteDecision.document == d.id)
    out.update(
        notes=d.notes, terms=d.terms, shipping_address=d.shipping_address,
        lines=[line(l) for l in d.ordered_lines()],
        taxes=[{"name": name, "rate_bp": rate, "base": base, "amount": amount}
               for name, rate, base, amount in d.tax_breakdown()],
        payments=[payment(p) for p in Payment.select().where(Payment.document == d.id).order_by(Payment.id)],
        comments=[comment(c) for c in Comment.select().where(Comment.document == d.id).order_by(Comment.id)],
        decision=decision(decision_row) if decision_row else None,
        credit_notes=_credit_notes(d))
    return out


def _credit_notes(d):
    """The issued credit notes of an invoice, oldest first; [] for other kinds."""
    if d.kind != INVOICE:
        return []
    from .credit_notes import of   # the service module imports this one (through webhooks)
    return [{"id": c.id, "number": c.number, "issue_date": day(c.issue_date), "total": c.total, "reason": c.reason}
            for c in of(d)]


def payment(p):
    return {"id": p.id, "document_id": p.document_id, "gateway": p.gateway, "amount": p.amount,
            "currency": p.currency, "status": p.status, "provider_ref": p.provider_ref,
            "method_note": p.method_note, "flagged": p.flagged, "flag_reason": p.flag_reason,
            "paid_at": when(p.paid_at), "created_at": when(p.created_at),
            "amount_refunded": p.amount_refunded, "refundable": p.refundable,
            "reversed_at": when(p.reversed_at), "reversal_reason": p.reversal_reason,
            "refunds": [refund(r) for r in p.refunds()]}


def refund(r):
    return {"id": r.id, "payment_id": r.payment_id, "kind": r.kind, "amount": r.amount, "currency": r.currency,
            "status": r.status, "reason": r.reason, "provider_ref": r.provider_ref, "origin": r.origin,
            "created_at": when(r.created_at), "settled_at": when(r.settled_at)}


def audit_entry(a):
    """One line of a document's audit trail: what was done, when, by whom, what changed."""
    return {"id": a.id, "document_id": a.document_id, "action": a.action, "at": when(a.created_at),
            "actor": actor(a), "detail": a.detail, "data": json.loads(a.data) if a.data else {}}


def actor(a):
    """Who acted: {"kind": staff | api_token | person | gateway | system, "id", "name"}."""
    if a.staff_id:
        return {"kind": "staff", "id": a.staff_id, "name": a.staff.name if a.staff else ""}
    if a.api_token_id:
        return {"kind": "api_token", "id": a.api_token_id, "name": a.api_token.name if a.api_token else ""}
    if a.person_id:
        return {"kind": "person", "id": a.person_id, "name": a.person.name if a.person else ""}
    if a.actor and a.actor != "system":
        return {"kind": "gateway", "id": None, "name": a.actor}
    return {"kind": "system", "id": None, "name": "system"}


def comment(c):
    return {"id": c.id, "document_id": c.document_id, "author_name": c.author_name,
            "author_type": "person" if c.person_id else "staff", "person_id": c.person_id,
            "body": c.body, "created_at": when(c.created_at)}


def decision(q):
    return {"id": q.id, "document_id": q.document_id, "decision": q.decision,
            "person_id": q.person_id, "signer_name": q.signer_name, "po_reference": q.po_reference,
            "reason": q.reason, "ip": q.ip, "document_version": q.document_version,
            "document_hash": q.document_hash, "created_at": when(q.created_at)}


def product(p, tax_ids=None):
    return {"id": p.id, "sku": p.sku, "name": p.name, "description": p.description,
            "category_id": p.category_id, "price": p.price, "currency": p.currency,
            "track_stock": p.track_stock, "stock": p.stock, "active": p.active,
            "visible": p.visible, "tax_ids": sorted(p.tax_ids() if tax_ids is None else tax_ids),
            "updated_at": when(p.updated_at)}


def category(c):
    return {"id": c.id, "name": c.name, "parent_id": c.parent_id, "position": c.position}


def tax_rate(t):
    return {"id": t.id, "name": t.name, "rate_bp": t.rate_bp, "active": t.active,
            "is_default": t.is_default}
