"""Online payments, core rules and Stripe: the pay block, starting a checkout, webhooks that
are verified and applied once, amounts and currencies checked, the return URL that marks
nothing paid by itself, double clicks, flagged payments, staff keys and lists, reconcile.

Stripe is tests/fakes/stripe.py on a loopback port, reached through the official library."""
import time

import pytest
import requests

from app.models import Activity, Document, Payment, PaymentAllocation, PaymentEvent
from tests.concurrency import race
from tests.conftest import csrf_from, soup
from tests.fakes.stripe import API_KEY
from tests.factories import PASSWORD, make_contact, make_document, make_person
from tests.payments import hosted, reload, send, sid_of


@pytest.fixture
def person(app):
    return make_person(password=PASSWORD, contact=make_contact(name="Talleres Ruiz", gateways="stripe"))


@pytest.fixture
def me(auth, person):
    return auth.login(person)


@pytest.fixture
def invoice(person):
    return make_document(person.contact, number="F-2026-0001")   # 121.00 EUR


def start(me, doc, gateway="stripe", **fields):
    me.get(f"/documents/{doc.id}")
    return me.post(f"/documents/{doc.id}/pay", {"gateway": gateway, **fields})


def paid_through_stripe(me, doc, fake):
    """Start, pay on the fake's page (event to the outbox), return the signed message."""
    sid = sid_of(me, start(me, doc))
    fake.complete(sid)
    return fake.outbox[-1], sid


# --- the pay block ------------------------------------------------------------------------

def test_sidebar_offers_only_gateways_enabled_for_the_contact_and_configured(me, person, invoice, stripe_on):
    person.contact.gateways = "stripe,paypal"
    person.contact.save()
    page = soup(me.get(f"/documents/{invoice.id}"))
    block = page.select_one("#doc-sidebar #pay")
    assert block is not None
    buttons = [b["value"] for b in block.select("button[name=gateway]")]
    assert buttons == ["stripe"]   # PayPal is enabled for the contact but not configured
    assert "121.00" in block.find(id="pay-amount").get_text()
    assert block.find(id="pay-several-link") is None       # only one invoice waits
    form = block.find("form", id="pay-form")
    assert form["method"] == "post" and form["action"] == f"/documents/{invoice.id}/pay"
    assert form.find("input", attrs={"name": "csrf_token"})


def test_no_pay_block_without_an_enabled_gateway_or_without_anything_due(auth, stripe_on):
    nobody = make_person(password=PASSWORD, contact=make_contact(gateways=""))
    doc = make_document(nobody.contact)
    assert soup(auth.login(nobody).get(f"/documents/{doc.id}")).find(id="pay") is None
    someone = make_person(password=PASSWORD, contact=make_contact(gateways="stripe"))
    browser = auth.login(someone)
    paid = make_document(someone.contact, status="paid", amount_paid=12100)
    void = make_document(someone.contact, status="void")
    quote = make_document(someone.contact, kind="quote")
    cancelled = make_document(someone.contact, kind="order", status="cancelled")
    for doc in (paid, void, quote, cancelled):
        assert soup(browser.get(f"/documents/{doc.id}")).find(id="pay") is None, doc.status
    order = make_document(someone.contact, kind="order", status="confirmed")
    assert soup(browser.get(f"/documents/{order.id}")).select_one("#pay button#pay-stripe")


def test_no_pay_block_when_the_business_has_no_keys(me, invoice, stripe_fake):
    assert soup(me.get(f"/documents/{invoice.id}")).find(id="pay") is None


# --- starting a checkout ------------------------------------------------------------------

