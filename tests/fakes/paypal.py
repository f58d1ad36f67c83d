"""A local PayPal (Orders v2) for tests, good enough for the official `paypalserversdk`.

It serves: OAuth client-credentials tokens, create/get/capture order (PayPal-Request-Id makes
create and capture idempotent), the buyer's approval page (/checkoutnow?token=ORDER_ID, plain form
POSTs), GET /v2/payments/captures/{id}, capture refunds (POST
/v2/payments/captures/{id}/refund, PayPal-Request-Id makes it idempotent; GET
/v2/payments/refunds/{id}), the webhook certificate and the verify-webhook-signature API.
After a capture it emits PAYMENT.CAPTURE.COMPLETED signed as PayPal signs: RSA-SHA256 over
"transmission_id|transmission_time|webhook_id|crc32(body)" with a self-signed certificate.
A refund (ours, or refund_in_dashboard()) emits PAYMENT.CAPTURE.REFUNDED and reverse() emits
PAYMENT.CAPTURE.REVERSED, both with a refund resource shaped as PayPal's samples on
developer.paypal.com/api/rest/webhooks/event-names (events WH-1GE84257G0350133W-6RW800890C634293G
and WH-6F207351SC284371F-0KX52201050121307) and the refund schema of
paypal/paypal-rest-api-specifications openapi/payments_payment_v2.json.

There is no API that lists orders: reconciliation fetches each known order by id
(GET /v2/checkout/orders/{id}), as it must against PayPal.

The RSA key and certificate are made here with the standard library only (the project does not
depend on `cryptography`): one 2048-bit key per test process, generated on first use.
"""
import base64
import hashlib
import html
import json
import math
import re
import secrets
import threading
import uuid
import zlib
from collections import deque
from datetime import datetime, timedelta, timezone

from .base import (FakeServer, Response, add_query, dumps, html_response, json_response, public,
                   random_id, redirect, utc_now)

ZERO_DECIMAL = {"HUF", "JPY", "TWD"}
AUTH_ALGO = "SHA256withRSA"
CERT_ID = "CERT-fake"
MAX_TOKENS = 1000


