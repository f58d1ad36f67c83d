"""API: correcting money on issued documents: credit notes against an invoice, a manual payment
reversed, an online payment refunded through its gateway; and a document's audit trail.

Each is a call to the service that owns the rule (app/credit_notes.py, app/documents.py,
app/refunds.py); a refusal comes back as a 409 with its code, as elsewhere in the API."""
import hashlib

from flask import g, jsonify, url_for
from peewee import IntegrityError

from .. import credit_notes, documents, refunds, serializers
from ..models import Activity, Document, Payment, Refund
from ..rules import By, Refused
from . import bp
from .errors import ApiError, error_response, from_refusal
from .idempotency import HEADER, idempotent, read_key
from .schemas import CreditNoteCreate, PaymentReversal, RefundCreate
from .validation import Conflicts, fetch, read_body


def _created(payload, location):
    response = jsonify(payload)
    response.status_code = 201
    response.headers["Location"] = location
    return response


# --- credit notes ---------------------------------------------------------------------------

def _picks(invoice, body):
    """The credit_notes.Pick list the body asks for; a line named twice is refused here (the
    service would check each pick alone against the line's quantity)."""
    if body.full:
        return credit_notes.everything(invoice)
    conflicts, seen = Conflicts(), set()
    for index, line in enumerate(body.lines):
        if line.line_id in seen:
            conflicts.add("duplicate_line", f"lines[{index}].line_id", "Name each line once.")
        seen.add(line.line_id)
    conflicts.check()
    return [credit_notes.Pick(line.line_id, line.quantity, line.unit_price) for line in body.lines]


# Which field of a line each of the service's line refusals is about.
_LINE_FIELDS = {"unknown_line": "line_id", "bad_quantity": "quantity", "bad_price": "unit_price"}


def _refused(invoice, picks, exc):
    """The refusal as the API's error. For a line, the service says only "lines": each pick is
    asked of the same check alone to name the first one it refuses (lines[1].quantity)."""
    error = from_refusal(exc)
    name = _LINE_FIELDS.get(exc.code)
    for index, pick in enumerate(picks if name else ()):
        try:
            credit_notes.lines_for(invoice, [pick])
        except Refused as alone:
            if alone.code == exc.code:
                error.fields = {f"lines[{index}].{name}": error.message}
                break
    return error


@bp.post("/documents/<int:doc_id>/credit-notes")
@idempotent
def issue_credit_note(doc_id):
    """Issue a credit note against an issued invoice: some of its lines, or all of it."""
    invoice = fetch(Document, doc_id, "document")
    body = read_body(CreditNoteCreate)
    picks = _picks(invoice, body)
    try:
        note = credit_notes.issue(invoice, picks, body.reason, By(api_token=g.api_token))
    except Refused as exc:
        raise _refused(invoice, picks, exc) from None
    return _created(serializers.document(Document.get_by_id(note.id)), url_for("api.get_document", doc_id=note.id))


# --- the audit trail ------------------------------------------------------------------------

@bp.get("/documents/<int:doc_id>/history")
def document_history(doc_id):
    """Read a document's audit trail, oldest first: who issued, paid, credited, reversed, refunded."""
    doc = fetch(Document, doc_id, "document")
    return jsonify({"data": [serializers.audit_entry(a) for a in Activity.trail(doc)]})


# --- payments -------------------------------------------------------------------------------

@bp.post("/payments/<int:payment_id>/reverse")
@idempotent
def reverse_payment(payment_id):
    """Reverse a manual payment recorded by mistake: its document owes the amount again."""
    payment = fetch(Payment, payment_id, "payment")
    reason = read_body(PaymentReversal).reason
    try:
        payment = documents.reverse_payment(payment, reason, By(api_token=g.api_token))
    except Refused as exc:
        raise from_refusal(exc) from None
    return jsonify(serializers.payment(payment))


def _refund_key(key):
    """The Refund's idempotency key for this token's Idempotency-Key (keys are per token): the
    gateway receives it too, so a retry is the same refund there as well. Hashed to 36
    characters, within every gateway's limit (Square's is 45) whatever the client sent."""
    return "api-" + hashlib.sha256(f"{g.api_token.id}:{key}".encode()).hexdigest()[:32]


def _refund_answer(refund, replayed=False):
    """The answer for a refund row: 201 with it, or 502 when the gateway refused it (then a
    retry with the same key gets the same answer: use a new key to try again)."""
    if refund.status == "failed":
        response = error_response(502, "gateway_error", refund.last_error or "The gateway did not refund.")
    else:
        response = _created(serializers.refund(refund),
                            url_for("api.get_payment", payment_id=refund.payment_id))
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _same_request(refund, payment, body):
    if (refund.payment_id, refund.amount, refund.reason) != (payment.id, body.amount, body.reason):
        raise ApiError(422, "idempotency_key_reused", "This Idempotency-Key was used with a different request.",
                       {HEADER: "Use a new key for a different request."})
    return _refund_answer(refund, replayed=True)


@bp.post("/payments/<int:payment_id>/refunds")
def refund_payment(payment_id):
    """Refund an online payment, fully or partly, through its gateway. Not wrapped in a
    transaction with the answer, as other POSTs are: the refund row must be committed before
    the gateway is called. The Idempotency-Key becomes the refund's own key instead, sent to
    the gateway too, and kept for good: a retried call never refunds twice."""
    payment = fetch(Payment, payment_id, "payment")
    body = read_body(RefundCreate)
    key = read_key()
    key = _refund_key(key) if key is not None else None
    if key is not None:
        earlier = Refund.get_or_none(Refund.idempotency_key == refunds.stored_key(key))
        if earlier is not None:
            return _same_request(earlier, payment, body)
    try:
        refund = refunds.request(payment, body.amount, body.reason, By(api_token=g.api_token), key=key)
    except Refused as exc:
        raise from_refusal(exc) from None
    except IntegrityError:
        # The same key, sent twice at once: the other request made the refund; answer as it does.
        earlier = Refund.get_or_none(Refund.idempotency_key == refunds.stored_key(key)) if key else None
        if earlier is None:
            raise
        return _same_request(earlier, payment, body)
    return _refund_answer(refund)