def test_choosing_stripe_opens_a_checkout_for_exactly_the_amount_due(me, person, invoice, stripe_on):
    Document.update(amount_paid=2100).where(Document.id == invoice.id).execute()
    resp = start(me, invoice, amount="0.01")   # a typed amount is ignored without partial payments
    url = hosted(me, resp)
    [session] = stripe_on.sessions()
    assert url == session["url"]
    assert session["amount_total"] == 10000 and session["currency"] == "eur"
    payment = Payment.get()
    assert (payment.status, payment.amount, payment.currency, payment.gateway) == ("pending", 10000, "EUR", "stripe")
    assert payment.provider_ref == session["id"] and payment.person_id == person.id and payment.mode == "test"
    assert session["client_reference_id"] == str(payment.id)
    assert session["metadata"] == {"payment": str(payment.id), "documents": str(invoice.id),
                                   "contact": str(person.contact_id)}
    assert session["success_url"] == f"http://portal.test/payments/{payment.id}/return"
    assert [(a.document_id, a.amount) for a in PaymentAllocation.select()] == [(invoice.id, 10000)]
    # The key stored before the call is the one Stripe received.
    create = [r for r in stripe_on.requests if r.method == "POST"][0]
    assert create.headers["idempotency-key"] == payment.idempotency_key
    assert reload(invoice).amount_paid == 2100


def test_a_gateway_not_enabled_for_the_contact_cannot_be_used_even_by_hand(app, me, person, invoice, stripe_on):
    person.contact.gateways = "paypal"     # enabled but not configured; stripe configured, not enabled
    person.contact.save()
    for gateway in ("stripe", "paypal", "square", "manual", ""):
        assert start(me, invoice, gateway=gateway).status_code == 403
    person.contact.gateways = "stripe"     # now one is usable; any other name is refused
    person.contact.save()
    for gateway in ("paypal", "square", "manual", "", "stripe,paypal"):
        resp = start(me, invoice, gateway=gateway)
        assert resp.status_code == 422
        assert soup(resp).select_one("#pay #e-gateway").get_text() == "Choose one of the options."
    assert Payment.select().count() == 0 and stripe_on.created == 0


def test_someone_elses_document_or_a_draft_cannot_be_paid(app, me, stripe_on):
    other = make_document(make_contact(gateways="stripe"))
    draft = make_document(Document.select().first().contact if Document.select().exists() else make_contact(),
                          status="draft")
    me.get("/")
    for doc in (other, draft):
        assert me.post(f"/documents/{doc.id}/pay", {"gateway": "stripe"}).status_code == 404
    assert Payment.select().count() == 0 and stripe_on.created == 0


def test_nothing_due_means_nothing_started(me, person, stripe_on):
    paid = make_document(person.contact, status="paid", amount_paid=12100)
    resp = start(me, paid)
    assert resp.status_code == 303 and resp.headers["Location"] == f"/documents/{paid.id}"
    assert Payment.select().count() == 0 and stripe_on.created == 0


def test_pay_requires_csrf_and_sign_in(app, me, invoice, stripe_on):
    assert me.post(f"/documents/{invoice.id}/pay", {"gateway": "stripe"}, token=False).status_code == 400
    anonymous = app.test_client()
    resp = anonymous.post(f"/documents/{invoice.id}/pay", data={"gateway": "stripe"})
    assert resp.status_code in (302, 400)
    assert Payment.select().count() == 0


def test_a_double_click_starts_one_payment(me, invoice, stripe_on):
    first = start(me, invoice)
    second = me.post(f"/documents/{invoice.id}/pay", {"gateway": "stripe"})
    assert first.headers["Location"] == second.headers["Location"]
    assert Payment.select().count() == 1 and stripe_on.created == 1


