"""Browser, end to end (issue 21's last "done when"): an owner invites a colleague from the team
page; the colleague opens the mailed link, joins, adds a passkey (Chromium's virtual
authenticator), signs out and back in with the passkey alone; the owner removes them, and the
colleague's open page is signed out at its next request. Mail goes through the real SMTP server."""
import re

import pytest
from playwright.sync_api import expect

from app.models import Passkey, Person, PortalSession
from tests.browser import portal_sign_in
from tests.factories import PASSWORD, make_contact, make_person, settings
from tests.test_browser_passkeys import open_at_localhost, virtual_authenticator

pytestmark = pytest.mark.browser

COLLEAGUE = "nina.buyer@talleres-ruiz.example"
NEW_PASSWORD = "a long new passphrase"


def test_an_invited_colleague_signs_in_with_their_passkey_until_removed(app, chromium, live_server, outbox):
    with app.app_context():
        settings(name="Taller Martínez S.L.", team_self_service=True)
        owner = make_person(contact=make_contact(name="Talleres Ruiz S.L.", catalog_enabled=True), password=PASSWORD,
                            name="Olga Owner", language="en")
    origin = live_server.url.replace("127.0.0.1", "localhost")
    owner_context, owner_page, _errors = open_at_localhost(chromium, live_server, "desktop")
    their_context, their_page, errors = open_at_localhost(chromium, live_server, "phone")
    try:
        portal_sign_in(owner_page, owner)
        owner_page.goto("/account/team/")
        owner_page.fill("#f-email", COLLEAGUE)
        owner_page.select_option("#invite-form select", "buyer")
        owner_page.click("#send-invite")
        expect(owner_page.locator("#team")).to_contain_text(COLLEAGUE)   # pending

        [mail] = [m for m in outbox() if COLLEAGUE in m.rcpt_tos]
        path = re.search(r"https?://[^/\s]+(/team/join/[\w-]+)", mail.text).group(1)

        cdp, authenticator = virtual_authenticator(their_context, their_page)
        their_page.goto(path)
        their_page.fill("#f-name", "Nina Nueva")
        their_page.fill("#f-new_password", NEW_PASSWORD)
        their_page.fill("#f-confirm", NEW_PASSWORD)
        their_page.click("#join-form button[type=submit]")
        their_page.wait_for_url(origin + "/**")
        their_page.goto("/account/security/")
        their_page.fill("#passkey-name", "Nina's phone")
        their_page.click("#add-passkey")
        expect(their_page.locator("#passkey-list")).to_contain_text("Nina's phone")
        assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1

        their_context.clear_cookies()   # signed out: only the passkey brings them back
        their_page.goto("/login")
        their_page.click("#passkey-signin-button")
        their_page.wait_for_url(origin + "/")
        with app.app_context():
            nina = Person.by_email(COLLEAGUE)
            assert nina.role == "buyer" and nina.contact_id == owner.contact_id
            assert Passkey.get(Passkey.person == nina.id).last_used_at is not None
            vias = [s.via for s in PortalSession.select().where(PortalSession.person == nina.id)]
            assert sorted(vias) == ["passkey", "password"]   # the join's session, whose cookie is gone
        assert their_page.goto("/catalog/").status == 200   # a buyer shops
        assert their_page.goto("/invoices").status == 200

        owner_page.goto("/account/team/")
        owner_page.click(f"#remove-{nina.id}")   # opens the confirmation
        owner_page.click(f"#confirm-remove-{nina.id}")
        expect(owner_page.locator(f"#member-{nina.id}")).to_contain_text("No access")

        their_page.goto("/invoices")   # the next request: signed out
        assert "/login" in their_page.url
        their_page.click("#passkey-signin-button")   # and the passkey no longer opens the door
        expect(their_page.locator("#passkey-signin")).to_contain_text("could not sign you in")
        assert "/login" in their_page.url
        with app.app_context():
            assert not PortalSession.select().where(PortalSession.person == nina.id).exists()
        assert not [e for e in errors if "status of 401" not in e and "status of 403" not in e]
    finally:
        owner_context.close()
        their_context.close()
