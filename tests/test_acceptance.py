"""The acceptance certificate of a quote: one PDF page with what the acceptance recorded, for the
customer and for staff; nothing for a declined, open or other contact's quote."""
import datetime

import pytest

from app.models import Document
from tests.factories import PASSWORD, make_contact, make_document, make_person, settings
from tests.test_pdf import pdf_text


@pytest.fixture
def person(app):
    settings(name="Taller Martínez S.L.", default_language="en")
    return make_person(make_contact(name="Talleres Ruiz"), password=PASSWORD, name="Ana García", language="en")


def quote_for(person, number):
    return make_document(person.contact, kind="quote", number=number, terms="Payment in 30 days.",
                         valid_until=datetime.date.today() + datetime.timedelta(days=30))


def accept(browser, quote):
    browser.get(f"/documents/{quote.id}")
    fields = {"decision": "accept", "signer_name": "Ana García", "po_reference": "PO-77", "accept_terms": "1"}
    resp = browser.post(f"/documents/{quote.id}/decision", fields,
                        headers={"User-Agent": "TestBrowser/1.0"}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert resp.status_code in (200, 303)


def test_the_customer_and_staff_download_the_certificate_of_an_accepted_quote(auth, person, staff, tmp_path):
    me = auth.login(person)
    quote = quote_for(person, "P-2026-0007")
    accepted_hash = quote.content_hash()
    assert me.get(f"/documents/{quote.id}/acceptance.pdf").status_code == 404   # not decided yet
    accept(me, quote)
    assert f"/documents/{quote.id}/acceptance.pdf" in me.get(f"/documents/{quote.id}").get_data(as_text=True)
    resp = me.get(f"/documents/{quote.id}/acceptance.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="P-2026-0007-acceptance.pdf"'
    text = " ".join(pdf_text(resp.get_data(), tmp_path).split())
    for expected in ("Acceptance certificate", "P-2026-0007", "Ana García", "PO-77", "203.0.113.9",
                     "TestBrowser/1.0", accepted_hash[:32], "The quote is unchanged since it was accepted."):
        assert expected in text, expected
    staff_copy = staff.get(f"/staff/documents/{quote.id}/acceptance.pdf")
    assert staff_copy.status_code == 200 and "Ana García" in pdf_text(staff_copy.get_data(), tmp_path, "s.pdf")
    # Edited behind the customer's back: the certificate says it no longer matches.
    Document.update(terms="Payment in 7 days.").where(Document.id == quote.id).execute()
    text = " ".join(pdf_text(me.get(f"/documents/{quote.id}/acceptance.pdf").get_data(), tmp_path, "c.pdf").split())
    assert "The quote no longer matches what was accepted." in text


def test_no_certificate_for_a_declined_quote_an_invoice_or_another_contacts_quote(auth, person, staff):
    me = auth.login(person)
    declined = quote_for(person, "P-2026-0008")
    me.get(f"/documents/{declined.id}")
    me.post(f"/documents/{declined.id}/decision", {"decision": "decline", "reason": "Too expensive"})
    invoice = make_document(person.contact)
    other = make_document(make_contact(), kind="quote", status="accepted", number="P-9")
    for doc in (declined, invoice, other):
        assert me.get(f"/documents/{doc.id}/acceptance.pdf").status_code == 404
    assert staff.get(f"/staff/documents/{declined.id}/acceptance.pdf").status_code == 404
