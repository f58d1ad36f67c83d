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


def test_cli_migrate_is_idempotent(runner):
    result = runner.invoke(args=["migrate"])
    assert result.exit_code == 0 and "up to date" in result.output


def test_cli_create_staff_then_sign_in_then_reset(runner, browser):
    from app.models import StaffUser
    result = runner.invoke(args=["create-staff", "--email", "Boss@Example.com", "--name", "Boss"],
                           input="a long staff password\na long staff password\n")
    assert result.exit_code == 0, result.output
    user = StaffUser.get(StaffUser.email == "boss@example.com")
    assert user.password_hash.startswith("$argon2id$")
    resp = browser.post("/staff/login", {"email": "boss@example.com", "password": "a long staff password"})
    assert resp.status_code == 303
    short = runner.invoke(args=["create-staff", "--email", "x@example.com", "--name", "X"], input="short\nshort\n")
    assert short.exit_code != 0 and StaffUser.get_or_none(StaffUser.email == "x@example.com") is None
    again = runner.invoke(args=["create-staff", "--email", "boss@example.com", "--name", "Boss"],
                          input="another long password\nanother long password\n")
    assert again.exit_code == 0 and StaffUser.select().count() == 1
    assert StaffUser.get().session_version == user.session_version + 1   # old sessions end


def production(monkeypatch, tmp_path, **env):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(tmp_path / "p.db"))
    for name in ("BASE_URL", "TRUSTED_HOSTS", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return create_app


GOOD_KEY = "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"


@pytest.mark.parametrize("key", ["aaaaaaaaaaaaaaaa", "password12345678", "Summer2026Summer2026",
                                 "abababababababababab"])
def test_refuses_a_secret_key_of_low_variety(monkeypatch, tmp_path, key):
    make = production(monkeypatch, tmp_path, SECRET_KEY=key, BASE_URL="https://portal.example.com")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        make()


@pytest.mark.parametrize("base_url", [None, "portal.example.com", "ftp://portal.example.com", "https://",
                                      "https://portal.example.com/x?y=1"])
def test_production_needs_a_real_base_url(monkeypatch, tmp_path, base_url):
    env = {"SECRET_KEY": GOOD_KEY, **({"BASE_URL": base_url} if base_url else {})}
    with pytest.raises(RuntimeError, match="BASE_URL"):
        production(monkeypatch, tmp_path, **env)()


def test_production_serves_only_its_own_host_and_locks_the_session_cookie(monkeypatch, tmp_path):
    app = production(monkeypatch, tmp_path, SECRET_KEY=GOOD_KEY, BASE_URL="https://portal.example.com")()
    from app.cli import migrate_database
    migrate_database()
    client = app.test_client()
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400
    resp = client.get("/login", base_url="https://portal.example.com")
    assert resp.status_code == 200
    cookie = resp.headers.get("Set-Cookie", "")
    assert cookie.startswith("__Host-portal=") and "Secure" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie
    assert client.get("/login", base_url="http://127.0.0.1:8000").status_code == 200   # checks on the machine
    db.close()


def test_private_pages_are_never_stored_and_keep_their_opener(client, auth):
    person = auth.login_new_person()
    for resp in (client.get("/login"), person.get("/"), client.get("/does-not-exist")):
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["Cross-Origin-Opener-Policy"] == "same-origin"
