"""The commercial summary of one contact: balances, what waits for them, a year of activity.

Every figure is grouped by currency (a contact may be invoiced in more than one) and comes
from a handful of aggregate queries, so the page costs the same for 10 documents or 10,000."""
import datetime

from peewee import fn

from .db import month_of
from .models import Activity, Document, Payment


def _by_currency(query):
    return {currency: value for currency, value in query.tuples()}


def balances(contact):
    """Outstanding and overdue amounts per currency, and counts of what waits for the contact."""
    today = datetime.date.today()
    docs = Document.visible_to(contact)
    # What is owed: the total less what credit notes took off and what was paid (Document.amount_due).
    due = Document.total - Document.amount_credited - Document.amount_paid
    open_invoices = docs.where((Document.kind == "invoice") & (Document.status == "open"))
    outstanding = _by_currency(open_invoices.select(Document.currency, fn.SUM(due)).group_by(Document.currency))
    overdue = _by_currency(open_invoices.where(Document.due_date < today)
                           .select(Document.currency, fn.SUM(due)).group_by(Document.currency))
    # Paid invoices a credit note corrected afterwards: the business owes the difference back
    # (Document.credit_balance) until it refunds it, which lowers amount_paid again.
    favour = Document.amount_paid + Document.amount_credited - Document.total
    in_favour = _by_currency(docs.where((Document.kind == "invoice") & (Document.status == "paid") & (favour > 0))
                             .select(Document.currency, fn.SUM(favour)).group_by(Document.currency))
    quotes = docs.where((Document.kind == "quote") & (Document.status == "open")
                        & ((Document.valid_until.is_null()) | (Document.valid_until >= today)))
    quote_totals = _by_currency(quotes.select(Document.currency, fn.SUM(Document.total)).group_by(Document.currency))
    open_orders = docs.where((Document.kind == "order") & Document.status.in_(("open", "confirmed", "shipped")))
    return {"outstanding": outstanding, "overdue": overdue, "in_favour": in_favour, "quotes_count": quotes.count(),
            "quotes_total": quote_totals, "open_orders": open_orders.count()}


def waiting(contact, limit=5):
    """The invoices to pay, the quotes to approve and the latest orders."""
    today = datetime.date.today()
    docs = Document.visible_to(contact)
    return {
        "pending": list(docs.where((Document.kind == "invoice") & (Document.status == "open"))
                        .order_by(Document.due_date, Document.id).limit(limit)),
        "quotes": list(docs.where((Document.kind == "quote") & (Document.status == "open")
                                  & ((Document.valid_until.is_null()) | (Document.valid_until >= today)))
                       .order_by(Document.valid_until, Document.id).limit(limit)),
        "orders": list(docs.where(Document.kind == "order")
                       .order_by(Document.issue_date.desc(), Document.id.desc()).limit(limit)),
    }


def recent_activity(contact, limit=8):
    return list(Activity.visible_to(contact)
                .where(Activity.action.in_(("status_open", "payment_manual", "payment_succeeded",
                                            "comment", "quote_accepted", "quote_declined", "order_placed",
                                            "credit_note_issued", "payment_reversed", "refund_succeeded")))
                .order_by(Activity.created_at.desc()).limit(limit))


def _first_day(key):
    year, month = str(key)[:7].split("-")
    return datetime.date(int(year), int(month), 1)


def _month_starts(today, months=12):
    first = today.replace(day=1)
    starts = []
    for back in range(months - 1, -1, -1):
        year, month = first.year, first.month - back
        while month <= 0:
            month, year = month + 12, year - 1
        starts.append(datetime.date(year, month, 1))
    return starts


def monthly(contact, today=None):
    """Invoiced and paid per month over the last 12 months, in the contact's main currency.

    Returns dict(currency, months=[(date, invoiced, paid)], top) or None without invoices."""
    today = today or datetime.date.today()
    starts = _month_starts(today)
    invoices = Document.visible_to(contact).where((Document.kind == "invoice") & (Document.status != "void")
                                                  & (Document.issue_date >= starts[0]))
    main = (invoices.select(Document.currency, fn.COUNT(Document.id).alias("n"))
            .group_by(Document.currency).order_by(fn.COUNT(Document.id).desc()).tuples().first())
    if not main:
        return None
    currency = main[0]
    # Summed per month by the database: the page costs the same for 10 invoices or 10,000.
    invoiced = dict.fromkeys(starts, 0)
    paid = dict.fromkeys(starts, 0)
    month = month_of(Document.issue_date)
    for key, total in (invoices.where(Document.currency == currency)
                       .select(month, fn.SUM(Document.total)).group_by(month).tuples()):
        invoiced[_first_day(key)] = total or 0
    since = datetime.datetime.combine(starts[0], datetime.time())
    paid_month = month_of(Payment.paid_at)
    # What the business kept: a refund comes off the payment it gave back; a reversed one never counted.
    payments = (Payment.visible_to(contact).select(paid_month, fn.SUM(Payment.amount - Payment.amount_refunded))
                .where(Payment.status.in_(("succeeded", "refunded")) & (Payment.currency == currency)
                       & (Payment.paid_at >= since))
                .group_by(paid_month))
    for key, amount in payments.tuples():
        if _first_day(key) in paid:
            paid[_first_day(key)] = amount or 0
    months = [(m, invoiced[m], paid[m]) for m in starts]
    top = max([max(i, p) for _m, i, p in months] + [1])
    return {"currency": currency, "months": months, "top": top}
