"""Square Payment Links through the official `squareup` SDK (`from square import Square`).

A link is made with an ad hoc order carrying our payment id as reference_id and what it pays
for in its metadata; Payment.provider_ref is that order's id, which every payment webhook
names. Square sends payment.created then payment.updated: what counts is the payment's status
(COMPLETED), not the event's type. Its signature is an HMAC over the notification URL exactly
as configured at Square (ours, from BASE_URL) followed by the body, with no timestamp, so
replays are stopped by the unique event id. Square has no cancel URL and the redirect may come
before the webhook: the fetch on return asks for the order.

A Payment Link's order stays OPEN after it is paid (Square's documentation and developer forum:
only fulfilment completes it), so a payment is confirmed from the payment itself: each tender's
payment_id is read with GetPayment and counts when COMPLETED. Square payments do not carry the
order's reference_id: a checkout whose create answer was lost is found by searching the
location's recent orders for our reference, and a webhook whose payment names an order we do not
know (Square may put the payment on an order other than the link's) is traced to ours through
that order's reference_id (resolve()).

Refunds are made on the Square payment (Payment.provider_payment_ref) with the Refund row's
idempotency key (Square takes at most 45 characters: ours are 39). Square answers PENDING and
completes the refund later: refund.created and refund.updated carry the refund with its status,
whether we asked for it or staff refunded in Square's dashboard.
"""
import json

from flask_babel import lazy_gettext as _l

from . import (CANCELLED, FAILED, PAID, PENDING, REFUND, Checkout, Event, Field, Gateway, GatewayError,
               InvalidWebhook, Outcome, RefundOutcome, payment_claims)

HOSTS = {"test": "https://connect.squareupsandbox.com", "live": "https://connect.squareup.com"}
PAYMENT_STATUS = {"COMPLETED": PAID, "FAILED": FAILED, "CANCELED": CANCELLED}
REFUND_STATUS = {"COMPLETED": PAID, "PENDING": PENDING, "REJECTED": FAILED, "FAILED": FAILED}


