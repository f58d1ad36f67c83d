"""PayPal Orders v2 through paypal-server-sdk against tests/fakes/paypal.py: the order for the
amount due, approval, capture by us (on return, on the approval webhook, or by reconcile),
webhooks verified with PayPal's verify API, applied once, amounts checked."""
import json

import pytest

from app.models import Activity, GatewayConfig, Payment, PaymentEvent
from tests.concurrency import race
from tests.conftest import soup
from tests.factories import PASSWORD, make_contact, make_document, make_person
from tests.payments import hosted, reload


@pytest.fixture
def paypal(paypal_on):
    return paypal_on


@pytest.fixture
def person(app):
    return make_person(password=PASSWORD, contact=make_contact(name="Talleres Ruiz", gateways="paypal"))


@pytest.fixture
def me(auth, person):
    return auth.login(person)


@pytest.fixture
def invoice(person):
    return make_document(person.contact, number="F-2026-0007")   # 121.00 EUR


def start(me, doc):
    me.get(f"/documents/{doc.id}")
    resp = me.post(f"/documents/{doc.id}/pay", {"gateway": "paypal"})
    resp.paypal_url = hosted(me, resp)
    return resp


def order_id(resp, me=None):
    return resp.paypal_url.rsplit("token=", 1)[1]


def send(client, msg):
    return client.post("/webhooks/paypal", data=msg.body, headers=msg.headers)


def test_paypal_order_is_for_the_amount_due_with_our_idempotency_key(me, person, invoice, paypal):
    page = soup(me.get(f"/documents/{invoice.id}"))
    assert [b["value"] for b in page.select("#pay button[name=gateway]")] == ["paypal"]
    resp = start(me, invoice)
    assert resp.paypal_url.startswith(paypal.base_url + "/checkoutnow?token=")
    [order] = paypal.orders.values()
    payment = Payment.get()
    assert payment.provider_ref == order["id"] == order_id(resp)
    unit = order["purchase_units"][0]
    assert unit["amount"] == {"currency_code": "EUR", "value": "121.00"}
    assert unit["custom_id"] == f"p={payment.id};d={invoice.id};c={person.contact_id}"
    create = [r for r in paypal.requests if r.path == "/v2/checkout/orders"][0]
    assert create.headers["paypal-request-id"] == payment.idempotency_key
    # A second click reuses the order.
    again = me.post(f"/documents/{invoice.id}/pay", {"gateway": "paypal"})
    assert hosted(me, again) == resp.paypal_url and len(paypal.orders) == 1


def test_approve_return_capture_then_the_webhook_changes_nothing_more(app, me, invoice, paypal):
    oid = order_id(start(me, invoice))
    status, back = paypal.approve(oid)
    assert status == 303
    payment = Payment.get()
    assert back.startswith(f"http://portal.test/payments/{payment.id}/return?token={oid}")
    assert reload(invoice).amount_paid == 0            # approval alone is not payment
    me.get(back.replace("http://portal.test", ""))      # we capture on return
    doc = reload(invoice)
    assert (doc.status, doc.amount_paid) == ("paid", 12100)
    payment = Payment.get()
    assert payment.status == "succeeded" and payment.provider_payment_ref in paypal.captures
    paypal.flush()
    [msg] = [m for m in paypal.outbox if m.event["event_type"] == "PAYMENT.CAPTURE.COMPLETED"]
    for _ in range(2):
        assert send(app.test_client(), msg).status_code == 200
    assert reload(invoice).amount_paid == 12100
    outcomes = sorted(e.outcome for e in PaymentEvent.select())
    assert outcomes == ["already applied", "applied"]   # the capture fetch, then the webhook once
    assert Activity.select().where(Activity.action == "payment_succeeded").count() == 1


def test_the_approval_webhook_alone_captures_and_settles(app, me, invoice, paypal):
    paypal.event_types.add("CHECKOUT.ORDER.APPROVED")
    oid = order_id(start(me, invoice))
    paypal.approve(oid)                        # the person never comes back
    paypal.flush()
    [approved] = [m for m in paypal.outbox if m.event["event_type"] == "CHECKOUT.ORDER.APPROVED"]
    assert send(app.test_client(), approved).status_code == 200
    assert reload(invoice).status == "paid"
    assert paypal.orders[oid]["status"] == "COMPLETED" and len(paypal.captures) == 1


