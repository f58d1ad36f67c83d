"""The cart: kept per contact, prices from the server, quantities checked, HTMX fragments with
the badge out of band, the same forms without JavaScript, reorder from a past order."""
import pytest

from app.models import CartItem, Document, DocumentLine, Product
from tests.conftest import soup
from tests.factories import make_contact, make_document, make_product, settings

HX = {"HX-Request": "true"}
BAD_QUANTITIES = [("-1", "at least 1"), ("0", "at least 1"), ("1.5", "whole number"), ("1e9", "whole number"),
                  ("1000000000", "no greater than"), ("many", "whole number"), ("", "required"),
                  (" ", "required")]


def add(browser, product, quantity="1", headers=None, **extra):
    return browser.post("/cart/items", {"product_id": str(product.id), "quantity": quantity, **extra},
                        headers=headers or {})


def items(browser):
    return {i.product_id: i.quantity for i in CartItem.select().where(CartItem.contact == browser.person.contact_id)}


def badge(page):
    return page.find(id="cart-count").get_text(strip=True)


def test_add_without_javascript_redirects_back_and_the_badge_counts(shopper):
    product = make_product("Hammer", price=1500)
    resp = add(shopper, product, "2", next="/catalog/?q=ham")
    assert resp.status_code == 303 and resp.headers["Location"] == "/catalog/?q=ham"
    add(shopper, product, "3")
    assert items(shopper) == {product.id: 5}
    page = soup(shopper.get("/catalog/"))
    assert badge(page) == "5"
    assert "Hammer is in your cart." in page.select_one(".flash-success").get_text()


def test_add_with_htmx_answers_the_form_and_the_badge_out_of_band(shopper):
    product = make_product("Hammer")
    resp = add(shopper, product, "2", headers=HX)
    assert resp.status_code == 200 and "HX-Request" in resp.headers["Vary"]
    html = resp.get_data(as_text=True)
    assert "<html" not in html
    page = soup(resp)
    roots = [el for el in page.contents if getattr(el, "name", None)]
    assert [r["id"] for r in roots] == [f"add-{product.id}", "cart-link"]
    assert roots[1]["hx-swap-oob"] == "true" and badge(page) == "2"
    assert "Added: 2 in your cart." in roots[0].find(role="status").get_text()


def test_next_only_goes_to_this_site(shopper):
    product = make_product("Hammer")
    resp = add(shopper, product, "1", next="https://evil.example/")
    assert resp.headers["Location"] == f"/catalog/products/{product.id}"


@pytest.mark.parametrize("quantity, message", BAD_QUANTITIES)
def test_bad_quantities_are_refused_with_a_message_and_nothing_changes(shopper, quantity, message):
    product = make_product("Hammer", stock=10 ** 9)
    resp = add(shopper, product, quantity)
    assert resp.status_code == 422
    page = soup(resp)
    assert message in page.find(id=f"e-qty-{product.id}").get_text()
    assert page.find(id=f"qty-{product.id}")["value"] == quantity   # the typed value is kept
    assert items(shopper) == {}
    frag = add(shopper, product, quantity, headers=HX)
    assert frag.status_code == 422 and message in soup(frag).find(id=f"e-qty-{product.id}").get_text()
    # Changing a quantity already in the cart: refused the same way, the line unchanged.
    add(shopper, product, "2")
    for headers in ({}, HX):
        resp = shopper.post(f"/cart/items/{product.id}", {"quantity": quantity}, headers=headers)
        assert resp.status_code == 422
        page = soup(resp)
        assert message in page.find(id=f"e-cart-qty-{product.id}").get_text()
        assert page.find(id=f"cart-qty-{product.id}")["value"] == quantity
        assert items(shopper) == {product.id: 2}


def test_quantities_stay_within_stock_unless_the_business_sells_out_of_stock(shopper):
    product = make_product("Hammer", stock=3)
    resp = add(shopper, product, "4")
    assert resp.status_code == 422 and "Only 3 in stock." in soup(resp).find(id=f"e-qty-{product.id}").get_text()
    assert add(shopper, product, "2").status_code == 303
    assert add(shopper, product, "2").status_code == 422    # 2 + 2 > 3
    assert shopper.post(f"/cart/items/{product.id}", {"quantity": "4"}).status_code == 422
    assert items(shopper) == {product.id: 2}
    settings(sell_out_of_stock=True)
    assert shopper.post(f"/cart/items/{product.id}", {"quantity": "40"}).status_code == 303
    assert items(shopper) == {product.id: 40}


