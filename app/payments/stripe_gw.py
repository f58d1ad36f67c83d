"""Stripe Checkout through the official `stripe` library.

A Checkout Session is made for the exact amount, with our payment id as client_reference_id
and what it pays for in its metadata. It is paid when Stripe says so: the signed
`checkout.session.completed` webhook (payment_status "paid"; bank debits follow with
`async_payment_succeeded`), or the session fetched from Stripe.

Refunds are made on the session's PaymentIntent (Payment.provider_payment_ref) with the Refund
row's idempotency key. Money given back is read from the events that name one refund by its id:
refund.created / refund.updated / refund.failed (and charge.refund.updated, their older name).
charge.refunded is about the charge: it carries only the charge's running total, and from API
version 2022-11-15 no list of refunds, so it is acted on only when it lists them (an endpoint on
an older version), as its newest refund; the refund's unique id makes it and refund.* apply the
money once. Disputes: charge.dispute.created flags the payment, charge.dispute.closed says won
(nothing moves) or lost (the disputed amount is taken back, a chargeback).
"""
import datetime
import json

from flask_babel import lazy_gettext as _l

from . import (CANCELLED, CHARGEBACK, DISPUTE_OPENED, DISPUTE_WON, FAILED, PAID, PENDING, PROCESSING, REFUND,
               Checkout, Event, Field, Gateway, GatewayError, InvalidWebhook, Outcome, RefundOutcome,
               payment_claims)

SESSION_LIFETIME = datetime.timedelta(hours=1)   # Stripe wants 30 minutes to 24 hours
EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded",
          "checkout.session.async_payment_failed", "checkout.session.expired"}
