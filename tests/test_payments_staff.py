"""Back-office side of online payments: gateway keys (entered once, never shown again, never
logged, test/live switch, environment overrides) and the payment lists (per contact, per
document, flagged) with the flag cleared by a note."""
import json
import logging

import pytest

from app.models import GatewayConfig, Payment, PaymentEvent
from tests.conftest import soup
from tests.factories import make_contact, make_document, make_person

SECRET = "sk_test_51HrealLookingSecretKey0000abcd"
HOOK = "whsec_realLookingWebhookSecret9xyz"
LIVE = "sk_live_51HrealLookingLiveKey000000wxyz"


def stripe_form(**fields):
    data = {"mode": "test", "test_secret_key": "", "test_webhook_secret": "", "live_secret_key": "",
            "live_webhook_secret": ""}
    data.update(fields)
    return data


def test_staff_enter_stripe_keys_once_and_see_only_their_last_characters(app, staff, caplog):
    # INFO and up, what a deployment logs (peewee's DEBUG query log shows every parameter).
    caplog.set_level(logging.INFO)
    page = soup(staff.get("/staff/gateways/"))
    assert page.select_one("#state-stripe").get_text(strip=True) == "Not configured"
    assert page.select_one("#webhook-stripe").get_text() == "http://portal.test/webhooks/stripe"
    resp = staff.post("/staff/gateways/stripe", stripe_form(test_secret_key=SECRET, test_webhook_secret=HOOK))
    assert resp.status_code == 303
    row = GatewayConfig.get(GatewayConfig.gateway == "stripe")
    assert json.loads(row.test_credentials) == {"secret_key": SECRET, "webhook_secret": HOOK}
    resp = staff.get("/staff/gateways/")
    html = resp.get_data(as_text=True)
    assert SECRET not in html and HOOK not in html
    page = soup(resp)
    assert "Ready" in page.select_one("#state-stripe").get_text()
    key_input = page.select_one("#form-stripe input[name=test_secret_key]")
    assert key_input["type"] == "password" and key_input.get("value", "") == ""
    assert "…abcd" in key_input.find_parent(class_="field").get_text()
    # Saving again with the secret fields empty keeps what is stored.
    assert staff.post("/staff/gateways/stripe", stripe_form()).status_code == 303
    assert json.loads(GatewayConfig.get().test_credentials)["secret_key"] == SECRET
    assert SECRET not in caplog.text and HOOK not in caplog.text


@pytest.mark.parametrize("field,value,message", [
    ("test_secret_key", LIVE, "does not look like"),                  # a live key in the test slot
    ("test_secret_key", "pk_test_publishable000", "does not look like"),
    ("test_secret_key", "sk_test_" + "a" * 300, "at most 300"),
    ("test_secret_key", "sk_test_with space", "does not look like"),
    ("test_webhook_secret", "not-a-secret", "does not look like"),
    ("live_secret_key", SECRET, "does not look like"),
])
def test_keys_are_validated_and_nothing_is_written(app, staff, field, value, message):
    resp = staff.post("/staff/gateways/stripe", stripe_form(**{field: value}))
    assert resp.status_code == 422
    page = soup(resp)
    error = page.select_one(f"#form-stripe #e-{field}")
    assert error is not None and message in error.get_text()
    assert value not in resp.get_data(as_text=True)     # a secret is never echoed back
    assert GatewayConfig.select().count() == 0


def test_switching_to_live_needs_the_live_keys(app, staff):
    staff.post("/staff/gateways/stripe", stripe_form(test_secret_key=SECRET, test_webhook_secret=HOOK))
    resp = staff.post("/staff/gateways/stripe", stripe_form(mode="live"))
    assert resp.status_code == 422 and soup(resp).select_one("#form-stripe #e-mode")
    assert GatewayConfig.get().mode == "test"
    resp = staff.post("/staff/gateways/stripe", stripe_form(mode="live", live_secret_key=LIVE,
                                                             live_webhook_secret="whsec_liveSecret123"))
    assert resp.status_code == 303
    row = GatewayConfig.get()
    assert row.mode == "live" and json.loads(row.test_credentials)["secret_key"] == SECRET
    assert "live mode" in soup(staff.get("/staff/gateways/")).select_one("#state-stripe").get_text()
    # Removing the live keys leaves the gateway unconfigured in live mode.
    assert staff.post("/staff/gateways/stripe/forget", {"mode": "live"}).status_code == 303
    assert GatewayConfig.get().live_credentials == "{}"
    assert soup(staff.get("/staff/gateways/")).select_one("#state-stripe").get_text(strip=True) == "Not configured"


def test_other_gateways_validate_their_own_fields(app, staff):
    resp = staff.post("/staff/gateways/stripe", {"mode": "sandbox"})
    assert resp.status_code == 422 and soup(resp).select_one("#form-stripe #e-mode")
    assert staff.post("/staff/gateways/nonsense", {"mode": "test"}).status_code == 404


