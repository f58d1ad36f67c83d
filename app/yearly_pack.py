"""The yearly pack (issue 19): a ZIP of one contact's issued invoices and credit notes of a year,
each as its PDF and its e-invoice XML (when it has one), with `index.csv` (number, kind, date,
currency, net, one column per tax name and rate, total, paid), for the person or their accountant.

Asking for it writes a YearlyPack row and queues a job; the job renders the PDFs (through the
PDF cache), keeps the ZIP in the row (the database: every app server and worker sees it) and
mails a link to it. The download is scoped to the contact like every portal page. Packs are
bounded: a few per contact, each kept KEEP_DAYS days, and at most MAX_DOCUMENTS documents.

The amounts are those of the documents as issued (their snapshot): a credit note's are written
negative, so that each column sums to what was invoiced net of credits that year."""
import datetime
import io
import zipfile

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from . import einvoice, jobs, pdf, snapshot
from .csvsafe import data as csv_data
from .db import db
from .labels import KIND_LABELS
from .mail import send_template
from .models import CREDIT_NOTE, INVOICE, Document, Settings, YearlyPack, utcnow
from .money import to_decimal
from .rules import Refused

JOB_KIND = "yearly_pack"
KEEP_DAYS = 7
MAX_KEPT = 3           # per contact: the oldest goes when a new one is asked for
MAX_DOCUMENTS = 2000   # a pack past this fails with a message: ask staff for an export instead
FIRST_YEAR = 2000


def years(today=None):
    """The years one can ask a pack for, newest first (the last ten)."""
    this = (today or datetime.date.today()).year
    return list(range(this, this - 10, -1))


def documents(contact, year):
    """The contact's issued invoices and credit notes dated in `year` (void ones left out), by date."""
    return list(Document.visible_to(contact)
                .where(Document.kind.in_((INVOICE, CREDIT_NOTE)) & (Document.status != "void")
                       & (Document.issue_date >= datetime.date(year, 1, 1))
                       & (Document.issue_date <= datetime.date(year, 12, 31)))
                .order_by(Document.issue_date, Document.id))


def figures(doc):
    """(net, {(tax name, rate_bp): amount}, total, paid) of a document as issued, in minor units;
    a credit note's negative."""
    frozen = snapshot.frozen(doc)
    if frozen:
        net = frozen["totals"]["subtotal"]
        taxes = [tuple(t) for t in frozen["totals"]["taxes"]]
    else:
        net, taxes = doc.subtotal, doc.tax_breakdown()
    sign = -1 if doc.kind == CREDIT_NOTE else 1
    by_tax = {}
    for name, rate_bp, _base, amount in taxes:
        by_tax[(name, rate_bp)] = by_tax.get((name, rate_bp), 0) + sign * amount
    paid = doc.amount_paid if doc.kind == INVOICE else 0
    return sign * net, by_tax, sign * doc.total, paid


def _rate_text(rate_bp):
    return f"{rate_bp / 100:g}%"


def index_csv(docs):
    """index.csv's bytes: one row per document, one column per tax (name and rate) any of them has."""
    rows, tax_keys = [], []
    for doc in docs:
        net, by_tax, total, paid = figures(doc)
        rows.append((doc, net, by_tax, total, paid))
        for key in by_tax:
            if key not in tax_keys:
                tax_keys.append(key)
    tax_keys.sort(key=lambda k: (k[1] < 0, -abs(k[1]), k[0]))   # taxes first, then withholdings
    header = [str(_l("Number")), str(_l("Kind")), str(_l("Date")), str(_l("Currency")), str(_l("Net"))]
    header += [f"{name} {_rate_text(rate)}" for name, rate in tax_keys]
    header += [str(_l("Total")), str(_l("Paid"))]
    body = []
    for doc, net, by_tax, total, paid in rows:
        cur = doc.currency
        body.append([doc.number, str(KIND_LABELS[doc.kind]), doc.issue_date.isoformat(), cur, to_decimal(net, cur)]
                    + [to_decimal(by_tax.get(key, 0), cur) for key in tax_keys]
                    + [to_decimal(total, cur), to_decimal(paid, cur)])
    return csv_data(header, body)


