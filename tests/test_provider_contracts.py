"""Contract tests: our gateway parsers and our fakes against what Stripe, PayPal and Square
publish (tests/fakes/recorded/<provider>/, each file's source in its SOURCES.md).

Two directions:
- the parsers (session_outcome, event_outcome, refund_outcome, parse_webhook...) read the
  recorded payloads and must say what the provider means (status, amount, currency, refs);
- every object a fake serves or emits has the shape of the recorded one: each key the fake
  sends exists in the provider's object with the same JSON type (same_shape). A key the
  provider's samples happen to leave out is allowed only when the provider's published schema
  defines it (SCHEMA_ONLY, checked against the schema's property names kept beside the fixtures).
"""
import base64
import copy
import hashlib
import hmac
import json
import time
import urllib.parse
from pathlib import Path

import pytest
from werkzeug.datastructures import Headers

from app.payments import (APPROVED, CANCELLED, CHARGEBACK, DISPUTE_OPENED, FAILED, PAID, PENDING, PROCESSING,
                          REFUND, InvalidWebhook)
from app.payments import paypal_gw, paypal_verify, square_gw, stripe_gw
from tests.fakes.base import Request

RECORDED = Path(__file__).parent / "fakes" / "recorded"


def recorded(provider, name):
    return json.loads((RECORDED / provider / name).read_text())


def raw(provider, name):
    return (RECORDED / provider / name).read_bytes()


# -- the shape check -----------------------------------------------------------------------------

def json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


FREE_FORM = {"metadata"}   # maps of the caller's own keys (Stripe metadata, Square order metadata)


def same_shape(fake_obj, recorded_obj, path="", allowed=()):
    """Where the fake's object differs from the recorded one: a list of "path: problem"
    (empty when every key the fake sends exists in the recorded object with the same JSON
    type, recursively). A null on either side matches any type: the providers' nullable
    fields are null in one sample and set in another. `allowed`: paths of keys the samples
    leave out that the provider's schema defines (see SCHEMA_ONLY)."""
    problems = []
    if fake_obj is None or recorded_obj is None:
        return problems
    if json_type(fake_obj) != json_type(recorded_obj):
        return [f"{path or '.'}: {json_type(fake_obj)} where the provider sends {json_type(recorded_obj)}"]
    if isinstance(fake_obj, dict):
        if path.rsplit(".", 1)[-1] in FREE_FORM:
            return problems
        for key, value in fake_obj.items():
            where = f"{path}.{key}" if path else key
            if key not in recorded_obj:
                if where not in allowed:
                    problems.append(f"{where}: not in the provider's object")
                continue
            problems += same_shape(value, recorded_obj[key], where, allowed)
    elif isinstance(fake_obj, list) and recorded_obj:
        for item in fake_obj:
            problems += same_shape(item, recorded_obj[0], path + "[]", allowed)
    return problems


def merged(*objects):
    """One object with every key any of the provider's samples of that kind shows."""
    result = {}
    for obj in objects:
        for key, value in obj.items():
            if isinstance(value, dict) and isinstance(result.get(key), dict):
                result[key] = merged(result[key], value)
            elif isinstance(value, list) and value and isinstance(value[0], dict) \
                    and isinstance(result.get(key), list) and result[key]:
                result[key] = [merged(result[key][0], *value)]
            elif result.get(key) is None:
                result[key] = value
    return result


def allowed(provider, paths):
    """`paths` ({path: schema name}) after checking each leaf key is a property of that schema
    in the provider's published spec (recorded/<provider>/schema_properties.json)."""
    schemas = recorded(provider, "schema_properties.json")
    for path, schema in paths.items():
        leaf = path.rsplit(".", 1)[-1]
        assert leaf in schemas[schema], f"{leaf} is not a property of {provider}'s {schema}"
    return set(paths)


