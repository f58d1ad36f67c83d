"""Square Payment Links through the squareup SDK against tests/fakes/square.py: the link for the
amount due, payment webhooks verified over our configured notification URL (BASE_URL), applied
once whatever their type, the redirect that may come before the webhook, reconcile."""
import json

import pytest

from app.models import Payment, PaymentEvent
from tests.conftest import SQUARE_NOTIFICATION_URL, soup
from tests.factories import PASSWORD, make_contact, make_document, make_person
from tests.payments import hosted, reload

NOTIFICATION_URL = SQUARE_NOTIFICATION_URL


@pytest.fixture
def square(square_on):
    return square_on


@pytest.fixture
def person(app):
    return make_person(password=PASSWORD, contact=make_contact(name="Talleres Ruiz", gateways="square"))


@pytest.fixture
def me(auth, person):
    return auth.login(person)


@pytest.fixture
def invoice(person):
    return make_document(person.contact, number="F-2026-0009")   # 121.00 EUR


def start(me, doc):
    me.get(f"/documents/{doc.id}")
    resp = me.post(f"/documents/{doc.id}/pay", {"gateway": "square"})
    resp.square_url = hosted(me, resp)
    return resp


def link_of(resp, square):
    return resp.square_url.rsplit("/", 1)[1]


def send(client, msg):
    return client.post("/webhooks/square", data=msg.body, headers=msg.headers)


def test_square_link_is_for_the_amount_due_with_our_idempotency_key(me, person, invoice, square):
    resp = start(me, invoice)
    [link] = square.links.values()
    assert resp.square_url == link["url"]
    payment = Payment.get()
    order = square.orders[link["order_id"]]
    assert payment.provider_ref == order["id"]
    assert order["total_money"] == {"amount": 12100, "currency": "EUR"}
    assert order["reference_id"] == str(payment.id)
    assert order["metadata"] == {"payment": str(payment.id), "documents": str(invoice.id),
                                 "contact": str(person.contact_id)}
    assert link["checkout_options"]["redirect_url"] == f"http://portal.test/payments/{payment.id}/return"
    create = [r for r in square.requests if r.path == "/v2/online-checkout/payment-links"][0]
    assert json.loads(create.body)["idempotency_key"] == payment.idempotency_key
    assert hosted(me, me.post(f"/documents/{invoice.id}/pay", {"gateway": "square"})) == link["url"]
    assert len(square.links) == 1


def test_payment_webhooks_settle_once_whatever_their_type(app, me, invoice, square):
    link = link_of(start(me, invoice), square)
    square.pay_link(link)
    square.flush()
    created, updated = square.outbox
    assert send(app.test_client(), created).status_code == 200      # APPROVED: not yet
    assert reload(invoice).amount_paid == 0
    for _ in range(2):
        assert send(app.test_client(), updated).status_code == 200  # COMPLETED
    doc = reload(invoice)
    assert (doc.status, doc.amount_paid) == ("paid", 12100)
    assert sorted(e.outcome for e in PaymentEvent.select()) == ["applied", "pending"]
    payment = Payment.get()
    assert payment.status == "succeeded" and payment.provider_payment_ref == updated.event["data"]["id"]


def test_the_redirect_may_come_first_we_ask_square_for_the_order(app, me, invoice, square):
    link = link_of(start(me, invoice), square)
    status, back = square.pay_link(link)                 # webhooks kept in the outbox, not sent
    assert status == 303 and "orderId=" in back
    me.get(back.replace("http://portal.test", ""))
    assert reload(invoice).status == "paid"
    square.flush()
    assert send(app.test_client(), square.outbox[-1]).status_code == 200
    assert reload(invoice).amount_paid == 12100


def test_the_return_url_alone_marks_nothing_paid(me, invoice, square):
    start(me, invoice)
    payment = Payment.get()
    me.get(f"/payments/{payment.id}/return?checkoutId=X&orderId={payment.provider_ref}&transactionId=Y")
    assert reload(invoice).amount_paid == 0 and Payment.get().status == "pending"


@pytest.mark.parametrize("tamper", ["no signature", "wrong key", "tampered body", "signed for another URL"])
def test_unverified_square_webhooks_get_400_and_change_nothing(app, me, invoice, square, tamper):
    link = link_of(start(me, invoice), square)
    square.pay_link(link)
    square.flush()
    msg = square.outbox[-1]
    body, headers = msg.body, dict(msg.headers)
    if tamper == "no signature":
        headers.pop("x-square-hmacsha256-signature")
    elif tamper == "wrong key":
        headers["x-square-hmacsha256-signature"] = square.sign(body, signature_key="another-key-entirely")
    elif tamper == "tampered body":
        body = body.replace(b'"COMPLETED"', b'"COMPLETED" ', 1)
    else:
        # What a verifier building the URL from the Host header would accept.
        headers["x-square-hmacsha256-signature"] = square.sign(body, notification_url="http://evil.test/webhooks/square")
        headers["Host"] = "evil.test"
    resp = app.test_client().post("/webhooks/square", data=body, headers=headers)
    assert resp.status_code == 400
    assert PaymentEvent.select().count() == 0 and reload(invoice).amount_paid == 0


