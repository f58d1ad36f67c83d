"""Refunds and disputes through Stripe (app/refunds.py, app/payments/stripe_gw.py) against
tests/fakes/stripe.py through the official library: staff refund fully or partly, the money
comes off the payment and the invoice once whichever of our answer and Stripe's events comes
first, refunds made in Stripe's dashboard are recorded, disputes flag the payment and a lost one
takes the money back, failures and forged events change nothing."""
import json

import pytest

from app import payments, refunds
from app.models import Activity, Payment, PaymentEvent, Refund
from app.rules import Refused
from tests.factories import PASSWORD, make_contact, make_document, make_person
from tests.payments import fresh, reload, send, sid_of, staff_by  # noqa: F401 (a fixture)


@pytest.fixture
def person(app):
    return make_person(password=PASSWORD, contact=make_contact(name="Talleres Ruiz", gateways="stripe"))


@pytest.fixture
def invoice(person):
    return make_document(person.contact, number="F-2026-0031")   # 121.00 EUR


@pytest.fixture
def paid(app, auth, person, invoice, stripe_on):
    """The invoice paid in full through Stripe Checkout, the way a customer pays it."""
    me = auth.login(person)
    me.get(f"/documents/{invoice.id}")
    sid = sid_of(me, me.post(f"/documents/{invoice.id}/pay", {"gateway": "stripe"}))
    stripe_on.complete(sid)
    assert send(app.test_client(), stripe_on.outbox[-1]).status_code == 200
    stripe_on.outbox.clear()
    payment = Payment.get()
    assert (payment.status, reload(invoice).status) == ("succeeded", "paid")
    return payment


def events_of(fake, kind):
    return [m for m in fake.outbox if m.event["type"] == kind]


def refund_calls(fake):
    return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/refunds"]


def deliver(app, msg):
    return send(app.test_client(), msg).status_code


def test_a_full_refund_gives_everything_back_and_the_invoice_owes_again(app, paid, invoice, stripe_on, staff_by):
    refund = refunds.request(paid, 12100, "Cancelled order", staff_by)
    assert (refund.status, refund.amount, refund.origin) == ("succeeded", 12100, "staff")
    [at_stripe] = stripe_on.registry("refunds").values()
    assert refund.provider_ref == at_stripe["id"]
    assert (at_stripe["payment_intent"], at_stripe["amount"], at_stripe["status"]) == (
        paid.provider_payment_ref, 12100, "succeeded")
    [call] = refund_calls(stripe_on)
    assert call.headers["idempotency-key"] == refund.idempotency_key
    payment = fresh(paid)
    assert (payment.status, payment.amount_refunded, payment.refundable) == ("refunded", 12100, 0)
    doc = reload(invoice)
    assert (doc.status, doc.amount_paid, doc.amount_due) == ("open", 0, 12100)
    actions = [a.action for a in Activity.select().where(Activity.document == invoice.id).order_by(Activity.id)]
    assert actions[-2:] == ["refund_requested", "refund_succeeded"]


def test_partial_refunds_lower_what_was_paid_until_nothing_is_left(app, paid, invoice, stripe_on, staff_by):
    first = refunds.request(paid, 5000, "One unit returned", staff_by)
    assert first.status == "succeeded"
    payment = fresh(paid)
    assert (payment.status, payment.amount_refunded) == ("succeeded", 5000)
    doc = reload(invoice)
    assert (doc.status, doc.amount_paid, doc.amount_due) == ("open", 7100, 5000)
    second = refunds.request(fresh(paid), 7100, "The rest", staff_by)
    assert second.status == "succeeded" and second.provider_ref != first.provider_ref
    assert (fresh(paid).status, fresh(paid).amount_refunded, reload(invoice).amount_paid) == ("refunded", 12100, 0)
    assert stripe_on._charge_of(paid.provider_payment_ref)["refunded"] is True