def test_same_shape_finds_what_differs():
    provider = {"id": "x", "amount": 5, "card": {"brand": "visa"}, "items": [{"a": 1}], "maybe": None,
                "metadata": {}}
    assert same_shape({"id": "y", "amount": 7, "card": {}, "items": [], "maybe": "set",
                       "metadata": {"ours": "1"}}, provider) == []
    assert same_shape({"id": 1}, provider) == ["id: number where the provider sends string"]
    assert same_shape({"card": {"brand": "visa", "cvc": "1"}}, provider) == ["card.cvc: not in the provider's object"]
    assert same_shape({"items": [{"a": "1"}]}, provider) == ["items[].a: string where the provider sends number"]
    assert same_shape({"extra": True}, provider, allowed={"extra"}) == []


# -- Stripe: parsers -----------------------------------------------------------------------------

STRIPE_SECRET = "whsec_contract_test_secret"


def stripe_gateway():
    return stripe_gw.StripeGateway({"secret_key": "sk_test_contract", "webhook_secret": STRIPE_SECRET},
                                   "test", {})


def stripe_signed(body, secret=STRIPE_SECRET):
    timestamp = int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={timestamp},v1={mac}"}


def stripe_event(name):
    body = raw("stripe", name)
    return stripe_gateway().parse_webhook(body, stripe_signed(body), "https://portal.example/payments/stripe/webhook")


SESSION = "cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY"
INTENT = "pi_1PgafyB7WZ01zgkWSjxsAJo3"


@pytest.mark.parametrize("name, status", [
    ("event_checkout_session_completed.json", PAID),
    ("event_checkout_session_completed_unpaid.json", PROCESSING),
    ("event_checkout_session_async_payment_succeeded.json", PAID),
    ("event_checkout_session_async_payment_failed.json", FAILED),
    ("event_checkout_session_expired.json", CANCELLED),
])
def test_stripe_checkout_events(name, status):
    event = stripe_event(name)
    outcome = event.outcome
    assert event.kind == recorded("stripe", name)["type"] and event.refund is None
    assert (outcome.ref, outcome.status, outcome.amount, outcome.currency) == (SESSION, status, 2000, "USD")
    assert outcome.claims["reference"] == "42"
    assert outcome.payment_ref == ("" if status == CANCELLED else INTENT)


def test_stripe_webhook_refused_when_one_byte_changes():
    body = raw("stripe", "event_checkout_session_completed.json")
    headers = stripe_signed(body)
    with pytest.raises(InvalidWebhook):
        stripe_gateway().parse_webhook(body.replace(b"2000", b"2001", 1), headers, "")


@pytest.mark.parametrize("name, status", [
    ("checkout_session_open.json", PENDING),
    ("checkout_session_complete_paid.json", PAID),
    ("checkout_session_complete_unpaid.json", PROCESSING),
    ("checkout_session_expired.json", CANCELLED),
])
def test_stripe_session_fetched(name, status):
    outcome = stripe_gw.session_outcome(recorded("stripe", name), "fetch")
    assert (outcome.ref, outcome.status) == (SESSION, status)
    if status != PENDING:
        assert (outcome.amount, outcome.currency) == (2000, "USD")
    else:   # Stripe's fixture of an open session has no amount yet (amount_total null)
        assert (outcome.amount, outcome.currency) == (None, "")


def test_stripe_list_page_says_there_is_more():
    page = recorded("stripe", "checkout_sessions_list.json")
    assert page["has_more"] is True
    assert [stripe_gw.session_outcome(s, "list").status for s in page["data"]] == [PAID, CANCELLED]


@pytest.mark.parametrize("name, status, reason", [
    ("refund_succeeded.json", PAID, ""),
    ("refund_pending.json", PENDING, ""),
    ("refund_failed.json", FAILED, "expired_or_canceled_card"),
])
def test_stripe_refund_answers(name, status, reason):
    refund = stripe_gw.refund_outcome(recorded("stripe", name))
    assert (refund.kind, refund.ref, refund.status, refund.amount, refund.currency, refund.reason) == (
        REFUND, "re_1Pgc72B7WZ01zgkWqPvrRrPE", status, 100, "USD", reason)
    # Stripe's fixture refunds a Charge (payment_intent null): the charge names the payment.
    assert refund.payment_ref == "ch_1PgafuB7WZ01zgkWXYmPNZs8"


