"""What online payments do to our rows: start a checkout, apply what a gateway confirms, flag
what cannot be applied, and reconcile what a lost webhook left behind.

The rules (DESIGN.md, "Payments"):
- The Payment row, with its idempotency key, is committed before the gateway is called, so a
  retry or a second click sends the same key and the gateway makes one checkout.
- Only a verified webhook or the gateway's own object, fetched by us, settles a payment; the
  return URL merely triggers such a fetch.
- An event is stored once (PaymentEvent is unique on gateway and event id) in the same
  transaction that applies it, and a payment moves to succeeded by one conditional UPDATE, so a
  redelivery, two deliveries at once, or a webhook racing the return fetch apply it once.
- Amount, currency and what the gateway's object says it pays for must match the row; when
  they do not, or the documents no longer need the money, the payment is flagged for staff
  and the money is never silently dropped.
"""
import datetime
import json
import logging
import time
import uuid

from flask_babel import gettext as _
from peewee import IntegrityError

from .. import documents, payments, refunds, webhooks
from ..db import db
from ..labels import KIND_LABELS
from ..models import (Activity, Document, Payment, PaymentAllocation, PaymentEvent, Person,
                      Settings, utcnow)
from ..money import amount_input
from ..links import external_link
from . import APPROVED, CANCELLED, FAILED, PAID, PENDING, PROCESSING, RETRY, GatewayError

log = logging.getLogger(__name__)

REUSE_WINDOW = datetime.timedelta(minutes=20)       # a second click goes to the same checkout
PROCESSING_WINDOW = datetime.timedelta(hours=24)    # "payment processing" shown at most this long
WAIT_FOR_TWIN = 10.0                                # seconds a second click waits for the first


class NotPayable(Exception):
    """The documents changed (paid, voided) between the page and the click."""


def intent_for(gateway, mode, shares):
    ids = ",".join(f"{doc_id}={amount}" for doc_id, amount in sorted(shares.items()))
    return f"{gateway}:{mode}:{ids}"[:200]


def describe(docs):
    """The line the gateway's page shows: "Invoice F-2026-0001" or a list of numbers."""
    if len(docs) == 1:
        return f"{KIND_LABELS[docs[0].kind]} {docs[0].number}"
    return _("Invoices %(numbers)s", numbers=", ".join(d.number for d in docs))


# --- starting -------------------------------------------------------------------------------

def start(person, gateway_name, docs, shares):
    """Open (or reuse) a checkout for `shares` ({document id: amount}) of `docs`, all of the
    person's contact and one currency. Returns the Payment with its checkout_url; raises
    NotPayable or GatewayError."""
    gateway = payments.get(gateway_name)
    if gateway is None:
        raise GatewayError(f"{gateway_name} is not configured")
    intent = intent_for(gateway_name, gateway.mode, shares)
    created = False
    with db.atomic():
        # Two clicks at once queue here; the second finds the first one's row.
        Document.lock_rows(list(shares))
        payment = Payment.reusable(intent, utcnow() - REUSE_WINDOW)
        if payment is None:
            fresh = {d.id: d for d in Document.select().where(Document.id.in_(list(shares)))}
            if any(not fresh[i].is_payable or fresh[i].amount_due < amount for i, amount in shares.items()):
                raise NotPayable()
            first = min(docs, key=lambda d: d.id)
            payment = Payment.create(
                document=first, gateway=gateway_name, amount=sum(shares.values()), currency=first.currency,
                idempotency_key=f"{gateway_name}-{uuid.uuid4().hex}", person=person, mode=gateway.mode,
                intent=intent)
            PaymentAllocation.insert_many([{"payment": payment.id, "document": doc_id, "amount": amount}
                                           for doc_id, amount in sorted(shares.items())]).execute()
            created = True
    if not created:
        payment = _wait_for_twin(payment)
        if payment.checkout_url:
            return payment
    try:
        checkout = gateway.create_checkout(
            payment, describe(docs),
            external_link("payments.returned", payment_id=payment.id),
            external_link("payments.cancelled", payment_id=payment.id))
    except GatewayError as exc:
        log.warning("payment %s: could not start the %s checkout: %s", payment.id, gateway_name, exc)
        if created:
            (Payment.update(status="failed", last_error=str(exc)[:300], updated_at=utcnow())
             .where((Payment.id == payment.id) & (Payment.status == "pending")).execute())
        raise
    (Payment.update(provider_ref=checkout.ref, checkout_url=checkout.url, updated_at=utcnow())
     .where(Payment.id == payment.id).execute())
    payment.provider_ref, payment.checkout_url = checkout.ref, checkout.url
    return payment


