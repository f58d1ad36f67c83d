"""Issue 17 without a browser: the pay box's amount in the customer's decimal separator and a
minimum hint only when one applies, dates in the medium format and 24-hour times (English in a
European business's British style), the profile menu's one-click language forms, and stock
messages that count what the cart holds."""
import datetime
import json

import pytest

from app.models import CartItem, Comment, GatewayConfig, Person
from tests.conftest import soup
from tests.factories import PASSWORD, make_contact, make_document, make_person, make_product, settings


@pytest.fixture
def contact(app):
    GatewayConfig.create(gateway="stripe", mode="test",
                         test_credentials=json.dumps({"secret_key": "sk_test_x", "webhook_secret": "whsec_x"}))
    return make_contact(name="Talleres Ruiz", gateways="stripe", catalog_enabled=True)


def login(auth, contact, language):
    return auth.login(make_person(contact=contact, password=PASSWORD, language=language))


def invoice_of(contact, unit_price):
    return make_document(contact, lines=[("Consulting", 1000, unit_price, 0, [("IVA", 2100)])])


@pytest.mark.parametrize("language, value, hint", [("es", "158,36", "50,00\u00a0€"), ("en", "158.36", "€50.00")])
def test_the_pay_box_speaks_the_customers_separator(auth, contact, language, value, hint):
    settings(allow_partial_payments=True, min_partial_amount=5000)
    me = login(auth, contact, language)
    doc = invoice_of(contact, 13088)                      # 130.88 + 21 % = 158.36
    page = soup(me.get(f"/documents/{doc.id}"))
    assert page.select_one("#f-amount")["value"] == value
    assert hint in page.select_one("#pay .hint").get_text()


def test_no_minimum_hint_when_the_minimum_is_the_whole_amount_or_none(auth, contact):
    settings(allow_partial_payments=True, min_partial_amount=5000)
    me = login(auth, contact, "es")
    small = invoice_of(contact, 1786)                     # 21.61 due, below the 50.00 minimum
    page = soup(me.get(f"/documents/{small.id}"))
    assert page.select_one("#f-amount")["value"] == "21,61" and page.select_one("#pay .hint") is None
    settings(min_partial_amount=0)
    page = soup(me.get(f"/documents/{invoice_of(contact, 13088).id}"))
    assert page.select_one("#pay .hint") is None


@pytest.mark.parametrize("language, shown", [("es", "4 dic 2026, 14:51"), ("en", "4 Dec 2026, 14:51"),
                                             ("de", "4. Dez. 2026, 14:51")])
def test_comment_times_are_medium_dates_and_24_hour_times(auth, contact, language, shown):
    me = login(auth, contact, language)
    doc = invoice_of(contact, 10000)
    Comment.create(document=doc, author_name="Ana García", body="¿Cuándo?",
                   created_at=datetime.datetime(2026, 12, 4, 13, 51))   # UTC; the business is in Madrid
    page = soup(me.get(f"/documents/{doc.id}"))
    assert page.select_one("#comment-thread time").get_text() == shown


def test_english_money_and_dates_follow_a_european_business(auth, contact):
    me = login(auth, contact, "en")
    doc = make_document(contact, issue_date=datetime.date(2026, 12, 4))
    row = soup(me.get("/invoices")).find(id=f"row-{doc.id}")
    assert row.select_one("td[data-label=Date]").get_text() == "4 Dec 2026"
    assert row.select_one("td[data-label=Total]").get_text() == "€121.00"


def test_the_profile_menu_switches_language_with_one_post(auth, contact):
    me = login(auth, contact, "es")
    menu = soup(me.get("/invoices")).find(id="profile-menu")
    buttons = menu.select("form.menu-language button[name=language]")
    assert [b["value"] for b in buttons] == ["es", "en", "ca", "fr", "de", "it", "pt"]
    assert menu.select_one("button[value=es]").has_attr("aria-current")
    assert all(f["method"] == "post" and f.select_one("input[name=next]")["value"] == "/invoices"
               for f in menu.select("form.menu-language"))
    resp = me.post("/account/language", {"language": "fr", "next": "/invoices"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/invoices")
    assert Person.get_by_id(me.person.id).language == "fr"
    assert soup(me.get("/invoices")).html["lang"] == "fr"
    for elsewhere in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)", "/\\evil"):
        resp = me.post("/account/language", {"language": "en", "next": elsewhere})
        assert resp.status_code == 303 and resp.headers["Location"] in ("/", "http://localhost/")
    assert me.post("/account/language", {"language": "xx", "next": "/invoices"}).status_code == 422


def test_a_stock_refusal_counts_the_cart_and_without_js_goes_back_to_the_catalog(auth, contact):
    me = login(auth, contact, "en")
    product = make_product("Claw hammer", stock=2)
    CartItem.create(contact=contact, product=product, quantity=1, unit_price_seen=product.price)
    resp = me.post("/cart/items", {"product_id": str(product.id), "quantity": "2", "next": "/catalog/"},
                   headers={"HX-Request": "true"})
    assert resp.status_code == 422
    error = soup(resp).find(id=f"e-qty-{product.id}")
    assert error.get_text() == "Only 2 in stock and 1 already in your cart: you can add 1 more."
    assert "error" in error["class"]
    resp = me.post("/cart/items", {"product_id": str(product.id), "quantity": "2", "next": "/catalog/"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/catalog/")
    flash = soup(me.get("/catalog/")).select_one(".flash-error").get_text()
    assert flash == "Claw hammer: Only 2 in stock and 1 already in your cart: you can add 1 more."
    CartItem.update(quantity=2).execute()
    resp = me.post("/cart/items", {"product_id": str(product.id), "quantity": "1"}, headers={"HX-Request": "true"})
    assert "all of them are already in your cart" in soup(resp).find(id=f"e-qty-{product.id}").get_text()
    assert CartItem.get().quantity == 2


def test_template_strings_follow_force_locale_and_come_back(app):
    """The translations kept per request (app/web/i18n.py) follow a forced locale (a mail
    rendered in the customer's language) and the request's own language after it."""
    from flask import render_template_string
    from flask_babel import force_locale
    page = "{{ _('Invoices') }} {{ 1234|money('EUR') }}"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert render_template_string(page).startswith("Invoices")
        with force_locale("es"):
            spanish = render_template_string(page)
        assert spanish.startswith("Facturas") and "12,34" in spanish
        assert render_template_string(page) == "Invoices €12.34"