@pytest.mark.parametrize("name, status", [
    ("event_refund_created.json", PENDING), ("event_refund_updated.json", PAID), ("event_refund_failed.json", FAILED),
])
def test_stripe_refund_events(name, status):
    event = stripe_event(name)
    assert event.outcome is None
    assert (event.refund.kind, event.refund.status, event.refund.amount) == (REFUND, status, 100)


def test_stripe_dispute_events():
    opened = stripe_event("event_charge_dispute_created.json").refund
    assert (opened.kind, opened.ref, opened.amount, opened.currency, opened.reason) == (
        DISPUTE_OPENED, "dp_1Pgc71B7WZ01zgkWMevJiAUx", 1000, "USD", "general")
    assert opened.payment_ref == "ch_1PgafuB7WZ01zgkWXYmPNZs8"
    lost = stripe_event("event_charge_dispute_closed.json").refund
    assert (lost.kind, lost.amount) == (CHARGEBACK, 1000)


def test_stripe_event_we_do_not_act_on():
    event = stripe_event("event_plan_created.json")
    assert (event.kind, event.outcome, event.refund) == ("plan.created", None, None)


# -- Stripe: the fake's shapes -------------------------------------------------------------------

def fake_call(handler, *args, body=b"", query=None, headers=None, method="POST"):
    request = Request(method, "/", query or {}, {k.lower(): v for k, v in (headers or {}).items()}, body)
    response = handler(request, *args)
    assert response.status < 300, response.body
    return json.loads(response.body)


def stripe_session(fake):
    params = {"mode": "payment", "success_url": "https://portal.example/ok", "cancel_url": "https://portal.example/no",
              "client_reference_id": "42", "metadata[payment]": "42", "line_items[0][quantity]": "1",
              "line_items[0][price_data][currency]": "eur", "line_items[0][price_data][unit_amount]": "2000",
              "line_items[0][price_data][product_data][name]": "Invoice 1"}
    return fake_call(fake.create_session, body=urllib.parse.urlencode(params).encode())


def test_stripe_fake_shapes(stripe_fake):
    events = {}
    session = stripe_session(stripe_fake)
    assert same_shape(session, recorded("stripe", "checkout_session_open.json")) == []
    paid = stripe_fake.complete(session["id"])
    assert same_shape(paid, recorded("stripe", "checkout_session_complete_paid.json")) == []
    intent = stripe_fake.registry("payment_intents")[paid["payment_intent"]]
    charge = stripe_fake.registry("charges")[intent["latest_charge"]]
    assert same_shape(intent, recorded("stripe", "payment_intent.json")) == []
    assert same_shape(charge, recorded("stripe", "charge.json")) == []

    stripe_fake.refund_status = "pending"
    refund = stripe_fake.refund(intent["id"], 500)
    assert same_shape(refund, recorded("stripe", "refund_pending.json")) == []
    stripe_fake.settle_refund(refund["id"], "failed")
    assert same_shape(stripe_fake.registry("refunds")[refund["id"]], recorded("stripe", "refund_failed.json")) == []
    dispute = stripe_fake.open_dispute(intent["id"])
    assert same_shape(dispute, recorded("stripe", "dispute.json")) == []
    stripe_fake.close_dispute(dispute["id"], "lost")

    other = stripe_session(stripe_fake)
    fake_call(stripe_fake.expire_session, other["id"])
    delayed = stripe_session(stripe_fake)
    stripe_fake.complete(delayed["id"], delayed=True)
    stripe_fake.settle_delayed(delayed["id"], succeeded=False)

    for msg in stripe_fake.outbox:
        events.setdefault(msg.event["type"], msg.event)
    envelope = recorded("stripe", "event_plan_created.json")
    matching = {"checkout.session.completed": "event_checkout_session_completed.json",
                "checkout.session.expired": "event_checkout_session_expired.json",
                "checkout.session.async_payment_failed": "event_checkout_session_async_payment_failed.json",
                "refund.created": "event_refund_created.json", "refund.updated": "event_refund_updated.json",
                "refund.failed": "event_refund_failed.json",
                "charge.dispute.created": "event_charge_dispute_created.json",
                "charge.dispute.closed": "event_charge_dispute_closed.json"}
    assert set(matching) <= set(events)
    refunds = merged(*(recorded("stripe", f"refund_{s}.json") for s in ("succeeded", "pending", "failed")))
    for kind, event in events.items():
        assert same_shape({**event, "data": {}}, {**envelope, "data": {}}) == [], kind
        if kind in matching:
            sample = recorded("stripe", matching[kind])
            if kind.startswith("refund."):   # a refund.updated may carry a failed refund
                sample["data"]["object"] = refunds
            assert same_shape(event, sample) == [], kind

    page = fake_call(stripe_fake.list_sessions, query={"limit": "1"}, method="GET")
    assert page["has_more"] is True
    assert same_shape(page, recorded("stripe", "checkout_sessions_list.json")) == []


