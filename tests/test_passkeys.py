"""Passkeys (issue 21): registration and sign-in against the real `webauthn` package with a
software authenticator (tests/softkey.py); a clone with a stale counter, another person's
passkey and a wrong origin are refused; passkeys are listed and removed by their owner only."""
import json

import pytest

from app import passkeys
from app.models import Activity, Passkey, PortalSession
from app.rules import Refused
from tests.conftest import Browser
from tests.factories import make_contact, make_person
from tests.softkey import SoftKey

RP, ORIGIN = "localhost", "http://localhost"
APP = {}


@pytest.fixture(autouse=True)
def _the_app(app):
    """The rules are called directly in some tests, as a view would call them, in an app context."""
    APP["app"] = app


def register(person, key, name="My phone"):
    with APP["app"].app_context():   # a view runs it in one: adding a passkey queues a mail
        options, challenge = passkeys.registration_options(person, RP)
        return passkeys.register(person, key.create(json.loads(options)), challenge, RP, ORIGIN, name)


def sign_in_with(key, person=None, **kw):
    options, challenge = passkeys.authentication_options(RP, person)
    return passkeys.authenticate(key.get(json.loads(options), **kw), challenge, RP, ORIGIN, person=person)


def test_register_then_sign_in_with_the_passkey_alone(app):
    person, key = make_person(), SoftKey()
    stored = register(person, key)
    assert stored.name == "My phone" and stored.credential_id == key.id and stored.transports == "internal"
    options = json.loads(passkeys.registration_options(person, RP)[0])
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["excludeCredentials"] == [{"id": key.id, "type": "public-key"}]
    assert sign_in_with(key).id == person.id
    again = Passkey.get_by_id(stored.id)
    assert again.sign_count == 1 and again.last_used_at is not None
    assert sign_in_with(key, person=person).id == person.id   # the email-first way


def test_a_clone_with_a_stale_counter_is_refused(app):
    person, key = make_person(), SoftKey()
    register(person, key)
    clone = key.clone()
    assert sign_in_with(key).id == person.id
    assert sign_in_with(key).id == person.id   # the real one is at 2
    with pytest.raises(Refused):
        sign_in_with(clone)                    # the copy says 1
    with pytest.raises(Refused):
        sign_in_with(key, counter_step=0)      # the same counter again: a replayed state
    assert Passkey.get(Passkey.person == person.id).sign_count == 2
    assert Activity.select().where(Activity.action == "passkey_refused").count() == 2


def test_another_persons_passkey_a_wrong_origin_and_a_forged_signature_are_refused(app):
    ana, bea = make_person(), make_person()
    ana_key, bea_key = SoftKey(), SoftKey()
    register(ana, ana_key)
    register(bea, bea_key)
    with pytest.raises(Refused):
        sign_in_with(bea_key, person=ana)          # email-first as Ana, with Bea's passkey
    options, challenge = passkeys.authentication_options(RP)
    with pytest.raises(Refused):
        passkeys.authenticate(ana_key.get(json.loads(options), origin="https://evil.example"), challenge, RP, ORIGIN)
    forged = ana_key.get(json.loads(options))
    forged["response"]["userHandle"] = bea_key.user_handle     # Ana's passkey claiming to be Bea
    with pytest.raises(Refused):
        passkeys.authenticate(forged, challenge, RP, ORIGIN)
    stranger = SoftKey()
    stranger.credential_id, stranger.user_handle = ana_key.credential_id, ana_key.user_handle
    with pytest.raises(Refused):   # Ana's credential id, another private key: the signature fails
        sign_in_with(stranger)


def test_registration_refuses_a_wrong_challenge_or_origin_and_a_known_credential(app):
    person, key = make_person(), SoftKey()
    options, challenge = passkeys.registration_options(person, RP)
    answer = key.create(json.loads(options))
    with pytest.raises(Refused):
        passkeys.register(person, answer, b"another challenge", RP, ORIGIN, "x")
    with pytest.raises(Refused):
        passkeys.register(person, key.create(json.loads(options), origin="https://evil.example"), challenge, RP,
                          ORIGIN, "x")
    register(person, key)
    with pytest.raises(Refused):
        register(make_person(), key)   # the same credential for someone else
    assert Passkey.select().count() == 1


