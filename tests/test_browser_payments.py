"""Browser: paying an invoice through each gateway's (fake) hosted page, end to end.

open the invoice → choose the gateway → the hosted page → back to the invoice → the signed
webhook arrives → the invoice shows paid and the receipt downloads. The fakes run on their own
loopback ports (another origin, as the real pages are) and send their webhooks to the live
server like the providers would."""
import json

import pytest
from playwright.sync_api import expect

from app.models import GatewayConfig, Payment, PaymentEvent
from tests.fakes.stripe import API_KEY, WEBHOOK_SECRET
from tests.factories import make_contact, make_document, make_person
from tests.browser import portal_sign_in

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def configure(app, live_server, name, fake):
    """The business's keys for `name`, the SDK pointed at the fake, its webhooks sent to us."""
    app.config["BASE_URL"] = live_server.url
    fake.webhook_url = f"{live_server.url}/webhooks/{name}"
    if name == "stripe":
        app.config["STRIPE_API_BASE"] = fake.base_url
        creds = {"secret_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}
    elif name == "paypal":
        app.config["PAYPAL_API_BASE"] = fake.base_url
        creds = {"client_id": fake.client_id, "client_secret": fake.client_secret, "webhook_id": fake.webhook_id}
    else:
        app.config["SQUARE_API_BASE"] = fake.base_url
        creds = {"access_token": fake.access_token, "location_id": fake.location_id,
                 "webhook_signature_key": fake.signature_key}
    GatewayConfig.create(gateway=name, mode="test", test_credentials=json.dumps(creds))



def pay_and_check(page, live_server, name, fake, gateway_button):
    person = make_person(password=PASSWORD, contact=make_contact(name="Talleres Ruiz", gateways=name))
    invoice = make_document(person.contact, number="F-2026-0101")   # 121.00 EUR
    portal_sign_in(page, person)

    page.goto(f"/documents/{invoice.id}")
    expect(page.locator("#pay #pay-amount")).to_contain_text("121.00")
    page.click(f"#pay-{name}")
    page.wait_for_url(fake.base_url + "/**")                     # the gateway's own page
    page.click(gateway_button)
    page.wait_for_url(f"{live_server.url}/documents/{invoice.id}*")   # back on the invoice

    fake.flush()   # the webhook was sent from the fake's thread; wait for our answer to it
    answered = [status for msg in fake.outbox for status, _body in msg.results]
    assert answered and set(answered) == {200}
    assert PaymentEvent.select().where(PaymentEvent.kind != "fetch").exists()

    page.goto(f"/documents/{invoice.id}")
    expect(page.locator("#doc-title")).to_contain_text("Paid")
    expect(page.locator("#pay")).to_have_count(0)
    payment = Payment.get()
    assert payment.status == "succeeded" and not payment.flagged
    with page.expect_download() as download:
        page.click(f"#receipt-{payment.id}")
    assert download.value.suggested_filename == f"receipt-{payment.id}.pdf"
    with open(download.value.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"


def test_pay_an_invoice_with_stripe(app, page, live_server, stripe_fake):
    configure(app, live_server, "stripe", stripe_fake)
    pay_and_check(page, live_server, "stripe", stripe_fake, "#pay")


def test_pay_an_invoice_with_paypal(app, page, live_server, paypal_fake):
    configure(app, live_server, "paypal", paypal_fake)
    pay_and_check(page, live_server, "paypal", paypal_fake, "#approve")


def test_pay_an_invoice_with_square(app, page, live_server, square_fake):
    configure(app, live_server, "square", square_fake)
    square_fake.notification_url = f"{live_server.url}/webhooks/square"   # as configured at Square
    pay_and_check(page, live_server, "square", square_fake, "#pay")


def test_processing_until_the_webhook_then_paid_without_reloading(app, page, live_server, stripe_fake):
    configure(app, live_server, "stripe", stripe_fake)
    person = make_person(password=PASSWORD, contact=make_contact(gateways="stripe"))
    invoice = make_document(person.contact, number="F-2026-0102")
    portal_sign_in(page, person)
    page.goto(f"/documents/{invoice.id}")
    page.click("#pay-stripe")
    page.wait_for_url(stripe_fake.base_url + "/**")
    # The person comes back before paying is confirmed (straight to the return URL).
    payment = Payment.get()
    page.goto(f"/payments/{payment.id}/return")
    expect(page.locator("#pay-processing")).to_be_visible()
    # Stripe confirms a moment later: the page, polling, reloads itself and shows it paid.
    stripe_fake.complete(payment.provider_ref)
    expect(page.locator("#doc-title")).to_contain_text("Paid", timeout=15_000)
    expect(page.locator(f"#receipt-{payment.id}")).to_be_visible()
