"""The statement of account of one contact: for a period, per currency, the opening balance,
every invoice, credit note, payment and refund in date order with a running balance, the
closing balance, and an aging table of what invoices still asked for at the period's end.

What counts, and on which day:
- An issued invoice raises what the customer owes, on its issue date. Drafts never appear.
- A **voided** invoice is listed on its issue date, marked void, with its amount shown but
  counted as zero: it never asked for money (an invoice can be voided only while nothing was
  paid or credited on it), and listing it keeps the numbering without gaps for the reader.
- An issued credit note lowers it, on its issue date.
- A payment lowers it on the day it was paid, by the whole amount received (also a part that
  no invoice needed any more: that is a balance in the customer's favour, shown as a negative
  balance). Only payments that were completed count (succeeded, or refunded later); a manual
  payment that staff reversed was recorded by mistake and appears nowhere, as on its invoice.
- A refund or a lost chargeback raises it again, on the day it was settled.
- Payments towards sales orders, and their refunds, are not on the statement: orders are not
  invoices, so the statement would show money against nothing.

The aging table sorts what each invoice still asked for at the period's end (or today, when
the period ends later) by days past its due date: not due (or no due date), 1–30, 31–60,
61–90, over 90. What an invoice asked for on that day is rebuilt from the same rows: its
total, less the credit notes issued by then, less what payments made by then put on it, plus
what refunds settled by then took back from it (newest share of a payment first, as
app/refunds.py takes it back).

Everything is read in three queries (documents, payments with their shares, refunds), the
same for a short or a long history; the rest is arithmetic here. The PDF (statement_pdf) is
rendered by app/pdf.py's renderer and kept in its cache under a key that hashes everything
the statement shows (so any new document, payment or refund, or another day for the aging,
is a new file) with the language, the business's details and the renderer.
"""
import calendar
import datetime
import hashlib
import json
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from peewee import JOIN, fn

from .models import CREDIT_NOTE, INVOICE, Document, Payment, PaymentAllocation, Refund
from .rules import Refused

PRESETS = ("this_year", "last_year", "last_12_months")
CUSTOM = "custom"
PRESET_LABELS = {"this_year": _l("This year"), "last_year": _l("Last year"),
                 "last_12_months": _l("Last 12 months"), CUSTOM: _l("Custom dates")}
MAX_DAYS = 366 * 10          # a longer custom period is refused: the opening balance covers the past
FIRST_YEAR, LAST_YEAR = 1900, 2999   # as the API's dates
BUCKETS = ("not_due", "1_30", "31_60", "61_90", "over_90")
BUCKET_LABELS = {"not_due": _l("Not due"), "1_30": _l("1–30 days"), "31_60": _l("31–60 days"),
                 "61_90": _l("61–90 days"), "over_90": _l("Over 90 days")}
# Entries of one day: what was invoiced before what lowered it.
RANK = {INVOICE: 0, CREDIT_NOTE: 1, "payment": 2, "refund": 3}
COUNTED = ("succeeded", "refunded")   # payments that were completed


# --- the period ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    start: datetime.date
    end: datetime.date
    preset: str = CUSTOM

    def args(self):
        """The query string that names this period again."""
        if self.preset in PRESETS:
            return {"period": self.preset}
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def preset_period(preset, today):
    if preset == "last_year":
        return Period(datetime.date(today.year - 1, 1, 1), datetime.date(today.year - 1, 12, 31), preset)
    if preset == "last_12_months":
        return Period(_years_before(today, 1) + datetime.timedelta(days=1), today, preset)
    return Period(datetime.date(today.year, 1, 1), today, "this_year")


def _years_before(day, years):
    year = day.year - years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def _day(text, name):
    text = (text or "").strip()
    try:
        if len(text) == 10:
            day = datetime.date.fromisoformat(text)
            if FIRST_YEAR <= day.year <= LAST_YEAR:
                return day
    except ValueError:
        pass
    raise Refused("bad_date", _l("Enter the date as YYYY-MM-DD (for example 2026-01-31)."), field=name)


