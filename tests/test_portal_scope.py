"""Who may reach what in the portal, read from the URL map itself, so that a new URL is covered
(or refused) without anyone remembering to add it here.

1. Every portal URL (not /staff, /api/v1 or /static) is either @public or served by a blueprint
   made by portal_blueprint(); those ask anyone not signed in to sign in.
2. Every portal URL that takes an id answers a signed-in person the same 404 for another
   contact's id, their own draft and an id that does not exist, on its every method, with and
   without HTMX, and changes nothing in the database. (It grew from the documents-only test that
   lived in test_portal_documents.py.)"""
import datetime

import pytest
from flask import url_for
from werkzeug.routing import IntegerConverter

from app import models
from app.models import CartItem, Payment, ProductImage, Settings
from tests.conftest import Browser, without_csrf
from tests.factories import make_contact, make_document, make_person, make_product, settings
from tests.portal_routes import behind_portal_factory, portal_rules

PASSWORD = "correct horse battery"
# A value for each URL argument that is not an id, to build a URL of every rule.
ARGUMENTS = {"kinds": "invoices", "token": "not-a-token", "gateway": "stripe"}
# Every field any portal form reads, filled in as a valid post would be: the id alone decides.
FORM = {"body": "Hello", "decision": "accept", "signer_name": "Ana", "accept_terms": "1", "reason": "",
        "quantity": "1", "gateway": "stripe", "amount": "1.00", "product_id": "1"}
# Rules that answer an id that is not the person's as they answer an unknown one, but not with
# 404: their statuses without and with HTMX, and why.
NOT_404 = {"cart.remove": ((303, 200), "taking out of one's cart what is not in it is a no-op, as a second click is")}


def methods(rule):
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def id_arguments(rule):
    return sorted(name for name, conv in rule._converters.items()
                  if isinstance(conv, IntegerConverter) or name.endswith("_id"))


def build(app, rule, **ids):
    values = {}
    for name in rule.arguments:
        if name in ids:
            values[name] = ids[name]
        elif name in ARGUMENTS:
            values[name] = ARGUMENTS[name]
        elif name in id_arguments(rule):
            values[name] = 1
        else:
            pytest.fail(f"{rule.rule}: no sample value for <{name}>; add one to ARGUMENTS")
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


# --- 1. public or behind the factory --------------------------------------------------------

def test_every_portal_url_is_public_or_behind_the_portal_factory(app):
    wrong = []
    for rule in portal_rules(app):
        public = getattr(app.view_functions[rule.endpoint], "public", False)
        guarded = behind_portal_factory(app, rule.endpoint)
        if public and guarded:
            wrong.append(f"{rule.rule} ({rule.endpoint}) is marked @public but its blueprint requires a sign-in")
        elif not public and not guarded:
            wrong.append(f"{rule.rule} ({rule.endpoint}) is neither @public nor in a portal_blueprint()")
    assert not wrong, "\n".join(wrong)


def test_the_classification_is_the_expected_one(app):
    """The public list is short and deliberate: a change to it is a change to review."""
    public = {r.endpoint for r in portal_rules(app) if getattr(app.view_functions[r.endpoint], "public", False)}
    assert public == {"auth.login", "auth.login_submit", "auth.logout", "auth.link_request",
                      "auth.link_request_submit", "auth.access", "auth.access_confirm", "auth.reset",
                      "auth.reset_submit", "logo", "payment_webhooks.receive", "health.healthz", "health.readyz",
                      "verify.show", "accountant_door.open", "accountant_door.open_confirm",
                      "team_door.accept", "team_door.accept_submit",
                      "keys_door.signin_options", "keys_door.signin_passkey", "keys_door.second_factor",
                      "keys_door.second_factor_submit", "keys_door.second_factor_passkey_options",
                      "keys_door.second_factor_passkey"}


def test_every_url_behind_the_factory_asks_for_a_sign_in(app, client):
    anonymous = Browser(client)
    anonymous.get("/login")   # a CSRF token, so that a POST reaches the sign-in check
    for rule in portal_rules(app):
        if not behind_portal_factory(app, rule.endpoint):
            continue
        url = build(app, rule)
        for method in methods(rule):
            resp = anonymous.get(url) if method == "GET" else anonymous.post(url, dict(FORM))
            assert resp.status_code == 302, (method, url, resp.status_code)
            assert resp.headers["Location"].startswith("/login?next="), (method, url)


# --- 2. the same 404 for what is not one's own -----------------------------------------------

