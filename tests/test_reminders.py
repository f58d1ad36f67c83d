"""Payment reminders (issue 19): the clock moved day by day over a schedule sends each step once,
on its day, in each person's language, listing every overdue invoice of the contact; nothing after
the invoice is paid, credited or voided, for an opted-out contact, or with reminders off; two
workers at once send each step once; the access link opens the invoice; staff settings, "send
now", the lists on the staff pages and the invoice.reminder_sent webhook."""
import datetime
import json
import re
import threading
from urllib.parse import unquote, urlsplit

import pytest
from peewee import IntegrityError

from app import credit_notes, documents, jobs, reminders, webhooks
from app.db import db
from app.models import Contact, Document, Job, Reminder, ReminderMail, Settings, WebhookEndpoint
from app.rules import SYSTEM, By, Refused
from tests.conftest import Browser, soup
from tests.factories import PASSWORD, make_contact, make_document, make_person, make_staff, settings
from tests.test_api_webhooks import assert_described
from tests.webhook_receiver import assert_signed

D = datetime.date
LINES = [("Consulting", 1000, 10000, 0, [])]   # 100.00, no tax: amounts easy to read


@pytest.fixture
def reminding(app):
    return settings(reminders_enabled=True, reminder_steps="-3,0,7,21", invoice_prefix="F", default_language="en")


@pytest.fixture
def customer(reminding):
    contact = make_contact(name="Talleres Ruiz")
    ana = make_person(contact, email="ana@ruiz.example", name="Ana", password=PASSWORD, language="en")
    luis = make_person(contact, email="luis@ruiz.example", name="Luis", language="es")   # no password
    return contact, ana, luis


def invoice(contact, number, issued, due, lines=LINES):
    return make_document(contact, number=number, issue_date=issued, due_date=due, lines=lines)


def run(app, day, now=None):
    with app.app_context():
        return reminders.send_due(day, now=now)


def pay(app, doc, amount, day):
    with app.app_context():
        documents.record_manual_payment(Document.get_by_id(doc.id), amount, day, "", SYSTEM)


def numbers_in(message):
    return sorted(set(re.findall(r"\bF-\d+\b", message.text)))


def test_a_schedule_sends_each_step_once_on_its_day_listing_every_overdue_invoice(app, outbox, customer):
    contact, ana, luis = customer
    a = invoice(contact, "F-1", D(2026, 3, 1), D(2026, 3, 31))
    b = invoice(contact, "F-2", D(2026, 2, 1), D(2026, 3, 10))
    seen = {}
    day, count = D(2026, 3, 1), len(outbox())
    while day <= D(2026, 5, 1):
        if day == D(2026, 4, 1):   # a part of A paid: still reminded of the rest
            pay(app, a, 4000, day)
        if day == D(2026, 4, 2):   # B paid in full: no longer listed
            pay(app, b, 10000, day)
        if day == D(2026, 4, 10):  # A paid: its 21-day step never goes
            pay(app, a, 6000, day)
        run(app, day)
        run(app, day)               # the same day again (a retry, a second sweep): nothing more
        got = outbox()[count:]
        count += len(got)
        if got:
            seen[day] = got
        day += datetime.timedelta(days=1)

    expected = {D(2026, 3, 7): ["F-2"], D(2026, 3, 10): ["F-2"], D(2026, 3, 17): ["F-2"],
                D(2026, 3, 28): ["F-1", "F-2"], D(2026, 3, 31): ["F-1", "F-2"], D(2026, 4, 7): ["F-1"]}
    assert {d: [sorted(m.rcpt_tos) for m in got] for d, got in seen.items()} == {
        d: [["ana@ruiz.example"], ["luis@ruiz.example"]] for d in expected}
    for d, got in seen.items():
        for message in got:
            assert numbers_in(message) == expected[d], (d, message.text)

    # In each person's language, with the amount due and the days overdue or until due.
    en, es = sorted(seen[D(2026, 3, 28)], key=lambda m: m.rcpt_tos)
    assert en.message["Subject"] == "Payment reminder: 2 invoices from My business"
    assert "Invoice F-1: €100.00 due in 3 days (on 31 March 2026)" in en.text
    assert "Invoice F-2: €100.00 due, 18 days overdue (due on 10 March 2026)" in en.text
    assert 'lang="es"' in es.html and "Hola" in es.text
    one = sorted(seen[D(2026, 3, 10)], key=lambda m: m.rcpt_tos)[0]
    assert one.message["Subject"] == "Payment reminder: invoice F-2 from My business"
    assert "Invoice F-2: €100.00 due today" in one.text
    after_part = sorted(seen[D(2026, 4, 7)], key=lambda m: m.rcpt_tos)[0]
    assert "Invoice F-1: €60.00 due, 7 days overdue" in after_part.text
    # Someone with a password gets the invoice's own page; someone without, an access link.
    assert f"http://portal.test/documents/{a.id}#pay" in en.text
    assert "http://portal.test/access/" in es.text and "/documents/" not in es.text.split("/access/")[0]

    # The rows: one per step sent, with the others listed; one scheduled mail a day.
    steps = sorted((r.document_id, r.step) for r in Reminder.select().where(Reminder.cause == "step"))
    assert steps == sorted([(b.id, -3), (b.id, 0), (b.id, 7), (b.id, 21), (a.id, -3), (a.id, 0), (a.id, 7)])
    assert ReminderMail.select().count() == 6