def read_period(args, today):
    """The period a query string asks for: `period` (one of PRESETS), or custom dates `from` and
    `to` (either may be left out: from the 1st of January of `to`'s year, to today). Nothing:
    this year. Refused (bad_date, bad_period, period_too_long) with a message for people."""
    start_text, end_text = args.get("from") or "", args.get("to") or ""
    preset = args.get("period") or ""
    if not (start_text.strip() or end_text.strip()) or preset in PRESETS:
        if preset and preset not in PRESETS + (CUSTOM,):
            raise Refused("bad_period", _l("Choose one of the periods offered."), field="period")
        return preset_period(preset or "this_year", today)
    end = _day(end_text, "to") if end_text.strip() else today
    start = _day(start_text, "from") if start_text.strip() else datetime.date(end.year, 1, 1)
    if start > end:
        raise Refused("bad_period", _l("The start date is after the end date."), field="from")
    if (end - start).days >= MAX_DAYS:
        raise Refused("period_too_long", _l("Choose a period of at most 10 years."), field="from")
    return Period(start, end, CUSTOM)


# --- what the statement holds ----------------------------------------------------------------

@dataclass
class Entry:
    day: datetime.date
    kind: str                 # invoice | credit_note | payment | refund
    amount: int               # what it does to the balance: + raises, − lowers (0: a voided invoice)
    balance: int = 0          # the running balance after it
    number: str = ""          # a document's number
    document_id: int = None   # the document itself (invoices, credit notes)
    due_date: datetime.date = None
    voided: bool = False
    shown: int = 0            # the amount printed (a voided invoice's total)
    payment_id: int = None    # payments and refunds
    method: str = ""          # manual | stripe | paypal | square; for refunds also chargeback
    note: str = ""            # a manual payment's note
    documents: list = field(default_factory=list)   # payments, refunds: [(id, number)] they touched
    currency: str = ""
    rank: int = 0
    order: int = 0


@dataclass
class Section:
    currency: str
    opening: int = 0
    closing: int = 0
    entries: list = field(default_factory=list)
    invoiced: int = 0
    credited: int = 0
    paid: int = 0
    refunded: int = 0
    aging: dict = field(default_factory=dict)
    open_total: int = 0


@dataclass
class Statement:
    period: Period
    today: datetime.date
    as_of: datetime.date      # the aging's day: the period's end, or today when it ends later
    sections: list

    def to_dict(self):
        """The statement as JSON values (the API's answer, and what the PDF's cache key hashes)."""
        return {
            "from": self.period.start.isoformat(), "to": self.period.end.isoformat(),
            "period": self.period.preset, "as_of": self.as_of.isoformat(),
            "currencies": [{
                "currency": s.currency, "opening_balance": s.opening, "closing_balance": s.closing,
                "invoiced": s.invoiced, "credited": s.credited, "paid": s.paid, "refunded": s.refunded,
                "entries": [_entry_dict(e) for e in s.entries],
                "aging": {**{b: s.aging[b] for b in BUCKETS}, "total": s.open_total},
            } for s in self.sections]}


def _entry_dict(e):
    out = {"date": e.day.isoformat(), "type": e.kind, "amount": e.amount, "balance": e.balance}
    if e.kind in (INVOICE, CREDIT_NOTE):
        out.update(document_id=e.document_id, number=e.number)
        if e.kind == INVOICE:
            out.update(due_date=e.due_date.isoformat() if e.due_date else None, voided=e.voided,
                       total=e.shown)
    else:
        out.update(payment_id=e.payment_id, method=e.method,
                   documents=[{"id": i, "number": n} for i, n in e.documents])
    return out


# --- reading -----------------------------------------------------------------------------------

def _date(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def _read(contact, end):
    """The rows the statement is made of, up to `end`: three queries."""
    docs = list(Document.select(Document.id, Document.kind, Document.number, Document.status,
                                Document.issue_date, Document.due_date, Document.currency, Document.total,
                                Document.source)
                .where((Document.contact == contact) & Document.kind.in_((INVOICE, CREDIT_NOTE))
                       & (Document.status != "draft") & (Document.issue_date <= end))
                .order_by(Document.issue_date, Document.id).dicts())
    until = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time())
    paid_at = fn.COALESCE(Payment.paid_at, Payment.created_at)
    payments = list(Payment.select(Payment.id, Payment.gateway, Payment.amount, Payment.currency,
                                   paid_at.alias("paid_at"), Payment.document, Payment.method_note,
                                   PaymentAllocation.id.alias("share_id"),
                                   PaymentAllocation.document.alias("share_document"),
                                   PaymentAllocation.amount.alias("share_amount"),
                                   PaymentAllocation.applied.alias("share_applied"))
                    .join(Document, on=(Payment.document == Document.id))
                    .switch(Payment).join(PaymentAllocation, JOIN.LEFT_OUTER,
                                          on=(PaymentAllocation.payment == Payment.id))
                    .where((Payment.contact == contact) & Payment.status.in_(COUNTED)
                           & (Document.kind == INVOICE) & (paid_at < until))
                    .order_by(Payment.id, PaymentAllocation.id).dicts())
    # Every refund of these payments, also those after `end`: how much a share held at first
    # is rebuilt from all of them (see _shares).
    refunds = list(Refund.select(Refund.id, Refund.payment, Refund.kind, Refund.amount,
                                 fn.COALESCE(Refund.settled_at, Refund.created_at).alias("settled_at"))
                   .join(Payment, on=(Refund.payment == Payment.id))
                   .join(Document, on=(Payment.document == Document.id))
                   .where((Payment.contact == contact) & (Refund.status == "succeeded")
                          & Payment.status.in_(COUNTED) & (Document.kind == INVOICE))
                   .order_by(Refund.id).dicts())
    return docs, payments, refunds


