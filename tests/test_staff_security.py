"""The back-office door (issue 16, point 2): staff sign-in throttled, staff sessions as rows that
sign-out, password changes, deactivation and idle time end, the team managed by owners (invites,
resets, roles), roles enforced route by route, and TOTP two-factor."""
import datetime
import json
import re
import time

import pyotp
import pytest

from app import mail, webhooks
from app.documents import record_manual_payment
from app.models import (Activity, Job, Passkey, Payment, ProductImage, Settings, StaffLink, StaffRecoveryCode,
                        StaffSession, StaffUser, TaxRate, WebhookDelivery, WebhookEndpoint, utcnow)
from app.rules import By
from app.views.staff import roles
from tests.conftest import Browser, soup
from tests.factories import (PASSWORD, make_category, make_contact, make_document, make_person, make_product,
                             make_staff, png_bytes, settings)

NEW_PASSWORD = "a brand new staff passphrase"


def staff_sign_in(browser, email, password=PASSWORD, **kw):
    """The password step; on to the code page as a browser follows the redirect."""
    browser.get("/staff/login")
    resp = browser.post("/staff/login", {"email": email, "password": password}, **kw)
    if resp.status_code == 303 and resp.headers["Location"].endswith("/staff/login/code"):
        browser.get("/staff/login/code", **kw)
    return resp


def signed_in_as(app, user, password=PASSWORD):
    browser = Browser(app.test_client())
    assert staff_sign_in(browser, user.email, password).status_code == 303
    browser.get("/staff/account/")   # a fresh session: pick up its CSRF token
    return browser


def cookie_of(browser):
    return browser.client.get_cookie("session").value


def with_cookie(app, value):
    """Another browser holding a copy of a cookie."""
    client = app.test_client()
    client.set_cookie("session", value, domain="localhost")
    return client


def reaches_back_office(client):
    resp = client.get("/staff/account/")
    return resp.status_code == 200


# --- throttled sign-in ---------------------------------------------------------------------------

def test_wrong_staff_passwords_are_throttled_but_the_staff_user_gets_in_elsewhere(app):
    app.config["STAFF_LOGIN_LIMIT_ACCOUNT_IP"] = "5 per 8 seconds"
    user, other = make_staff(), make_staff()
    attacker = Browser(app.test_client())
    ip = {"environ_base": {"REMOTE_ADDR": "10.9.9.9"}}
    statuses = [staff_sign_in(attacker, user.email, f"guess {i}", **ip).status_code for i in range(12)]
    assert statuses[:5] == [422] * 5 and set(statuses[5:]) == {429}
    assert staff_sign_in(attacker, user.email, PASSWORD, **ip).status_code == 429
    assert StaffSession.select().count() == 0
    # The real staff user, from their own address, gets in; so does another account from the
    # throttled address (the limit is per account and address).
    assert staff_sign_in(Browser(app.test_client()), user.email, PASSWORD,
                         environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 303
    assert staff_sign_in(Browser(app.test_client()), other.email, PASSWORD, **ip).status_code == 303
    time.sleep(8.2)
    assert staff_sign_in(attacker, user.email, PASSWORD, **ip).status_code == 303


def test_staff_limits_per_address_and_per_account(app):
    app.config["STAFF_LOGIN_LIMIT_IP"] = "3 per minute"
    app.config["STAFF_LOGIN_LIMIT_ACCOUNT"] = "4 per minute"
    user = make_staff()
    one, ip = Browser(app.test_client()), {"environ_base": {"REMOTE_ADDR": "10.0.0.1"}}
    for i in range(3):
        assert staff_sign_in(one, f"nobody{i}@example.com", "x", **ip).status_code == 422
    assert staff_sign_in(one, user.email, PASSWORD, **ip).status_code == 429
    # Spread over addresses, failures still add up on the account.
    for i in range(4):
        staff_sign_in(Browser(app.test_client()), user.email, "x", environ_base={"REMOTE_ADDR": f"10.1.0.{i}"})
    assert staff_sign_in(Browser(app.test_client()), user.email, PASSWORD,
                         environ_base={"REMOTE_ADDR": "10.2.0.1"}).status_code == 429


def test_successful_sign_ins_do_not_count(app):
    app.config["STAFF_LOGIN_LIMIT_ACCOUNT_IP"] = "2 per minute"
    user = make_staff()
    for _ in range(4):
        browser = Browser(app.test_client())
        assert staff_sign_in(browser, user.email).status_code == 303


# --- sessions as rows ----------------------------------------------------------------------------

def test_a_copied_staff_cookie_is_dead_after_sign_out(app):
    user = make_staff()
    browser = signed_in_as(app, user)
    copy = with_cookie(app, cookie_of(browser))
    assert reaches_back_office(copy)
    assert StaffSession.select().where(StaffSession.staff == user).count() == 1
    assert browser.post("/staff/logout").status_code == 303
    assert StaffSession.select().count() == 0
    resp = copy.get("/staff/account/")
    assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]


