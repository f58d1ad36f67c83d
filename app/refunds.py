"""Money given back on online payments: refunds staff (or the API) ask a gateway for, refunds
made in the gateway's own dashboard, and chargebacks, all applied to our rows once.

The rules, as for payments (app/payments/service.py):
- The Refund row, with its idempotency key, is committed before the gateway is called, so a
  retried click sends the same key and the gateway refunds once.
- A refund moves to succeeded by one conditional UPDATE, and a gateway's refund id is unique
  per gateway, so the answer to our call, the webhook that follows it, and a redelivery of
  that webhook apply the money once, whichever comes first.
- Applying lowers the payment's refundable amount and the documents' amount_paid (the
  newest share first), in the same transaction: an invoice that owes again is open again,
  unless a credit note took the refunded amount off it first (the usual order: credit, then
  refund).
"""
import logging
import uuid

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from . import money, payments, serializers, webhooks
from .db import db
from .models import Activity, Document, Payment, PaymentAllocation, Refund, utcnow
from .payments import CHARGEBACK, DISPUTE_OPENED, DISPUTE_WON, FAILED, PAID, GatewayError
from .rules import By, Refused

log = logging.getLogger(__name__)


def request(payment, amount, reason, by, key=None):
    """Ask the payment's gateway to give back `amount`; returns the Refund row (succeeded, or
    pending until the gateway's webhook says, or failed with the gateway's message). `key`
    (the form's one-time key) makes a repeated request, a double click, answer the refund it
    already made instead of asking the gateway for a second one."""
    if key:
        done = Refund.get_or_none(Refund.idempotency_key == stored_key(key))
        if done is not None:
            return _same_payment(done, payment)
    reason = (reason or "").strip()
    if len(reason) > 300:
        raise Refused("reason_too_long", _l("Use at most %(n)s characters.", n=300), field="reason")
    if payment.gateway not in Payment.ONLINE:
        raise Refused("not_online", _l("Only online payments are refunded through a gateway; "
                                       "reverse a manual payment instead."))
    if payment.status not in ("succeeded", "refunded"):
        raise Refused("not_refundable", _l("Only a completed payment can be refunded."))
    if amount <= 0:
        raise Refused("amount_not_positive", _l("Enter a number greater than zero."), field="amount")
    left = payment.amount - _committed(payment)
    if amount > left:
        raise Refused("over_refundable", _l("This is more than can still be refunded (%(left)s).",
                                            left=money.amount_input(max(left, 0), payment.currency)),
                      field="amount")
    gateway = payments.get(payment.gateway, payment.mode)
    if gateway is None:
        raise Refused("gateway_not_configured", _l("This payment's gateway has no keys for its mode any more."))
    try:
        with db.atomic():
            refund = Refund.create(payment=payment, gateway=payment.gateway, amount=amount, currency=payment.currency,
                                   idempotency_key=stored_key(key or uuid.uuid4().hex), reason=reason,
                                   origin="api" if by.api_token is not None else "staff", created_by=by.staff)
    except IntegrityError:   # the same key, created by the other click meanwhile
        return _same_payment(Refund.get(Refund.idempotency_key == stored_key(key)), payment)
    with db.atomic():
        Activity.record("refund_requested", document=payment.document_id, contact=payment.contact_id,
                        **by.activity(_money(amount, payment.currency), refund=refund.id, payment=payment.id,
                                      amount=amount, reason=reason))
    try:
        outcome = gateway.refund(payment, refund)
    except GatewayError as exc:
        log.warning("refund %s of payment %s: %s", refund.id, payment.id, exc)
        (Refund.update(status="failed", last_error=str(exc)[:300])
         .where((Refund.id == refund.id) & (Refund.status == "pending")).execute())
        Activity.record("refund_failed", document=payment.document_id, contact=payment.contact_id,
                        **by.activity(str(exc)[:300], refund=refund.id, payment=payment.id))
        return Refund.get_by_id(refund.id)
    with db.atomic():
        _note_ref(refund, outcome.ref)
        if outcome.status == PAID:
            apply(Refund.get_by_id(refund.id), By(gateway=payment.gateway))
        elif outcome.status == FAILED:
            _fail(refund, payment, "")
    return Refund.get_by_id(refund.id)


def _same_payment(refund, payment):
    if refund.payment_id != payment.id:
        raise Refused("key_reused", _l("This form was already used for another payment; reload it."))
    return refund


def stored_key(key):
    """The Refund row's idempotency key (sent to the gateway too) for a caller's key."""
    return f"refund-{key}"


def _committed(payment):
    """What is refunded or on its way: succeeded and pending refunds (a failed one gave nothing)."""
    from peewee import fn
    return (Refund.select(fn.COALESCE(fn.SUM(Refund.amount), 0))
            .where((Refund.payment == payment) & Refund.status.in_(("pending", "succeeded"))).scalar())


def _note_ref(refund, ref):
    if ref:
        (Refund.update(provider_ref=ref[:120]).where((Refund.id == refund.id) & (Refund.provider_ref == ""))
         .execute())


def _fail(refund, payment, error):
    moved = (Refund.update(status="failed", last_error=error[:300], settled_at=utcnow())
             .where((Refund.id == refund.id) & (Refund.status == "pending")).execute())
    if moved:
        Activity.record("refund_failed", document=payment.document_id, contact=payment.contact_id,
                        **By(gateway=payment.gateway).activity(error[:300], refund=refund.id, payment=payment.id))


