"""Brings a database made by an early main up to today's 0001_initial.

0001_initial was rewritten in place four times before releases froze migrations (commits
db2e73c, 6cdf1c3, 355e896, then 8ecb717's, which is today's). A database made by an earlier
version is recorded as having 0001_initial and lacks, depending on its age: settings.logo_hash,
payment.contact_id (and the payment index that serves the summary), and the document list and
summary covering indexes (6cdf1c3 and 355e896 had an older list index instead).

Named 0001_repair so that it runs right after 0001_initial and before 0002 on such a database
(the runner orders by number, then name). On any other database, new or old, it finds nothing
to do. Only what is missing is added, so it is safe whatever the database's age.

SQLite: payment.contact_id is added nullable, filled from the payment's document, then made NOT
NULL, which rebuilds the table; the migrator does that with foreign keys off (outside a
transaction: `atomic = False`), so no allocation is cascaded away during the copy."""
from peewee import *
from playhouse.migrate import make_index_name

atomic = False

DOCUMENT_INDEXES = (
    ("contact_id", "kind", "issue_date", "id", "status", "currency", "total"),
    ("contact_id", "kind", "status", "due_date", "valid_until", "currency", "total", "amount_paid"),
)
OLD_LIST_INDEX = ("contact_id", "kind", "issue_date", "id", "status")   # 6cdf1c3, 355e896
PAYMENT_SUMMARY_INDEX = ("contact_id", "status", "currency", "paid_at", "amount")


def up(migrator, db):
    sqlite = isinstance(db, SqliteDatabase)
    if "logo_hash" not in _columns(db, "settings"):
        with db.atomic():
            migrator.migrate(migrator.add_column("settings", "logo_hash", CharField(max_length=64, default="")))
    if "contact_id" not in _columns(db, "payment"):
        with db.atomic():
            db.execute_sql("ALTER TABLE payment ADD COLUMN contact_id INTEGER NULL "
                           "REFERENCES contact (id) ON DELETE RESTRICT")
            db.execute_sql("UPDATE payment SET contact_id = "
                           "(SELECT document.contact_id FROM document WHERE document.id = payment.document_id)")
            if not sqlite:
                db.execute_sql("ALTER TABLE payment ALTER COLUMN contact_id SET NOT NULL")
        if sqlite:
            migrator.migrate(migrator.add_not_null("payment", "contact_id"))
    with db.atomic():
        _index(db, "payment", ("contact_id",))
        _index(db, "payment", PAYMENT_SUMMARY_INDEX)
        old = make_index_name("document", OLD_LIST_INDEX)
        if old in _indexes(db, "document"):
            db.execute_sql(f'DROP INDEX "{old}"')
        for columns in DOCUMENT_INDEXES:
            _index(db, "document", columns)


def _columns(db, table):
    return {column.name for column in db.get_columns(table)}


def _indexes(db, table):
    return {index.name for index in db.get_indexes(table)}


def _index(db, table, columns):
    name = make_index_name(table, columns)
    # PostgreSQL keeps 63 characters of a name; peewee makes up to 64.
    if name not in _indexes(db, table) and name[:63] not in _indexes(db, table):
        db.execute_sql(f'CREATE INDEX "{name}" ON "{table}" ({", ".join(columns)})')
