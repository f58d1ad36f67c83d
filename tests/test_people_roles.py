"""Roles per person (issue 21): the role-by-route walk, the menu, and who gets which mail."""
import datetime

import peewee
import pytest

from app import models
from app.models import CartItem, Payment, PortalSession, ProductImage
from app.views.roles import ROUTES
from tests.conftest import Browser, soup
from tests.factories import make_contact, make_document, make_person, make_product, settings
from tests.portal_routes import behind_portal_factory, portal_rules
from tests.test_portal_scope import FORM, build, id_arguments, methods, snapshot

PASSWORD = "correct horse battery"

# What each role may do, written out here on its own (not read from views/roles.py): the
# endpoints each role is refused, by method. Owners are refused nothing.
SHOP = {"catalog.index", "catalog.product", "catalog.image", "cart.show", "checkout.show"}
SHOP_POST = {"cart.add", "cart.update", "cart.remove", "cart.reorder", "checkout.place", "quotes.decide"}
PAY = {"payments.panel", "payments.choose", "payments.go", "payments.returned", "payments.cancelled"}
PAY_POST = {"payments.start", "payments.start_several"}
BOOKS_POST = {"accountants.create", "accountants.revoke", "packs.prepare"}
TEAM = {"team.index"}
TEAM_POST = {"team.invite", "team.role", "team.remove"}
# One's own account: a viewer still changes their password and language, signs out devices and
# keeps their own passkeys and authenticator app (a read-only role must still be a safe door).
SELF_POST = {"profile.language", "profile.password_submit", "profile.end_device", "profile.end_other_devices",
             "accountant.leave", "keys.passkey_options", "keys.passkey_add", "keys.passkey_remove",
             "keys.totp_start", "keys.totp_enable", "keys.totp_disable"}
REFUSED = {
    "owner": {"GET": set(), "POST": set()},
    "billing": {"GET": SHOP | TEAM, "POST": SHOP_POST | TEAM_POST},
    "buyer": {"GET": PAY | TEAM | {"packs.download"}, "POST": PAY_POST | BOOKS_POST | TEAM_POST},
    "viewer": {"GET": SHOP | PAY | TEAM | {"packs.download"}, "POST": "all but SELF_POST"},
}


def own_world(app, role, tag="A"):
    """A signed-in person of `role`, and ids of their own contact's rows for every URL argument."""
    settings(team_self_service=True)
    contact = make_contact(name=tag, catalog_enabled=True, gateways="stripe")
    person = make_person(contact=contact, password=PASSWORD, role=role)
    colleague = make_person(contact=contact, password=PASSWORD, name="Colleague")
    make_person(contact=contact, password=PASSWORD, name="Other owner", role="owner")
    invoice = make_document(contact, number=f"{tag}-{role}-INV")
    make_document(contact, number=f"{tag}-{role}-INV2")
    now = datetime.datetime.now()
    paid = Payment.create(document=invoice, gateway="stripe", amount=1000, currency="EUR", status="succeeded",
                          idempotency_key=f"{tag}-{role}-paid", paid_at=now, checkout_url="https://checkout.example/a1")
    product = make_product("In A's cart")
    CartItem.create(contact=contact, product=product, quantity=2, unit_price_seen=product.price)
    image = ProductImage.create(product=product, content_type="image/png", data=b"\x89PNG\r\n\x1a\n")
    later = now + datetime.timedelta(days=5)
    link = models.AccountantLink.create(contact=contact, email="acc@example.com",
                                        token_hash=f"{tag}{role}".ljust(64, "a"), expires_at=later)
    pack = models.YearlyPack.create(contact=contact, year=2025, email="a@example.com", status="ready",
                                    data=b"PK", expires_at=later)
    browser = Browser(app.test_client())
    browser.get("/login")
    assert browser.post("/login", {"email": person.email, "password": PASSWORD}).status_code == 303
    browser.get("/")
    other_device = PortalSession.create(person=person, sid_hash=f"{tag}{role}".ljust(64, "d"), via="password")
    key = models.Passkey.create(person=person, credential_id=f"{tag}-{role}-credential", public_key=b"k", name="Key")
    return browser, {"doc_id": invoice.id, "payment_id": paid.id, "product_id": product.id,
                     "image_id": image.id, "link_id": link.id, "pack_id": pack.id,
                     "person_id": colleague.id, "session_id": other_device.id, "passkey_id": key.id}