def _file_name(doc, taken):
    name = pdf.safe_filename(doc.number or f"document-{doc.id}")[0]
    if name in taken:
        name = name[:-4] + f"-{doc.id}.pdf"
    taken.add(name)
    return name


def build_zip(contact, year, language, settings=None):
    """(ZIP bytes, number of documents) of the contact's year, PDFs in `language`."""
    settings = settings or Settings.get_solo()
    docs = documents(contact, year)
    if len(docs) > MAX_DOCUMENTS:
        raise jobs.PermanentError(f"{len(docs)} documents: more than a pack holds ({MAX_DOCUMENTS})")
    out, taken = io.BytesIO(), set()
    with force_locale(language):
        index = index_csv(docs)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for doc in docs:
            name = _file_name(doc, taken)
            archive.writestr(name, pdf.document_pdf(doc, language, settings))
            try:   # the e-invoice beside its PDF (the PDF carries it too): what accounting software imports
                archive.writestr(name[:-4] + ".xml", einvoice.xml(doc, settings))
            except einvoice.Unavailable:
                pass
        archive.writestr("index.csv", index)
    return out.getvalue(), len(docs)


def request(contact, year, email, language, person=None, link=None, today=None):
    """Ask for the pack of `year`; returns its YearlyPack row (the one already being built for
    that year, if any). The job mails `email` when it is ready."""
    if year not in years(today):
        raise Refused("year", _l("Choose one of the years offered."), field="year")
    now = utcnow()
    with db.atomic():
        prune(now)
        waiting = (YearlyPack.select().where((YearlyPack.contact == contact) & (YearlyPack.year == year)
                                             & (YearlyPack.status == "queued")).first())
        if waiting is not None:
            return waiting
        kept = list(YearlyPack.select(YearlyPack.id).where(YearlyPack.contact == contact)
                    .order_by(YearlyPack.created_at.desc(), YearlyPack.id.desc()))
        if len(kept) >= MAX_KEPT:
            YearlyPack.delete().where(YearlyPack.id.in_([p.id for p in kept[MAX_KEPT - 1:]])).execute()
        pack = YearlyPack.create(contact=contact, year=year, email=email, language=language, person=person,
                                 link=link, created_at=now, expires_at=now + datetime.timedelta(days=KEEP_DAYS))
        jobs.enqueue(JOB_KIND, {"pack": pack.id})
    return pack


def run(job):
    """The job: build the ZIP, keep it, mail the link (idempotent: a pack already built is left)."""
    pack = YearlyPack.get_or_none(YearlyPack.id == job.data["pack"])
    if pack is None or pack.status != "queued":
        return
    try:
        data, count = build_zip(pack.contact, pack.year, pack.language or Settings.get_solo().default_language)
    except jobs.PermanentError:
        YearlyPack.update(status="failed").where(YearlyPack.id == pack.id).execute()
        raise
    with db.atomic():
        done = (YearlyPack.update(status="ready", data=data, files=count, size=len(data), ready_at=utcnow())
                .where((YearlyPack.id == pack.id) & (YearlyPack.status == "queued")).execute())
        if done:
            send_template(pack.email, "yearly_pack", pack.language or Settings.get_solo().default_language,
                          year=pack.year, contact_name=pack.contact.name, files=count, pack_id=pack.id,
                          expires_at=pack.expires_at)


def for_contact(contact, pack_id, now=None):
    """The contact's ready, unexpired pack `pack_id` with its bytes, or None."""
    return (YearlyPack.select().where((YearlyPack.id == pack_id) & (YearlyPack.contact == contact)
                                      & (YearlyPack.status == "ready")
                                      & (YearlyPack.expires_at > (now or utcnow()))).first())


def recent(contact, now=None):
    """The contact's packs still kept, newest first, without their bytes."""
    fields = [f for f in YearlyPack._meta.sorted_fields if f.name != "data"]
    return list(YearlyPack.select(*fields).where((YearlyPack.contact == contact)
                                                 & (YearlyPack.expires_at > (now or utcnow())))
                .order_by(YearlyPack.created_at.desc(), YearlyPack.id.desc()))


def prune(now=None):
    """Drop every expired pack (its bytes with it)."""
    return YearlyPack.delete().where(YearlyPack.expires_at <= (now or utcnow())).execute()
