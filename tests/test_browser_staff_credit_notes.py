"""Browser: staff issue a credit note through the form and find it on the invoice; staff record a
manual payment and reverse it, and the invoice owes again."""
import pytest
from playwright.sync_api import expect

from app import documents
from app.models import Document, Payment
from app.rules import By
from tests.browser import staff_sign_in
from tests.factories import make_contact, make_document, settings

pytestmark = pytest.mark.browser
TWO_UNITS = [("Consulting", 2000, 5000, 0, [("IVA", 2100)])]   # 2 x 50.00 + 21 % = 121.00


@pytest.fixture
def invoice(app):
    settings(credit_note_prefix="R")
    with app.app_context():
        doc = make_document(make_contact(name="Talleres Ruiz"), status="draft", lines=TWO_UNITS)
        documents.issue(doc, By())
    return Document.get_by_id(doc.id)


def test_staff_issue_a_credit_note_and_see_it_on_the_invoice(page, staff_user, invoice):
    staff_sign_in(page, staff_user)
    page.goto(f"/staff/documents/{invoice.id}")
    page.click("#new-credit-note")
    line = invoice.ordered_lines().get()
    page.fill(f"#f-qty-{line.id}", "1")
    page.click("#issue-credit-note")   # no reason yet: refused beside the field
    expect(page.locator("#e-reason")).to_contain_text("Say why")
    expect(page.locator(f"#f-qty-{line.id}")).to_have_value("1")
    page.fill("#f-reason", "One unit returned damaged")
    page.click("#issue-credit-note")
    page.wait_for_selector("#rectifies")
    note = Document.get(Document.kind == "credit_note")
    expect(page.locator("#doc-number")).to_contain_text(note.number)
    expect(page.locator(".flash-success")).to_contain_text(note.number)
    expect(page.locator("#cn-reason")).to_have_text("One unit returned damaged")
    page.click("#rectifies")
    page.wait_for_url(f"**/staff/documents/{invoice.id}")
    expect(page.locator("#doc-due")).to_have_text("€60.50")
    expect(page.locator(f"#credit-note-{note.id}")).to_contain_text(note.number)
    expect(page.locator("#history .history-entry").first).to_contain_text("Credit note issued")


def test_staff_reverse_a_manual_payment(page, staff_user, invoice):
    staff_sign_in(page, staff_user)
    page.goto(f"/staff/documents/{invoice.id}")
    page.fill("#payment-form #f-amount", "121.00")
    page.click("#payment-form button[type=submit]")
    page.wait_for_selector(".flash-success")
    expect(page.locator("#doc-due")).to_have_text("€0.00")
    payment = Payment.get(Payment.document == invoice.id)
    page.click(f"#reverse-{payment.id}")
    page.fill("#f-reason", "The transfer bounced")
    page.click("#confirm-reverse")
    page.wait_for_selector(".flash-success")
    expect(page.locator("#doc-due")).to_have_text("€121.00")
    expect(page.locator(f"#payment-{payment.id}-status")).to_have_text("Reversed")
    expect(page.locator(f"#payment-{payment.id}-reversal")).to_contain_text("The transfer bounced")
    expect(page.locator("#history .history-entry").first).to_contain_text(staff_user.name)
    assert Document.get_by_id(invoice.id).status == "open"
