"""Payment reminders: mails that bring customers back to the invoices they have not paid.

The business sets a schedule in days from the due date (settings.reminder_steps, default
-3,0,7,21: three days before, on the day, a week and three weeks after) and switches it on;
staff may turn reminders off for one contact (Contact.no_reminders).

Once a day (`tick`, called by the job queue's minute sweep, queues the day's run after SEND_HOUR
in the business's timezone), `send_due(today)` looks at every open issued invoice with an amount
due. An invoice's step has come when its day (due date + step) is today or past and after the
issue date (the issue mail has just told them). Only the latest step that has come is sent, and
only if no later or equal step was sent before: steps missed while no worker ran (or a schedule
edited afterwards) are not sent one after another, the customer gets one mail saying where the
invoice is now. Reminders stop by themselves: a paid, credited or void invoice is not open.

Each contact with a step come gets one mail a day (to each of its active people, in their own
language), listing the invoices whose step came and every other overdue invoice of the contact,
with the amount due and the days overdue (or until due), and a link that opens the invoice with
its pay box: the page itself for someone with a password, a single-use access link for someone
without. Exactly once: each invoice's step is a Reminder row, UNIQUE (document, step), and the
day's mail a ReminderMail row, UNIQUE (contact, auto_day), written in the transaction that queues
the mails (outbox jobs) and the `invoice.reminder_sent` webhooks. Two workers racing: the
second's insert fails, its transaction rolls back, and nothing of it is sent.

Staff may send a reminder now (`send_now`): a `manual` row that uses up no step of the schedule.
"""
import datetime
import logging
import re
import zoneinfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from peewee import JOIN, IntegrityError

from . import jobs, serializers, tokens, webhooks
from .db import db
from .links import external_link
from .mail import recipient_language, send_template
from .people import PAYERS   # reminders go to owners and billing people
from .models import (INVOICE, Contact, Document, Person, Reminder, ReminderMail, Settings, StaffUser, utcnow)
from .rules import Refused

DEFAULT_STEPS = (-3, 0, 7, 21)
MIN_STEP, MAX_STEP = -60, 365      # two months before the due date to a year after
MAX_STEPS = 8
SEND_HOUR = 9                      # local time from which the day's reminders go
JOB_KIND = "reminders.send"
FIELD = "reminder_steps"
log = logging.getLogger(__name__)
_NUMBER = re.compile(r"[+-]?\d{1,4}")


# --- the schedule ---------------------------------------------------------------------------

def parse_steps(text):
    """The schedule typed by staff ("-3, 0, 7, 21") as sorted days; Refused saying what is wrong."""
    parts = [p.strip() for p in re.split(r"[,;\s]+", (text or "").strip()) if p.strip()]
    if not parts:
        raise Refused("no_steps", _l("Enter at least one day, like -3, 0, 7, 21."), field=FIELD)
    steps = []
    for part in parts:
        if not _NUMBER.fullmatch(part.replace("\u2212", "-")):
            raise Refused("not_a_day", _l("“%(value)s” is not a whole number of days.", value=part[:20]), field=FIELD)
        day = int(part.replace("\u2212", "-"))
        if not MIN_STEP <= day <= MAX_STEP:
            raise Refused("step_out_of_range", _l("Use days from %(low)d (before the due date) to %(high)d.",
                                                  low=MIN_STEP, high=MAX_STEP), field=FIELD)
        if day in steps:
            raise Refused("duplicate_step", _l("%(day)d is in the list twice: each day once.", day=day), field=FIELD)
        steps.append(day)
    if len(steps) > MAX_STEPS:
        raise Refused("too_many_steps", _l("At most %(n)d reminders per invoice.", n=MAX_STEPS), field=FIELD)
    return sorted(steps)


def format_steps(steps):
    return ", ".join(str(s) for s in steps)


def schedule(settings=None):
    """The business's steps; the default if what is stored cannot be read (it was validated)."""
    settings = settings or Settings.get_solo()
    try:
        return parse_steps(settings.reminder_steps)
    except Refused:
        return list(DEFAULT_STEPS)


