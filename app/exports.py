"""Staff exports as CSV: documents, payments and the tax book of a period.

What each file holds, and where its figures come from:
- Documents issued in the period (drafts have no number and print nothing: left out), one row
  each, with the amounts their snapshot printed (app/snapshot.py): net, tax, withholding (the
  taxes with a negative rate, as app/money.py models IRPF: a negative number, so that
  net + tax + withholding = total), total; and what happened since (credited, paid, due), from
  the document's live columns. A credit note's amounts are positive, as printed: its kind
  says what it is, and the tax book subtracts it.
- Payments dated in the period (paid, or made when never paid): contact, method, the
  gateway's reference, status, amount, the documents they paid (numbers) and their refunds.
- The tax book: for the invoices and credit notes issued in the period (void invoices left
  out: they were cancelled), per currency and per tax (name and rate), the taxable base and
  the tax, from the snapshots' printed breakdown; withholdings are rows of their own; credit
  notes subtract. Subtotals by the whole period, quarter or month, and a total row per
  currency and subtotal period.

Every file is built whole in memory (a failure halfway gives an error, never half a file),
reading its rows in chunks of CHUNK by id, with one query per chunk for whatever each row needs
besides (no query per row): tens of thousands of rows cost a few megabytes.

Amounts are written as numbers in major units (121.00), rates as percentages (21.00); text
goes through app/csvsafe.py, which quotes what a spreadsheet would run as a formula."""
import datetime
import json
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from peewee import SQL, fn

from . import csvsafe, money
from .models import (CREDIT_NOTE, INVOICE, KINDS, PAYABLE_STATUSES, STATUSES, Activity, Contact, Document,
                     DocumentLine, LineTax, Payment, PaymentAllocation, Refund)
from .rules import Refused

WHAT = ("documents", "payments", "tax_book")
GROUPS = ("period", "quarter", "month")
DOCUMENT_STATUSES = tuple(s for s in STATUSES if s != "draft")
MAX_YEARS = 5
EARLIEST, LATEST = datetime.date(1970, 1, 1), datetime.date(2999, 12, 31)
CHUNK = 500
CONTACT_CHOICES = 5   # contacts named in the message when a search matches several

DOCUMENT_HEADER = (_l("Number"), _l("Kind"), _l("Status"), _l("Issue date"), _l("Due date"), _l("Contact"),
                   _l("Tax ID"), _l("Reference"), _l("Currency"), _l("Net"), _l("Tax"), _l("Withholding"),
                   _l("Total"), _l("Credited"), _l("Paid"), _l("Due"))
PAYMENT_HEADER = (_l("Date"), _l("Contact"), _l("Tax ID"), _l("Method"), _l("Note"), _l("Provider reference"),
                  _l("Status"), _l("Amount"), _l("Currency"), _l("Refunded"), _l("Received"), _l("Documents"),
                  _l("Refunds"))
TAX_BOOK_HEADER = (_l("Period"), _l("Currency"), _l("Tax"), _l("Rate (%)"), _l("Type"), _l("Invoices base"),
                   _l("Invoices tax"), _l("Credit notes base"), _l("Credit notes tax"), _l("Base"), _l("Tax amount"),
                   _l("Documents"))


@dataclass
class Export:
    """A finished file: its name, its bytes (UTF-8 CSV with a BOM), how many rows it has."""
    what: str
    start: datetime.date
    end: datetime.date
    filename: str
    data: bytes
    rows: int
    filters: dict = field(default_factory=dict)


# --- what staff ask for -------------------------------------------------------------------------