def build(contact, period, today=None):
    """The contact's statement for `period` (module docstring); `today` dates the aging."""
    today = today or datetime.date.today()
    as_of = min(period.end, today)
    docs, payment_rows, refund_rows = _read(contact, period.end)
    numbers = {d["id"]: d["number"] for d in docs}

    payments = {}
    for row in payment_rows:
        p = payments.get(row["id"])
        if p is None:
            p = payments[row["id"]] = {**row, "day": _date(row["paid_at"]), "shares": [], "refunds": []}
        if row["share_id"] is not None:
            p["shares"].append({"id": row["share_id"], "document": row["share_document"],
                                "amount": row["share_amount"], "applied": row["share_applied"]})
    for row in refund_rows:
        if row["payment"] in payments:
            payments[row["payment"]]["refunds"].append({**row, "day": _date(row["settled_at"])})

    entries = []
    for d in docs:
        voided = d["status"] == "void"
        sign = -1 if d["kind"] == CREDIT_NOTE else 1
        entries.append(Entry(d["issue_date"], d["kind"], 0 if voided else sign * d["total"], number=d["number"],
                             document_id=d["id"], due_date=d["due_date"], voided=voided, shown=sign * d["total"],
                             currency=d["currency"], rank=RANK[d["kind"]], order=d["id"]))
    for p in payments.values():
        touched = [s["document"] for s in p["shares"]] or [p["document"]]
        documents = [(i, numbers.get(i, "")) for i in touched]
        entry = Entry(p["day"], "payment", -p["amount"], payment_id=p["id"], method=p["gateway"],
                      note=p["method_note"], documents=documents, currency=p["currency"],
                      rank=RANK["payment"], order=p["id"])
        entries.append(entry)
        for r in p["refunds"]:
            if r["day"] <= period.end:
                refund = Entry(r["day"], "refund", r["amount"], payment_id=p["id"],
                               method="chargeback" if r["kind"] == "chargeback" else p["gateway"],
                               documents=documents, currency=p["currency"], rank=RANK["refund"],
                               order=r["id"])
                entries.append(refund)

    sections = {}

    def section(currency):
        if currency not in sections:
            sections[currency] = Section(currency, aging=dict.fromkeys(BUCKETS, 0))
        return sections[currency]

    for e in sorted(entries, key=lambda e: (e.day, e.rank, e.order)):
        s = section(e.currency)
        if e.day < period.start:
            s.opening += e.amount
            continue
        s.entries.append(e)
        if e.kind == INVOICE:
            s.invoiced += e.amount
        elif e.kind == CREDIT_NOTE:
            s.credited -= e.amount
        elif e.kind == "payment":
            s.paid -= e.amount
        else:
            s.refunded += e.amount
    for s in sections.values():
        balance = s.opening
        for e in s.entries:
            balance += e.amount
            e.balance = balance
        s.closing = balance

    for currency, name, amount in _aging(docs, payments, as_of):
        s = section(currency)
        s.aging[name] += amount
        s.open_total += amount
    shown = [s for s in sections.values() if s.entries or s.opening or s.closing or s.open_total]
    return Statement(period, today, as_of, sorted(shown, key=lambda s: s.currency))


# --- aging -----------------------------------------------------------------------------------

def bucket(days_overdue):
    if days_overdue <= 0:
        return "not_due"
    if days_overdue <= 30:
        return "1_30"
    if days_overdue <= 60:
        return "31_60"
    if days_overdue <= 90:
        return "61_90"
    return "over_90"


