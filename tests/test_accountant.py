"""The accountant's read-only door (issue 19): a person gives a link from the account page, the
accountant opens read-only pages of that contact and nothing else (the URL map is walked: every
route outside the allow-list answers 403 or 404, every POST too), expired, revoked and
switched-off links are refused, and every use is logged and shown to the person and to staff."""
import datetime
import hashlib
import re

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from app import accountants
from app.models import (AccountantLink, AccountantUse, Activity, CartItem, Comment, Document, Payment, QuoteDecision,
                        utcnow)
from app.views.accountant import ALLOWED
from tests.conftest import Browser, soup
from tests.factories import make_contact, make_document, make_person, make_product, settings
from tests.smtp import smtp_server  # noqa: F401

ACCOUNTANT = "gestoria@example.com"
LINK_RE = re.compile(r"http://portal\.test(/accountant/open/[A-Za-z0-9_-]+)")


@pytest.fixture
def world(app):
    """Contact A (catalog, Stripe, an open invoice, a quote, a credit note) and its signed-in
    person; contact B with an invoice of its own."""
    settings(name="Taller Martínez")
    a = make_contact(name="Talleres Ruiz", catalog_enabled=True, gateways="stripe")
    b = make_contact(name="Otra Empresa")
    invoice = make_document(a, number="F-2026-0001")
    quote = make_document(a, kind="quote", number="P-2026-0001",
                          valid_until=datetime.date.today() + datetime.timedelta(days=30))
    note = make_document(a, kind="credit_note", status="issued", number="R-2026-0001", source=invoice)
    other = make_document(b, number="F-2026-0999")
    return {"a": a, "b": b, "invoice": invoice, "quote": quote, "note": note, "other": other}


def give_link(auth, contact, outbox=None, **form):
    """The person gives a link through the account page; returns (person's browser, token)."""
    person = auth.login_new_person(contact, name="Ana García")
    fields = {"email": ACCOUNTANT, "days": "30", "label": "Gestoría López"}
    fields.update(form)
    resp = person.post("/account/accountants/", fields)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    token = None
    if outbox is not None:
        [mail] = [m for m in outbox() if ACCOUNTANT in m.message["To"]]
        token = LINK_RE.search(mail.text).group(1).rsplit("/", 1)[1]
    return person, token


def open_link(app, token):
    """A new browser that opens the link as the accountant would: GET asks, POST opens."""
    browser = Browser(app.test_client())
    page = browser.get(f"/accountant/open/{token}")
    assert page.status_code == 200, page.get_data(as_text=True)
    resp = browser.post(f"/accountant/open/{token}")
    assert resp.status_code == 303 and resp.headers["Location"] == "/accountant/"
    browser.get("/accountant/")   # the CSRF token of the new session
    return browser


def direct_link(app, contact, days=30, now=None):
    """A link made by the service itself (the account page's form is tested above)."""
    with app.app_context():
        return accountants.create(make_person(contact=contact), ACCOUNTANT, days, now=now)


# --- giving a link ----------------------------------------------------------------------------