def test_return_without_approval_marks_nothing_paid(me, invoice, paypal):
    oid = order_id(start(me, invoice))
    payment = Payment.get()
    me.get(f"/payments/{payment.id}/return?token={oid}&PayerID=FAKE&status=COMPLETED")
    assert reload(invoice).amount_paid == 0 and Payment.get().status == "pending"
    assert paypal.orders[oid]["status"] == "PAYER_ACTION_REQUIRED" and not paypal.captures
    assert soup(me.get(f"/documents/{invoice.id}")).find(id="pay-processing") is not None


def test_a_declined_instrument_sends_the_payer_back_to_paypal_to_choose_another(me, invoice, paypal):
    resp = start(me, invoice)
    oid = order_id(resp)
    paypal.approve(oid)
    paypal.next_capture_error = "INSTRUMENT_DECLINED"
    back = me.get(f"/payments/{Payment.get().id}/return")
    assert back.status_code == 303 and back.headers["Location"] == resp.paypal_url   # PayPal's page again
    assert reload(invoice).amount_paid == 0 and Payment.get().status == "pending"
    paypal.approve(oid)                                  # another card, this time accepted
    me.get(f"/payments/{Payment.get().id}/return")
    assert reload(invoice).status == "paid" and Payment.get().status == "succeeded"


@pytest.mark.parametrize("issue", ["TRANSACTION_REFUSED", "PAYER_CANNOT_PAY"])
def test_a_refused_capture_leaves_the_invoice_unpaid(me, invoice, paypal, issue):
    oid = order_id(start(me, invoice))
    paypal.approve(oid)
    paypal.next_capture_error = issue
    me.get(f"/payments/{Payment.get().id}/return")
    assert reload(invoice).amount_paid == 0 and Payment.get().status == "failed"
    assert soup(me.get(f"/documents/{invoice.id}")).select_one("#pay #pay-form") is not None


@pytest.mark.parametrize("tamper", ["no headers", "tampered body", "other webhook id", "bad signature"])
def test_unverified_paypal_webhooks_get_400_and_change_nothing(app, me, invoice, paypal, tamper):
    oid = order_id(start(me, invoice))
    paypal.approve(oid)
    payment = Payment.get()
    capture = {"id": "CAPTURE1", "status": "COMPLETED", "amount": {"currency_code": "EUR", "value": "121.00"},
               "custom_id": f"p={payment.id};d={invoice.id};c={invoice.contact_id}",
               "supplementary_data": {"related_ids": {"order_id": oid}}}
    event = paypal.event("PAYMENT.CAPTURE.COMPLETED", capture, "capture", "Payment completed")
    msg = paypal.message(event)
    body, headers = msg.body, dict(msg.headers)
    if tamper == "no headers":
        headers = {"Content-Type": "application/json"}
    elif tamper == "tampered body":
        body = body.replace(b"121.00", b"999.00")
    elif tamper == "other webhook id":
        headers.update(paypal.sign(body, webhook_id="SOMEONE-ELSES-HOOK"))
    else:
        headers["PAYPAL-TRANSMISSION-SIG"] = "AAAA" + headers["PAYPAL-TRANSMISSION-SIG"][4:]
    resp = app.test_client().post("/webhooks/paypal", data=body, headers=headers)
    assert resp.status_code == 400
    assert PaymentEvent.select().count() == 0 and reload(invoice).amount_paid == 0


@pytest.mark.parametrize("amount", [{"currency_code": "EUR", "value": "12.10"},
                                    {"currency_code": "USD", "value": "121.00"}], ids=["lower", "currency"])
def test_a_verified_capture_for_another_amount_or_currency_is_flagged_not_applied(app, me, invoice, paypal, amount):
    oid = order_id(start(me, invoice))
    payment = Payment.get()
    capture = {"id": "CAPTURE2", "status": "COMPLETED", "amount": amount,
               "custom_id": f"p={payment.id};d={invoice.id};c={invoice.contact_id}",
               "supplementary_data": {"related_ids": {"order_id": oid}}}
    msg = paypal.message(paypal.event("PAYMENT.CAPTURE.COMPLETED", capture, "capture", "Payment completed"))
    assert send(app.test_client(), msg).status_code == 200
    assert reload(invoice).amount_paid == 0
    payment = Payment.get()
    assert payment.flagged and payment.status == "pending"