def _take_newest_first(shares, amount, capacity):
    """{share id: what `amount` of refunds took from it}, newest share first, as app/refunds.py."""
    taken = {}
    for share in sorted(shares, key=lambda s: -s["id"]):
        part = min(amount, capacity(share))
        if part > 0:
            taken[share["id"]] = part
            amount -= part
    return taken


def _shares(payment, as_of):
    """[(document id, what the payment had put on it by `as_of`)]. A share's `applied` is what
    it holds now, after every refund; what it held at first is rebuilt by taking the refunds
    back newest share first: a share still holding something took the rest of them, an emptied
    one gave all it had been meant to."""
    if not payment["shares"]:
        refunded = sum(r["amount"] for r in payment["refunds"] if r["day"] <= as_of)
        return [(payment["document"], payment["amount"] - refunded)]
    total = sum(r["amount"] for r in payment["refunds"])
    left, first = total, {}
    for share in sorted(payment["shares"], key=lambda s: -s["id"]):
        taken = 0
        if left > 0:
            taken = left if share["applied"] > 0 else min(left, share["amount"])
            left -= taken
        first[share["id"]] = share["applied"] + taken
    by_then = sum(r["amount"] for r in payment["refunds"] if r["day"] <= as_of)
    taken = _take_newest_first(payment["shares"], by_then, lambda s: first[s["id"]])
    return [(s["document"], first[s["id"]] - taken.get(s["id"], 0)) for s in payment["shares"]]


def _aging(docs, payments, as_of):
    """[(currency, bucket, amount)] of what each invoice still asked for on `as_of`."""
    owed = {d["id"]: d["total"] for d in docs
            if d["kind"] == INVOICE and d["status"] != "void" and d["issue_date"] <= as_of}
    for d in docs:
        if d["kind"] == CREDIT_NOTE and d["issue_date"] <= as_of and d["source"] in owed:
            owed[d["source"]] -= d["total"]
    for p in payments.values():
        if p["day"] <= as_of:
            for document, amount in _shares(p, as_of):
                if document in owed:
                    owed[document] -= amount
    found = []
    for d in docs:
        left = owed.get(d["id"], 0)
        if left > 0:
            days = (as_of - d["due_date"]).days if d["due_date"] else 0
            found.append((d["currency"], bucket(days), left))
    return found


# --- the PDF ---------------------------------------------------------------------------------

STATEMENT_TEMPLATES = ("pdf/statement.html", "partials/_statement_sheet.html", "partials/_sheet_business.html")


def method_labels():
    """How each payment method is named to the customer."""
    from . import payments
    return {"manual": _l("Transfer or other"), **{name: payments.label(name) for name in payments.NAMES}}


def pdf_context(contact, statement, settings):
    from . import pdf
    return {"contact": contact, "statement": statement, "business": settings, "logo_url": pdf.LOGO_URL,
            "page_label": pdf.page_label_css(), "bucket_labels": BUCKET_LABELS, "buckets": BUCKETS,
            "payment_methods": method_labels(), "doc_url": None}


def cache_key(contact, statement, language, settings):
    """What the PDF shows besides the renderer: the statement's own values, the customer and the
    business as they are now, the language."""
    from . import pdf
    parts = {"statement": statement.to_dict(), "language": language,
             "contact": [contact.id, contact.name, contact.tax_id, contact.billing_address],
             "business": [settings.name, settings.tax_id, settings.address, settings.email, settings.phone,
                          settings.logo_type, settings.logo_hash],
             "renderer": pdf.renderer_fingerprint(language, STATEMENT_TEMPLATES)}
    return json.dumps(parts, sort_keys=True, default=str)


def etag(contact, statement, language, settings):
    return hashlib.sha256(cache_key(contact, statement, language, settings).encode()).hexdigest()[:40]


def render_pdf(contact, statement, language, settings):
    """Render now, without the cache: bytes."""
    from flask import render_template
    from flask_babel import force_locale

    from . import pdf
    with force_locale(language):
        html = render_template("pdf/statement.html", **pdf_context(contact, statement, settings))
    return pdf.render_html(html, pdf.logo(settings.logo_hash, current=True), settings.logo_hash)


def statement_pdf(contact, statement, language, settings, tag=None):
    """The PDF of this statement in `language`: from the cache, or rendered and kept."""
    from . import pdf
    tag = tag or etag(contact, statement, language, settings)
    stem = f"statement-{contact.id}-{statement.period.start}-{statement.period.end}-{language}-"
    return pdf.cached(stem, tag, lambda: render_pdf(contact, statement, language, settings))