def test_missed_steps_send_only_the_latest_once(app, outbox, customer):
    contact, _ana, _luis = customer
    invoice(contact, "F-1", D(2026, 1, 1), D(2026, 1, 31))
    count = len(outbox())
    run(app, D(2026, 2, 25))   # no worker ran since before the due date: 25 days overdue
    got = outbox()[count:]
    by_person = {m.rcpt_tos[0]: m.text for m in got}   # each in the person's language
    assert len(got) == 2 and "25 days overdue" in by_person["ana@ruiz.example"]
    assert "25 días de retraso" in by_person["luis@ruiz.example"]
    assert [(r.cause, r.step) for r in Reminder.select()] == [("step", 21)]
    for day in range(26, 29):
        run(app, D(2026, 2, day))
    assert len(outbox()) == count + 2   # the earlier steps are never sent afterwards


def test_nothing_for_credited_void_paid_drafts_opted_out_or_with_reminders_off(app, outbox, customer):
    contact, _ana, _luis = customer
    day = D(2026, 3, 20)
    credited = invoice(contact, "F-1", D(2026, 3, 1), D(2026, 3, 13))
    with app.app_context():
        credit_notes.issue(credited, credit_notes.everything(credited), "Returned", SYSTEM)
    voided = invoice(contact, "F-2", D(2026, 3, 1), D(2026, 3, 13))
    with app.app_context():
        documents.void(voided, SYSTEM)
    make_document(contact, status="draft", issue_date=D(2026, 3, 1), due_date=D(2026, 3, 13), lines=LINES)
    paid = invoice(contact, "F-3", D(2026, 3, 1), D(2026, 3, 13))
    pay(app, paid, paid.total, D(2026, 3, 2))
    assert Document.get_by_id(credited.id).status == "credited"
    count = len(outbox())
    assert run(app, day) == [] and len(outbox()) == count

    other = make_contact(name="Opted out", no_reminders=True)
    make_person(other, email="x@out.example")
    invoice(other, "F-4", D(2026, 3, 1), D(2026, 3, 13))
    assert run(app, day) == []
    settings(reminders_enabled=False)
    Contact.update(no_reminders=False).where(Contact.id == other.id).execute()
    assert run(app, day) == []
    with app.app_context():
        assert reminders.tick(datetime.datetime(2026, 3, 20, 12)) is None   # off: not even queued
    assert len(outbox()) == count and not Reminder.select().exists()
    settings(reminders_enabled=True)
    assert len(run(app, day)) == 1   # switched on again: the step that came goes