def test_the_same_idempotency_key_sent_again_refunds_once_at_stripe(app, paid, stripe_on, staff_by):
    refund = refunds.request(paid, 4000, "", staff_by)
    gateway = payments.get("stripe", paid.mode)
    again = gateway.refund(fresh(paid), refund)   # a retry after a lost answer sends the same key
    assert again.ref == refund.provider_ref
    assert len(stripe_on.registry("refunds")) == 1
    assert stripe_on._charge_of(paid.provider_payment_ref)["amount_refunded"] == 4000
    assert {c.headers["idempotency-key"] for c in refund_calls(stripe_on)} == {refund.idempotency_key}
    assert len(refund_calls(stripe_on)) == 2
    assert fresh(paid).amount_refunded == 4000


def test_our_refunds_answer_and_its_events_later_apply_the_money_once(app, paid, invoice, stripe_on, staff_by):
    refund = refunds.request(paid, 5000, "", staff_by)
    [created] = events_of(stripe_on, "refund.created")
    [charge_refunded] = events_of(stripe_on, "charge.refunded")
    assert created.event["data"]["object"]["id"] == refund.provider_ref
    for msg in (created, charge_refunded, created):
        assert deliver(app, msg) == 200
    assert fresh(paid).amount_refunded == 5000 and reload(invoice).amount_paid == 7100
    assert Refund.select().count() == 1
    outcomes = {e.kind: e.outcome for e in PaymentEvent.select()
                .where(PaymentEvent.kind != "checkout.session.completed")}
    # charge.refunded at this API version lists no refunds: it cannot say which one it is.
    assert outcomes == {"refund.created": "already applied", "charge.refunded": "ignored"}
    assert Activity.select().where(Activity.action == "refund_succeeded").count() == 1


def test_a_refund_made_in_stripes_dashboard_is_recorded_once(app, paid, invoice, stripe_on):
    at_stripe = stripe_on.refund_in_dashboard(paid.provider_payment_ref, 3000)
    [created] = events_of(stripe_on, "refund.created")
    assert [deliver(app, created) for _ in range(2)] == [200, 200]
    [refund] = Refund.select()
    assert (refund.origin, refund.status, refund.amount, refund.provider_ref, refund.created_by_id) == (
        "gateway", "succeeded", 3000, at_stripe["id"], None)
    assert fresh(paid).amount_refunded == 3000
    assert (reload(invoice).amount_paid, reload(invoice).status) == (9100, "open")
    assert [e.outcome for e in PaymentEvent.select().where(PaymentEvent.kind == "refund.created")] == ["applied"]
    entry = Activity.get(Activity.action == "refund_succeeded")
    assert entry.actor == "stripe" and json.loads(entry.data)["amount"] == 3000


def test_charge_refunded_listing_its_refunds_and_refund_updated_apply_once(app, paid, invoice, stripe_on):
    """An endpoint on an API version before 2022-11-15 gets the charge with its refunds: its
    newest one is applied, and refund.updated for that refund is then already applied."""
    at_stripe = stripe_on.refund_in_dashboard(paid.provider_payment_ref, 2000)
    charge = stripe_on._charge_of(paid.provider_payment_ref)
    listed = stripe_on.event("charge.refunded", charge, refunds={
        "object": "list", "data": [at_stripe], "has_more": False, "url": f"/v1/charges/{charge['id']}/refunds"})
    updated = stripe_on.event("refund.updated", at_stripe)
    assert deliver(app, stripe_on.message(listed)) == 200
    assert deliver(app, stripe_on.message(updated)) == 200
    assert fresh(paid).amount_refunded == 2000 and reload(invoice).amount_paid == 10100
    assert Refund.select().count() == 1