def test_two_clicks_at_the_same_moment_start_one_payment(app, live_server, person, invoice, stripe_on):
    app.config["BASE_URL"] = live_server.url
    session = requests.Session()
    token = csrf_from(session.get(live_server.url + "/login").text)
    session.post(live_server.url + "/login", data={"email": person.email, "password": PASSWORD,
                                                    "csrf_token": token}, allow_redirects=False)
    token = csrf_from(session.get(f"{live_server.url}/documents/{invoice.id}").text)

    def click():
        return session.post(f"{live_server.url}/documents/{invoice.id}/pay", allow_redirects=False,
                            data={"gateway": "stripe", "csrf_token": token}, timeout=30)
    answers = race(click, click, click, timeout=30)
    assert [a.status_code for a in answers] == [303, 303, 303]
    assert len({a.headers["Location"] for a in answers}) == 1
    assert Payment.select().count() == 1 and stripe_on.created == 1


def test_leaving_the_checkout_lets_the_next_click_start_afresh(me, invoice, stripe_on):
    start(me, invoice)
    payment = Payment.get()
    resp = me.get(f"/payments/{payment.id}/cancel")
    assert resp.status_code == 303 and resp.headers["Location"] == f"/documents/{invoice.id}#pay"
    assert Payment.get_by_id(payment.id).status == "cancelled"
    start(me, invoice)
    assert Payment.select().count() == 2 and stripe_on.created == 2


def test_a_gateway_that_refuses_leaves_a_failed_attempt_and_an_explanation(app, me, invoice, stripe_on):
    stripe_on.api_key = "sk_test_another_key_entirely"     # our key no longer works
    try:
        resp = start(me, invoice)
    finally:
        stripe_on.api_key = API_KEY
    assert resp.status_code == 303 and resp.headers["Location"] == f"/documents/{invoice.id}"
    payment = Payment.get()
    assert payment.status == "failed" and "AuthenticationError" in payment.last_error
    assert API_KEY not in payment.last_error
    page = soup(me.get(f"/documents/{invoice.id}"))
    assert "did not answer" in page.select_one(".flash-error").get_text()
    # The next click starts a new attempt that works.
    assert hosted(me, start(me, invoice)).startswith(stripe_on.base_url)


# --- webhooks -----------------------------------------------------------------------------

def test_signed_webhook_marks_the_invoice_paid_once(app, me, person, invoice, stripe_on):
    msg, sid = paid_through_stripe(me, invoice, stripe_on)
    assert reload(invoice).status == "open"     # nothing before the webhook
    for _ in range(2):
        resp = send(app.test_client(), msg)
        assert resp.status_code == 200
    doc = reload(invoice)
    assert (doc.status, doc.amount_paid) == ("paid", 12100)
    payment = Payment.get()
    assert payment.status == "succeeded" and payment.paid_at and payment.provider_payment_ref.startswith("pi_")
    assert not payment.flagged
    [event] = PaymentEvent.select()
    assert (event.event_id, event.kind, event.payment_id, event.amount, event.currency, event.outcome) == (
        msg.event["id"], "checkout.session.completed", payment.id, 12100, "EUR", "applied")
    assert Activity.select().where(Activity.action == "payment_succeeded").count() == 1
    page = soup(me.get(f"/documents/{invoice.id}"))
    assert page.find(id="pay") is None
    assert page.select_one(f"#receipts a#receipt-{payment.id}")["href"] == f"/payments/{payment.id}/receipt"


def test_the_same_event_delivered_at_once_is_applied_once(app, live_server, me, invoice, stripe_on):
    msg, _sid = paid_through_stripe(me, invoice, stripe_on)
    results = stripe_on.deliver(msg, times=6, concurrent=True, url=live_server.url + "/webhooks/stripe")
    assert [status for status, _body in results] == [200] * 6
    assert reload(invoice).amount_paid == 12100
    assert PaymentEvent.select().count() == 1
    assert Activity.select().where(Activity.action == "payment_succeeded").count() == 1


