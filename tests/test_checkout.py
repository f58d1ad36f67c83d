"""Checkout: one sales order from the cart, priced by the server, stock taken in the same
transaction and never below zero, one order per form however often it is sent, mails to the
business and the person; staff cancelling an order returns its stock."""
import datetime
import json
from functools import partial

import pytest

from app import numbering, orders
from app.db import db
from app.models import CartItem, Document, DocumentLine, Job, LineTax, Product
from tests.concurrency import race
from tests.conftest import soup
from tests.factories import make_contact, make_document, make_product, make_tax, settings


def add(browser, product, quantity):
    resp = browser.post("/cart/items", {"product_id": str(product.id), "quantity": str(quantity)})
    assert resp.status_code == 303, resp.get_data(as_text=True)


def checkout_form(browser):
    """The hidden and prefilled fields of the checkout form, as the page sends them."""
    form = soup(browser.get("/checkout/")).find(id="checkout-form")
    values = {i["name"]: i.get("value", "") for i in form.find_all("input")}
    values.update({t["name"]: t.get_text() for t in form.find_all("textarea")})
    return values


def place(browser, **changes):
    values = checkout_form(browser)
    values.update(changes)
    return browser.post("/checkout/", values)


def buy(browser, values):
    return browser.post("/checkout/", values).status_code


def mails():
    return [json.loads(job.payload) for job in Job.select().where(Job.kind == "mail").order_by(Job.id)]


def test_checkout_makes_an_open_sales_order_from_the_cart(app, shopper, outbox):
    settings(notify_email="orders@business.example", default_language="es", order_prefix="SO")
    contact = shopper.person.contact
    contact.shipping_address, contact.discount_bp = "Calle Mayor 1\n28001 Madrid", 1000
    contact.save()
    shopper.person.language = "en"
    shopper.person.save()
    iva, irpf = make_tax("IVA", 2100), make_tax("IRPF", -1500)
    hammer = make_product("Hammer", price=1999, stock=10, sku="HAM-1")
    service = make_product("Fitting", price=5000, stock=0, track_stock=False, taxes=(("IVA", 2100), ("IRPF", -1500)))
    add(shopper, hammer, 3)
    add(shopper, service, 1)
    cart_page = soup(shopper.get("/cart/"))
    cart_total = cart_page.find(id="total-total").get_text()

    page = soup(shopper.get("/checkout/"))
    assert page.find(id="f-shipping_address").get_text() == "Calle Mayor 1\n28001 Madrid"
    assert page.find(id="total-total").get_text() == cart_total
    assert cart_total in page.find(id="place-order").get_text()
    resp = place(shopper, shipping_address="Almacén 2, Getafe", reference="PO-77", notes="Ring the bell")
    assert resp.status_code == 303
    order = Document.get()
    assert resp.headers["Location"] == f"/documents/{order.id}"
    today = datetime.date.today()
    assert (order.kind, order.status, order.number) == ("order", "open", f"SO-{today.year}-0001")
    assert (order.contact_id, order.issue_date, order.currency) == (contact.id, today, "EUR")
    assert (order.shipping_address, order.reference, order.notes) == ("Almacén 2, Getafe", "PO-77", "Ring the bell")
    lines = list(order.ordered_lines())
    assert [(l.product_id, l.description, l.qty_milli, l.unit_price, l.discount_bp, l.net) for l in lines] == [
        (hammer.id, "Hammer", 3000, 1999, 1000, 5397),   # 3 × 19.99 less 10 % = 53.973
        (service.id, "Fitting", 1000, 5000, 1000, 4500)]
    taxes = {(t.line_id, t.name, t.rate_bp) for t in LineTax.select()}
    assert taxes == {(lines[0].id, "IVA", 2100), (lines[1].id, "IVA", 2100), (lines[1].id, "IRPF", -1500)}
    # 98.97 + IVA 21 % of 98.97 (20.78) - IRPF 15 % of 45.00 (6.75)
    assert (order.subtotal, order.tax_total, order.total) == (9897, 1403, 11300)
    assert cart_total == "€113.00"
    assert Product.get_by_id(hammer.id).stock == 7 and Product.get_by_id(service.id).stock == 0
    assert [l.stock_taken for l in lines] == [3, 0]
    assert CartItem.select().count() == 0
    assert iva and irpf

    # The order's page, the summary and the orders list show it.
    doc_page = soup(shopper.get(resp.headers["Location"]))
    assert f"SO-{today.year}-0001" in doc_page.find(id="doc-title").get_text()
    assert "order SO-" in doc_page.select_one(".flash-success").get_text()
    assert order.number in soup(shopper.get("/")).find(id="recent-orders").get_text()
    assert order.number in soup(shopper.get("/orders")).find(id="doc-table").get_text()
    assert soup(shopper.get("/cart/")).find(id="cart-count").get_text() == ""

    # Mails: queued with the order but not rendered in its transaction (the checkout held the
    # write lock meanwhile); each names its template, language and the order to read again.
    queued = mails()
    assert [(m["template"], m["language"]) for m in queued] == [("order_business", "es"), ("order_person", "en")]
    assert all(not {"subject", "text", "html"} & set(m) for m in queued)
    assert all(m["context"]["order"] == {"$row": ["Document", order.id]} for m in queued)
    # Rendered by the job: the business in its language (es: 113,00 €), the person in theirs (en: €113.00).
    business, person = outbox()
    assert business.rcpt_tos == ["orders@business.example"]
    assert business.message["Reply-To"] == shopper.person.email
    assert order.number in business.message["Subject"] and "113,00\u00a0€" in business.text
    assert "Hammer" in business.text and "Fitting" in business.text
    assert f"http://portal.test/staff/documents/{order.id}" in business.text
    assert person.rcpt_tos == [shopper.person.email] and order.number in person.message["Subject"]
    assert "€113.00" in person.text and f"http://portal.test/documents/{order.id}" in person.text
    assert "Almacén 2, Getafe" in person.text and "Subtotal" in person.text
    assert "€113.00" in person.html