# -- PayPal: parsers -----------------------------------------------------------------------------

def paypal_gateway(fake):
    return paypal_gw.PayPalGateway({"client_id": fake.client_id, "client_secret": fake.client_secret,
                                    "webhook_id": fake.webhook_id}, "test", {"PAYPAL_API_BASE": fake.base_url})


def paypal_event(fake, name):
    """The recorded event, exactly as PayPal sent its bytes, with the recorded headers and the
    fake's signature over those bytes (PayPal's own certificate for them has expired)."""
    body = raw("paypal", name + ".json")
    headers = Headers(recorded("paypal", name + ".headers.json"))
    for key, value in fake.sign(body).items():
        headers[key] = value
    return paypal_gateway(fake).parse_webhook(body, headers, "https://portal.example/payments/paypal/webhook")


def test_paypal_recorded_headers_are_the_ones_we_read():
    for name in ("completed", "refunded", "reversed"):
        sent = {k.upper() for k in recorded("paypal", f"event_payment_capture_{name}.headers.json")}
        assert set(paypal_verify.HEADERS) <= sent


def test_paypal_capture_completed_event(paypal_fake):
    event = paypal_event(paypal_fake, "event_payment_capture_completed")
    outcome = event.outcome
    assert (event.id, event.kind, event.refund) == ("WH-58D329510W468432D-8HN650336L201105X",
                                                    "PAYMENT.CAPTURE.COMPLETED", None)
    assert (outcome.ref, outcome.status, outcome.amount, outcome.currency, outcome.payment_ref) == (
        "1AB234567A1234567", PAID, 3000, "USD", "12A34567BC123456S")
    assert outcome.claims == {}    # PayPal's sample has no custom_id: nothing claimed


def test_paypal_capture_declined_event():
    resource = recorded("paypal", "event_payment_capture_declined.json")["resource"]
    outcome = paypal_gw.event_outcome("PAYMENT.CAPTURE.DECLINED", resource)
    assert (outcome.ref, outcome.status, outcome.amount, outcome.currency) == (
        "48R416400V564864N", FAILED, 18510, "USD")


def test_paypal_refunded_and_reversed_events(paypal_fake):
    refunded = paypal_event(paypal_fake, "event_payment_capture_refunded")
    assert refunded.outcome is None
    assert (refunded.refund.kind, refunded.refund.ref, refunded.refund.payment_ref, refunded.refund.status,
            refunded.refund.amount, refunded.refund.currency) == (
        REFUND, "1Y107995YT783435V", "0JF852973C016714D", PAID, 99, "USD")
    reversed_ = paypal_event(paypal_fake, "event_payment_capture_reversed").refund
    assert (reversed_.kind, reversed_.payment_ref, reversed_.amount, reversed_.reason) == (
        CHARGEBACK, "4L335234718889942", 251, "Payment reversed")


def test_paypal_event_changed_by_one_byte_is_refused(paypal_fake):
    body = raw("paypal", "event_payment_capture_completed.json")
    headers = paypal_fake.sign(body)
    with pytest.raises(InvalidWebhook):
        paypal_gateway(paypal_fake).parse_webhook(body.replace(b"30.00", b"31.00", 1), headers, "")


