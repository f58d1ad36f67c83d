"""Upgrades keep data: a database made at an older migration, with rows in it, migrated to
today on SQLite (where a CHECK change rebuilds the table) and on PostgreSQL."""
import datetime

import pytest
from peewee import IntegrityError, PostgresqlDatabase, SqliteDatabase
from playhouse.migrations import Runner

from app.cli import MIGRATIONS
from app.models import (Activity, Comment, Contact, Document, DocumentLine, LineTax, Payment,
                        PaymentAllocation, Settings)
from tests.conftest import PG_URL
from tests.old_schema import insert

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path):
    if request.param == "sqlite":
        database = SqliteDatabase(str(tmp_path / "old.db"), pragmas={"foreign_keys": 1})
        yield database
        database.close()
        return
    if not PG_URL:
        pytest.skip("the PostgreSQL run of the suite covers this")
    admin = PostgresqlDatabase("test", host="127.0.0.1", user="postgres")
    admin.execute_sql("DROP DATABASE IF EXISTS portal_migration_test")
    admin.execute_sql("CREATE DATABASE portal_migration_test")
    database = PostgresqlDatabase("portal_migration_test", host="127.0.0.1", user="postgres")
    yield database
    database.close()
    admin.execute_sql("DROP DATABASE IF EXISTS portal_migration_test")
    admin.close()


def test_credit_notes_migration_keeps_lines_payments_and_history(old_database):
    database = old_database
    runner = Runner(database, MIGRATIONS)
    runner.up("0004_document_snapshot")
    insert(database, Settings, id=1)
    contact = insert(database, Contact, name="Cliente")
    doc = insert(database, Document, contact=contact, kind="invoice", number="F-2026-0001", status="open",
                 issue_date=datetime.date(2026, 1, 2), currency="EUR", subtotal=1000, tax_total=210, total=1210,
                 amount_paid=500)
    line = insert(database, DocumentLine, document=doc, position=0, description="Work", qty_milli=1000,
                  unit_price=1000, net=1000)
    insert(database, LineTax, line=line, name="IVA", rate_bp=2100)
    payment = insert(database, Payment, document=doc, contact=contact, gateway="stripe", amount=500, currency="EUR",
                     status="succeeded", idempotency_key="k1")
    insert(database, PaymentAllocation, payment=payment, document=doc, amount=500, applied=500)
    insert(database, Comment, document=doc, author_name="A", body="Hola")
    insert(database, Activity, document=doc, contact=contact, action="status_open")

    runner.up()

    def count(table):
        return database.execute_sql(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    assert {t: count(t) for t in ("document", "document_line", "line_tax", "payment", "payment_allocation",
                                  "comment", "activity")} == {
        "document": 1, "document_line": 1, "line_tax": 1, "payment": 1, "payment_allocation": 1,
        "comment": 1, "activity": 1}
    row = database.execute_sql("SELECT number, total, amount_paid, amount_credited FROM document").fetchone()
    assert tuple(row) == ("F-2026-0001", 1210, 500, 0)
    with database.bind_ctx([Document, Payment]):
        Document.create(contact=contact, kind="credit_note", status="issued", number="R-2026-0001",
                        issue_date=datetime.date(2026, 1, 3), currency="EUR", source=doc)
        Payment.update(status="reversed").where(Payment.id == payment).execute()
        with pytest.raises(IntegrityError), database.atomic():
            Document.update(amount_credited=-1).where(Document.id == doc).execute()
        with pytest.raises(IntegrityError), database.atomic():
            Payment.update(amount_refunded=501).where(Payment.id == payment).execute()
        with pytest.raises(IntegrityError), database.atomic():
            Document.create(contact=contact, kind="receipt", issue_date=datetime.date(2026, 1, 3), currency="EUR")
    # Foreign keys still hold after the rebuild: a line cannot point at no document.
    with pytest.raises(IntegrityError), database.atomic():
        database.execute_sql("INSERT INTO document_line (document_id, position, description, qty_milli, unit_price, "
                             "discount_bp, net, stock_taken) VALUES (999, 0, 'x', 1, 1, 0, 1, 0)")