def save_settings(enabled, steps_text):
    """Switch reminders on or off and set the schedule; Refused (nothing saved) if it is wrong."""
    steps = parse_steps(steps_text)
    Settings.save_values({"reminders_enabled": bool(enabled), "reminder_steps": ",".join(map(str, steps))})
    return steps


def set_contact_opt_out(contact, off):
    """Turn reminders off (or back on) for one contact."""
    Contact.update(no_reminders=bool(off)).where(Contact.id == contact.id).execute()
    contact.no_reminders = bool(off)


def describe_step(step):
    """A step for staff: "3 days before the due date", "on the due date", "7 days after"."""
    if step == 0:
        return _l("on the due date")
    if step < 0:
        return _ln("%(num)d day before the due date", "%(num)d days before the due date", -step)
    return _ln("%(num)d day after the due date", "%(num)d days after the due date", step)


# --- when ------------------------------------------------------------------------------------

def local_now(now=None):
    """The business's wall-clock time (TIMEZONE) for a naive UTC `now`."""
    now = now or utcnow()
    zone = zoneinfo.ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return now.replace(tzinfo=datetime.timezone.utc).astimezone(zone)


def tick(now=None):
    """Called by the minute sweep: from SEND_HOUR local time, queue the day's run once. The
    claim is one conditional UPDATE (settings.reminders_run_on moves to today): of several
    workers, one sees a row count of 1 and queues the job, in the same transaction."""
    local = local_now(now)
    settings = Settings.get_solo()
    today = local.date()
    if local.hour < SEND_HOUR or not settings.reminders_enabled or (
            settings.reminders_run_on is not None and settings.reminders_run_on >= today):
        return None   # the common case, every minute: one read of the business row, no write
    with db.atomic():
        won = (Settings.update(reminders_run_on=today)
               .where((Settings.id == 1) & (Settings.reminders_run_on.is_null() | (Settings.reminders_run_on < today)))
               .execute())
        Settings._forget()
        if won:
            return jobs.enqueue(JOB_KIND, {"day": today.isoformat()})
    return None


def run_job(job):
    """The job the daily claim queued: that day's reminders (a retry sends only what is missing)."""
    send_due(datetime.date.fromisoformat(job.data["day"]))


# --- what is due ---------------------------------------------------------------------------------

def _open_invoices():
    return ((Document.kind == INVOICE) & (Document.status == "open") & Document.due_date.is_null(False)
            & (Document.total > Document.amount_paid + Document.amount_credited))


def step_come(doc, today, steps, sent_max=None):
    """The step of `doc` to send today, or None: the latest one whose day has come (after the
    issue date), unless that step or a later one was already sent."""
    days = (today - doc.due_date).days
    if today <= doc.issue_date:
        return None
    come = [s for s in steps if s <= days and doc.due_date + datetime.timedelta(days=s) > doc.issue_date]
    if not come:
        return None
    latest = max(come)
    if sent_max is not None and sent_max >= latest:
        return None
    return latest


def _sent_max(doc_ids):
    """{document id: the latest scheduled step already sent}."""
    from peewee import fn
    if not doc_ids:
        return {}
    return dict(Reminder.select(Reminder.document, fn.MAX(Reminder.step))
                .where(Reminder.document.in_(list(doc_ids)) & (Reminder.cause == "step"))
                .group_by(Reminder.document).tuples())


def _receiving(contact_ids):
    """The contacts among these that may receive reminders."""
    return (Contact.select(Contact.id).where(Contact.id.in_(list(contact_ids)) & (Contact.portal_enabled == True)  # noqa: E712
                                             & (Contact.archived == False) & (Contact.no_reminders == False)))  # noqa: E712