@pytest.mark.parametrize("money", [{"amount": 100, "currency": "EUR"}, {"amount": 12100, "currency": "USD"}],
                         ids=["lower", "currency"])
def test_a_verified_payment_for_another_amount_or_currency_is_flagged(app, me, invoice, square, money):
    link = link_of(start(me, invoice), square)
    square.pay_link(link)
    square.flush()
    event = json.loads(square.outbox[-1].body)
    event["event_id"] = "another-event-id"
    event["data"]["object"]["payment"]["amount_money"] = money
    assert send(app.test_client(), square.message(event)).status_code == 200
    assert reload(invoice).amount_paid == 0 and Payment.get().flagged


def test_the_same_event_at_once_is_applied_once(app, live_server, me, invoice, square):
    link = link_of(start(me, invoice), square)
    square.pay_link(link)
    square.flush()
    results = square.deliver(square.outbox[-1], times=6, concurrent=True, url=live_server.url + "/webhooks/square")
    assert [s for s, _ in results] == [200] * 6
    assert reload(invoice).amount_paid == 12100 and PaymentEvent.select().count() == 1


def test_reconcile_repairs_a_lost_square_webhook(app, runner, me, invoice, square):
    link = link_of(start(me, invoice), square)
    square.pay_link(link)
    result = runner.invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0 and "applied" in result.output
    assert reload(invoice).status == "paid"


def test_sales_orders_can_be_paid_too(app, me, person, square):
    order = make_document(person.contact, kind="order", status="shipped", number="SO-1")
    link = link_of(start(me, order), square)
    square.pay_link(link)
    square.flush()
    send(app.test_client(), square.outbox[-1])
    doc = reload(order)
    assert (doc.status, doc.amount_paid) == ("shipped", 12100)   # orders keep their own status
    page = soup(me.get(f"/documents/{order.id}"))
    assert page.find(id="pay") is None and page.select_one("#receipts a[download]")


def test_reconcile_searches_square_orders_and_adopts_one_we_never_stored(app, runner, me, invoice, square):
    link = link_of(start(me, invoice), square)
    order_id = Payment.get().provider_ref
    Payment.update(provider_ref="", checkout_url="").execute()
    square.pay_link(link)
    result = runner.invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    payment = Payment.get()
    assert payment.provider_ref == order_id and payment.status == "succeeded"
    assert reload(invoice).status == "paid"
    # Found by its order's reference_id (payments carry none), confirmed by its payment.
    assert any(r.path == "/v2/orders/search" and r.method == "POST" for r in square.requests)
    assert any(r.path.startswith("/v2/payments/") and r.method == "GET" for r in square.requests)


def test_a_payment_naming_another_contacts_payment_is_refused(app, auth, me, invoice, square):
    stranger = make_person(password=PASSWORD, contact=make_contact(gateways="square"))
    theirs = make_document(stranger.contact, number="F-THEIRS")
    start(auth.login(stranger), theirs)
    mine = link_of(start(me, invoice), square)
    my_payment = Payment.get(Payment.document == invoice)
    their_payment = Payment.get(Payment.document == theirs)
    square.pay_link(mine)
    square.flush()
    event = json.loads(square.outbox[-1].body)
    event["event_id"] = "forged-reference"
    event["data"]["object"]["payment"]["reference_id"] = str(their_payment.id)
    assert send(app.test_client(), square.message(event)).status_code == 200
    assert reload(invoice).amount_paid == 0 and reload(theirs).amount_paid == 0
    assert Payment.get_by_id(my_payment.id).flagged and Payment.get_by_id(their_payment.id).status == "pending"


def test_a_paid_link_order_stays_open_and_the_return_confirms_it_from_the_payment(app, me, invoice, square):
    """Square leaves a paid Payment Link order OPEN: the redirect's fetch must read the tender's
    payment, not the order's state."""
    link = link_of(start(me, invoice), square)
    status, back = square.pay_link(link)                  # webhooks kept in the outbox
    order = square.orders[Payment.get().provider_ref]
    assert order["state"] == "OPEN" and order["tenders"]
    me.get(back.replace("http://portal.test", ""))
    assert reload(invoice).status == "paid"
    assert Payment.get().provider_payment_ref == order["tenders"][0]["payment_id"]


def test_a_webhook_naming_another_order_is_traced_to_ours_by_its_reference(app, me, invoice, square):
    square.order_differs = True
    link = link_of(start(me, invoice), square)
    square.pay_link(link)
    square.flush()
    updated = square.outbox[-1]
    assert updated.event["data"]["object"]["payment"]["order_id"] != Payment.get().provider_ref
    assert send(app.test_client(), updated).status_code == 200
    assert reload(invoice).status == "paid" and Payment.get().status == "succeeded"
    # Redelivered, or the other event of the pair: matched by the payment id now, applied once.
    assert send(app.test_client(), square.outbox[-2]).status_code == 200
    assert reload(invoice).amount_paid == 12100