class SquareGateway(Gateway):
    name = "square"
    label = _l("Card (Square)")
    fields = (
        Field("access_token", _l("Access token"), secret=True, env="SQUARE_ACCESS_TOKEN",
              pattern=r"[A-Za-z0-9_-]{8,200}"),
        Field("location_id", _l("Location id"), env="SQUARE_LOCATION_ID", pattern=r"[A-Za-z0-9]{4,60}"),
        Field("webhook_signature_key", _l("Webhook signature key"), secret=True,
              env="SQUARE_WEBHOOK_SIGNATURE_KEY", pattern=r"[A-Za-z0-9_-]{8,200}"),
    )

    def _client(self):
        from square import Square
        return Square(token=self.credentials["access_token"], timeout=self.config["PAYMENT_TIMEOUT"],
                      base_url=self.config["SQUARE_API_BASE"] or HOSTS[self.mode])

    def _call(self, what, fn):
        from square.core.api_error import ApiError
        try:
            return fn()
        except ApiError as exc:
            raise GatewayError(f"Square {what}: HTTP {exc.status_code} {_codes(exc.body)}") from None
        except Exception as exc:   # httpx connection errors and the like
            raise GatewayError(f"Square {what}: {type(exc).__name__}") from None

    def create_checkout(self, payment, description, return_url, cancel_url):
        order = {
            "location_id": self.credentials["location_id"],
            "reference_id": str(payment.id),
            "metadata": payment_claims(payment),
            "line_items": [{"name": description[:255], "quantity": "1",
                            "base_price_money": {"amount": payment.amount, "currency": payment.currency}}],
        }
        answer = self._call("create payment link", lambda: self._client().checkout.payment_links.create(
            idempotency_key=payment.idempotency_key, order=order, payment_note=description[:500],
            checkout_options={"redirect_url": return_url}))
        link = answer.payment_link
        if link is None or not link.order_id or not link.url:
            raise GatewayError("Square create payment link: no link in the answer")
        return Checkout(ref=link.order_id, url=link.url)

    def parse_webhook(self, body, headers, url):
        from square.utils.webhooks_helper import verify_signature
        try:
            text = body.decode()
            if not verify_signature(request_body=text,
                                    signature_header=headers.get("x-square-hmacsha256-signature", ""),
                                    signature_key=self.credentials["webhook_signature_key"], notification_url=url):
                raise InvalidWebhook("square")
            event = json.loads(text)
            kind, event_id = event["type"], event["event_id"]
            obj = (event.get("data") or {}).get("object") or {}
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError):
            raise InvalidWebhook("square") from None
        outcome = payment_outcome(obj.get("payment")) if kind.startswith("payment.") else None
        refund = refund_outcome(obj.get("refund")) if kind in ("refund.created", "refund.updated") else None
        return Event(id=str(event_id), kind=str(kind), payload=text, outcome=outcome, refund=refund)

    def fetch(self, payment):
        """The order as Square has it, paid when a payment of its tenders is COMPLETED."""
        if not payment.provider_ref:
            return None
        return self._paid(self._order(payment.provider_ref))

    def _order(self, order_id):
        answer = self._call("get order", lambda: self._client().orders.get(order_id=order_id))
        return answer.order.dict() if answer.order is not None else {}

    def _paid(self, order):
        """The order's outcome from its payments (GetPayment per tender), not its state."""
        outcome = order_outcome(order)
        if outcome.status == CANCELLED:
            return outcome
        completed = []
        for tender in order.get("tenders") or []:
            if tender.get("payment_id"):
                answer = self._call("get payment", lambda t=tender: self._client().payments.get(t["payment_id"]))
                found = answer.payment.dict() if answer.payment is not None else {}
                if found.get("status") == "COMPLETED":
                    completed.append(found)
        if not completed:
            return outcome
        currencies = {(p.get("amount_money") or {}).get("currency") for p in completed}
        return Outcome(ref=outcome.ref, status=PAID, amount=sum((p.get("amount_money") or {}).get("amount") or 0
                                                                for p in completed),
                       currency=str(currencies.pop()) if len(currencies) == 1 else "",
                       payment_ref=str(completed[0].get("id") or ""), claims=outcome.claims)

    def resolve(self, outcome):
        """Our payment id for a payment event naming an order we do not know: the reference_id
        of the order Square names (our orders carry our payment id there), or None."""
        if not outcome.ref:
            return None
        reference = str(self._order(outcome.ref).get("reference_id") or "")
        return int(reference) if reference.isdigit() else None

    def refund(self, payment, refund):
        payment_id = payment.provider_payment_ref or self._payment_of(payment)
        answer = self._call("refund payment", lambda: self._client().refunds.refund_payment(
            idempotency_key=refund.idempotency_key, payment_id=payment_id,
            amount_money={"amount": refund.amount, "currency": payment.currency}))
        outcome = refund_outcome(answer.refund.dict() if answer.refund is not None else None)
        if outcome is None:
            raise GatewayError("Square refund payment: no refund in the answer")
        return outcome

    def _payment_of(self, payment):
        """A payment settled before we kept Square's payment id: the order's tender names it."""
        outcome = self.fetch(payment)
        if outcome is None or not outcome.payment_ref:
            raise GatewayError("Square refund payment: the payment has no Square payment id")
        return outcome.payment_ref

    def recent(self, since):
        """The location's orders since then that carry a reference of ours, with what their
        payments say: finds a checkout whose create answer we never stored."""
        begin = since.replace(microsecond=0).isoformat() + "Z"
        query = {"filter": {"date_time_filter": {"created_at": {"start_at": begin}}},
                 "sort": {"sort_field": "CREATED_AT", "sort_order": "DESC"}}
        orders, cursor = [], None
        while True:
            page = self._call("search orders", lambda c=cursor: self._client().orders.search(
                location_ids=[self.credentials["location_id"]], query=query, limit=500,
                **({"cursor": c} if c else {})))
            orders += [o.dict() for o in page.orders or []]
            cursor = page.cursor
            if not cursor:
                break
        return [self._paid(order) for order in orders if str(order.get("reference_id") or "").isdigit()]


def payment_outcome(payment):
    if not isinstance(payment, dict) or not payment.get("order_id"):
        return None
    money = payment.get("amount_money") or {}
    return Outcome(ref=str(payment["order_id"]), status=PAYMENT_STATUS.get(payment.get("status"), PENDING),
                   amount=money.get("amount") if isinstance(money.get("amount"), int) else None,
                   currency=str(money.get("currency") or ""), payment_ref=str(payment.get("id") or ""),
                   claims={"reference": str(payment.get("reference_id") or "")})


def refund_outcome(refund):
    """A Square PaymentRefund (our answer, or the object of a refund.* event), or None."""
    if not isinstance(refund, dict) or not refund.get("id"):
        return None
    money = refund.get("amount_money") or {}
    return RefundOutcome(kind=REFUND, ref=str(refund["id"]), payment_ref=str(refund.get("payment_id") or ""),
                         status=REFUND_STATUS.get(refund.get("status"), PENDING),
                         amount=money.get("amount") if isinstance(money.get("amount"), int) else None,
                         currency=str(money.get("currency") or ""), reason=str(refund.get("reason") or ""))


def order_outcome(order):
    claims = {k: str(v) for k, v in (order.get("metadata") or {}).items()}
    claims["reference"] = str(order.get("reference_id") or "")
    ref = str(order.get("id") or "")
    if order.get("state") == "CANCELED":
        return Outcome(ref=ref, status=CANCELLED, claims=claims)
    # Not paid from the order's state: a paid Payment Link order stays OPEN. SquareGateway._paid
    # asks each tender's payment.
    return Outcome(ref=ref, status=PENDING, claims=claims)


def _codes(body):
    try:
        return " ".join(e.get("code", "") for e in (body or {}).get("errors", []))
    except AttributeError:
        return ""


GATEWAY = SquareGateway
