"""The app factory, configuration checks, migrations and security headers."""
import pytest
from playhouse.schema_diff import diff_models

from app import create_app
from app.db import db
from app.models import MODELS


def test_refuses_well_known_secret_outside_development(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    for key in ("", "changeme", "dev", "short"):
        monkeypatch.setenv("SECRET_KEY", key)
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            create_app()


def test_development_starts_without_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_ENV", "development")
    monkeypatch.setenv("SECRET_KEY", "")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["DATABASE_URL"] == "sqlite:///" + str(tmp_path / "portal.db")


def test_migrations_build_exactly_the_models(app):
    assert not diff_models(db.obj, MODELS)


def test_database_guards_stock(app):
    from peewee import IntegrityError
    from tests.factories import make_product
    product = make_product(stock=1)
    with pytest.raises(IntegrityError):
        with db.atomic():
            product.stock = -1
            product.save()


def test_security_headers_on_every_response(client):
    for url in ("/staff/login", "/does-not-exist"):
        resp = client.get(url)
        csp = resp.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"]
