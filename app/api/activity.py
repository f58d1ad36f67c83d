"""API: what happens on documents, for the business's systems to read: payments, comments,
quote decisions, and sales orders (whose state the business moves on: confirmed, shipped...)."""
from flask import g, jsonify

from .. import documents
from ..rules import By, Refused
from ..models import ORDER, Comment, Document, Payment, QuoteDecision
from .. import serializers
from . import bp
from .errors import ApiError, from_refusal
from .schemas import CommentQuery, DecisionQuery, OrderQuery, OrderStatusChange, PaymentQuery
from .validation import fetch, page, read_body, read_query


@bp.get("/payments")
def list_payments():
    """List payments, newest first, by document, contact, status and gateway."""
    params = read_query(PaymentQuery)
    document_id, contact_id, status, gateway = params.document_id, params.contact_id, params.status, params.gateway
    rows = Payment.select()
    if document_id:
        rows = rows.where(Payment.document == document_id)
    if contact_id:
        rows = rows.where(Payment.document.in_(Document.select(Document.id).where(Document.contact == contact_id)))
    if status:
        rows = rows.where(Payment.status == status)
    if gateway:
        rows = rows.where(Payment.gateway == gateway)
    return jsonify(page(rows, Payment.id, serializers.payment, params))


@bp.get("/payments/<int:payment_id>")
def get_payment(payment_id):
    """Read a payment."""
    return jsonify(serializers.payment(fetch(Payment, payment_id, "payment")))


@bp.get("/comments")
def list_comments():
    """List comments, newest first, by document, contact and author (the customer or staff)."""
    params = read_query(CommentQuery)
    document_id, contact_id, author = params.document_id, params.contact_id, params.author_type
    rows = Comment.select()
    if document_id:
        rows = rows.where(Comment.document == document_id)
    if contact_id:
        rows = rows.where(Comment.document.in_(Document.select(Document.id).where(Document.contact == contact_id)))
    if author == "person":
        rows = rows.where(Comment.person.is_null(False))
    elif author == "staff":
        rows = rows.where(Comment.person.is_null())
    return jsonify(page(rows, Comment.id, serializers.comment, params))


@bp.get("/quote-decisions")
def list_decisions():
    """List quote acceptances and refusals, newest first."""
    params = read_query(DecisionQuery)
    document_id, decision = params.document_id, params.decision
    rows = QuoteDecision.select()
    if document_id:
        rows = rows.where(QuoteDecision.document == document_id)
    if decision:
        rows = rows.where(QuoteDecision.decision == decision)
    return jsonify(page(rows, QuoteDecision.id, serializers.decision, params))


@bp.get("/orders")
def list_orders():
    """List sales orders, newest first, by status and contact."""
    params = read_query(OrderQuery)
    status, contact_id = params.status, params.contact_id
    rows = Document.select().where(Document.kind == ORDER)
    if status:
        rows = rows.where(Document.status == status)
    if contact_id:
        rows = rows.where(Document.contact == contact_id)
    return jsonify(page(rows, Document.id, serializers.document_summary, params))


@bp.post("/orders/<int:order_id>/status")
def change_order_status(order_id):
    """Move an order on: open, confirmed, shipped, delivered or cancelled (its stock goes back),
    as its state allows."""
    order = fetch(Document, order_id, "order")
    if order.kind != ORDER:
        raise ApiError(404, "not_found", "No such order.")
    target = read_body(OrderStatusChange).status
    try:
        documents.move(order, target, By(api_token=g.api_token))
    except Refused as exc:
        raise from_refusal(exc) from None
    return jsonify(serializers.document(Document.get_by_id(order.id)))