REFUND_EVENTS = {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
REFUND_STATUS = {"succeeded": PAID, "pending": PENDING, "requires_action": PENDING,
                 "failed": FAILED, "canceled": FAILED}
DISPUTE_CLOSED = {"won": DISPUTE_WON, "warning_closed": DISPUTE_WON, "prevented": DISPUTE_WON,
                  "lost": CHARGEBACK}


class StripeGateway(Gateway):
    name = "stripe"
    label = _l("Card (Stripe)")
    fields = (
        Field("secret_key", _l("Secret key"), secret=True, env="STRIPE_SECRET_KEY",
              pattern=r"(sk|rk)_{mode}_[A-Za-z0-9_]{4,250}"),
        Field("webhook_secret", _l("Webhook signing secret"), secret=True, env="STRIPE_WEBHOOK_SECRET",
              pattern=r"whsec_[A-Za-z0-9_]{4,250}"),
    )

    def _client(self):
        import stripe
        return stripe.StripeClient(
            self.credentials["secret_key"], base_addresses={"api": self.config["STRIPE_API_BASE"]},
            http_client=stripe.RequestsClient(timeout=self.config["PAYMENT_TIMEOUT"]),
            max_network_retries=0)

    def create_checkout(self, payment, description, return_url, cancel_url):
        import stripe
        claims = payment_claims(payment)
        # Every parameter derives from the stored row, so a retry with the same idempotency
        # key sends the same request (Stripe refuses a reused key with other parameters).
        params = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": payment.currency.lower(), "unit_amount": payment.amount,
                "product_data": {"name": description[:250]}}}],
            "client_reference_id": str(payment.id),
            "metadata": claims,
            "payment_intent_data": {"metadata": claims},
            "success_url": return_url,
            "cancel_url": cancel_url,
            "expires_at": int((payment.created_at + SESSION_LIFETIME)
                              .replace(tzinfo=datetime.timezone.utc).timestamp()),
        }
        try:
            session = self._client().v1.checkout.sessions.create(
                params=params, options={"idempotency_key": payment.idempotency_key})
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe: {type(exc).__name__} {exc.http_status or ''}".strip()) from None
        return Checkout(ref=session.id, url=session.url)

    def parse_webhook(self, body, headers, url):
        import stripe
        try:
            # Checks the HMAC of "timestamp.body" and refuses a timestamp older than 5 minutes.
            stripe.Webhook.construct_event(body, headers.get("Stripe-Signature"),
                                           self.credentials["webhook_secret"],
                                           api_key=self.credentials["secret_key"])
            data = json.loads(body)
            kind, obj = data["type"], data["data"]["object"]
            event_id = data["id"]
        except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise InvalidWebhook("stripe") from None
        if not isinstance(obj, dict):
            return Event(id=str(event_id), kind=str(kind), payload=body.decode())
        outcome = session_outcome(obj, kind) if kind in EVENTS else None
        return Event(id=str(event_id), kind=str(kind), payload=body.decode(), outcome=outcome,
                     refund=refund_event(kind, obj))

    def fetch(self, payment):
        import stripe
        if not payment.provider_ref:
            return None
        try:
            session = self._client().v1.checkout.sessions.retrieve(payment.provider_ref)
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe: {type(exc).__name__} {exc.http_status or ''}".strip()) from None
        return session_outcome(session.to_dict(), "fetch")

    def refund(self, payment, refund):
        import stripe
        intent = payment.provider_payment_ref or self._intent_of(payment)
        params = {"payment_intent": intent, "amount": refund.amount,
                  "metadata": {"refund": str(refund.id), "payment": str(payment.id)}}
        try:
            answer = self._client().v1.refunds.create(
                params=params, options={"idempotency_key": refund.idempotency_key})
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe refund: {type(exc).__name__} {exc.http_status or ''} "
                               f"{getattr(exc, 'code', '') or ''}".strip()) from None
        return refund_outcome(answer.to_dict())

    def _intent_of(self, payment):
        """A payment settled before we kept its PaymentIntent: the session names it."""
        outcome = self.fetch(payment)
        if outcome is None or not outcome.payment_ref:
            raise GatewayError("Stripe refund: the payment has no PaymentIntent")
        return outcome.payment_ref

    def recent(self, since):
        import stripe
        created = int(since.replace(tzinfo=datetime.timezone.utc).timestamp())
        try:
            # Every page (has_more, starting_after), not only the first 100 sessions.
            page = self._client().v1.checkout.sessions.list(params={"created": {"gte": created}, "limit": 100})
            return [session_outcome(session.to_dict(), "list") for session in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe: {type(exc).__name__} {exc.http_status or ''}".strip()) from None


def session_outcome(obj, kind):
    status = PENDING
    if kind == "checkout.session.async_payment_failed":
        status = FAILED
    elif obj.get("status") == "expired":
        status = CANCELLED
    elif obj.get("status") == "complete" and obj.get("payment_status") == "paid":
        status = PAID
    elif obj.get("status") == "complete" and obj.get("payment_status") == "unpaid":
        # A delayed method (SEPA debit, bank transfer): async_payment_succeeded or _failed follows.
        status = PROCESSING
    claims = dict(obj.get("metadata") or {})
    claims["reference"] = obj.get("client_reference_id") or ""
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    amount = obj.get("amount_total")
    return Outcome(ref=str(obj.get("id") or ""), status=status,
                   amount=amount if isinstance(amount, int) else None,
                   currency=str(obj.get("currency") or "").upper(), payment_ref=str(intent or ""),
                   claims={k: str(v) for k, v in claims.items()})


def _id(value):
    """An id the object names, whether Stripe sent it as a string or expanded."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value or "")


def refund_outcome(obj):
    """A Stripe Refund object as what it gives back."""
    amount = obj.get("amount")
    return RefundOutcome(kind=REFUND, ref=_id(obj.get("id")),
                         payment_ref=_id(obj.get("payment_intent")) or _id(obj.get("charge")),
                         status=REFUND_STATUS.get(obj.get("status"), PENDING),
                         amount=amount if isinstance(amount, int) else None,
                         currency=str(obj.get("currency") or "").upper(),
                         reason=str(obj.get("failure_reason") or obj.get("reason") or ""))


def refund_event(kind, obj):
    """What a refund or dispute event gives back, or None for other events."""
    if kind in REFUND_EVENTS:
        return refund_outcome(obj)
    if kind == "charge.refunded":
        refunds = obj.get("refunds") if isinstance(obj.get("refunds"), dict) else {}
        listed = [r for r in refunds.get("data") or [] if isinstance(r, dict)]
        if not listed:
            return None
        newest = max(listed, key=lambda r: r.get("created") if isinstance(r.get("created"), int) else 0)
        return refund_outcome({**newest, "payment_intent": newest.get("payment_intent") or obj.get("payment_intent")})
    if kind not in ("charge.dispute.created", "charge.dispute.closed"):
        return None
    if kind == "charge.dispute.created":
        what = DISPUTE_OPENED
    else:
        what = DISPUTE_CLOSED.get(obj.get("status"))
        if what is None:
            return None
    amount = obj.get("amount")
    return RefundOutcome(kind=what, ref=_id(obj.get("id")),
                         payment_ref=_id(obj.get("payment_intent")) or _id(obj.get("charge")),
                         status=PAID, amount=amount if isinstance(amount, int) else None,
                         currency=str(obj.get("currency") or "").upper(), reason=str(obj.get("reason") or ""))


GATEWAY = StripeGateway
