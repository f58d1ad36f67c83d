"""Passkeys for staff (the back-office door): registered from one's account page, signing in alone
or in place of the code after the password, counting as the two-factor the owner may require.
Against the real `webauthn` package with a software authenticator (tests/softkey.py). The two
doors are kept apart: a person's passkey never opens the back-office, a staff passkey never the
portal."""
import json
import logging

import pytest

from app import passkeys
from app.models import Activity, Passkey, PortalSession, StaffSession, StaffUser
from app.rules import Refused
from app.views.staff import roles
from tests.conftest import Browser, soup
from tests.factories import PASSWORD, make_person, make_staff, settings
from tests.softkey import SoftKey
from tests.test_staff_security import enable_two_factor, signed_in_as, staff_sign_in

RP, ORIGIN = "localhost", "http://localhost"
APP = {}


@pytest.fixture(autouse=True)
def _the_app(app):
    """The rules are called directly in some tests, as a view would call them, in an app context."""
    APP["app"] = app


def register(owner, key, name="My phone"):
    with APP["app"].app_context():   # a view runs it in one: adding a passkey queues a mail
        options, challenge = passkeys.registration_options(owner, RP)
        return passkeys.register(owner, key.create(json.loads(options)), challenge, RP, ORIGIN, name)


def post_json(browser, url, body=None, csrf=True):
    headers = {"X-CSRFToken": browser.token} if csrf else {}
    return browser.client.post(url, json=body or {}, headers=headers)


def add_through_page(browser, key, name="Work laptop"):
    options = post_json(browser, "/staff/account/passkeys/options").get_json()["options"]
    return post_json(browser, "/staff/account/passkeys", {"credential": key.create(options), "name": name})


def passkey_sign_in(app, key, browser=None, next_url="", **kw):
    """The passkey alone at /staff/login, in a fresh browser (or the one given)."""
    browser = browser or Browser(app.test_client())
    browser.get("/staff/login")
    options = post_json(browser, "/staff/login/passkey/options").get_json()["options"]
    resp = post_json(browser, "/staff/login/passkey", {"credential": key.get(options, **kw), "next": next_url})
    return browser, resp


def reaches(browser, url="/staff/contacts/"):
    return browser.client.get(url).status_code == 200


def require_two_factor():
    assert settings(staff_require_totp=True).staff_require_totp


# --- the rules -----------------------------------------------------------------------------------

def test_a_staff_passkey_has_its_own_user_handle_and_column(app):
    staff, person = make_staff(), make_person()
    key = SoftKey()
    options = json.loads(passkeys.registration_options(staff, RP)[0])
    assert options["user"]["name"] == staff.email
    stored = register(staff, key)
    assert stored.staff_id == staff.id and stored.person_id is None
    assert passkeys.user_handle(staff) == f"s{staff.id}".encode() != passkeys.user_handle(person)
    assert [k.id for k in passkeys.listed(staff)] == [stored.id] and not passkeys.has_passkey(person)
    assert Activity.get(Activity.action == "passkey_added").staff_id == staff.id
    options, challenge = passkeys.authentication_options(RP, staff)
    assert [c["id"] for c in json.loads(options)["allowCredentials"]] == [key.id]
    assert passkeys.authenticate_staff(key.get(json.loads(options)), challenge, RP, ORIGIN, staff=staff).id == staff.id


def test_a_clone_with_a_stale_counter_is_refused(app):
    staff, key = make_staff(), SoftKey()
    register(staff, key)
    clone = key.clone()
    assert passkey_sign_in(app, key)[1].status_code == 200
    assert passkey_sign_in(app, key)[1].status_code == 200      # the real one is at 2
    browser, resp = passkey_sign_in(app, clone)                  # the copy says 1
    assert resp.status_code == 401 and not reaches(browser)
    assert passkey_sign_in(app, key, counter_step=0)[1].status_code == 401   # a replayed state
    assert Passkey.get(Passkey.staff == staff.id).sign_count == 2
    assert StaffSession.select().count() == 2
    assert Activity.select().where(Activity.action == "passkey_refused", Activity.staff == staff.id).count() == 2