def _years_after(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:   # 29 February, in a year without one
        return day.replace(year=day.year + years, month=3, day=1)


def check_period(start, end):
    """Refused unless start..end (both included) is a period of at most MAX_YEARS years."""
    for name, day in (("from", start), ("to", end)):
        if not EARLIEST <= day <= LATEST:
            raise Refused("date_out_of_range", _l("Enter a date between %(first)s and %(last)s.",
                                                  first=EARLIEST.isoformat(), last=LATEST.isoformat()), field=name)
    if start > end:
        raise Refused("period_reversed", _l("The period ends before it starts: the second date must be the "
                                            "same as the first or later."), field="to")
    if end >= _years_after(start, MAX_YEARS):
        raise Refused("period_too_long", _l("Choose a period of at most %(n)d years; export a longer one in "
                                            "several parts.", n=MAX_YEARS), field="to")


def find_contact(text):
    """The contact `text` names: its number, or a unique match of its tax id, name or email
    (exact first, then a part of one). Refused (with up to CONTACT_CHOICES candidates and their
    numbers) otherwise."""
    text = (text or "").strip()
    number = text.isdigit() and len(text) <= 12
    found = Contact.get_or_none(Contact.id == int(text)) if number else None
    if found is not None:
        return found
    exact = list(Contact.select().where((fn.LOWER(Contact.tax_id) == text.lower()) & (Contact.tax_id != ""))
                 .limit(2))
    if len(exact) == 1:
        return exact[0]
    named = list(Contact.select().where(fn.LOWER(Contact.name) == text.lower()).limit(2))
    if len(named) == 1:
        return named[0]
    matches = list(Contact.select().where(Contact.name.contains(text) | Contact.tax_id.contains(text)
                                          | Contact.email.contains(text))
                   .order_by(Contact.name, Contact.id).limit(CONTACT_CHOICES + 1))
    if len(matches) == 1:
        return matches[0]
    if not matches and number:   # a tax id of digits only is searched too, but this is likelier
        raise Refused("unknown_contact", _l("No contact has the number %(n)s.", n=text), field="contact")
    if not matches:
        raise Refused("unknown_contact", _l("No contact matches “%(text)s”: try part of the name, the tax ID or "
                                            "the contact's number.", text=text), field="contact")
    names = ", ".join(f"{c.name} ({c.id})" for c in matches[:CONTACT_CHOICES])
    if len(matches) > CONTACT_CHOICES:
        names += ", …"
    raise Refused("several_contacts", _l("Several contacts match: %(names)s. Type more of the name or tax ID, "
                                         "or the contact's number (in brackets).", names=names), field="contact")


def build(what, start, end, kind="", status="", contact=None, group="period"):
    """The whole file for `what` over start..end (both included). Refused (nothing built) when
    the period or a filter is not one staff may ask for. `kind`, `status` filter documents,
    `contact` documents and payments, `group` the tax book's subtotals."""
    if what not in WHAT:
        raise Refused("unknown_export", _l("Choose one of the options."), field="what")
    check_period(start, end)
    filters = {}
    if what == "documents":
        if kind and kind not in KINDS:
            raise Refused("unknown_kind", _l("Choose one of the options."), field="kind")
        if status and status not in DOCUMENT_STATUSES:
            raise Refused("unknown_status", _l("Choose one of the options."), field="status")
        filters = {"kind": kind, "status": status}
    if what in ("documents", "payments") and contact is not None:
        filters["contact"] = contact.id
    if what == "tax_book":
        if group not in GROUPS:
            raise Refused("unknown_group", _l("Choose one of the options."), field="group")
        filters = {"group": group}
    header, rows = {"documents": (DOCUMENT_HEADER, lambda: document_rows(start, end, kind, status, contact)),
                    "payments": (PAYMENT_HEADER, lambda: payment_rows(start, end, contact)),
                    "tax_book": (TAX_BOOK_HEADER, lambda: tax_book_rows(start, end, group))}[what]
    counted = _Counted(rows())
    data = csvsafe.data(header, counted)
    name = what.replace("_", "-")
    return Export(what=what, start=start, end=end, filename=f"{name}-{start.isoformat()}-{end.isoformat()}.csv",
                  data=data, rows=counted.n, filters={k: v for k, v in filters.items() if v})


def record(export, by):
    """Write the export in the audit trail: who read what, for which period, how many rows."""
    detail = f"{export.what} {export.start.isoformat()}..{export.end.isoformat()}: {export.rows} rows"
    return Activity.record("export_" + export.what, contact=export.filters.get("contact"),
                           **by.activity(detail, what=export.what, start=export.start.isoformat(),
                                         end=export.end.isoformat(), rows=export.rows, **export.filters))


class _Counted:
    """Rows passed through, counted."""

    def __init__(self, rows):
        self.rows, self.n = rows, 0

    def __iter__(self):
        for row in self.rows:
            self.n += 1
            yield row


# --- reading in chunks --------------------------------------------------------------------------

def _chunks(ids):
    for first in range(0, len(ids), CHUNK):
        yield ids[first:first + CHUNK]


def _among(column, ids):
    """`column IN (ids)` with the ids written into the statement: they are integers read from
    the database, and peewee takes longer to compile 500 parameters than the database to run
    the query."""
    return column.in_(SQL("(%s)" % ",".join(str(int(i)) for i in ids)))


_EXPONENTS = {}


def _amount(minor, currency):
    """Minor units as a Decimal in major units (money.to_decimal, its exponent looked up once)."""
    if currency not in _EXPONENTS:
        _EXPONENTS[currency] = money.currency_exponent(currency)
    return Decimal(minor).scaleb(-_EXPONENTS[currency])


def _rate(rate_bp):
    return Decimal(rate_bp).scaleb(-2)


def _day(value):
    return value.isoformat() if value else ""


def _issued(start, end):
    return (Document.status != "draft") & (Document.issue_date >= start) & (Document.issue_date <= end)


DOCUMENT_COLUMNS = (Document.id, Document.number, Document.kind, Document.status, Document.issue_date,
                    Document.due_date, Document.currency, Document.reference, Document.subtotal, Document.tax_total,
                    Document.total, Document.amount_paid, Document.amount_credited, Document.snapshot,
                    Contact.name.alias("contact_name"), Contact.tax_id.alias("contact_tax_id"))


def _printed(rows):
    """Each row (a dict of DOCUMENT_COLUMNS) with what its sheet printed: `printed` = (contact
    name, contact tax id, subtotal, [[tax name, rate, base, amount]], total). The snapshot
    says; a document issued without one (made by hand in the database) gets the same figures
    from its lines, summed in one query for the chunk, by the rounding rule of app/money.py."""
    missing = [row["id"] for row in rows if not row["snapshot"]]
    live = {}
    if missing:
        bases = (LineTax.select(DocumentLine.document, LineTax.name, LineTax.rate_bp, fn.SUM(DocumentLine.net))
                 .join(DocumentLine).where(_among(DocumentLine.document, missing))
                 .group_by(DocumentLine.document, LineTax.name, LineTax.rate_bp).tuples())
        for doc_id, name, rate, base in bases:
            live.setdefault(doc_id, []).append([name, rate, int(base), money.tax_amount(int(base), rate)])
    for row in rows:
        if row["snapshot"]:
            data = json.loads(row["snapshot"])
            totals, contact = data["totals"], data.get("contact", {})
            row["printed"] = (contact.get("name", ""), contact.get("tax_id", ""), totals["subtotal"],
                              totals["taxes"], totals["total"])
        else:
            row["printed"] = (row["contact_name"], row["contact_tax_id"], row["subtotal"],
                              live.get(row["id"], []), row["total"])
        row["snapshot"] = None   # parsed: let the text go
    return rows


def _document_chunks(where, order):
    """The documents matching `where`, in `order`, as lists of dicts with `printed`."""
    ids = [doc_id for (doc_id,) in Document.select(Document.id).where(where).order_by(*order).tuples()]
    for part in _chunks(ids):
        position = {doc_id: n for n, doc_id in enumerate(part)}
        rows = list(Document.select(*DOCUMENT_COLUMNS).join(Contact).where(_among(Document.id, part)).dicts())
        rows.sort(key=lambda row: position[row["id"]])
        yield _printed(rows)


# --- documents ----------------------------------------------------------------------------------

def document_rows(start, end, kind="", status="", contact=None):
    where = _issued(start, end)
    if kind:
        where &= Document.kind == kind
    if status:
        where &= Document.status == status
    if contact is not None:
        where &= Document.contact == contact.id
    for rows in _document_chunks(where, (Document.issue_date, Document.number, Document.id)):
        for row in rows:
            yield _document_row(row)


def _document_row(row):
    name, tax_id, subtotal, taxes, total = row["printed"]
    currency, kind = row["currency"], row["kind"]
    tax = sum(t[3] for t in taxes if t[1] >= 0)
    withholding = sum(t[3] for t in taxes if t[1] < 0)
    paid = credited = due = None
    if kind in PAYABLE_STATUSES:   # invoices and orders take payments
        paid = _amount(row["amount_paid"], currency)
        owed = max(row["total"] - row["amount_credited"] - row["amount_paid"], 0)
        due = _amount(owed if row["status"] in PAYABLE_STATUSES[kind] else 0, currency)
    if kind == INVOICE:
        credited = _amount(row["amount_credited"], currency)
    return (row["number"], kind, row["status"], _day(row["issue_date"]), _day(row["due_date"]), name, tax_id,
            row["reference"], currency, _amount(subtotal, currency), _amount(tax, currency),
            _amount(withholding, currency), _amount(total, currency), credited, paid, due)


# --- payments -----------------------------------------------------------------------------------

def _payment_day():
    return fn.COALESCE(Payment.paid_at, Payment.created_at)


def payment_rows(start, end, contact=None):
    day = _payment_day()
    where = ((day >= datetime.datetime.combine(start, datetime.time()))
             & (day < datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time())))
    if contact is not None:
        where &= Payment.contact == contact.id
    ids = [pid for (pid,) in Payment.select(Payment.id).where(where).order_by(day, Payment.id).tuples()]
    for part in _chunks(ids):
        yield from _payment_chunk(part)