def _race(app, day, workers=2):
    barrier, results, errors = threading.Barrier(workers), [], []

    def work():
        try:
            with app.app_context():
                db.connect(reuse_if_open=True)
                try:
                    barrier.wait(10)
                    results.append(len(reminders.send_due(day)))
                finally:
                    db.close()
        except Exception as exc:   # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


def test_two_workers_at_once_send_each_step_once(app, outbox, customer):
    contact, _ana, _luis = customer
    others = [make_contact(name=f"C{n}") for n in range(15)]
    for n, other in enumerate(others):
        make_person(other, email=f"p{n}@c.example", password=PASSWORD)
        invoice(other, f"F-{10 + n}", D(2026, 3, 1), D(2026, 3, 10))
    invoice(contact, "F-1", D(2026, 3, 1), D(2026, 3, 10))
    count = len(outbox())
    for day in (D(2026, 3, 7), D(2026, 3, 10), D(2026, 3, 11), D(2026, 3, 17)):
        # Both see the same contacts in the same order: the one behind waits on each contact's
        # transaction, then finds its step sent (the UNIQUE rows stop one that would not wait:
        # test_a_worker_late_to_a_step_queues_no_mail).
        assert sum(_race(app, day)) in (0, 16)
    got = outbox()[count:]
    # Three steps for sixteen contacts: 3 x (15 people alone + Ruiz's two) mails.
    assert len(got) == 3 * 17
    rows = [(r.document_id, r.step) for r in Reminder.select()]
    assert len(rows) == len(set(rows)) == 3 * 16
    assert ReminderMail.select().count() == 3 * 16


def test_the_database_refuses_a_step_twice(app, customer):
    contact, _ana, _luis = customer
    doc = invoice(contact, "F-1", D(2026, 3, 1), D(2026, 3, 10))
    mail = ReminderMail.create(contact=contact, day=D(2026, 3, 10), auto_day=D(2026, 3, 10))
    Reminder.create(document=doc, mail=mail, cause="step", step=0, days_overdue=0, amount_due=1, currency="EUR")
    with pytest.raises(IntegrityError), db.atomic():
        Reminder.create(document=doc, mail=mail, cause="step", step=0, days_overdue=0, amount_due=1, currency="EUR")
    with pytest.raises(IntegrityError), db.atomic():
        ReminderMail.create(contact=contact, day=D(2026, 3, 10), auto_day=D(2026, 3, 10))


def test_the_access_link_in_the_mail_opens_the_invoice(app, outbox, customer):
    contact, _ana, luis = customer
    doc = invoice(contact, "F-1", D(2026, 3, 1), D(2026, 3, 10))
    count = len(outbox())
    run(app, D(2026, 3, 17))
    [mail] = [m for m in outbox()[count:] if m.rcpt_tos == ["luis@ruiz.example"]]
    url = re.search(r"http://portal\.test(/access/\S+)", mail.text).group(1)
    browser = Browser(app.test_client())
    page = browser.get(url)
    assert page.status_code == 200
    form_action = soup(page).find("form")["action"]
    resp = browser.post(form_action)
    assert resp.status_code == 303 and unquote(resp.headers["Location"]).endswith(f"/documents/{doc.id}#pay")
    shown = browser.get(urlsplit(resp.headers["Location"]).path)
    assert shown.status_code == 200 and "F-1" in shown.get_data(as_text=True)


