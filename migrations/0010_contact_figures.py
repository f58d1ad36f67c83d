"""Each contact's summary figures kept in rows (issue 18): the summary reads a handful of rows
instead of aggregating the contact's whole history, whatever its size.

A row is (contact, figure, currency, day) -> amount, count. Database triggers on `document` and
`payment` keep the rows in the same transaction as every change to those tables, whichever
code (services, API, CLI, a staff member's SQL) makes it: take out what the old row counted,
add what the new row counts. So the figures can never be stale, and `flask figures check`
recomputes them from the documents to prove it. The figures:

  due       open invoices' amount due, by due date (overdue = the days before today)
  favour    paid invoices a credit note took more off than was still owed: owed back
  quote     open quotes' totals, by last valid day (valid = today or later)
  order     open, confirmed or shipped orders
  invoiced  issued, non-void invoices' totals, by month of issue
  paid      completed payments less their refunds, by month paid

"No date" is stored as 9999-12-31 (never overdue, always valid), so the key has no NULL."""
from peewee import *

NO_DAY = "9999-12-31"

# (figure, table, condition, day, amount): R is the row (NEW or OLD); {no_day} and {month(x)}
# are written per database below.
FIGURES = [
    ("due", "document", "R.kind = 'invoice' AND R.status = 'open'",
     "COALESCE(R.due_date, {no_day})", "R.total - R.amount_credited - R.amount_paid"),
    ("favour", "document", "R.kind = 'invoice' AND R.status = 'paid' AND R.amount_paid + R.amount_credited > R.total",
     "{no_day}", "R.amount_paid + R.amount_credited - R.total"),
    ("quote", "document", "R.kind = 'quote' AND R.status = 'open'",
     "COALESCE(R.valid_until, {no_day})", "R.total"),
    ("order", "document", "R.kind = 'order' AND R.status IN ('open', 'confirmed', 'shipped')",
     "{no_day}", "R.total"),
    ("invoiced", "document", "R.kind = 'invoice' AND R.status NOT IN ('draft', 'void')",
     "{month_issue}", "R.total"),
    ("paid", "payment", "R.status IN ('succeeded', 'refunded') AND R.paid_at IS NOT NULL",
     "{month_paid}", "R.amount - R.amount_refunded"),
]
# An UPDATE that changes none of these leaves every figure as it was: the trigger does not run.
WATCHED = {
    "document": "contact_id, kind, status, currency, total, amount_paid, amount_credited, due_date, "
                "valid_until, issue_date",
    "payment": "contact_id, status, currency, amount, amount_refunded, paid_at",
}


def _dialect(db):
    if isinstance(db, SqliteDatabase):
        return {"no_day": f"'{NO_DAY}'", "month_issue": "date(R.issue_date, 'start of month')",
                "month_paid": "date(R.paid_at, 'start of month')"}
    return {"no_day": f"DATE '{NO_DAY}'", "month_issue": "CAST(date_trunc('month', R.issue_date) AS date)",
            "month_paid": "CAST(date_trunc('month', R.paid_at) AS date)"}


def _parts(db, table, row):
    words = _dialect(db)
    for name, on, condition, day, amount in FIGURES:
        if on == table:
            yield (name, condition.replace("R.", f"{row}."), day.format(**words).replace("R.", f"{row}."),
                   amount.replace("R.", f"{row}."))


def _add(db, table, row):
    return [f"""INSERT INTO contact_figure (contact_id, figure, currency, day, amount, count)
        SELECT {row}.contact_id, '{name}', {row}.currency, {day}, {amount}, 1 WHERE {condition}
        ON CONFLICT (contact_id, figure, currency, day)
        DO UPDATE SET amount = contact_figure.amount + excluded.amount, count = contact_figure.count + 1;"""
            for name, condition, day, amount in _parts(db, table, row)]


def _take_out(db, table, row):
    return [f"""UPDATE contact_figure SET amount = amount - ({amount}), count = count - 1
        WHERE contact_id = {row}.contact_id AND figure = '{name}' AND currency = {row}.currency
          AND day = {day} AND {condition};"""
            for name, condition, day, amount in _parts(db, table, row)] + [
        # A row nothing counts any more goes: the figures stay as small as what is open.
        f"DELETE FROM contact_figure WHERE contact_id = {row}.contact_id AND count = 0;"]


def _backfill(db, table):
    for name, condition, day, amount in _parts(db, table, "R"):
        db.execute_sql(f"""INSERT INTO contact_figure (contact_id, figure, currency, day, amount, count)
            SELECT R.contact_id, '{name}', R.currency, {day}, SUM({amount}), COUNT(*) FROM "{table}" AS R
            WHERE {condition} GROUP BY R.contact_id, R.currency, {day}""")


def _triggers_sqlite(db, table):
    for event, rows in (("INSERT", [("NEW", _add)]), ("UPDATE OF " + WATCHED[table], [("OLD", _take_out), ("NEW", _add)]),
                        ("DELETE", [("OLD", _take_out)])):
        body = "\n".join(s for row, make in rows for s in make(db, table, row))
        name = f"figures_{table}_{event.split()[0].lower()}"
        db.execute_sql(f'CREATE TRIGGER {name} AFTER {event} ON "{table}" FOR EACH ROW BEGIN\n{body}\nEND')


def _triggers_postgres(db, table):
    take_out = "\n".join(_take_out(db, table, "OLD"))
    add = "\n".join(_add(db, table, "NEW"))
    db.execute_sql(f"""CREATE FUNCTION figures_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
{take_out}
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
{add}
  END IF;
  RETURN NULL;
END $$""")
    db.execute_sql(f"""CREATE TRIGGER figures_{table} AFTER INSERT OR DELETE OR UPDATE OF {WATCHED[table]}
        ON "{table}" FOR EACH ROW EXECUTE FUNCTION figures_{table}()""")


def up(migrator, db):
    class Contact(Model):
        class Meta:
            database = db
            table_name = "contact"

    class ContactFigure(Model):
        contact = ForeignKeyField(Contact, on_delete="CASCADE")
        figure = CharField(max_length=10)
        currency = CharField(max_length=3)
        day = DateField()
        amount = BigIntegerField(default=0)
        count = IntegerField(default=0)

        class Meta:
            database = db
            table_name = "contact_figure"
            indexes = ((("contact", "figure", "currency", "day"), True),)

    db.create_tables([ContactFigure])
    # The summary's "recent activity" reads a contact's newest rows without sorting its history.
    db.execute_sql('CREATE INDEX activity_contact_id_created_at ON activity (contact_id, created_at)')
    for table in ("document", "payment"):
        _backfill(db, table)
        (_triggers_sqlite if isinstance(db, SqliteDatabase) else _triggers_postgres)(db, table)
