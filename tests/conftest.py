"""Fixtures in the flaskr manner: app, client, runner, a signed-in staff client, `auth` for
portal sign-in, a signed-in shopper, Stripe switched on against its fake; and the helpers tests
share (Browser, Api, soup, error_text).

The database is a migrated SQLite file per test, or, when DATABASE_URL points to
PostgreSQL, the `test` database migrated once per run and truncated between tests."""
import json
import os
import re
import shutil

import pytest
from bs4 import BeautifulSoup

# The suite runs as production does (TESTING aside), never with the development settings that
# `make run` may have left in instance/settings.env (read only without PORTAL_ENV).
os.environ.setdefault("PORTAL_ENV", "production")

from app import create_app, jobs  # noqa: E402
from app.cli import migrate_database  # noqa: E402
from app.db import db, init_db  # noqa: E402
from app.models import GatewayConfig  # noqa: E402
from tests.factories import PASSWORD, make_contact, make_person, make_staff, settings  # noqa: E402

# Fixtures of the browser, the SMTP server, the webhook receiver and the payment providers' fakes,
# shared: a session-scoped Playwright (or fake Stripe) must exist only once.
pytest_plugins = ["tests.browser", "tests.smtp", "tests.webhook_receiver", "tests.fakes", "tests.fakes.stripe"]

PG_URL = os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith("postgres") else ""


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """A database with every migration applied, made once per test run."""
    if PG_URL:
        database = init_db(PG_URL)
        with database.connection_context():
            database.execute_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        migrate_database()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "portal.db"
    init_db("sqlite:///" + str(path))
    migrate_database()
    db.close()
    return path


@pytest.fixture
def database_url(template_db, tmp_path):
    if PG_URL:
        database = init_db(PG_URL)
        with database.connection_context():
            tables = [t for t in database.get_tables() if t != "schema_migration"]
            database.execute_sql("TRUNCATE %s RESTART IDENTITY CASCADE" % ", ".join(f'"{t}"' for t in tables))
        return PG_URL
    path = tmp_path / "portal.db"
    shutil.copy(template_db, path)
    return "sqlite:///" + str(path)


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DATABASE_URL": database_url,
        "BASE_URL": "http://portal.test",
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": 1,   # tests that send mail start a real SMTP server and set this
        "MAIL_DIR": str(tmp_path / "mail"),
        "HUEY_FILE": str(tmp_path / "huey.db"),
        "HUEY_IMMEDIATE": False,
    })
    db.connect(reuse_if_open=True)  # tests use the models directly between requests
    yield app
    if not db.is_closed():
        db.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_from(html):
    tag = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "csrf_token"})
    return tag["value"] if tag else None


class Browser:
    """A test client that carries the CSRF token the way a real form does."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, url, **kw):
        resp = self.client.get(url, **kw)
        token = csrf_from(resp.get_data(as_text=True)) if resp.mimetype == "text/html" else None
        self.token = token or self.token
        return resp

    def post(self, url, data=None, token=True, **kw):
        data = dict(data or {}) if not hasattr(data, "getlist") else data
        if token and "csrf_token" not in data:
            if self.token is None:
                self.get("/staff/login")
            data["csrf_token"] = self.token
        resp = self.client.post(url, data=data, **kw)
        found = csrf_from(resp.get_data(as_text=True)) if resp.mimetype == "text/html" else None
        self.token = found or self.token
        return resp


class Api:
    """A test client that sends the bearer token and JSON."""

    def __init__(self, client, token):
        self.client, self.token = client, token

    def headers(self, extra=None):
        headers = {"Authorization": f"Bearer {self.token}"}
        headers.update(extra or {})
        return headers

    def get(self, url, **kw):
        return self.client.get("/api/v1" + url, headers=self.headers(kw.pop("headers", None)), **kw)

    def post(self, url, json=None, **kw):
        return self.client.post("/api/v1" + url, json=json if json is not None else {},
                                headers=self.headers(kw.pop("headers", None)), **kw)

    def patch(self, url, json=None, **kw):
        return self.client.patch("/api/v1" + url, json=json or {}, headers=self.headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def staff_user(app):
    return make_staff()


@pytest.fixture
def staff(browser, staff_user):
    """A Browser signed in to the back-office."""
    resp = browser.post("/staff/login", {"email": staff_user.email, "password": PASSWORD})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    browser.get("/staff/contacts/")  # sign-in starts a new session: pick up its CSRF token
    return browser


class PortalAuth:
    """Portal sign-in through the real form, in the manner of flaskr's `auth` fixture.

    Unlike flaskr's, each login() answers a new Browser with its own cookies: tests here often
    need two people or two devices at once, and the `browser` fixture may be the staff member's."""

    def __init__(self, app):
        self.app = app
        self.last = None

    def login(self, person, password=PASSWORD):
        """A Browser signed in as `person` (also at its .person)."""
        browser = Browser(self.app.test_client())
        browser.get("/login")
        resp = browser.post("/login", {"email": person.email, "password": password})
        assert resp.status_code == 303, resp.get_data(as_text=True)
        browser.get("/")   # sign-in starts a new session: pick up its CSRF token
        browser.person = person
        self.last = browser
        return browser

    def login_new_person(self, contact=None, **fields):
        """A Browser signed in as a new person of `contact` (of a new contact if None)."""
        return self.login(make_person(contact=contact, password=PASSWORD, **fields))

    def logout(self, browser=None):
        """Sign out of `browser`, the last one signed in unless told."""
        return (browser or self.last).post("/logout")


