"""The business's side end to end, through the API only: a contact with a person, an invoice and
a quote, an access link that the person uses in the portal, then comments and a quote decision
made in the portal, read back through the API, and signed webhooks received by a local server.
Then issue 14's: an issued invoice whose PDF keeps the contact's old name, corrected by a credit
note that lowers what is due."""
import json
import subprocess

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


def pdf_text(data, tmp_path):
    path = tmp_path / "invoice.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout


def test_an_issued_invoice_corrected_through_the_api_alone(client, tmp_path):
    api = Api(client, create_token("ERP")[0])
    make_tax("IVA", 2100)   # tax rates are the business's settings, made in the back-office
    tax = api.get("/tax-rates").get_json()["data"]
    contact = api.post("/contacts", {"name": "Ferretería Sol", "tax_id": "B12345678"}).get_json()
    invoice = api.post("/documents", {"kind": "invoice", "contact_id": contact["id"], "issue": True, "lines": [
        {"description": "Screws", "quantity": 100, "unit_price": 12, "tax_ids": [tax[0]["id"]]},
        {"description": "Ladder", "quantity": 1, "unit_price": 8900, "tax_ids": [tax[0]["id"]]}]}).get_json()
    assert (invoice["status"], invoice["total"], invoice["amount_due"]) == ("open", 12221, 12221)

    # The customer is renamed; the issued invoice's PDF still says who it was issued to.
    renamed = api.patch(f"/contacts/{contact['id']}", {"name": "Sol Hardware Group"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Sol Hardware Group"
    pdf = api.get(f"/documents/{invoice['id']}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data, tmp_path)
    assert "Ferretería Sol" in text and "Sol Hardware Group" not in text and invoice["number"] in text

    # The ladder comes back: a credit note for that line.
    ladder = next(line for line in invoice["lines"] if line["description"] == "Ladder")
    resp = api.post(f"/documents/{invoice['id']}/credit-notes",
                    {"lines": [{"line_id": ladder["id"], "quantity": 1}], "reason": "Ladder returned"},
                    headers={"Idempotency-Key": "ladder-returned"})
    assert resp.status_code == 201, resp.get_json()
    note = resp.get_json()
    assert (note["total"], note["rectifies"]["number"], note["amount_due"]) == (10769, invoice["number"], 0)

    note_pdf = api.get(f"/documents/{note['id']}/pdf")
    assert note_pdf.status_code == 200 and note["number"] in pdf_text(note_pdf.data, tmp_path)

    fresh = api.get(f"/documents/{invoice['id']}").get_json()
    assert (fresh["amount_credited"], fresh["amount_due"], fresh["status"]) == (10769, 12221 - 10769, "open")
    assert [c["number"] for c in fresh["credit_notes"]] == [note["number"]]
    history = api.get(f"/documents/{invoice['id']}/history").get_json()["data"]
    assert [e["action"] for e in history] == ["status_open", "credit_note_issued"]
    assert {e["actor"]["name"] for e in history} == {"ERP"}