def test_a_pending_refund_waits_for_stripe_and_then_applies_once(app, paid, invoice, stripe_on, staff_by):
    stripe_on.refund_status = "pending"
    refund = refunds.request(paid, 6000, "", staff_by)
    assert refund.status == "pending" and refund.provider_ref
    assert fresh(paid).amount_refunded == 0 and reload(invoice).status == "paid"
    with pytest.raises(Refused) as refused:   # what is on its way counts as refunded
        refunds.request(fresh(paid), 6101, "", staff_by)
    assert refused.value.code == "over_refundable"
    stripe_on.outbox.clear()
    for msg in [stripe_on.message(e) for e in stripe_on.settle_refund(refund.provider_ref)]:
        assert deliver(app, msg) == 200
    assert Refund.get_by_id(refund.id).status == "succeeded"
    assert fresh(paid).amount_refunded == 6000 and reload(invoice).amount_paid == 6100
    assert Activity.select().where(Activity.action == "refund_succeeded").count() == 1


def test_a_pending_refund_that_fails_changes_nothing(app, paid, invoice, stripe_on, staff_by):
    stripe_on.refund_status = "pending"
    refund = refunds.request(paid, 6000, "", staff_by)
    for event in stripe_on.settle_refund(refund.provider_ref, "failed"):
        assert deliver(app, stripe_on.message(event)) == 200
    refund = Refund.get_by_id(refund.id)
    assert refund.status == "failed" and "expired_or_canceled_card" in refund.last_error
    assert (fresh(paid).amount_refunded, fresh(paid).status) == (0, "succeeded")
    assert (reload(invoice).amount_paid, reload(invoice).status) == (12100, "paid")
    assert Activity.select().where(Activity.action == "refund_failed").count() == 1


def test_a_refund_stripe_answers_failed_is_failed_and_changes_nothing(app, paid, invoice, stripe_on, staff_by):
    stripe_on.refund_status = "failed"
    refund = refunds.request(paid, 12100, "", staff_by)
    assert refund.status == "failed"
    assert (fresh(paid).amount_refunded, fresh(paid).status) == (0, "succeeded")
    assert (reload(invoice).amount_paid, reload(invoice).status) == (12100, "paid")


def test_a_refund_stripe_refuses_is_failed_with_its_reason(app, paid, invoice, stripe_on, staff_by):
    stripe_on.open_dispute(paid.provider_payment_ref)   # a disputed charge cannot be refunded
    refund = refunds.request(paid, 1000, "", staff_by)
    assert refund.status == "failed" and "charge_disputed" in refund.last_error
    assert not refund.provider_ref and not stripe_on.registry("refunds")
    assert fresh(paid).amount_refunded == 0 and reload(invoice).amount_paid == 12100
    entry = Activity.get(Activity.action == "refund_failed")
    assert entry.staff_id == staff_by.staff.id


def test_stripe_not_answering_fails_the_refund_and_changes_nothing(app, paid, invoice, stripe_on, staff_by):
    import socket
    with socket.socket() as sock:        # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{sock.getsockname()[1]}"
    refund = refunds.request(paid, 1000, "", staff_by)
    assert refund.status == "failed" and "APIConnectionError" in refund.last_error
    assert fresh(paid).amount_refunded == 0 and reload(invoice).amount_paid == 12100


def test_a_dispute_flags_the_payment_and_a_lost_one_takes_the_money_back(app, paid, invoice, stripe_on):
    dispute = stripe_on.open_dispute(paid.provider_payment_ref)
    [opened] = events_of(stripe_on, "charge.dispute.created")
    assert [deliver(app, opened) for _ in range(2)] == [200, 200]
    payment = fresh(paid)
    assert payment.flagged and dispute["id"] in payment.flag_reason
    assert payment.amount_refunded == 0 and reload(invoice).status == "paid"   # nothing moves yet
    assert Activity.get(Activity.action == "dispute_opened").actor == "stripe"
    stripe_on.close_dispute(dispute["id"], "lost")
    [closed] = events_of(stripe_on, "charge.dispute.closed")
    assert [deliver(app, closed) for _ in range(2)] == [200, 200]
    [chargeback] = Refund.select()
    assert (chargeback.kind, chargeback.status, chargeback.amount, chargeback.provider_ref, chargeback.origin) == (
        "chargeback", "succeeded", 12100, dispute["id"], "gateway")
    payment = fresh(paid)
    assert (payment.status, payment.amount_refunded) == ("refunded", 12100)
    assert (reload(invoice).status, reload(invoice).amount_paid) == ("open", 0)
    assert Activity.select().where(Activity.action == "chargeback").count() == 1