def test_two_events_for_one_session_at_once_apply_it_once(app, live_server, me, invoice, stripe_on):
    msg, sid = paid_through_stripe(me, invoice, stripe_on)
    other = stripe_on.event("checkout.session.async_payment_succeeded", stripe_on.registry("sessions")[sid])
    url = live_server.url + "/webhooks/stripe"
    [first], [second] = race(lambda: stripe_on.deliver(msg, url=url), lambda: stripe_on.deliver(other, url=url),
                             timeout=30)
    assert sorted(status for status, _body in (first, second)) == [200, 200]
    assert reload(invoice).amount_paid == 12100
    assert sorted(e.outcome for e in PaymentEvent.select()) == ["already applied", "applied"]


@pytest.mark.parametrize("tamper", ["no signature", "wrong secret", "tampered body", "old timestamp",
                                    "garbage header", "future-only scheme"])
def test_unverified_webhooks_get_400_and_change_nothing(app, me, invoice, stripe_on, tamper):
    msg, _sid = paid_through_stripe(me, invoice, stripe_on)
    body, headers = msg.body, dict(msg.headers)
    if tamper == "no signature":
        headers.pop("Stripe-Signature")
    elif tamper == "wrong secret":
        headers["Stripe-Signature"] = stripe_on.signature(body, secret="whsec_someone_else_entirely")
    elif tamper == "tampered body":
        body = body.replace(b'"amount_total":12100', b'"amount_total":12101')
        assert body != msg.body
    elif tamper == "old timestamp":
        headers["Stripe-Signature"] = stripe_on.signature(body, timestamp=int(time.time()) - 400)
    elif tamper == "garbage header":
        headers["Stripe-Signature"] = "t=abc,v1=zz"
    else:
        headers["Stripe-Signature"] = headers["Stripe-Signature"].replace("v1=", "v0=")
    resp = app.test_client().post("/webhooks/stripe", data=body, headers=headers)
    assert resp.status_code == 400
    assert PaymentEvent.select().count() == 0
    assert reload(invoice).amount_paid == 0 and Payment.get().status == "pending"


def amended(fake, sid, **changes):
    """A properly signed completion event whose session says something else."""
    session = dict(fake.registry("sessions")[sid])
    return fake.message(fake.event("checkout.session.completed", session, **changes))


@pytest.mark.parametrize("changes", [
    {"amount_total": 100},
    {"currency": "usd"},
    {"amount_total": 12101},
], ids=["lower amount", "other currency", "higher amount"])
def test_an_event_with_another_amount_or_currency_does_not_mark_it_paid(app, me, invoice, stripe_on, changes):
    sid = sid_of(me, start(me, invoice))
    stripe_on.complete(sid, emit=False)
    assert send(app.test_client(), amended(stripe_on, sid, **changes)).status_code == 200
    doc = reload(invoice)
    assert (doc.status, doc.amount_paid) == ("open", 0)
    payment = Payment.get()
    assert payment.status == "pending" and payment.flagged and "reported" in payment.flag_reason
    assert PaymentEvent.get().outcome.startswith("not applied")


def test_an_event_naming_another_contacts_document_does_not_mark_anything_paid(app, me, invoice, stripe_on):
    stranger = make_document(make_contact(gateways="stripe"), number="F-OTHER")
    sid = sid_of(me, start(me, invoice))
    stripe_on.complete(sid, emit=False)
    payment = Payment.get()
    forged = amended(stripe_on, sid, metadata={"payment": str(payment.id), "documents": str(stranger.id),
                                              "contact": str(stranger.contact_id)})
    assert send(app.test_client(), forged).status_code == 200
    assert reload(invoice).amount_paid == 0 and reload(stranger).amount_paid == 0
    assert Payment.get().flagged and Payment.get().status == "pending"