def _payment_chunk(ids):
    position = {pid: n for n, pid in enumerate(ids)}
    rows = list(Payment.select(Payment.id, Payment.gateway, Payment.mode, Payment.amount, Payment.currency,
                               Payment.status, Payment.amount_refunded, Payment.provider_ref,
                               Payment.provider_payment_ref, Payment.method_note, Payment.paid_at, Payment.created_at,
                               Payment.document, Contact.name.alias("contact_name"),
                               Contact.tax_id.alias("contact_tax_id"))
                .join(Contact, on=(Payment.contact == Contact.id)).where(_among(Payment.id, ids)).dicts())
    rows.sort(key=lambda row: position[row["id"]])
    # The documents each paid: its own, and its shares of a grouped online payment.
    numbers = {}
    own = Document.select(Document.id, Document.number).where(_among(Document.id, {row["document"] for row in rows}))
    own = dict(own.tuples())
    shares = (PaymentAllocation.select(PaymentAllocation.payment, Document.number).join(Document)
              .where(_among(PaymentAllocation.payment, ids)).order_by(PaymentAllocation.id).tuples())
    for pid, number in shares:
        numbers.setdefault(pid, []).append(number)
    refunds = {}
    for pid, settled, amount, ref, kind in (Refund.select(Refund.payment, Refund.settled_at, Refund.amount,
                                                          Refund.provider_ref, Refund.kind)
                                            .where(_among(Refund.payment, ids) & (Refund.status == "succeeded"))
                                            .order_by(Refund.settled_at, Refund.id).tuples()):
        refunds.setdefault(pid, []).append((settled, amount, ref, kind))
    for row in rows:
        currency = row["currency"]
        paid = numbers.get(row["id"], [])
        mine = own.get(row["document"])
        if mine is not None and mine not in paid:
            paid.insert(0, mine)
        received = row["amount"] - row["amount_refunded"] if row["status"] in ("succeeded", "refunded") else 0
        given_back = "; ".join(
            " ".join(part for part in (_day(settled.date() if settled else None),
                                       str(_amount(amount, currency)), kind if kind != "refund" else "", ref) if part)
            for settled, amount, ref, kind in refunds.get(row["id"], []))
        method = row["gateway"] + (f" ({row['mode']})" if row["mode"] else "")
        yield (_day((row["paid_at"] or row["created_at"]).date()), row["contact_name"], row["contact_tax_id"],
               method, row["method_note"], row["provider_payment_ref"] or row["provider_ref"], row["status"],
               _amount(row["amount"], currency), currency, _amount(row["amount_refunded"], currency),
               _amount(received, currency), " ".join(n or "" for n in paid).strip(), given_back)


