"""Numbering series: correlative numbers given on issue, no gaps, never backwards, concurrent
issues on either database, the back-office page that continues an old series, and the
migration that starts each series after the numbers already given."""
import datetime
from functools import partial

import pytest
from peewee import IntegrityError, SqliteDatabase

from app import numbering
from app.api.auth import create_token
from app.cli import MIGRATIONS
from app.db import db, init_db
from app.models import Contact, Document, NumberSeries, Settings
from app.rules import Refused
from tests.concurrency import race
from tests.conftest import PG_URL, soup
from tests.factories import make_contact, make_document, settings
from tests.old_schema import insert

YEAR = datetime.date.today().year


@pytest.fixture
def bearer(app):
    return {"Authorization": "Bearer " + create_token("ERP")[0]}


def _issue(client, bearer, doc_id):
    resp = client.post(f"/api/v1/documents/{doc_id}/issue", headers=bearer)
    return resp.status_code, (resp.get_json() or {}).get("number")


def test_fifty_concurrent_issues_get_one_to_fifty(app, bearer):
    settings(invoice_prefix="F")
    contact = make_contact()
    drafts = [make_document(contact, status="draft") for _ in range(50)]
    db.close()
    if PG_URL:   # fifty requests at once in one process: a pool as large as the race
        init_db(PG_URL + ("&" if "?" in PG_URL else "?") + "max_connections=60&stale_timeout=300")
    results = race(*(partial(_issue, app.test_client(), bearer, d.id) for d in drafts))
    db.connect(reuse_if_open=True)
    assert [status for status, _n in results] == [200] * 50
    assert sorted(number for _s, number in results) == [f"F-{YEAR}-{n:04d}" for n in range(1, 51)]
    assert NumberSeries.get(NumberSeries.kind == "invoice").last_used == 50


def test_drafts_have_no_number_and_a_deleted_draft_leaves_no_gap(app, staff, client, bearer):
    contact = make_contact()
    first, second = make_document(contact, status="draft"), make_document(contact, status="draft")
    assert Document.get_by_id(first.id).number == ""
    assert staff.post(f"/staff/documents/{first.id}/delete").status_code == 303
    assert _issue(client, bearer, second.id) == (200, f"F-{YEAR}-0001")
    assert _issue(client, bearer, second.id)[0] == 409      # issued once, numbered once
    assert NumberSeries.get(NumberSeries.kind == "invoice").next_n == 2


def test_a_rolled_back_issue_gives_its_number_back(app):
    with app.app_context():
        with pytest.raises(RuntimeError):
            with db.atomic():
                assert numbering.take("invoice", datetime.date.today()) == f"F-{YEAR}-0001"
                raise RuntimeError("the issue failed after taking the number")
        assert numbering.take("invoice", datetime.date.today()) == f"F-{YEAR}-0001"


def test_issuing_dates_the_document_today_and_keeps_its_terms(app, client, bearer):
    last_week = datetime.date.today() - datetime.timedelta(days=7)
    draft = make_document(make_contact(), status="draft", issue_date=last_week,
                          due_date=last_week + datetime.timedelta(days=30))
    _issue(client, bearer, draft.id)
    issued = Document.get_by_id(draft.id)
    assert issued.issue_date == datetime.date.today()
    assert issued.due_date == datetime.date.today() + datetime.timedelta(days=30)


def test_staff_continue_a_series_and_cannot_set_it_back(app, staff, client, bearer):
    page = soup(staff.get("/staff/settings/numbering/"))
    assert page.find(id="next-invoice").get_text() == f"F-{YEAR}-0001"
    series = NumberSeries.get((NumberSeries.kind == "invoice") & (NumberSeries.year == YEAR))
    url = f"/staff/settings/numbering/{series.id}"
    assert staff.post(url, {"pattern": "{code}/{year}/{n:05d}", "next_n": "500"}).status_code == 303
    draft = make_document(make_contact(), status="draft")
    assert _issue(client, bearer, draft.id) == (200, f"F/{YEAR}/00500")
    back = staff.post(url, {"pattern": "{code}/{year}/{n:05d}", "next_n": "500"})
    assert back.status_code == 422 and "500" in soup(back).find(id="e-next_n").get_text()
    for bad in ("F-{year}", "{code}-{n}-{secret}", "{n:>9}", "{n"):
        resp = staff.post(url, {"pattern": bad, "next_n": "900"})
        assert resp.status_code == 422 and soup(resp).find(id="e-pattern") is not None
    assert NumberSeries.get_by_id(series.id).next_n == 501


def test_numbers_never_go_backwards_through_the_service(app):
    with app.app_context():
        row = numbering.series("order", YEAR)
        numbering.configure(row, numbering.DEFAULT_PATTERN, 9999)
        assert numbering.take("order", datetime.date.today()) == f"SO-{YEAR}-9999"
        assert numbering.take("order", datetime.date.today()) == f"SO-{YEAR}-10000"
        with pytest.raises(Refused) as refused:
            numbering.configure(NumberSeries.get_by_id(row.id), numbering.DEFAULT_PATTERN, 42)
        assert refused.value.code == "below_used"


def test_the_migration_starts_each_series_after_the_numbers_given(tmp_path):
    from playhouse.migrations import Runner
    database = SqliteDatabase(str(tmp_path / "old.db"), pragmas={"foreign_keys": 1})
    runner = Runner(database, MIGRATIONS)
    runner.up("0002_contact_issue_mail")
    sql = database.execute_sql
    insert(database, Settings, id=1, invoice_prefix="FA")
    contact = insert(database, Contact, name="C")
    for kind, number, status in (("invoice", "FA-2025-0041", "paid"), ("invoice", "FA-2025-0007", "open"),
                                 ("invoice", "FA-2026-0003", "open"), ("invoice", "FA-2026-0004", "draft"),
                                 ("order", "SO-2026-0012", "shipped"), ("invoice", "OLD-77", "open")):
        insert(database, Document, contact=contact, kind=kind, number=number, status=status,
               issue_date=datetime.date(2026, 1, 2), currency="EUR")
    runner.up()
    series = {(k, c, y): (n, last) for k, c, y, n, last in
              sql("SELECT kind, code, year, next_n, last_used FROM number_series").fetchall()}
    assert series == {("invoice", "FA", 2025): (42, 41), ("invoice", "FA", 2026): (4, 3),
                      ("order", "SO", 2026): (13, 12)}
    assert sql("SELECT number FROM document WHERE status = 'draft'").fetchall() == [("",)]
    with database.bind_ctx([Document]):   # drafts share the empty number; given numbers stay unique
        Document.create(contact=1, kind="invoice", status="draft", issue_date=datetime.date(2026, 1, 3), currency="EUR")
        with pytest.raises(IntegrityError):
            Document.create(contact=1, kind="invoice", number="FA-2026-0003", status="open",
                            issue_date=datetime.date(2026, 1, 3), currency="EUR")
    database.close()
