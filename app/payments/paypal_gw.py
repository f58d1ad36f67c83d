"""PayPal Orders v2 through the official `paypal-server-sdk`: create an order (intent CAPTURE),
send the person to its payer-action page, capture it once they approve.

The capture is ours to make: on their return, on the CHECKOUT.ORDER.APPROVED webhook, or by
the reconcile command; whichever comes first captures (PayPal-Request-Id makes a repeated
capture a replay) and the capture PayPal answers with is the server-side confirmation.
PAYMENT.CAPTURE.COMPLETED confirms it again.

Webhooks are verified here, on the exact bytes received (app/payments/paypal_verify.py): PayPal
signs "transmission id|time|webhook id|CRC32 of the body" with the certificate its
PAYPAL-CERT-URL names, which is fetched only from a PayPal host over https (or the configured API
base, in tests), once, and cached. No call to PayPal per webhook: a flood of forged posts costs a
CRC and an RSA check each, not a worker held on the network.

Refunds are made on the capture (Payment.provider_payment_ref) with the Refund row's key as
PayPal-Request-Id. PAYMENT.CAPTURE.REFUNDED (a refund, ours or made in PayPal's dashboard) and
PAYMENT.CAPTURE.REVERSED (PayPal took the money back: a chargeback or a dispute the buyer won)
carry a refund object whose "up" link names the capture.
"""
import hashlib
import json
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from ..money import currency_exponent
from . import paypal_verify
from . import (APPROVED, CANCELLED, CHARGEBACK, FAILED, PAID, PENDING, REFUND, RETRY, Checkout, Event, Field,
               Gateway, GatewayError, InvalidWebhook, Outcome, RefundOutcome, payment_claims)

HOSTS = {"test": "https://api-m.sandbox.paypal.com", "live": "https://api-m.paypal.com"}
ZERO_DECIMAL = {"HUF", "JPY", "TWD"}   # PayPal takes these in whole units only
REFUND_STATUS = {"COMPLETED": PAID, "PENDING": PENDING, "FAILED": FAILED, "CANCELLED": FAILED}
REFUND_EVENTS = {"PAYMENT.CAPTURE.REFUNDED": REFUND, "PAYMENT.CAPTURE.REVERSED": CHARGEBACK}


