"""The portal's templates ask the database nothing: each page's and fragment's queries are made
by its view and context builders, where they can be seen, scoped and counted."""
import datetime
import logging

import pytest
from flask import before_render_template, template_rendered

from app.models import CartItem, Payment
from tests.conftest import Browser
from tests.factories import make_contact, make_document, make_person, make_product

PASSWORD = "correct horse battery"


class TemplateQueries(logging.Handler):
    """Collects the SQL peewee runs while a template is being rendered."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.rendering, self.found = [], []

    def emit(self, record):
        if self.rendering:
            self.found.append((self.rendering[-1], str(record.msg)[:200]))

    def started(self, sender, template, context, **extra):
        self.rendering.append(template.name)

    def finished(self, sender, template, context, **extra):
        self.rendering.pop()


@pytest.fixture
def watch(app):
    handler = TemplateQueries()
    logger = logging.getLogger("peewee")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    before_render_template.connect(handler.started, app)
    template_rendered.connect(handler.finished, app)
    yield handler
    template_rendered.disconnect(handler.finished, app)
    before_render_template.disconnect(handler.started, app)
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_portal_pages_and_fragments_render_without_queries(app, watch):
    contact = make_contact(catalog_enabled=True, gateways="stripe")
    person = make_person(contact=contact, password=PASSWORD)
    taxes = [("IVA", 2100), ("IRPF", -1500)]
    invoice = make_document(contact, lines=[("A", 1000, 1000, 0, taxes), ("B", 2000, 500, 1000, taxes)])
    make_document(contact)
    quote = make_document(contact, kind="quote", valid_until=datetime.date.today() + datetime.timedelta(days=9))
    product = make_product("Hammer")
    order = make_document(contact, kind="order", status="confirmed")
    Payment.create(document=invoice, gateway="manual", amount=500, currency="EUR", status="succeeded",
                   idempotency_key="m1", paid_at=datetime.datetime.now())
    CartItem.create(contact=contact, product=product, quantity=1, unit_price_seen=product.price)
    me = Browser(app.test_client())
    me.get("/login")
    me.post("/login", {"email": person.email, "password": PASSWORD})
    htmx = {"HX-Request": "true"}
    pages = ["/", "/invoices", "/quotes", "/orders", f"/documents/{invoice.id}", f"/documents/{quote.id}",
             f"/documents/{order.id}", f"/documents/{invoice.id}/print", "/cart/", "/catalog/",
             f"/catalog/products/{product.id}", "/checkout/", "/account/", "/account/password", "/pay",
             "/statement", "/statement?period=last_12_months", "/payments"]
    for url in pages:
        assert me.get(url).status_code == 200, url
    assert me.get("/invoices?q=T", headers=htmx).status_code == 200
    assert me.get("/catalog/?q=Ham", headers=htmx).status_code == 200
    assert me.get("/statement?period=last_year", headers=htmx).status_code == 200
    assert me.post("/cart/items", {"product_id": str(product.id), "quantity": "1"}, headers=htmx).status_code == 200
    assert me.post(f"/cart/items/{product.id}", {"quantity": "3"}, headers=htmx).status_code == 200
    assert me.post(f"/documents/{invoice.id}/comments", {"body": "Hi"}, headers=htmx).status_code == 200
    assert me.post(f"/documents/{quote.id}/decision", {"decision": "decline"}, headers=htmx).status_code == 200
    assert not watch.found, "\n".join(f"{name}: {sql}" for name, sql in watch.found)
