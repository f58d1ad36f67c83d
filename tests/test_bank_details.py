"""Changing the business's bank details: only an owner who proves it again, logged, customers
with open invoices told once, and a notice on their pages for 60 days."""
import datetime
import json

import pyotp
import pytest

from app import bank, documents
from app.models import Activity, Document, Settings
from app.rules import By, Refused
from tests.conftest import soup
from tests.factories import PASSWORD, make_contact, make_document, make_person, make_staff, settings

OLD, NEW = "ES9121000418450200051332", "DE89370400440532013000"


@pytest.fixture
def business(app):
    return settings(name="Taller Martínez S.L.", tax_id="B98123458", country="ES", iban=OLD,
                    phone="+34 963 12 34 56", default_language="en")


def open_invoice(app, contact, paid=False):
    with app.test_request_context():   # issuing builds links and webhooks as in a request
        return _open_invoice(contact, paid)


def _open_invoice(contact, paid):
    doc = make_document(contact, status="draft", lines=[("Repair", 1000, 10000, 0, [("IVA", 2100)])],
                        due_date=datetime.date.today() + datetime.timedelta(days=30))
    documents.issue(doc, By())
    doc = Document.get_by_id(doc.id)
    if paid:
        documents.record_manual_payment(doc, doc.total, datetime.date.today(), "Transfer", By())
    return Document.get_by_id(doc.id)


def change(staff, **fields):
    staff.get("/staff/settings/")
    return staff.post("/staff/settings/bank", {"iban": NEW, "bic": "COBADEFFXXX", "password": PASSWORD, **fields})


@pytest.mark.parametrize("fields, field", [
    ({"password": ""}, "password"), ({"password": "wrong password"}, "password"),
    ({"iban": "DE89370400440532013001"}, "iban"), ({"iban": "XX00"}, "iban"), ({"iban": "1" * 60}, "iban"),
    ({"bic": "NOTABIC!"}, "bic"), ({"iban": "", "bic": "COBADEFFXXX"}, "iban"),
])
def test_a_wrong_password_or_account_changes_nothing(app, business, staff, outbox, fields, field):
    open_invoice(app, make_person(make_contact(portal_enabled=True)).contact)
    resp = change(staff, **fields)
    assert resp.status_code == 422 and soup(resp).find(id=f"e-{field}") is not None
    assert (Settings.get_solo().iban, Settings.get_solo().bank_changed_at) == (OLD, None)
    assert not Activity.select().where(Activity.action == "bank_details_changed").exists()
    assert [m for m in outbox() if "bank details" in m.message["Subject"]] == []


def test_only_owners_reach_it_and_the_service_refuses_others_too(business, browser, app):
    accountant = make_staff(email="books@example.com")
    accountant.role = "accountant"
    accountant.save()
    with pytest.raises(Refused) as refused:
        bank.change(NEW, "", accountant, PASSWORD)
    assert refused.value.code == "not_owner" and Settings.get_solo().iban == OLD


def test_a_second_factor_is_asked_when_the_owner_uses_one(business, staff, staff_user):
    secret = pyotp.random_base32()
    staff_user.totp_secret, staff_user.totp_enabled = secret, True
    staff_user.save()
    assert 'id="f-code"' in staff.get("/staff/settings/").get_data(as_text=True)
    assert change(staff, code="000000").status_code == 422 and Settings.get_solo().iban == OLD
    assert change(staff, code=pyotp.TOTP(secret).now()).status_code == 303
    assert Settings.get_solo().iban == NEW


def test_a_change_is_logged_masked_and_mailed_once_per_contact_with_open_invoices(app, business, staff, outbox):
    owing = make_contact(name="Owing", portal_enabled=True, language="en")
    ana, luis = make_person(owing, email="ana@owing.example"), make_person(owing, email="luis@owing.example")
    open_invoice(app, owing), open_invoice(app, owing)
    settled = make_contact(name="Settled", portal_enabled=True)
    make_person(settled, email="pay@settled.example")
    open_invoice(app, settled, paid=True)
    resp = change(staff)
    assert resp.status_code == 303
    row = Settings.get_solo()
    assert (row.iban, row.bic) == (NEW, "COBADEFFXXX") and row.bank_changed_at is not None
    [logged] = Activity.select().where(Activity.action == "bank_details_changed")
    assert json.loads(logged.data) == {"from": "ES91 … 1332", "to": "DE89 … 3000"}
    assert OLD not in logged.data and NEW not in logged.data
    told = [m for m in outbox() if "bank details" in m.message["Subject"]]
    assert len(told) == 1 and sorted(told[0].rcpt_tos) == sorted([ana.email, luis.email])
    assert "IBAN DE89 3704 0044 0532 0130 00" in told[0].text and "do not pay" in told[0].text
    assert change(staff).status_code == 303                       # the same again: nothing new
    assert Activity.select().where(Activity.action == "bank_details_changed").count() == 1


def test_customers_see_the_notice_for_sixty_days_where_they_pay(business, app, auth):
    contact = make_contact(name="Owing", portal_enabled=True)
    person = make_person(contact, password=PASSWORD, language="en")
    owed, paid = open_invoice(app, contact), open_invoice(app, contact, paid=True)
    browser = auth.login(person)
    assert soup(browser.get("/")).find(id="bank-notice") is None
    with app.test_request_context():
        assert bank.change(NEW, "", make_staff(), PASSWORD)
    home = soup(browser.get("/"))
    today = datetime.date.today()
    assert today.strftime("%B") in home.find(id="bank-notice").text and "DE89 3704" in home.find(id="bank-notice").text
    page = soup(browser.get(f"/documents/{owed.id}"))
    assert page.find(id="bank-notice-verify")["href"].endswith(f"/verify/{owed.verify_code}")
    assert soup(browser.get(f"/documents/{paid.id}")).find(id="bank-notice") is None
    Settings.save_values({"bank_changed_at": datetime.datetime.now() - datetime.timedelta(days=61)})
    assert soup(browser.get("/")).find(id="bank-notice") is None


def test_the_verify_page_of_an_older_invoice_shows_both_accounts_and_the_date(business, app, client):
    owed = open_invoice(app, make_contact(name="Owing"))
    with app.test_request_context():
        bank.change(NEW, "", make_staff(), PASSWORD)
    page = soup(client.get(f"/verify/{owed.verify_code}", headers={"Accept-Language": "en"}))
    assert "DE89 3704 0044 0532 0130 00" in page.find(id="verify-iban").text
    warning = page.find(id="verify-bank-changed").text
    assert "ES91 2100 0418 4502 0005 1332" in warning and str(datetime.date.today().year) in warning