def due_contacts(today, steps):
    """The ids of the contacts with at least one invoice whose step comes today."""
    earliest = min(steps)
    rows = list(Document.select(Document.id, Document.contact, Document.due_date, Document.issue_date)
                .where(_open_invoices() & (Document.due_date <= today - datetime.timedelta(days=earliest)))
                .order_by(Document.contact, Document.id))
    sent = _sent_max([r.id for r in rows])
    wanted = {r.contact_id for r in rows if step_come(r, today, steps, sent.get(r.id)) is not None}
    if not wanted:
        return []
    already = {m.contact_id for m in ReminderMail.select(ReminderMail.contact)
               .where(ReminderMail.contact.in_(list(wanted)) & (ReminderMail.day == today))}
    return sorted(c.id for c in _receiving(wanted - already))


def _contact_invoices(contact_id, lock=False):
    """The contact's open invoices with an amount due, oldest due first (locked on PostgreSQL
    when asked: a payment landing meanwhile waits, and is seen)."""
    if lock:
        ids = [d.id for d in Document.select(Document.id).where(_open_invoices() & (Document.contact == contact_id))]
        Document.lock_rows(ids)
    return list(Document.select().where(_open_invoices() & (Document.contact == contact_id))
                .order_by(Document.due_date, Document.issue_date, Document.id))


# --- sending -----------------------------------------------------------------------------------

def send_due(today=None, now=None):
    """Send today's scheduled reminders; returns the ReminderMails written. Safe to run at the
    same time in several workers, and again on the same day: what was sent is not sent again."""
    settings = Settings.get_solo()
    if not settings.reminders_enabled:
        return []
    now = now or utcnow()
    today = today or local_now(now).date()
    steps = schedule(settings)
    sent, failed = [], []
    for contact_id in due_contacts(today, steps):
        try:
            mail = _send_scheduled(contact_id, today, now, steps, settings)
        except IntegrityError:
            continue   # another worker sent this contact's reminder (or this step) first
        except Exception:
            # One contact's trouble (a person's address the mailer refuses) must not keep the
            # others from their reminders; the job fails at the end and retries the rest.
            log.exception("payment reminder for contact %s failed", contact_id)
            failed.append(contact_id)
            continue
        if mail is not None:
            sent.append(mail)
    if failed:
        raise RuntimeError(f"payment reminders failed for contacts {failed[:20]}; the others were sent")
    return sent


def _send_scheduled(contact_id, today, now, steps, settings):
    with db.atomic():
        contact = Contact.get_by_id(contact_id)
        invoices = _contact_invoices(contact_id, lock=True)
        already = _sent_max([d.id for d in invoices])
        items = []
        for doc in invoices:
            step = step_come(doc, today, steps, already.get(doc.id))
            if step is not None:
                items.append((doc, "step", step))
            elif doc.due_date < today:
                items.append((doc, "listed", None))
        if not any(cause == "step" for _doc, cause, _step in items):
            return None
        return _write(contact, items, today, now, settings, auto=True)


def send_now(doc, by, today=None, now=None):
    """Staff send a reminder for this invoice now (with the contact's other overdue invoices);
    it uses up no step of the schedule. Refused when there is nothing to remind or nobody to tell."""
    if doc.kind != INVOICE:
        raise Refused("not_an_invoice", _l("Reminders are sent for invoices only."))
    if doc.status == "draft":
        raise Refused("draft", _l("This invoice is a draft: issue it before reminding anyone of it."))
    if doc.status == "void":
        raise Refused("void", _l("This invoice is void: there is nothing to pay."))
    if doc.status != "open" or doc.amount_due <= 0:
        raise Refused("nothing_due", _l("This invoice has nothing left to pay: no reminder is needed."))
    contact = doc.contact
    if not contact.portal_enabled or contact.archived:
        raise Refused("no_portal", _l("Turn on portal access for %(name)s first: the reminder opens the "
                                      "invoice in the portal.", name=contact.name))
    if not Person.active_of(contact, roles=PAYERS).exists():
        raise Refused("nobody", _l("Nobody signs in for %(name)s: add a person to send reminders to.",
                                   name=contact.name))
    now = now or utcnow()
    today = today or local_now(now).date()
    with db.atomic():
        invoices = _contact_invoices(contact.id, lock=True)
        if doc.id not in {d.id for d in invoices}:
            raise Refused("nothing_due", _l("This invoice has nothing left to pay: no reminder is needed."))
        items = [(d, "manual", None) for d in invoices if d.id == doc.id]
        items += [(d, "listed", None) for d in invoices if d.id != doc.id and d.due_date < today]
        return _write(contact, items, today, now, Settings.get_solo(), auto=False, staff=by.staff)


