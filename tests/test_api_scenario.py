"""The business's side end to end, through the API only: a contact with a person, an invoice and
a quote, an access link that the person uses in the portal, then comments and a quote decision
made in the portal, read back through the API, and signed webhooks received by a local server."""
import json

from app import jobs, webhooks
from app.api.auth import create_token
from app.models import WebhookDelivery
from tests.conftest import Api, soup
from tests.factories import make_tax
from tests.webhook_receiver import assert_signed


def test_api_only_scenario(app, client, browser, receiver):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True   # the receiver is on 127.0.0.1
    _scenario(app, Api(client, create_token("ERP")[0]), browser, receiver)


def _scenario(app, api, browser, receiver):
    from app.models import WebhookEndpoint
    endpoint = WebhookEndpoint.create(url=receiver.url, secret=webhooks.new_secret(),
                                      events=",".join(webhooks.WEBHOOK_EVENTS))
    tax = make_tax("IVA", 2100)

    contact = api.post("/contacts", {"name": "Ferretería Sol", "portal_enabled": True},
                       headers={"Idempotency-Key": "contact-1"}).get_json()
    person = api.post(f"/contacts/{contact['id']}/people", {"name": "Ana", "email": "ana@sol.example"}).get_json()
    invoice = api.post("/documents", {"kind": "invoice", "contact_id": contact["id"], "issue": True,
                                      "lines": [{"description": "Screws", "quantity": 100, "unit_price": 12,
                                                 "tax_ids": [tax.id]}]}).get_json()
    quote = api.post("/documents", {"kind": "quote", "contact_id": contact["id"],
                                    "lines": [{"description": "Ladder", "unit_price": 8900}]}).get_json()
    assert api.post(f"/documents/{quote['id']}/issue").status_code == 200
    assert invoice["total"] == 1452 and invoice["status"] == "open"
    link = api.post(f"/contacts/{contact['id']}/access-links", {"person_id": person["id"]}).get_json()

    # The person uses the link and sees the invoice.
    path = link["url"][len("http://portal.test"):]
    assert browser.get(path).status_code == 200
    assert browser.post(path).status_code == 303
    listing = soup(browser.get("/invoices"))
    assert invoice["number"] in listing.get_text()
    page = browser.get(invoice["portal_url"][len("http://portal.test"):])
    assert page.status_code == 200 and invoice["number"] in page.get_data(as_text=True)

    # Comments and a decision, through the portal's own forms.
    doc_path = quote["portal_url"][len("http://portal.test"):]
    browser.get(doc_path)
    assert browser.post(f"{doc_path}/comments", {"body": "Can it arrive by Friday?"}).status_code == 303
    resp = browser.post(f"{doc_path}/decision", {"decision": "accept", "signer_name": "Ana",
                                                 "po_reference": "PO-7", "accept_terms": "1"})
    assert resp.status_code == 303

    # The API lists and reads what happened.
    listed = api.get(f"/documents?contact_id={contact['id']}&kind=invoice").get_json()["data"]
    assert [d["id"] for d in listed] == [invoice["id"]]
    read = api.get(f"/documents/{quote['id']}").get_json()
    assert read["status"] == "accepted" and read["decision"]["signer_name"] == "Ana"
    assert read["comments"][0]["body"] == "Can it arrive by Friday?" and read["comments"][0]["author_type"] == "person"
    assert api.post(f"/documents/{quote['id']}/comments", {"body": "Yes, Friday."}).status_code == 201
    comments = api.get(f"/comments?document_id={quote['id']}").get_json()["data"]
    assert [c["author_name"] for c in comments] == ["ERP", "Ana"]

    # The endpoint received each event once, signed.
    with app.app_context():
        jobs.run_due()
    events = [json.loads(r["body"]) for r in receiver.requests]
    types = sorted(e["type"] for e in events)
    assert types.count("document.viewed") == 2   # the invoice, then the quote
    assert "quote.accepted" in types and types.count("comment.created") == 2
    viewed = [e for e in events if e["type"] == "document.viewed"]
    assert {e["data"]["document"]["id"] for e in viewed} == {invoice["id"], quote["id"]}
    assert viewed[0]["data"]["person"]["email"] == "ana@sol.example"
    assert len({e["id"] for e in events}) == len(events)
    for request in receiver.requests:
        assert_signed(request, endpoint.secret)
    assert {d.status for d in WebhookDelivery.select()} == {"succeeded"}
