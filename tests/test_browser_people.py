"""Browser: the account page's signed-in devices and the team page (issue 21) on a phone
(390 px) and a desktop, for an owner with a team and a pending invitation; the join page an
invitation opens; the account page of a viewer (no team, no accountant links). On each page:
nothing wider than the screen, zero axe violations (WCAG 2.2 A/AA), no console error;
screenshots in instance/screenshots/."""
import pytest
from playwright.sync_api import expect

from app import people
from app.models import PortalSession
from tests.browser import portal_sign_in
from tests.factories import PASSWORD, make_contact, make_document, make_person, settings
from tests.test_browser_phone import check, open_context

pytestmark = pytest.mark.browser


def populate(app):
    settings(name="Taller Martínez S.L.", default_language="en", team_self_service=True)
    contact = make_contact(name="Talleres Ruiz Hermanos S.L.")
    owner = make_person(contact=contact, password=PASSWORD, name="Ana García Fernández", language="en")
    billing = make_person(contact=contact, password=PASSWORD, name="Bartolomé Contabilidad Pérez", role="billing",
                          email="bartolome.contabilidad.perez@talleres-ruiz-hermanos.example", language="en")
    make_document(contact, number="F-2026-0042")
    make_document(contact, kind="quote", number="P-2026-0007")
    viewer = make_person(contact=contact, password=PASSWORD, name="Vera Vista", role="viewer", language="en")
    PortalSession.create(person=owner, sid_hash="f" * 64, via="password", ip="203.0.113.77",
                         user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1")
    with app.test_request_context():
        token, _row = people.invite(contact, "nuevo.comprador.de.material@talleres-ruiz-hermanos.example",
                                    "buyer", by=owner)
    return {"owner": owner, "viewer": viewer, "billing": billing, "token": token}


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_account_and_team_pages_fit_and_pass_axe(app, chromium, live_server, size):
    with app.app_context():
        made = populate(app)
    context, page, errors = open_context(chromium, live_server, size, "en", "light")
    problems = []
    try:
        page.goto(f"/team/join/{made['token']}")
        assert page.locator("#join-form").is_visible()
        problems += check(page, "team-join", size, "en", errors)
        portal_sign_in(page, made["owner"])
        page.goto("/account/")
        assert page.locator("#devices li.device").count() == 2
        assert page.locator("#end-other-devices").is_visible()
        problems += check(page, "account-devices", size, "en", errors)
        page.goto("/account/team/")
        assert page.locator("#team li.team-member").count() == 3
        assert "nuevo.comprador.de.material" in page.locator("#team").inner_text()
        problems += check(page, "account-team", size, "en", errors)
        page.locator("#team .team-remove summary").last.click()   # the confirmation, opened
        expect(page.locator("#team .team-remove[open] button[type=submit]")).to_be_visible()
        problems += check(page, "account-team-remove", size, "en", errors)
        page.select_option("#invite-form select", "billing")
        page.click("#send-invite")   # empty email: the message, and still no overflow
        page.wait_for_selector("#e-email")
        errors[:] = [e for e in errors if "status of 422" not in e]
        problems += check(page, "account-team-error", size, "en", errors)
        context.clear_cookies()
        portal_sign_in(page, made["viewer"])
        page.goto("/account/")
        assert page.locator("#team-link, #accountant-form").count() == 0
        problems += check(page, "account-viewer", size, "en", errors)
        context.clear_cookies()
        portal_sign_in(page, made["billing"])   # the money side only: no quotes or orders
        assert page.locator("#stat-quotes, #quotes-to-approve, #recent-orders").count() == 0
        assert page.locator("#pending-invoices").is_visible()
        problems += check(page, "summary-billing", size, "en", errors)
    finally:
        context.close()
    assert not problems, "\n".join(problems)
