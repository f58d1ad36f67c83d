"""The business's software hears of issues, payments and corrections: invoice.issued,
invoice.paid, credit_note.issued, payment.reversed and payment.refunded reach a registered
endpoint (a real local HTTP server), signed, once each, with the documents as the API shows them.

The changes are made through the API; the online payment and its refund arrive as verified
gateway events through payments.service.handle_event, the function each gateway's webhook view
calls (the gateways' own refund parsing is not on main yet)."""
import json

import pytest

from app import jobs, webhooks
from app.api.auth import create_token
from app.models import Payment, PaymentAllocation, WebhookDelivery, WebhookEndpoint
from app.payments import PAID, REFUND, Event, Outcome, RefundOutcome
from app.payments.service import handle_event
from tests.conftest import Api
from tests.factories import make_contact, settings
from tests.webhook_receiver import assert_signed

FIVE = ("invoice.issued", "invoice.paid", "credit_note.issued", "payment.refunded", "payment.reversed")


@pytest.fixture
def api(client):
    return Api(client, create_token("ERP")[0])


@pytest.fixture
def endpoint(app, receiver):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True   # the receiver is on 127.0.0.1
    return WebhookEndpoint.create(url=receiver.url, secret=webhooks.new_secret(), events=",".join(FIVE))


def received(app, receiver):
    with app.app_context():
        jobs.run_due()
    return [json.loads(r["body"]) for r in receiver.requests]


def new_invoice(api, contact, unit_price=5000):
    resp = api.post("/documents", {"kind": "invoice", "contact_id": contact.id, "issue": True,
                                   "lines": [{"description": "Consulting", "quantity": 2, "unit_price": unit_price}]})
    assert resp.status_code == 201
    return resp.get_json()


def assert_described(api, event):
    """The event's body is valid against its schema in the OpenAPI description."""
    import jsonschema_rs
    spec = api.get("/openapi.json").get_json()
    schema = spec["webhooks"][event["type"]]["post"]["requestBody"]["content"]["application/json"]["schema"]
    errors = list(jsonschema_rs.validator_for(dict(schema, components=spec["components"])).iter_errors(event))
    assert not errors, [e.message for e in errors]


