"""Back-office catalog: products, stock, images, categories and tax rates."""
import io

import pytest

from app.models import Activity, Category, Product, ProductImage, ProductTax, TaxRate
from tests.conftest import error_text, soup
from tests.factories import GIF, JPEG, WEBP, make_category, make_product, make_tax, png_bytes, settings


def rows(model):
    """Every row of a table as plain values: what "nothing was written" compares."""
    return sorted(model.select().dicts(), key=lambda r: r["id"])


def product_rows():
    return rows(Product), rows(ProductTax), rows(ProductImage)


def product_data(**changes):
    data = {"sku": "HAM-1", "name": "Claw hammer", "description": "Steel, 500 g", "category": "",
            "price": "12,50", "stock": "7", "active": "1", "visible": "1", "track_stock": "1"}
    data.update(changes)
    return data


# --- access -------------------------------------------------------------------------------

@pytest.fixture
def ids(app):
    """One of each thing the catalog's URLs point at."""
    category = make_category("Tools")
    product = make_product(category=category)
    image = ProductImage.create(product=product, content_type="image/png", data=png_bytes())
    return {"product": product.id, "image": image.id, "category": category.id,
            "tax": TaxRate.get().id}


GETS = ["/staff/catalog/", "/staff/catalog/products/new", "/staff/catalog/products/{product}",
        "/staff/catalog/images/{image}", "/staff/catalog/categories/",
        "/staff/catalog/categories/{category}/edit", "/staff/catalog/taxes/",
        "/staff/catalog/taxes/{tax}/edit"]
POSTS = ["/staff/catalog/products/new", "/staff/catalog/products/{product}",
         "/staff/catalog/products/{product}/stock", "/staff/catalog/products/{product}/images",
         "/staff/catalog/images/{image}/delete", "/staff/catalog/categories/",
         "/staff/catalog/categories/{category}/edit", "/staff/catalog/categories/{category}/delete",
         "/staff/catalog/taxes/", "/staff/catalog/taxes/{tax}/edit",
         "/staff/catalog/taxes/{tax}/deactivate", "/staff/catalog/taxes/{tax}/activate"]


@pytest.mark.parametrize("path", GETS)
def test_pages_require_staff(browser, ids, path):
    resp = browser.get(path.format(**ids))
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/staff/login")


@pytest.mark.parametrize("path", POSTS)
def test_actions_require_staff(browser, ids, path):
    before = (product_rows(), rows(Category), rows(TaxRate))
    resp = browser.post(path.format(**ids), {"name": "X", "delta": "5", "reason": "r"})
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/staff/login")
    assert (product_rows(), rows(Category), rows(TaxRate)) == before


# --- products -----------------------------------------------------------------------------

def test_new_product_form_preselects_default_taxes(staff):
    vat = TaxRate.create(name="IVA", rate_bp=2100, is_default=True)
    reduced = TaxRate.create(name="IVA", rate_bp=1000)
    TaxRate.create(name="Old", rate_bp=1600, active=False, is_default=False)
    page = soup(staff.get("/staff/catalog/products/new"))
    boxes = {int(i["value"]): i.has_attr("checked") for i in page.select("#taxes input[name=taxes]")}
    assert boxes == {vat.id: True, reduced.id: False}   # the inactive one is not offered


def test_create_product_saves_and_shows(staff):
    settings(default_currency="EUR")
    vat = make_tax("IVA", 2100)
    cat = make_category("Hand tools")
    resp = staff.post("/staff/catalog/products/new", product_data(category=str(cat.id), taxes=[str(vat.id)]))
    assert resp.status_code == 303
    product = Product.get(Product.sku == "HAM-1")
    assert (product.name, product.price, product.currency, product.stock) == ("Claw hammer", 1250, "EUR", 7)
    assert product.category_id == cat.id and product.tax_ids() == {vat.id}
    assert product.active and product.visible and product.track_stock
    page = soup(staff.get(resp.headers["Location"]))
    assert "Claw hammer" in page.find(id="product-name").get_text()
    assert page.find(id="f-price")["value"] == "12.50"
    assert page.find(id="stock-level").get_text() == "7"