def test_another_contacts_document_in_the_capture_is_refused(app, me, invoice, paypal):
    stranger = make_document(make_contact(gateways="paypal"))
    oid = order_id(start(me, invoice))
    payment = Payment.get()
    capture = {"id": "CAPTURE3", "status": "COMPLETED", "amount": {"currency_code": "EUR", "value": "121.00"},
               "custom_id": f"p={payment.id};d={stranger.id};c={stranger.contact_id}",
               "supplementary_data": {"related_ids": {"order_id": oid}}}
    msg = paypal.message(paypal.event("PAYMENT.CAPTURE.COMPLETED", capture, "capture", "Payment completed"))
    assert send(app.test_client(), msg).status_code == 200
    assert reload(invoice).amount_paid == 0 and reload(stranger).amount_paid == 0 and Payment.get().flagged


def test_the_same_capture_event_at_once_is_applied_once(app, live_server, me, invoice, paypal):
    oid = order_id(start(me, invoice))
    paypal.approve(oid)
    # Captured elsewhere (a worker whose answer was lost): only the webhook tells us.
    paypal.sdk_client().orders.capture_order({"id": oid})
    paypal.flush()
    [msg] = [m for m in paypal.outbox if m.event["event_type"] == "PAYMENT.CAPTURE.COMPLETED"]
    results = paypal.deliver(msg, times=6, concurrent=True, url=live_server.url + "/webhooks/paypal")
    assert [s for s, _ in results] == [200] * 6
    assert reload(invoice).amount_paid == 12100 and PaymentEvent.select().count() == 1
    assert Payment.get().status == "succeeded"


def test_reconcile_captures_an_approved_order_nobody_came_back_for(app, runner, me, invoice, paypal):
    oid = order_id(start(me, invoice))
    paypal.approve(oid)
    result = runner.invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0 and "applied" in result.output
    assert reload(invoice).status == "paid" and paypal.orders[oid]["status"] == "COMPLETED"


def test_cancel_on_paypal_comes_back_and_offers_the_methods_again(me, invoice, paypal):
    oid = order_id(start(me, invoice))
    status, back = paypal.cancel(oid)
    assert status == 303 and f"/payments/{Payment.get().id}/cancel" in back
    resp = me.get(back.replace("http://portal.test", ""))
    assert resp.status_code == 303 and Payment.get().status == "cancelled"
    assert soup(me.get(f"/documents/{invoice.id}")).select_one("#pay #pay-paypal") is not None


def test_two_gateways_at_once_are_both_offered(app, me, person, invoice, paypal):
    from tests.fakes.stripe import API_KEY, WEBHOOK_SECRET
    GatewayConfig.create(gateway="stripe", test_credentials=json.dumps({"secret_key": API_KEY,
                                                                         "webhook_secret": WEBHOOK_SECRET}))
    person.contact.gateways = "stripe,paypal"
    person.contact.save()
    page = soup(me.get(f"/documents/{invoice.id}"))
    assert [b["value"] for b in page.select("#pay button[name=gateway]")] == ["stripe", "paypal"]


def test_concurrent_returns_capture_once(app, live_server, me, invoice, paypal):
    import requests
    from tests.conftest import csrf_from
    app.config["BASE_URL"] = live_server.url
    oid = order_id(start(me, invoice))
    paypal.approve(oid)
    payment = Payment.get()
    session = requests.Session()
    token = csrf_from(session.get(live_server.url + "/login").text)
    session.post(live_server.url + "/login", data={"email": invoice.contact.people[0].email, "password": PASSWORD,
                                                    "csrf_token": token}, allow_redirects=False)

    def back():
        return session.get(f"{live_server.url}/payments/{payment.id}/return", allow_redirects=False,
                           timeout=30).status_code
    codes = race(back, back, back, timeout=30)
    assert codes == [303, 303, 303]
    assert len(paypal.captures) == 1 and reload(invoice).amount_paid == 12100


# --- signatures on the bytes received (issue 15) --------------------------------------------

def capture_event(paypal, payment, invoice, oid, payer_name="José Ñúñez Ærø"):
    capture = {"id": "CAPTURE1", "status": "COMPLETED", "amount": {"currency_code": "EUR", "value": "121.00"},
               "custom_id": f"p={payment.id};d={invoice.id};c={invoice.contact_id}",
               "supplementary_data": {"related_ids": {"order_id": oid}},
               "payee": {"email_address": "ventas@talleres.example"}, "note_to_payer": f"Gracias, {payer_name}"}
    return paypal.event("PAYMENT.CAPTURE.COMPLETED", capture, "capture", "Payment completed")