def test_a_persons_passkey_never_opens_the_back_office(app):
    person, staff = make_person(), make_staff()
    person_key = SoftKey()
    register(person, person_key)
    register(staff, SoftKey())
    browser, resp = passkey_sign_in(app, person_key)
    assert resp.status_code == 401 and "error" in resp.get_json()
    assert StaffSession.select().count() == 0 and not reaches(browser)
    options, challenge = passkeys.authentication_options(RP)
    with pytest.raises(Refused):
        passkeys.authenticate_staff(person_key.get(json.loads(options)), challenge, RP, ORIGIN)
    assert Passkey.get(Passkey.person == person.id).sign_count == 0   # not even its counter moved


def test_a_staff_passkey_never_opens_the_portal(app):
    staff, key = make_staff(), SoftKey()
    register(staff, key)
    browser = Browser(app.test_client())
    browser.get("/login")
    options = post_json(browser, "/login/passkey/options").get_json()["options"]
    resp = post_json(browser, "/login/passkey", {"credential": key.get(options)})
    assert resp.status_code == 401
    assert PortalSession.select().count() == 0 and browser.client.get("/").status_code == 302
    options, challenge = passkeys.authentication_options(RP)
    with pytest.raises(Refused):
        passkeys.authenticate(key.get(json.loads(options)), challenge, RP, ORIGIN)
    # Nor as the second factor of a person who gave their password.
    person = make_person()
    with pytest.raises(Refused):
        passkeys.authenticate(key.get(json.loads(options)), challenge, RP, ORIGIN, person=person)


def test_an_inactive_staff_user_is_refused(app):
    staff, key = make_staff(), SoftKey()
    register(staff, key)
    StaffUser.update(active=False).where(StaffUser.id == staff.id).execute()
    browser, resp = passkey_sign_in(app, key)
    assert resp.status_code == 401 and StaffSession.select().count() == 0 and not reaches(browser)


# --- through the pages ---------------------------------------------------------------------------

def test_add_sign_out_sign_in_with_the_passkey_alone_and_remove(app, caplog):
    staff = make_staff()
    browser = signed_in_as(app, staff)
    page = soup(browser.get("/staff/account/"))
    assert page.find(id="no-passkeys") and page.find(id="passkey-add").has_attr("hidden")
    assert "Set up two-factor sign-in" in page.find(id="two-factor").get_text()
    key = SoftKey()
    done = add_through_page(browser, key, "Work laptop")
    assert done.status_code == 200 and done.get_json()["redirect"] == "/staff/account/"
    assert key.user_handle == passkeys.bytes_to_base64url(f"s{staff.id}".encode())
    page = browser.get("/staff/account/").get_data(as_text=True)
    assert "Work laptop" in page and "not used yet" in page
    assert "Your passkey is your second factor" in soup(browser.get("/staff/account/")).find(id="two-factor").get_text()
    browser.post("/staff/logout")
    assert not reaches(browser)

    with caplog.at_level(logging.INFO, logger="portal.staff"):
        other, resp = passkey_sign_in(app, key, next_url="/staff/catalog/")
    assert resp.status_code == 200 and resp.get_json()["redirect"] == "/staff/catalog/"
    assert reaches(other) and StaffSession.select().where(StaffSession.staff == staff.id).count() == 1
    assert Activity.select().where(Activity.action == "staff_login", Activity.staff == staff.id).count() == 2
    assert f"staff sign-in staff={staff.id} via=passkey" in caplog.text
    stored = Passkey.get(Passkey.staff == staff.id)
    assert stored.last_used_at is not None and stored.sign_count == 1
    # An outside `next` is not followed: the role's landing page instead.
    assert passkey_sign_in(app, key, next_url="https://evil.example/")[1].get_json()["redirect"] == "/staff/contacts/"

    other.get("/staff/account/")
    assert other.post(f"/staff/account/passkeys/{stored.id}/remove").status_code == 303
    assert Passkey.select().count() == 0
    assert Activity.select().where(Activity.action == "passkey_removed", Activity.staff == staff.id).count() == 1


@pytest.mark.parametrize("role", ["accountant", "sales"])
def test_every_role_manages_their_own_passkeys(app, role):
    staff = make_staff()
    StaffUser.update(role=role).where(StaffUser.id == staff.id).execute()
    assert roles.allowed(role, "staff.account.passkey_add", "staff.account")
    browser = signed_in_as(app, staff)
    assert add_through_page(browser, SoftKey()).status_code == 200
    assert Passkey.select().where(Passkey.staff == staff.id).count() == 1


