"""The PayPal and Square fakes, driven through the official SDKs the app uses, plus plain HTTP
for the buyer's pages and the webhooks."""
import base64
import http.client
import json
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from bs4 import BeautifulSoup
from paypalserversdk.exceptions.error_exception import ErrorException
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.order_application_context import OrderApplicationContext
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.paypal_wallet import PaypalWallet
from paypalserversdk.models.paypal_wallet_experience_context import PaypalWalletExperienceContext
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from square.core.api_error import ApiError
from square.utils.webhooks_helper import verify_signature

from tests.fakes.base import MAX_BODY, MAX_REQUESTS

RETURN_URL = "http://portal.test/pay/paypal/return"
CANCEL_URL = "http://portal.test/pay/paypal/cancel"


# -- helpers -----------------------------------------------------------------------------------
class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps (path, headers lower-cased, body) and
    answers 200."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.received.append(
                        (self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def fetch(method, url, data=None, headers=None):
    """(status, headers, body) without following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def paypal_order(value="12.50", currency="EUR", wallet=True):
    unit = PurchaseUnitRequest(amount=AmountWithBreakdown(currency_code=currency, value=value),
                               custom_id="doc-42", invoice_id="F-2026-0042", reference_id="default")
    if wallet:
        source = PaymentSource(paypal=PaypalWallet(experience_context=PaypalWalletExperienceContext(
            return_url=RETURN_URL, cancel_url=CANCEL_URL)))
        return OrderRequest(intent=CheckoutPaymentIntent.CAPTURE, purchase_units=[unit],
                            payment_source=source)
    return OrderRequest(intent=CheckoutPaymentIntent.CAPTURE, purchase_units=[unit],
                        application_context=OrderApplicationContext(return_url=RETURN_URL,
                                                                    cancel_url=CANCEL_URL))


def paypal_token(fake):
    basic = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
    status, _, body = fetch("POST", fake.url("/v1/oauth2/token"), b"grant_type=client_credentials",
                           {"Authorization": f"Basic {basic}",
                            "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    return json.loads(body)["access_token"]


def verify_with_api(fake, token, headers, event, webhook_id=None):
    """Ask the fake's verify-webhook-signature API about received (lower-cased) headers, with the
    event as bytes (passed on unchanged, as PayPal needs) or as an object (serialised again)."""
    payload = {"auth_algo": headers["paypal-auth-algo"], "cert_url": headers["paypal-cert-url"],
               "transmission_id": headers["paypal-transmission-id"],
               "transmission_sig": headers["paypal-transmission-sig"],
               "transmission_time": headers["paypal-transmission-time"],
               "webhook_id": webhook_id or fake.webhook_id}
    raw = event if isinstance(event, bytes) else json.dumps(event, indent=2).encode()
    request = json.dumps(payload, indent=2).encode()[:-2] + b',\n  "webhook_event": ' + raw + b"\n}"
    status, _, body = fetch("POST", fake.url("/v1/notifications/verify-webhook-signature"), request,
                           {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert status == 200
    return json.loads(body)["verification_status"]


def approved_order(fake, client):
    order = client.orders.create_order({"body": paypal_order()}).body
    assert fake.approve(order.id)[0] == 303
    return order


# -- PayPal ------------------------------------------------------------------------------------
def test_paypal_checkout_through_the_sdk(paypal_fake):
    client = paypal_fake.sdk_client()
    created = client.orders.create_order({"body": paypal_order()})
    order = created.body
    assert created.status_code == 201
    assert order.status == "PAYER_ACTION_REQUIRED"
    [payer_action] = [link.href for link in order.links if link.rel == "payer-action"]
    assert payer_action == paypal_fake.url(f"/checkoutnow?token={order.id}")

    status, _, page = fetch("GET", payer_action)
    doc = BeautifulSoup(page, "html.parser")
    assert status == 200 and doc.find(id="amount").text == "12.50 EUR"
    form = doc.find("form")
    assert form["method"] == "post" and doc.find("input", {"name": "token"})["value"] == order.id
    button = doc.find(id="approve")
    status, headers, _ = fetch("POST", paypal_fake.url(form["action"]), urllib.parse.urlencode(
        {"token": order.id, button["name"]: button["value"]}).encode())
    assert status == 303
    assert headers["Location"] == f"{RETURN_URL}?token={order.id}&PayerID=FAKEPAYER0001"
    assert client.orders.get_order({"id": order.id}).body.status == "APPROVED"

    captured = client.orders.capture_order({"id": order.id, "paypal_request_id": "cap-1"})
    assert captured.status_code == 201 and captured.body.status == "COMPLETED"
    [capture] = captured.body.purchase_units[0].payments.captures
    assert (capture.status, capture.amount.value, capture.amount.currency_code) == \
        ("COMPLETED", "12.50", "EUR")
    assert capture.custom_id == "doc-42" and capture.invoice_id == "F-2026-0042"

    fetched = client.orders.get_order({"id": order.id}).body
    assert fetched.status == "COMPLETED" and fetched.payer.payer_id == "FAKEPAYER0001"
    assert fetched.purchase_units[0].payments.captures[0].id == capture.id
    assert client.payments.get_captured_payment({"capture_id": capture.id}).body.status == \
        "COMPLETED"


def test_paypal_create_order_is_idempotent_on_request_id(paypal_fake):
    client = paypal_fake.sdk_client()
    first = client.orders.create_order({"body": paypal_order(), "paypal_request_id": "doc-42-a"})
    again = client.orders.create_order({"body": paypal_order(), "paypal_request_id": "doc-42-a"})
    other = client.orders.create_order({"body": paypal_order(), "paypal_request_id": "doc-42-b"})
    assert again.body.id == first.body.id and again.status_code == 200
    assert other.body.id != first.body.id
    assert len(paypal_fake.orders) == 2


def test_paypal_capture_refuses_unapproved_and_second_captures(paypal_fake):
    client = paypal_fake.sdk_client()
    order = client.orders.create_order({"body": paypal_order()}).body
    with pytest.raises(ErrorException) as refused:
        client.orders.capture_order({"id": order.id})
    assert refused.value.response_code == 422 and refused.value.name == "UNPROCESSABLE_ENTITY"
    assert refused.value.details[0].issue == "ORDER_NOT_APPROVED"

    paypal_fake.approve(order.id)
    first = client.orders.capture_order({"id": order.id, "paypal_request_id": "cap-42"}).body
    replay = client.orders.capture_order({"id": order.id, "paypal_request_id": "cap-42"}).body
    assert replay.purchase_units[0].payments.captures[0].id == \
        first.purchase_units[0].payments.captures[0].id
    with pytest.raises(ErrorException) as twice:
        client.orders.capture_order({"id": order.id, "paypal_request_id": "cap-43"})
    assert twice.value.details[0].issue == "ORDER_ALREADY_CAPTURED"
    assert len(paypal_fake.captures) == 1


def test_paypal_declined_capture_on_request(paypal_fake):
    client = paypal_fake.sdk_client()
    order = approved_order(paypal_fake, client)
    paypal_fake.next_capture_error = "INSTRUMENT_DECLINED"
    with pytest.raises(ErrorException) as declined:
        client.orders.capture_order({"id": order.id})
    assert declined.value.details[0].issue == "INSTRUMENT_DECLINED"
    # The payer must approve again (with another funding source) before a capture succeeds.
    with pytest.raises(ErrorException) as again:
        client.orders.capture_order({"id": order.id})
    assert again.value.details[0].issue == "ORDER_NOT_APPROVED"
    assert paypal_fake.approve(order.id)[0] == 303
    assert client.orders.capture_order({"id": order.id}).body.status == "COMPLETED"


def test_paypal_legacy_application_context_and_cancel(paypal_fake):
    client = paypal_fake.sdk_client()
    order = client.orders.create_order({"body": paypal_order(wallet=False)}).body
    assert order.status == "CREATED"
    assert {link.rel for link in order.links} == {"self", "approve", "update", "capture"}
    assert paypal_fake.cancel(order.id) == (303, f"{CANCEL_URL}?token={order.id}")
    assert client.orders.get_order({"id": order.id}).body.status == "CREATED"


def test_paypal_wrong_credentials_get_no_token(paypal_fake):
    client = paypal_fake.sdk_client(client_secret="wrong")
    with pytest.raises(AuthValidationException):
        client.orders.create_order({"body": paypal_order()})
    assert paypal_fake.orders == {}
    basic = base64.b64encode(b"fake-paypal-client-id:wrong").decode()
    status, _, body = fetch("POST", paypal_fake.url("/v1/oauth2/token"),
                           b"grant_type=client_credentials", {"Authorization": f"Basic {basic}"})
    assert status == 401 and json.loads(body)["error"] == "invalid_client"
    status, _, body = fetch("GET", paypal_fake.url("/v2/checkout/orders/X"),
                           headers={"Authorization": "Bearer made-up"})
    assert status == 401 and json.loads(body)["error"] == "invalid_token"


@pytest.mark.parametrize("value, status, issue", [
    ("12.345", 422, "DECIMAL_PRECISION"),
    ("12,50", 400, "INVALID_PARAMETER_SYNTAX"),
    ("0.00", 422, "INVALID_PARAMETER_VALUE"),
])
def test_paypal_refuses_bad_amounts(paypal_fake, value, status, issue):
    with pytest.raises(ErrorException) as refused:
        paypal_fake.sdk_client().orders.create_order({"body": paypal_order(value=value)})
    assert refused.value.response_code == status
    assert refused.value.details[0].issue == issue
    assert paypal_fake.orders == {}


def test_paypal_webhook_is_signed_like_paypal(paypal_fake, receiver):
    paypal_fake.webhook_url = receiver.url
    client = paypal_fake.sdk_client()
    order = approved_order(paypal_fake, client)
    capture = client.orders.capture_order({"id": order.id}).body.purchase_units[0].payments.captures[0]
    paypal_fake.flush()
    [(_, headers, body)] = receiver.received
    event = json.loads(body)
    assert event["event_type"] == "PAYMENT.CAPTURE.COMPLETED" and event["id"].startswith("WH-")
    assert event["resource"]["id"] == capture.id and event["resource"]["custom_id"] == "doc-42"
    assert event["resource"]["supplementary_data"]["related_ids"]["order_id"] == order.id
    assert headers["paypal-auth-algo"] == "SHA256withRSA"
    assert headers["paypal-cert-url"] == paypal_fake.cert_url

    # The documented API, with the right webhook id, then a wrong one, then a tampered event.
    token = paypal_token(paypal_fake)
    assert verify_with_api(paypal_fake, token, headers, body) == "SUCCESS"
    assert verify_with_api(paypal_fake, token, headers, body, webhook_id="OTHER") == "FAILURE"
    tampered = {**event, "resource": {**event["resource"], "custom_id": "doc-43"}}
    assert verify_with_api(paypal_fake, token, headers, tampered) == "FAILURE"
    # The same event serialised again is other bytes: PayPal (and so the fake) says no.
    assert verify_with_api(paypal_fake, token, headers, event) == "FAILURE"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_paypal_signature_checks_out_with_openssl(paypal_fake, tmp_path):
    """An independent verifier (OpenSSL) accepts the certificate and the signature."""
    status, _, pem = fetch("GET", paypal_fake.cert_url)
    assert status == 200 and pem.startswith(b"-----BEGIN CERTIFICATE-----")
    (tmp_path / "cert.pem").write_bytes(pem)
    subject = subprocess.run(["openssl", "x509", "-in", tmp_path / "cert.pem", "-noout",
                              "-subject"], capture_output=True, text=True, check=True).stdout
    assert "CN = messageverificationcerts.paypal.com" in subject
    public = subprocess.run(["openssl", "x509", "-in", tmp_path / "cert.pem", "-noout", "-pubkey"],
                            capture_output=True, check=True).stdout
    (tmp_path / "pub.pem").write_bytes(public)

    body = b'{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED"}'
    headers = paypal_fake.sign(body)

    def openssl_verifies(message):
        (tmp_path / "msg").write_bytes(message)
        (tmp_path / "sig").write_bytes(base64.b64decode(headers["PAYPAL-TRANSMISSION-SIG"]))
        return subprocess.run(["openssl", "dgst", "-sha256", "-verify", tmp_path / "pub.pem",
                               "-signature", tmp_path / "sig", tmp_path / "msg"],
                              capture_output=True).returncode == 0
    # PayPal's documented message: transmission id|time|webhook id|CRC32 of the body, decimal.
    prefix = f"{headers['PAYPAL-TRANSMISSION-ID']}|{headers['PAYPAL-TRANSMISSION-TIME']}|"
    assert openssl_verifies(f"{prefix}{paypal_fake.webhook_id}|{zlib.crc32(body)}".encode())
    assert not openssl_verifies(f"{prefix}WRONG|{zlib.crc32(body)}".encode())
    assert not openssl_verifies(f"{prefix}{paypal_fake.webhook_id}|{zlib.crc32(body + b' ')}".encode())


def test_paypal_same_event_delivered_twice_at_once(paypal_fake, receiver):
    paypal_fake.webhook_url = receiver.url
    client = paypal_fake.sdk_client()
    order = approved_order(paypal_fake, client)
    client.orders.capture_order({"id": order.id})
    paypal_fake.flush()
    msg = paypal_fake.outbox[-1]
    assert paypal_fake.deliver(msg, times=2, concurrent=True) == [(200, b""), (200, b"")]
    assert [body for _, _, body in receiver.received] == [msg.body] * 3
    assert len({h["paypal-transmission-sig"] for _, h, _ in receiver.received}) == 1


def test_paypal_events_wait_in_the_outbox_without_a_webhook_url(paypal_fake):
    paypal_fake.event_types.add("CHECKOUT.ORDER.APPROVED")
    client = paypal_fake.sdk_client()
    order = approved_order(paypal_fake, client)
    client.orders.capture_order({"id": order.id})
    approved, msg = paypal_fake.outbox
    assert approved.event["event_type"] == "CHECKOUT.ORDER.APPROVED"
    assert approved.event["resource"]["id"] == order.id
    assert msg.event["resource"]["supplementary_data"]["related_ids"]["order_id"] == order.id
    assert msg.results == []
    with pytest.raises(ValueError):
        paypal_fake.deliver(msg, url="http://example.com/hooks")


# -- Square ------------------------------------------------------------------------------------
def square_link(fake, client, key="doc-42-try-1", amount=1250, **extra):
    return client.checkout.payment_links.create(
        idempotency_key=key,
        quick_pay={"name": "Invoice F-2026-0042", "price_money": {"amount": amount,
                                                                   "currency": "EUR"},
                   "location_id": fake.location_id},
        checkout_options={"redirect_url": "http://portal.test/pay/square/return?doc=42"},
        payment_note="F-2026-0042", **extra)


def test_square_checkout_through_the_sdk(square_fake):
    client = square_fake.sdk_client()
    created = square_link(square_fake, client)
    link = created.payment_link
    [order] = created.related_resources.orders
    assert link.order_id == order.id and order.total_money.amount == 1250
    assert link.url == square_fake.url(f"/pay/{link.id}")

    status, _, page = fetch("GET", link.url)
    doc = BeautifulSoup(page, "html.parser")
    assert status == 200 and doc.find(id="total").text == "1250 EUR"
    form, button = doc.find("form"), doc.find(id="pay")
    status, headers, _ = fetch("POST", square_fake.url(form["action"]),
                              urllib.parse.urlencode({button["name"]: button["value"]}).encode())
    assert status == 303
    location = urllib.parse.urlsplit(headers["Location"])
    assert location.path == "/pay/square/return"
    assert urllib.parse.parse_qs(location.query) == {
        "doc": ["42"], "checkoutId": [link.id], "orderId": [order.id], "transactionId": [order.id]}

    [payment] = list(client.payments.list())
    assert (payment.status, payment.order_id, payment.note) == ("COMPLETED", order.id, "F-2026-0042")
    assert payment.amount_money.amount == 1250 and payment.amount_money.currency == "EUR"
    assert client.payments.get(payment_id=payment.id).payment.status == "COMPLETED"
    fetched = client.orders.get(order_id=order.id).order
    # A paid link order stays OPEN (Square), with the tender and nothing left due.
    assert fetched.state == "OPEN" and fetched.tenders[0].payment_id == payment.id
    assert fetched.net_amount_due_money.amount == 0
    assert [o.id for o in client.orders.batch_get(order_ids=[order.id, "nope"]).orders] == [order.id]

    # Paying again takes no second payment.
    status, _, page = fetch("POST", square_fake.url(form["action"]), b"action=pay")
    assert status == 200 and BeautifulSoup(page, "html.parser").find(id="paid")
    assert len(square_fake.payments) == 1


def test_square_payment_link_is_idempotent(square_fake):
    client = square_fake.sdk_client()
    first = square_link(square_fake, client).payment_link
    again = square_link(square_fake, client).payment_link
    assert again.id == first.id and again.order_id == first.order_id
    with pytest.raises(ApiError) as reused:
        square_link(square_fake, client, amount=999)
    assert reused.value.status_code == 400
    assert reused.value.body["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert square_link(square_fake, client, key="doc-42-try-2").payment_link.id != first.id
    assert len(square_fake.links) == 2


def test_square_order_checkout_with_reference(square_fake):
    client = square_fake.sdk_client()
    created = client.checkout.payment_links.create(
        idempotency_key="o-1",
        order={"location_id": square_fake.location_id, "reference_id": "doc-42",
               "line_items": [{"name": "Widget", "quantity": "3",
                               "base_price_money": {"amount": 200, "currency": "EUR"}}]})
    assert created.related_resources.orders[0].total_money.amount == 600
    assert square_fake.pay_link(created.payment_link.id) == (200, None)   # no redirect_url
    [payment] = square_fake.payments.values()
    assert "reference_id" not in payment and payment["amount_money"]["amount"] == 600   # the order has it
    assert square_fake.orders[payment["order_id"]]["reference_id"] == "doc-42"
    found = client.orders.search(location_ids=[square_fake.location_id],
                                 query={"sort": {"sort_field": "CREATED_AT", "sort_order": "DESC"}}).orders
    assert [o.reference_id for o in found] == ["doc-42"]


@pytest.mark.parametrize("quick_pay, status, code", [
    ({"name": "", "price_money": {"amount": 100, "currency": "EUR"}}, 400,
     "MISSING_REQUIRED_PARAMETER"),
    ({"name": "x", "price_money": {"amount": 0, "currency": "EUR"}}, 400, "INVALID_VALUE"),
    ({"name": "x", "price_money": {"amount": 100, "currency": "EUR"}, "location_id": "LOTHER"},
     404, "NOT_FOUND"),
])
def test_square_refuses_bad_links(square_fake, quick_pay, status, code):
    quick_pay = {"location_id": square_fake.location_id, **quick_pay}
    with pytest.raises(ApiError) as refused:
        square_fake.sdk_client().checkout.payment_links.create(idempotency_key="k",
                                                                quick_pay=quick_pay)
    assert refused.value.status_code == status
    assert refused.value.body["errors"][0]["code"] == code
    assert square_fake.links == {}


def test_square_needs_the_access_token(square_fake):
    with pytest.raises(ApiError) as refused:
        square_fake.sdk_client(token="wrong").payments.get(payment_id="x")
    assert refused.value.status_code == 401
    assert refused.value.body["errors"][0]["category"] == "AUTHENTICATION_ERROR"


def test_square_lists_payments_by_page_and_time(square_fake):
    client = square_fake.sdk_client()
    for i in range(3):
        square_fake.pay_link(square_link(square_fake, client, key=f"k{i}").payment_link.id)
    pager = client.payments.list(limit=2)
    assert len(pager.items) == 2 and pager.has_next
    assert len({p.id for p in pager}) == 3
    assert list(client.payments.list(begin_time="2999-01-01T00:00:00Z")) == []
    assert len(list(client.payments.list(begin_time="2000-01-01T00:00:00Z"))) == 3


def test_square_webhooks_are_signed_like_square(square_fake, receiver):
    square_fake.webhook_url = receiver.url
    square_fake.notification_url = "https://portal.example/payments/square/webhook"
    client = square_fake.sdk_client()
    link = square_link(square_fake, client).payment_link
    square_fake.pay_link(link.id)
    square_fake.flush()
    assert len(receiver.received) == 2
    received = sorted(receiver.received, key=lambda r: json.loads(r[2])["type"])
    events = [json.loads(body) for _, _, body in received]
    assert [(e["type"], e["data"]["object"]["payment"]["status"]) for e in events] == \
        [("payment.created", "APPROVED"), ("payment.updated", "COMPLETED")]
    assert events[1]["data"]["object"]["payment"]["order_id"] == link.order_id
    assert len({e["event_id"] for e in events}) == 2
    for _, headers, body in received:
        signature = headers["x-square-hmacsha256-signature"]
        check = dict(request_body=body.decode(), signature_header=signature,
                     signature_key=square_fake.signature_key,
                     notification_url=square_fake.notification_url)
        assert verify_signature(**check)
        assert not verify_signature(**{**check, "signature_key": "another-key"})
        assert not verify_signature(**{**check, "notification_url": receiver.url})
        assert not verify_signature(**{**check, "request_body": body.decode().replace(
            "1250", "1")})


def test_square_deliver_tampered_and_twice(square_fake, receiver):
    square_fake.webhook_url = receiver.url
    event = square_fake.event("payment.updated", "payment", {"id": "P1", "status": "COMPLETED"})
    msg = square_fake.message(event, body=json.dumps(event).encode().replace(b"P1", b"P2"))
    assert square_fake.deliver(msg, times=2, concurrent=True) == [(200, b""), (200, b"")]
    (_, headers, body), _ = receiver.received
    signature = headers["x-square-hmacsha256-signature"]
    assert b'"P2"' in body
    # The signature covers the body given, so a tampered body is signed as sent ...
    assert verify_signature(request_body=body.decode(), signature_header=signature,
                            signature_key=square_fake.signature_key, notification_url=receiver.url)
    # ... and a signature for one body does not fit another.
    forged = square_fake.message(event, headers={"x-square-hmacsha256-signature": square_fake.sign(
        b"{}")})
    assert not verify_signature(request_body=forged.text, signature_header=forged.headers[
        "x-square-hmacsha256-signature"], signature_key=square_fake.signature_key,
        notification_url=receiver.url)


# -- both --------------------------------------------------------------------------------------
def test_fakes_record_requests_reset_and_stay_bounded(square_fake):
    client = square_fake.sdk_client()
    square_link(square_fake, client)
    recorded = square_fake.requests[-1]
    assert (recorded.method, recorded.path) == ("POST", "/v2/online-checkout/payment-links")
    assert recorded.headers["authorization"] == f"Bearer {square_fake.access_token}"
    assert recorded.json()["idempotency_key"] == "doc-42-try-1"
    # A body over the limit is refused from its Content-Length, before it is read.
    conn = http.client.HTTPConnection("127.0.0.1", square_fake.port, timeout=10)
    conn.putrequest("POST", "/v2/online-checkout/payment-links")
    conn.putheader("Content-Length", str(MAX_BODY + 1))
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()
    square_fake.reset()
    assert square_fake.links == {} and square_fake.orders == {} and len(square_fake.requests) == 0
    for _ in range(MAX_REQUESTS + 5):
        square_fake.handle(recorded)
    assert len(square_fake.requests) == MAX_REQUESTS
    assert square_fake.base_url.startswith("http://127.0.0.1:")
