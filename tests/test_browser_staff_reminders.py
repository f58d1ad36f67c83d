"""Browser: staff set the payment reminders' schedule (a wrong one is refused beside the field),
turn reminders off and on for a contact, send a reminder now from an invoice and find it listed on
the invoice and the contact; the three pages fit a phone (390 px) and a desktop with no axe
violation (screenshots in instance/screenshots)."""
import datetime

import pytest
from playwright.sync_api import expect

from app import reminders
from app.models import Contact, Reminder, Settings
from tests.browser import staff_sign_in
from tests.factories import PASSWORD, make_contact, make_document, make_person, settings
from tests.test_browser_phone import check, open_context

pytestmark = pytest.mark.browser
D = datetime.date


@pytest.fixture
def made(app):
    settings(reminders_enabled=True, invoice_prefix="F")
    contact = make_contact(name="Talleres Ruiz Hermanos S.L.")
    make_person(contact, email="ana.garcia.fernandez@talleres-ruiz-hermanos.example", name="Ana García Fernández",
                password=PASSWORD)
    make_person(contact, email="administracion.contabilidad@talleres-ruiz-hermanos.example", name="Luis")
    today = datetime.date.today()
    old = make_document(contact, number="F-2026-0001", issue_date=today - datetime.timedelta(days=60),
                        due_date=today - datetime.timedelta(days=30))
    new = make_document(contact, number="F-2026-0002", issue_date=today - datetime.timedelta(days=10),
                        due_date=today + datetime.timedelta(days=20))
    with app.app_context():
        reminders.send_due(today)   # F-2026-0001's latest step: 21 days after
    return {"contact": contact, "old": old, "new": new}


def test_staff_manage_reminders_and_the_pages_fit(app, chromium, live_server, staff_user, made):
    problems = []
    for size in ("phone", "desktop"):
        context, page, errors = open_context(chromium, live_server, size, "en", "light")
        try:
            staff_sign_in(page, staff_user)
            page.goto("/staff/settings/#reminders")
            if size == "phone":
                page.fill("#f-reminder_steps", "0, 7, 7")
                page.click("#save-reminders")
                expect(page.locator("#e-reminder_steps")).to_contain_text("7 is in the list twice")
                errors.clear()   # Chromium logs the 422 of the refused form: expected
                page.fill("#f-reminder_steps", "-3, 0, 7, 21, 45")
                page.click("#save-reminders")
                expect(page.locator(".flash-success")).to_contain_text("Reminder settings saved")
                assert Settings.get_solo().reminder_steps == "-3,0,7,21,45"
            # From the top: scrolled to #reminders, the sticky bar covers a control of another
            # section, which axe counts against that control's target size.
            page.goto("/staff/settings/")
            problems += check(page, "staff-settings-reminders", size, "en", errors)

            contact = made["contact"]
            page.goto(f"/staff/contacts/{contact.id}")
            if size == "phone":
                page.click("#reminders-toggle")
                expect(page.locator("#reminders-state")).to_contain_text("Off for this contact")
                assert Contact.get_by_id(contact.id).no_reminders
                page.click("#reminders-toggle")
                expect(page.locator("#reminders-state")).to_contain_text("Sent on the business's schedule")
            problems += check(page, "staff-contact-reminders", size, "en", errors)

            page.goto(f"/staff/documents/{made['new'].id}")
            if size == "phone":
                page.click("#send-reminder")
                expect(page.locator(".flash-success")).to_contain_text("Reminder sent to")
                expect(page.locator("#reminders .reminder-entry")).to_have_count(1)
                expect(page.locator("#reminders")).to_contain_text("Sent now by")
            problems += check(page, "staff-invoice-reminders", size, "en", errors)
            page.goto(f"/staff/documents/{made['old'].id}")
            expect(page.locator("#reminders")).to_contain_text("Scheduled: 21 days after the due date")
            problems += check(page, "staff-invoice-reminders-old", size, "en", errors)
        finally:
            context.close()
    assert Reminder.select().where(Reminder.cause == "manual").count() == 1
    assert not problems, "\n".join(problems)
