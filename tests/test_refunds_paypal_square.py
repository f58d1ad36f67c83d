"""Refunds through PayPal (capture refunds, paypal-server-sdk) and Square (RefundPayment, squareup)
against tests/fakes/paypal.py and tests/fakes/square.py: full and partial refunds with the
Refund row's idempotency key, the answer and the webhooks applied once, refunds made in the
gateways' dashboards recorded, PayPal reversals taken back as chargebacks, failures and forged
events changing nothing."""
import json

import pytest

from app import payments, refunds
from app.models import Activity, Payment, PaymentEvent, Refund
from tests.conftest import SQUARE_NOTIFICATION_URL
from tests.factories import PASSWORD, make_contact, make_document, make_person
from tests.payments import fresh, hosted, reload, staff_by  # noqa: F401 (a fixture)


def pay(auth, gateway):
    """A customer whose contact may use `gateway`, an invoice of 121.00 EUR, and the step page's
    link to the gateway's hosted page."""
    person = make_person(password=PASSWORD, contact=make_contact(name="Talleres Ruiz", gateways=gateway))
    invoice = make_document(person.contact, number="F-2026-0041")
    me = auth.login(person)
    me.get(f"/documents/{invoice.id}")
    return me, invoice, hosted(me, me.post(f"/documents/{invoice.id}/pay", {"gateway": gateway}))


def to_paypal(client, msg):
    return client.post("/webhooks/paypal", data=msg.body, headers=msg.headers).status_code


def to_square(client, msg):
    return client.post("/webhooks/square", data=msg.body, headers=msg.headers).status_code


def of_type(fake, kind, key):
    return [m for m in fake.outbox if m.event[key] == kind]


# --- PayPal ---------------------------------------------------------------------------------

@pytest.fixture
def paypal_paid(app, auth, paypal_on):
    """The invoice paid with PayPal: approved, captured by us on the person's return."""
    me, invoice, url = pay(auth, "paypal")
    paypal_on.approve(url.rsplit("token=", 1)[1])
    payment = Payment.get()
    me.get(f"/payments/{payment.id}/return")
    paypal_on.flush()
    paypal_on.outbox.clear()
    payment = fresh(payment)
    assert payment.status == "succeeded" and payment.provider_payment_ref in paypal_on.captures
    assert reload(invoice).status == "paid"
    return payment, invoice


def refund_calls(fake):
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/refund")]


def test_a_full_paypal_refund_is_made_on_the_capture_and_reopens_the_invoice(app, paypal_paid, paypal_on, staff_by):
    payment, invoice = paypal_paid
    refund = refunds.request(payment, 12100, "Cancelled order", staff_by)
    assert refund.status == "succeeded" and refund.provider_ref in paypal_on.refunds
    [call] = refund_calls(paypal_on)
    assert call.path == f"/v2/payments/captures/{payment.provider_payment_ref}/refund"
    assert call.headers["paypal-request-id"] == refund.idempotency_key
    assert json.loads(call.body) == {"amount": {"currency_code": "EUR", "value": "121.00"}}
    assert paypal_on.captures[payment.provider_payment_ref]["status"] == "REFUNDED"
    assert (fresh(payment).status, fresh(payment).amount_refunded) == ("refunded", 12100)
    doc = reload(invoice)
    assert (doc.status, doc.amount_paid) == ("open", 0)


def test_a_partial_paypal_refund_and_its_webhook_twice_apply_once(app, paypal_paid, paypal_on, staff_by):
    payment, invoice = paypal_paid
    refund = refunds.request(payment, 2050, "", staff_by)
    assert refund.status == "succeeded"
    paypal_on.flush()
    [msg] = of_type(paypal_on, "PAYMENT.CAPTURE.REFUNDED", "event_type")
    assert msg.event["resource"]["id"] == refund.provider_ref
    assert [to_paypal(app.test_client(), msg) for _ in range(2)] == [200, 200]
    assert fresh(payment).amount_refunded == 2050
    doc = reload(invoice)
    assert (doc.status, doc.amount_paid) == ("open", 10050)
    assert [e.outcome for e in PaymentEvent.select().where(PaymentEvent.kind == "PAYMENT.CAPTURE.REFUNDED")] == [
        "already applied"]
    assert Refund.select().count() == 1
    assert Activity.select().where(Activity.action == "refund_succeeded").count() == 1