def _wait_for_twin(payment):
    """A click that found the row of a click made a moment earlier: give the first one's call
    to the gateway time to finish, rather than race it with the same idempotency key."""
    deadline = time.monotonic() + WAIT_FOR_TWIN
    while not payment.checkout_url and not payment.last_error and time.monotonic() < deadline:
        time.sleep(0.2)
        payment = Payment.get_by_id(payment.id)
    return payment


# --- confirming -----------------------------------------------------------------------------

def handle_event(gateway_name, event):
    """Store a verified webhook once and apply what it reports; returns what was done."""
    if PaymentEvent.select().where((PaymentEvent.gateway == gateway_name)
                                   & (PaymentEvent.event_id == event.id[:120])).exists():
        return "duplicate"
    outcome = event.outcome
    if outcome is not None and outcome.status == APPROVED:
        outcome = _finish_approved(gateway_name, outcome)
    hint = _resolve(gateway_name, outcome) if outcome is not None else None
    with db.atomic():
        try:
            with db.atomic():
                row = PaymentEvent.create(
                    gateway=gateway_name, event_id=event.id[:120], kind=event.kind[:80], payload=event.payload,
                    amount=(outcome or event.refund).amount if (outcome or event.refund) else None,
                    currency=((outcome or event.refund).currency if (outcome or event.refund) else "")[:3])
        except IntegrityError:
            return "duplicate"   # the same event, delivered twice at once: the other one applies it
        if event.refund is not None:
            payment, result = refunds.from_gateway(gateway_name, event.refund)
        else:
            payment, result = settle(gateway_name, outcome, hint) if outcome else (None, "ignored")
        (PaymentEvent.update(outcome=result[:300], payment=payment.id if payment else None)
         .where(PaymentEvent.id == row.id).execute())
    return result


def _find(gateway_name, outcome):
    """Our payment for an outcome: by the checkout's reference, or by the gateway's payment id."""
    return (Payment.by_ref(gateway_name, outcome.ref)
            or (Payment.get_or_none((Payment.gateway == gateway_name)
                                    & (Payment.provider_payment_ref == outcome.payment_ref))
                if outcome.payment_ref else None))


def _resolve(gateway_name, outcome):
    """A payment event naming a checkout we do not know: the gateway may trace it to our
    payment (Square: the reference_id of the order it names). Outside the transaction, since it
    is a network call; None when it cannot."""
    if _find(gateway_name, outcome) is not None:
        return None
    for gateway in payments.every_mode(gateway_name):
        try:
            payment_id = gateway.resolve(outcome)
        except GatewayError as exc:
            log.warning("%s: could not trace %s: %s", gateway_name, outcome.ref, exc)
            continue
        if payment_id is not None:
            return Payment.get_or_none((Payment.id == payment_id) & (Payment.gateway == gateway_name))
    return None


def _finish_approved(gateway_name, outcome):
    """PayPal: the buyer approved the order; our fetch captures it. Outside the transaction,
    since it is a network call."""
    payment = Payment.by_ref(gateway_name, outcome.ref)
    gateway = payments.get(gateway_name, payment.mode) if payment else None
    if gateway is None:
        return outcome
    try:
        return gateway.fetch(payment) or outcome
    except GatewayError as exc:
        log.warning("payment %s: capture failed: %s", payment.id, exc)
        return outcome


def refresh(payment):
    """Ask the gateway for its object and apply what it says; returns what was done, or None
    when the gateway cannot be asked."""
    gateway = payments.get(payment.gateway, payment.mode)
    if gateway is None or not payment.provider_ref:
        return None
    outcome = gateway.fetch(payment)
    if outcome is None:
        return None
    with db.atomic():
        _found, result = settle(payment.gateway, outcome)
        if result != "pending":
            # Kept like an event, so staff see what the fetch said; once per status reached.
            try:
                with db.atomic():
                    PaymentEvent.create(gateway=payment.gateway, event_id=f"fetch:{outcome.ref}:{outcome.status}"[:120],
                                        kind="fetch", payment=payment.id, amount=outcome.amount,
                                        currency=outcome.currency[:3], outcome=result[:300])
            except IntegrityError:
                pass
    return result


