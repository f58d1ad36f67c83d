"""The portal catalog: only for contacts with catalog access, only active and visible products,
at the contact's own prices, with availability as the business chose, searchable and paginated."""
import pytest

from app.models import ProductImage
from tests.conftest import soup
from tests.factories import make_category, make_contact, make_product, settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def card_ids(page):
    return [int(card["id"].split("-")[1]) for card in page.select("#product-grid article.product-card")]


def test_catalog_shows_only_active_and_visible_products(shopper):
    shown = make_product("Hammer")
    inactive = make_product("Old saw", active=False)
    hidden = make_product("Secret drill", visible=False)
    page = soup(shopper.get("/catalog/"))
    assert card_ids(page) == [shown.id]
    assert "Old saw" not in page.get_text() and "Secret drill" not in page.get_text()
    assert shopper.get(f"/catalog/products/{shown.id}").status_code == 200
    for product_id in (inactive.id, hidden.id, 999999):
        assert shopper.get(f"/catalog/products/{product_id}").status_code == 404


def test_prices_are_the_contacts_own_with_and_without_tax(auth):
    browser = auth.login_new_person(make_contact(catalog_enabled=True, discount_bp=1000))   # 10 % off
    product = make_product("Drill", price=12345, taxes=(("IVA", 2100),))
    card = soup(browser.get("/catalog/")).find(id=f"product-{product.id}")
    assert card.find(id=f"price-{product.id}").get_text(" ", strip=True).startswith("€111.11")  # 123.45 - 10 %
    page = soup(browser.get(f"/catalog/products/{product.id}"))
    assert page.find(id="price-net").get_text(" ", strip=True).startswith("€111.11")
    assert page.find(id="price-gross").get_text(" ", strip=True).startswith("€134.44")       # + 23.33 IVA
    assert "IVA 21" in page.find(id="price-gross").get_text()
    discount = page.find(id="product-discount").get_text()
    assert "10" in discount and "€123.45" in discount


def test_product_page_shows_description_reference_images_and_category_trail(shopper):
    tools = make_category("Tools")
    hammers = make_category("Hammers", parent=tools)
    product = make_product("Claw hammer", category=hammers, description="Forged steel.\n<b>16 oz</b>", sku="HAM-16")
    first = ProductImage.create(product=product, content_type="image/png", data=PNG, position=0)
    second = ProductImage.create(product=product, content_type="image/png", data=PNG, position=1)
    resp = shopper.get(f"/catalog/products/{product.id}")
    page = soup(resp)
    assert page.find(id="product-name").get_text() == "Claw hammer"
    assert page.find(id="product-sku").get_text() == "HAM-16"
    assert page.select_one("#product-description .pre").get_text() == "Forged steel.\n<b>16 oz</b>"
    assert "<b>16 oz</b>" not in resp.get_data(as_text=True)   # escaped, never markup
    srcs = [img["src"] for img in page.select("#product-images img")]
    assert srcs == [f"/catalog/images/{first.id}", f"/catalog/images/{second.id}"]
    assert [a.get_text() for a in page.select("#breadcrumbs a")] == ["Catalog", "Tools", "Hammers"]


def test_images_are_served_only_for_products_in_the_catalog(shopper):
    shown = make_product("Hammer")
    hidden = make_product("Hidden", visible=False)
    image = ProductImage.create(product=shown, content_type="image/png", data=PNG)
    hidden_image = ProductImage.create(product=hidden, content_type="image/png", data=PNG)
    resp = shopper.get(f"/catalog/images/{image.id}")
    assert resp.status_code == 200 and resp.mimetype == "image/png" and resp.data == PNG
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert shopper.get(f"/catalog/images/{hidden_image.id}").status_code == 404
    assert shopper.get("/catalog/images/999999").status_code == 404
    card = soup(shopper.get("/catalog/")).find(id=f"product-{shown.id}")
    assert card.img["src"] == f"/catalog/images/{image.id}"


def test_nested_categories_list_their_subcategories_products(shopper):
    tools = make_category("Tools")
    hammers = make_category("Hammers", parent=tools)
    empty = make_category("Garden")
    in_sub = make_product("Claw hammer", category=hammers)
    in_top = make_product("Toolbox", category=tools)
    elsewhere = make_product("Paint")
    make_product("Hidden hammer", category=hammers, visible=False)
    page = soup(shopper.get("/catalog/"))
    nav = page.find(id="category-nav")
    assert nav.find(id=f"category-{tools.id}") and nav.find(id=f"category-{hammers.id}")
    assert nav.find(id=f"category-{empty.id}") is None     # nothing to see there
    assert "depth-1" in nav.find(id=f"category-{hammers.id}").parent["class"]
    assert set(card_ids(soup(shopper.get(f"/catalog/?category={tools.id}")))) == {in_sub.id, in_top.id}
    sub = soup(shopper.get(f"/catalog/?category={hammers.id}"))
    assert card_ids(sub) == [in_sub.id] and elsewhere.id not in card_ids(sub)
    assert sub.find(id="catalog-title").get_text() == "Hammers"
    # Nonsense in the query string is the whole catalog, not an error.
    assert len(card_ids(soup(shopper.get("/catalog/?category=abc&page=-3")))) == 3


def test_search_by_name_and_reference(shopper):
    hammer = make_product("Claw hammer", sku="HAM-1")
    drill = make_product("Drill", sku="DR-77")
    make_product("Hidden hammer", visible=False, sku="HAM-2")
    assert card_ids(soup(shopper.get("/catalog/?q=hammer"))) == [hammer.id]
    assert card_ids(soup(shopper.get("/catalog/?q=dr-77"))) == [drill.id]
    empty = soup(shopper.get("/catalog/?q=nothing-like-this"))
    assert card_ids(empty) == [] and empty.find(id="catalog-empty")