def apply(refund, by):
    """Apply a refund the gateway completed (inside the caller's transaction): once, whoever
    calls first. Returns what was done."""
    won = (Refund.update(status="succeeded", settled_at=utcnow())
           .where((Refund.id == refund.id) & (Refund.status == "pending")).execute())
    if not won:
        return "already applied"
    payment = Payment.get_by_id(refund.payment_id)
    raised = (Payment.update(amount_refunded=Payment.amount_refunded + refund.amount, updated_at=utcnow())
              .where((Payment.id == payment.id) & (Payment.amount_refunded + refund.amount <= Payment.amount))
              .execute())
    if not raised:
        # More than was paid: never silently applied. Staff look at it.
        Refund.update(status="pending").where(Refund.id == refund.id).execute()
        _flag(payment, _l("The gateway reported a refund larger than what is left of the payment."))
        return "not applied: more than the payment"
    (Payment.update(status="refunded")
     .where((Payment.id == payment.id) & (Payment.amount_refunded >= Payment.amount)).execute())
    payment = Payment.get_by_id(payment.id)
    _take_back(payment, refund, by)
    webhooks.emit("payment.refunded", {**webhooks.payment_data(payment),
                                       "refund": serializers.refund(Refund.get_by_id(refund.id))})
    return "applied"


def _take_back(payment, refund, by):
    """Lower what the payment put on its documents by the refund, newest share first."""
    left = refund.amount
    shares = (PaymentAllocation.select().where((PaymentAllocation.payment == payment) & (PaymentAllocation.applied > 0))
              .order_by(PaymentAllocation.id.desc()))
    action = "chargeback" if refund.kind == "chargeback" else "refund_succeeded"
    for share in shares:
        if left <= 0:
            break
        part = min(left, share.applied)
        doc = Document.get_by_id(share.document_id)
        Document.lock_rows([doc.id])
        if not doc.take_back(part):
            continue
        (PaymentAllocation.update(applied=PaymentAllocation.applied - part)
         .where((PaymentAllocation.id == share.id) & (PaymentAllocation.applied >= part)).execute())
        left -= part
        Activity.record(action, document=doc, contact=doc.contact_id,
                        **by.activity(_money(part, payment.currency), refund=refund.id, payment=payment.id,
                                      amount=part, amount_paid=doc.amount_paid, status=doc.status))
    # What no document held any more (it was voided, or already refunded elsewhere) is still
    # the customer's money given back: the payment says so, and no invoice goes below zero.


def from_gateway(gateway_name, outcome):
    """Apply a verified refund, dispute or chargeback event (inside the caller's transaction).
    Returns (payment or None, what was done)."""
    payment = _payment_for(gateway_name, outcome.payment_ref)
    if payment is None:
        return None, "no payment has this reference"
    by = By(gateway=gateway_name)
    if outcome.kind == DISPUTE_OPENED:
        _flag(payment, _l("The customer disputed this payment at their bank (%(ref)s).", ref=outcome.ref))
        Activity.record("dispute_opened", document=payment.document_id, contact=payment.contact_id,
                        **by.activity(outcome.ref, payment=payment.id, amount=outcome.amount, reason=outcome.reason))
        return payment, "dispute noted"
    if outcome.kind == DISPUTE_WON:
        Activity.record("dispute_closed", document=payment.document_id, contact=payment.contact_id,
                        **by.activity(f"{outcome.ref}: won", payment=payment.id, won=True))
        return payment, "dispute won"
    if outcome.currency and outcome.currency != payment.currency:
        _flag(payment, _l("The gateway reported a refund in another currency."))
        return payment, "not applied: currency"
    refund = Refund.by_ref(gateway_name, outcome.ref) or _ours_without_ref(payment, outcome)
    if refund is None:
        if outcome.status != PAID:
            return payment, "pending"
        if not outcome.ref or not isinstance(outcome.amount, int) or outcome.amount <= 0:
            # Nothing to record it by: answered (so the gateway stops resending), kept on the event.
            return payment, "not applied: no refund id or amount"
        try:
            with db.atomic():
                refund = Refund.create(payment=payment, gateway=gateway_name, amount=outcome.amount,
                                       currency=payment.currency, provider_ref=outcome.ref[:120],
                                       idempotency_key=f"{gateway_name}-event-{uuid.uuid4().hex}",
                                       kind="chargeback" if outcome.kind == CHARGEBACK else "refund",
                                       reason=outcome.reason[:300], origin="gateway")
        except Exception:   # the same refund, recorded meanwhile by the answer to our own call
            refund = Refund.by_ref(gateway_name, outcome.ref)
    if outcome.status == FAILED:
        _fail(refund, payment, outcome.reason or "failed at the gateway")
        return payment, "refund failed"
    if outcome.status != PAID:
        return payment, "pending"
    return payment, apply(refund, by)


def _payment_for(gateway_name, ref):
    if not ref:
        return None
    return (Payment.get_or_none((Payment.gateway == gateway_name) & (Payment.provider_payment_ref == ref))
            or Payment.by_ref(gateway_name, ref))


def _ours_without_ref(payment, outcome):
    """A refund we asked for whose answer we never stored (the call timed out): the gateway's
    event is matched to it by amount, and the gateway's id is kept."""
    row = (Refund.select().where((Refund.payment == payment) & (Refund.provider_ref == "")
                                 & (Refund.status == "pending") & (Refund.amount == outcome.amount))
           .order_by(Refund.id).first())
    if row is not None:
        _note_ref(row, outcome.ref)
        row = Refund.get_by_id(row.id)
    return row


def _flag(payment, reason):
    from .payments.service import flag
    flag(payment, str(reason))


def _money(amount, currency):
    return f"{money.amount_input(amount, currency)} {currency}"