@pytest.mark.parametrize("kind", ["inactive", "hidden", "unknown", "garbage"])
def test_inactive_hidden_and_unknown_products_cannot_be_added(shopper, kind):
    product = make_product("Hammer", active=kind != "inactive", visible=kind != "hidden")
    product_id = {"unknown": "999999", "garbage": "1 OR 1=1"}.get(kind, str(product.id))
    for headers in ({}, HX):
        resp = shopper.post("/cart/items", {"product_id": product_id, "quantity": "1"}, headers=headers)
        assert resp.status_code == 404
    assert items(shopper) == {}


def test_posted_prices_and_discounts_are_ignored(auth):
    browser = auth.login_new_person(make_contact(catalog_enabled=True, discount_bp=500))
    product = make_product("Hammer", price=2000)
    add(browser, product, "2", price="1", unit_price="1", unit_price_seen="1", discount="100", discount_bp="10000",
        total="0")
    item = CartItem.get()
    assert (item.quantity, item.unit_price_seen) == (2, 1900)   # 20.00 less the contact's 5 %
    page = soup(browser.get("/cart/"))
    assert page.find(id=f"cart-net-{product.id}").get_text() == "€38.00"
    assert page.find(id="total-total").get_text() == "€45.98"    # + IVA 21 % of 38.00


def test_change_quantity_and_remove_with_htmx_return_the_cart_and_the_badge(shopper):
    hammer, saw = make_product("Hammer", price=1000), make_product("Saw", price=2500)
    add(shopper, hammer, "1")
    add(shopper, saw, "1")
    resp = shopper.post(f"/cart/items/{hammer.id}", {"quantity": "3"}, headers=HX)
    page = soup(resp)
    roots = [el for el in page.contents if getattr(el, "name", None)]
    assert [r["id"] for r in roots] == ["cart", "cart-link"] and roots[1]["hx-swap-oob"] == "true"
    assert badge(page) == "4" and page.find(id=f"cart-net-{hammer.id}").get_text() == "€30.00"
    assert page.find(id="total-total").get_text() == "€66.55"   # 55.00 + 21 %
    resp = shopper.post(f"/cart/items/{saw.id}/remove", headers=HX)
    page = soup(resp)
    assert page.find(id=f"cart-line-{saw.id}") is None and badge(page) == "3"
    assert items(shopper) == {hammer.id: 3}
    # Removing what is no longer there answers the same cart; changing it is a 404.
    assert shopper.post(f"/cart/items/{saw.id}/remove", headers=HX).status_code == 200
    assert shopper.post(f"/cart/items/{saw.id}", {"quantity": "1"}).status_code == 404