def test_a_refund_made_in_paypal_is_recorded_once_however_often_it_arrives(app, paypal_paid, paypal_on):
    payment, invoice = paypal_paid
    msg = paypal_on.refund_in_dashboard(payment.provider_payment_ref, 3000)
    assert [to_paypal(app.test_client(), msg) for _ in range(2)] == [200, 200]
    [refund] = Refund.select()
    assert (refund.origin, refund.status, refund.amount, refund.provider_ref) == (
        "gateway", "succeeded", 3000, msg.event["resource"]["id"])
    assert fresh(payment).amount_refunded == 3000 and reload(invoice).amount_paid == 9100
    assert [e.outcome for e in PaymentEvent.select().where(PaymentEvent.kind == "PAYMENT.CAPTURE.REFUNDED")] == [
        "applied"]


def test_the_same_paypal_request_id_refunds_once(app, paypal_paid, paypal_on, staff_by):
    payment, _invoice = paypal_paid
    refund = refunds.request(payment, 1000, "", staff_by)
    again = payments.get("paypal", payment.mode).refund(fresh(payment), refund)
    assert again.ref == refund.provider_ref and len(paypal_on.refunds) == 1
    assert {c.headers["paypal-request-id"] for c in refund_calls(paypal_on)} == {refund.idempotency_key}
    assert len(refund_calls(paypal_on)) == 2 and fresh(payment).amount_refunded == 1000


def test_a_refund_paypal_refuses_is_failed_and_changes_nothing(app, paypal_paid, paypal_on, staff_by):
    payment, invoice = paypal_paid
    paypal_on.next_refund_error = "REFUND_NOT_ALLOWED"
    refund = refunds.request(payment, 1000, "", staff_by)
    assert refund.status == "failed" and "REFUND_NOT_ALLOWED" in refund.last_error
    assert not paypal_on.refunds
    assert fresh(payment).amount_refunded == 0 and reload(invoice).amount_paid == 12100


def test_a_paypal_reversal_takes_the_money_back_as_a_chargeback(app, paypal_paid, paypal_on):
    payment, invoice = paypal_paid
    msg = paypal_on.reverse(payment.provider_payment_ref)
    assert msg.event["event_type"] == "PAYMENT.CAPTURE.REVERSED"
    assert [to_paypal(app.test_client(), msg) for _ in range(2)] == [200, 200]
    [chargeback] = Refund.select()
    assert (chargeback.kind, chargeback.status, chargeback.amount) == ("chargeback", "succeeded", 12100)
    assert (fresh(payment).status, reload(invoice).status, reload(invoice).amount_paid) == ("refunded", "open", 0)
    assert Activity.select().where(Activity.action == "chargeback").count() == 1


def test_a_paypal_refund_event_that_does_not_verify_changes_nothing(app, paypal_paid, paypal_on):
    payment, invoice = paypal_paid
    msg = paypal_on.refund_in_dashboard(payment.provider_payment_ref, 3000)
    forged = msg.body.replace(b'"value":"30.00"', b'"value":"121.00"', 1)
    assert forged != msg.body
    resp = app.test_client().post("/webhooks/paypal", data=forged, headers=msg.headers)
    assert resp.status_code == 400
    assert not Refund.select().exists() and fresh(payment).amount_refunded == 0
    assert reload(invoice).amount_paid == 12100


# --- Square ---------------------------------------------------------------------------------

@pytest.fixture
def square_paid(app, auth, square_on):
    """The invoice paid on a Square payment link, settled by Square's payment.updated webhook."""
    _me, invoice, url = pay(auth, "square")
    square_on.pay_link(url.rsplit("/", 1)[1])
    square_on.flush()
    [completed] = [m for m in square_on.outbox if m.event["data"]["object"]["payment"]["status"] == "COMPLETED"]
    assert to_square(app.test_client(), completed) == 200
    square_on.outbox.clear()
    payment = Payment.get()
    assert payment.status == "succeeded" and payment.provider_payment_ref in square_on.payments
    assert reload(invoice).status == "paid"
    return payment, invoice