class PayPalFake(FakeServer):
    """PayPal for tests. Settings (plain attributes, change them freely):
    client_id / client_secret, webhook_id, webhook_url, webhook_sync, event_types,
    next_capture_error (an issue name such as "INSTRUMENT_DECLINED": the next capture fails
    with 422 and that issue), next_refund_error (likewise for the next refund, e.g.
    "REFUND_NOT_ALLOWED"), refund_status (what refunds answer: COMPLETED, PENDING),
    payer (who approves on the checkout page)."""

    routes = [
        ("POST", r"/v1/oauth2/token", "token"),
        ("GET", r"/v1/notifications/certs/([\w-]+)", "cert"),
        ("POST", r"/v1/notifications/verify-webhook-signature", "verify_webhook_signature"),
        ("POST", r"/v2/checkout/orders", "create_order"),
        ("GET", r"/v2/checkout/orders/([^/]+)", "get_order"),
        ("POST", r"/v2/checkout/orders/([^/]+)/capture", "capture_order"),
        ("GET", r"/v2/payments/captures/([^/]+)", "get_capture"),
        ("POST", r"/v2/payments/captures/([^/]+)/refund", "refund_capture"),
        ("GET", r"/v2/payments/refunds/([^/]+)", "get_refund"),
        ("GET", r"/checkoutnow", "checkout_page"),
        ("POST", r"/checkoutnow", "checkout_decide"),
    ]

    def __init__(self, client_id="fake-paypal-client-id", client_secret="fake-paypal-secret",
                 webhook_id="1JE4291016473214C"):
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_id = webhook_id
        self.event_types = {"PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.REFUNDED",
                            "PAYMENT.CAPTURE.REVERSED"}   # add "CHECKOUT.ORDER.APPROVED" if wanted
        self.next_capture_error = None
        self.next_refund_error = None
        self.refund_status = "COMPLETED"
        self.merchant_id = "FAKEMERCHANT1"
        self.payer = {"payer_id": "FAKEPAYER0001", "email_address": "buyer@example.com",
                      "name": {"given_name": "Pat", "surname": "Buyer"},
                      "address": {"country_code": "ES"}}
        self.clear()

    def clear(self):
        self._tokens = deque(maxlen=MAX_TOKENS)
        self._meta = {}                                  # order id -> return/cancel URLs

    # -- what tests read ---------------------------------------------------------------------
    @property
    def orders(self):
        """{order id: the order as GET /v2/checkout/orders/{id} returns it}."""
        return self.registry("orders")

    @property
    def captures(self):
        return self.registry("captures")

    @property
    def refunds(self):
        return self.registry("refunds")

    @property
    def key(self):
        """The signing key, made on first use (see signing_key)."""
        return signing_key()

    @property
    def cert_url(self):
        return self.url(f"/v1/notifications/certs/{CERT_ID}")

    @property
    def cert_pem(self):
        return self.key.cert_pem

    def approve(self, order_id):
        """Press "Approve" on the checkout page: (status, Location of the redirect)."""
        return self.post_form("/checkoutnow", {"token": order_id, "action": "approve"})

    def cancel(self, order_id):
        return self.post_form("/checkoutnow", {"token": order_id, "action": "cancel"})

    def sdk_client(self, client_id=None, client_secret=None):
        """The official SDK client pointed at this fake (what the app does with its own config)."""
        from paypalserversdk.configuration import Configuration
        from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
        from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient
        base_url = self.base_url

        class FakeConfiguration(Configuration):
            def get_base_uri(self, server=None):
                return base_url
        credentials = ClientCredentialsAuthCredentials(
            o_auth_client_id=client_id or self.client_id,
            o_auth_client_secret=client_secret or self.client_secret)
        return PaypalServersdkClient(config=FakeConfiguration(
            client_credentials_auth_credentials=credentials))

    # -- webhooks ----------------------------------------------------------------------------
    def sign(self, body, transmission_id=None, transmission_time=None, webhook_id=None):
        """The PAYPAL-* headers PayPal sends with `body` (bytes)."""
        transmission_id = transmission_id or str(uuid.uuid4())
        transmission_time = transmission_time or utc_now()
        message = transmission_message(transmission_id, transmission_time,
                                       webhook_id or self.webhook_id, body)
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(self.key.sign(message)).decode(),
            "PAYPAL-CERT-URL": self.cert_url,
            "PAYPAL-AUTH-ALGO": AUTH_ALGO,
        }

    def sign_message(self, event, body):
        return self.sign(body)

    def event(self, event_type, resource, resource_type, summary):
        """A webhook event as PayPal builds it (not sent: see emit/deliver)."""
        event_id = f"WH-{random_id(17)}-{random_id(17)}"
        return {
            "id": event_id,
            "event_version": "1.0",
            "create_time": utc_now(),
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": summary,
            "resource": resource,
            "links": [
                {"href": self.url(f"/v1/notifications/webhooks-events/{event_id}"), "rel": "self",
                 "method": "GET"},
                {"href": self.url(f"/v1/notifications/webhooks-events/{event_id}/resend"),
                 "rel": "resend", "method": "POST"},
            ],
        }

    # -- routes ------------------------------------------------------------------------------
    def authorize(self, request):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self.lock:
            known = scheme.lower() == "bearer" and token in self._tokens
        if known:
            return None
        return json_response(401, {"error": "invalid_token",
                                   "error_description": "Token signature verification failed"})

    def not_found(self, request):
        return json_response(404, {"name": "NOT_FOUND", "message": "Not Found",
                                   "debug_id": random_id(13).lower()})

    @public
    def token(self, request):
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            client_id = secret = None
        if scheme.lower() != "basic" or (client_id, secret) != (self.client_id, self.client_secret):
            return json_response(401, {"error": "invalid_client",
                                       "error_description": "Client Authentication failed"})
        if request.form().get("grant_type") != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type",
                                       "error_description": "Grant Type is NULL"})
        token = "A21AA" + secrets.token_urlsafe(60)
        with self.lock:
            self._tokens.append(token)
        return json_response(200, {
            "scope": "https://uri.paypal.com/services/payments/payment/authcapture openid",
            "access_token": token, "token_type": "Bearer", "app_id": "APP-80W284485P519543T",
            "expires_in": 32400, "nonce": f"{utc_now()}{secrets.token_urlsafe(16)}"})

    @public
    def cert(self, request, cert_id):
        if cert_id != CERT_ID:
            return self.not_found(request)
        return Response(200, self.key.cert_pem.encode(), {"Content-Type": "application/x-pem-file"})

    def create_order(self, request):
        try:
            body = request.json()
        except ValueError:
            return error(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "", "body")
        problem = validate_order_request(body)
        if problem:
            return problem
        request_id = request.headers.get("paypal-request-id")
        with self.lock:
            replay = self.registry("idempotency").get(("create", request_id)) if request_id else None
            if replay:
                return json_response(200, replay)
            order, meta = self._new_order(body)
            self.store("orders", order)
            self._meta[order["id"]] = meta
            answer = self._representation(order, request, minimal=minimal_order)
            if request_id:
                self.registry("idempotency")[("create", request_id)] = answer
        return json_response(201, answer)

    def get_order(self, request, order_id):
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return resource_not_found("order_id", order_id)
            return json_response(200, order)

    def capture_order(self, request, order_id):
        request_id = request.headers.get("paypal-request-id")
        with self.lock:
            replay = self.registry("idempotency").get(("capture", order_id, request_id)) \
                if request_id else None
            if replay:
                return json_response(200, replay)
            order = self.orders.get(order_id)
            if order is None:
                return resource_not_found("order_id", order_id)
            if order["intent"] != "CAPTURE":
                return unprocessable("ACTION_DOES_NOT_MATCH_INTENT",
                                     "Order was created with an intent to 'AUTHORIZE'.")
            if order["status"] == "COMPLETED":
                return unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured.If "
                                     "'intent=CAPTURE' only one capture per order is allowed.")
            if order["status"] != "APPROVED":
                return unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order "
                                     "for payment. Please redirect the payer to the 'rel':'approve'"
                                     " url returned as part of the HATEOAS links within the Create "
                                     "Order call or provide a valid payment_source in the request.")
            if self.next_capture_error:
                issue, self.next_capture_error = self.next_capture_error, None
                if issue == "INSTRUMENT_DECLINED":
                    # The payer may approve again with another funding source (PayPal, "Handle
                    # funding failures": redirect the buyer back to the approve link, then capture).
                    order["status"] = "PAYER_ACTION_REQUIRED"
                return unprocessable(issue, "The instrument presented was either declined by the "
                                     "processor or bank, or it can't be used for this payment.")
            capture = self._capture(order)
            answer = self._representation(order, request, minimal=minimal_capture)
            if request_id:
                self.registry("idempotency")[("capture", order_id, request_id)] = answer
        if "PAYMENT.CAPTURE.COMPLETED" in self.event_types:
            resource = {**capture, "supplementary_data": {"related_ids": {"order_id": order_id}},
                        "payee": order["purchase_units"][0]["payee"]}
            amount = capture["amount"]
            self.emit(self.event("PAYMENT.CAPTURE.COMPLETED", resource, "capture",
                                 f"Payment completed for {amount['currency_code']} "
                                 f"{amount['value']} {amount['currency_code']}"))
        return json_response(201, answer)

    def get_capture(self, request, capture_id):
        with self.lock:
            capture = self.captures.get(capture_id)
            if capture is None:
                return resource_not_found("capture_id", capture_id)
            return json_response(200, capture)

    def refund_capture(self, request, capture_id):
        try:
            body = request.json() if request.body else {}
        except ValueError:
            return error(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "", "body")
        request_id = request.headers.get("paypal-request-id")
        with self.lock:
            replay = self.registry("idempotency").get(("refund", capture_id, request_id)) if request_id else None
            if replay:
                return json_response(200, replay)
            if capture_id not in self.captures:
                return resource_not_found("capture_id", capture_id)
            if self.next_refund_error:
                issue, self.next_refund_error = self.next_refund_error, None
                return unprocessable(issue, "Refund is not allowed for this capture.")
            refund = self._refund(capture_id, body.get("amount"), self.refund_status)
            if isinstance(refund, Response):
                return refund
            full = json.loads(dumps(refund))
            answer = full if "return=representation" in request.headers.get("prefer", "") else \
                {k: full[k] for k in ("id", "status", "links")}
            if request_id:
                self.registry("idempotency")[("refund", capture_id, request_id)] = answer
        self._emit_refund("PAYMENT.CAPTURE.REFUNDED", refund, "refunded")
        return json_response(201, answer)

    def get_refund(self, request, refund_id):
        with self.lock:
            refund = self.refunds.get(refund_id)
            if refund is None:
                return resource_not_found("refund_id", refund_id)
            return json_response(200, {k: v for k, v in refund.items() if k != "capture_id"})

    def refund_in_dashboard(self, capture_id, amount=None):
        """The merchant refunds in PayPal's own pages: only the webhook tells us."""
        with self.lock:
            refund = self._refund(capture_id, amount and {
                "currency_code": self.captures[capture_id]["amount"]["currency_code"],
                "value": from_minor(amount, self.captures[capture_id]["amount"]["currency_code"])}, "COMPLETED")
        return self._emit_refund("PAYMENT.CAPTURE.REFUNDED", refund, "refunded")

    def reverse(self, capture_id):
        """PayPal takes the whole capture back (a chargeback, or a dispute the buyer won)."""
        with self.lock:
            refund = self._refund(capture_id, None, "COMPLETED", note="Payment reversed")
            self.captures[capture_id]["status"] = "REVERSED"
        return self._emit_refund("PAYMENT.CAPTURE.REVERSED", refund, "reversed")

    def _emit_refund(self, event_type, refund, verb):
        if event_type not in self.event_types:
            return None
        amount = refund["amount"]
        return self.emit(self.event(event_type, json.loads(dumps(refund)), "refund",
                                    f"A {amount['currency_code']} {amount['value']} {amount['currency_code']} "
                                    f"capture payment was {verb}"))

    def _refund(self, capture_id, amount, status, note=None):
        """Refund part or all of a capture (lock held); a 422 Response when PayPal would refuse."""
        capture = self.captures[capture_id]
        currency = capture["amount"]["currency_code"]
        gross = to_minor(capture["amount"]["value"], currency)
        done = sum(to_minor(r["amount"]["value"], currency) for r in self.refunds.values()
                   if r["capture_id"] == capture_id and r["status"] != "FAILED")
        left = gross - done
        if left <= 0:
            return unprocessable("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded")
        if amount is not None and amount.get("currency_code") != currency:
            return unprocessable("REFUND_CAPTURE_CURRENCY_MISMATCH",
                                 "Refund must be in the same currency as the capture")
        value = left if amount is None else to_minor(str(amount.get("value")), currency)
        if value > left:
            return unprocessable("REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to "
                                 "the capture amount that has not yet been refunded.")
        now = utc_now()
        refund_id = random_id(17)
        fee = 0 if value < gross else to_minor(
            capture["seller_receivable_breakdown"]["paypal_fee"]["value"], currency)
        refund = {
            "id": refund_id, "amount": {"currency_code": currency, "value": from_minor(value, currency)},
            "seller_payable_breakdown": {
                "gross_amount": {"currency_code": currency, "value": from_minor(value, currency)},
                "paypal_fee": {"currency_code": currency, "value": from_minor(fee, currency)},
                "net_amount": {"currency_code": currency, "value": from_minor(value - fee, currency)},
                "total_refunded_amount": {"currency_code": currency, "value": from_minor(done + value, currency)}},
            **{k: capture[k] for k in ("custom_id", "invoice_id") if k in capture},
            **({"note_to_payer": note} if note else {}),
            "status": status, "create_time": now, "update_time": now,
            "links": [{"href": self.url(f"/v2/payments/refunds/{refund_id}"), "rel": "self", "method": "GET"},
                      {"href": self.url(f"/v2/payments/captures/{capture_id}"), "rel": "up", "method": "GET"}]}
        self.store("refunds", {**refund, "capture_id": capture_id})
        capture["status"] = "REFUNDED" if done + value >= gross else "PARTIALLY_REFUNDED"
        return refund

    def verify_webhook_signature(self, request):
        """PayPal's verification API, computed for real with the fake's key."""
        try:
            body = request.json()
        except ValueError:
            return error(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "", "body")
        fields = ["auth_algo", "cert_url", "transmission_id", "transmission_sig",
                  "transmission_time", "webhook_id", "webhook_event"]
        missing = [f for f in fields if not body.get(f)]
        if missing:
            return json_response(400, {
                "name": "VALIDATION_ERROR", "message": "Invalid request - see details",
                "debug_id": random_id(13).lower(),
                "details": [{"field": f, "location": "body", "issue": "must not be null"}
                            for f in missing]})
        # PayPal checks the CRC32 of the event's bytes as the caller sends them: only a caller
        # that passes the body it received unchanged (not parsed and serialised again) verifies.
        candidates = [raw_member(request.body, "webhook_event")]
        try:
            signature = base64.b64decode(body["transmission_sig"], validate=True)
        except ValueError:
            signature = b""
        ok = (body["auth_algo"] == AUTH_ALGO and body["cert_url"] == self.cert_url and any(
            self.key.verify(transmission_message(body["transmission_id"], body["transmission_time"],
                                                 body["webhook_id"], candidate), signature)
            for candidate in candidates))
        return json_response(200, {"verification_status": "SUCCESS" if ok else "FAILURE"})

    @public
    def checkout_page(self, request):
        order_id = request.query.get("token", "")
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return html_response(404, "PayPal", "<h1 id=\"error\">This order does not exist.</h1>")
            unit = order["purchase_units"][0]
            amount = f"{unit['amount']['value']} {unit['amount']['currency_code']}"
            if order["status"] not in ("CREATED", "PAYER_ACTION_REQUIRED"):
                return html_response(200, "PayPal", f"<h1 id=\"status\">Order {html.escape(order_id)}"
                                     f" is {html.escape(order['status'])}.</h1>")
        page = (f"<h1>Pay with PayPal (fake)</h1>"
                f"<p id=\"amount\">{html.escape(amount)}</p>"
                f"<p id=\"description\">{html.escape(unit.get('description', ''))}</p>"
                f"<form method=\"post\" action=\"/checkoutnow\">"
                f"<input type=\"hidden\" name=\"token\" value=\"{html.escape(order_id)}\">"
                f"<button id=\"approve\" name=\"action\" value=\"approve\">Approve</button> "
                f"<button id=\"cancel\" name=\"action\" value=\"cancel\">Cancel</button></form>")
        return html_response(200, "PayPal", page)

    @public
    def checkout_decide(self, request):
        form = request.form()
        order_id = form.get("token", "")
        event = None
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return html_response(404, "PayPal", "<h1 id=\"error\">This order does not exist.</h1>")
            meta = self._meta.get(order_id, {})
            if form.get("action") == "cancel":
                target = meta.get("cancel_url")
                if not target:
                    return html_response(200, "PayPal", "<h1 id=\"status\">Cancelled.</h1>")
                return redirect(add_query(target, token=order_id))
            if order["status"] not in ("CREATED", "PAYER_ACTION_REQUIRED"):
                return html_response(409, "PayPal", f"<h1 id=\"status\">Order is "
                                     f"{html.escape(order['status'])}.</h1>")
            self._approve(order)
            if "CHECKOUT.ORDER.APPROVED" in self.event_types:
                event = self.event("CHECKOUT.ORDER.APPROVED", json.loads(dumps(order)),
                                   "checkout-order", "An order has been approved by buyer")
            target = meta.get("return_url")
        if event:
            self.emit(event)
        if not target:
            return html_response(200, "PayPal", "<h1 id=\"status\">Approved.</h1>")
        return redirect(add_query(target, token=order_id, PayerID=self.payer["payer_id"]))

    # -- state changes (called with the lock held) --------------------------------------------
    def _new_order(self, body):
        order_id = random_id(17)
        now = utc_now()
        wallet = (body.get("payment_source") or {}).get("paypal")
        context = (wallet or {}).get("experience_context") or body.get("application_context") or {}
        units = []
        for unit in body["purchase_units"]:
            kept = {k: unit[k] for k in ("reference_id", "description", "custom_id", "invoice_id",
                                           "soft_descriptor", "items", "shipping") if k in unit}
            units.append({"reference_id": kept.pop("reference_id", "default"),
                          "amount": unit["amount"],
                          "payee": {"email_address": "merchant@example.com",
                                    "merchant_id": self.merchant_id},
                          **kept})
        order = {"id": order_id, "intent": body["intent"],
                 "status": "PAYER_ACTION_REQUIRED" if wallet is not None else "CREATED"}
        if wallet is not None:
            order["payment_source"] = {"paypal": {}}
        order.update({"purchase_units": units, "create_time": now, "update_time": now})
        order["links"] = self._links(order, payer_action=wallet is not None)
        meta = {"return_url": context.get("return_url"), "cancel_url": context.get("cancel_url"),
                "payer_action": wallet is not None}
        return order, meta

    def _links(self, order, payer_action):
        order_id = order["id"]
        links = [{"href": self.url(f"/v2/checkout/orders/{order_id}"), "rel": "self",
                  "method": "GET"}]
        checkout = {"href": self.url(f"/checkoutnow?token={order_id}"),
                    "rel": "payer-action" if payer_action else "approve", "method": "GET"}
        if order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"):
            links.append(checkout)
        if order["status"] != "COMPLETED" and not payer_action:
            links += [{"href": self.url(f"/v2/checkout/orders/{order_id}"), "rel": "update",
                       "method": "PATCH"},
                      {"href": self.url(f"/v2/checkout/orders/{order_id}/capture"),
                       "rel": "capture", "method": "POST"}]
        return links

    def _approve(self, order):
        payer = json.loads(json.dumps(self.payer))
        order["status"] = "APPROVED"
        order["payer"] = payer
        order["payment_source"] = {"paypal": {
            "email_address": payer["email_address"], "account_id": payer["payer_id"],
            "account_status": "VERIFIED", "name": payer["name"], "address": payer["address"]}}
        order["update_time"] = utc_now()
        order["links"] = self._links(order, self._meta.get(order["id"], {}).get("payer_action"))

    def _capture(self, order):
        unit = order["purchase_units"][0]
        amount = unit["amount"]
        currency = amount["currency_code"]
        now = utc_now()
        capture_id = random_id(17)
        gross = to_minor(amount["value"], currency)
        fee = min(gross, round(gross * 349 / 10000) + (49 if currency not in ZERO_DECIMAL else 40))
        capture = {
            "id": capture_id, "status": "COMPLETED",
            "amount": {"currency_code": currency, "value": amount["value"]},
            "final_capture": True,
            "seller_protection": {"status": "ELIGIBLE",
                                  "dispute_categories": ["ITEM_NOT_RECEIVED",
                                                         "UNAUTHORIZED_TRANSACTION"]},
            "seller_receivable_breakdown": {
                "gross_amount": {"currency_code": currency, "value": amount["value"]},
                "paypal_fee": {"currency_code": currency, "value": from_minor(fee, currency)},
                "net_amount": {"currency_code": currency, "value": from_minor(gross - fee, currency)}},
            **{k: unit[k] for k in ("custom_id", "invoice_id") if k in unit},
            "links": [
                {"href": self.url(f"/v2/payments/captures/{capture_id}"), "rel": "self",
                 "method": "GET"},
                {"href": self.url(f"/v2/payments/captures/{capture_id}/refund"), "rel": "refund",
                 "method": "POST"},
                {"href": self.url(f"/v2/checkout/orders/{order['id']}"), "rel": "up",
                 "method": "GET"}],
            "create_time": now, "update_time": now,
        }
        unit["payments"] = {"captures": [capture]}
        order["status"] = "COMPLETED"
        order["update_time"] = now
        order["links"] = self._links(order, True)
        self.store("captures", capture)
        return capture

    def _representation(self, order, request, minimal):
        """PayPal answers `Prefer: return=minimal` unless asked for the representation."""
        if "return=representation" in request.headers.get("prefer", ""):
            return json.loads(dumps(order))
        return json.loads(dumps(minimal(order)))