def refused(role, endpoint, method):
    listed = REFUSED[role][method]
    if listed == "all but SELF_POST":
        return endpoint not in SELF_POST
    return endpoint in listed


def test_the_database_refuses_a_role_that_is_not_one_of_the_four(app):
    person = make_person(role="billing")
    with pytest.raises(peewee.IntegrityError), models.db.atomic():
        models.Person.update(role="admin").where(models.Person.id == person.id).execute()
    assert models.Person.get_by_id(person.id).role == "billing"


def test_every_guarded_endpoint_is_in_the_allow_map(app):
    """A portal route the allow-map does not name is open to owners only: name it on purpose."""
    guarded = {r.endpoint for r in portal_rules(app) if behind_portal_factory(app, r.endpoint)}
    assert guarded - set(ROUTES) == set()
    assert set(ROUTES) - guarded == set(), "the allow-map names endpoints that do not exist"


@pytest.mark.parametrize("role", ["owner", "billing", "buyer", "viewer"])
def test_each_role_reaches_what_it_may_and_is_refused_the_rest(app, stripe_on, role):
    browser, ids = own_world(app, role)
    walked = {"GET": 0, "POST": 0}
    for rule in portal_rules(app):
        if not behind_portal_factory(app, rule.endpoint):
            continue
        url = build(app, rule, **{name: ids[name] for name in id_arguments(rule)})
        for method in methods(rule):
            no = refused(role, rule.endpoint, method)
            before = snapshot() if no else None
            resp = browser.get(url) if method == "GET" else browser.post(url, dict(FORM))
            if no:
                assert resp.status_code == 403, (role, method, rule.rule, resp.status_code)
                assert snapshot() == before, f"{role}: refused {method} {rule.rule} changed something"
            else:
                assert resp.status_code not in (401, 403), (role, method, rule.rule, resp.status_code)
                assert resp.status_code != 302 or "/login" not in resp.headers.get("Location", ""), \
                    (role, method, rule.rule, "signed out")
            walked[method] += 1
    assert walked["GET"] > 20 and walked["POST"] > 15


def test_a_buyer_cannot_pay_a_billing_person_cannot_order_a_viewer_cannot_write(app):
    for role, posts in (("buyer", ["/documents/{doc_id}/pay", "/pay"]),
                        ("billing", ["/cart/items", "/checkout/", "/documents/{doc_id}/decision"]),
                        ("viewer", ["/documents/{doc_id}/comments", "/documents/{doc_id}/pay", "/cart/items",
                                    "/account/accountants/", "/packs/", "/account/team/invite"])):
        browser, ids = own_world(app, role)
        before = snapshot()
        for path in posts:
            resp = browser.post(path.format(**ids), {**FORM, "documents": [str(ids["doc_id"])],
                                                     "product_id": str(ids["product_id"]), "email": "x@example.com"})
            assert resp.status_code == 403, (role, path)
        assert snapshot() == before


def test_the_menu_and_the_document_page_follow_the_role(app, stripe_on):
    browser, ids = own_world(app, "billing")
    page = soup(browser.get(f"/documents/{ids['doc_id']}"))
    assert page.select_one("#nav-catalog") is None
    assert "/orders" not in {a.get("href") for a in page.select("#portal-nav a")}
    assert page.select_one("#pay") is not None
    buyer, ids = own_world(app, "buyer", tag="B")
    page = soup(buyer.get(f"/documents/{ids['doc_id']}"))
    assert page.select_one("#nav-catalog") is not None
    assert page.select_one("#pay") is None
    viewer, ids = own_world(app, "viewer", tag="C")
    page = soup(viewer.get(f"/documents/{ids['doc_id']}"))
    assert page.select_one("#comment-form") is None and page.select_one("#pay") is None
    account = soup(viewer.get("/account/"))
    assert account.select_one("#my-role").get_text(strip=True) == "Viewer"
    assert account.select_one("#accountant-form") is None and account.select_one("#team-link") is None