def filename(statement):
    return f"statement-{statement.period.start}-{statement.period.end}.pdf"


# --- the payment history -------------------------------------------------------------------

HISTORY_PAGE = 25
SHOWN_STATUSES = ("succeeded", "refunded", "reversed", "failed")


@dataclass
class HistoryRow:
    payment: Payment
    documents: list           # [(id, kind, number)] the payment was for
    refunds: list             # its succeeded refunds and chargebacks, oldest first

    @property
    def has_receipt(self):
        return self.payment.gateway in Payment.ONLINE and self.payment.status in COUNTED


def payment_history(contact, page=1, per_page=HISTORY_PAGE):
    """(a page of the contact's payments, newest first, each with its documents and refunds;
    how many there are). Payments that went through, were refunded, reversed or failed, and
    those the gateway is still processing; not checkouts left before paying. Four queries."""
    processing = (Payment.status == "pending") & (Payment.processing_since.is_null(False)
                                                  | Payment.returned_at.is_null(False))
    shown = (Payment.contact == contact) & (Payment.status.in_(SHOWN_STATUSES) | processing)
    total = Payment.select(Payment.id).where(shown).count()
    rows = list(Payment.select(Payment, Document).join(Document, on=(Payment.document == Document.id))
                .where(shown).order_by(fn.COALESCE(Payment.paid_at, Payment.created_at).desc(), Payment.id.desc())
                .paginate(page, per_page))
    ids = [p.id for p in rows]
    shares, refunds = {}, {}
    if ids:
        for payment_id, doc_id, kind, number in (
                PaymentAllocation.select(PaymentAllocation.payment, Document.id, Document.kind, Document.number)
                .join(Document, on=(PaymentAllocation.document == Document.id))
                .where(PaymentAllocation.payment.in_(ids)).order_by(PaymentAllocation.id).tuples()):
            shares.setdefault(payment_id, []).append((doc_id, kind, number))
        for refund in (Refund.select().where(Refund.payment.in_(ids) & (Refund.status == "succeeded"))
                       .order_by(Refund.settled_at, Refund.id)):
            refunds.setdefault(refund.payment_id, []).append(refund)
    found = []
    for p in rows:
        p.document.contact = contact   # spare the query, as Payment.for_contact does
        documents = shares.get(p.id) or [(p.document.id, p.document.kind, p.document.number)]
        found.append(HistoryRow(p, documents, refunds.get(p.id, [])))
    return found, total


# --- mailing it ------------------------------------------------------------------------------

def mail_statement(contact, period, by, today=None):
    """Mail the statement of `period` to each active person of the contact, in their language,
    with its PDF attached (made when the mail is sent: app/mail.py attachments). Queued in one
    transaction with the Activity that records it; returns how many mails. Refused when the
    contact has nobody to mail."""
    from .db import db
    from .mail import recipient_language, send_template
    from .models import Activity, Person, Settings
    today = today or datetime.date.today()
    from .people import PAYERS
    people = list(Person.active_of(contact, roles=PAYERS))
    if not people:
        raise Refused("no_recipients", _l("Nobody signs in for this contact: add a person with an email first."))
    built = build(contact, period, today)
    closing = [{"currency": s.currency, "closing": s.closing} for s in built.sections]
    settings = Settings.get_solo()
    with db.atomic():
        for person in people:
            language = recipient_language(person, contact)
            args = {"contact_id": contact.id, "start": period.start, "end": period.end, "preset": period.preset,
                    "language": language, "today": today}
            send_template(person.email, "statement", language, attachments=[("statement", args)], person=person,
                          business=settings, contact_name=contact.name, start=period.start, end=period.end,
                          closing=closing)
        Activity.record("statement_mailed", contact=contact.id,
                        **by.activity(f"{period.start} – {period.end}", start=period.start, end=period.end,
                                      recipients=[p.email for p in people]))
    return len(people)


def mail_attachment(contact_id, start, end, preset, language, today):
    """The PDF a queued statement mail carries: (file name, content type, bytes)."""
    from .models import Contact, Settings
    contact = Contact.get_by_id(contact_id)
    built = build(contact, Period(start, end, preset), today)
    return filename(built), "application/pdf", statement_pdf(contact, built, language, Settings.get_solo())
