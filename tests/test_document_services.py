"""One implementation per business operation: the back-office and the API call the same
services (app/documents.py, app/comments.py) and so agree on what they allow and record."""
import datetime

import pytest

from app import documents
from app.api.auth import create_token
from app.rules import By, Refused
from app.models import Activity, Comment, Contact, Document, DocumentLine, Payment, Product
from tests.factories import make_contact, make_document, make_person, make_product


@pytest.fixture
def bearer(app):
    return {"Authorization": "Bearer " + create_token("ERP System")[0]}


@pytest.fixture
def people(app):
    contact = make_contact(name="Talleres Ruiz", portal_enabled=True)
    return make_person(contact=contact, email="ana@ruiz.example"), contact


def test_staff_comment_on_a_draft_mails_nobody_until_issued(staff, people, outbox):
    person, contact = people
    draft = make_document(contact, status="draft")
    assert staff.post(f"/staff/documents/{draft.id}/comments", {"body": "Check the prices"}).status_code == 303
    assert Comment.select().where(Comment.document == draft.id).count() == 1
    assert person.email not in recipients(outbox)   # a link to a draft would be a 404 for them

    staff.post(f"/staff/documents/{draft.id}/status", {"status": "open"})
    assert Document.get_by_id(draft.id).status == "open"
    staff.post(f"/staff/documents/{draft.id}/comments", {"body": "Here it is"})
    assert person.email in recipients(outbox)


def test_api_comment_on_a_draft_mails_nobody_either(client, bearer, people, outbox):
    person, contact = people
    draft = make_document(contact, status="draft")
    resp = client.post(f"/api/v1/documents/{draft.id}/comments", json={"body": "Internal note"}, headers=bearer)
    assert resp.status_code == 201
    assert person.email not in recipients(outbox)
    issued = make_document(contact, status="open")
    client.post(f"/api/v1/documents/{issued.id}/comments", json={"body": "Ready"}, headers=bearer)
    assert person.email in recipients(outbox)


def test_back_office_and_api_refuse_voiding_a_paid_invoice_alike(app, staff, client, bearer, people):
    _person, contact = people
    doc = make_document(contact, status="open")
    with app.app_context():
        documents.record_manual_payment(doc, 100, datetime.date.today(), "transfer", By())
    staff.post(f"/staff/documents/{doc.id}/status", {"status": "void"})
    resp = client.post(f"/api/v1/documents/{doc.id}/void", headers=bearer)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "has_payments"
    assert Document.get_by_id(doc.id).status == "open" and Document.get_by_id(doc.id).amount_paid == 100
    assert not Activity.select().where(Activity.action == "status_void").exists()


def test_cancelling_an_order_returns_its_stock_once_whoever_cancels(staff, client, bearer, people):
    _person, contact = people
    product = make_product(stock=5)
    orders = []
    for _ in range(2):
        order = make_document(contact, kind="order", status="open",
                              lines=[("Drill", 2000, 1000, 0, [])])
        # as checkout leaves it: the line took two units from stock
        DocumentLine.update(product=product, stock_taken=2).where(DocumentLine.document == order).execute()
        orders.append(order)
    staff.post(f"/staff/documents/{orders[0].id}/status", {"status": "cancelled"})
    client.post(f"/api/v1/orders/{orders[1].id}/status", json={"status": "cancelled"}, headers=bearer)
    for order in orders:   # a second cancel is refused and returns nothing more
        with pytest.raises(Refused) as refused:
            documents.move(Document.get_by_id(order.id), "cancelled", By())
        assert refused.value.code == "invalid_transition"
    assert Product.get_by_id(product.id).stock == 9


def test_manual_payment_rules_are_the_same_through_both_doors(staff, client, bearer, people):
    _person, contact = people
    doc = make_document(contact, status="open")
    over = doc.total + 1
    page = staff.post(f"/staff/documents/{doc.id}/payments", {"amount": f"{over / 100:.2f}",
                                                               "paid_on": datetime.date.today().isoformat()})
    assert page.status_code == 422
    resp = client.post(f"/api/v1/documents/{doc.id}/payments", json={"amount": over}, headers=bearer)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "over_amount_due"
    assert "amount" in resp.get_json()["error"]["fields"]
    draft = make_document(contact, status="draft")
    resp = client.post(f"/api/v1/documents/{draft.id}/payments", json={"amount": 100}, headers=bearer)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_payable"
    assert Payment.select().count() == 0