def test_invoice_mails_go_to_owners_and_billing_quote_mails_to_owners_and_buyers(app, outbox):
    from app.documents import issue
    from app.rules import By
    contact = make_contact(name="Mailed", portal_enabled=True)
    for role in ("owner", "billing", "buyer", "viewer"):
        make_person(contact=contact, email=f"{role}@example.com", password=PASSWORD, role=role)
    with app.test_request_context():
        issue(make_document(contact, status="draft", number=None), By())
        issue(make_document(contact, kind="quote", status="draft", number=None,
                            valid_until=datetime.date.today() + datetime.timedelta(days=30)), By())
    sent = outbox()
    to = sorted((m.message["To"], m.message["Subject"]) for m in sent)
    invoice_to = sorted(t for t, s in to if "nvoice" in s)
    quote_to = sorted(t for t, s in to if "uote" in s)
    assert invoice_to == ["billing@example.com", "owner@example.com"], to
    assert quote_to == ["buyer@example.com", "owner@example.com"], to


def test_reminders_go_to_owners_and_billing_people_only(app, outbox):
    from app import reminders
    from app.rules import By
    contact = make_contact(name="Reminded", portal_enabled=True)
    for role in ("owner", "billing", "buyer", "viewer"):
        make_person(contact=contact, email=f"r-{role}@example.com", password=PASSWORD, role=role)
    today = datetime.date.today()
    doc = make_document(contact, issue_date=today - datetime.timedelta(days=40),
                        due_date=today - datetime.timedelta(days=10))
    with app.test_request_context():
        reminders.send_now(doc, By())
    assert sorted(to for m in outbox() for to in m.rcpt_tos) == ["r-billing@example.com", "r-owner@example.com"]


def test_a_contact_with_only_buyers_and_viewers_gets_no_reminder(app):
    from app import reminders
    from app.rules import By, Refused
    contact = make_contact(name="Nobody pays", portal_enabled=True)
    make_person(contact=contact, email="only-buyer@example.com", role="buyer")
    today = datetime.date.today()
    doc = make_document(contact, issue_date=today - datetime.timedelta(days=40),
                        due_date=today - datetime.timedelta(days=10))
    with app.test_request_context(), pytest.raises(Refused):
        reminders.send_now(doc, By())


def test_billing_people_read_the_money_side_only(app):
    """Billing: invoices, credit notes, statements and payments; no quotes or orders, by menu,
    summary, list or URL. Buyers and viewers read them."""
    contact = make_contact(catalog_enabled=True)
    invoice = make_document(contact, number="INV-1")
    quote = make_document(contact, kind="quote", number="QUO-1")
    order = make_document(contact, kind="order", number="ORD-1")
    seen = {}
    for role in ("billing", "buyer", "viewer"):
        person = make_person(contact=contact, password=PASSWORD, role=role)
        browser = Browser(app.test_client())
        browser.get("/login")
        assert browser.post("/login", {"email": person.email, "password": PASSWORD}).status_code == 303
        home = soup(browser.get("/"))
        nav = home.select_one("#portal-nav").get_text()
        seen[role] = {
            "nav": ("Quotes" in nav, "Orders" in nav),
            "summary": (home.select_one("#stat-quotes") is not None, home.select_one("#recent-orders") is not None),
            "urls": tuple(browser.get(url).status_code for url in (
                "/quotes", "/orders", f"/documents/{quote.id}", f"/documents/{order.id}",
                f"/documents/{quote.id}/pdf", f"/documents/{order.id}/print")),
            "invoice": (browser.get("/invoices").status_code, browser.get(f"/documents/{invoice.id}").status_code),
        }
    assert seen["billing"] == {"nav": (False, False), "summary": (False, False), "urls": (403,) * 6,
                               "invoice": (200, 200)}
    for role in ("buyer", "viewer"):
        assert seen[role] == {"nav": (True, True), "summary": (True, True), "urls": (200,) * 6,
                              "invoice": (200, 200)}, role
    # Nothing of a refused read is logged as seen.
    billing = models.Person.get(models.Person.role == "billing")
    assert not models.Activity.select().where((models.Activity.person == billing.id)
                                              & (models.Activity.document.in_([quote.id, order.id]))).exists()