def _write(contact, items, today, now, settings, auto, staff=None):
    """The reminder's rows, its mails and its webhooks, in the caller's transaction."""
    people = list(Person.active_of(contact, roles=PAYERS).order_by(Person.id))
    if not people:
        return None
    mail = ReminderMail.create(contact=contact, day=today, auto_day=today if auto else None, staff=staff,
                               recipients=",".join(p.email for p in people), created_at=now)
    rows = []
    for doc, cause, step in items:
        rows.append(Reminder.create(document=doc, mail=mail, cause=cause, step=step,
                                    days_overdue=(today - doc.due_date).days, amount_due=doc.amount_due,
                                    currency=doc.currency))
    for person in people:
        _mail_person(person, contact, [d for d, _c, _s in items], today, settings)
    for row, (doc, _cause, _step) in zip(rows, items):
        webhooks.emit("invoice.reminder_sent", {"document": serializers.document_summary(doc),
                                                "reminder": reminder_data(row, mail)})
    return mail


def _mail_person(person, contact, docs, today, settings):
    """One person's mail, in their language. The values are those of today (the amounts and
    days the mail states); the link opens the first invoice with its pay box."""
    first = docs[0]
    path = f"/documents/{first.id}#pay"
    expires_at = None
    if person.password_hash:
        link = external_link("documents.show", doc_id=first.id) + "#pay"
    else:
        token, row = tokens.issue(person, "access", hours=settings.access_link_hours)
        link, expires_at = external_link("auth.access", token=token, next=path), row.expires_at
    invoices = [{"number": d.number, "amount_due": d.amount_due, "currency": d.currency, "due_date": d.due_date,
                 "days": (today - d.due_date).days,
                 # Each invoice its own link when there are several (the main link opens the first).
                 "link": external_link("documents.show", doc_id=d.id) + "#pay"
                 if person.password_hash and len(docs) > 1 else None}
                for d in docs]
    send_template(person.email, "payment_reminder", recipient_language(person, contact), person=person,
                  business=settings, invoices=invoices, link=link, link_expires_at=expires_at)


def reminder_data(row, mail):
    """A reminder as webhooks carry it."""
    return {"id": row.id, "document_id": row.document_id, "contact_id": mail.contact_id,
            "cause": row.cause, "step": row.step, "days_overdue": row.days_overdue,
            "amount_due": row.amount_due, "currency": row.currency, "day": mail.day.isoformat(),
            "manual": mail.manual, "recipients": mail.recipient_list,
            "sent_at": serializers.when(mail.created_at)}


# --- what staff read -----------------------------------------------------------------------------

def of_document(doc):
    """The reminders that named this invoice, newest first, with their mail."""
    return list(Reminder.select(Reminder, ReminderMail, StaffUser).join(ReminderMail)
                .join(StaffUser, JOIN.LEFT_OUTER).where(Reminder.document == doc)
                .order_by(ReminderMail.created_at.desc(), Reminder.id.desc()))


def of_contact(contact, limit=20):
    """The contact's latest reminder mails, newest first, each with its invoices (`listed`)."""
    mails = list(ReminderMail.select(ReminderMail, StaffUser).join(StaffUser, JOIN.LEFT_OUTER)
                 .where(ReminderMail.contact == contact)
                 .order_by(ReminderMail.created_at.desc(), ReminderMail.id.desc()).limit(limit))
    by_mail = {}
    if mails:
        for row in (Reminder.select(Reminder, Document.id, Document.number).join(Document)
                    .where(Reminder.mail.in_([m.id for m in mails])).order_by(Reminder.id)):
            by_mail.setdefault(row.mail_id, []).append(row)
    for mail in mails:
        mail.listed = by_mail.get(mail.id, [])
    return mails