def test_prices_totals_and_discounts_come_from_the_server_whatever_the_form_sends(shopper):
    hammer = make_product("Hammer", price=1000, stock=5)
    add(shopper, hammer, 2)
    resp = place(shopper, total="0", price="1", unit_price="1", discount="100", discount_bp="10000",
                 subtotal="0", **{"lines-0-price": "0", "currency": "USD", "status": "paid", "number": "X-1"})
    assert resp.status_code == 303
    order = Document.get()
    assert (order.total, order.currency, order.status, order.amount_paid) == (2420, "EUR", "open", 0)
    assert order.number.startswith("SO-")
    line = DocumentLine.get()
    assert (line.unit_price, line.discount_bp, line.net) == (1000, 0, 2000)


def test_a_double_submission_makes_one_order(shopper):
    hammer = make_product("Hammer", stock=5)
    add(shopper, hammer, 1)
    values = checkout_form(shopper)
    first = shopper.post("/checkout/", dict(values))
    second = shopper.post("/checkout/", dict(values))
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert Document.select().count() == 1 and Product.get_by_id(hammer.id).stock == 4
    assert "already placed" in soup(shopper.get(second.headers["Location"])).get_text()
    # The same form sent again after the cart was filled again still makes no second order.
    add(shopper, hammer, 1)
    assert shopper.post("/checkout/", dict(values)).headers["Location"] == first.headers["Location"]
    assert Document.select().count() == 1 and CartItem.select().count() == 1


def test_a_cart_that_changed_since_the_page_must_be_confirmed_again(shopper):
    hammer = make_product("Hammer", price=1000, stock=5)
    add(shopper, hammer, 1)
    values = checkout_form(shopper)
    Product.update(price=1500).where(Product.id == hammer.id).execute()
    resp = shopper.post("/checkout/", dict(values))
    assert resp.status_code == 422
    page = soup(resp)
    assert "changed" in page.find(id="checkout-problem").get_text()
    assert page.find(id="total-total").get_text() == "€18.15"          # the new total to confirm
    assert page.find("input", attrs={"name": "key"})["value"] == values["key"]
    assert Document.select().count() == 0 and Product.get_by_id(hammer.id).stock == 5
    resp = shopper.post("/checkout/", {**values, "state": page.find("input", attrs={"name": "state"})["value"]})
    assert resp.status_code == 303 and Document.get().total == 1815