# --- the tax book -------------------------------------------------------------------------------

def _group_label(day, group, start, end):
    if group == "month":
        return f"{day.year}-{day.month:02d}"
    if group == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{start.isoformat()}/{end.isoformat()}"


def tax_book_rows(start, end, group="period"):
    """Rows per (period, currency): each tax (positive rates first, then withholdings, each by
    rate from the highest), then the total. Each row's base and tax are the invoices' minus
    the credit notes'."""
    where = (_issued(start, end) & Document.kind.in_((INVOICE, CREDIT_NOTE))
             & ~((Document.kind == INVOICE) & (Document.status == "void")))
    book = {}   # (period, currency) -> {(name, rate) or None: [inv base, inv tax, cn base, cn tax, documents]}
    for rows in _document_chunks(where, (Document.id,)):
        for row in rows:
            _name, _tax_id, subtotal, taxes, total = row["printed"]
            side = 0 if row["kind"] == INVOICE else 2
            key = (_group_label(row["issue_date"], group, start, end), row["currency"])
            sums = book.setdefault(key, {})
            for name, rate, base, amount in taxes:
                cell = sums.setdefault((name, rate), [0, 0, 0, 0, 0])
                cell[side] += base
                cell[side + 1] += amount
                cell[4] += 1
            cell = sums.setdefault(None, [0, 0, 0, 0, 0])
            cell[side] += subtotal
            cell[side + 1] += total - subtotal
            cell[4] += 1
    for (period, currency), sums in sorted(book.items()):
        taxes = sorted((k for k in sums if k is not None), key=lambda k: (k[1] < 0, -abs(k[1]), k[0]))
        for key in taxes + [None]:
            inv_base, inv_tax, cn_base, cn_tax, count = sums[key]
            if key is None:
                name, rate, kind = "", None, "total"
            else:
                name, rate, kind = key[0], _rate(key[1]), "withholding" if key[1] < 0 else "tax"
            yield (period, currency, name, rate, kind, _amount(inv_base, currency), _amount(inv_tax, currency),
                   _amount(cn_base, currency), _amount(cn_tax, currency), _amount(inv_base - cn_base, currency),
                   _amount(inv_tax - cn_tax, currency), count)
