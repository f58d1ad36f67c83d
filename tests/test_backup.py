"""`flask backup PATH`: a consistent SQLite snapshot while the app writes; a clear no on PostgreSQL."""
import sqlite3
import threading
import time

import pytest

from app.db import db
from app.models import Contact, Person
from tests.conftest import PG_URL

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="only on SQLite: the online backup")


class Writer(threading.Thread):
    """Inserts numbered contacts, each with its person, one transaction each, until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.written = 0
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            with db.connection_context():
                while not self.stop.is_set():
                    n = self.written + 1
                    with db.atomic():
                        contact = Contact.create(name=f"Load {n:06d}")
                        Person.create(contact=contact, name=f"Person {n}", email=f"load{n}@example.com")
                    self.written = n
        except Exception as exc:  # surfaced by the test, not lost in the thread
            self.error = exc

    def wait_for(self, count, timeout=20):
        deadline = time.monotonic() + timeout
        while self.written < count and time.monotonic() < deadline and self.error is None:
            time.sleep(0.005)
        assert self.written >= count, self.error


@sqlite_only
def test_backup_while_another_thread_writes_is_a_consistent_snapshot(runner, tmp_path):
    target = tmp_path / "backup.db"
    writer = Writer()
    writer.start()
    try:
        writer.wait_for(50)
        before = writer.written
        result = runner.invoke(args=["backup", str(target)])
        after = writer.written
        writer.wait_for(after + 50)
    finally:
        writer.stop.set()
        writer.join(10)
    assert writer.error is None
    assert result.exit_code == 0, result.output
    assert "integrity check ok" in result.output

    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        numbers = sorted(int(name.split()[1]) for (name,) in copy.execute("SELECT name FROM contact"))
        people = dict(copy.execute("SELECT p.email, c.name FROM person p JOIN contact c ON c.id = p.contact_id"))
    finally:
        copy.close()
    # A snapshot: every row committed before the backup began, none after it ended, no gaps,
    # and every contact with the person written in its same transaction.
    assert before <= len(numbers) <= after < writer.written
    assert numbers == list(range(1, len(numbers) + 1))
    assert people == {f"load{n}@example.com": f"Load {n:06d}" for n in numbers}
    assert not list(tmp_path.glob("backup.db.partial*"))


@sqlite_only
def test_backup_refuses_an_existing_file_and_a_missing_folder(runner, tmp_path):
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"keep me")
    result = runner.invoke(args=["backup", str(existing)])
    assert result.exit_code != 0 and "already exists" in result.output
    assert existing.read_bytes() == b"keep me"

    result = runner.invoke(args=["backup", str(tmp_path / "no-such-folder" / "b.db")])
    assert result.exit_code != 0 and "does not exist" in result.output


@sqlite_only
def test_backup_holds_the_same_rows(runner, tmp_path):
    assert runner.invoke(args=["demo"]).exit_code == 0
    result = runner.invoke(args=["backup", str(tmp_path / "demo.db")])
    assert result.exit_code == 0, result.output
    copy = sqlite3.connect(tmp_path / "demo.db")
    try:
        copied = {t: copy.execute(f"SELECT count(*), coalesce(sum(id), 0) FROM {t}").fetchone()
                  for t in ("contact", "document", "document_line", "payment", "product")}
    finally:
        copy.close()
    live = {t: db.execute_sql(f"SELECT count(*), coalesce(sum(id), 0) FROM {t}").fetchone()
            for t in copied}
    assert copied == live and copied["document"][0] >= 30


@pytest.mark.skipif(not PG_URL, reason="only on PostgreSQL: the refusal")
def test_backup_on_postgresql_says_to_use_pg_dump(runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "b.db")])
    assert result.exit_code != 0
    assert "pg_dump" in result.output
    assert not (tmp_path / "b.db").exists()