def test_paypal_orders_answers():
    created = paypal_gw.order_outcome(recorded("paypal", "order_create_response.json"))
    assert (created.ref, created.status) == ("5O190127TN364715T", PENDING)
    links = {link["rel"]: link["href"] for link in recorded("paypal", "order_create_response.json")["links"]}
    assert links["payer-action"].startswith("https://www.paypal.com/checkoutnow")   # what create_checkout sends to
    captured = paypal_gw.order_outcome(recorded("paypal", "order_capture_response.json"))
    assert (captured.ref, captured.status, captured.amount, captured.currency, captured.payment_ref) == (
        "5O190127TN364715T", PAID, 10000, "USD", "3C679366HH908993F")
    approved = {**recorded("paypal", "order_create_response.json"), "status": "APPROVED"}
    assert paypal_gw.order_outcome(approved).status == APPROVED


def test_paypal_refund_answer():
    refund = paypal_gw.refund_outcome(recorded("paypal", "capture_refund_response.json"), REFUND)
    assert (refund.ref, refund.payment_ref, refund.status) == ("1JU08902781691411", "2GG279541U471931P", PAID)


class _Answer:
    """What paypal_gw reads of an HTTP answer: its text."""

    def __init__(self, text):
        self.text = text


def test_paypal_instrument_declined_told_by_its_issue_code():
    answer = _Answer(raw("paypal", "error_422_instrument_declined.json").decode())
    assert paypal_gw._issue_code(answer) == "INSTRUMENT_DECLINED"
    assert paypal_gw._issue(answer) == "UNPROCESSABLE_ENTITY INSTRUMENT_DECLINED"


# -- PayPal: the fake's shapes -------------------------------------------------------------------

PAYPAL_SCHEMA_ONLY = {
    # The capture sample's payer shows name, email and account id; PayPal's schema has more.
    "payment_source.paypal.account_status": "paypal_wallet_response",
    "payment_source.paypal.address": "paypal_wallet_response",
    "payer.address": "payer",
    # Error details: PayPal names where the problem is.
    "details[].location": "error_details",
    "details[].field": "error_details",
    "details[].value": "error_details",
    # A refund repeats the capture's custom_id; the completed event names the payee.
    "custom_id": "refund", "resource.custom_id": "refund", "resource.payee": "capture-2",
    # GET order answers the whole order (the capture sample is its minimal form).
    "intent": "order", "create_time": "order", "update_time": "order",
    "purchase_units[].amount": "purchase_unit", "purchase_units[].payee": "purchase_unit",
    "purchase_units[].description": "purchase_unit", "purchase_units[].custom_id": "purchase_unit",
}


