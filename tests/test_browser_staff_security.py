"""Browser: a staff user turns two-factor on from their page (QR code as an inline SVG image,
allowed by the CSP), keeps the recovery codes, and signs in again with password then code."""
import datetime

import pyotp
import pytest
from playwright.sync_api import expect

from app.models import StaffSession
from tests.browser import staff_sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_staff_sign_in_with_two_factor(page, staff_user):
    staff_sign_in(page, staff_user)
    page.click("#my-account")
    page.click("#two-factor-setup")
    page.wait_for_selector("#totp-qr")
    # The QR code is drawn (an inline SVG image has a size once decoded).
    assert page.eval_on_selector("#totp-qr", "img => img.complete && img.naturalWidth > 0")
    page.click("details summary")
    secret = page.text_content("#totp-secret").strip()
    page.fill("#f-code", pyotp.TOTP(secret).now())
    page.click("#two-factor-form button[type=submit]")
    expect(page.locator("#recovery-codes code")).to_have_count(10)
    page.click("#sign-out")
    page.wait_for_url("**/staff/login")

    page.fill("#f-email", staff_user.email)
    page.fill("#f-password", PASSWORD)
    page.click("#staff-login button[type=submit]")
    page.wait_for_url("**/staff/login/code")
    assert StaffSession.select().count() == 0   # no session before the code
    page.fill("#f-code", "000000")
    page.click("#staff-code button[type=submit]")
    expect(page.locator("#e-code")).to_be_visible()
    # The code of the next 30-second step (accepted for clock drift): the one typed at setup
    # may still be current, and a code is accepted only once.
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30)
    page.fill("#f-code", pyotp.TOTP(secret).at(later))
    page.click("#staff-code button[type=submit]")
    page.wait_for_url("**/staff/contacts/")
    assert StaffSession.select().count() == 1