@pytest.mark.parametrize("field, value, message", [
    ("shipping_address", "", "This field is required."),
    ("shipping_address", "x" * 1001, "at most 1000 characters"),
    ("reference", "x" * 81, "at most 80 characters"),
    ("reference", "two\nlines", "single line"),
    ("notes", "x" * 2001, "at most 2000 characters"),
])
def test_bad_checkout_fields_get_a_message_and_nothing_is_written(shopper, field, value, message):
    hammer = make_product("Hammer", stock=5)
    add(shopper, hammer, 1)
    resp = place(shopper, **{field: value, "reference" if field != "reference" else "notes": "kept"})
    assert resp.status_code == 422
    page = soup(resp)
    assert message in page.find(id=f"e-{field}").get_text()
    kept = "reference" if field != "reference" else "notes"
    assert (page.find(id=f"f-{kept}").get("value") or page.find(id=f"f-{kept}").get_text()) == "kept"
    assert Document.select().count() == 0 and CartItem.select().count() == 1
    assert Product.get_by_id(hammer.id).stock == 5 and Job.select().count() == 0


@pytest.mark.parametrize("key, state", [("", None), ("short", None), ("x" * 30 + "'", None), (None, "nothex")])
def test_a_form_without_a_valid_key_or_digest_is_refused(shopper, key, state):
    add(shopper, make_product("Hammer", stock=5), 1)
    changes = {k: v for k, v in (("key", key), ("state", state)) if v is not None}
    resp = place(shopper, **changes)
    assert resp.status_code == 422 and soup(resp).find(id="checkout-problem")
    assert Document.select().count() == 0


def test_empty_cart_and_flagged_cart_cannot_check_out(shopper):
    resp = shopper.get("/checkout/")
    assert resp.status_code == 303 and resp.headers["Location"] == "/cart/"
    hammer = make_product("Hammer", stock=5)
    add(shopper, hammer, 3)
    values = checkout_form(shopper)
    Product.update(stock=2).where(Product.id == hammer.id).execute()
    page = soup(shopper.get("/checkout/"))
    assert page.find(id="place-order") is None and "Only 2 in stock." in page.get_text()
    resp = shopper.post("/checkout/", values)
    assert resp.status_code == 422 and Document.select().count() == 0
    assert Product.get_by_id(hammer.id).stock == 2
    Product.update(visible=False).where(Product.id == hammer.id).execute()
    assert shopper.post("/checkout/", values).status_code == 422 and Document.select().count() == 0


def test_sold_out_between_cart_and_order_rolls_everything_back(shopper):
    """The conditional UPDATE is what stops it: the cart was checked before the stock moved."""
    hammer, saw = make_product("Hammer", stock=5), make_product("Saw", stock=1)
    add(shopper, hammer, 2)
    add(shopper, saw, 1)
    values = checkout_form(shopper)
    real = Product.take_stock

    def sold_just_before(self, quantity, allow_short=False):
        if self.id == saw.id:   # another buyer's order committed a moment ago
            Product.update(stock=0).where(Product.id == saw.id).execute()
        return real(self, quantity, allow_short)

    Product.take_stock = sold_just_before
    try:
        resp = shopper.post("/checkout/", values)
    finally:
        Product.take_stock = real
    assert resp.status_code == 422 and "Saw sold out" in soup(resp).find(id="checkout-problem").get_text()
    assert Document.select().count() == 0 and DocumentLine.select().count() == 0
    assert Product.get_by_id(hammer.id).stock == 5 and CartItem.select().count() == 2


def test_a_checkout_rolled_back_after_its_mails_were_queued_sends_nothing(app, shopper, outbox):
    """The mails are rows of the checkout's transaction: they go only if the order stays."""
    hammer = make_product("Hammer", stock=5)
    add(shopper, hammer, 1)
    values = checkout_form(shopper)
    person = shopper.person
    with app.test_request_context(), db.atomic() as tx:
        order = orders.place_order(person.contact, person, values["state"], values["key"], "Calle 1", "", "")
        assert Job.select().where(Job.kind == "mail").count() == 2
        tx.rollback()   # e.g. what the caller did after the order failed
    assert Document.get_or_none(Document.id == order.id) is None
    assert Job.select().count() == 0 and outbox() == []


def test_selling_out_of_stock_takes_what_is_there_and_never_below_zero(shopper):
    settings(sell_out_of_stock=True)
    hammer = make_product("Hammer", stock=2)
    add(shopper, hammer, 5)
    assert place(shopper).status_code == 303
    assert Product.get_by_id(hammer.id).stock == 0 and DocumentLine.get().stock_taken == 2