def test_paypal_fake_shapes(paypal_fake):
    known = allowed("paypal", PAYPAL_SCHEMA_ONLY)
    body = json.dumps({"intent": "CAPTURE", "purchase_units": [{
        "reference_id": "payment-1", "custom_id": "p=1;d=1;c=1",
        "amount": {"currency_code": "EUR", "value": "20.00"}}],
        "payment_source": {"paypal": {"experience_context": {
            "return_url": "https://portal.example/ok", "cancel_url": "https://portal.example/no"}}}}).encode()
    created = fake_call(paypal_fake.create_order, body=body, headers={"PayPal-Request-Id": "contract-1"})
    assert same_shape(created, recorded("paypal", "order_create_response.json")) == []
    paypal_fake.approve(created["id"])

    paypal_fake.next_capture_error = "INSTRUMENT_DECLINED"
    declined = paypal_fake.capture_order(Request("POST", "/", {}, {}, b""), created["id"])
    assert declined.status == 422
    assert same_shape(json.loads(declined.body), recorded("paypal", "error_422_instrument_declined.json"),
                      allowed=known) == []
    paypal_fake.approve(created["id"])
    captured = fake_call(paypal_fake.capture_order, created["id"])
    completed = recorded("paypal", "event_payment_capture_completed.json")
    capture_response = recorded("paypal", "order_capture_response.json")
    # Every capture PayPal shows (the capture answer's and the events'), custom_id among them.
    declined = recorded("paypal", "event_payment_capture_declined.json")["resource"]
    capture_samples = merged(capture_response["purchase_units"][0]["payments"]["captures"][0],
                             completed["resource"], declined)
    capture_response["purchase_units"][0]["payments"]["captures"] = [capture_samples]
    assert same_shape(captured, capture_response, allowed=known) == []
    capture = captured["purchase_units"][0]["payments"]["captures"][0]
    order = fake_call(paypal_fake.get_order, created["id"], method="GET")
    assert same_shape(order, capture_response, allowed=known) == []
    assert same_shape(fake_call(paypal_fake.get_capture, capture["id"], method="GET"), capture_samples) == []

    refund = fake_call(paypal_fake.refund_capture, capture["id"], body=json.dumps({"amount": {
        "currency_code": "EUR", "value": "5.00"}}).encode())
    assert same_shape(refund, recorded("paypal", "capture_refund_response.json")) == []
    refund_samples = merged(recorded("paypal", "event_payment_capture_refunded.json")["resource"],
                            recorded("paypal", "event_payment_capture_reversed.json")["resource"])
    full = fake_call(paypal_fake.refund_capture, capture["id"], headers={"Prefer": "return=representation"},
                     body=json.dumps({"amount": {"currency_code": "EUR", "value": "5.00"}}).encode())
    assert same_shape(full, refund_samples, allowed=known) == []
    assert same_shape(fake_call(paypal_fake.get_refund, full["id"], method="GET"), refund_samples, allowed=known) == []
    paypal_fake.reverse(capture["id"])

    samples = {"PAYMENT.CAPTURE.COMPLETED": completed,
               "PAYMENT.CAPTURE.REFUNDED": recorded("paypal", "event_payment_capture_refunded.json"),
               "PAYMENT.CAPTURE.REVERSED": recorded("paypal", "event_payment_capture_reversed.json")}
    seen = set()
    for msg in paypal_fake.outbox:
        kind = msg.event["event_type"]
        seen.add(kind)
        sample = copy.deepcopy(samples[kind])
        if kind == "PAYMENT.CAPTURE.COMPLETED":
            sample["resource"] = merged(capture_samples, sample["resource"])
        else:
            sample["resource"] = refund_samples
        assert same_shape(msg.event, sample, allowed=known) == [], kind
    assert seen == set(samples)


# -- Square: parsers -----------------------------------------------------------------------------

SQUARE_KEY = "contract-test-signature-key"
SQUARE_URL = "https://portal.example/payments/square/webhook"


def square_gateway(key=SQUARE_KEY):
    return square_gw.SquareGateway({"access_token": "contract-token", "location_id": "LCONTRACT",
                                    "webhook_signature_key": key}, "test", {})


def square_event(name):
    body = raw("square", name)
    signature = base64.b64encode(hmac.new(SQUARE_KEY.encode(), SQUARE_URL.encode() + body,
                                          hashlib.sha256).digest()).decode()
    return square_gateway().parse_webhook(body, {"x-square-hmacsha256-signature": signature}, SQUARE_URL)


def test_square_signature_as_square_signed_it():
    """The SDK's own recorded notification, with the signature Square computed for it."""
    given = recorded("square", "webhook_test_notification.headers.json")
    body = raw("square", "webhook_test_notification.json")
    gateway = square_gateway(given["signature-key"])
    event = gateway.parse_webhook(body, {"x-square-hmacsha256-signature": given["x-square-hmacsha256-signature"]},
                                  given["notification-url"])
    assert (event.kind, event.outcome, event.refund) == ("webhooks.test_notification", None, None)
    with pytest.raises(InvalidWebhook):
        gateway.parse_webhook(body, {"x-square-hmacsha256-signature": given["x-square-hmacsha256-signature"]},
                              given["notification-url"] + "/")


@pytest.mark.parametrize("name, status", [("event_payment_created.json", PENDING),
                                          ("event_payment_updated.json", PAID)])
def test_square_payment_events(name, status):
    payment = recorded("square", name)["data"]["object"]["payment"]
    outcome = square_event(name).outcome
    assert (outcome.ref, outcome.status, outcome.amount, outcome.currency, outcome.payment_ref) == (
        payment["order_id"], status, 100, "USD", payment["id"])
    # Square's payments carry no reference of ours (SOURCES.md): matched by order and payment id.
    assert outcome.claims == {"reference": ""}