def test_price_is_typed_in_the_business_currency(staff):
    settings(default_currency="JPY")
    assert staff.post("/staff/catalog/products/new", product_data(price="1500")).status_code == 303
    product = Product.get()
    assert (product.price, product.currency) == (1500, "JPY")


@pytest.mark.parametrize("field, value", [
    ("sku", ""), ("sku", "S" * 61), ("name", ""), ("name", "   "), ("name", "N" * 201),
    ("description", "d" * 5001), ("price", ""), ("price", "-1"), ("price", "abc"),
    ("price", "1.234"), ("price", "1e400"), ("stock", ""), ("stock", "-1"), ("stock", "many"),
    ("stock", "1.5"), ("stock", "9999999999"), ("category", "999999"), ("category", "tools"),
    ("taxes", ["999999"]), ("taxes", ["x"]),
])
def test_bad_product_input_is_refused_next_to_the_field(staff, field, value):
    make_tax("IVA", 2100)
    before = product_rows()
    resp = staff.post("/staff/catalog/products/new", product_data(**{field: value}))
    assert resp.status_code == 422
    assert error_text(resp, field)
    assert product_rows() == before
    if field != "sku":   # the other values are kept
        assert soup(resp).find(id="f-sku")["value"] == "HAM-1"


def test_inactive_tax_cannot_be_chosen_for_a_new_product(staff):
    old = TaxRate.create(name="Old", rate_bp=1600, active=False)
    resp = staff.post("/staff/catalog/products/new", product_data(taxes=[str(old.id)]))
    assert resp.status_code == 422 and error_text(resp, "taxes")
    assert not Product.select().exists()


@pytest.mark.parametrize("field", ["sku", "name", "description", "price", "stock"])
def test_one_megabyte_of_text_is_refused_and_writes_nothing(staff, field):
    resp = staff.post("/staff/catalog/products/new", product_data(**{field: "7" * 1_000_000}))
    assert resp.status_code == 422 and error_text(resp, field)
    assert not Product.select().exists()


def test_duplicate_sku_is_refused_next_to_the_field(staff):
    make_product(sku="HAM-1", name="First hammer")
    before = product_rows()
    resp = staff.post("/staff/catalog/products/new", product_data(sku="HAM-1"))
    assert resp.status_code == 422
    assert "SKU" in error_text(resp, "sku")
    assert soup(resp).find(id="f-sku")["value"] == "HAM-1"
    assert product_rows() == before


def test_edit_product_saves_changes(staff):
    vat, reduced = make_tax("IVA", 2100), make_tax("IVA", 1000)
    product = make_product(sku="A-1", price=500, stock=3)
    page = soup(staff.get(f"/staff/catalog/products/{product.id}"))
    assert page.find(id="f-sku")["value"] == "A-1"
    resp = staff.post(f"/staff/catalog/products/{product.id}",
                      product_data(sku="A-2", name="Mallet", price="7", stock="4", stock_seen="3",
                                   visible="", taxes=[str(reduced.id)]))
    assert resp.status_code == 303
    product = Product.get_by_id(product.id)
    assert ((product.sku, product.name, product.price, product.stock, product.visible)
            == ("A-2", "Mallet", 700, 4, False))
    assert product.tax_ids() == {reduced.id}
    assert vat.id not in product.tax_ids()


def test_edit_to_another_products_sku_is_refused(staff):
    make_product(sku="TAKEN")
    product = make_product(sku="MINE")
    before = product_rows()
    resp = staff.post(f"/staff/catalog/products/{product.id}",
                      product_data(sku="TAKEN", stock=str(product.stock), stock_seen=str(product.stock)))
    assert resp.status_code == 422 and error_text(resp, "sku")
    assert product_rows() == before


def test_edit_does_not_overwrite_stock_that_changed_meanwhile(staff):
    product = make_product(stock=10)
    staff.get(f"/staff/catalog/products/{product.id}")
    assert product.adjust_stock(-4)          # an order placed while the form was open
    before = product_rows()
    resp = staff.post(f"/staff/catalog/products/{product.id}",
                      product_data(name="Renamed", stock="12", stock_seen="10"))
    assert resp.status_code == 422
    assert "6" in error_text(resp, "stock")
    assert product_rows() == before
    # Saving the form unchanged keeps the stock that orders left.
    resp = staff.post(f"/staff/catalog/products/{product.id}",
                      product_data(name="Renamed", stock="10", stock_seen="10"))
    assert resp.status_code == 303
    assert (Product.get_by_id(product.id).name, Product.get_by_id(product.id).stock) == ("Renamed", 6)