def test_another_staff_users_passkey_cannot_be_removed(app):
    owner, member = make_staff(), make_staff()
    stored = register(owner, SoftKey())
    browser = signed_in_as(app, member)
    assert browser.post(f"/staff/account/passkeys/{stored.id}/remove").status_code == 404
    # Nor a person's, though it is a row of the same table.
    person_key = register(make_person(), SoftKey())
    assert browser.post(f"/staff/account/passkeys/{person_key.id}/remove").status_code == 404
    assert Passkey.select().count() == 2


def test_the_routes_want_a_staff_sign_in_and_the_csrf_token(app):
    staff = make_staff()
    stored = register(staff, SoftKey())
    anonymous = Browser(app.test_client())
    anonymous.get("/staff/login")
    for url in ("/staff/account/passkeys/options", "/staff/account/passkeys",
                f"/staff/account/passkeys/{stored.id}/remove"):
        resp = post_json(anonymous, url)
        assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"], url
    # A person signed in to the portal is nobody in the back-office.
    person = make_person(password=PASSWORD)
    portal = Browser(app.test_client())
    portal.get("/login")
    assert portal.post("/login", {"email": person.email, "password": PASSWORD}).status_code == 303
    portal.get("/account/security/")   # the signed-in session's CSRF token
    assert portal.client.get("/").status_code == 200
    assert post_json(portal, "/staff/account/passkeys/options").status_code == 302

    browser = signed_in_as(app, staff)
    for url in ("/staff/account/passkeys/options", "/staff/account/passkeys",
                f"/staff/account/passkeys/{stored.id}/remove"):
        assert post_json(browser, url, csrf=False).status_code == 400, url
    assert browser.post(f"/staff/account/passkeys/{stored.id}/remove", token=False).status_code == 400
    for url in ("/staff/login/passkey/options", "/staff/login/passkey", "/staff/login/code/passkey/options",
                "/staff/login/code/passkey"):
        assert post_json(anonymous, url, csrf=False).status_code == 400, url
    assert Passkey.select().count() == 1


def test_a_registration_answer_is_used_once(app):
    browser = signed_in_as(app, make_staff())
    key = SoftKey()
    options = post_json(browser, "/staff/account/passkeys/options").get_json()["options"]
    answer = key.create(options)
    assert post_json(browser, "/staff/account/passkeys", {"credential": answer}).status_code == 200
    again = post_json(browser, "/staff/account/passkeys", {"credential": answer})
    assert again.status_code == 422 and Passkey.select().count() == 1


def test_refused_passkey_sign_ins_are_throttled_per_address(app):
    app.config["STAFF_LOGIN_LIMIT_IP"] = "3 per minute"
    staff, key = make_staff(), SoftKey()
    register(staff, key)
    # Successes do not count (an office signs in from one address)...
    assert [passkey_sign_in(app, key)[1].status_code for _ in range(4)] == [200] * 4
    # ...refusals do.
    stranger = SoftKey()
    statuses = [passkey_sign_in(app, stranger)[1].status_code for _ in range(4)]
    assert statuses == [401] * 3 + [429]


# --- the code step and the owner's requirement ---------------------------------------------------

def test_the_code_step_takes_a_passkey_instead_of_the_code(app):
    staff, key = make_staff(), SoftKey()
    enable_two_factor(signed_in_as(app, staff))
    register(staff, key)
    browser = Browser(app.test_client())
    resp = staff_sign_in(browser, staff.email)
    assert resp.headers["Location"].endswith("/staff/login/code")
    page = soup(browser.get("/staff/login/code"))
    assert page.find(id="staff-code") and page.find(id="passkey-second-step").has_attr("hidden")
    # Another staff user's passkey does not stand in for this one's.
    intruder, intruder_key = make_staff(), SoftKey()
    register(intruder, intruder_key)
    options = post_json(browser, "/staff/login/code/passkey/options").get_json()["options"]
    assert [c["id"] for c in options["allowCredentials"]] == [key.id]
    refused = post_json(browser, "/staff/login/code/passkey", {"credential": intruder_key.get(options)})
    assert refused.status_code == 401 and StaffSession.select().count() == 1   # the setup browser's
    options = post_json(browser, "/staff/login/code/passkey/options").get_json()["options"]
    done = post_json(browser, "/staff/login/code/passkey", {"credential": key.get(options)})
    assert done.status_code == 200 and done.get_json()["redirect"] == "/staff/contacts/"
    assert reaches(browser) and StaffSession.select().where(StaffSession.staff == staff.id).count() == 2


