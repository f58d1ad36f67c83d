"""The REST API: tokens, the error shape, each resource, idempotency keys, rate limits."""
import datetime

import pytest

from app.api.auth import create_token
from app.models import (AccessLink, Activity, ApiToken, Category, Comment, Contact, Document, Job,
                        Payment, Product, QuoteDecision, WebhookDelivery, WebhookEndpoint, utcnow)
from tests.conftest import Api, soup
from tests.factories import (make_category, make_contact, make_document, make_person, make_product,
                             make_tax, settings)


@pytest.fixture
def token(app):
    return create_token("ERP System")


@pytest.fixture
def api(client, token):
    return Api(client, token[0])


def error_of(resp):
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


# --- tokens and errors ------------------------------------------------------------------------

@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc", "Bearer " + "x" * 300])
def test_requests_without_a_valid_token_are_401(client, header):
    resp = client.get("/api/v1/contacts", headers={"Authorization": header} if header else {})
    assert resp.status_code == 401
    assert error_of(resp)["code"] == "unauthorized"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_is_stored_hashed_and_records_its_use(api, token):
    clear, row = token
    assert clear.startswith("portal_") and clear not in row.token_hash and len(row.token_hash) == 64
    assert ApiToken.get_by_id(row.id).last_used_at is None
    assert api.get("/contacts").status_code == 200
    assert ApiToken.get_by_id(row.id).last_used_at is not None


def test_revoked_token_stops_working(api, token):
    assert api.get("/contacts").status_code == 200
    token[1].revoke()
    assert api.get("/contacts").status_code == 401


def test_read_only_token_cannot_write(client):
    clear, _row = create_token("BI", can_write=False)
    api = Api(client, clear)
    assert api.get("/contacts").status_code == 200
    resp = api.post("/contacts", {"name": "X"})
    assert resp.status_code == 403 and error_of(resp)["code"] == "read_only_token"
    assert Contact.select().count() == 0


def test_unknown_api_url_and_method_answer_json(api):
    resp = api.get("/nothing-here")
    assert resp.status_code == 404 and resp.mimetype == "application/json" and error_of(resp)["code"] == "not_found"
    resp = api.client.delete("/api/v1/contacts", headers=api.headers())
    assert resp.status_code == 405 and error_of(resp)["code"] == "method_not_allowed"
    assert "POST" in resp.headers["Allow"]


def test_malformed_json_is_400(api):
    resp = api.client.post("/api/v1/contacts", data="{nope", headers=api.headers({"Content-Type": "application/json"}))
    assert resp.status_code == 400 and error_of(resp)["code"] == "invalid_json"
    resp = api.post("/contacts", json=[1, 2])
    assert resp.status_code == 400


def test_post_without_csrf_token_works_for_the_api(api):
    # Bearer tokens are not sent by browsers on their own: the API is exempt from CSRF.
    assert api.post("/contacts", {"name": "ACME"}).status_code == 201


def test_cli_creates_a_token_printed_once(app, runner, client):
    result = runner.invoke(args=["api-token", "create", "Warehouse"])
    assert result.exit_code == 0, result.output
    clear = result.stdout.strip().splitlines()[0]
    row = ApiToken.get(ApiToken.name == "Warehouse")
    assert clear.startswith(row.prefix) and clear not in row.token_hash
    assert Api(client, clear).get("/contacts").status_code == 200
    assert runner.invoke(args=["api-token", "create", " "]).exit_code != 0


# --- contacts and people ----------------------------------------------------------------------