def test_an_event_about_an_unknown_session_is_kept_and_ignored(app, me, invoice, stripe_on):
    msg = stripe_on.message(stripe_on.event("checkout.session.completed", {
        "id": "cs_test_not_ours", "object": "checkout.session", "status": "complete", "payment_status": "paid",
        "amount_total": 12100, "currency": "eur", "metadata": {"documents": str(invoice.id)}}))
    assert send(app.test_client(), msg).status_code == 200
    assert reload(invoice).amount_paid == 0
    assert PaymentEvent.get().outcome == "no payment has this reference"
    other = stripe_on.message(stripe_on.event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert send(app.test_client(), other).status_code == 200
    assert PaymentEvent.select().where(PaymentEvent.outcome == "ignored").count() == 1


def test_a_payment_for_an_already_paid_document_is_recorded_and_flagged(app, me, staff, invoice, stripe_on):
    msg, _sid = paid_through_stripe(me, invoice, stripe_on)
    staff.get(f"/staff/documents/{invoice.id}")
    resp = staff.post(f"/staff/documents/{invoice.id}/payments", {"amount": "121.00", "paid_on": "2026-11-20",
                                                                   "note": "transfer"})
    assert resp.status_code == 303 and reload(invoice).status == "paid"
    assert send(app.test_client(), msg).status_code == 200
    assert reload(invoice).amount_paid == 12100   # not 242.00
    payment = Payment.get(Payment.gateway == "stripe")
    assert payment.status == "succeeded" and payment.flagged and invoice.number in payment.flag_reason
    assert PaymentAllocation.get().applied == 0
    flagged = soup(staff.get("/staff/payments/?flagged=1"))
    assert flagged.find(id=f"payment-{payment.id}") is not None
    assert len(flagged.select("#payments tbody tr.flagged")) == 1


def test_expired_session_marks_the_attempt_cancelled(app, me, invoice, stripe_on):
    sid = sid_of(me, start(me, invoice))
    session = dict(stripe_on.registry("sessions")[sid], status="expired")
    expired = stripe_on.message(stripe_on.event("checkout.session.expired", session))
    assert send(app.test_client(), expired).status_code == 200
    assert Payment.get().status == "cancelled" and reload(invoice).amount_paid == 0


# --- coming back --------------------------------------------------------------------------

def test_the_return_url_alone_marks_nothing_paid(app, me, invoice, stripe_on):
    sid = sid_of(me, start(me, invoice))
    payment = Payment.get()
    back = me.get(f"/payments/{payment.id}/return?session_id={sid}&status=paid&payment_status=paid")
    assert back.status_code == 303 and back.headers["Location"] == f"/documents/{invoice.id}#pay"
    assert reload(invoice).amount_paid == 0 and Payment.get().status == "pending"
    page = soup(me.get(f"/documents/{invoice.id}"))
    processing = page.select_one("#pay #pay-panel")
    assert page.find(id="pay-processing") is not None and page.find(id="pay-form") is None
    assert processing["hx-get"] == f"/documents/{invoice.id}/pay" and "every" in processing["hx-trigger"]
    # The fragment polls; while the gateway has not confirmed, it stays "processing".
    frag = me.client.get(f"/documents/{invoice.id}/pay", headers={"HX-Request": "true"})
    assert frag.status_code == 200 and soup(frag).find(id="pay-processing") and "HX-Refresh" not in frag.headers


def test_on_return_we_ask_stripe_and_a_paid_session_settles_without_the_webhook(app, me, invoice, stripe_on):
    sid = sid_of(me, start(me, invoice))
    stripe_on.complete(sid, emit=False)         # the webhook is lost
    payment = Payment.get()
    me.get(f"/payments/{payment.id}/return")
    assert reload(invoice).status == "paid"
    assert PaymentEvent.get().kind == "fetch"
    frag = me.client.get(f"/documents/{invoice.id}/pay", headers={"HX-Request": "true"})
    assert frag.headers["HX-Refresh"] == "true"
    # The webhook arriving afterwards changes nothing more.
    stripe_on.emit(stripe_on.event("checkout.session.completed", stripe_on.registry("sessions")[sid]))
    assert send(app.test_client(), stripe_on.outbox[-1]).status_code == 200
    assert reload(invoice).amount_paid == 12100


def test_someone_elses_payment_pages_are_404(auth, me, invoice, stripe_on):
    start(me, invoice)
    payment = Payment.get()
    other = make_person(password=PASSWORD, contact=make_contact(gateways="stripe"))
    browser = auth.login(other)
    for path in ("go", "return", "cancel", "receipt"):
        assert browser.get(f"/payments/{payment.id}/{path}").status_code == 404
    assert Payment.get().returned_at is None and Payment.get().status == "pending"


# --- receipts -----------------------------------------------------------------------------

def pdf_text(data, tmp_path):
    import subprocess
    path = tmp_path / "receipt.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout


def test_receipt_pdf_downloads_in_the_persons_language(app, me, person, invoice, stripe_on, tmp_path):
    msg, _sid = paid_through_stripe(me, invoice, stripe_on)
    payment = Payment.get()
    assert me.get(f"/payments/{payment.id}/receipt").status_code == 404   # not paid yet
    send(app.test_client(), msg)
    resp = me.get(f"/payments/{payment.id}/receipt")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="receipt-{payment.id}.pdf"'
    text = pdf_text(resp.data, tmp_path)
    assert "F-2026-0001" in text and "Talleres Ruiz" in text and "€121.00" in text
    person.language = "es"
    person.save()
    text = pdf_text(me.get(f"/payments/{payment.id}/receipt").data, tmp_path)
    assert "121,00 €" in text


def test_a_receipt_is_mailed_to_the_person_who_paid(app, me, person, invoice, stripe_on):
    from app.models import Job
    msg, _sid = paid_through_stripe(me, invoice, stripe_on)
    send(app.test_client(), msg)
    from app import mail
    [job] = [j for j in Job.select() if j.kind == "mail" and j.data["to"] == [person.email]]
    with app.app_context():
        sent = mail.compose(job.data)   # as its job will render it
    # In the business default language (es) as the person chose none.
    assert "121,00" in sent["subject"] and f"http://portal.test/documents/{invoice.id}" in sent["text"]


# --- reconcile ----------------------------------------------------------------------------

def test_reconcile_repairs_what_a_lost_webhook_left_behind(app, runner, me, person, stripe_on):
    lost = make_document(person.contact, number="F-LOST")
    waiting = make_document(person.contact, number="F-WAIT")
    sid = sid_of(me, start(me, lost))
    start(me, waiting)
    stripe_on.complete(sid, emit=False)
    result = runner.invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "applied" in result.output and "pending" in result.output and "checked 2 payment(s)" in result.output
    assert reload(lost).status == "paid" and reload(waiting).status == "open"
    again = runner.invoke(args=["payments", "reconcile"])
    assert "checked 1 payment(s)" in again.output and reload(lost).amount_paid == 12100


def test_reconcile_finds_a_checkout_whose_answer_we_never_stored(app, runner, me, person, invoice, stripe_on):
    sid = sid_of(me, start(me, invoice))
    # As if the create call's answer had been lost: our row knows no session.
    Payment.update(provider_ref="", checkout_url="").execute()
    stripe_on.complete(sid, emit=False)
    result = runner.invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    payment = Payment.get()
    assert payment.provider_ref == sid and payment.status == "succeeded"
    assert reload(invoice).status == "paid"
    assert PaymentEvent.get().kind == "reconcile"



def test_reconcile_reads_every_page_of_sessions(app, runner, me, person, invoice, stripe_on):
    """Our lost checkout is the oldest of 130 recent sessions: beyond Stripe's first page of 100."""
    sid = sid_of(me, start(me, invoice))
    Payment.update(provider_ref="", checkout_url="").execute()
    stripe_on.complete(sid, emit=False)
    import stripe
    client = stripe.StripeClient(API_KEY, base_addresses={"api": stripe_on.base_url})
    for n in range(129):   # other shops' checkouts on the same account, newer than ours
        client.v1.checkout.sessions.create(params={
            "mode": "payment", "success_url": "https://example.com/s", "cancel_url": "https://example.com/c",
            "line_items": [{"quantity": 1, "price_data": {"currency": "eur", "unit_amount": 100 + n,
                                                          "product_data": {"name": f"other {n}"}}}]})
    assert len(stripe_on.sessions()) == 130
    result = runner.invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    assert Payment.get().provider_ref == sid and reload(invoice).status == "paid"


# --- delayed methods (SEPA debit, bank transfer) -------------------------------------------

def delayed_checkout(app, me, invoice, fake):
    """The customer completes a checkout with a delayed method and comes back to the portal."""
    sid = sid_of(me, start(me, invoice))
    fake.complete(sid, delayed=True)
    assert send(app.test_client(), fake.outbox[-1]).status_code == 200
    return sid


def test_a_delayed_payment_shows_processing_until_its_money_arrives(app, me, invoice, stripe_on):
    sid = delayed_checkout(app, me, invoice, stripe_on)
    payment = Payment.get()
    assert payment.status == "pending" and payment.processing_since is not None
    assert PaymentEvent.get().outcome == "processing"
    page = soup(me.get(f"/documents/{invoice.id}"))
    assert reload(invoice).status == "open"
    assert page.find(id="pay-form") is None    # not offered to pay twice while the debit runs
    assert "on its way" in page.find(id="pay-processing").get_text()
    # Days later, still processing: the 24-hour window of an unconfirmed return does not apply.
    Payment.update(created_at=Payment.created_at.db_value(payment.created_at.replace(year=2020))).execute()
    assert soup(me.get(f"/documents/{invoice.id}")).find(id="pay-processing") is not None

    stripe_on.settle_delayed(sid, succeeded=True)
    assert send(app.test_client(), stripe_on.outbox[-1]).status_code == 200
    doc = reload(invoice)
    assert (doc.status, doc.amount_paid) == ("paid", 12100)
    assert Payment.get().status == "succeeded"
    assert soup(me.get(f"/documents/{invoice.id}")).find(id="pay-processing") is None


def test_a_delayed_payment_that_fails_offers_paying_again(app, me, invoice, stripe_on):
    sid = delayed_checkout(app, me, invoice, stripe_on)
    stripe_on.settle_delayed(sid, succeeded=False)
    assert send(app.test_client(), stripe_on.outbox[-1]).status_code == 200
    doc = reload(invoice)
    assert (doc.status, doc.amount_paid) == ("open", 0)
    assert Payment.get().status == "failed"
    page = soup(me.get(f"/documents/{invoice.id}"))
    assert page.find(id="pay-processing") is None and page.find(id="pay-form") is not None


def test_coming_back_from_a_delayed_checkout_asks_stripe_and_shows_processing(app, me, invoice, stripe_on):
    sid = sid_of(me, start(me, invoice))
    stripe_on.complete(sid, emit=False, delayed=True)      # the webhook is late
    payment = Payment.get()
    me.get(f"/payments/{payment.id}/return")
    assert Payment.get().processing_since is not None and reload(invoice).status == "open"


def test_the_business_software_hears_of_online_payments(app, me, invoice, stripe_on):
    import json as _json
    from app.models import WebhookDelivery, WebhookEndpoint
    WebhookEndpoint.create(url="http://93.184.216.34/hook", secret="whsec_ours",
                           events="payment.succeeded,payment.failed")
    msg, _sid = paid_through_stripe(me, invoice, stripe_on)
    send(app.test_client(), msg)
    send(app.test_client(), msg)
    [delivery] = WebhookDelivery.select()
    data = _json.loads(delivery.body)
    assert data["type"] == "payment.succeeded"
    assert data["data"]["payment"]["gateway"] == "stripe" and data["data"]["payment"]["amount"] == 12100
    assert data["data"]["document"]["id"] == invoice.id