def test_the_code_step_passkey_needs_the_password_first(app):
    staff, key = make_staff(), SoftKey()
    register(staff, key)
    browser = Browser(app.test_client())
    browser.get("/staff/login")
    assert post_json(browser, "/staff/login/code/passkey/options").status_code == 401
    assert post_json(browser, "/staff/login/code/passkey", {"credential": {}}).status_code == 401
    assert StaffSession.select().count() == 0


def test_a_passkey_meets_the_required_two_factor(app):
    member = make_staff()
    require_two_factor()
    browser = signed_in_as(app, member)
    # No second factor yet: sent to set one up; the account page (where passkeys are) stays open.
    resp = browser.client.get("/staff/contacts/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/account/two-factor")
    assert soup(browser.get("/staff/account/two-factor")).find(id="use-a-passkey")
    assert browser.get("/staff/account/").status_code == 200
    key = SoftKey()
    assert add_through_page(browser, key).status_code == 200
    assert reaches(browser)   # a passkey is enough: no TOTP setup forced
    assert not StaffUser.get_by_id(member.id).totp_enabled

    # The password alone is not enough any more: the passkey is asked for after it.
    again = Browser(app.test_client())
    assert staff_sign_in(again, member.email).headers["Location"].endswith("/staff/login/code")
    page = soup(again.get("/staff/login/code"))
    assert page.find(id="staff-code") is None and page.find(id="passkey-second-step")
    assert not reaches(again)
    again.token = page.find(id="passkey-second-step")["data-csrf"]   # the page has no code form
    assert again.post("/staff/login/code", {"code": "123456"}).status_code == 422
    options = post_json(again, "/staff/login/code/passkey/options").get_json()["options"]
    assert post_json(again, "/staff/login/code/passkey", {"credential": key.get(options)}).status_code == 200
    assert reaches(again)
    again.get("/staff/account/")   # the new session's CSRF token

    # The last second factor cannot be removed while the owner requires one.
    stored = Passkey.get(Passkey.staff == member.id)
    resp = again.post(f"/staff/account/passkeys/{stored.id}/remove")
    assert resp.status_code == 303 and Passkey.select().where(Passkey.staff == member.id).count() == 1
    assert "Two-factor sign-in is required here" in again.get("/staff/account/").get_data(as_text=True)
    # With TOTP on as well, the passkey may go; then TOTP is the last and stays.
    enable_two_factor(again)
    assert again.post(f"/staff/account/passkeys/{stored.id}/remove").status_code == 303
    assert Passkey.select().where(Passkey.staff == member.id).count() == 0
    again.post("/staff/account/two-factor/off", {"off_password": PASSWORD})
    assert StaffUser.get_by_id(member.id).totp_enabled


def test_with_a_passkey_left_required_totp_may_be_turned_off(app):
    member = make_staff()
    require_two_factor()
    browser = signed_in_as(app, member)
    enable_two_factor(browser)
    assert soup(browser.get("/staff/account/")).find(id="two-factor-off-form") is None   # required, no passkey
    register(member, SoftKey())
    assert soup(browser.get("/staff/account/")).find(id="two-factor-off-form")
    assert browser.post("/staff/account/two-factor/off", {"off_password": PASSWORD}).status_code == 303
    assert not StaffUser.get_by_id(member.id).totp_enabled
    assert reaches(browser)


def test_without_the_requirement_a_passkey_does_not_slow_the_password_down(app):
    staff = make_staff()
    register(staff, SoftKey())
    browser = Browser(app.test_client())
    assert staff_sign_in(browser, staff.email).headers["Location"].endswith("/staff/contacts/")
    assert reaches(browser)


def test_an_owner_clears_a_lost_passkey_of_a_member(app):
    owner, member = make_staff(), make_staff()
    admin = signed_in_as(app, owner)
    enable_two_factor(admin)
    require_two_factor()
    register(member, SoftKey())
    row = soup(admin.get("/staff/team/")).find("form", action=f"/staff/team/{member.id}/two-factor-off")
    assert row is not None   # a passkey is two-factor on, which the owner may turn off
    assert admin.post(f"/staff/team/{member.id}/two-factor-off").status_code == 303
    assert Passkey.select().where(Passkey.staff == member.id).count() == 0
    # The password alone signs in again, straight to setting up a new second factor.
    browser = Browser(app.test_client())
    assert staff_sign_in(browser, member.email).headers["Location"].endswith("/staff/contacts/")
    resp = browser.client.get("/staff/contacts/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/account/two-factor")