CHOOSE_AGAIN = "declined: the payer chooses another way to pay"


def returned(payment):
    """The person is back from the gateway: note it (the page then says "processing") and
    ask the gateway itself whether it is paid. The URL's own parameters are never read.
    Returns what was done: CHOOSE_AGAIN sends the person back to the gateway's page."""
    (Payment.update(returned_at=utcnow()).where((Payment.id == payment.id) & Payment.returned_at.is_null())
     .execute())
    if payment.status == "succeeded":
        return "already applied"
    try:
        return refresh(payment)
    except GatewayError as exc:
        log.warning("payment %s: fetch on return failed: %s", payment.id, exc)
        return None


def cancelled(payment):
    """The person left the gateway's page: that checkout is not offered to a second click again.
    A gateway that later confirms it still settles it."""
    (Payment.update(status="cancelled", updated_at=utcnow())
     .where((Payment.id == payment.id) & (Payment.status == "pending")).execute())


def settle(gateway_name, outcome, payment=None):
    """Apply an outcome to the payment it concerns (inside the caller's transaction), or to
    `payment` when the caller traced it otherwise. Returns (payment or None, what was done)."""
    payment = _find(gateway_name, outcome) or payment
    if payment is None:
        return None, "no payment has this reference"
    if outcome.status == PAID:
        problem = mismatch(payment, outcome)
        if problem:
            flag(payment, problem)
            return payment, "not applied: " + problem
        won = (Payment.update(status="succeeded", paid_at=utcnow(), updated_at=utcnow(),
                              provider_payment_ref=outcome.payment_ref[:120])
               .where((Payment.id == payment.id) & Payment.status.in_(("pending", "failed", "cancelled")))
               .execute())
        if not won:
            return payment, "already applied"
        return payment, _apply(Payment.get_by_id(payment.id))
    if outcome.status in (FAILED, CANCELLED):
        status = "failed" if outcome.status == FAILED else "cancelled"
        moved = (Payment.update(status=status, updated_at=utcnow())
                 .where((Payment.id == payment.id) & Payment.status.in_(("pending", "cancelled"))
                        & (Payment.status != status)).execute())
        if moved and status == "failed":
            webhooks.emit("payment.failed", webhooks.payment_data(Payment.get_by_id(payment.id)))
        return payment, status
    if outcome.status == RETRY:
        (Payment.update(last_error=CHOOSE_AGAIN, updated_at=utcnow())
         .where((Payment.id == payment.id) & (Payment.status == "pending")).execute())
        return payment, CHOOSE_AGAIN
    if outcome.status == PROCESSING:
        (Payment.update(processing_since=utcnow(), updated_at=utcnow())
         .where((Payment.id == payment.id) & (Payment.status == "pending") & Payment.processing_since.is_null())
         .execute())
        return payment, "processing"
    return payment, "pending"


def mismatch(payment, outcome):
    """Why an outcome cannot settle this payment, or "" when it can."""
    if outcome.amount != payment.amount or outcome.currency != payment.currency:
        return _("The gateway reported %(got)s %(got_currency)s instead of %(want)s %(currency)s.",
                 got=amount_input(outcome.amount or 0, outcome.currency or payment.currency),
                 got_currency=outcome.currency or "?", want=amount_input(payment.amount, payment.currency),
                 currency=payment.currency)
    claims = outcome.claims
    shares = list(payment.shares())
    expected = {"payment": str(payment.id), "reference": str(payment.id),
                "documents": ",".join(str(s.document_id) for s in shares),
                "contact": str(payment.document.contact_id)}
    for key, value in expected.items():
        if claims.get(key) and claims[key] != value:
            return _("The gateway's record names other documents or another customer (%(key)s).", key=key)
    return ""


def flag(payment, reason):
    (Payment.update(flagged=True, flag_reason=reason[:200], updated_at=utcnow())
     .where(Payment.id == payment.id).execute())
    _tell_staff(payment, reason)