def test_the_cookie_holds_no_staff_id_and_the_row_only_a_hash(app):
    user = make_staff()
    browser = signed_in_as(app, user)
    with browser.client.session_transaction() as sess:
        sid = sess["staff_sid"]
        assert "staff" not in sess
    row = StaffSession.get()
    assert row.sid_hash != sid and len(row.sid_hash) == 64 and sid not in row.sid_hash


def test_deactivation_ends_every_copy_of_the_cookie(app):
    owner = make_staff()
    member = make_staff(email="member@example.com")
    StaffUser.update(role="sales").where(StaffUser.id == member.id).execute()
    member_browser = signed_in_as(app, member)
    copy = with_cookie(app, cookie_of(member_browser))
    admin = signed_in_as(app, owner)
    assert admin.post(f"/staff/team/{member.id}/deactivate").status_code == 303
    assert not reaches_back_office(member_browser.client) and not reaches_back_office(copy)
    assert StaffSession.select().where(StaffSession.staff == member).count() == 0
    assert staff_sign_in(Browser(app.test_client()), member.email).status_code == 422
    assert reaches_back_office(admin.client)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app):
    user = make_staff()
    laptop = signed_in_as(app, user)
    phone = signed_in_as(app, user)
    stolen = with_cookie(app, cookie_of(laptop))
    resp = laptop.post("/staff/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                    "confirm": NEW_PASSWORD})
    assert resp.status_code == 303
    assert reaches_back_office(laptop.client)
    assert not reaches_back_office(phone.client) and not reaches_back_office(stolen)
    assert StaffSession.select().count() == 1
    assert staff_sign_in(Browser(app.test_client()), user.email, PASSWORD).status_code == 422
    assert staff_sign_in(Browser(app.test_client()), user.email, NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize("fields, problem", [
    ({"current_password": "wrong", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "current_password"),
    ({"current_password": PASSWORD, "new_password": "short", "confirm": "short"}, "new_password"),
    ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": "other"}, "confirm"),
    ({"current_password": PASSWORD, "new_password": "", "confirm": ""}, "new_password"),
])
def test_a_bad_password_change_changes_nothing(app, fields, problem):
    user = make_staff()
    browser = signed_in_as(app, user)
    resp = browser.post("/staff/account/password", fields)
    assert resp.status_code == 422 and soup(resp).find(id=f"e-{problem}")
    assert StaffUser.get_by_id(user.id).password_hash == user.password_hash
    assert reaches_back_office(browser.client)


def test_an_idle_staff_session_ends(app):
    app.config["STAFF_IDLE_MINUTES"] = 60
    user = make_staff()
    browser = signed_in_as(app, user)
    copy = with_cookie(app, cookie_of(browser))
    StaffSession.update(last_seen_at=utcnow() - datetime.timedelta(minutes=59)).execute()
    assert reaches_back_office(copy)   # 59 minutes idle: still alive, and seen again now
    assert utcnow() - StaffSession.get().last_seen_at < datetime.timedelta(seconds=30)
    StaffSession.update(last_seen_at=utcnow() - datetime.timedelta(minutes=61)).execute()
    assert not reaches_back_office(browser.client) and not reaches_back_office(copy)
    assert StaffSession.select().count() == 0


def test_a_new_sign_in_clears_the_users_idle_sessions(app):
    user, other = make_staff(), make_staff()
    signed_in_as(app, user)
    signed_in_as(app, other)
    StaffSession.update(last_seen_at=utcnow() - datetime.timedelta(minutes=61)).execute()
    signed_in_as(app, user)
    assert sorted(s.staff_id for s in StaffSession.select()) == sorted([user.id, other.id])


def test_last_seen_is_written_at_most_once_a_minute(app):
    user = make_staff()
    browser = signed_in_as(app, user)
    seen = utcnow() - datetime.timedelta(seconds=30)
    StaffSession.update(last_seen_at=seen).execute()
    browser.get("/staff/account/")
    assert StaffSession.get().last_seen_at == seen


# --- the team ------------------------------------------------------------------------------------

def mailed_link(app, to):
    """The staff link in the newest queued mail to `to` (the mail is the only place it is kept),
    rendered as its job will render it."""
    for job in Job.select().where(Job.kind == "mail").order_by(Job.id.desc()):
        payload = json.loads(job.payload)
        if to in json.dumps(payload["to"]):
            with app.app_context():
                sent = mail.compose(payload)
            return re.search(r"http://portal\.test(/staff/link/[\w-]+)", sent["text"]).group(1), sent
    raise AssertionError(f"no mail to {to}")


def test_an_owner_invites_someone_who_chooses_a_password_once(app):
    owner = make_staff()
    admin = signed_in_as(app, owner)
    resp = admin.post("/staff/team/", {"name": "Laura Contable", "email": "Laura@Example.com", "role": "accountant",
                                       "language": "en"})
    assert resp.status_code == 303
    laura = StaffUser.get(StaffUser.email == "laura@example.com")
    assert laura.role == "accountant" and laura.invited and laura.active
    assert staff_sign_in(Browser(app.test_client()), laura.email, "").status_code == 422
    path, sent = mailed_link(app, laura.email)
    assert "Laura Contable" in sent["text"] and "back-office" in sent["subject"]
    assert StaffLink.get().token_hash not in sent["text"]
    invitee = Browser(app.test_client())
    page = invitee.get(path)
    assert page.status_code == 200 and "laura@example.com" in page.get_data(as_text=True)
    assert invitee.post(path, {"new_password": "short", "confirm": "short"}).status_code == 422
    resp = invitee.post(path, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/staff/documents/")
    assert invitee.get("/staff/documents/").status_code == 200
    assert invitee.get("/staff/team/").status_code == 403
    # The link is used up.
    assert Browser(app.test_client()).get(path).status_code == 410
    assert staff_sign_in(Browser(app.test_client()), laura.email, NEW_PASSWORD).status_code == 303


def test_invite_mail_is_in_the_invitees_language(app):
    owner = make_staff()
    admin = signed_in_as(app, owner)
    admin.post("/staff/team/", {"name": "Jordi", "email": "jordi@example.com", "role": "sales", "language": "ca"})
    admin.post("/staff/team/", {"name": "Anne", "email": "anne@example.com", "role": "sales", "language": "fr"})
    assert '<html lang="ca">' in mailed_link(app, "jordi@example.com")[1]["html"]
    assert '<html lang="fr">' in mailed_link(app, "anne@example.com")[1]["html"]


@pytest.mark.parametrize("fields, problem", [
    ({"name": "", "email": "x@example.com", "role": "sales", "language": "es"}, "name"),
    ({"name": "X", "email": "not an email", "role": "sales", "language": "es"}, "email"),
    ({"name": "X", "email": "x@example.com", "role": "admin", "language": "es"}, "role"),
    ({"name": "X", "email": "x@example.com", "role": "sales", "language": "xx"}, "language"),
    ({"name": "X" * 201, "email": "x@example.com", "role": "sales", "language": "es"}, "name"),
])
def test_a_bad_invite_changes_nothing(app, fields, problem):
    admin = signed_in_as(app, make_staff())
    resp = admin.post("/staff/team/", fields)
    assert resp.status_code == 422 and soup(resp).find(id=f"e-{problem}")
    assert StaffUser.select().count() == 1 and Job.select().count() == 0


def test_inviting_an_existing_email_is_refused(app):
    owner = make_staff()
    admin = signed_in_as(app, owner)
    resp = admin.post("/staff/team/", {"name": "Again", "email": owner.email, "role": "sales", "language": "es"})
    assert resp.status_code == 422 and soup(resp).find(id="e-email")
    assert StaffUser.select().count() == 1


def test_an_expired_or_superseded_invite_does_not_work(app):
    admin = signed_in_as(app, make_staff())
    admin.post("/staff/team/", {"name": "Late", "email": "late@example.com", "role": "sales", "language": "es"})
    first, _mail = mailed_link(app, "late@example.com")
    late = StaffUser.get(StaffUser.email == "late@example.com")
    admin.post(f"/staff/team/{late.id}/resend")
    second, _mail = mailed_link(app, "late@example.com")
    assert first != second
    assert Browser(app.test_client()).get(first).status_code == 410
    StaffLink.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).execute()
    browser = Browser(app.test_client())
    assert browser.get(second).status_code == 410
    assert browser.post(second, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 410
    assert StaffUser.get_by_id(late.id).invited


def test_a_forced_reset_stops_the_password_and_every_session(app):
    owner, member = make_staff(), make_staff(email="member@example.com")
    member_browser = signed_in_as(app, member)
    admin = signed_in_as(app, owner)
    assert admin.post(f"/staff/team/{member.id}/reset").status_code == 303
    assert not reaches_back_office(member_browser.client)
    assert staff_sign_in(Browser(app.test_client()), member.email).status_code == 422
    path, sent = mailed_link(app, member.email)
    browser = Browser(app.test_client())
    browser.get(path)
    assert browser.post(path, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 303
    assert reaches_back_office(browser.client)


def test_roles_change_and_the_last_owner_stays(app):
    owner = make_staff()
    member = make_staff(email="member@example.com")
    StaffUser.update(role="sales").where(StaffUser.id == member.id).execute()
    admin = signed_in_as(app, owner)
    # The only active owner can neither be demoted nor deactivated.
    assert admin.post(f"/staff/team/{owner.id}/role", {"role": "sales"}).status_code == 303
    assert admin.post(f"/staff/team/{owner.id}/deactivate").status_code == 303
    row = StaffUser.get_by_id(owner.id)
    assert row.role == "owner" and row.active
    assert "one active owner" in admin.get("/staff/team/").get_data(as_text=True)
    # With a second owner, it works; the role takes effect on the next request.
    assert admin.post(f"/staff/team/{member.id}/role", {"role": "owner"}).status_code == 303
    assert admin.post(f"/staff/team/{owner.id}/role", {"role": "accountant"}).status_code == 303
    assert StaffUser.get_by_id(owner.id).role == "accountant"
    assert admin.get("/staff/team/").status_code == 403
    # A deactivated owner does not count as an active one.
    boss = signed_in_as(app, member)
    assert boss.post(f"/staff/team/{owner.id}/role", {"role": "owner"}).status_code == 303
    assert boss.post(f"/staff/team/{owner.id}/deactivate").status_code == 303
    assert boss.post(f"/staff/team/{member.id}/role", {"role": "sales"}).status_code == 303
    assert StaffUser.get_by_id(member.id).role == "owner"
    # A role that does not exist changes nothing.
    assert boss.post(f"/staff/team/{member.id}/role", {"role": "admin"}).status_code == 303
    assert StaffUser.get_by_id(member.id).role == "owner"


def test_team_actions_on_unknown_staff_are_404(app):
    admin = signed_in_as(app, make_staff())
    for action in ("role", "deactivate", "reactivate", "reset", "resend", "two-factor-off"):
        assert admin.post(f"/staff/team/99999/{action}", {"role": "sales"}).status_code == 404


def test_team_changes_need_csrf(app):
    owner, member = make_staff(), make_staff()
    admin = signed_in_as(app, owner)
    assert admin.post(f"/staff/team/{member.id}/deactivate", token=False).status_code == 400
    assert StaffUser.get_by_id(member.id).active


def test_create_staff_makes_an_owner(app, runner):
    result = runner.invoke(args=["create-staff", "--email", "Boss@Example.com", "--name", "Boss",
                                 "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert StaffUser.get(StaffUser.email == "boss@example.com").role == "owner"


def test_create_staff_on_an_existing_user_is_the_way_back_in(app, runner):
    owner, seller = make_staff(), make_staff()
    StaffUser.update(role="sales").where(StaffUser.id == seller.id).execute()
    enable_two_factor(signed_in_as(app, owner))
    session_cookie = cookie_of(signed_in_as(app, seller))
    # A salesperson's password reset keeps their role while an owner is active...
    result = runner.invoke(args=["create-staff", "--email", seller.email, "--name", "Seller",
                                 "--password", NEW_PASSWORD])
    assert result.exit_code == 0 and StaffUser.get_by_id(seller.id).role == "sales"
    assert not reaches_back_office(with_cookie(app, session_cookie))
    # ...the owner locked out (deactivated, phone lost) gets back in, without two-factor.
    StaffUser.update(active=False).where(StaffUser.id == owner.id).execute()
    Passkey.create(staff=owner, credential_id="lost-key", public_key=b"k", name="Lost key")
    result = runner.invoke(args=["create-staff", "--email", owner.email, "--name", "Boss", "--two-factor-off",
                                 "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    row = StaffUser.get_by_id(owner.id)
    assert row.active and row.role == "owner" and not row.totp_enabled and StaffRecoveryCode.select().count() == 0
    assert not Passkey.select().where(Passkey.staff == owner.id).exists()
    assert staff_sign_in(Browser(app.test_client()), owner.email, NEW_PASSWORD).headers["Location"].endswith(
        "/staff/contacts/")


# --- roles, route by route -----------------------------------------------------------------------

def staff_rules(app, method="GET"):
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("staff.") and method in rule.methods]


def test_every_staff_blueprint_is_in_the_roles_map(app):
    missing = {rule.endpoint.rsplit(".", 1)[0] for rule in app.url_map.iter_rules()
               if rule.endpoint.startswith("staff.") and not rule.endpoint.startswith("staff.auth.")
               } - set(roles.AREAS)
    assert not missing, f"decide who may reach {sorted(missing)} in app/views/staff/roles.py"
    assert not set(roles.ENDPOINTS) - {rule.endpoint for rule in app.url_map.iter_rules()}


def test_an_area_missing_from_the_map_is_for_owners_only():
    assert roles.allowed("owner", "staff.new_area.index", "staff.new_area")
    assert not roles.allowed("accountant", "staff.new_area.index", "staff.new_area")
    assert not roles.allowed("sales", "staff.new_area.index", "staff.new_area")


def samples(app, owner):
    """An id for every URL argument of a staff GET route."""
    settings(country="ES", tax_id="B98123458")   # the invoice has an e-invoice
    contact = make_contact()
    person = make_person(contact=contact)
    doc = make_document(contact)
    with app.app_context():
        record_manual_payment(doc, 100, datetime.date.today(), "cash", By(staff=owner))
    product = make_product(category=make_category())
    image = ProductImage.create(product=product, content_type="image/png", data=png_bytes())
    endpoint = WebhookEndpoint.create(url="https://erp.example/hook", secret=webhooks.new_secret(),
                                      events="invoice.issued")
    delivery = WebhookDelivery.create(endpoint=endpoint, event_id="evt_1", event_type="invoice.issued", body="{}")
    return {"contact_id": contact.id, "person_id": person.id, "doc_id": doc.id, "product_id": product.id,
            "category_id": product.category_id, "image_id": image.id, "tax_id": TaxRate.get().id,
            "payment_id": Payment.get().id, "endpoint_id": endpoint.id, "delivery_id": delivery.id,
            "kind": "invoice", "staff_id": owner.id}


def role_browsers(app):
    owner = make_staff()
    browsers = {"owner": signed_in_as(app, owner)}
    for role in ("accountant", "sales"):
        user = make_staff()
        StaffUser.update(role=role).where(StaffUser.id == user.id).execute()
        browsers[role] = signed_in_as(app, user)
    return owner, browsers


@pytest.mark.parametrize("role", ["owner", "accountant", "sales"])
def test_each_role_reaches_its_routes_and_nothing_else(app, role):
    owner, browsers = role_browsers(app)
    ids = samples(app, owner)
    browser = browsers[role]
    checked = 0
    for rule in staff_rules(app):
        if rule.endpoint.startswith("staff.auth."):
            continue
        url = rule.build({name: ids[name] for name in rule.arguments})[1]
        resp = browser.client.get(url)
        if roles.allowed(role, rule.endpoint, rule.endpoint.rsplit(".", 1)[0]):
            # The sample document is an invoice: a quote's acceptance certificate does not exist for it.
            reachable = (404,) if rule.endpoint == "staff.pdf.acceptance" else (200, 302, 303)
            assert resp.status_code in reachable, f"{role} {url}: {resp.status_code}"
            if resp.status_code == 200 and resp.mimetype == "text/html":
                assert not refused_targets(app, role, resp), f"{role} {url} offers what it refuses"
        else:
            assert resp.status_code == 403, f"{role} {url}: {resp.status_code}"
        checked += 1
    assert checked > 30


def refused_targets(app, role, resp):
    """The links and forms of a page that would answer 403 to this role: a page offers only
    what its reader may do."""
    adapter = app.url_map.bind("localhost")
    page, refused = soup(resp), []
    targets = [(a["href"], "GET") for a in page.find_all("a", href=True)]
    targets += [(f.get("action", ""), (f.get("method") or "GET").upper()) for f in page.find_all("form")]
    for href, method in targets:
        path = href.split("?")[0].split("#")[0]
        if not path.startswith("/staff/"):
            continue
        endpoint, _args = adapter.match(path, method)
        if not roles.allowed(role, endpoint, endpoint.rsplit(".", 1)[0]) and not endpoint.startswith("staff.auth."):
            refused.append(f"{method} {path}")
    return refused


def test_the_roles_match_the_issue(app):
    """The map says what the issue asks: spelled out, so that a slip in roles.py shows here."""
    def can(role, endpoint):
        return roles.allowed(role, endpoint, endpoint.rsplit(".", 1)[0])
    for endpoint in ("staff.settings.edit", "staff.api_tokens.index", "staff.webhooks.index",
                     "staff.gateways.gateways", "staff.team.index", "staff.jobs.index"):
        assert can("owner", endpoint) and not can("accountant", endpoint) and not can("sales", endpoint)
    for endpoint in ("staff.documents.index", "staff.gateways.payment_list", "staff.documents.record_payment"):
        assert can("accountant", endpoint)
    for endpoint in ("staff.contacts.index", "staff.documents.new", "staff.catalog.products",
                     "staff.comments.unanswered", "staff.access.send_access_link"):
        assert can("sales", endpoint)
    for endpoint in ("staff.gateways.payment_list", "staff.gateways.resolve", "staff.documents.record_payment"):
        assert not can("sales", endpoint)


def test_a_refused_post_changes_nothing_and_is_logged(app, caplog):
    owner, browsers = role_browsers(app)
    doc = make_document()
    sales = browsers["sales"]
    with caplog.at_level("INFO", logger="portal.errors"):
        resp = sales.post(f"/staff/documents/{doc.id}/payments", {"amount": "1.00", "paid_on": "2026-01-01"})
    assert resp.status_code == 403 and Payment.select().count() == 0
    assert any("refused POST /staff/documents/<int:doc_id>/payments" in r.getMessage() for r in caplog.records)
    assert sales.post("/staff/api/tokens/", {"name": "mine"}).status_code == 403
    assert browsers["accountant"].post("/staff/gateways/stripe", {}).status_code == 403


def test_the_menu_shows_only_what_the_role_reaches(app):
    _owner, browsers = role_browsers(app)
    nav = soup(browsers["sales"].get("/staff/contacts/")).find("nav")
    links = {a["href"] for a in nav.find_all("a")}
    assert "/staff/catalog/" in links and "/staff/settings/" not in links and "/staff/payments/" not in links
    nav = soup(browsers["accountant"].get("/staff/documents/")).find("nav")
    links = {a["href"] for a in nav.find_all("a")}
    assert "/staff/payments/" in links and "/staff/team/" not in links and "/staff/api/tokens/" not in links


# --- two-factor ----------------------------------------------------------------------------------

def enable_two_factor(browser):
    """Set two-factor up through the pages; returns (secret, recovery codes)."""
    page = soup(browser.get("/staff/account/two-factor"))
    assert page.find(id="totp-qr")["src"].startswith("data:image/svg+xml")
    secret = page.find(id="totp-secret").get_text(strip=True)
    resp = browser.post("/staff/account/two-factor", {"code": pyotp.TOTP(secret).now()})
    assert resp.status_code == 200
    codes = [c.get_text(strip=True) for c in soup(resp).select("#recovery-codes code")]
    return secret, codes


def next_code(secret):
    """A code the server has not accepted yet: the one of the next 30-second step (allowed for
    clock drift), since a code already used is refused."""
    return pyotp.TOTP(secret).at(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30))


def test_two_factor_setup_stores_the_secret_sealed_and_the_codes_hashed(app):
    from app.db import db
    user = make_staff()
    browser = signed_in_as(app, user)
    secret, codes = enable_two_factor(browser)
    assert len(codes) == 10 and len(set(codes)) == 10
    row = StaffUser.get_by_id(user.id)
    assert row.totp_enabled and row.totp_secret == secret
    raw = db.execute_sql("SELECT totp_secret FROM staff_user WHERE id = %s" % user.id).fetchone()[0]
    assert raw.startswith("sealed:") and secret not in raw
    stored = [r.code_hash for r in StaffRecoveryCode.select()]
    assert len(stored) == 10 and not set(codes) & set(stored)


def test_a_wrong_confirmation_code_leaves_two_factor_off(app):
    user = make_staff()
    browser = signed_in_as(app, user)
    browser.get("/staff/account/two-factor")
    for bad in ("000000", "", "abcdef", "1" * 70):
        resp = browser.post("/staff/account/two-factor", {"code": bad})
        assert resp.status_code == 422 and soup(resp).find(id="e-code")
    assert not StaffUser.get_by_id(user.id).totp_enabled and StaffRecoveryCode.select().count() == 0


def test_with_two_factor_sign_in_asks_for_a_code_before_any_session(app):
    user = make_staff()
    secret, codes = enable_two_factor(signed_in_as(app, user))
    StaffSession.delete().execute()
    browser = Browser(app.test_client())
    resp = staff_sign_in(browser, user.email)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/staff/login/code")
    assert StaffSession.select().count() == 0
    assert browser.client.get("/staff/contacts/").status_code == 302   # not signed in yet
    assert browser.get("/staff/login/code").status_code == 200
    assert browser.post("/staff/login/code", {"code": "123456"}).status_code == 422
    assert StaffSession.select().count() == 0
    resp = browser.post("/staff/login/code", {"code": next_code(secret)})
    assert resp.status_code == 303 and StaffSession.select().count() == 1
    assert browser.client.get("/staff/contacts/").status_code == 200
    # The same code again is refused (no replay), even with the password.
    other = Browser(app.test_client())
    staff_sign_in(other, user.email)
    assert other.post("/staff/login/code", {"code": next_code(secret)}).status_code == 422


def test_a_recovery_code_works_once(app):
    user = make_staff()
    _secret, codes = enable_two_factor(signed_in_as(app, user))
    browser = Browser(app.test_client())
    staff_sign_in(browser, user.email)
    assert browser.post("/staff/login/code", {"code": codes[0]}).status_code == 303
    again = Browser(app.test_client())
    staff_sign_in(again, user.email)
    assert again.post("/staff/login/code", {"code": codes[0]}).status_code == 422
    assert again.post("/staff/login/code", {"code": codes[1].upper()}).status_code == 303
    assert StaffRecoveryCode.select().where(StaffRecoveryCode.used_at.is_null()).count() == 8


def test_the_code_step_is_throttled_and_needs_the_password_step(app):
    app.config["STAFF_TOTP_LIMIT"] = "3 per minute"
    user = make_staff()
    secret, _codes = enable_two_factor(signed_in_as(app, user))
    # Without the password step, the code page sends back to sign-in.
    nobody = Browser(app.test_client())
    assert nobody.get("/staff/login/code").status_code == 302
    assert nobody.post("/staff/login/code", {"code": next_code(secret)}).status_code == 303
    assert StaffSession.select().where(StaffSession.staff == user).count() == 1   # only the setup's
    browser = Browser(app.test_client())
    staff_sign_in(browser, user.email)
    assert [browser.post("/staff/login/code", {"code": "000000"}).status_code for _ in range(3)] == [422] * 3
    assert browser.post("/staff/login/code", {"code": next_code(secret)}).status_code == 429
    # A new password step does not reset the count: it is per account.
    fresh = Browser(app.test_client())
    staff_sign_in(fresh, user.email, environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert fresh.post("/staff/login/code", {"code": next_code(secret)},
                      environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 429


def test_the_password_step_expires(app):
    user = make_staff()
    secret, _codes = enable_two_factor(signed_in_as(app, user))
    browser = Browser(app.test_client())
    staff_sign_in(browser, user.email)
    with browser.client.session_transaction() as sess:
        pending = sess["staff_pending"]
        sess["staff_pending"] = [pending[0], pending[1], pending[2] - 301, pending[3]]
    resp = browser.post("/staff/login/code", {"code": next_code(secret)})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/staff/login")
    assert StaffSession.select().where(StaffSession.staff == user).count() == 1


def test_a_reset_link_does_not_skip_two_factor(app):
    owner, member = make_staff(), make_staff(email="member@example.com")
    secret, _codes = enable_two_factor(signed_in_as(app, member))
    signed_in_as(app, owner).post(f"/staff/team/{member.id}/reset")
    path, _mail = mailed_link(app, member.email)
    browser = Browser(app.test_client())
    browser.get(path)
    resp = browser.post(path, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.headers["Location"].endswith("/staff/login/code")
    assert not reaches_back_office(browser.client)
    browser.get("/staff/login/code")
    assert browser.post("/staff/login/code", {"code": next_code(secret)}).status_code == 303
    assert reaches_back_office(browser.client)


def test_turning_two_factor_off_needs_the_password(app):
    user = make_staff()
    browser = signed_in_as(app, user)
    enable_two_factor(browser)
    resp = browser.post("/staff/account/two-factor/off", {"off_password": "wrong"})
    assert resp.status_code == 422 and StaffUser.get_by_id(user.id).totp_enabled
    assert browser.post("/staff/account/two-factor/off", {"off_password": PASSWORD}).status_code == 303
    row = StaffUser.get_by_id(user.id)
    assert not row.totp_enabled and row.totp_secret is None and StaffRecoveryCode.select().count() == 0
    assert staff_sign_in(Browser(app.test_client()), user.email).headers["Location"].endswith("/staff/contacts/")


def test_the_owner_can_require_two_factor_for_everyone(app):
    owner, member = make_staff(), make_staff()
    StaffUser.update(role="sales").where(StaffUser.id == member.id).execute()
    admin = signed_in_as(app, owner)
    assert admin.post("/staff/team/two-factor-required", {"required": "1"}).status_code == 303
    assert Settings.get_solo().staff_require_totp
    browser = Browser(app.test_client())
    resp = staff_sign_in(browser, member.email)
    assert resp.status_code == 303
    # Every page but the setup sends there first.
    for url in ("/staff/contacts/", "/staff/catalog/", "/staff/team/"):
        resp = browser.client.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/account/two-factor")
    enable_two_factor(browser)
    assert browser.client.get("/staff/contacts/").status_code == 200
    # Required: it cannot be turned off by its user.
    browser.post("/staff/account/two-factor/off", {"off_password": PASSWORD})
    assert StaffUser.get_by_id(member.id).totp_enabled
    # Only owners change the requirement.
    assert browser.post("/staff/team/two-factor-required", {}).status_code == 403
    assert Settings.get_solo().staff_require_totp


def test_an_owner_turns_off_a_lost_two_factor(app):
    owner, member = make_staff(), make_staff()
    enable_two_factor(signed_in_as(app, member))
    signed_in_as(app, owner).post(f"/staff/team/{member.id}/two-factor-off")
    assert not StaffUser.get_by_id(member.id).totp_enabled
    assert Activity.select().where(Activity.action == "staff_totp_off").count() == 1