def test_an_event_with_non_ascii_text_verifies_on_its_bytes(app, me, invoice, paypal):
    oid = order_id(start(me, invoice))
    paypal.approve(oid)
    event = capture_event(paypal, Payment.get(), invoice, oid)
    body = json.dumps(event, ensure_ascii=False).encode()       # UTF-8, as PayPal sends it
    assert "Ñúñez".encode() in body
    resp = app.test_client().post("/webhooks/paypal", data=body,
                                  headers={"Content-Type": "application/json", **paypal.sign(body)})
    assert resp.status_code == 200
    assert reload(invoice).status == "paid"


@pytest.mark.parametrize("change", ["one byte", "certificate elsewhere", "plain http certificate", "other algorithm"])
def test_one_changed_byte_or_a_foreign_certificate_is_refused(app, me, invoice, paypal, change):
    oid = order_id(start(me, invoice))
    paypal.approve(oid)
    body = json.dumps(capture_event(paypal, Payment.get(), invoice, oid), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", **paypal.sign(body)}
    if change == "one byte":
        at = body.index(b": ") + 1
        body = body[:at] + b"\t" + body[at + 1:]                  # still the same JSON, not the same bytes
    elif change == "certificate elsewhere":
        headers["PAYPAL-CERT-URL"] = "https://certs.evil.example/v1/notifications/certs/CERT-fake"
    elif change == "plain http certificate":
        headers["PAYPAL-CERT-URL"] = "http://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594"
    else:
        headers["PAYPAL-AUTH-ALGO"] = "SHA1withRSA"
    resp = app.test_client().post("/webhooks/paypal", data=body, headers=headers)
    assert resp.status_code == 400
    assert PaymentEvent.select().count() == 0 and reload(invoice).amount_paid == 0


@pytest.mark.load
def test_fifty_forged_posts_at_once_leave_the_portal_answering(app, database_url, tmp_path, paypal_fake):
    """Forged posts cost a CRC and an RSA check, no call to PayPal: with the two sync workers of
    the documented unit, a customer's page still answers during a flood (bounded, and reported)."""
    import threading
    import time

    import requests

    from tests.servers import Gunicorn, app_env
    from tests.test_load_faults import sign_in
    person = make_person(contact=make_contact(name="Talleres Ruiz", gateways="paypal", portal_enabled=True))
    doc = make_document(person.contact, number="F-2026-0099")
    env = app_env(tmp_path, DATABASE_URL=database_url, PAYPAL_API_BASE=paypal_fake.base_url,
                  PAYPAL_CLIENT_ID=paypal_fake.client_id, PAYPAL_CLIENT_SECRET=paypal_fake.client_secret,
                  PAYPAL_WEBHOOK_ID=paypal_fake.webhook_id)
    from app.db import db
    db.close()
    with Gunicorn(env, tmp_path, workers=2) as server:
        customer = sign_in(server.url, person)
        body = json.dumps(paypal_fake.event("PAYMENT.CAPTURE.COMPLETED", {"id": "X"}, "capture", "forged")).encode()
        forged = {"Content-Type": "application/json", **paypal_fake.sign(body)}
        forged["PAYPAL-TRANSMISSION-SIG"] = "AAAA" + forged["PAYPAL-TRANSMISSION-SIG"][4:]
        statuses, start = [], threading.Barrier(51)

        def post():
            start.wait()
            statuses.append(requests.post(server.url + "/webhooks/paypal", data=body, headers=forged,
                                          timeout=60).status_code)
        threads = [threading.Thread(target=post) for _ in range(50)]
        for t in threads:
            t.start()
        start.wait()
        began = time.monotonic()
        page = customer.get(f"{server.url}/documents/{doc.id}", timeout=15)   # the bound: 15 s
        waited = time.monotonic() - began
        for t in threads:
            t.join(60)
    assert page.status_code == 200 and "F-2026-0099" in page.text
    assert statuses == [400] * 50
    print(f"\n[paypal flood] customer page answered in {waited:.2f} s during 50 forged posts")
