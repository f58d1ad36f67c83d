"""Browser: catalog → a category → a product → add to cart (the badge updates in place) →
change the quantity → checkout → the order on the summary and in the orders list, stock down."""
import re

import pytest
from playwright.sync_api import expect

from app.models import Document, Product
from tests.factories import make_category, make_contact, make_person, make_product
from tests.browser import portal_sign_in

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"



def test_catalog_to_order(page, live_server):
    contact = make_contact(name="Talleres Ruiz", catalog_enabled=True, discount_bp=1000,
                           shipping_address="Calle Mayor 1\n28001 Madrid")
    person = make_person(contact=contact, password=PASSWORD)
    tools = make_category("Tools")
    hammers = make_category("Hammers", parent=tools)
    hammer = make_product("Claw hammer", price=2000, stock=10, category=hammers, sku="HAM-16",
                          description="Forged steel head.")
    make_product("Paint roller", price=500, stock=3)

    portal_sign_in(page, person)
    page.click("#nav-catalog")
    expect(page.locator("#catalog-title")).to_have_text("Catalog")
    page.click(f"#category-{tools.id}")
    expect(page.locator("#catalog-title")).to_have_text("Tools")
    expect(page.locator("#product-grid .product-card")).to_have_count(1)
    page.click(f"#product-{hammer.id} h2 a")
    expect(page.locator("#product-name")).to_have_text("Claw hammer")
    expect(page.locator("#price-net")).to_contain_text("€18.00")      # the contact's 10 % off
    expect(page.locator("#price-gross")).to_contain_text("€21.78")

    # Add to cart: the form and the header's badge change without a page load.
    page.evaluate("window.__same_page = true")
    expect(page.locator("#cart-count")).to_have_text("")
    page.fill(f"#qty-{hammer.id}", "2")
    page.click(f"#add-button-{hammer.id}")
    expect(page.locator("#cart-count")).to_have_text("2")
    expect(page.locator(f"#add-{hammer.id} [role=status]")).to_contain_text("Added: 2 in your cart.")
    assert page.evaluate("window.__same_page") is True

    # Change the quantity in the cart: the line, the totals and the badge follow in place.
    page.click("#cart-link")
    expect(page.locator(f"#cart-net-{hammer.id}")).to_have_text("€36.00")
    page.evaluate("window.__same_page = true")
    page.fill(f"#cart-qty-{hammer.id}", "3")
    page.click(f"#update-{hammer.id}")
    expect(page.locator(f"#cart-net-{hammer.id}")).to_have_text("€54.00")
    expect(page.locator("#total-total")).to_have_text("€65.34")
    expect(page.locator("#cart-count")).to_have_text("3")
    # A refused quantity gets its message next to the field, and nothing changes.
    page.fill(f"#cart-qty-{hammer.id}", "1.5")
    page.click(f"#update-{hammer.id}")
    expect(page.locator(f"#e-cart-qty-{hammer.id}")).to_contain_text("whole number")
    expect(page.locator("#cart-count")).to_have_text("3")
    assert page.evaluate("window.__same_page") is True

    # Checkout: the address is the contact's, the total is confirmed on the button.
    page.click("#checkout-link")
    expect(page.locator("#f-shipping_address")).to_have_value("Calle Mayor 1\n28001 Madrid")
    expect(page.locator("#place-order")).to_contain_text("€65.34")
    page.fill("#f-reference", "PO-2026-17")
    page.click("#place-order")
    order = Document.get()
    page.wait_for_url(f"**/documents/{order.id}")
    expect(page.locator("#doc-title")).to_contain_text(order.number)
    expect(page.locator(".flash-success")).to_contain_text(order.number)
    expect(page.locator("#cart-count")).to_have_text("")
    assert (order.kind, order.status, order.total, order.reference) == ("order", "open", 6534, "PO-2026-17")
    assert Product.get_by_id(hammer.id).stock == 7

    page.click("#portal-nav a[href='/']")
    expect(page.locator("#recent-orders")).to_contain_text(order.number)
    page.goto("/orders")
    expect(page.locator("#doc-table")).to_contain_text(order.number)


def test_active_search_updates_the_list_as_one_types(page, live_server):
    contact = make_contact(catalog_enabled=True)
    person = make_person(contact=contact, password=PASSWORD)
    hammer = make_product("Claw hammer", sku="HAM-16")
    drill = make_product("Cordless drill", sku="DR-77")
    portal_sign_in(page, person)
    page.goto("/catalog/")
    expect(page.locator("#product-grid .product-card")).to_have_count(2)
    page.evaluate("window.__same_page = true")
    page.locator("#catalog-q").press_sequentially("dr-7", delay=40)
    expect(page.locator("#product-grid .product-card")).to_have_count(1)
    expect(page.locator(f"#product-{drill.id}")).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=dr-7"))
    page.locator("#catalog-q").fill("hammer")
    expect(page.locator(f"#product-{hammer.id}")).to_be_visible()
    expect(page.locator("#product-grid .product-card")).to_have_count(1)
    assert page.evaluate("window.__same_page") is True
    expect(page.locator("#catalog-q")).to_be_focused()