def test_a_dispute_won_changes_no_money(app, paid, invoice, stripe_on):
    dispute = stripe_on.open_dispute(paid.provider_payment_ref, amount=5000)
    stripe_on.close_dispute(dispute["id"], "won")
    for msg in list(stripe_on.outbox):
        assert deliver(app, msg) == 200
    assert fresh(paid).amount_refunded == 0 and reload(invoice).amount_paid == 12100
    assert not Refund.select().exists()
    entry = Activity.get(Activity.action == "dispute_closed")
    assert json.loads(entry.data)["won"] is True


@pytest.mark.parametrize("forgery", ["tampered amount", "other secret", "stale", "no signature"])
def test_a_refund_event_that_does_not_verify_is_refused_and_changes_nothing(app, paid, invoice, stripe_on, forgery):
    stripe_on.refund_in_dashboard(paid.provider_payment_ref, 3000)
    [msg] = events_of(stripe_on, "refund.created")
    body, headers = msg.body, dict(msg.headers)
    if forgery == "tampered amount":
        body = body.replace(b'"amount":3000', b'"amount":12100')
        assert body != msg.body
    elif forgery == "other secret":
        headers["Stripe-Signature"] = stripe_on.signature(body, secret="whsec_someone_else")
    elif forgery == "stale":
        import time
        headers["Stripe-Signature"] = stripe_on.signature(body, timestamp=int(time.time()) - 3600)
    else:
        del headers["Stripe-Signature"]
    resp = app.test_client().post("/webhooks/stripe", data=body, headers=headers)
    assert resp.status_code == 400
    assert not Refund.select().exists() and fresh(paid).amount_refunded == 0
    assert reload(invoice).amount_paid == 12100
    assert not PaymentEvent.select().where(PaymentEvent.kind == "refund.created").exists()


def test_a_reported_refund_larger_than_what_is_left_is_not_applied_and_flagged(app, paid, invoice, stripe_on, staff_by):
    refunds.request(paid, 10000, "", staff_by)
    # Stripe never refunds more than the charge; an event saying so is not applied but shown to staff.
    too_much = stripe_on.event("refund.created", {
        "id": "re_TooMuch0000000000000000", "object": "refund", "amount": 5000, "currency": "eur",
        "charge": stripe_on._charge_of(paid.provider_payment_ref)["id"], "payment_intent": paid.provider_payment_ref,
        "status": "succeeded", "metadata": {}, "reason": None, "created": 0})
    assert deliver(app, stripe_on.message(too_much)) == 200
    payment = fresh(paid)
    assert payment.amount_refunded == 10000 and payment.flagged
    assert reload(invoice).amount_paid == 2100
    assert Refund.get(Refund.provider_ref == "re_TooMuch0000000000000000").status == "pending"
    assert PaymentEvent.get(PaymentEvent.kind == "refund.created").outcome == "not applied: more than the payment"


def test_a_refund_event_without_an_amount_is_kept_and_changes_nothing(app, paid, invoice, stripe_on):
    event = stripe_on.event("refund.created", {"id": "re_NoAmount000000000000000", "object": "refund",
                                               "currency": "eur", "payment_intent": paid.provider_payment_ref,
                                               "status": "succeeded"})
    assert deliver(app, stripe_on.message(event)) == 200
    assert not Refund.select().exists() and fresh(paid).amount_refunded == 0
    assert PaymentEvent.get(PaymentEvent.kind == "refund.created").outcome == "not applied: no refund id or amount"