def test_edit_keeps_an_inactive_tax_the_product_already_has(staff):
    old = make_tax("Old", 1600)
    product = make_product(taxes=(("Old", 1600),))
    TaxRate.update(active=False).where(TaxRate.id == old.id).execute()
    page = soup(staff.get(f"/staff/catalog/products/{product.id}"))
    box = page.select_one(f"#taxes input[value='{old.id}']")
    assert box is not None and box.has_attr("checked")
    resp = staff.post(f"/staff/catalog/products/{product.id}",
                      product_data(taxes=[str(old.id)], stock=str(product.stock), stock_seen=str(product.stock)))
    assert resp.status_code == 303
    assert Product.get_by_id(product.id).tax_ids() == {old.id}


def test_unknown_product_is_404(staff):
    assert staff.get("/staff/catalog/products/999999").status_code == 404
    assert staff.get("/staff/catalog/images/999999").status_code == 404


def test_list_searches_by_name_and_sku_and_filters_by_category(staff):
    tools = make_category("Tools")
    hand = make_category("Hand tools", parent=tools)
    garden = make_category("Garden")
    make_product(name="Claw hammer", sku="HAM-1", category=hand, taxes=())
    make_product(name="Rake", sku="RK-9", category=garden, taxes=())
    make_product(name="Loose screw", sku="SCR-1", taxes=())

    def names(**args):
        page = soup(staff.get("/staff/catalog/", query_string=args))
        return sorted(a.get_text() for a in page.select("#products tbody td a"))

    assert names() == ["Claw hammer", "Loose screw", "Rake"]
    assert names(q="rake") == ["Rake"]
    assert names(q="ham-1") == ["Claw hammer"]
    assert names(category=tools.id) == ["Claw hammer"]     # subcategories count
    assert names(category=garden.id, q="hammer") == []
    assert names(category=999999) == ["Claw hammer", "Loose screw", "Rake"]   # unknown: no filter


def test_list_is_paginated_and_answers_htmx_with_the_fragment(staff):
    for n in range(51):
        make_product(name=f"Item {n:02d}", taxes=())
    page = soup(staff.get("/staff/catalog/"))
    assert len(page.select("#products tbody tr")) == 50
    assert page.select_one(".pager a[rel=next]")["href"].endswith("page=2")
    resp = staff.get("/staff/catalog/?page=2", headers={"HX-Request": "true"})
    assert "HX-Request" in resp.headers["Vary"]
    html = resp.get_data(as_text=True)
    assert "<html" not in html
    fragment = soup(resp)
    assert fragment.find().get("id") == "product-list"
    assert [a.get_text() for a in fragment.select("#products tbody td a")] == ["Item 50"]
    assert fragment.select_one(".pager a[rel=prev]") is not None


# --- stock --------------------------------------------------------------------------------

def test_stock_adjustment_adds_and_records_the_reason(staff):
    product = make_product(stock=10)
    resp = staff.post(f"/staff/catalog/products/{product.id}/stock", {"delta": "+5", "reason": "Delivery"})
    assert resp.status_code == 303
    assert Product.get_by_id(product.id).stock == 15
    entry = Activity.get(Activity.action == "stock_adjusted")
    assert "+5" in entry.detail and "Delivery" in entry.detail
    page = soup(staff.get(resp.headers["Location"]))
    assert page.find(id="stock-level").get_text() == "15"


def test_stock_adjustment_cannot_go_below_zero(staff):
    product = make_product(stock=3)
    resp = staff.post(f"/staff/catalog/products/{product.id}/stock", {"delta": "-4", "reason": "Broken"})
    assert resp.status_code == 422
    assert "3" in error_text(resp, "delta")
    assert Product.get_by_id(product.id).stock == 3
    assert not Activity.select().where(Activity.action == "stock_adjusted").exists()
    resp = staff.post(f"/staff/catalog/products/{product.id}/stock", {"delta": "-3", "reason": "Broken"})
    assert resp.status_code == 303 and Product.get_by_id(product.id).stock == 0


