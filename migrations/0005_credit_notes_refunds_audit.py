"""Money corrections: credit notes (a document kind of their own, in their own series), what
credit notes took off each invoice, reversed manual payments, refunds and chargebacks, and an
audit trail that names who acted (staff user, API token, customer, gateway).

Two CHECK constraints change (document.kind gains 'credit_note', payment.status gains
'reversed'). PostgreSQL swaps the constraint; SQLite rebuilds the table, which the migrator does
with foreign keys off (outside a transaction: `atomic = False`), so no line or payment is
cascaded away while the table is copied."""
from peewee import *

atomic = False

OLD_KIND = "kind IN ('invoice', 'quote', 'order')"
NEW_KIND = "kind IN ('invoice', 'quote', 'order', 'credit_note')"
OLD_STATUS = "status IN ('pending', 'succeeded', 'failed', 'cancelled', 'refunded')"
NEW_STATUS = "status IN ('pending', 'succeeded', 'failed', 'cancelled', 'refunded', 'reversed')"
# peewee shortens long index names with a hash: the old one is found by its start.
OLD_SUMMARY_INDEX = "document_contact_id_kind_status_due_date_valid_until_cur%"


def up(migrator, db):
    sqlite = isinstance(db, SqliteDatabase)
    with db.atomic():
        migrator.migrate(
            migrator.add_column("document", "amount_credited", BigIntegerField(default=0)),
            migrator.add_column("document", "reason", TextField(default="")),
            migrator.add_column("payment", "amount_refunded", BigIntegerField(default=0)),
            migrator.add_column("payment", "reversed_at", DateTimeField(null=True)),
            migrator.add_column("payment", "reversal_reason", CharField(max_length=300, default="")),
            migrator.add_column("settings", "credit_note_prefix", CharField(max_length=20, default="R")),
            migrator.add_column("activity", "actor", CharField(max_length=40, default="")),
            migrator.add_column("activity", "data", TextField(default="")),
        )
        db.execute_sql("ALTER TABLE activity ADD COLUMN api_token_id INTEGER NULL "
                       "REFERENCES api_token (id) ON DELETE SET NULL")
    _swap_check(migrator, db, sqlite, "document", "kind", OLD_KIND, NEW_KIND, widen=12)
    _swap_check(migrator, db, sqlite, "payment", "status", OLD_STATUS, NEW_STATUS)
    _add_check(migrator, db, sqlite, "document", "amount_credited", "amount_credited >= 0")
    _add_check(migrator, db, sqlite, "payment", "amount_refunded", "amount_refunded >= 0 AND amount_refunded <= amount")
    with db.atomic():
        db.execute_sql("CREATE INDEX IF NOT EXISTS activity_api_token_id ON activity (api_token_id)")
        # The summary's index gains what credit notes took off, so the amount due still comes
        # from the index alone.
        listing = ("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'document' AND name LIKE ?"
                   if sqlite else "SELECT indexname FROM pg_indexes WHERE tablename = 'document' AND indexname LIKE %s")
        for (name,) in db.execute_sql(listing, (OLD_SUMMARY_INDEX,)).fetchall():
            db.execute_sql(f'DROP INDEX "{name}"')
        db.execute_sql("CREATE INDEX document_contact_id_kind_status_due_date_valid_until_currency_total_amou "
                       "ON document (contact_id, kind, status, due_date, valid_until, currency, total, "
                       "amount_paid, amount_credited)")

        class Refund(Model):
            payment_id = IntegerField(constraints=[SQL("REFERENCES payment (id) ON DELETE RESTRICT")])
            kind = CharField(max_length=12, default="refund",
                             constraints=[SQL("CHECK (kind IN ('refund', 'chargeback'))")])
            gateway = CharField(max_length=10)
            amount = BigIntegerField(constraints=[SQL("CHECK (amount > 0)")])
            currency = CharField(max_length=3)
            status = CharField(max_length=10, default="pending",
                               constraints=[SQL("CHECK (status IN ('pending', 'succeeded', 'failed'))")])
            provider_ref = CharField(max_length=120, default="")
            idempotency_key = CharField(max_length=80, unique=True)
            reason = CharField(max_length=300, default="")
            origin = CharField(max_length=10, default="staff",
                               constraints=[SQL("CHECK (origin IN ('staff', 'api', 'gateway'))")])
            created_by_id = IntegerField(null=True, constraints=[
                SQL("REFERENCES staff_user (id) ON DELETE SET NULL")])
            last_error = CharField(max_length=300, default="")
            created_at = DateTimeField()
            settled_at = DateTimeField(null=True)

            class Meta:
                database = db
                table_name = "refund"
        db.create_tables([Refund])
        db.execute_sql("CREATE INDEX refund_payment_id ON refund (payment_id)")
        db.execute_sql("CREATE INDEX refund_created_by_id ON refund (created_by_id)")
        db.execute_sql("CREATE UNIQUE INDEX refund_gateway_provider_ref ON refund (gateway, provider_ref) "
                       "WHERE (provider_ref != '')")


def _add_check(migrator, db, sqlite, table, column, check):
    if sqlite:
        migrator.migrate(migrator._update_column(table, column, lambda _name, definition: f"{definition} CHECK ({check})"))
    else:
        with db.atomic():
            db.execute_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_{column}_check" CHECK ({check})')


def _swap_check(migrator, db, sqlite, table, column, old, new, widen=None):
    if sqlite:
        # The migrator copies the table with this column's definition rewritten, then puts the
        # indexes back; foreign keys are off for the copy (SqliteMigrator.migration_context).
        def rewrite(_name, definition):
            if old not in definition:
                raise RuntimeError(f"{table}.{column}: expected the constraint {old!r} in {definition!r}")
            return definition.replace(old, new)
        migrator.migrate(migrator._update_column(table, column, rewrite))
        return
    with db.atomic():
        names = db.execute_sql(
            "SELECT c.conname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
            "WHERE t.relname = %s AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE %s",
            (table, f"%{column}%ANY%")).fetchall()
        for (name,) in names:   # PostgreSQL prints IN (...) as = ANY (ARRAY[...])
            db.execute_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        if widen:
            db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE VARCHAR({widen})')
        db.execute_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_{column}_check" CHECK ({new})')