def test_the_link_is_mailed_stored_hashed_and_opens_read_only_pages(app, auth, outbox, world):
    person, token = give_link(auth, world["a"], outbox)
    link = AccountantLink.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest() and len(token) >= 40
    assert link.email == ACCOUNTANT and link.label == "Gestoría López" and link.contact_id == world["a"].id
    assert datetime.timedelta(days=29, hours=23) < link.expires_at - utcnow() <= datetime.timedelta(days=30)

    accountant = open_link(app, token)
    home = soup(accountant.get("/accountant/"))
    banner = home.find(id="read-only-banner").get_text(" ", strip=True)
    assert ACCOUNTANT in banner and "Read-only access" in banner
    assert home.find(id="pack-form") is not None
    assert home.find(id="profile-menu") is None and home.find(id="nav-catalog") is None

    listing = accountant.get("/invoices")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert "F-2026-0001" in text and "R-2026-0001" in text and "F-2026-0999" not in text
    assert accountant.get("/quotes").status_code == 200

    page = soup(accountant.get(f"/documents/{world['invoice'].id}"))
    assert page.find(id="doc-title") is not None and page.find(id="read-only-banner") is not None
    for write in ("pay", "bar-pay", "comments", "comment-form", "quote-decision", "reorder", "cart-link"):
        assert page.find(id=write) is None, write
    assert not page.find_all("form", attrs={"action": re.compile(r"/(pay|comments|decision|cart)")})
    quote = soup(accountant.get(f"/documents/{world['quote'].id}"))
    assert quote.find(id="quote-decision") is None and quote.find(id="bar-decide") is None

    pdf = accountant.get(f"/documents/{world['invoice'].id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert accountant.get(f"/documents/{world['invoice'].id}/print").status_code == 200


def test_the_person_reads_a_clear_message_for_a_bad_form_and_nothing_is_made(app, auth, world):
    person = auth.login_new_person(world["a"])
    for fields, field in (({"email": "not an email", "days": "30"}, "email"),
                          ({"email": ACCOUNTANT, "days": "91"}, "days"),
                          ({"email": ACCOUNTANT, "days": "0"}, "days")):
        resp = person.post("/account/accountants/", fields)
        assert resp.status_code == 422
        assert soup(resp).find(id=f"e-{field}") is not None
    assert AccountantLink.select().count() == 0
    form = soup(person.get("/account/")).find(id="accountant-form")
    assert form.find(id="f-days")["value"] == "30"


# --- the allow-list ---------------------------------------------------------------------------

def _sample_url(app, rule, doc_id):
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter) or name.endswith("_id"):
            values[name] = doc_id
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif name == "gateway":
            values[name] = "stripe"
        elif name == "filename":
            values[name] = "css/app.css"
        else:
            values[name] = "x"
    with app.test_request_context():
        return app.url_map.bind("localhost").build(rule.endpoint, values)


def test_every_route_outside_the_allow_list_is_closed_to_the_accountant(app, world):
    """Every rule of the URL map and every method it takes: what ALLOWED does not name answers
    403 or 404, with the accountant's session and a valid CSRF token, and changes nothing."""
    product = make_product("Martillo")
    CartItem.create(contact=world["a"], product=product, quantity=1, unit_price_seen=product.price)
    token, _link = direct_link(app, world["a"])
    accountant = open_link(app, token)
    before = {model: model.select().count() for model in (Comment, Payment, QuoteDecision, CartItem, Document,
                                                         AccountantLink)}
    checked = 0
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method in ALLOWED.get(rule.endpoint, ()):
                continue
            url = _sample_url(app, rule, world["quote"].id if "decision" in rule.rule else world["invoice"].id)
            if method == "GET":
                resp = accountant.get(url)
            else:
                data = {"csrf_token": accountant.token, "body": "Hola", "decision": "accept",
                        "signer_name": "Eve", "accept_terms": "1", "quantity": "1", "product_id": str(product.id),
                        "gateway": "stripe", "amount": "1.00", "email": "x@example.com", "days": "30"}
                resp = accountant.client.open(url, method=method, data=data)
            assert resp.status_code in (403, 404), (method, url, rule.endpoint, resp.status_code)
            checked += 1
    assert checked > 100
    assert {model: model.select().count() for model in before} == before
    # The session is still the accountant's, still open, and the refusals were logged too.
    assert accountant.get("/invoices").status_code == 200
    assert AccountantUse.select().where(AccountantUse.status == 403).count() == checked


def test_the_allow_list_names_only_reading_views_and_the_doors_own_posts(app):
    posts = {endpoint for endpoint, methods in ALLOWED.items() if "POST" in methods}
    assert posts == {"accountant.leave", "accountant_door.open_confirm", "packs.prepare"}
    for endpoint in ("comments.create", "quotes.decide", "payments.start", "payments.panel", "cart.show",
                     "catalog.index", "checkout.show", "profile.index", "profile.password", "portal.home",
                     "accountants.create"):
        assert endpoint not in ALLOWED