def test_stock_adjustment_over_htmx_returns_the_stock_panel(staff):
    product = make_product(stock=2)
    url = f"/staff/catalog/products/{product.id}/stock"
    resp = staff.post(url, {"delta": "-5", "reason": "x"}, headers={"HX-Request": "true"})
    assert resp.status_code == 422
    panel = soup(resp)
    assert panel.find().get("id") == "stock" and panel.find(id="e-delta")
    resp = staff.post(url, {"delta": "3", "reason": "Found"}, headers={"HX-Request": "true"})
    assert resp.status_code == 200
    panel = soup(resp)
    assert panel.find(id="stock-level").get_text() == "5"
    assert panel.find(id="stock-message")


@pytest.mark.parametrize("data, field", [
    ({"delta": "", "reason": "r"}, "delta"), ({"delta": "abc", "reason": "r"}, "delta"),
    ({"delta": "0", "reason": "r"}, "delta"), ({"delta": "1.5", "reason": "r"}, "delta"),
    ({"delta": "99999999999", "reason": "r"}, "delta"), ({"delta": "2", "reason": ""}, "reason"),
    ({"delta": "2", "reason": "r" * 201}, "reason"), ({"delta": "2", "reason": "r" * 1_000_000}, "reason"),
    ({"delta": "1" * 1_000_000, "reason": "r"}, "delta"),
])
def test_bad_stock_adjustment_is_refused(staff, data, field):
    product = make_product(stock=4)
    resp = staff.post(f"/staff/catalog/products/{product.id}/stock", data)
    assert resp.status_code == 422 and error_text(resp, field)
    assert Product.get_by_id(product.id).stock == 4


# --- images -------------------------------------------------------------------------------

def upload(staff, product, *files):
    return staff.post(f"/staff/catalog/products/{product.id}/images",
                      {"images": [(io.BytesIO(data), name) for data, name in files]},
                      content_type="multipart/form-data")


def test_images_are_stored_and_served_with_their_type(staff):
    product = make_product()
    resp = upload(staff, product, (png_bytes(), "front.png"), (JPEG, "side.txt"), (WEBP, "a.webp"), (GIF, "b.gif"))
    assert resp.status_code == 303
    stored = list(ProductImage.select().order_by(ProductImage.position))
    # The type comes from the bytes: a JPEG called side.txt is a JPEG.
    assert [i.content_type for i in stored] == ["image/png", "image/jpeg", "image/webp", "image/gif"]
    served = staff.get(f"/staff/catalog/images/{stored[0].id}")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.data == png_bytes()
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in served.headers["Content-Security-Policy"]
    assert staff.get(f"/staff/catalog/images/{stored[1].id}").mimetype == "image/jpeg"
    page = soup(staff.get(f"/staff/catalog/products/{product.id}"))
    assert [img["src"] for img in page.select("#images img")] == [f"/staff/catalog/images/{i.id}" for i in stored]