def test_a_square_refund_is_pending_until_square_completes_it_then_applies_once(app, square_paid, square_on,
                                                                                staff_by):
    payment, invoice = square_paid
    refund = refunds.request(payment, 12100, "Cancelled order", staff_by)
    assert refund.status == "pending" and refund.provider_ref in square_on.refunds
    [call] = [r for r in square_on.requests if r.path == "/v2/refunds"]
    body = json.loads(call.body)
    assert (body["idempotency_key"], body["payment_id"], body["amount_money"]) == (
        refund.idempotency_key, payment.provider_payment_ref, {"amount": 12100, "currency": "EUR"})
    assert fresh(payment).amount_refunded == 0 and reload(invoice).status == "paid"
    square_on.flush()
    created, updated = square_on.outbox
    assert (created.event["type"], updated.event["type"]) == ("refund.created", "refund.updated")
    assert to_square(app.test_client(), created) == 200
    assert Refund.get_by_id(refund.id).status == "pending"
    assert [to_square(app.test_client(), updated) for _ in range(2)] == [200, 200]
    assert Refund.get_by_id(refund.id).status == "succeeded"
    assert (fresh(payment).status, fresh(payment).amount_refunded) == ("refunded", 12100)
    assert (reload(invoice).status, reload(invoice).amount_paid) == ("open", 0)
    assert Activity.select().where(Activity.action == "refund_succeeded").count() == 1


def test_a_partial_square_refund_lowers_what_was_paid(app, square_paid, square_on, staff_by):
    payment, invoice = square_paid
    refund = refunds.request(payment, 5000, "", staff_by)
    square_on.flush()
    for msg in list(square_on.outbox):
        assert to_square(app.test_client(), msg) == 200
    assert Refund.get_by_id(refund.id).status == "succeeded"
    assert (fresh(payment).status, fresh(payment).amount_refunded) == ("succeeded", 5000)
    assert (reload(invoice).status, reload(invoice).amount_paid) == ("open", 7100)


def test_the_same_square_idempotency_key_refunds_once(app, square_paid, square_on, staff_by):
    payment, _invoice = square_paid
    refund = refunds.request(payment, 1000, "", staff_by)
    again = payments.get("square", payment.mode).refund(fresh(payment), refund)
    assert again.ref == refund.provider_ref and len(square_on.refunds) == 1
    assert square_on.payments[payment.provider_payment_ref]["refunded_money"]["amount"] == 1000


def test_a_refund_made_in_squares_dashboard_is_recorded_once(app, square_paid, square_on):
    payment, invoice = square_paid
    created, updated = square_on.refund_in_dashboard(payment.provider_payment_ref, 2500)
    square_on.flush()
    for event in (created, updated, updated):
        assert to_square(app.test_client(), square_on.message(event)) == 200
    [refund] = Refund.select()
    assert (refund.origin, refund.status, refund.amount) == ("gateway", "succeeded", 2500)
    assert fresh(payment).amount_refunded == 2500 and reload(invoice).amount_paid == 9600


def test_a_square_refund_that_fails_changes_nothing(app, square_paid, square_on, staff_by):
    payment, invoice = square_paid
    square_on.refund_final = "FAILED"
    refund = refunds.request(payment, 12100, "", staff_by)
    square_on.flush()
    for msg in list(square_on.outbox):
        assert to_square(app.test_client(), msg) == 200
    assert Refund.get_by_id(refund.id).status == "failed"
    assert (fresh(payment).status, fresh(payment).amount_refunded) == ("succeeded", 0)
    assert (reload(invoice).status, reload(invoice).amount_paid) == ("paid", 12100)
    assert Activity.select().where(Activity.action == "refund_failed").count() == 1


def test_a_square_refund_event_signed_for_another_url_changes_nothing(app, square_paid, square_on):
    payment, invoice = square_paid
    _created, updated = square_on.refund_in_dashboard(payment.provider_payment_ref, 2500)
    body = square_on.message(updated).body
    headers = {"Content-Type": "application/json",
               "x-square-hmacsha256-signature": square_on.sign(body, notification_url="https://evil.example/hook")}
    assert app.test_client().post("/webhooks/square", data=body, headers=headers).status_code == 400
    headers["x-square-hmacsha256-signature"] = square_on.sign(body, notification_url=SQUARE_NOTIFICATION_URL)
    tampered = body.replace(b'"amount":2500', b'"amount":12100', 1)
    assert tampered != body
    assert app.test_client().post("/webhooks/square", data=tampered, headers=headers).status_code == 400
    assert not Refund.select().exists() and fresh(payment).amount_refunded == 0
    assert reload(invoice).amount_paid == 12100
