"""Upgrades keep data: a database made at an older migration, with rows in it, migrated to
today on SQLite (where a CHECK change rebuilds the table) and on PostgreSQL."""
import datetime
import hashlib
import os
import shutil
from pathlib import Path

import pytest
from peewee import IntegrityError, PostgresqlDatabase, SqliteDatabase
from playhouse.migrations import Runner
from playhouse.schema_diff import diff_models

from app import create_app
from app.cli import MIGRATIONS
from app.models import (MODELS, Activity, Comment, Contact, Document, DocumentLine, LineTax, Payment,
                        PaymentAllocation, Person, Settings)
from tests.conftest import PG_URL, Browser
from tests.factories import PASSWORD
from tests.old_schema import insert

# Every migration file main has released, with its SHA-256. A released migration is never
# edited (a database that ran it would never see the change): add a new one instead, and add
# it here when it is released.
RELEASED = {
    "0001_initial.py": "5c27bc6dfdfc496d728284142b9c2c8981efee399e73890674a0f99b25f53d21",
    "0001_repair_early_schemas.py": "45712a95b895e734e3c5c88a861f3c1cb582054ad745c1272c605fcfa9976e10",
    "0002_contact_issue_mail.py": "d84fe68ee6b3133a075404892734ba6eeac9b36ead07136d201c2ef07c7b8a37",
    "0003_number_series.py": "c9410f5456f033071de18050682375f5384a7b3f77112d3cf6d7b2f0f91979da",
    "0004_document_snapshot.py": "d95d1e5aed48d3c3b6efcdada33f72ee1de778a99af86a521f8f9cdbb1ece435",
    "0005_credit_notes_refunds_audit.py": "8736ab167f216e7a45dc1a73236d512b4824489fbb686fc5c3190178c56a9ff8",
    "0006_sealed_secrets.py": "fb2a9ea1ec7c16ba901eaf58ab8ae08eab262102fb944ac0ac696130d023c442",
    "0007_payment_processing.py": "ce78426578617037c058b34df479afc6dcf7a11bc61fcb5c723a354e591ebfc4",
    "0008_heartbeat.py": "25cde349f21d1c3ffcc6e27e963bb99a466d5742bb1bd6686cfb994b559bef8f",
    "0009_staff_security.py": "701fd0a6db9c7984749aede81a77a5590e1ebe503149c8f6b50c1c4fb9e9656a",
    "0010_contact_figures.py": "fe244a30fce4c84995f7b53c068e5d6a031e1d9bae94ba118bf398b043b9b418",
    "0011_document_list_order.py": "b70c64b00b2a1858b4dad407930a21ca3453579489fdab5bd5219e2e11535b1c",
    "0012_reminders.py": "5bd9dc0897217871dc56b4a40a3e684df8bbd9626d806cd12c7de3baef302db4",
    "0013_accountant_links.py": "f4dbcdb2e9ae9af8a8401434009af9d07896f6be23f52aa9059830899c49fb31",
    "0014_einvoice_parties.py": "f68e5c828a42b557206d231ea2852ae6de8e996f98d1da85799fff13ad0766e9",
    "0015_people_roles.py": "f373e85a26b35d7a380fd435e2430c9f50a5d36d5353d4e000a02a0600d7c7d8",
    "0016_passkeys_totp.py": "d22f118a9876626b61d8b5a8aa77f990fac18990aa49fa540730437436514bcc",
    "0017_sign_in_kinds.py": "d25d4e91db70933ae0db0833325679616fe5a6ad7e2dc093470398b3bc10d601",
}
EARLY = Path(__file__).parent / "early_migrations"

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path):
    if request.param == "sqlite":
        database = SqliteDatabase(str(tmp_path / "old.db"), pragmas={"foreign_keys": 1})
        yield database
        database.close()
        return
    if not PG_URL:
        pytest.skip("only on PostgreSQL: the PostgreSQL run of the suite covers this")
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


def test_released_migrations_are_never_edited():
    found = {name: hashlib.sha256((Path(MIGRATIONS) / name).read_bytes()).hexdigest()
             for name in sorted(os.listdir(MIGRATIONS)) if name[:1].isdigit() and name.endswith(".py")}
    assert found == RELEASED, "a released migration changed, vanished or is not listed in RELEASED"


@pytest.mark.parametrize("version", ["db2e73c", "6cdf1c3", "355e896", "8ecb717"])
def test_a_database_made_by_an_early_main_reaches_head_and_serves_pages(old_database, tmp_path, version):
    """0001_initial was rewritten in place before migrations were frozen: a database made by
    each of its versions (kept in tests/early_migrations; 8ecb717's is today's) gets to head."""
    database = old_database
    first = tmp_path / "first"
    first.mkdir()
    early = EARLY / f"0001_initial_{version}.py"
    shutil.copy(early if early.exists() else Path(MIGRATIONS) / "0001_initial.py", first / "0001_initial.py")
    Runner(database, str(first)).up()
    insert(database, Settings, id=1, name="Taller Antiguo")
    contact = insert(database, Contact, name="Cliente Antiguo", portal_enabled=True)
    insert(database, Person, contact=contact, email="old@example.com", name="Old", password_hash=_password_hash())
    doc = insert(database, Document, contact=contact, kind="invoice", number="F-2026-0007", status="open",
                 issue_date=datetime.date(2026, 1, 2), due_date=datetime.date(2026, 2, 2), currency="EUR",
                 subtotal=1000, tax_total=210, total=1210, amount_paid=500)
    insert(database, DocumentLine, document=doc, position=0, description="Work", qty_milli=1000, unit_price=1000,
           net=1000)
    payment = insert(database, Payment, document=doc, contact=contact, gateway="manual", amount=500,
                     currency="EUR", status="succeeded", idempotency_key="k1",
                     paid_at=datetime.datetime(2026, 1, 5))
    insert(database, PaymentAllocation, payment=payment, document=doc, amount=500, applied=500)

    Runner(database, MIGRATIONS).up()

    assert not diff_models(database, MODELS)
    assert database.execute_sql("SELECT contact_id FROM payment").fetchone()[0] == contact
    assert database.execute_sql("SELECT COUNT(*) FROM payment_allocation").fetchone()[0] == 1
    url = (f"sqlite:///{database.database}" if isinstance(database, SqliteDatabase)
           else "postgresql://postgres@127.0.0.1:5432/portal_migration_test")
    database.close()
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key-not-for-production", "DATABASE_URL": url,
                      "BASE_URL": "http://portal.test", "HUEY_FILE": str(tmp_path / "huey.db")})
    from app.db import db
    try:
        browser = Browser(app.test_client())
        browser.get("/login")
        assert browser.post("/login", {"email": "old@example.com", "password": PASSWORD}).status_code == 303
        home = browser.get("/")
        assert home.status_code == 200 and "7.10" in home.get_data(as_text=True)   # 12.10 due, 5.00 paid
        page = browser.get(f"/documents/{doc}")
        assert page.status_code == 200 and "F-2026-0007" in page.get_data(as_text=True)
        # The figures were filled from the documents that were already there (0010's backfill).
        from app import figures
        with app.app_context(), db.connection_context():
            assert figures.stored() and figures.differences() == []
    finally:
        db.close_all() if hasattr(db.obj, "close_all") else db.close()   # the pool lets the database go


def _password_hash():
    from app.passwords import hash_password
    return hash_password(PASSWORD)