@pytest.fixture
def auth(app):
    return PortalAuth(app)


@pytest.fixture
def shopper(auth):
    """A signed-in person whose contact has catalog access and no discount."""
    return auth.login_new_person(make_contact(name="Talleres Ruiz", catalog_enabled=True,
                                              shipping_address="Calle Mayor 1\n28001 Madrid"))


@pytest.fixture
def stripe_on(app, stripe_fake):
    """Stripe configured for the business (the fake's test keys), the library pointed at the fake."""
    app.config["STRIPE_API_BASE"] = stripe_fake.base_url
    GatewayConfig.create(gateway="stripe", mode="test",
                         test_credentials=json.dumps({"secret_key": stripe_fake.api_key,
                                                      "webhook_secret": stripe_fake.webhook_secret}))
    return stripe_fake


@pytest.fixture
def paypal_on(app, paypal_fake):
    """PayPal configured for the business (the fake's test keys), the SDK pointed at the fake."""
    app.config["PAYPAL_API_BASE"] = paypal_fake.base_url
    GatewayConfig.create(gateway="paypal", mode="test", test_credentials=json.dumps({
        "client_id": paypal_fake.client_id, "client_secret": paypal_fake.client_secret,
        "webhook_id": paypal_fake.webhook_id}))
    return paypal_fake


SQUARE_NOTIFICATION_URL = "http://portal.test/webhooks/square"   # BASE_URL + our webhook path


@pytest.fixture
def square_on(app, square_fake):
    """Square configured for the business, signing for our notification URL as its subscription says."""
    app.config["SQUARE_API_BASE"] = square_fake.base_url
    square_fake.notification_url = SQUARE_NOTIFICATION_URL
    GatewayConfig.create(gateway="square", mode="test", test_credentials=json.dumps({
        "access_token": square_fake.access_token, "location_id": square_fake.location_id,
        "webhook_signature_key": square_fake.signature_key}))
    return square_fake


def soup(resp):
    return BeautifulSoup(resp.get_data(as_text=True), "html.parser")


def without_csrf(resp):
    """The page with its CSRF tokens blanked: they are signed with the time, so the same page a
    second later differs there only."""
    return re.sub(r'("X-CSRFToken": "|name="csrf_token" value=")[^"]+', r"\1", resp.get_data(as_text=True))


def error_text(resp, name):
    """The message a form shows under field `name` (its #e-name element)."""
    tag = soup(resp).find(id=f"e-{name}")
    assert tag is not None, f"no #e-{name} in the page"
    return tag.get_text(strip=True)


def pytest_sessionfinish(session, exitstatus):
    """In CI a skipped test is a missing requirement, not a pass. The one exception is a test
    for the other database backend (reason "only on SQLite…"/"only on PostgreSQL…"): .ci/run
    runs the suite on both, so each such test runs in one of the two."""
    if os.environ.get("CI") and exitstatus == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        missing = [r for r in (reporter.stats.get("skipped", []) if reporter else [])
                   if "only on SQLite" not in str(r.longrepr) and "only on PostgreSQL" not in str(r.longrepr)]
        if missing:
            print("\nCI: skipped tests mean a missing requirement:", *[str(r.longrepr) for r in missing], sep="\n  ")
            session.exitstatus = 1


@pytest.fixture
def outbox(app, smtp_server):
    """Mail through the real SMTP server: outbox() runs the due jobs and returns what arrived."""
    app.config["SMTP_PORT"] = smtp_server.port
    settings(notify_email="office@business.example", default_language="en")

    def deliver():
        with app.app_context():
            jobs.run_due()
        return smtp_server.messages
    return deliver
