"""Browser: summary → an invoice → its PDF (in the contact's locale) → the print view."""
import subprocess

import pytest
from playwright.sync_api import expect

from tests.factories import make_contact, make_document, make_person, settings

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def test_summary_invoice_pdf_and_print(page, chromium, live_server, tmp_path):
    settings(name="Taller Martínez S.L.")
    contact = make_contact(name="Talleres Ruiz", language="es")
    person = make_person(contact=contact, password=PASSWORD, name="Ana García")
    doc = make_document(contact, number="F-2026-0042",
                        lines=[("Reparación de motor", 1000, 102030, 0, [("IVA", 2100)])])   # 1.234,56 €
    page.goto("/login")
    page.fill("#f-email", person.email)
    page.fill("#f-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert page.get_attribute("html", "lang") == "es"

    page.click("#pending-invoices a:text('F-2026-0042')")
    page.wait_for_url(f"**/documents/{doc.id}")
    expect(page.locator("#sheet-number")).to_have_text("F-2026-0042")
    expect(page.locator("#total-total")).to_have_text("1.234,56\u00a0€")

    with page.expect_download() as info:
        page.click("#download-pdf")
    pdf = tmp_path / "invoice.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "F-2026-0042" in text and "1.234,56" in text and "Taller Martínez" in text

    with page.context.expect_page() as popup:
        page.click("#print")
    printed = popup.value
    printed.wait_for_load_state()
    assert printed.url.endswith(f"/documents/{doc.id}/print")
    expect(printed.locator("#sheet-number")).to_have_text("F-2026-0042")
    assert printed.locator("script[src$='print.js']").count() == 1