# --- mail on issue ------------------------------------------------------------------------------

def recipients(outbox):
    return [m.rcpt_tos[0] for m in outbox()]


def _issue_mails(outbox, staff, doc):
    assert staff.post(f"/staff/documents/{doc.id}/status", {"status": "open"}).status_code == 303
    return {m.rcpt_tos[0]: m for m in outbox() if m.rcpt_tos[0] != "office@business.example"}


def test_issuing_mails_each_person_a_link_that_opens_the_document(outbox, staff, client):
    contact = make_contact(name="Talleres Ruiz")
    with_password = make_person(contact=contact, email="ana@ruiz.example", password="correct horse battery")
    without = make_person(contact=contact, email="jordi@ruiz.example", language="es")
    draft = make_document(contact, status="draft", due_date=datetime.date(2027, 1, 15))
    mails = _issue_mails(outbox, staff, draft)
    assert set(mails) == {with_password.email, without.email}
    ana, jordi = mails[with_password.email], mails[without.email]
    assert draft.number in ana.message["Subject"] and draft.number in ana.text
    assert "http://portal.test/documents/%d" % draft.id in ana.text
    assert "/access/" not in ana.text and "correct horse" not in ana.text
    assert draft.number in jordi.message["Subject"] and "Factura" in jordi.message["Subject"]   # Spanish
    link = next(word for word in jordi.text.split() if "/access/" in word)
    path = link.replace("http://portal.test", "")
    page = client.get(path)
    assert page.status_code == 200
    from tests.conftest import csrf_from
    resp = client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/documents/{draft.id}")
    assert draft.number in client.get(f"/documents/{draft.id}").get_data(as_text=True)


def test_no_issue_mail_when_the_contact_turned_it_off_or_for_orders(outbox, staff):
    contact = make_contact(issue_mail=False)
    make_person(contact=contact, email="quiet@example.com")
    assert _issue_mails(outbox, staff, make_document(contact, status="draft")) == {}
    talkative = make_contact()
    make_person(contact=talkative, email="orders@example.com")
    order = make_document(talkative, kind="order", status="draft")
    assert _issue_mails(outbox, staff, order) == {}


def test_issue_mail_is_sent_once_even_if_issue_is_asked_twice(outbox, staff):
    contact = make_contact()
    make_person(contact=contact, email="once@example.com")
    draft = make_document(contact, status="draft")
    _issue_mails(outbox, staff, draft)
    staff.post(f"/staff/documents/{draft.id}/status", {"status": "open"})
    assert recipients(outbox) == ["once@example.com"]


# --- one tax id, one contact ---------------------------------------------------------------------

def _contact_form(**fields):
    data = {"kind": "company", "name": "Ruiz Dos", "tax_id": "b-12.345.678", "issue_mail": "1"}
    data.update(fields)
    return data


def test_a_duplicate_tax_id_is_refused_naming_the_contact_unless_confirmed(staff):
    make_contact(name="Talleres Ruiz", tax_id="B12345678")
    page = staff.post("/staff/contacts/new", _contact_form())
    assert page.status_code == 422
    from tests.conftest import soup
    html = soup(page)
    assert "Talleres Ruiz" in html.find(id="e-tax_id").get_text()
    assert html.find("input", attrs={"name": "confirm_duplicate_tax_id"}) is not None
    assert Contact.select().count() == 1
    assert staff.post("/staff/contacts/new", _contact_form(confirm_duplicate_tax_id="1")).status_code == 303
    assert Contact.select().where(Contact.name == "Ruiz Dos").count() == 1


def test_editing_a_contact_keeps_its_own_tax_id_but_cannot_take_another(staff):
    first = make_contact(name="Talleres Ruiz", tax_id="B12345678")
    other = make_contact(name="Ferretería Sol", tax_id="A87654321")
    keep = _contact_form(name="Talleres Ruiz SL", tax_id="B12345678")
    assert staff.post(f"/staff/contacts/{first.id}/edit", keep).status_code == 303
    take = _contact_form(name="Ferretería Sol", tax_id="B 12345678")
    assert staff.post(f"/staff/contacts/{other.id}/edit", take).status_code == 422
    assert Contact.get_by_id(other.id).tax_id == "A87654321"