@pytest.mark.parametrize("data, name", [
    (b"just some text, honestly", "photo.png"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.png"),
    (b"", "empty.png"),
    (png_bytes(2 * 1024 * 1024 + 1), "huge.png"),
])
def test_bad_images_are_refused_and_nothing_is_stored(staff, data, name):
    product = make_product()
    resp = upload(staff, product, (png_bytes(), "good.png"), (data, name))
    assert resp.status_code == 422
    assert name in error_text(resp, "images")
    assert not ProductImage.select().exists()


def test_an_image_of_exactly_two_megabytes_is_accepted(staff):
    product = make_product()
    assert upload(staff, product, (png_bytes(2 * 1024 * 1024), "big.png")).status_code == 303
    assert len(bytes(ProductImage.get().data)) == 2 * 1024 * 1024


def test_upload_without_a_file_asks_for_one(staff):
    product = make_product()
    resp = staff.post(f"/staff/catalog/products/{product.id}/images", {}, content_type="multipart/form-data")
    assert resp.status_code == 422 and error_text(resp, "images")


def test_image_can_be_removed(staff):
    product = make_product()
    image = ProductImage.create(product=product, content_type="image/png", data=png_bytes())
    resp = staff.post(f"/staff/catalog/images/{image.id}/delete")
    assert resp.status_code == 303
    assert not ProductImage.select().exists()


# --- categories ---------------------------------------------------------------------------

def tree_rows(staff):
    page = soup(staff.get("/staff/catalog/categories/"))
    return [(tr.find("a").get_text(), int(tr["data-depth"]))
            for tr in page.select("#category-tree tbody tr[data-depth]")]


def test_categories_are_listed_as_a_tree(staff):
    resp = staff.post("/staff/catalog/categories/", {"name": "Tools", "parent": ""})
    assert resp.status_code == 303
    tools = Category.get(Category.name == "Tools")
    staff.post("/staff/catalog/categories/", {"name": "Garden", "parent": ""})
    staff.post("/staff/catalog/categories/", {"name": "Saws", "parent": str(tools.id)})
    staff.post("/staff/catalog/categories/", {"name": "Hammers", "parent": str(tools.id)})
    # Siblings keep the order they were added in (position), children follow their parent.
    assert tree_rows(staff) == [("Tools", 0), ("Saws", 1), ("Hammers", 1), ("Garden", 0)]


@pytest.mark.parametrize("data, field", [
    ({"name": "", "parent": ""}, "name"), ({"name": "n" * 121, "parent": ""}, "name"),
    ({"name": "Ok", "parent": "999999"}, "parent"), ({"name": "Ok", "parent": "x"}, "parent"),
    ({"name": "n" * 1_000_000, "parent": ""}, "name"), ({"name": "Ok", "parent": "9" * 1_000_000}, "parent"),
])
def test_bad_new_category_is_refused(staff, data, field):
    make_category("Tools")
    before = rows(Category)
    resp = staff.post("/staff/catalog/categories/", data)
    assert resp.status_code == 422 and error_text(resp, field)
    assert rows(Category) == before


def test_category_can_be_renamed_moved_and_reordered(staff):
    tools, garden = make_category("Tools"), make_category("Garden")
    saws = make_category("Saws", parent=tools)
    page = soup(staff.get(f"/staff/catalog/categories/{saws.id}/edit"))
    assert page.find(id="f-name")["value"] == "Saws"
    resp = staff.post(f"/staff/catalog/categories/{saws.id}/edit",
                      {"name": "Pruning saws", "parent": str(garden.id), "position": "3"})
    assert resp.status_code == 303
    saws = Category.get_by_id(saws.id)
    assert (saws.name, saws.parent_id, saws.position) == ("Pruning saws", garden.id, 3)
    Category.update(position=5).where(Category.id == tools.id).execute()
    assert tree_rows(staff) == [("Garden", 0), ("Pruning saws", 1), ("Tools", 0)]


def test_category_cannot_move_inside_itself_or_a_descendant(staff):
    tools = make_category("Tools")
    hand = make_category("Hand", parent=tools)
    hammers = make_category("Hammers", parent=hand)
    before = rows(Category)
    for target in (tools, hand, hammers):
        resp = staff.post(f"/staff/catalog/categories/{tools.id}/edit",
                          {"name": "Tools", "parent": str(target.id), "position": "0"})
        assert resp.status_code == 422 and error_text(resp, "parent")
    assert rows(Category) == before
    # The edit form does not offer them either.
    page = soup(staff.get(f"/staff/catalog/categories/{tools.id}/edit"))
    assert [o["value"] for o in page.select("#f-parent option")] == [""]


@pytest.mark.parametrize("data, field", [
    ({"name": "", "parent": "", "position": "0"}, "name"),
    ({"name": "T", "parent": "424242", "position": "0"}, "parent"),
    ({"name": "T", "parent": "", "position": "-1"}, "position"),
    ({"name": "T", "parent": "", "position": "first"}, "position"),
    ({"name": "T", "parent": "", "position": "1" * 1_000_000}, "position"),
])
def test_bad_category_edit_is_refused(staff, data, field):
    tools = make_category("Tools")
    before = rows(Category)
    resp = staff.post(f"/staff/catalog/categories/{tools.id}/edit", data)
    assert resp.status_code == 422 and error_text(resp, field)
    assert rows(Category) == before


def test_deleting_a_category_keeps_its_products_and_subcategories(staff):
    tools = make_category("Tools")
    hand = make_category("Hand", parent=tools)
    hammers = make_category("Hammers", parent=hand)
    product = make_product(category=hand)
    resp = staff.post(f"/staff/catalog/categories/{hand.id}/delete")
    assert resp.status_code == 303
    assert not Category.select().where(Category.id == hand.id).exists()
    assert Product.get_by_id(product.id).category_id is None
    assert Category.get_by_id(hammers.id).parent_id == tools.id


# --- tax rates ----------------------------------------------------------------------------

@pytest.mark.parametrize("typed, rate_bp", [("21", 2100), ("10,5", 1050), ("-15", -1500), ("4 %", 400), ("0", 0)])
def test_tax_rate_is_typed_as_a_percent(staff, typed, rate_bp):
    resp = staff.post("/staff/catalog/taxes/", {"name": "IVA", "rate": typed, "is_default": "1"})
    assert resp.status_code == 303
    tax = TaxRate.get()
    assert (tax.name, tax.rate_bp, tax.is_default, tax.active) == ("IVA", rate_bp, True, True)
    assert soup(staff.get("/staff/catalog/taxes/")).find(id=f"tax-{tax.id}") is not None


@pytest.mark.parametrize("data, field", [
    ({"name": "", "rate": "21"}, "name"), ({"name": "N" * 41, "rate": "21"}, "name"),
    ({"name": "IVA", "rate": ""}, "rate"), ({"name": "IVA", "rate": "abc"}, "rate"),
    ({"name": "IVA", "rate": "101"}, "rate"), ({"name": "IVA", "rate": "-100.5"}, "rate"),
    ({"name": "IVA", "rate": "10.555"}, "rate"), ({"name": "IVA", "rate": "21"}, "name"),
    ({"name": "x" * 1_000_000, "rate": "21"}, "name"), ({"name": "IVA", "rate": "2" * 1_000_000}, "rate"),
])
def test_bad_tax_rate_is_refused(staff, data, field):
    make_tax("IVA", 2100)   # makes the last case a duplicate
    before = rows(TaxRate)
    resp = staff.post("/staff/catalog/taxes/", data)
    assert resp.status_code == 422 and error_text(resp, field)
    assert rows(TaxRate) == before


def test_duplicate_tax_rate_message_names_it(staff):
    make_tax("IRPF", -1500)
    resp = staff.post("/staff/catalog/taxes/", {"name": "IRPF", "rate": "-15"})
    assert resp.status_code == 422
    assert "IRPF" in error_text(resp, "name") and "already exists" in error_text(resp, "name")


def test_tax_rate_can_be_edited_but_not_into_a_duplicate(staff):
    make_tax("IVA", 2100)
    reduced = make_tax("IVA", 1000)
    assert soup(staff.get(f"/staff/catalog/taxes/{reduced.id}/edit")).find(id="f-rate")["value"] == "10"
    before = rows(TaxRate)
    resp = staff.post(f"/staff/catalog/taxes/{reduced.id}/edit", {"name": "IVA", "rate": "21"})
    assert resp.status_code == 422 and error_text(resp, "name")
    assert rows(TaxRate) == before
    resp = staff.post(f"/staff/catalog/taxes/{reduced.id}/edit",
                      {"name": "IVA reducido", "rate": "10,5", "is_default": "1"})
    assert resp.status_code == 303
    reduced = TaxRate.get_by_id(reduced.id)
    assert (reduced.name, reduced.rate_bp, reduced.is_default) == ("IVA reducido", 1050, True)


def test_deactivated_tax_is_no_longer_offered_or_preselected(staff):
    tax = TaxRate.create(name="IVA", rate_bp=2100, is_default=True)
    assert staff.post(f"/staff/catalog/taxes/{tax.id}/deactivate").status_code == 303
    tax = TaxRate.get_by_id(tax.id)
    assert not tax.active and not tax.is_default
    assert not soup(staff.get("/staff/catalog/products/new")).select("#taxes input[name=taxes]")
    resp = staff.post(f"/staff/catalog/taxes/{tax.id}/edit", {"name": "IVA", "rate": "21", "is_default": "1"})
    assert resp.status_code == 422 and error_text(resp, "is_default")
    assert staff.post(f"/staff/catalog/taxes/{tax.id}/activate").status_code == 303
    assert TaxRate.get_by_id(tax.id).active