def test_another_contacts_documents_and_packs_are_404(app, world):
    from app.models import YearlyPack
    token, _link = direct_link(app, world["a"])
    accountant = open_link(app, token)
    other = world["other"].id
    for url in (f"/documents/{other}", f"/documents/{other}/pdf", f"/documents/{other}/print"):
        assert accountant.get(url).status_code == 404, url
    pack = YearlyPack.create(contact=world["b"], year=2025, email="b@example.com", status="ready", data=b"PK",
                             expires_at=utcnow() + datetime.timedelta(days=1))
    assert accountant.get(f"/packs/{pack.id}").status_code == 404


# --- refused links ----------------------------------------------------------------------------

def test_an_expired_link_is_refused_and_a_session_ends_when_its_link_expires(app, world):
    old_token, _old = direct_link(app, world["a"], days=1, now=utcnow() - datetime.timedelta(days=2))
    page = Browser(app.test_client()).get(f"/accountant/open/{old_token}")
    assert page.status_code == 410 and "It has expired." in page.get_data(as_text=True)

    token, link = direct_link(app, world["a"])
    accountant = open_link(app, token)
    past = utcnow() - datetime.timedelta(seconds=1)
    AccountantLink.update(expires_at=past).where(AccountantLink.id == link.id).execute()
    resp = accountant.get("/invoices")
    assert resp.status_code == 410 and "It has expired." in resp.get_data(as_text=True)
    # The cookie no longer carries the link: the next request is an anonymous one.
    assert accountant.get("/invoices").status_code == 302


def test_a_revoked_link_is_refused_at_once(app, auth, outbox, world):
    person, token = give_link(auth, world["a"], outbox)
    accountant = open_link(app, token)
    link = AccountantLink.get()
    resp = person.post(f"/account/accountants/{link.id}/revoke")
    assert resp.status_code == 303
    assert [(a.action, a.detail) for a in Activity.select().where(Activity.action.startswith("accountant_"))
            .order_by(Activity.id)] == [("accountant_link_given", ACCOUNTANT), ("accountant_link_revoked", ACCOUNTANT)]
    refused = accountant.get("/invoices")
    assert refused.status_code == 410 and "revoked" in refused.get_data(as_text=True)
    again = Browser(app.test_client()).get(f"/accountant/open/{token}")
    assert again.status_code == 410
    assert Browser(app.test_client()).get("/accountant/open/not-a-token").status_code == 410
    # The person's page says so, and offers no revoke button any more.
    page = soup(person.get("/account/"))
    assert "Revoked" in page.find(id=f"accountant-link-{link.id}").get_text()
    assert page.find(id=f"revoke-{link.id}") is None


def test_another_contacts_person_cannot_revoke_the_link(app, auth, world):
    _token, link = direct_link(app, world["a"])
    stranger = auth.login_new_person(world["b"])
    assert stranger.post(f"/account/accountants/{link.id}/revoke").status_code == 404
    assert AccountantLink.get_by_id(link.id).revoked_at is None


def test_switching_the_feature_off_refuses_links_hides_the_section_and_refuses_creating(app, auth, staff, world):
    token, _link = direct_link(app, world["a"])
    accountant = open_link(app, token)
    person = auth.login_new_person(world["a"])
    assert soup(person.get("/account/")).find(id="accountants") is not None

    form = soup(staff.get("/staff/settings/")).find(id="portal")
    assert form.find("input", attrs={"name": "accountant_links_enabled"}).has_attr("checked")
    from app.views.staff.settings import settings_form_values
    from app.models import Settings
    values = {k: v for k, v in settings_form_values(Settings.get_solo()).items() if v not in (False, None)}
    values.pop("accountant_links_enabled")
    data = [(k, x) for k, v in values.items() for x in (v if isinstance(v, list) else [v])]
    from werkzeug.datastructures import MultiDict
    resp = staff.post("/staff/settings/", MultiDict(data + [("csrf_token", staff.token)]))
    assert resp.status_code == 303, resp.get_data(as_text=True)
    assert Settings.get_solo().accountant_links_enabled is False

    refused = accountant.get("/invoices")
    assert refused.status_code == 410 and "switched off" in refused.get_data(as_text=True)
    assert Browser(app.test_client()).get(f"/accountant/open/{token}").status_code == 410
    assert soup(person.get("/account/")).find(id="accountants") is None
    assert person.post("/account/accountants/", {"email": ACCOUNTANT, "days": "30"}).status_code == 403
    assert AccountantLink.select().count() == 1