def test_create_read_update_contact(api):
    resp = api.post("/contacts", {"name": "  ACME S.L. ", "email": "Billing@ACME.example", "kind": "company",
                                  "payment_methods": ["paypal", "stripe"], "portal_enabled": True,
                                  "discount_bp": 500, "currency": "usd"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["name"] == "ACME S.L." and body["email"] == "billing@acme.example"
    assert body["payment_methods"] == ["stripe", "paypal"] and body["currency"] == "USD"
    assert resp.headers["Location"].endswith(f"/api/v1/contacts/{body['id']}")
    assert api.get(f"/contacts/{body['id']}").get_json() == body
    resp = api.patch(f"/contacts/{body['id']}", {"portal_enabled": False, "payment_methods": []})
    assert resp.status_code == 200
    contact = Contact.get_by_id(body["id"])
    assert contact.portal_enabled is False and contact.gateways == "" and contact.name == "ACME S.L."
    assert Activity.get(Activity.contact == contact).action == "portal_off"


@pytest.mark.parametrize("payload, field", [
    ({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 201}, "name"), ({"name": 5}, "name"),
    ({"name": "A", "email": "nope"}, "email"), ({"name": "A", "kind": "alien"}, "kind"),
    ({"name": "A", "discount_bp": -1}, "discount_bp"), ({"name": "A", "discount_bp": 1.5}, "discount_bp"),
    ({"name": "A", "currency": "EURO"}, "currency"), ({"name": "A", "payment_methods": ["cash"]}, "payment_methods"),
    ({"name": "A", "portal_enabled": "yes"}, "portal_enabled"), ({"name": "A", "colour": "red"}, "colour"),
    ({"name": "A\nB"}, "name"), ({"name": "A\x00"}, "name"), ({"name": "A", "language": "xx"}, "language"),
])
def test_contact_validation_names_the_field_and_writes_nothing(api, payload, field):
    resp = api.post("/contacts", payload)
    assert resp.status_code == 422
    err = error_of(resp)
    assert err["code"] == "validation_failed" and field in err["fields"]
    assert Contact.select().count() == 0


def test_patch_refuses_emptying_the_name(api):
    contact = make_contact("Kept")
    resp = api.patch(f"/contacts/{contact.id}", {"name": " "})
    assert resp.status_code == 422 and "name" in error_of(resp)["fields"]
    assert Contact.get_by_id(contact.id).name == "Kept"


def test_missing_contact_is_404(api):
    for url in ("/contacts/999", "/contacts/99999999999999999999", "/contacts/999/people"):
        resp = api.get(url)
        assert resp.status_code == 404 and error_of(resp)["code"] == "not_found"


def test_contacts_list_filters_and_paginates_with_a_cursor(api):
    made = [make_contact(f"Client {n}", portal_enabled=n % 2 == 0) for n in range(5)]
    page = api.get("/contacts?limit=2").get_json()
    assert [c["id"] for c in page["data"]] == [made[4].id, made[3].id]
    seen = [c["id"] for c in page["data"]]
    while page["next_cursor"]:
        make_contact("Added meanwhile")   # new rows do not shift later pages
        page = api.get(f"/contacts?limit=2&cursor={page['next_cursor']}").get_json()
        seen += [c["id"] for c in page["data"]]
    assert seen == [c.id for c in reversed(made)]
    assert {c["id"] for c in api.get("/contacts?portal_enabled=true&q=Client").get_json()["data"]} == \
        {made[0].id, made[2].id, made[4].id}
    for bad in ("limit=0", "limit=101", "cursor=zzz", "portal_enabled=maybe", "colour=red"):
        resp = api.get("/contacts?" + bad)
        assert resp.status_code == 400 and error_of(resp)["fields"], bad


def test_people_of_a_contact(api):
    contact = make_contact()
    resp = api.post(f"/contacts/{contact.id}/people", {"name": "Ana", "email": "ANA@example.com"})
    assert resp.status_code == 201
    person = resp.get_json()
    assert person["email"] == "ana@example.com" and person["has_password"] is False
    again = api.post(f"/contacts/{contact.id}/people", {"name": "Other", "email": "ana@example.com"})
    assert again.status_code == 409 and "email" in error_of(again)["fields"]
    assert api.get(f"/contacts/{contact.id}/people").get_json()["data"] == [person]
    resp = api.patch(f"/contacts/{contact.id}/people/{person['id']}", {"active": False, "name": "Ana B."})
    assert resp.get_json()["active"] is False and resp.get_json()["name"] == "Ana B."
    other = make_contact()
    assert api.get(f"/contacts/{other.id}/people/{person['id']}").status_code == 404


def test_a_contacts_country_and_reminder_opt_out(api):
    resp = api.post("/contacts", {"name": "Talleres Ruiz", "country": "ES", "no_reminders": True})
    assert resp.status_code == 201
    body = resp.get_json()
    assert (body["country"], body["no_reminders"]) == ("ES", True)
    assert Contact.get_by_id(body["id"]).no_reminders is True
    for bad in ("XX", "ESP", "E", 34):
        resp = api.patch(f"/contacts/{body['id']}", {"country": bad, "name": "Changed"})
        assert resp.status_code == 422 and "country" in error_of(resp)["fields"], bad
    resp = api.patch(f"/contacts/{body['id']}", {"no_reminders": "yes"})
    assert resp.status_code == 422 and "no_reminders" in error_of(resp)["fields"]
    assert api.get(f"/contacts/{body['id']}").get_json() == body   # nothing of the refusals written
    assert api.patch(f"/contacts/{body['id']}", {"country": " pt "}).get_json()["country"] == "PT"   # as currencies
    resp = api.patch(f"/contacts/{body['id']}", {"country": "", "no_reminders": False})
    assert (resp.get_json()["country"], resp.get_json()["no_reminders"]) == ("", False)


def test_people_roles_through_the_api(api):
    contact = make_contact()
    owner = api.post(f"/contacts/{contact.id}/people", {"name": "Olga", "email": "olga@example.com"}).get_json()
    assert owner["role"] == "owner"   # the default: as staff-added people
    resp = api.post(f"/contacts/{contact.id}/people", {"name": "Bea", "email": "bea@example.com", "role": "billing"})
    assert resp.status_code == 201 and resp.get_json()["role"] == "billing"
    bea = resp.get_json()
    for bad in ("admin", "", 3, None):
        resp = api.patch(f"/contacts/{contact.id}/people/{bea['id']}", {"role": bad, "name": "Changed"})
        assert resp.status_code == 422 and "role" in error_of(resp)["fields"], bad
    resp = api.patch(f"/contacts/{contact.id}/people/{bea['id']}", {"role": "buyer"})
    assert resp.status_code == 200 and resp.get_json()["role"] == "buyer"
    change = Activity.get(Activity.action == "team_role")
    assert change.detail == "bea@example.com: billing -> buyer" and change.api_token_id is not None
    # The last owner keeps the role; nothing else of the same request is written.
    resp = api.patch(f"/contacts/{contact.id}/people/{owner['id']}", {"role": "viewer", "name": "Olga V."})
    assert resp.status_code == 409 and error_of(resp)["code"] == "last_owner"
    assert api.get(f"/contacts/{contact.id}/people/{owner['id']}").get_json() == owner


def test_access_link_opens_the_portal(api, browser):
    person = make_person(make_contact(portal_enabled=True))
    resp = api.post(f"/contacts/{person.contact_id}/access-links", {"person_id": person.id})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["url"].startswith("http://portal.test/access/") and body["person_id"] == person.id
    expires = datetime.datetime.fromisoformat(body["expires_at"].rstrip("Z"))
    assert datetime.timedelta(hours=47) < expires - utcnow() <= datetime.timedelta(hours=48)
    token = body["url"].rsplit("/", 1)[1]
    assert AccessLink.get().token_hash != token   # only its hash is kept
    assert browser.get(f"/access/{token}").status_code == 200
    assert browser.post(f"/access/{token}").status_code == 303
    assert browser.get("/").status_code == 200


def test_access_link_refusals(api):
    contact = make_contact(portal_enabled=False)
    person = make_person(contact)
    resp = api.post(f"/contacts/{contact.id}/access-links", {"person_id": person.id})
    assert resp.status_code == 409 and error_of(resp)["code"] == "portal_disabled"
    other = make_person(make_contact())
    resp = api.post(f"/contacts/{contact.id}/access-links", {"person_id": other.id})
    assert resp.status_code == 409 and error_of(resp)["code"] == "unknown_reference"
    assert "person_id" in error_of(resp)["fields"]
    resp = api.post(f"/contacts/{contact.id}/access-links", {})
    assert resp.status_code == 422 and "person_id" in error_of(resp)["fields"]
    assert AccessLink.select().count() == 0


# --- documents ----------------------------------------------------------------------------------

def invoice_payload(contact, **extra):
    tax = make_tax("IVA", 2100)
    payload = {"kind": "invoice", "contact_id": contact.id,
               "lines": [{"description": "Design", "quantity": 1.5, "unit_price": 10000, "tax_ids": [tax.id]},
                         {"description": "Hosting", "unit_price": 999, "discount_bp": 1000}]}
    payload.update(extra)
    return payload


def test_create_invoice_computes_totals_and_links(api):
    contact = make_contact()
    settings(invoice_prefix="INV", payment_terms_days=15)
    resp = api.post("/documents", invoice_payload(contact))
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    # 1.5 × 100.00 = 150.00 with 21 % VAT; 9.99 − 10 % = 8.99 without tax.
    assert (doc["subtotal"], doc["tax_total"], doc["total"]) == (15899, 3150, 19049)
    assert doc["status"] == "draft" and doc["number"] is None   # numbers are given on issue
    assert doc["due_date"] == (datetime.date.today() + datetime.timedelta(days=15)).isoformat()
    issued = api.post(f"/documents/{doc['id']}/issue").get_json()
    assert issued["number"] == f"INV-{datetime.date.today().year}-0001"
    assert doc["portal_url"] == f"http://portal.test/documents/{doc['id']}"
    assert doc["pdf_url"] == f"http://portal.test/documents/{doc['id']}/pdf"
    assert [l["quantity"] for l in doc["lines"]] == [1.5, 1]
    assert doc["taxes"] == [{"name": "IVA", "rate_bp": 2100, "base": 15000, "amount": 3150}]
    assert Document.get_by_id(doc["id"]).total == 19049


def test_a_client_sent_total_is_refused(api):
    contact = make_contact()
    resp = api.post("/documents", invoice_payload(contact, total=1))
    assert resp.status_code == 422 and "computed by the server" in error_of(resp)["fields"]["total"]
    payload = invoice_payload(contact)
    payload["lines"][0]["net"] = 5
    resp = api.post("/documents", payload)
    assert resp.status_code == 422 and "lines[0].net" in error_of(resp)["fields"]
    assert Document.select().count() == 0


@pytest.mark.parametrize("change, field", [
    ({"kind": "receipt"}, "kind"), ({"lines": []}, "lines"), ({"issue_date": "2026-02-30"}, "issue_date"),
    ({"valid_until": "2030-01-01"}, "valid_until"), ({"currency": "ZZZ"}, "currency"),
    ({"lines": [{"description": "x", "unit_price": 1, "quantity": 0}]}, "lines[0].quantity"),
    ({"lines": [{"description": "x", "unit_price": 1, "quantity": 1.0005}]}, "lines[0].quantity"),
    ({"lines": [{"description": "x", "unit_price": "1"}]}, "lines[0].unit_price"),
    ({"lines": [{"description": "x"}]}, "lines[0].unit_price"),
    ({"lines": [{"unit_price": 5}]}, "lines[0].description"),
    ({"lines": [{"description": " ", "unit_price": 5, "sku": ""}]}, "lines[0].description"),
    ({"lines": [{"description": "x", "unit_price": 5, "net": 5}]}, "lines[0].net"),
    ({"lines": [{"description": "x", "unit_price": 5.5}]}, "lines[0].unit_price"),
    ({"lines": [{"description": "x", "unit_price": True}]}, "lines[0].unit_price"),
    ({"lines": ["x"]}, "lines[0]"), ({"number": ""}, "number"), ({"currency": None}, "currency"),
    ({"lines": [{"description": "x", "unit_price": 1, "quantity": None}]}, "lines[0].quantity"),
    ({"lines": None}, "lines"), ({"kind": None}, "kind"), ({"shipping_address": "Calle 1"}, "shipping_address"),
    ({"reference": "PO\n1"}, "reference"), ({"notes": "a\x00"}, "notes"), ({"issue_date": "0001-01-01"}, "issue_date"),
])
def test_document_validation(api, change, field):
    payload = invoice_payload(make_contact())
    payload.update(change)
    resp = api.post("/documents", payload)
    assert resp.status_code == 422, resp.get_json()
    assert field in error_of(resp)["fields"]
    assert Document.select().count() == 0


@pytest.mark.parametrize("change, code, field", [
    ({"contact_id": 999}, "unknown_reference", "contact_id"),
    ({"lines": [{"description": "x", "unit_price": 5, "tax_ids": [999]}]}, "unknown_reference", "lines[0].tax_ids"),
    ({"lines": [{"description": "x", "unit_price": 5, "sku": "NOPE"}]}, "unknown_reference", "lines[0].sku"),
    ({"lines": [{"product_id": 999}]}, "unknown_reference", "lines[0].product_id"),
    ({"due_date": "2000-01-01"}, "date_before_issue", "due_date"),
    ({"lines": [{"description": "x", "unit_price": 9 * 10 ** 12, "quantity": 10000}]}, "amount_too_large",
     "lines[0].unit_price"),
])
def test_document_refused_by_what_a_schema_cannot_say_is_409(api, change, code, field):
    """Valid for the schema, refused by the data or by a rule across fields: 409, not 422, so
    that a client that checks its requests against the description is never told otherwise."""
    payload = invoice_payload(make_contact())
    payload.update(change)
    resp = api.post("/documents", payload)
    assert resp.status_code == 409, resp.get_json()
    assert error_of(resp)["code"] == code and field in error_of(resp)["fields"]
    assert Document.select().count() == 0


def test_the_farthest_dates_the_schema_allows_can_be_issued(api):
    """Issuing moves the due date as far as the issue date moves to today: from 1900 to 2999
    (the schema's range) that stays a date."""
    resp = api.post("/documents", invoice_payload(make_contact(), issue_date="1900-01-01", due_date="2999-12-31",
                                                  issue=True))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["issue_date"] == datetime.date.today().isoformat()


def test_a_line_in_another_currency_needs_its_price(api):
    product = make_product(price=500, currency="USD")
    payload = invoice_payload(make_contact(), lines=[{"product_id": product.id}])
    resp = api.post("/documents", payload)
    assert resp.status_code == 409 and error_of(resp)["code"] == "unit_price_required"
    assert "lines[0].unit_price" in error_of(resp)["fields"]
    payload["lines"][0]["unit_price"] = 450
    assert api.post("/documents", payload).status_code == 201


def test_integral_numbers_and_null_fields(api):
    """741.0 is an integer to a JSON Schema validator, so here too; null leaves a field out."""
    tax = make_tax("IVA", 2100)
    line = {"description": "x", "unit_price": 1000.0, "quantity": 0.009000000000000001,
            "tax_ids": [float(tax.id)], "sku": None, "discount_bp": None}
    resp = api.post("/documents", {"kind": "quote", "contact_id": float(make_contact().id), "reference": None,
                                   "lines": [line]})
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert doc["lines"][0]["quantity"] == 0.009 and doc["lines"][0]["unit_price"] == 1000
    assert doc["reference"] == "" and doc["valid_until"] is not None


def test_quote_and_order_with_products(api):
    contact = make_contact(shipping_address="Calle 1")
    product = make_product("Drill", price=5000, sku="DR-1")
    resp = api.post("/documents", {"kind": "quote", "contact_id": contact.id,
                                   "lines": [{"sku": "DR-1", "quantity": 2}]})
    quote = resp.get_json()
    assert resp.status_code == 201 and quote["lines"][0]["description"] == "Drill"
    assert quote["total"] == 12100 and quote["valid_until"] and quote["due_date"] is None
    resp = api.post("/documents", {"kind": "order", "contact_id": contact.id, "issue": True,
                                   "lines": [{"product_id": product.id, "unit_price": 4000, "tax_ids": []}]})
    order = resp.get_json()
    assert order["status"] == "open" and order["total"] == 4000
    assert Document.get_by_id(order["id"]).shipping_address == "Calle 1"


def test_a_client_cannot_choose_the_number(api):
    contact = make_contact()
    resp = api.post("/documents", invoice_payload(contact, number="F-1"))
    assert resp.status_code == 422 and "number" in error_of(resp)["fields"]
    assert Document.select().count() == 0


def test_issue_and_void(api):
    contact = make_contact()
    doc = api.post("/documents", invoice_payload(contact)).get_json()
    resp = api.post(f"/documents/{doc['id']}/issue")
    assert resp.status_code == 200 and resp.get_json()["status"] == "open"
    assert api.post(f"/documents/{doc['id']}/issue").status_code == 409
    resp = api.post(f"/documents/{doc['id']}/void")
    assert resp.status_code == 200 and resp.get_json()["status"] == "void"
    resp = api.post(f"/documents/{doc['id']}/void")
    assert resp.status_code == 409 and error_of(resp)["code"] == "invalid_transition"


def test_document_with_payments_cannot_be_voided(api):
    doc = make_document(status="open")
    assert api.post(f"/documents/{doc.id}/payments", {"amount": 100}).status_code == 201
    resp = api.post(f"/documents/{doc.id}/void")
    assert resp.status_code == 409 and error_of(resp)["code"] == "has_payments"


def test_document_read_carries_payments_comments_and_decision(api):
    quote = make_document(kind="quote")
    person = make_person(quote.contact)
    Comment.create(document=quote, person=person, author_name=person.name, body="Can you do it cheaper?")
    QuoteDecision.create(document=quote, decision="declined", person=person, reason="Too dear",
                         document_version=quote.version, document_hash=quote.content_hash())
    body = api.get(f"/documents/{quote.id}").get_json()
    assert body["comments"][0]["body"] == "Can you do it cheaper?" and body["comments"][0]["author_type"] == "person"
    assert body["decision"]["decision"] == "declined" and body["decision"]["reason"] == "Too dear"
    assert body["payments"] == []


def test_documents_list_filters(api):
    a, b = make_contact(), make_contact()
    inv = make_document(a, kind="invoice", issue_date=datetime.date(2026, 1, 10))
    quo = make_document(a, kind="quote", issue_date=datetime.date(2026, 2, 10))
    other = make_document(b, kind="invoice", status="paid", issue_date=datetime.date(2026, 3, 10))

    def ids(query):
        resp = api.get("/documents?" + query)
        assert resp.status_code == 200, resp.get_json()
        return [d["id"] for d in resp.get_json()["data"]]
    assert ids("") == [other.id, quo.id, inv.id]
    assert ids("kind=invoice") == [other.id, inv.id]
    assert ids(f"contact_id={a.id}") == [quo.id, inv.id]
    assert ids("status=paid") == [other.id]
    assert ids("issued_from=2026-02-01&issued_to=2026-02-28") == [quo.id]
    assert ids(f"number={inv.number}") == [inv.id]
    assert api.get("/documents?issued_from=yesterday").status_code == 400


# --- payments, comments, decisions, orders ------------------------------------------------------

def test_record_manual_payment_and_list(api):
    endpoint = WebhookEndpoint.create(url="http://93.184.216.34/h", secret="whsec_x", events="payment.succeeded")
    doc = make_document(status="open")   # total 121.00
    resp = api.post(f"/documents/{doc.id}/payments", {"amount": 12100, "paid_on": "2026-11-01", "note": "Transfer"})
    assert resp.status_code == 201
    payment = resp.get_json()
    assert payment["gateway"] == "manual" and payment["status"] == "succeeded" and payment["amount"] == 12100
    assert Document.get_by_id(doc.id).status == "paid"
    assert api.get(f"/payments?document_id={doc.id}").get_json()["data"] == [payment]
    assert api.get(f"/payments/{payment['id']}").get_json() == payment
    [delivery] = WebhookDelivery.select().where(WebhookDelivery.endpoint == endpoint)
    assert delivery.event_type == "payment.succeeded" and str(payment["id"]) in delivery.body


def test_manual_payment_refusals(api):
    doc = make_document(status="open")
    resp = api.post(f"/documents/{doc.id}/payments", {"amount": doc.total + 1})
    assert resp.status_code == 409 and error_of(resp)["code"] == "over_amount_due"
    assert "amount" in error_of(resp)["fields"]
    assert api.post(f"/documents/{doc.id}/payments", {"amount": 0}).status_code == 422
    draft = make_document(status="draft")
    resp = api.post(f"/documents/{draft.id}/payments", {"amount": 1})
    assert resp.status_code == 409 and error_of(resp)["code"] == "not_payable"
    assert Payment.select().count() == 0


def test_staff_comment_through_the_api_carries_the_token_name(api):
    doc = make_document(status="open")
    make_person(doc.contact)
    resp = api.post(f"/documents/{doc.id}/comments", {"body": "Shipped today."})
    assert resp.status_code == 201
    comment = resp.get_json()
    assert comment["author_name"] == "ERP System" and comment["author_type"] == "staff"
    assert Job.select().where(Job.kind == "mail").count() == 1   # the contact's person is told
    assert api.get(f"/comments?document_id={doc.id}&author_type=staff").get_json()["data"] == [comment]
    assert api.get("/comments?author_type=person").get_json()["data"] == []
    resp = api.post(f"/documents/{doc.id}/comments", {"body": "   "})
    assert resp.status_code == 422 and "body" in error_of(resp)["fields"]


def test_quote_decisions_list(api):
    quote = make_document(kind="quote")
    row = QuoteDecision.create(document=quote, decision="accepted", signer_name="Ana", document_version=1,
                               document_hash="0" * 64)
    data = api.get("/quote-decisions?decision=accepted").get_json()["data"]
    assert [d["id"] for d in data] == [row.id] and data[0]["signer_name"] == "Ana"
    assert api.get("/quote-decisions?decision=declined").get_json()["data"] == []


def test_orders_list_and_state_changes(api):
    order = make_document(kind="order", status="open")
    make_document(kind="invoice")
    assert [o["id"] for o in api.get("/orders").get_json()["data"]] == [order.id]
    resp = api.post(f"/orders/{order.id}/status", {"status": "confirmed"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "confirmed"
    resp = api.post(f"/orders/{order.id}/status", {"status": "delivered"})
    assert resp.status_code == 409 and error_of(resp)["code"] == "invalid_transition"
    assert api.post(f"/orders/{order.id}/status", {"status": "lost"}).status_code == 422
    invoice = make_document(kind="invoice")
    assert api.post(f"/orders/{invoice.id}/status", {"status": "confirmed"}).status_code == 404
    assert [o["id"] for o in api.get("/orders?status=confirmed").get_json()["data"]] == [order.id]


def test_cancelling_an_order_puts_its_stock_back(api):
    from app.models import DocumentLine
    product = make_product(stock=3)
    order = make_document(kind="order", status="open")
    DocumentLine.update(product=product, stock_taken=2).where(DocumentLine.document == order).execute()
    resp = api.post(f"/orders/{order.id}/status", {"status": "cancelled"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert Product.get_by_id(product.id).stock == 5
    assert api.post(f"/orders/{order.id}/status", {"status": "cancelled"}).status_code == 409
    assert Product.get_by_id(product.id).stock == 5   # only once


# --- catalog ----------------------------------------------------------------------------------

def test_products_create_update_and_stock(api):
    tax = make_tax()
    category = make_category("Tools")
    resp = api.post("/products", {"sku": "HM-1", "name": "Hammer", "price": 1250, "stock": 3,
                                  "category_id": category.id, "tax_ids": [tax.id]})
    assert resp.status_code == 201, resp.get_json()
    product = resp.get_json()
    assert product["tax_ids"] == [tax.id] and product["currency"] == "EUR" and product["stock"] == 3
    assert api.post("/products", {"sku": "HM-1", "name": "Again", "price": 1}).status_code == 409
    resp = api.patch(f"/products/{product['id']}", {"price": 1500, "category_id": None, "active": False})
    assert resp.get_json()["price"] == 1500 and resp.get_json()["category_id"] is None
    resp = api.patch(f"/products/{product['id']}", {"stock": 100})
    assert resp.status_code == 422 and "stock" in error_of(resp)["fields"]
    resp = api.post(f"/products/{product['id']}/stock-adjustments", {"delta": -2, "reason": "broken"})
    assert resp.status_code == 200 and resp.get_json()["stock"] == 1
    resp = api.post(f"/products/{product['id']}/stock-adjustments", {"delta": -2})
    assert resp.status_code == 409 and error_of(resp)["code"] == "insufficient_stock"
    assert Product.get_by_id(product["id"]).stock == 1
    assert [p["sku"] for p in api.get("/products?q=ham").get_json()["data"]] == ["HM-1"]
    assert api.get("/products?active=true").get_json()["data"] == []


def test_categories_refuse_cycles(api):
    root = api.post("/categories", {"name": "Tools"}).get_json()
    child = api.post("/categories", {"name": "Drills", "parent_id": root["id"]}).get_json()
    assert child["parent_id"] == root["id"]
    resp = api.patch(f"/categories/{root['id']}", {"parent_id": child["id"]})
    assert resp.status_code == 409 and error_of(resp)["code"] == "category_cycle"
    assert "parent_id" in error_of(resp)["fields"]
    resp = api.patch(f"/categories/{child['id']}", {"parent_id": None, "name": "Power drills"})
    assert resp.get_json() == {"id": child["id"], "name": "Power drills", "parent_id": None,
                               "position": child["position"]}
    assert [c["id"] for c in api.get(f"/categories?parent_id={root['id']}").get_json()["data"]] == []
    assert Category.select().count() == 2


def test_tax_rates_list(api):
    tax = make_tax("IVA", 2100)
    assert api.get("/tax-rates").get_json()["data"] == [
        {"id": tax.id, "name": "IVA", "rate_bp": 2100, "active": True, "is_default": False}]


# --- idempotency --------------------------------------------------------------------------------

def test_retry_with_the_same_key_returns_the_first_result(api):
    key = {"Idempotency-Key": "create-acme-1"}
    first = api.post("/contacts", {"name": "ACME"}, headers=key)
    again = api.post("/contacts", {"name": "ACME"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.get_data() == again.get_data()
    assert again.headers["Idempotent-Replayed"] == "true" and again.headers["Location"] == first.headers["Location"]
    assert Contact.select().count() == 1


def test_same_key_with_another_body_is_refused(api):
    key = {"Idempotency-Key": "k-1"}
    assert api.post("/contacts", {"name": "ACME"}, headers=key).status_code == 201
    resp = api.post("/contacts", {"name": "Other"}, headers=key)
    assert resp.status_code == 422 and error_of(resp)["code"] == "idempotency_key_reused"
    resp = api.post("/products", {"sku": "A", "name": "A", "price": 1}, headers=key)
    assert resp.status_code == 422
    assert Contact.select().count() == 1 and Product.select().count() == 0


def test_keys_belong_to_their_token(api, client):
    key = {"Idempotency-Key": "shared"}
    assert api.post("/contacts", {"name": "A"}, headers=key).status_code == 201
    other = Api(client, create_token("Other")[0])
    resp = other.post("/contacts", {"name": "A"}, headers=key)
    assert resp.status_code == 201 and "Idempotent-Replayed" not in resp.headers
    assert Contact.select().count() == 2


def test_failed_request_is_not_stored_so_a_fixed_retry_works(api):
    key = {"Idempotency-Key": "fix-me"}
    assert api.post("/contacts", {"name": ""}, headers=key).status_code == 422
    assert api.post("/contacts", {"name": "Fixed"}, headers=key).status_code == 201


def test_idempotent_stock_adjustment_counts_once(api):
    product = make_product(stock=5)
    key = {"Idempotency-Key": "adj-1"}
    for _ in range(3):
        resp = api.post(f"/products/{product.id}/stock-adjustments", {"delta": -1}, headers=key)
        assert resp.status_code == 200 and resp.get_json()["stock"] == 4
    assert Product.get_by_id(product.id).stock == 4


def test_expired_key_can_be_used_again(api):
    from app.models import IdempotencyRecord
    key = {"Idempotency-Key": "old"}
    api.post("/contacts", {"name": "A"}, headers=key)
    IdempotencyRecord.update(created_at=utcnow() - datetime.timedelta(hours=25)).execute()
    resp = api.post("/contacts", {"name": "B"}, headers=key)
    assert resp.status_code == 201 and resp.get_json()["name"] == "B"


@pytest.mark.parametrize("key", ["", "x" * 256, "has space"])
def test_bad_idempotency_key_is_400(api, key):
    resp = api.post("/contacts", {"name": "A"}, headers={"Idempotency-Key": key})
    assert resp.status_code == 400 and "Idempotency-Key" in error_of(resp)["fields"]
    assert Contact.select().count() == 0


# --- rate limits ----------------------------------------------------------------------------------

def test_rate_limit_is_per_token_and_answers_json(app, client):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    first, second = Api(client, create_token("A")[0]), Api(client, create_token("B")[0])
    assert [first.get("/contacts").status_code for _ in range(3)] == [200, 200, 200]
    resp = first.get("/contacts")
    assert resp.status_code == 429 and error_of(resp)["code"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) > 0
    assert second.get("/contacts").status_code == 200   # another token has its own budget


# --- the back-office token pages ------------------------------------------------------------------

def test_token_pages_require_staff(client):
    resp = client.get("/staff/api/tokens/")
    assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]


def test_staff_create_a_token_shown_once_and_revoke_it(app, staff, client):
    resp = staff.post("/staff/api/tokens/", {"name": "Accounting", "read_only": "1"})
    assert resp.status_code == 200
    clear = soup(resp).find(id="new-token-value").text
    row = ApiToken.get(ApiToken.name == "Accounting")
    assert row.can_write is False and row.created_by is not None
    page = staff.get("/staff/api/tokens/")
    assert clear not in page.get_data(as_text=True) and row.prefix in page.get_data(as_text=True)
    api = Api(app.test_client(), clear)
    assert api.get("/contacts").status_code == 200
    assert staff.post(f"/staff/api/tokens/{row.id}/revoke").status_code == 303
    assert soup(staff.get("/staff/api/tokens/")).find(id=f"token-{row.id}")["data-revoked"] == "true"
    assert api.get("/contacts").status_code == 401


def test_token_form_is_validated(staff):
    resp = staff.post("/staff/api/tokens/", {"name": ""})
    assert resp.status_code == 422 and soup(resp).find(id="e-name")
    resp = staff.post("/staff/api/tokens/", {"name": "x" * 101})
    assert resp.status_code == 422 and soup(resp).find(id="f-name")["value"] == "x" * 101
    assert ApiToken.select().count() == 0
    assert staff.post("/staff/api/tokens/", {"name": "A"}, token=False).status_code == 400
    assert staff.post("/staff/api/tokens/999/revoke").status_code == 404



def test_null_or_wrongly_typed_fields_never_cause_a_server_error(api):
    """Every field of every request body, sent as null, a string, a list and a huge number."""
    product = make_product()
    doc = make_document(status="open", kind="order")
    person = make_person(doc.contact)
    category = make_category()
    payment = Payment.create(document=doc, gateway="manual", amount=100, currency="EUR", status="succeeded",
                             idempotency_key="manual-fields")
    ids = {"contact_id": doc.contact_id, "person_id": person.id, "doc_id": doc.id, "order_id": doc.id,
           "product_id": product.id, "category_id": category.id, "payment_id": payment.id}
    spec = api.client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if "requestBody" not in op:
                continue
            name = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            url = path.format(**ids)
            members = [ref["$ref"].rsplit("/", 1)[1] for ref in schemas[name].get("oneOf", [])] or [name]
            for field in {field for member in members for field in schemas[member]["properties"]}:
                for value in (None, "x", [1], 10 ** 30, {"a": 1}, -1, True):
                    call = api.patch if method == "patch" else api.post
                    resp = call(url, {field: value})
                    assert resp.status_code < 500, (method, url, field, value, resp.get_data(as_text=True))
                    assert "error" in resp.get_json() or resp.status_code < 300
    for field in schemas["LineCreate"]["properties"]:
        for value in (None, "x", [1], 10 ** 30, {"a": 1}, -1, True, 0.0001):
            resp = api.post("/documents", {"kind": "invoice", "contact_id": doc.contact_id,
                                           "lines": [{"description": "d", "unit_price": 1, field: value}]})
            assert resp.status_code < 500, (field, value, resp.get_data(as_text=True))
