"""Browser: a staff user creates a contact and a three-line invoice, live totals update as they type."""
import pytest
from playwright.sync_api import expect

from app.models import Document
from tests.browser import staff_sign_in
from tests.factories import make_tax

pytestmark = pytest.mark.browser


def test_staff_creates_three_line_invoice_with_live_totals(page, staff_user):
    iva21, iva10, irpf = make_tax("IVA", 2100), make_tax("IVA", 1000), make_tax("IRPF", -1500)
    staff_sign_in(page, staff_user)
    page.click("#new-contact")
    page.fill("#f-name", "Ferretería López")
    page.fill("#f-email", "compras@lopez.example")
    page.click("#contact-form button[type=submit]")
    page.wait_for_selector("#contact-name")
    page.click("#new-invoice")
    page.fill("[name=lines-0-description]", "Taladro")
    page.fill("[name=lines-0-qty]", "2")
    page.fill("[name=lines-0-price]", "49,95")
    page.check(f"[name=lines-0-tax][value='{iva21.id}']")
    page.fill("[name=lines-1-description]", "Montaje")
    page.fill("[name=lines-1-price]", "120")
    page.check(f"[name=lines-1-tax][value='{iva10.id}']")
    page.check(f"[name=lines-1-tax][value='{irpf.id}']")
    page.fill("[name=lines-2-description]", "Tacos")
    page.fill("[name=lines-2-qty]", "3")
    page.fill("[name=lines-2-price]", "0,35")
    page.check(f"[name=lines-2-tax][value='{iva21.id}']")
    # Live totals come from the server: 99.90 + 120.00 + 1.05 = 220.95;
    # IVA 21 % on 100.95 = 21.20, IVA 10 % on 120 = 12.00, IRPF -15 % on 120 = -18.00.
    expect(page.locator("#total-total")).to_have_text("€236.15")
    page.click("#save-doc")
    page.wait_for_selector("#doc-number")
    doc = Document.get()
    assert (doc.subtotal, doc.total) == (22095, 23615)
    assert page.text_content("#doc-total").strip() == "€236.15"
    page.click("#to-open")
    page.wait_for_selector(".flash-success")
    assert Document.get().status == "open"