def test_search_answers_htmx_with_the_list_fragment_and_a_page_otherwise(shopper):
    hammer = make_product("Claw hammer")
    frag = shopper.get("/catalog/?q=claw", headers={"HX-Request": "true"})
    html = frag.get_data(as_text=True)
    assert frag.status_code == 200 and "<html" not in html and "Vary" in frag.headers
    assert "HX-Request" in frag.headers["Vary"]
    root = [el for el in soup(frag).contents if getattr(el, "name", None)]
    assert len(root) == 1 and root[0]["id"] == "catalog-list"
    assert card_ids(soup(frag)) == [hammer.id]
    page = shopper.get("/catalog/?q=claw")
    assert "<html" in page.get_data(as_text=True) and "HX-Request" in page.headers["Vary"]
    # The search box is wired for active search, debounced, and targets the list.
    form = soup(page).find(id="catalog-search")
    assert form["hx-target"] == "#catalog-list" and "delay:300ms" in form["hx-trigger"]
    assert form["method"] == "get" and form["action"] == "/catalog/"   # and works without JavaScript


def test_lists_paginate_with_plain_links(shopper):
    made = [make_product(f"Product {i:02d}") for i in range(30)]
    first = soup(shopper.get("/catalog/"))
    assert card_ids(first) == [p.id for p in made[:24]]
    assert first.select_one(".pager a[rel=prev]") is None
    next_link = first.select_one(".pager a[rel=next]")
    assert next_link["href"] == "/catalog/?page=2" and next_link["hx-get"] == next_link["href"]
    second = soup(shopper.get(next_link["href"]))
    assert card_ids(second) == [p.id for p in made[24:]]
    assert second.select_one(".pager a[rel=next]") is None
    assert second.select_one(".pager a[rel=prev]")["href"] == "/catalog/"
    searched = soup(shopper.get("/catalog/?q=Product&page=2"))
    assert len(card_ids(searched)) == 6


@pytest.mark.parametrize("display, stock, expected", [
    ("exact", 12, "12 in stock"), ("exact", 3, "3 in stock"),
    ("level", 12, "In stock"), ("level", 3, "Low stock"),
    ("hidden", 12, "Available"), ("hidden", 3, "Available"),
])
def test_availability_as_the_business_chooses(shopper, display, stock, expected):
    settings(stock_display=display, low_stock_threshold=5)
    product = make_product("Hammer", stock=stock)
    page = soup(shopper.get("/catalog/"))
    assert page.find(id=f"availability-{product.id}").get_text(strip=True) == expected
    assert page.find(id=f"add-button-{product.id}") is not None


@pytest.mark.parametrize("display", ["exact", "level", "hidden"])
def test_out_of_stock_cannot_be_ordered_unless_the_business_sells_it(shopper, display):
    settings(stock_display=display, sell_out_of_stock=False)
    product = make_product("Hammer", stock=0)
    untracked = make_product("Service", stock=0, track_stock=False)
    page = soup(shopper.get("/catalog/"))
    assert page.find(id=f"availability-{product.id}").get_text(strip=True) == "Not available"
    assert page.find(id=f"add-button-{product.id}") is None
    assert page.find(id=f"add-button-{untracked.id}") is not None
    settings(sell_out_of_stock=True)
    page = soup(shopper.get(f"/catalog/products/{product.id}"))
    expected = "Available" if display == "hidden" else "Out of stock: available to order"
    assert page.find(id=f"availability-{product.id}").get_text(strip=True) == expected
    assert page.find(id=f"add-button-{product.id}") is not None


def test_nav_links_to_catalog_and_cart_only_with_catalog_access(auth, shopper):
    nav = soup(shopper.get("/")).find(id="portal-nav")
    assert nav.find(id="nav-catalog")["href"] == "/catalog/"
    assert nav.find(id="cart-link")["href"] == "/cart/"
    other = auth.login_new_person(make_contact(catalog_enabled=False))
    nav = soup(other.get("/")).find(id="portal-nav")
    assert nav.find(id="nav-catalog") is None and nav.find(id="cart-link") is None


def no_access_paths(product, image):
    return [("get", "/catalog/"), ("get", f"/catalog/?q={product.sku}"),
            ("get", f"/catalog/products/{product.id}"), ("get", f"/catalog/images/{image.id}"),
            ("get", "/cart/"), ("get", "/checkout/"), ("post", "/cart/items"),
            ("post", f"/cart/items/{product.id}"), ("post", f"/cart/items/{product.id}/remove"),
            ("post", "/checkout/"), ("post", "/cart/reorder/1")]


def test_contact_without_catalog_access_gets_404_everywhere(auth):
    browser = auth.login_new_person(make_contact(catalog_enabled=False))
    product = make_product("Hammer")
    image = ProductImage.create(product=product, content_type="image/png", data=PNG)
    for method, path in no_access_paths(product, image):
        data = {"product_id": str(product.id), "quantity": "1"}
        resp = browser.post(path, data) if method == "post" else browser.get(path)
        assert resp.status_code == 404, (method, path)


def test_catalog_requires_sign_in(client, app):
    product = make_product("Hammer")
    image = ProductImage.create(product=product, content_type="image/png", data=PNG)
    for method, path in no_access_paths(product, image):
        resp = getattr(client, method)(path)
        if method == "get":
            assert resp.status_code == 302 and "/login" in resp.headers["Location"], path
        else:
            assert resp.status_code in (302, 400), path   # no session: no CSRF token either