@pytest.mark.parametrize("name, status", [("event_refund_created.json", PENDING),
                                          ("event_refund_updated.json", PAID)])
def test_square_refund_events(name, status):
    refund = recorded("square", name)["data"]["object"]["refund"]
    event = square_event(name)
    assert event.outcome is None
    assert (event.refund.kind, event.refund.ref, event.refund.payment_ref, event.refund.status,
            event.refund.amount, event.refund.currency) == (REFUND, refund["id"], refund["payment_id"], status,
                                                           1000, "USD")


def test_square_refund_answer():
    answer = recorded("square", "refund_payment_response.json")["refund"]
    refund = square_gw.refund_outcome(answer)
    assert (refund.ref, refund.payment_ref, refund.status, refund.amount, refund.currency) == (
        answer["id"], answer["payment_id"], PENDING, 1000, "USD")


def test_square_paid_link_order_stays_open_and_is_paid_by_its_payment():
    order = recorded("square", "order_open_with_tender.json")["order"]
    outcome = square_gw.order_outcome(order)
    # Not from the order's state: OPEN says nothing about the money (SOURCES.md).
    assert (outcome.ref, outcome.status) == (order["id"], PENDING)
    assert all(tender["payment_id"] for tender in order["tenders"])
    payment = recorded("square", "payment_get_response.json")["payment"]
    assert square_gw.PAYMENT_STATUS[payment["status"]] == PAID
    assert square_gw.order_outcome({**order, "state": "CANCELED"}).status == CANCELLED


def test_square_answers_read_by_the_sdk():
    """The SDK (what the gateway calls) reads every recorded answer, and the link's order id is
    what create_checkout keeps."""
    from square.core.pydantic_utilities import parse_obj_as
    from square.types.create_payment_link_response import CreatePaymentLinkResponse
    from square.types.get_payment_response import GetPaymentResponse
    from square.types.get_order_response import GetOrderResponse
    from square.types.refund_payment_response import RefundPaymentResponse
    from square.types.search_orders_response import SearchOrdersResponse
    link = parse_obj_as(CreatePaymentLinkResponse, recorded("square", "payment_link_create_response.json"))
    assert (link.payment_link.order_id, link.payment_link.url) == ("o4b7saqp4HzhNttf5AJxC0Srjd4F",
                                                                   "https://square.link/u/EXAMPLE")
    payment = parse_obj_as(GetPaymentResponse, recorded("square", "payment_get_response.json")).payment
    assert payment.status == "COMPLETED"
    order = parse_obj_as(GetOrderResponse, recorded("square", "order_open_with_tender.json")).order
    assert order.state == "OPEN" and order.tenders[0].payment_id
    refund = parse_obj_as(RefundPaymentResponse, recorded("square", "refund_payment_response.json")).refund
    assert refund.status == "PENDING"
    # SearchOrders with return_entries answers entries, not orders: recent() then finds none.
    page = parse_obj_as(SearchOrdersResponse, recorded("square", "search_orders_response.json"))
    assert (page.orders, page.cursor) == (None, "123")


# -- Square: the fake's shapes -------------------------------------------------------------------

SQUARE_SCHEMA_ONLY = {
    "payment_link.description": "PaymentLink", "payment_link.checkout_options": "PaymentLink",
    "payment_link.payment_note": "PaymentLink",
    "related_resources.orders[].reference_id": "Order", "related_resources.orders[].metadata": "Order",
    "related_resources.orders[].net_amount_due_money": "Order",
    "related_resources.orders[].line_items[].total_service_charge_money": "OrderLineItem",
    "order.reference_id": "Order", "order.metadata": "Order", "order.net_amount_due_money": "Order",
    "order.total_tip_money": "Order", "order.line_items[].item_type": "OrderLineItem",
    "order.line_items[].variation_total_price_money": "OrderLineItem",
    "order.tenders[].card_details.card.card_type": "Card", "order.tenders[].card_details.card.prepaid_type": "Card",
    "order.tenders[].card_details.card.bin": "Card",
    "payment.note": "Payment", "payment.buyer_email_address": "Payment",
    "payment.application_details": "Payment",
    "payment.risk_evaluation": "Payment", "payment.refunded_money": "Payment", "payment.refund_ids": "Payment",
    "refund.unlinked": "PaymentRefund", "refund.destination_type": "PaymentRefund",
    "refund.reason": "PaymentRefund",
    "data.object.refund.unlinked": "PaymentRefund", "data.object.refund.destination_type": "PaymentRefund",
    "data.object.refund.reason": "PaymentRefund",
    "data.object.payment.note": "Payment", "data.object.payment.buyer_email_address": "Payment",
    "data.object.payment.application_details": "Payment", "data.object.payment.processing_fee": "Payment",
    "data.object.payment.card_details.card_payment_timeline": "CardPaymentDetails",
}