def minimal_order(order):
    return {k: order[k] for k in ("id", "status", "payment_source", "links") if k in order}


def minimal_capture(order):
    answer = {k: order[k] for k in ("id", "status", "payment_source") if k in order}
    answer["purchase_units"] = [{"reference_id": u["reference_id"], "payments": u["payments"]}
                                for u in order["purchase_units"] if "payments" in u]
    answer["payer"] = order.get("payer")
    answer["links"] = order["links"]
    return answer


# -- errors ------------------------------------------------------------------------------------
MESSAGES = {
    "INVALID_REQUEST": "Request is not well-formed, syntactically incorrect, or violates schema.",
    "UNPROCESSABLE_ENTITY": "The requested action could not be performed, semantically "
                            "incorrect, or failed business validation.",
    "RESOURCE_NOT_FOUND": "The specified resource does not exist.",
}


def error(status, name, issue, field, location, description="", value=None):
    detail = {"field": field, "location": location, "issue": issue}
    if value is not None:
        detail["value"] = value
    if description:
        detail["description"] = description
    if not field:
        detail.pop("field")
    return json_response(status, {
        "name": name, "message": MESSAGES[name], "debug_id": random_id(13).lower(),
        "details": [detail],
        "links": [{"href": "https://developer.paypal.com/api/rest/reference/orders/v2/errors/#"
                           + issue, "rel": "information_link", "method": "GET"}]})


