"""Browser: a staff user adds a passkey from their account page with Chromium's virtual
authenticator (the portal's own script, static/js/passkeys.js), signs out, and signs in to the
back-office with the passkey alone; then, with two-factor on, gives the passkey instead of the
code after the password. The account page and the sign-in pages at 390 px and on a desktop:
nothing wider than the screen, no axe violation, no console error.

WebAuthn refuses an IP address as the relying party: the pages are opened at localhost."""
import pytest
from playwright.sync_api import expect

from app.models import Passkey, StaffSession
from tests.factories import PASSWORD, make_staff, settings
from tests.test_browser_passkeys import open_at_localhost, virtual_authenticator
from tests.test_browser_phone import check

pytestmark = pytest.mark.browser


def password_step(page, user):
    page.goto("/staff/login")
    page.fill("#f-email", user.email)
    page.fill("#f-password", PASSWORD)
    page.click("#staff-login button[type=submit]")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_add_a_staff_passkey_sign_out_and_sign_in_with_it(app, chromium, live_server, size):
    with app.app_context():
        settings(name="Taller Martínez S.L.", default_language="en")
        user = make_staff(name="María José Fernández-Castillo")
    context, page, errors = open_at_localhost(chromium, live_server, size)
    problems = []
    try:
        cdp, authenticator = virtual_authenticator(context, page)
        password_step(page, user)
        page.wait_for_url("**/staff/contacts/")
        page.click("#my-account")
        page.wait_for_url("**/staff/account/")
        expect(page.locator("#passkey-add")).to_be_visible()   # the script shows it
        problems += check(page, "staff-account-no-passkey", size, "en", errors)
        page.fill("#passkey-name", "Office laptop")
        page.click("#add-passkey")
        expect(page.locator("#passkey-list")).to_contain_text("Office laptop")
        problems += check(page, "staff-account-passkey", size, "en", errors)
        assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
        with app.app_context():
            assert Passkey.select().where(Passkey.staff == user.id).count() == 1

        page.click("#sign-out")
        page.wait_for_url("**/staff/login")
        expect(page.locator("#passkey-signin")).to_be_visible()
        problems += check(page, "staff-login-passkey", size, "en", errors)
        page.click("#passkey-signin-button")
        page.wait_for_url("**/staff/contacts/")
        with app.app_context():
            key = Passkey.get(Passkey.staff == user.id)
            assert key.last_used_at is not None and key.sign_count >= 1
            assert StaffSession.select().where(StaffSession.staff == user.id).count() == 1
        page.goto("/staff/account/")
        expect(page.locator("#passkey-list")).not_to_contain_text("not used yet")

        # The owner requires two-factor: after the password, the passkey stands in for a code.
        with app.app_context():
            settings(staff_require_totp=True)
        page.click("#sign-out")
        page.wait_for_url("**/staff/login")
        password_step(page, user)
        page.wait_for_url("**/staff/login/code")
        expect(page.locator("#passkey-second-step")).to_be_visible()
        problems += check(page, "staff-code-passkey", size, "en", errors)
        page.click("#passkey-second-step-button")
        page.wait_for_url("**/staff/contacts/")
    finally:
        context.close()
    assert not problems, "\n".join(problems)