def test_change_quantity_and_remove_without_javascript_redirect_to_the_cart(shopper):
    hammer = make_product("Hammer")
    add(shopper, hammer, "1")
    resp = shopper.post(f"/cart/items/{hammer.id}", {"quantity": "2"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/cart/"
    assert items(shopper) == {hammer.id: 2}
    resp = shopper.post(f"/cart/items/{hammer.id}/remove")
    assert resp.status_code == 303 and items(shopper) == {}
    assert soup(shopper.get("/cart/")).find(id="cart-empty")


def test_cart_is_a_fragment_for_htmx_and_a_page_otherwise(shopper):
    hammer = make_product("Hammer")
    add(shopper, hammer, "1")
    frag = shopper.get("/cart/", headers=HX)
    assert "HX-Request" in frag.headers["Vary"] and "<html" not in frag.get_data(as_text=True)
    roots = [el for el in soup(frag).contents if getattr(el, "name", None)]
    assert [r["id"] for r in roots] == ["cart"]
    page = shopper.get("/cart/")
    assert "HX-Request" in page.headers["Vary"] and "<html" in page.get_data(as_text=True)
    assert soup(page).select_one("main #cart #cart-line-%d" % hammer.id)
    # The boosted navigation and the history restore get the page.
    full = shopper.get("/cart/", headers={**HX, "HX-Request-Type": "full"})
    assert "<html" in full.get_data(as_text=True)


def test_the_cart_forms_work_with_and_without_javascript(shopper):
    hammer = make_product("Hammer")
    add(shopper, hammer, "1")
    cart = soup(shopper.get("/cart/")).find(id="cart")
    for form in cart.find_all("form"):
        assert form["method"] == "post" and form["action"] == form["hx-post"]
        assert form["hx-target"] == "#cart" and form.find("input", attrs={"name": "csrf_token"})


def test_unavailable_and_repriced_products_are_flagged_before_checkout(shopper):
    hammer, saw, drill = make_product("Hammer", price=1000), make_product("Saw", stock=5), make_product("Drill")
    for p in (hammer, saw, drill):
        add(shopper, p, "2")
    Product.update(price=1200).where(Product.id == hammer.id).execute()
    page = soup(shopper.get("/cart/"))
    assert "changed from €10.00 to €12.00" in page.find(id=f"price-changed-{hammer.id}").get_text()
    assert page.find(id="checkout-link") is not None          # a new price is news, not a stop
    Product.update(stock=1).where(Product.id == saw.id).execute()
    Product.update(active=False).where(Product.id == drill.id).execute()
    page = soup(shopper.get("/cart/"))
    assert page.find(id=f"problem-{saw.id}").get_text() == "Only 1 in stock."
    assert page.find(id=f"problem-{drill.id}").get_text() == "This product is not available."
    assert "flagged" in page.find(id=f"cart-line-{drill.id}")["class"]
    assert page.find(id="checkout-link") is None and page.find(id="cart-problems")
    # Setting a quantity the stock allows clears the flag, and the new price counts as seen.
    shopper.post(f"/cart/items/{saw.id}", {"quantity": "1"})
    shopper.post(f"/cart/items/{hammer.id}", {"quantity": "2"})
    shopper.post(f"/cart/items/{drill.id}/remove")
    page = soup(shopper.get("/cart/"))
    assert page.find(id="checkout-link") and page.find(id=f"price-changed-{hammer.id}") is None


def test_cart_survives_sign_out_and_follows_to_another_device(auth, shopper):
    hammer = make_product("Hammer")
    add(shopper, hammer, "2")
    auth.logout(shopper)
    other = auth.login(shopper.person)
    page = soup(other.get("/cart/"))
    assert page.find(id=f"cart-qty-{hammer.id}")["value"] == "2" and badge(page) == "2"


def test_carts_are_per_contact(auth, shopper):
    hammer = make_product("Hammer")
    add(shopper, hammer, "2")
    other = auth.login_new_person(make_contact(catalog_enabled=True))
    assert soup(other.get("/cart/")).find(id="cart-empty")
    assert other.post(f"/cart/items/{hammer.id}", {"quantity": "5"}).status_code == 404
    other.post(f"/cart/items/{hammer.id}/remove")
    assert items(shopper) == {hammer.id: 2}


def past_order(contact, products, number="SO-OLD-1"):
    doc = make_document(contact, kind="order", status="delivered", number=number,
                        lines=[(p.name, 2000, 500, 0, []) for p in products])
    for line, product in zip(doc.ordered_lines(), products):
        DocumentLine.update(product=product).where(DocumentLine.id == line.id).execute()
    return doc


def test_reorder_puts_products_back_at_todays_prices_and_skips_unavailable(shopper):
    hammer = make_product("Hammer", price=1000)
    gone = make_product("Old saw")
    short = make_product("Drill", stock=1)
    order = past_order(shopper.person.contact, [hammer, gone, short])
    Product.update(active=False).where(Product.id == gone.id).execute()
    page = soup(shopper.get(f"/documents/{order.id}"))
    form = page.select_one("#reorder form")
    assert form["action"] == f"/cart/reorder/{order.id}"
    resp = shopper.post(form["action"])
    assert resp.status_code == 303 and resp.headers["Location"] == "/cart/"
    assert items(shopper) == {hammer.id: 2, short.id: 1}        # as many as the stock allows
    assert CartItem.get(CartItem.product == hammer.id).unit_price_seen == 1000   # today's, not 5.00
    flashes = soup(shopper.get("/cart/")).select(".flash")
    assert "Hammer" in flashes[0].get_text() and "Drill" in flashes[0].get_text()
    assert "Old saw" in flashes[1].get_text() and "not added" in flashes[1].get_text()


def test_reorder_only_of_ones_own_orders(auth, shopper):
    other_order = past_order(make_contact(catalog_enabled=True), [make_product("Hammer")], number="SO-X")
    invoice = make_document(shopper.person.contact, kind="invoice")
    for doc in (other_order, invoice):
        assert shopper.post(f"/cart/reorder/{doc.id}").status_code == 404
    assert items(shopper) == {}
    assert soup(shopper.get(f"/documents/{invoice.id}")).find(id="reorder") is None
    no_catalog = auth.login_new_person(make_contact(catalog_enabled=False))
    own = past_order(no_catalog.person.contact, [make_product("Saw")], number="SO-Y")
    assert soup(no_catalog.get(f"/documents/{own.id}")).find(id="reorder") is None
    assert Document.select().count() == 3