def test_the_daily_claim_queues_one_run_after_nine_local_time(app, outbox, customer):
    contact, _ana, _luis = customer
    invoice(contact, "F-1", D(2026, 3, 1), D(2026, 3, 10))
    with app.app_context():
        # Madrid is UTC+1 in March: 07:59 UTC is 08:59 there, too early; 08:00 UTC is 09:00.
        assert reminders.tick(datetime.datetime(2026, 3, 17, 7, 59)) is None
        job = reminders.tick(datetime.datetime(2026, 3, 17, 8, 0))
        assert job is not None and job.data["day"] == "2026-03-17"
        assert reminders.tick(datetime.datetime(2026, 3, 17, 8, 1)) is None   # claimed already
        assert Settings.get_solo().reminders_run_on == D(2026, 3, 17)
    count = len(outbox())
    arrived = outbox()[count:]
    assert len(arrived) == 2 and Job.get_by_id(job.id).status == "done"
    # The sweep calls the claim: the next day's run is queued by it.
    with app.app_context():
        jobs.run_sweep_hooks(datetime.datetime(2026, 3, 18, 9, 0))
    assert Job.select().where(Job.kind == reminders.JOB_KIND).count() == 2


# --- settings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, message", [
    ("", "Enter at least one day"),
    ("3, x", "“x” is not a whole number of days."),
    ("1.5", "is not a whole number of days"),
    ("-61", "Use days from -60"),
    ("400", "Use days from -60"),
    ("7, 0, 7", "7 is in the list twice"),
    ("1,2,3,4,5,6,7,8,9", "At most 8 reminders"),
])
def test_bad_schedules_are_refused_with_a_clear_message(staff, reminding, typed, message):
    resp = staff.post("/staff/reminders/settings", {"reminders_enabled": "1", "reminder_steps": typed})
    assert resp.status_code == 422
    assert message in soup(resp).find(id="e-reminder_steps").get_text()
    assert soup(resp).find(id="f-reminder_steps")["value"] == typed
    assert Settings.get_solo().reminder_steps == "-3,0,7,21"


def test_a_schedule_is_saved_sorted_and_shown(staff, app):
    page = staff.get("/staff/settings/")
    assert soup(page).find(id="f-reminder_steps")["value"] == "-3, 0, 7, 21"
    assert not soup(page).find("input", attrs={"name": "reminders_enabled"}).has_attr("checked")
    resp = staff.post("/staff/reminders/settings", {"reminders_enabled": "1", "reminder_steps": "30 , 0,-5; 14"})
    assert resp.status_code == 303
    row = Settings.get_solo()
    assert (row.reminders_enabled, row.reminder_steps) == (True, "-5,0,14,30")
    page = staff.get("/staff/settings/")
    assert soup(page).find(id="f-reminder_steps")["value"] == "-5, 0, 14, 30"
    assert soup(page).find("input", attrs={"name": "reminders_enabled"}).has_attr("checked")
    with app.app_context():
        with pytest.raises(Refused):
            reminders.save_settings(True, "0,0")


# --- staff: send now, the lists, the contact's switch -------------------------------------------

def test_staff_send_a_reminder_now_without_using_a_step(app, staff, outbox, customer):
    contact, _ana, _luis = customer
    doc = invoice(contact, "F-1", D(2026, 3, 1), D(2099, 3, 10))   # not due yet
    old = invoice(contact, "F-2", D(2026, 1, 1), D(2026, 2, 1))      # overdue
    count = len(outbox())
    page = staff.get(f"/staff/documents/{doc.id}")
    assert soup(page).find(id="no-reminders") and soup(page).find(id="send-reminder")
    resp = staff.post(f"/staff/reminders/documents/{doc.id}")
    assert resp.status_code == 303
    got = outbox()[count:]
    assert sorted(m.rcpt_tos[0] for m in got) == ["ana@ruiz.example", "luis@ruiz.example"]
    assert all(numbers_in(m) == ["F-1", "F-2"] for m in got)
    assert [(r.document_id, r.cause, r.step) for r in Reminder.select().order_by(Reminder.id)] == [
        (doc.id, "manual", None), (old.id, "listed", None)]

    page = staff.get(f"/staff/documents/{doc.id}")
    [row] = soup(page).select("#reminders .reminder-entry")
    assert "Sent now by Staff Member" in row.get_text() and "to ana@ruiz.example, luis@ruiz.example" in row.get_text()
    page = staff.get(f"/staff/contacts/{contact.id}")
    [row] = soup(page).select("#contact-reminders .reminder-entry")
    assert "F-1" in row.get_text() and "F-2" in row.get_text() and "Sent now by" in row.get_text()

    # The scheduled step of F-2 still goes (the manual one used none), on a later day.
    with app.app_context():
        [mail] = reminders.send_due(D(2026, 2, 22))
    assert [(r.cause, r.step) for r in mail.items] == [("step", 21)]
    page = staff.get(f"/staff/documents/{old.id}")
    assert "Scheduled: 21 days after the due date" in soup(page).find(id="reminders").get_text()