def unprocessable(issue, description):
    return error(422, "UNPROCESSABLE_ENTITY", issue, "", "body", description)


def resource_not_found(field, value):
    return error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", field, "path",
                 "Specified resource ID does not exist. Please check the resource ID and try "
                 "again.", value)


def validate_order_request(body):
    """PayPal's checks on a create-order body that an app can get wrong; None when it is fine."""
    if body.get("intent") not in ("CAPTURE", "AUTHORIZE"):
        return error(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER" if "intent" not in body
                     else "INVALID_PARAMETER_VALUE", "/intent", "body", value=body.get("intent"))
    units = body.get("purchase_units")
    if not isinstance(units, list) or not 1 <= len(units) <= 10:
        return error(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "/purchase_units", "body")
    for i, unit in enumerate(units):
        amount = unit.get("amount") if isinstance(unit, dict) else None
        where = f"/purchase_units/{i}/amount"
        if not isinstance(amount, dict) or "value" not in amount or "currency_code" not in amount:
            return error(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", where, "body")
        currency, value = amount["currency_code"], amount["value"]
        if not (isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)):
            return error(400, "INVALID_REQUEST", "INVALID_PARAMETER_SYNTAX",
                         where + "/currency_code", "body", value=str(currency))
        if not (isinstance(value, str) and re.fullmatch(r"\d{1,10}(\.\d+)?", value)):
            return error(400, "INVALID_REQUEST", "INVALID_PARAMETER_SYNTAX", where + "/value",
                         "body", value=str(value))
        decimals = len(value.partition(".")[2])
        if decimals > (0 if currency in ZERO_DECIMAL else 2):
            return error(422, "UNPROCESSABLE_ENTITY", "DECIMAL_PRECISION", where + "/value",
                         "body", "If the currency supports decimals, only two decimal place "
                         "precision is supported.", value)
        if to_minor(value, currency) <= 0:
            return error(422, "UNPROCESSABLE_ENTITY", "INVALID_PARAMETER_VALUE", where + "/value",
                         "body", "The value of a field is invalid.", value)
        for name, limit in (("custom_id", 127), ("invoice_id", 127), ("reference_id", 256),
                            ("description", 127)):
            if len(str(unit.get(name, ""))) > limit:
                return error(400, "INVALID_REQUEST", "INVALID_STRING_LENGTH",
                             f"/purchase_units/{i}/{name}", "body")
    return None


