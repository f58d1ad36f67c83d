"""Browser (issue 21): a passkey with Chromium's virtual authenticator (WebAuthn domain of the
DevTools protocol, through Playwright's CDP session): added from the account page, then signed
out, then signed in with the passkey alone (a discoverable credential). The account page's
"Sign-in security" and the sign-in page at 390 px and on a desktop: nothing wider than the
screen, no axe violation, no console error; screenshots in instance/screenshots/.

WebAuthn refuses an IP address as the relying party: the pages are opened at localhost."""
import pytest
from playwright.sync_api import expect

from app.models import Activity, Passkey, PortalSession
from tests.browser import portal_sign_in
from tests.factories import PASSWORD, make_contact, make_person, settings
from tests.test_browser_phone import SIZES, check

pytestmark = pytest.mark.browser


def open_at_localhost(chromium, live_server, size):
    width, height = SIZES[size]
    context = chromium.new_context(base_url=live_server.url.replace("127.0.0.1", "localhost"),
                                   viewport={"width": width, "height": height}, locale="en-GB",
                                   is_mobile=size == "phone", has_touch=size == "phone", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return context, page, errors


def virtual_authenticator(context, page):
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True}})
    return cdp, found["authenticatorId"]


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_register_a_passkey_sign_out_and_sign_in_with_it(app, chromium, live_server, size):
    with app.app_context():
        settings(name="Taller Martínez S.L.", default_language="en")
        person = make_person(contact=make_contact(name="Talleres Ruiz Hermanos S.L."), password=PASSWORD,
                             name="Ana García Fernández", language="en")
    context, page, errors = open_at_localhost(chromium, live_server, size)
    problems = []
    try:
        cdp, authenticator = virtual_authenticator(context, page)
        portal_sign_in(page, person)
        page.goto("/account/")
        page.click("#sign-in-security")
        page.wait_for_url("**/account/security/")
        expect(page.locator("#passkey-add")).to_be_visible()   # the script shows it
        problems += check(page, "security-empty", size, "en", errors)
        page.fill("#passkey-name", "Work laptop")
        page.click("#add-passkey")
        expect(page.locator("#passkey-list")).to_contain_text("Work laptop")
        problems += check(page, "security-passkey", size, "en", errors)
        assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
        with app.app_context():
            assert Passkey.select().where(Passkey.person == person.id).count() == 1

        # Sign out through the profile menu, then back in with the passkey alone.
        page.click("#profile-menu summary")
        page.click("#menu-logout")
        page.wait_for_url("**/login")
        expect(page.locator("#passkey-signin")).to_be_visible()
        problems += check(page, "login-passkey", size, "en", errors)
        page.click("#passkey-signin-button")
        page.wait_for_url(live_server.url.replace("127.0.0.1", "localhost") + "/")
        with app.app_context():
            key = Passkey.get(Passkey.person == person.id)
            assert key.last_used_at is not None and key.sign_count >= 1
        page.goto("/account/security/")
        expect(page.locator("#passkey-list")).not_to_contain_text("not used yet")
        problems += check(page, "security-used", size, "en", errors)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_second_factor_step_fits_and_passes_axe(app, chromium, live_server, size):
    """A business that requires a second factor: after the password, the enrolment step (QR code)."""
    with app.app_context():
        settings(name="Taller Martínez S.L.", default_language="en", require_second_factor="all")
        person = make_person(contact=make_contact(name="Talleres Ruiz Hermanos S.L."), password=PASSWORD,
                             name="Ana García Fernández", language="en")
    context, page, errors = open_at_localhost(chromium, live_server, size)
    try:
        page.goto("/login")
        page.fill("#f-email", person.email)
        page.fill("#f-password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url("**/login/second-factor")
        expect(page.locator(".totp-qr svg")).to_be_visible()
        problems = check(page, "second-factor-enrol", size, "en", errors)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_a_cloned_passkey_with_a_stale_counter_is_refused(app, chromium, live_server):
    """The credential copied out of the authenticator right after it was made (its private key and
    its counter then) signs in from another browser only until the real one has been used: then
    its counter is behind the one the portal keeps, and the portal refuses it."""
    with app.app_context():
        settings(name="Taller Martínez S.L.", default_language="en")
        person = make_person(contact=make_contact(name="Talleres Ruiz"), password=PASSWORD, language="en")
    origin = live_server.url.replace("127.0.0.1", "localhost")
    context, page, _errors = open_at_localhost(chromium, live_server, "desktop")
    thief, thief_page, _thief_errors = open_at_localhost(chromium, live_server, "desktop")
    try:
        cdp, authenticator = virtual_authenticator(context, page)
        portal_sign_in(page, person)
        page.goto("/account/security/")
        page.fill("#passkey-name", "Work laptop")
        page.click("#add-passkey")
        expect(page.locator("#passkey-list")).to_contain_text("Work laptop")
        [copied] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]

        context.clear_cookies()
        page.goto("/login")
        page.click("#passkey-signin-button")   # the real key, used: the portal's counter moves on
        page.wait_for_url(origin + "/")
        with app.app_context():
            kept = Passkey.get(Passkey.person == person.id).sign_count
        assert kept > copied["signCount"]

        thief_cdp, thief_authenticator = virtual_authenticator(thief, thief_page)
        thief_cdp.send("WebAuthn.addCredential", {"authenticatorId": thief_authenticator, "credential": copied})
        thief_page.goto("/login")
        thief_page.click("#passkey-signin-button")
        expect(thief_page.locator("#passkey-signin [data-passkey-message]")).to_contain_text("could not sign you in")
        assert thief_page.url == origin + "/login"
        with app.app_context():
            assert Passkey.get(Passkey.person == person.id).sign_count == kept   # the clone moved nothing
            assert Activity.select().where((Activity.action == "passkey_refused")
                                           & (Activity.person == person.id)).count() == 1
            assert PortalSession.select().where(PortalSession.person == person.id).count() == 2   # not the thief's
    finally:
        context.close()
        thief.close()