def test_square_fake_shapes(square_fake):
    known = allowed("square", SQUARE_SCHEMA_ONLY)
    body = json.dumps({"idempotency_key": "contract-1", "payment_note": "Invoice 1",
                       "checkout_options": {"redirect_url": "https://portal.example/ok"},
                       "order": {"location_id": square_fake.location_id, "reference_id": "42",
                                 "metadata": {"payment": "42"},
                                 "line_items": [{"name": "Invoice 1", "quantity": "1",
                                                 "base_price_money": {"amount": 2000, "currency": "EUR"}}]}}).encode()
    created = fake_call(square_fake.create_link, body=body)
    assert same_shape(created, recorded("square", "payment_link_create_response.json"), allowed=known) == []
    square_fake.pay_link(created["payment_link"]["id"])
    link = fake_call(square_fake.get_link, created["payment_link"]["id"], method="GET")
    assert same_shape(link, recorded("square", "payment_link_create_response.json"), allowed=known) == []

    order_samples = {"order": merged(recorded("square", "order_open_with_tender.json")["order"],
                                     recorded("square", "order_retrieve_response.json")["order"],
                                     recorded("square", "payment_link_create_response.json")
                                     ["related_resources"]["orders"][0])}
    order = fake_call(square_fake.get_order, created["payment_link"]["order_id"], method="GET")
    assert order["order"]["state"] == "OPEN"
    assert same_shape(order, order_samples, allowed=known) == []

    payment_id = order["order"]["tenders"][0]["payment_id"]
    payment = fake_call(square_fake.get_payment, payment_id, method="GET")
    assert "reference_id" not in payment["payment"]
    payment_samples = {"payment": merged(recorded("square", "payment_get_response.json")["payment"],
                                         recorded("square", "event_payment_updated.json")["data"]["object"]["payment"])}
    assert same_shape(payment, payment_samples, allowed=known) == []

    refund = fake_call(square_fake.refund_payment, body=json.dumps({
        "idempotency_key": "contract-refund-1", "payment_id": payment_id, "reason": "Returned",
        "amount_money": {"amount": 500, "currency": "EUR"}}).encode())
    assert same_shape(refund, recorded("square", "refund_payment_response.json"), allowed=known) == []
    after = fake_call(square_fake.get_payment, payment_id, method="GET")
    assert same_shape(after, payment_samples, allowed=known) == []

    batch = fake_call(square_fake.batch_retrieve_orders, body=json.dumps({
        "order_ids": [created["payment_link"]["order_id"]]}).encode())
    assert same_shape(batch, {"orders": [order_samples["order"]]}, allowed={
        p.replace("order.", "orders[].", 1) for p in known}) == []
    search = fake_call(square_fake.search_orders, body=json.dumps({"location_ids": [square_fake.location_id],
                                                                   "limit": 1}).encode())
    assert same_shape({k: v for k, v in search.items() if k != "orders"},
                      recorded("square", "search_orders_response.json")) == []
    assert same_shape({"order": search["orders"][0]}, order_samples, allowed=known) == []

    samples = {kind: recorded("square", f"event_{kind.replace('.', '_')}.json")
               for kind in ("payment.created", "payment.updated", "refund.created", "refund.updated")}
    seen = set()
    for msg in square_fake.outbox:
        seen.add(msg.event["type"])
        assert same_shape(msg.event, samples[msg.event["type"]], allowed=known) == [], msg.event["type"]
    assert seen == set(samples)
