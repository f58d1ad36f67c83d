"""Browser: a customer opens an invoice that a credit note corrected, follows the link to the
credit note and back, on a phone (390 px) and on a desktop; the pages fit the screen."""
import datetime

import pytest
from playwright.sync_api import expect

from app import credit_notes, documents
from app.credit_notes import Pick
from app.models import Document
from app.rules import By
from tests.browser import portal_sign_in
from tests.factories import PASSWORD, make_contact, make_document, make_person, settings

pytestmark = pytest.mark.browser

# Every link and button a person can reach has a name, and nothing is wider than the screen:
# the checks we can make without a third-party audit script.
AUDIT = """() => {
  const unnamed = [...document.querySelectorAll('a[href], button')]
    .filter(e => e.offsetParent !== null && !(e.textContent || e.getAttribute('aria-label') || '').trim())
    .map(e => e.outerHTML.slice(0, 80));
  const wide = document.documentElement.scrollWidth - window.innerWidth;
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
  return {unnamed, wide, twice};
}"""


def audit(page):
    found = page.evaluate(AUDIT)
    assert found == {"unnamed": [], "wide": 0, "twice": []}, found


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_from_the_invoice_to_its_credit_note_and_back(app, page, live_server, width, height):
    page.set_viewport_size({"width": width, "height": height})
    settings(name="Taller Martínez S.L.", invoice_prefix="F", credit_note_prefix="R", default_language="en")
    with app.app_context():
        contact = make_contact(name="Talleres Ruiz")
        person = make_person(contact=contact, password=PASSWORD, name="Ana García")
        invoice = make_document(contact, status="draft", lines=[("Consulting", 2000, 5000, 0, [("IVA", 2100)])])
        documents.issue(invoice, By())
        invoice = Document.get_by_id(invoice.id)
        documents.record_manual_payment(invoice, 2100, datetime.date.today(), "Cash", By())
        line = invoice.ordered_lines().get()
        note = credit_notes.issue(Document.get_by_id(invoice.id), [Pick(line.id, 1000)],
                                  "One unit returned unused", By())
    portal_sign_in(page, person)

    page.goto("/invoices")
    row = page.locator(f"#row-{note.id}")
    expect(row.locator(".badge-credit-note")).to_have_text("Credit note")
    expect(row.locator(".amount-credit")).to_have_text("-€60.50")
    audit(page)

    page.click(f"#doc-table a:text('{invoice.number}')")
    page.wait_for_url(f"**/documents/{invoice.id}")
    expect(page.locator("#side-due")).to_have_text("€39.50")          # 121.00 − 60.50 credited − 21.00 paid
    expect(page.locator("#side-credited")).to_have_text("Credited: €60.50")
    audit(page)

    page.click(f"#credit-note-{note.id} a")
    page.wait_for_url(f"**/documents/{note.id}")
    expect(page.locator("#sheet-number")).to_have_text(note.number)
    expect(page.locator("#sheet-reason")).to_have_text("One unit returned unused")
    expect(page.locator("#rectifies-link")).to_have_text(invoice.number)
    audit(page)

    page.click("#rectifies-link")
    page.wait_for_url(f"**/documents/{invoice.id}")
    expect(page.locator("#sheet-number")).to_have_text(invoice.number)
    page.click(f"#credit-note-{note.id} a")
    page.click("#back-to-list")
    page.wait_for_url("**/invoices")
    expect(page.locator(f"#row-{invoice.id}")).to_be_visible()