def test_the_five_events_arrive_once_each_signed(app, api, endpoint, receiver):
    settings(invoice_prefix="F", credit_note_prefix="R")
    contact = make_contact(name="Talleres Ruiz")

    # An invoice issued, paid by transfer, the transfer bounced, then credited in part.
    invoice = new_invoice(api, contact)
    payment = api.post(f"/documents/{invoice['id']}/payments", {"amount": 10000}).get_json()
    assert api.post(f"/payments/{payment['id']}/reverse", {"reason": "Bounced"}).status_code == 200
    note = api.post(f"/documents/{invoice['id']}/credit-notes",
                    {"lines": [{"line_id": invoice["lines"][0]["id"], "quantity": 1}], "reason": "Half a day"},
                    headers={"Idempotency-Key": "cn-1"})
    assert note.status_code == 201
    again = api.post(f"/documents/{invoice['id']}/credit-notes",
                     {"lines": [{"line_id": invoice["lines"][0]["id"], "quantity": 1}], "reason": "Half a day"},
                     headers={"Idempotency-Key": "cn-1"})
    assert again.headers["Idempotent-Replayed"] == "true"   # a retry is no second event
    note = note.get_json()

    # Another invoice paid online, then refunded in part by the gateway (the event delivered twice).
    online = new_invoice(api, contact, unit_price=3000)
    card = Payment.create(document=online["id"], gateway="stripe", amount=6000, currency="EUR", mode="test",
                          idempotency_key="stripe-1", provider_ref="cs_1")
    PaymentAllocation.create(payment=card, document=online["id"], amount=6000)
    with app.app_context():
        assert handle_event("stripe", Event("evt_paid", "checkout.session.completed", "{}", outcome=Outcome(
            "cs_1", PAID, 6000, "EUR", payment_ref="pi_1"))) == "applied"
        refund = RefundOutcome(REFUND, "re_1", "pi_1", amount=1500, currency="EUR", reason="requested_by_customer")
        assert handle_event("stripe", Event("evt_refund", "charge.refunded", "{}", refund=refund)) == "applied"
        assert handle_event("stripe", Event("evt_refund", "charge.refunded", "{}", refund=refund)) == "duplicate"

    events = received(app, receiver)
    assert sorted(e["type"] for e in events) == sorted(
        ["invoice.issued", "invoice.issued", "invoice.paid", "invoice.paid", "payment.reversed",
         "credit_note.issued", "payment.refunded"])
    assert len({e["id"] for e in events}) == len(events)
    for request in receiver.requests:
        assert_signed(request, endpoint.secret)
        assert request["headers"]["Portal-Event-Type"] == json.loads(request["body"])["type"]
    for event in events:   # each as the description's `webhooks` section says
        assert_described(api, event)
    by_type = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event["data"])

    issued = {d["document"]["id"]: d["document"] for d in by_type["invoice.issued"]}
    assert issued[invoice["id"]]["number"] == invoice["number"] and issued[invoice["id"]]["status"] == "open"
    assert {d["document"]["id"] for d in by_type["invoice.paid"]} == {invoice["id"], online["id"]}
    assert all(d["document"]["status"] == "paid" for d in by_type["invoice.paid"])

    [reversed_] = by_type["payment.reversed"]
    assert reversed_["payment"]["id"] == payment["id"] and reversed_["payment"]["status"] == "reversed"
    assert reversed_["payment"]["reversal_reason"] == "Bounced"
    assert (reversed_["document"]["id"], reversed_["document"]["amount_due"]) == (invoice["id"], 10000)

    [credited] = by_type["credit_note.issued"]
    assert credited["document"]["id"] == note["id"] and credited["document"]["kind"] == "credit_note"
    assert credited["document"]["rectifies"]["number"] == invoice["number"]
    assert credited["document"]["reason"] == "Half a day" and credited["document"]["total"] == 5000
    assert (credited["invoice"]["id"], credited["invoice"]["amount_credited"], credited["invoice"]["amount_due"]) == \
        (invoice["id"], 5000, 5000)

    [refunded] = by_type["payment.refunded"]
    assert refunded["payment"]["id"] == card.id and refunded["payment"]["amount_refunded"] == 1500
    assert refunded["refund"]["amount"] == 1500 and refunded["refund"]["provider_ref"] == "re_1"
    assert refunded["refund"]["status"] == "succeeded" and refunded["refund"]["origin"] == "gateway"
    assert refunded["document"]["id"] == online["id"] and refunded["document"]["amount_due"] == 1500
    # The same as the API reads afterwards.
    assert api.get(f"/payments/{card.id}").get_json()["refunds"] == [refunded["refund"]]
    assert {d.status for d in WebhookDelivery.select()} == {"succeeded"}


def test_refused_corrections_send_nothing(app, api, endpoint, receiver):
    invoice = new_invoice(api, make_contact())
    too_many = {"lines": [{"line_id": invoice["lines"][0]["id"], "quantity": 3}], "reason": "r"}
    assert api.post(f"/documents/{invoice['id']}/credit-notes", too_many).status_code == 409
    payment = api.post(f"/documents/{invoice['id']}/payments", {"amount": 100}).get_json()
    assert api.post(f"/payments/{payment['id']}/reverse", {"reason": " "}).status_code == 422
    assert [e["type"] for e in received(app, receiver)] == ["invoice.issued"]


def test_an_endpoint_hears_only_the_events_it_chose(app, api, receiver):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    WebhookEndpoint.create(url=receiver.url, secret=webhooks.new_secret(), events="credit_note.issued")
    invoice = new_invoice(api, make_contact())
    api.post(f"/documents/{invoice['id']}/credit-notes", {"full": True, "reason": "Cancelled"})
    assert [e["type"] for e in received(app, receiver)] == ["credit_note.issued"]