def test_a_person_without_portal_access_cannot_sign_in_with_a_passkey(app):
    person, key = make_person(contact=make_contact(portal_enabled=True)), SoftKey()
    register(person, key)
    person.contact.archived = True
    person.contact.save()
    with pytest.raises(Refused):
        sign_in_with(key)


# --- through the pages ----------------------------------------------------------------------

def post_json(browser, url, body):
    return browser.client.post(url, json=body, headers={"X-CSRFToken": browser.token})


def test_add_sign_out_sign_in_and_remove_through_the_pages(auth, app, outbox):
    browser = auth.login_new_person()
    person, key = browser.person, SoftKey()
    page = browser.get("/account/security/")
    assert page.status_code == 200 and "no passkeys yet" in page.get_data(as_text=True)
    options = post_json(browser, "/account/security/passkeys/options", {}).get_json()["options"]
    done = post_json(browser, "/account/security/passkeys", {"credential": key.create(options), "name": "Laptop"})
    assert done.status_code == 200 and done.get_json()["redirect"] == "/account/security/"
    page = browser.get("/account/security/").get_data(as_text=True)
    assert "Laptop" in page and "not used yet" in page
    # The same answer again: the challenge was used up.
    again = post_json(browser, "/account/security/passkeys", {"credential": key.create(options), "name": "Again"})
    assert again.status_code == 422 and Passkey.select().count() == 1
    browser.post("/logout")

    anonymous = Browser(app.test_client())
    anonymous.get("/login")
    options = post_json(anonymous, "/login/passkey/options", {}).get_json()["options"]
    assert "allowCredentials" not in options or not options["allowCredentials"]
    resp = post_json(anonymous, "/login/passkey", {"credential": key.get(options), "next": "/documents/invoices"})
    assert resp.status_code == 200 and resp.get_json()["redirect"] == "/documents/invoices"
    assert anonymous.client.get("/").status_code == 200
    sessions = PortalSession.select().where(PortalSession.person == person.id)
    assert [s.via for s in sessions] == ["passkey"]   # the devices list and the log tell it apart

    # Replaying the same signed answer does not sign in a second browser.
    other = Browser(app.test_client())
    other.get("/login")
    post_json(other, "/login/passkey/options", {})
    assert post_json(other, "/login/passkey", {"credential": key.get(options, counter_step=0)}).status_code == 401
    assert other.client.get("/").status_code == 302

    anonymous.get("/account/security/")
    stored = Passkey.get(Passkey.person == person.id)
    assert anonymous.post(f"/account/security/passkeys/{stored.id}/remove").status_code == 303
    assert Passkey.select().count() == 0
    told = [m.text for m in outbox()   # each change of their keys is mailed to the person
            if person.email in m.rcpt_tos and m.message["Subject"] == "Your sign-in security changed"]
    assert ["added to" in t for t in told] == [True, False] and "removed from" in told[1]


def test_someone_elses_passkey_cannot_be_removed(auth):
    owner = make_person()
    register(owner, SoftKey())
    browser = auth.login_new_person()
    browser.get("/account/security/")
    stored = Passkey.get(Passkey.person == owner.id)
    assert browser.post(f"/account/security/passkeys/{stored.id}/remove").status_code == 404
    assert Passkey.select().count() == 1


def test_the_login_page_offers_a_passkey_form_hidden_until_the_script_shows_it(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'id="passkey-signin" hidden' in html and "js/passkeys.js" in html


def test_email_first_options_name_only_that_persons_passkeys(app):
    ana, bea = make_person(), make_person()
    ana_key = SoftKey()
    register(ana, ana_key)
    register(bea, SoftKey())
    browser = Browser(app.test_client())
    browser.get("/login")
    options = post_json(browser, "/login/passkey/options", {"email": ana.email.upper()}).get_json()["options"]
    assert [c["id"] for c in options["allowCredentials"]] == [ana_key.id]
    unknown = post_json(browser, "/login/passkey/options", {"email": "nobody@example.com"})
    assert unknown.status_code == 200 and unknown.get_json()["options"].get("allowCredentials") == []
