"""API: what happens on documents, for the business's systems to read: payments, comments,
quote decisions, and sales orders (whose state the business moves on: confirmed, shipped...)."""
from flask import g, jsonify

from .. import documents
from ..rules import By, Refused
from ..models import GATEWAYS, ORDER, TRANSITIONS, Comment, Document, Payment, QuoteDecision
from .. import serializers
from . import bp
from .errors import ApiError, from_refusal
from .validation import Body, Query, fetch, json_body

PAYMENT_STATUSES = ("pending", "succeeded", "failed", "cancelled", "refunded")
ORDER_STATUSES = tuple(sorted(TRANSITIONS[ORDER]))


@bp.get("/payments")
def list_payments():
    """List payments, newest first, by document, contact, status and gateway."""
    query = Query(("document_id", "contact_id", "status", "gateway"))
    document_id, contact_id = query.integer("document_id"), query.integer("contact_id")
    status, gateway = query.choice("status", PAYMENT_STATUSES), query.choice("gateway", ("manual",) + GATEWAYS)
    rows = Payment.select()
    if document_id:
        rows = rows.where(Payment.document == document_id)
    if contact_id:
        rows = rows.where(Payment.document.in_(Document.select(Document.id).where(Document.contact == contact_id)))
    if status:
        rows = rows.where(Payment.status == status)
    if gateway:
        rows = rows.where(Payment.gateway == gateway)
    return jsonify(query.page(rows, Payment.id, serializers.payment))


@bp.get("/payments/<int:payment_id>")
def get_payment(payment_id):
    """Read a payment."""
    return jsonify(serializers.payment(fetch(Payment, payment_id, "payment")))


@bp.get("/comments")
def list_comments():
    """List comments, newest first, by document, contact and author (the customer or staff)."""
    query = Query(("document_id", "contact_id", "author_type"))
    document_id, contact_id = query.integer("document_id"), query.integer("contact_id")
    author = query.choice("author_type", ("person", "staff"))
    rows = Comment.select()
    if document_id:
        rows = rows.where(Comment.document == document_id)
    if contact_id:
        rows = rows.where(Comment.document.in_(Document.select(Document.id).where(Document.contact == contact_id)))
    if author == "person":
        rows = rows.where(Comment.person.is_null(False))
    elif author == "staff":
        rows = rows.where(Comment.person.is_null())
    return jsonify(query.page(rows, Comment.id, serializers.comment))


@bp.get("/quote-decisions")
def list_decisions():
    """List quote acceptances and refusals, newest first."""
    query = Query(("document_id", "decision"))
    document_id, decision = query.integer("document_id"), query.choice("decision", ("accepted", "declined"))
    rows = QuoteDecision.select()
    if document_id:
        rows = rows.where(QuoteDecision.document == document_id)
    if decision:
        rows = rows.where(QuoteDecision.decision == decision)
    return jsonify(query.page(rows, QuoteDecision.id, serializers.decision))


@bp.get("/orders")
def list_orders():
    """List sales orders, newest first, by status and contact."""
    query = Query(("status", "contact_id"))
    status, contact_id = query.choice("status", ORDER_STATUSES), query.integer("contact_id")
    rows = Document.select().where(Document.kind == ORDER)
    if status:
        rows = rows.where(Document.status == status)
    if contact_id:
        rows = rows.where(Document.contact == contact_id)
    return jsonify(query.page(rows, Document.id, serializers.document_summary))


@bp.post("/orders/<int:order_id>/status")
def change_order_status(order_id):
    """Move an order on: open, confirmed, shipped, delivered or cancelled (its stock goes back),
    as its state allows."""
    order = fetch(Document, order_id, "order")
    if order.kind != ORDER:
        raise ApiError(404, "not_found", "No such order.")
    body = Body(json_body(), ("status",))
    target = body.choice("status", ORDER_STATUSES, required=True)
    body.done()
    try:
        documents.move(order, target, By(api_token=g.api_token))
    except Refused as exc:
        raise from_refusal(exc) from None
    return jsonify(serializers.document(Document.get_by_id(order.id)))