def _apply(payment):
    """Put a succeeded payment on its documents; what they no longer need is flagged."""
    short = []
    for share in payment.shares():
        doc = share.document
        applied = share.amount if doc.apply_payment(share.amount) else _apply_what_is_due(doc)
        PaymentAllocation.update(applied=applied).where(PaymentAllocation.id == share.id).execute()
        if applied < share.amount:
            short.append(doc.number)
        if applied:
            Activity.record("payment_succeeded", person=payment.person_id, contact=doc.contact_id,
                            document=doc, actor=payment.gateway,
                            detail=f"{payment.gateway} {amount_input(applied, payment.currency)} {payment.currency}",
                            data=json.dumps({"payment": payment.id, "amount": applied, "amount_paid": doc.amount_paid,
                                             "status": doc.status, "gateway": payment.gateway}))
            documents.paid_in_full(doc)
    webhooks.emit("payment.succeeded", webhooks.payment_data(payment))   # to the business's software
    _send_receipt(payment)
    if short:
        flag(payment, _("Paid when %(numbers)s no longer needed all of it: refund or credit the difference.",
                        numbers=", ".join(short)))
        return "applied, flagged"
    return "applied"


def _apply_what_is_due(doc):
    fresh = Document.get_by_id(doc.id)
    due = fresh.amount_due if fresh.is_payable else 0
    return due if due and fresh.apply_payment(due) else 0


# --- telling people -------------------------------------------------------------------------

def _send_receipt(payment):
    """Mail the person who paid a link to the receipt, in their language."""
    from ..mail import recipient_language, send_template
    person = Person.get_or_none(Person.id == payment.person_id) if payment.person_id else None
    if person is None or not person.active:
        return
    shares = list(payment.shares())
    send_template(person.email, "receipt", recipient_language(person=person), person=person,
                  payment=payment, shares=shares, business=Settings.get_solo())


def _tell_staff(payment, reason):
    from ..mail import send_template
    settings = Settings.get_solo()
    if settings.notify_email:
        send_template(settings.notify_email, "payment_flagged", settings.default_language,
                      payment=payment, reason=reason, business=settings)


# --- reconciling ----------------------------------------------------------------------------

def reconcile(days=3):
    """Ask the gateways about the last `days` days and apply what they say: first what each
    lists as recent (which also finds a checkout whose answer we never stored), then every
    unsettled payment of ours, one by one. Returns [(payment, what was done)]."""
    since = utcnow() - datetime.timedelta(days=days)
    done, seen = [], set()
    for name in payments.NAMES:
        for gateway in payments.every_mode(name):
            try:
                outcomes = gateway.recent(since)
            except GatewayError as exc:
                log.warning("reconcile: %s (%s) could not list: %s", name, gateway.mode, exc)
                continue
            for outcome in outcomes:
                payment = Payment.by_ref(name, outcome.ref) or _adopt(name, outcome)
                if payment is None or payment.id in seen or payment.status == "succeeded" or outcome.status == PENDING:
                    continue
                seen.add(payment.id)
                done.append((payment, _apply_listed(name, payment, outcome)))
    for payment in Payment.to_reconcile(since):
        if payment.id in seen:
            continue
        if not payment.provider_ref:
            done.append((payment, "never reached the gateway"))
            continue
        try:
            result = refresh(payment)
        except GatewayError as exc:
            result = f"error: {exc}"
        done.append((payment, result or "gateway not configured"))
    return done


def _adopt(gateway_name, outcome):
    """A checkout the gateway has and we have no reference for (its answer to our create call
    was lost): find our row by the payment id the checkout carries, and keep the reference."""
    claimed = outcome.claims.get("reference") or outcome.claims.get("payment") or ""
    if not claimed.isdigit():
        return None
    adopted = (Payment.update(provider_ref=outcome.ref[:120], updated_at=utcnow())
               .where((Payment.id == int(claimed)) & (Payment.gateway == gateway_name) & (Payment.provider_ref == ""))
               .execute())
    return Payment.by_ref(gateway_name, outcome.ref) if adopted else None


def _apply_listed(gateway_name, payment, outcome):
    with db.atomic():
        _found, result = settle(gateway_name, outcome)
        try:
            with db.atomic():
                PaymentEvent.create(gateway=gateway_name, event_id=f"list:{outcome.ref}:{outcome.status}"[:120],
                                    kind="reconcile", payment=payment.id, amount=outcome.amount,
                                    currency=outcome.currency[:3], outcome=result[:300])
        except IntegrityError:
            pass
    return result
