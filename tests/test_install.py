"""A newcomer's first hour and an operator's upgrades: the CLI as the README prints it in a
`make run` checkout, a fresh installation's tax rates and language, and restoring a backup
(the SQLite file, and pg_dump / pg_restore) into a portal that serves it."""
import os
import subprocess
import sys

import pytest
from peewee import PostgresqlDatabase

from app import create_app
from app.config import write_development_settings
from app.db import db
from app.models import Contact, Document, Settings, TaxRate
from tests.conftest import PG_URL
from tests.factories import make_contact, make_document

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def flask(env, *args):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def checkout_env(tmp_path):
    """The environment of someone who ran `make run` and opened a new terminal: nothing set."""
    env = {k: v for k, v in os.environ.items() if k not in ("PORTAL_ENV", "SECRET_KEY", "BASE_URL", "DATABASE_URL")}
    return dict(env, INSTANCE_PATH=str(tmp_path), REDIS_URL="")


@pytest.mark.skipif(bool(PG_URL), reason="only on SQLite: one run is enough, the checkout uses its SQLite file")
def test_the_readme_cli_commands_work_in_a_make_run_checkout(tmp_path):
    write_development_settings(str(tmp_path), 5123)     # what `make run PORT=5123` writes
    env = checkout_env(tmp_path)
    assert flask(env, "migrate").returncode == 0
    demo = flask(env, "demo", "--if-empty")
    assert demo.returncode == 0, demo.stderr
    assert "http://127.0.0.1:5123/staff/login" in demo.stdout          # the real port
    link = flask(env, "access-link", "ana@demo.example")
    assert link.returncode == 0 and "http://127.0.0.1:5123/access/" in link.stdout, link.stderr
    token = flask(env, "api-token", "create", "ERP")
    assert token.returncode == 0 and "Traceback" not in token.stderr, token.stderr
    # A production environment ignores the file: no development key, no start.
    production = flask(dict(env, PORTAL_ENV="production"), "access-link", "ana@demo.example")
    assert production.returncode != 0 and "SECRET_KEY" in production.stderr + production.stdout


@pytest.mark.parametrize("country, language, expected", [
    ("ES", "ca", {("IVA", 2100), ("IVA", 1000), ("IVA", 400), ("IVA", 0), ("Recargo de equivalencia", 520),
                  ("Recargo de equivalencia", 140), ("Recargo de equivalencia", 50), ("IRPF", -1500),
                  ("IRPF", -700)}),
    ("PT", "pt", {("IVA", 2300), ("IVA", 1300), ("IVA", 600), ("IVA", 0)}),
])
def test_a_fresh_installation_gets_its_countrys_taxes_and_language(app, runner, country, language, expected):
    app.config.update(COUNTRY=country, BABEL_DEFAULT_LOCALE=language)
    result = runner.invoke(args=["migrate"])
    assert result.exit_code == 0 and "new installation" in result.output
    assert {(t.name, t.rate_bp) for t in TaxRate.select()} == expected
    assert [t.rate_bp for t in TaxRate.select().where(TaxRate.is_default == True)] == [max(r for _, r in expected)]
    settings = Settings.get_by_id(1)
    assert settings.default_language == language and settings.language_list[0] == language
    assert sorted(settings.language_list) == sorted(["es", "en", "ca", "fr", "de", "it", "pt"])
    # An installation with a business row is never changed again.
    TaxRate.delete().execute()
    assert "new installation" not in runner.invoke(args=["migrate"]).output
    assert TaxRate.select().count() == 0


@pytest.mark.skipif(bool(PG_URL), reason="only on SQLite: the PostgreSQL run restores with pg_restore")
def test_a_sqlite_backup_restored_in_place_serves_the_same_portal(app, runner, tmp_path):
    contact = make_contact(name="Talleres Ruiz", portal_enabled=True)
    make_document(contact, number="F-2026-0042")
    backup = tmp_path / "portal-backup.db"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    restored = create_app({**app.config, "DATABASE_URL": f"sqlite:///{backup}"})
    with restored.app_context():
        db.connect(reuse_if_open=True)
        assert [c.name for c in Contact.select()] == ["Talleres Ruiz"]
        assert Document.get().number == "F-2026-0042"
        assert restored.test_cli_runner().invoke(args=["migrate"]).output.startswith("database is up to date")
        db.close()


@pytest.mark.skipif(not PG_URL, reason="only on PostgreSQL: pg_dump and pg_restore")
def test_pg_dump_then_pg_restore_gives_back_the_same_portal(app, tmp_path):
    contact = make_contact(name="Talleres Ruiz", portal_enabled=True)
    make_document(contact, number="F-2026-0042")
    dump = tmp_path / "portal.dump"
    source = db.obj.database
    db.close()
    subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-Fc", "-f", str(dump), source], check=True)
    admin = PostgresqlDatabase("test", host="127.0.0.1", user="postgres")
    admin.execute_sql("DROP DATABASE IF EXISTS portal_restore_test")
    admin.execute_sql("CREATE DATABASE portal_restore_test")
    try:
        subprocess.run(["pg_restore", "-h", "127.0.0.1", "-U", "postgres", "--no-owner", "-d", "portal_restore_test",
                        str(dump)], check=True)
        restored = create_app({**app.config,
                               "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/portal_restore_test"})
        with restored.app_context():
            db.connect(reuse_if_open=True)
            assert [c.name for c in Contact.select()] == ["Talleres Ruiz"]
            assert Document.get().number == "F-2026-0042"
            assert restored.test_cli_runner().invoke(args=["migrate"]).output.startswith("database is up to date")
            db.close_all() if hasattr(db.obj, "close_all") else db.close()
    finally:
        admin.execute_sql("DROP DATABASE IF EXISTS portal_restore_test")
        admin.close()