class PayPalGateway(Gateway):
    name = "paypal"
    label = _l("PayPal")
    fields = (
        Field("client_id", _l("Client id"), env="PAYPAL_CLIENT_ID", pattern=r"[A-Za-z0-9_-]{8,120}"),
        Field("client_secret", _l("Secret"), secret=True, env="PAYPAL_CLIENT_SECRET",
              pattern=r"[A-Za-z0-9_-]{8,200}"),
        Field("webhook_id", _l("Webhook id"), env="PAYPAL_WEBHOOK_ID", pattern=r"[A-Za-z0-9-]{5,60}"),
    )

    @property
    def base_url(self):
        return self.config["PAYPAL_API_BASE"] or HOSTS[self.mode]

    def _client(self):
        from paypalserversdk.configuration import Configuration
        from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
        from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient
        base = self.base_url

        class PortalConfiguration(Configuration):
            # The SDK knows only PayPal's two hosts; tests point it at a local server.
            def get_base_uri(self, server=None):
                return base
        return PaypalServersdkClient(config=PortalConfiguration(
            timeout=self.config["PAYMENT_TIMEOUT"],
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=self.credentials["client_id"],
                o_auth_client_secret=self.credentials["client_secret"])))

    def _call(self, what, controller="orders", **options):
        from paypalserversdk.exceptions.api_exception import ApiException
        try:
            response = getattr(getattr(self._client(), controller), what)(options)
        except ApiException as exc:
            raise GatewayError(f"PayPal {what}: HTTP {exc.response_code} {_issue(exc.response)}",
                               issue=_issue_code(exc.response)) from None
        except Exception as exc:   # connection errors come from requests, wrapped or not
            raise GatewayError(f"PayPal {what}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise GatewayError(f"PayPal {what}: HTTP {response.status_code} {_issue(response)}",
                               issue=_issue_code(response))
        return json.loads(response.text or "{}")

    def create_checkout(self, payment, description, return_url, cancel_url):
        body = {
            "intent": "CAPTURE",
            "purchase_units": [{
                "reference_id": f"payment-{payment.id}",
                "description": description[:127],
                "custom_id": encode_claims(payment_claims(payment)),
                "amount": {"currency_code": payment.currency, "value": to_value(payment.amount, payment.currency)},
            }],
            "payment_source": {"paypal": {"experience_context": {
                "return_url": return_url, "cancel_url": cancel_url, "user_action": "PAY_NOW",
                "shipping_preference": "NO_SHIPPING"}}},
        }
        order = self._call("create_order", body=body, paypal_request_id=payment.idempotency_key,
                           prefer="return=minimal")
        links = {link.get("rel"): link.get("href") for link in order.get("links", [])}
        url = links.get("payer-action") or links.get("approve")
        if not order.get("id") or not url:
            raise GatewayError("PayPal create_order: no approval link in the answer")
        return Checkout(ref=order["id"], url=url)

    def parse_webhook(self, body, headers, url):
        try:
            event = json.loads(body)
            kind, resource = event["event_type"], event["resource"]
            event_id = event["id"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise InvalidWebhook("paypal") from None
        if not paypal_verify.verified(body, headers, self.credentials["webhook_id"], self.base_url):
            raise InvalidWebhook("paypal")
        return Event(id=str(event_id), kind=str(kind), payload=body.decode(), outcome=event_outcome(kind, resource),
                     refund=refund_event(kind, resource))

    def fetch(self, payment):
        """The order as PayPal has it; an approved one is captured now."""
        if not payment.provider_ref:
            return None
        order = self._call("get_order", id=payment.provider_ref)
        if order.get("status") == "APPROVED":
            try:
                # One request id per approval: concurrent returns replay one capture, and an
                # approval made again after a declined instrument is a new capture, not a
                # replay of the decline.
                approval = hashlib.sha256(str(order.get("update_time") or "").encode()).hexdigest()[:8]
                order = self._call("capture_order", id=payment.provider_ref,
                                   paypal_request_id=f"{payment.idempotency_key}-capture-{approval}",
                                   prefer="return=representation")
            except GatewayError as exc:
                # Told apart by PayPal's issue code (developer.paypal.com/api/rest/reference/orders/v2/errors/).
                if exc.issue == "INSTRUMENT_DECLINED":
                    # "Redirect the payer to the approve link to choose another funding source."
                    return Outcome(ref=payment.provider_ref, status=RETRY)
                if exc.issue in ("TRANSACTION_REFUSED", "PAYER_CANNOT_PAY", "PAYEE_BLOCKED_TRANSACTION"):
                    return Outcome(ref=payment.provider_ref, status=FAILED)
                if exc.issue != "ORDER_ALREADY_CAPTURED":
                    raise
                order = self._call("get_order", id=payment.provider_ref)
        return order_outcome(order)


    def refund(self, payment, refund):
        capture = payment.provider_payment_ref or self._capture_of(payment)
        # Every field derives from the stored row: a retry with the same PayPal-Request-Id is
        # the same request. The staff's reason stays ours (note_to_payer reaches the payer).
        body = {"amount": {"currency_code": payment.currency, "value": to_value(refund.amount, payment.currency)}}
        answer = self._call("refund_captured_payment", controller="payments", capture_id=capture, body=body,
                            paypal_request_id=refund.idempotency_key, prefer="return=representation")
        return refund_outcome(answer, REFUND, capture)

    def _capture_of(self, payment):
        """A payment settled before we kept its capture id: the order names it."""
        outcome = self.fetch(payment)
        if outcome is None or not outcome.payment_ref:
            raise GatewayError("PayPal refund: the payment has no capture")
        return outcome.payment_ref


def encode_claims(claims):
    """Our claims in PayPal's custom_id (127 characters at most): p=12;d=3,4;c=5."""
    return f"p={claims['payment']};d={claims['documents']};c={claims['contact']}"[:127]


def decode_claims(custom_id):
    names = {"p": "payment", "d": "documents", "c": "contact"}
    found = {}
    for part in str(custom_id or "").split(";"):
        key, _, value = part.partition("=")
        if key in names:
            found[names[key]] = value
    return found


def to_value(amount, currency):
    """Minor units to PayPal's decimal string."""
    exponent = currency_exponent(currency)
    value = Decimal(amount).scaleb(-exponent)
    if currency in ZERO_DECIMAL:
        if value != value.to_integral_value():
            raise GatewayError(f"PayPal takes whole amounts in {currency}")
        return str(int(value))
    return f"{value:.{exponent}f}"


def to_minor(value, currency):
    """PayPal's decimal string to our minor units (None when it is not a number)."""
    try:
        minor = Decimal(str(value)).scaleb(currency_exponent(currency))
    except (ArithmeticError, ValueError, TypeError):
        return None
    return int(minor) if minor == minor.to_integral_value() else None


def capture_outcome(order_id, capture, claims):
    amount = capture.get("amount") or {}
    currency = str(amount.get("currency_code") or "")
    status = {"COMPLETED": PAID, "DECLINED": FAILED, "FAILED": FAILED}.get(capture.get("status"), PENDING)
    return Outcome(ref=order_id, status=status, amount=to_minor(amount.get("value"), currency) if currency else None,
                   currency=currency, payment_ref=str(capture.get("id") or ""), claims=claims)


def order_outcome(order):
    order_id = str(order.get("id") or "")
    units = order.get("purchase_units") or [{}]
    unit = units[0]
    claims = decode_claims(unit.get("custom_id"))
    captures = (unit.get("payments") or {}).get("captures") or []
    if order.get("status") == "COMPLETED" and captures:
        return capture_outcome(order_id, captures[0], claims)
    status = {"APPROVED": APPROVED, "VOIDED": CANCELLED}.get(order.get("status"), PENDING)
    return Outcome(ref=order_id, status=status, claims=claims)


def event_outcome(kind, resource):
    """What an event says, or None for events we do not act on."""
    if not isinstance(resource, dict):
        return None
    if kind in ("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DECLINED"):
        order_id = ((resource.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id")
        if not order_id:
            return None
        return capture_outcome(str(order_id), resource, decode_claims(resource.get("custom_id")))
    if kind == "CHECKOUT.ORDER.APPROVED":
        return order_outcome(resource)
    return None


def refund_outcome(refund, kind, capture_id=""):
    """A PayPal refund object (our answer, or the resource of a refund or reversal event)."""
    amount = refund.get("amount") or {}
    currency = str(amount.get("currency_code") or "")
    return RefundOutcome(kind=kind, ref=str(refund.get("id") or ""), payment_ref=capture_id or capture_of(refund),
                         status=REFUND_STATUS.get(refund.get("status"), PENDING),
                         amount=to_minor(amount.get("value"), currency) if currency else None, currency=currency,
                         reason=str((refund.get("status_details") or {}).get("reason")
                                    or refund.get("note_to_payer") or ""))


def capture_of(refund):
    """The capture a refund belongs to: its "up" link, /v2/payments/captures/{id}."""
    for link in refund.get("links") or []:
        href = str(link.get("href") or "") if isinstance(link, dict) else ""
        if href and link.get("rel") == "up" and "/v2/payments/captures/" in href:
            return href.rstrip("/").rsplit("/", 1)[1]
    return ""


def refund_event(kind, resource):
    if kind not in REFUND_EVENTS or not isinstance(resource, dict):
        return None
    return refund_outcome(resource, REFUND_EVENTS[kind])


def _issue_code(response):
    """PayPal's first issue code (INSTRUMENT_DECLINED, ORDER_ALREADY_CAPTURED), or ""."""
    try:
        details = json.loads(response.text or "{}").get("details") or [{}]
        return str(details[0].get("issue") or "")
    except (ValueError, AttributeError, TypeError):
        return ""


def _issue(response):
    """The error's name and first issue from PayPal's answer (no secrets in there)."""
    try:
        data = json.loads(response.text or "{}")
    except (ValueError, AttributeError):
        return ""
    details = data.get("details") or [{}]
    return " ".join(str(x) for x in (data.get("name") or data.get("error"), details[0].get("issue")) if x)


GATEWAY = PayPalGateway