def to_minor(value, currency):
    whole, _, fraction = value.partition(".")
    places = 0 if currency in ZERO_DECIMAL else 2
    return int(whole) * 10 ** places + int((fraction + "00")[:places] or 0)


def from_minor(amount, currency):
    if currency in ZERO_DECIMAL:
        return str(amount)
    return f"{amount // 100}.{amount % 100:02d}"


def transmission_message(transmission_id, transmission_time, webhook_id, body):
    """What PayPal signs: the CRC32 of the exact body bytes, as an unsigned decimal."""
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()


def raw_member(document, name):
    """The bytes of a top-level member's value in a JSON object, exactly as they were sent."""
    text = document.decode("utf-8")
    decoder, i = json.JSONDecoder(), text.index("{") + 1
    while True:
        while text[i] in " \t\r\n,":
            i += 1
        if text[i] == "}":
            return b""
        key, i = decoder.raw_decode(text, i)
        i = text.index(":", i) + 1
        while text[i] in " \t\r\n":
            i += 1
        start = i
        _value, i = decoder.raw_decode(text, i)
        if key == name:
            return text[start:i].encode("utf-8")


# -- RSA with the standard library ---------------------------------------------------------------
# PKCS #1 v1.5 signatures and a self-signed X.509 certificate, enough for a verifier written
# with `cryptography` or OpenSSL to accept them. Test use only: the primes come from `secrets`,
# but nothing here is hardened against timing attacks.

SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]


def _probably_prime(n, rounds=40):
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits, e):
    while True:
        # The two top bits set make p*q exactly 2*bits long.
        n = secrets.randbits(bits) | (3 << (bits - 2)) | 1
        if math.gcd(e, n - 1) == 1 and _probably_prime(n):
            return n


class RSAKey:
    def __init__(self, bits=2048, e=65537):
        while True:
            p, q = _prime(bits // 2, e), _prime(bits // 2, e)
            if p != q:
                break
        self.n, self.e = p * q, e
        self.d = pow(e, -1, (p - 1) * (q - 1))
        self._crt = (p, q, self.d % (p - 1), self.d % (q - 1), pow(q, -1, p))
        self.size = (self.n.bit_length() + 7) // 8
        self.cert_pem = self_signed_certificate(self)

    def _encoded(self, message):
        digest = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
        return b"\x00\x01" + b"\xff" * (self.size - len(digest) - 3) + b"\x00" + digest

    def sign(self, message):
        m = int.from_bytes(self._encoded(message), "big")
        p, q, dp, dq, qinv = self._crt
        s1, s2 = pow(m, dp, p), pow(m, dq, q)
        s = s2 + q * ((qinv * (s1 - s2)) % p)
        return s.to_bytes(self.size, "big")

    def verify(self, message, signature):
        if len(signature) != self.size:
            return False
        s = int.from_bytes(signature, "big")
        if s >= self.n:
            return False
        return pow(s, self.e, self.n).to_bytes(self.size, "big") == self._encoded(message)

    def public_der(self):
        """SubjectPublicKeyInfo, DER."""
        rsa_public = _seq(_int(self.n), _int(self.e))
        return _seq(_seq(_oid("1.2.840.113549.1.1.1"), b"\x05\x00"), _bitstring(rsa_public))


_KEY = None
_KEY_LOCK = threading.Lock()


def signing_key():
    """The process-wide webhook signing key (made once: a 2048-bit key takes about a second)."""
    global _KEY
    with _KEY_LOCK:
        if _KEY is None:
            _KEY = RSAKey()
        return _KEY


def _der(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def _int(n):
    return _der(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big"))


def _seq(*items):
    return _der(0x30, b"".join(items))


def _set(*items):
    return _der(0x31, b"".join(items))


def _bitstring(data):
    return _der(0x03, b"\x00" + data)


def _oid(dotted):
    numbers = [int(x) for x in dotted.split(".")]
    out = bytes([40 * numbers[0] + numbers[1]])
    for n in numbers[2:]:
        chunk = [n & 0x7F]
        n >>= 7
        while n:
            chunk.append(0x80 | (n & 0x7F))
            n >>= 7
        out += bytes(reversed(chunk))
    return _der(0x06, out)


def _name(common_name, organization):
    return _seq(_set(_seq(_oid("2.5.4.6"), _der(0x13, b"US"))),
                _set(_seq(_oid("2.5.4.10"), _der(0x0C, organization.encode()))),
                _set(_seq(_oid("2.5.4.3"), _der(0x0C, common_name.encode()))))


def _time(moment):
    return _der(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())


def self_signed_certificate(key):
    """A v3 X.509 certificate for `key`, signed by itself, as PEM. The subject is PayPal's real
    webhook-certificate name, because verifiers commonly check it."""
    sha256_rsa = _seq(_oid("1.2.840.113549.1.1.11"), b"\x05\x00")
    name = _name("messageverificationcerts.paypal.com", "Fake PayPal for tests")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    tbs = _seq(
        _der(0xA0, _int(2)),                                   # version 3
        _int(secrets.randbits(63) | 1),
        sha256_rsa,
        name,
        _seq(_time(now - timedelta(days=1)), _time(now + timedelta(days=365))),
        name,
        key.public_der(),
    )
    der = _seq(tbs, sha256_rsa, _bitstring(key.sign(tbs)))
    text = base64.b64encode(der).decode()
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