def test_keys_from_the_environment_override_and_are_said_to(app, staff):
    app.config.update(STRIPE_SECRET_KEY=SECRET, STRIPE_WEBHOOK_SECRET=HOOK)
    page = soup(staff.get("/staff/gateways/"))
    assert "Ready" in page.select_one("#state-stripe").get_text()
    assert "STRIPE_SECRET_KEY" in page.select_one("#form-stripe").get_text()
    assert SECRET not in str(page)
    app.config["STRIPE_MODE"] = "live"     # the environment fixes the mode; its keys are the live ones
    page = soup(staff.get("/staff/gateways/"))
    assert "live mode" in page.select_one("#state-stripe").get_text()
    assert page.select_one("#form-stripe select[name=mode]") is None
    app.config.update(STRIPE_SECRET_KEY="", STRIPE_WEBHOOK_SECRET="")
    page = soup(staff.get("/staff/gateways/"))
    assert page.select_one("#state-stripe").get_text(strip=True) == "Not configured"


def test_staff_pages_need_a_staff_sign_in(client):
    for path in ("/staff/gateways/", "/staff/payments/", "/staff/payments/1"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]


def make_payment(doc, status="succeeded", flagged=False, key=None, **fields):
    payment = Payment.create(document=doc, gateway="stripe", amount=doc.total, currency=doc.currency,
                             status=status, idempotency_key=key or f"k-{doc.id}-{status}", flagged=flagged,
                             flag_reason="Paid twice" if flagged else "", provider_ref=f"cs_{doc.id}", **fields)
    from app.models import PaymentAllocation
    PaymentAllocation.create(payment=payment, document=doc, amount=doc.total)
    return payment


def test_payments_per_contact_per_document_and_flagged(app, staff):
    ana, bob = make_contact(name="Ana SL"), make_contact(name="Bob SA")
    a1, a2, b1 = make_document(ana, number="F-A1"), make_document(ana, number="F-A2"), make_document(bob, number="F-B1")
    p1, p2, p3 = make_payment(a1), make_payment(a2, flagged=True), make_payment(b1, status="pending")

    def ids(url):
        return {row["id"] for row in soup(staff.get(url)).select("#payments tbody tr[id]")}
    assert ids("/staff/payments/") == {f"payment-{p.id}" for p in (p1, p2, p3)}
    assert ids(f"/staff/payments/?contact={ana.id}") == {f"payment-{p1.id}", f"payment-{p2.id}"}
    assert ids(f"/staff/payments/?document={b1.id}") == {f"payment-{p3.id}"}
    assert ids("/staff/payments/?flagged=1") == {f"payment-{p2.id}"}
    assert "Flagged (1)" in soup(staff.get("/staff/payments/")).select_one("#flagged-filter").get_text()
    assert ids("/staff/payments/?contact=abc&document=999999") == {f"payment-{p.id}" for p in (p1, p2, p3)}


def test_payment_page_shows_events_and_a_flag_is_cleared_with_a_note(app, staff):
    doc = make_document(make_person().contact, number="F-9")
    payment = make_payment(doc, flagged=True)
    PaymentEvent.create(gateway="stripe", event_id="evt_1", kind="checkout.session.completed", payment=payment,
                        amount=doc.total, currency="EUR", outcome="applied, flagged")
    page = soup(staff.get(f"/staff/payments/{payment.id}"))
    events = page.select_one("#events").get_text()
    assert "evt_1" in events and "applied, flagged" in events
    assert page.select_one("#flag-reason").get_text() == "Paid twice"
    resp = staff.post(f"/staff/payments/{payment.id}/resolve", {"note": ""})
    assert resp.status_code == 422 and soup(resp).select_one("#e-note")
    assert Payment.get_by_id(payment.id).flagged
    resp = staff.post(f"/staff/payments/{payment.id}/resolve", {"note": "Refunded at Stripe"})
    assert resp.status_code == 303
    payment = Payment.get_by_id(payment.id)
    assert not payment.flagged and payment.method_note == "Refunded at Stripe"
    assert soup(staff.get(f"/staff/payments/{payment.id}")).find(id="flag") is None
    assert staff.get("/staff/payments/999999").status_code == 404


def test_webhook_for_an_unknown_gateway_is_404_and_an_unconfigured_one_400(client):
    assert client.post("/webhooks/bitcoin", data=b"{}").status_code == 404
    resp = client.post("/webhooks/stripe", data=b'{"id": "evt_1"}', headers={"Stripe-Signature": "t=1,v1=00"})
    assert resp.status_code == 400 and PaymentEvent.select().count() == 0


def test_paypal_and_square_keys_are_entered_and_masked_the_same_way(app, staff):
    resp = staff.post("/staff/gateways/paypal", {"mode": "test", "test_client_id": "AbCdEf123456",
                                                 "test_client_secret": "EFgh-secret-9876",
                                                 "test_webhook_id": "8PT5971"})
    assert resp.status_code == 303
    resp = staff.post("/staff/gateways/square", {"mode": "test", "test_access_token": "EAAA-token-000111",
                                                 "test_location_id": "L 1",
                                                 "test_webhook_signature_key": "sig-key-123456"})
    assert resp.status_code == 422 and soup(resp).select_one("#form-square #e-test_location_id")
    assert soup(resp).select_one("#form-square #f-test_location_id")["value"] == "L 1"   # not secret: kept
    assert GatewayConfig.select().where(GatewayConfig.gateway == "square").count() == 0
    page = staff.get("/staff/gateways/")
    text = page.get_data(as_text=True)
    assert "EFgh-secret-9876" not in text and "…9876" in text
    assert "AbCdEf123456" in text            # a client id is not a secret
    assert "Ready" in soup(page).select_one("#state-paypal").get_text()
    assert soup(page).select_one("#webhook-square").get_text() == "http://portal.test/webhooks/square"
