"""Stripe Checkout through the official `stripe` library.

A Checkout Session is made for the exact amount, with our payment id as client_reference_id
and what it pays for in its metadata. It is paid when Stripe says so: the signed
`checkout.session.completed` webhook (payment_status "paid"; bank debits follow with
`async_payment_succeeded`), or the session fetched from Stripe.
"""
import datetime
import json

from flask_babel import lazy_gettext as _l

from . import (CANCELLED, FAILED, PAID, PENDING, PROCESSING, Checkout, Event, Field, Gateway, GatewayError,
               InvalidWebhook, Outcome, payment_claims)

SESSION_LIFETIME = datetime.timedelta(hours=1)   # Stripe wants 30 minutes to 24 hours
EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded",
          "checkout.session.async_payment_failed", "checkout.session.expired"}


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
        outcome = session_outcome(obj, kind) if kind in EVENTS and isinstance(obj, dict) else None
        return Event(id=str(event_id), kind=str(kind), payload=body.decode(), outcome=outcome)

    def fetch(self, payment):
        import stripe
        if not payment.provider_ref:
            return None
        try:
            session = self._client().v1.checkout.sessions.retrieve(payment.provider_ref)
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe: {type(exc).__name__} {exc.http_status or ''}".strip()) from None
        return session_outcome(session.to_dict(), "fetch")

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


GATEWAY = StripeGateway