def test_twenty_buyers_for_the_last_unit_make_exactly_one_order(auth):
    """Real threads, each with its own client and its own database connection per request."""
    last = make_product("Last hammer", stock=1)
    buyers = []
    for i in range(20):
        browser = auth.login_new_person(make_contact(name=f"Buyer {i}", catalog_enabled=True, billing_address="Here"))
        add(browser, last, 1)
        buyers.append((browser, checkout_form(browser)))
    db.close()   # the test's own connection goes back: twenty requests may each need one
    results = race(*(partial(buy, *buyer) for buyer in buyers))
    db.connect(reuse_if_open=True)
    assert sorted(results) == [303] + [422] * 19
    assert Document.select().count() == 1 and DocumentLine.select().count() == 1
    assert Product.get_by_id(last.id).stock == 0
    assert CartItem.select().count() == 19


def test_the_same_form_sent_twice_at_once_makes_one_order(auth, shopper):
    """Two submissions racing (a double click that reached two workers): one order, one redirect."""
    hammer = make_product("Hammer", stock=5)
    add(shopper, hammer, 2)
    values = checkout_form(shopper)
    twin = auth.login(shopper.person)
    twin.get("/cart/")
    db.close()

    def send(browser):
        resp = browser.post("/checkout/", dict(values, csrf_token=browser.token))
        return resp.status_code, resp.headers.get("Location")

    results = race(lambda: send(shopper), lambda: send(twin))
    db.connect(reuse_if_open=True)
    order = Document.get()
    assert Document.select().count() == 1 and Product.get_by_id(hammer.id).stock == 3
    assert results == [(303, f"/documents/{order.id}")] * 2


def test_two_buyers_of_different_products_at_once_get_different_numbers(auth):
    products = [make_product(f"P{i}", stock=5) for i in range(6)]
    buyers = []
    for product in products:
        browser = auth.login_new_person(make_contact(catalog_enabled=True, billing_address="Here"))
        add(browser, product, 1)
        buyers.append((browser, checkout_form(browser)))
    db.close()
    results = race(*(partial(buy, *buyer) for buyer in buyers))
    db.connect(reuse_if_open=True)
    assert results == [303] * 6
    assert len({d.number for d in Document.select()}) == 6


def test_cancelling_an_order_returns_the_stock_it_took_once(staff, shopper):
    hammer, service = make_product("Hammer", stock=5), make_product("Fitting", stock=0, track_stock=False)
    add(shopper, hammer, 3)
    add(shopper, service, 2)
    assert place(shopper).status_code == 303
    order = Document.get()
    assert Product.get_by_id(hammer.id).stock == 2
    staff.get(f"/staff/documents/{order.id}")
    assert staff.post(f"/staff/documents/{order.id}/status", {"status": "confirmed"}).status_code == 303
    assert Product.get_by_id(hammer.id).stock == 2
    assert staff.post(f"/staff/documents/{order.id}/status", {"status": "cancelled"}).status_code == 303
    assert Document.get_by_id(order.id).status == "cancelled"
    assert Product.get_by_id(hammer.id).stock == 5 and Product.get_by_id(service.id).stock == 0
    staff.post(f"/staff/documents/{order.id}/status", {"status": "cancelled"})   # refused: already cancelled
    assert Product.get_by_id(hammer.id).stock == 5


def test_cancelling_a_staff_typed_or_shipped_order_moves_no_stock(staff):
    hammer = make_product("Hammer", stock=5)
    typed = make_document(make_contact(), kind="order", status="open", lines=[("Hammer", 2000, 1000, 0, [])])
    DocumentLine.update(product=hammer).execute()
    staff.get(f"/staff/documents/{typed.id}")
    staff.post(f"/staff/documents/{typed.id}/status", {"status": "cancelled"})
    assert Document.get_by_id(typed.id).status == "cancelled" and Product.get_by_id(hammer.id).stock == 5
    shipped = make_document(make_contact(), kind="order", status="shipped", number="SO-S")
    staff.post(f"/staff/documents/{shipped.id}/status", {"status": "cancelled"})
    assert Document.get_by_id(shipped.id).status == "shipped"


def test_checkout_numbers_orders_from_their_series_past_four_digits(app, shopper):
    year = datetime.date.today().year
    with app.app_context():
        numbering.configure(numbering.series("order", year), numbering.DEFAULT_PATTERN, 9999)
    hammer = make_product("Hammer", stock=5)
    numbers = []
    for _ in range(2):
        add(shopper, hammer, 1)
        assert place(shopper).status_code == 303
        numbers.append(Document.select().order_by(Document.id.desc()).get().number)
    # the old string scan gave SO-…-0009 after SO-…-9999: numbers now only go forward
    assert numbers == [f"SO-{year}-9999", f"SO-{year}-10000"]
