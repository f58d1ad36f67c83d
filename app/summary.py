"""The commercial summary of one contact: balances, what waits for them, a year of activity.

Every figure is grouped by currency (a contact may be invoiced in more than one). The balances
and the chart read the contact's figure rows (models.ContactFigure), which the database keeps
in the same transaction as every change to documents and payments: two small queries, the same
for 10 documents or 10,000, and never stale. The lists are the first few rows of an index."""
import datetime

from peewee import SQL, Case, fn

from .models import Activity, ContactFigure, Document

BALANCES = ("due", "favour", "quote", "order")
MONTHLY = ("invoiced", "paid")


def figures(contact, today=None):
    """The balances and the chart in one read of the contact's figure rows:
    {"balances": balances(), "chart": monthly()}."""
    today = today or datetime.date.today()
    starts = _month_starts(today)
    F = ContactFigure
    past = F.day < today   # due before today: overdue; valid until before today: expired
    # The balances summed over their days; the chart's figures kept per month since a year ago.
    day = Case(None, [(F.figure.in_(MONTHLY), F.day)], None)
    rows = (F.select(F.figure, F.currency, day, fn.SUM(F.amount), fn.SUM(F.count),
                     fn.SUM(Case(None, [(past, F.amount)], 0)), fn.SUM(Case(None, [(past, F.count)], 0)))
            .where((F.contact == contact) & (F.figure.in_(BALANCES) | (F.figure.in_(MONTHLY) & (F.day >= starts[0]))))
            # By position: PostgreSQL would not see the CASE and its parameters as the same expression twice.
            .group_by(SQL("1"), SQL("2"), SQL("3")).tuples())
    rows = [(figure, currency, month, *(int(v or 0) for v in sums)) for figure, currency, month, *sums in rows]
    return {"balances": _balances(r for r in rows if r[0] in BALANCES),
            "chart": _chart([r for r in rows if r[0] in MONTHLY], starts)}


def balances(contact, today=None):
    """Outstanding and overdue amounts per currency, and counts of what waits for the contact."""
    return figures(contact, today)["balances"]


def monthly(contact, today=None):
    """Invoiced and paid per month over the last 12 months, in the contact's main currency (the
    one with the most invoices in those months).

    Returns dict(currency, months=[(date, invoiced, paid)], top) or None without invoices."""
    return figures(contact, today)["chart"]


def _balances(rows):
    found = {"outstanding": {}, "overdue": {}, "in_favour": {}, "quotes_count": 0, "quotes_total": {},
             "open_orders": 0}
    for figure, currency, _month, amount, count, past_amount, past_count in rows:
        if figure == "due":
            found["outstanding"][currency] = amount
            if past_count:
                found["overdue"][currency] = past_amount
        elif figure == "favour":
            found["in_favour"][currency] = amount
        elif figure == "quote" and count > past_count:
            found["quotes_count"] += count - past_count
            found["quotes_total"][currency] = amount - past_amount
        elif figure == "order":
            found["open_orders"] += count
    return found


def _chart(rows, starts):
    counts = {}
    for figure, currency, _month, _amount, count, *_past in rows:
        if figure == "invoiced":
            counts[currency] = counts.get(currency, 0) + count
    if not counts:
        return None
    currency = min(counts, key=lambda c: (-counts[c], c))
    # What the business kept: the paid figure is each payment less its refunds.
    sums = {"invoiced": dict.fromkeys(starts, 0), "paid": dict.fromkeys(starts, 0)}
    for figure, cur, month, amount, *_rest in rows:
        month = _first_day(month)
        if cur == currency and month in sums[figure]:
            sums[figure][month] += amount
    months = [(m, sums["invoiced"][m], sums["paid"][m]) for m in starts]
    top = max([max(i, p) for _m, i, p in months] + [1])
    return {"currency": currency, "months": months, "top": top}


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
