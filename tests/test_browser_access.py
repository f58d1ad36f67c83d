"""Browser: from an access link sent by staff to a Spanish portal, through every step of seed item 8."""
import re

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from app import jobs
from tests.browser import staff_sign_in
from tests.factories import make_contact, make_document, make_person

pytestmark = pytest.mark.browser
LINK_RE = re.compile(r"http://portal\.test(/access/[\w-]+)")


def english_ui_strings():
    """Source strings whose Spanish translation differs: none may be left visible in Spanish."""
    with open("translations/es/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    return {m.id for m in catalog if m.id and isinstance(m.id, str) and m.string and m.string != m.id
            and "%(" not in m.id}


def test_access_link_to_password_to_spanish(app, page, chromium, live_server, staff_user, smtp_server):  # noqa: F811
    app.config["SMTP_PORT"] = smtp_server.port
    contact = make_contact(name="Talleres Ruiz S.L.")
    person = make_person(contact=contact, name="Ana García")
    make_document(contact, kind="invoice", status="open", number="F-2026-0042")
    make_document(contact, kind="quote", status="open", number="P-2026-0007")

    # Staff send the access link from the contact's page.
    staff_sign_in(page, staff_user)
    page.goto(f"/staff/contacts/{contact.id}")
    page.click(f"#send-link-{person.id}")
    expect(page.locator(".flash-success")).to_contain_text(person.email)
    with app.app_context():
        jobs.run_due()
    path = LINK_RE.search(smtp_server.messages[-1].text).group(1)

    # The person opens it in their own browser and confirms.
    context = chromium.new_context(base_url=live_server.url, locale="en-GB")
    me = context.new_page()
    me.goto(path)
    me.click("#continue")
    me.wait_for_url("**/account/password")
    expect(me.locator("#f-current_password")).to_have_count(0)
    me.fill("#f-new_password", "mi primera contraseña larga")
    me.fill("#f-confirm", "mi primera contraseña larga")
    me.click("#save-password")
    me.wait_for_url(live_server.url + "/")
    expect(me.locator("#greeting")).to_contain_text("Ana García")

    # Sign out, then in with the password.
    me.click("#profile-menu summary")
    me.click("#menu-logout")
    me.wait_for_url("**/login")
    me.fill("#f-email", person.email)
    me.fill("#f-password", "mi primera contraseña larga")
    me.click("#login-form button[type=submit]")
    me.wait_for_url(live_server.url + "/")

    # Change it from the profile menu.
    me.click("#profile-menu summary")
    me.click("#menu-password")
    me.fill("#f-current_password", "mi primera contraseña larga")
    me.fill("#f-new_password", "otra contraseña todavía más larga")
    me.fill("#f-confirm", "otra contraseña todavía más larga")
    me.click("#save-password")
    me.wait_for_url(live_server.url + "/")
    expect(me.locator(".flash-success")).to_be_visible()

    # Switch to Spanish: every visible string of the summary is Spanish.
    me.click("#profile-menu summary")
    me.click("#menu-language-es")   # one click: a POST form per language in the menu
    me.wait_for_url(live_server.url + "/")
    assert me.get_attribute("html", "lang") == "es"
    me.click("#profile-menu summary")   # open the menu so its strings are visible too
    visible = {line.strip() for line in me.locator("body").inner_text().splitlines() if line.strip()}
    leftovers = visible & english_ui_strings()
    assert not leftovers, leftovers
    assert "Facturas pendientes de pago" in visible or any("Factura" in v for v in visible)
    context.close()