@pytest.mark.parametrize("state, message", [
    ("draft", "This invoice is a draft"), ("void", "This invoice is void"), ("paid", "nothing left to pay")])
def test_send_now_is_refused_for_a_draft_void_or_paid_invoice(app, staff, outbox, customer, state, message):
    contact, _ana, _luis = customer
    doc = make_document(contact, status="draft" if state == "draft" else "open", issue_date=D(2026, 3, 1),
                        due_date=D(2026, 3, 10), lines=LINES)
    if state == "void":
        with app.app_context():
            documents.void(doc, SYSTEM)
    if state == "paid":
        pay(app, doc, doc.total, D(2026, 3, 2))
    page = staff.get(f"/staff/documents/{doc.id}")
    assert soup(page).find(id="send-reminder") is None
    count = len(outbox())
    resp = staff.post(f"/staff/reminders/documents/{doc.id}", follow_redirects=True)
    assert message in soup(resp).find(class_="flash-error").get_text()
    assert len(outbox()) == count and not Reminder.select().exists()


def test_send_now_needs_the_csrf_token_and_a_money_role(app, client, staff, customer):
    contact, _ana, _luis = customer
    doc = invoice(contact, "F-1", D(2026, 3, 1), D(2026, 3, 10))
    assert staff.post(f"/staff/reminders/documents/{doc.id}", token=False).status_code == 400
    from app.models import StaffUser
    StaffUser.update(role="sales").execute()
    assert staff.post(f"/staff/reminders/documents/{doc.id}").status_code == 403
    assert not Reminder.select().exists()


def test_staff_turn_reminders_off_for_a_contact(app, staff, outbox, customer):
    contact, _ana, _luis = customer
    invoice(contact, "F-1", D(2026, 3, 1), D(2026, 3, 10))
    page = staff.get(f"/staff/contacts/{contact.id}")
    assert soup(page).find(id="reminders-toggle").get_text(strip=True) == "No reminders"
    assert staff.post(f"/staff/reminders/contacts/{contact.id}/off").status_code == 303
    assert Contact.get_by_id(contact.id).no_reminders
    assert run(app, D(2026, 3, 17)) == []
    page = staff.get(f"/staff/contacts/{contact.id}")
    assert "Off for this contact" in soup(page).find(id="reminders-state").get_text()
    assert staff.post(f"/staff/reminders/contacts/{contact.id}/on").status_code == 303
    assert len(run(app, D(2026, 3, 17))) == 1
    assert staff.post("/staff/reminders/contacts/999999/off").status_code == 404


# --- the webhook --------------------------------------------------------------------------------

