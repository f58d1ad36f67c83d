"""The contacts' summary figures (models.ContactFigure), recomputed from the documents and
payments to check the rows the database triggers keep (migrations/0010_contact_figures.py).

This is the second, independent statement of what each figure counts: `flask figures check`
and the tests compare the two; `flask figures check --repair` rewrites the rows from this one
(after a restore from an old backup, say). The summary itself only reads the rows."""
from peewee import fn

from .db import db, is_sqlite
from .models import ContactFigure, Document, Payment

NO_DAY = ContactFigure.NO_DAY


def _month(field):
    if is_sqlite():
        return fn.date(field, "start of month")
    return fn.date_trunc("month", field).cast("date")


def _no_day_or(field):
    return fn.COALESCE(field, NO_DAY)


def _documents(figure, where, day, amount):
    """day None: the figure has no day (NO_DAY), so the rows are grouped without one."""
    columns = [Document.contact, Document.currency] + ([day] if day is not None else [])
    return (figure, Document.select(*columns, fn.SUM(amount), fn.COUNT(Document.id))
            .where(where).group_by(*columns))


def _definitions():
    """(figure, query of (contact, currency, day, amount, count)) for every figure."""
    invoice, quote, order = Document.kind == "invoice", Document.kind == "quote", Document.kind == "order"
    over = Document.amount_paid + Document.amount_credited - Document.total
    paid_day = _month(Payment.paid_at)
    return [
        _documents("due", invoice & (Document.status == "open"), _no_day_or(Document.due_date),
                   Document.total - Document.amount_credited - Document.amount_paid),
        _documents("favour", invoice & (Document.status == "paid") & (over > 0), None, over),
        _documents("quote", quote & (Document.status == "open"), _no_day_or(Document.valid_until), Document.total),
        _documents("order", order & Document.status.in_(("open", "confirmed", "shipped")), None, Document.total),
        _documents("invoiced", invoice & Document.status.not_in(("draft", "void")), _month(Document.issue_date),
                   Document.total),
        ("paid", Payment.select(Payment.contact, Payment.currency, paid_day,
                                fn.SUM(Payment.amount - Payment.amount_refunded), fn.COUNT(Payment.id))
         .where(Payment.status.in_(("succeeded", "refunded")) & Payment.paid_at.is_null(False))
         .group_by(Payment.contact, Payment.currency, paid_day)),
    ]


def _day(value):
    return str(value)[:10]


def expected():
    """{(contact id, figure, currency, 'YYYY-MM-DD'): (amount, count)} from the documents."""
    found = {}
    for figure, query in _definitions():
        for row in query.tuples():
            contact, currency, *day, amount, count = row
            found[(contact, figure, currency, _day(day[0] if day else NO_DAY))] = (int(amount or 0), int(count))
    return found


def stored():
    return {(r.contact_id, r.figure, r.currency, _day(r.day)): (r.amount, r.count)
            for r in ContactFigure.select() if r.count}


def differences():
    """[(key, stored, expected)] where the rows and the documents disagree; empty when they agree."""
    want, have = expected(), stored()
    return [(key, have.get(key), want.get(key)) for key in sorted(set(want) | set(have), key=str)
            if have.get(key) != want.get(key)]


def repair():
    """Rewrite every row from the documents (one transaction); returns how many differed."""
    with db.atomic():
        if not is_sqlite():   # no change to documents or payments while the rows are rewritten
            db.execute_sql("LOCK TABLE document, payment IN SHARE MODE")
        wrong = len(differences())
        ContactFigure.delete().execute()
        rows = [{"contact": c, "figure": f, "currency": cur, "day": day, "amount": a, "count": n}
                for (c, f, cur, day), (a, n) in expected().items()]
        for start in range(0, len(rows), 500):
            ContactFigure.insert_many(rows[start:start + 500]).execute()
    return wrong