# --- uses -------------------------------------------------------------------------------------

def test_every_use_is_logged_and_shown_to_the_person_and_to_staff(app, auth, outbox, staff, world):
    person, token = give_link(auth, world["a"], outbox)
    accountant = open_link(app, token)
    accountant.get(f"/documents/{world['invoice'].id}")
    accountant.get("/cart/")   # refused, and logged as such
    link = AccountantLink.get()
    uses = list(AccountantUse.select().where(AccountantUse.link == link).order_by(AccountantUse.id))
    paths = [(u.method, u.path, u.status) for u in uses]
    assert ("GET", f"/documents/{world['invoice'].id}", 200) in paths and ("GET", "/cart/", 403) in paths
    assert all(u.ip == "127.0.0.1" and u.at <= utcnow() for u in uses)
    assert not any(token in u.path for u in uses)

    mine = soup(person.get("/account/")).find(id=f"accountant-link-{link.id}")
    assert f"/documents/{world['invoice'].id}" in mine.get_text() and f"{len(uses)} uses" in mine.get_text()

    page = soup(staff.get(f"/staff/contacts/{world['a'].id}"))
    section = page.find(id="accountant-links")
    assert ACCOUNTANT in section.get_text() and f"/documents/{world['invoice'].id}" in section.get_text()
    resp = staff.post(f"/staff/contacts/{world['a'].id}/accountant-links/{link.id}/revoke")
    assert resp.status_code == 303
    assert AccountantLink.get_by_id(link.id).revoked_at is not None
    assert accountant.get("/invoices").status_code == 410
    # Staff revoke only the contact's own links: another contact in the URL is a 404.
    _t, other_link = direct_link(app, world["b"])
    assert staff.post(f"/staff/contacts/{world['a'].id}/accountant-links/{other_link.id}/revoke").status_code == 404


def test_the_accountants_start_page_does_not_exist_for_a_person(app, auth, world):
    person = auth.login_new_person(world["a"])
    assert person.get("/accountant/").status_code == 404
    assert person.post("/accountant/leave").status_code == 404
    assert person.get("/invoices").status_code == 200   # and the person's own session is untouched


def test_leaving_ends_the_read_only_session(app, world):
    token, _link = direct_link(app, world["a"])
    accountant = open_link(app, token)
    resp = accountant.post("/accountant/leave")
    assert resp.status_code == 303
    assert accountant.get("/invoices").status_code == 302


def test_opening_a_link_signs_a_person_out_of_that_browser(app, auth, world):
    person = auth.login_new_person(world["b"])
    token, _link = direct_link(app, world["a"])
    person.get(f"/accountant/open/{token}")
    assert person.post(f"/accountant/open/{token}").status_code == 303
    listing = person.get("/invoices").get_data(as_text=True)
    assert "F-2026-0001" in listing and "F-2026-0999" not in listing
    assert person.get("/account/").status_code == 403


def test_the_accountants_pages_stay_within_the_portals_query_budget_plus_the_door(app, world, caplog):
    """The door costs two statements a request (the link with its contact, the use's insert):
    never a query per document or per use."""
    from tests.test_query_budget import BUDGET, queries
    token, _link = direct_link(app, world["a"])
    accountant = open_link(app, token)
    for i in range(30):
        make_document(world["a"], number=f"F-2026-1{i:03d}")
    for url in ("/accountant/", "/invoices", f"/documents/{world['invoice'].id}",
                f"/documents/{world['invoice'].id}/print"):
        found = queries(accountant, caplog, url)
        assert len(found) <= BUDGET + DOOR, (url, found)


DOOR = 2