@pytest.fixture
def world(app):
    """Contact A's signed-in person, and what A must not reach, by URL argument (an endpoint may
    have its own list): contact B's documents, online payments and cart lines, A's own draft and
    manual payment, products out of the catalog. The last id of each list is unknown."""
    settings(team_self_service=True)   # the team's pages exist (issue 21)
    Settings.get_solo()   # the business row exists before the snapshot
    a = make_contact(name="A", catalog_enabled=True, gateways="stripe")
    b = make_contact(name="B", catalog_enabled=True, gateways="stripe")
    person = make_person(contact=a, password=PASSWORD)
    invoice = make_document(b, number="B-INV")
    quote = make_document(b, kind="quote", number="B-QUO",
                          valid_until=datetime.date.today() + datetime.timedelta(days=30))
    order = make_document(b, kind="order", status="confirmed", number="B-ORD")
    draft = make_document(a, number="A-DRAFT", status="draft")
    own = make_document(a, number="A-INV")
    now = datetime.datetime.now()
    paid = Payment.create(document=invoice, gateway="stripe", amount=1000, currency="EUR", status="succeeded",
                          idempotency_key="b-paid", paid_at=now, checkout_url="https://checkout.example/b1")
    pending = Payment.create(document=invoice, gateway="stripe", amount=1000, currency="EUR",
                             idempotency_key="b-pending", checkout_url="https://checkout.example/b2")
    manual = Payment.create(document=own, gateway="manual", amount=500, currency="EUR", status="succeeded",
                            idempotency_key="a-manual", paid_at=now)
    in_b_cart = make_product("In B's cart")
    CartItem.create(contact=b, product=in_b_cart, quantity=2, unit_price_seen=in_b_cart.price)
    hidden = make_product("Hidden", visible=False)
    inactive = make_product("Inactive", active=False)
    hidden_image = ProductImage.create(product=hidden, content_type="image/png", data=b"\x89PNG\r\n\x1a\n")
    later = now + datetime.timedelta(days=5)
    b_link = models.AccountantLink.create(contact=b, email="acc@example.com", token_hash="b" * 64, expires_at=later)
    b_pack = models.YearlyPack.create(contact=b, year=2025, email="b@example.com", status="ready", data=b"PK",
                                      expires_at=later)
    b_person = make_person(contact=b, password=PASSWORD)
    b_session = models.PortalSession.create(person=b_person, sid_hash="c" * 64, via="password")
    b_key = models.Passkey.create(person=make_person(contact=b), credential_id="b-credential", public_key=b"k",
                                  name="B's key")
    browser = Browser(app.test_client())
    browser.get("/login")
    assert browser.post("/login", {"email": person.email, "password": PASSWORD}).status_code == 303
    browser.get("/")   # signing in starts a new session: its CSRF token
    unknown = 999_999
    return browser, {
        "doc_id": [invoice.id, quote.id, order.id, draft.id, unknown],
        "payment_id": [paid.id, pending.id, manual.id, unknown],
        "product_id": [in_b_cart.id, hidden.id, inactive.id, unknown],   # of a line of A's cart
        "image_id": [hidden_image.id, unknown],
        "link_id": [b_link.id, unknown],
        "pack_id": [b_pack.id, unknown],
        "person_id": [b_person.id, unknown],
        "session_id": [b_session.id, unknown],
        "passkey_id": [b_key.id, unknown],
        # The catalog is the same for every contact with access: B's cart line is no secret.
        ("catalog.product", "product_id"): [hidden.id, inactive.id, unknown],
    }


def snapshot():
    """Every row of every table: what a refused request must leave as it was."""
    tables = [m for m in vars(models).values()
              if isinstance(m, type) and issubclass(m, models.BaseModel) and m is not models.BaseModel]
    return {m.__name__: list(m.select().order_by(m._meta.primary_key).tuples()) for m in tables}


def test_ids_that_are_not_the_contacts_get_the_same_404_and_change_nothing(app, world):
    browser, foreign = world
    checked = set()
    before = snapshot()
    for rule in portal_rules(app):
        args = id_arguments(rule)
        if not args:
            continue
        missing = [a for a in args if a not in foreign]
        assert not missing, f"{rule.rule}: no sample of another contact's <{missing[0]}>; add one to world()"
        assert len(args) == 1, f"{rule.rule}: several ids; teach this test to combine them"
        samples = foreign.get((rule.endpoint, args[0])) or foreign[args[0]]
        for method in methods(rule):
            for headers in ({}, {"HX-Request": "true"}):
                answers = {}
                for value in samples:
                    url = build(app, rule, **{args[0]: value})
                    resp = (browser.get(url, headers=headers) if method == "GET"
                            else browser.post(url, dict(FORM), headers=headers))
                    answers[value] = (resp.status_code, resp.headers.get("Location"), without_csrf(resp))
                expected = answers[samples[-1]]   # the unknown id's answer
                status = NOT_404[rule.endpoint][0][bool(headers)] if rule.endpoint in NOT_404 else 404
                assert expected[0] == status, (method, rule.rule, headers, expected[:2])
                for value, answer in answers.items():
                    assert answer == expected, f"{method} {rule.rule} with {args[0]}={value} differs from an unknown id"
                checked.add((rule.endpoint, method))
    assert snapshot() == before
    assert {"documents.show", "pdf.document", "comments.create", "quotes.decide", "payments.start",
            "payments.receipt", "cart.update", "cart.reorder", "catalog.product"} <= {e for e, _m in checked}


def test_ids_in_forms_are_scoped_too(app, world):
    """Ids a form carries, not the URL: a product out of the catalog, another contact's invoice."""
    browser, foreign = world
    before = snapshot()
    for product_id in foreign[("catalog.product", "product_id")]:
        assert browser.post("/cart/items", {"product_id": str(product_id), "quantity": "1"}).status_code == 404
    resp = browser.post("/pay", {"documents": [str(foreign["doc_id"][0])], "gateway": "stripe"})
    assert resp.status_code == 422 and "B-INV" not in resp.get_data(as_text=True)
    assert snapshot() == before