def test_the_reminder_sent_webhook_is_delivered_signed_once_per_invoice(app, client, outbox, receiver, customer):
    from app.api.auth import create_token
    from tests.conftest import Api
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    endpoint = WebhookEndpoint.create(url=receiver.url, secret=webhooks.new_secret(), events="invoice.reminder_sent")
    contact, _ana, _luis = customer
    a = invoice(contact, "F-1", D(2026, 3, 1), D(2026, 3, 31))
    b = invoice(contact, "F-2", D(2026, 2, 1), D(2026, 3, 10))
    run(app, D(2026, 3, 28))
    outbox()   # runs the due jobs: mails and deliveries
    events = [json.loads(r["body"]) for r in receiver.requests]
    assert sorted((e["data"]["document"]["number"], e["data"]["reminder"]["cause"], e["data"]["reminder"]["step"])
                  for e in events) == [("F-1", "step", -3), ("F-2", "step", 7)]   # F-2's first run: its latest step
    for request, event in zip(receiver.requests, events):
        assert event["type"] == "invoice.reminder_sent"
        assert_signed(request, endpoint.secret)
        assert_described(Api(client, create_token("ERP")[0]), event)
    by_doc = {e["data"]["document"]["id"]: e["data"]["reminder"] for e in events}
    assert by_doc[a.id]["days_overdue"] == -3 and by_doc[b.id]["days_overdue"] == 18
    assert by_doc[a.id]["recipients"] == ["ana@ruiz.example", "luis@ruiz.example"]
    assert by_doc[a.id]["amount_due"] == 10000 and by_doc[a.id]["day"] == "2026-03-28"


def test_one_contact_in_trouble_does_not_hold_back_the_others(app, outbox, customer):
    contact, _ana, _luis = customer
    broken = make_contact(name="Broken")
    bad = make_person(broken, email="not an address")   # written around the forms' checks
    invoice(broken, "F-9", D(2026, 3, 1), D(2026, 3, 10))
    invoice(contact, "F-1", D(2026, 3, 1), D(2026, 3, 10))
    count = len(outbox())
    with pytest.raises(RuntimeError, match="contacts"):
        run(app, D(2026, 3, 17))
    assert len(outbox()) == count + 2                      # Ruiz's two people got theirs
    assert not ReminderMail.select().where(ReminderMail.contact == broken.id).exists()   # all rolled back
    bad.email = "bad@broken.example"
    bad.save()
    assert len(run(app, D(2026, 3, 17))) == 1              # the retry sends only what is missing
    assert len(outbox()) == count + 3


def test_a_worker_late_to_a_step_queues_no_mail(app, customer):
    """What the UNIQUE rows buy: a worker that planned a step another worker has just sent fails
    on the insert, and its mails and webhooks, queued in the same transaction, go with it."""
    contact, _ana, _luis = customer
    doc = invoice(contact, "F-1", D(2026, 3, 1), D(2026, 3, 10))
    with app.app_context():
        with db.atomic():
            reminders._write(contact, [(doc, "step", 0)], D(2026, 3, 10), datetime.datetime(2026, 3, 10, 9),
                             Settings.get_solo(), auto=True)
        jobs_before = Job.select().count()
        with pytest.raises(IntegrityError), db.atomic():   # the same step, a day later (no day clash)
            reminders._write(contact, [(doc, "step", 0)], D(2026, 3, 11), datetime.datetime(2026, 3, 11, 9),
                             Settings.get_solo(), auto=True)
        assert Job.select().count() == jobs_before
    assert ReminderMail.select().count() == 1



def test_the_staff_lists_read_a_fixed_number_of_queries(app, staff, customer, caplog):
    """Each reminder shows who sent it: read with the reminders, not once per row."""
    from tests.test_query_budget import queries
    contact, _ana, _luis = customer
    doc = invoice(contact, "F-1", D(2026, 1, 1), D(2026, 1, 10))
    paths = (f"/staff/documents/{doc.id}", f"/staff/contacts/{contact.id}")

    def send(day):
        with app.app_context():
            reminders.send_now(Document.get_by_id(doc.id), By(staff=make_staff()), today=D(2026, 2, day))
    send(1)
    first = {path: len(queries(staff, caplog, path)) for path in paths}
    for day in range(2, 6):
        send(day)
    assert {path: len(queries(staff, caplog, path)) for path in paths} == first
