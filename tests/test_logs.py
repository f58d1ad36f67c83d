"""What an operator sees: request ids on every answer and log line (and in the jobs a request
queues), logs configured at start in text or JSON, no secret in any log line, and /healthz and
/readyz for load balancers and monitors."""
import datetime
import json
import logging
import os
import subprocess
import sys

import pytest

from app import create_app, health, jobs, logs
from app.cli import MIGRATIONS
from app.models import Heartbeat, Job, utcnow
from tests.conftest import csrf_from, soup
from tests.factories import PASSWORD, make_contact, make_person

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def records(caplog):
    """Every log record at INFO and up, each with the request id our handler would print."""
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(logs._RequestId())
    return caplog


# --- request ids --------------------------------------------------------------------------------

def test_every_answer_has_its_own_request_id_and_a_client_cannot_choose_it(client):
    first = client.get("/login", headers={"X-Request-Id": "chosen-by-the-client"})
    second = client.get("/does-not-exist")
    ids = [first.headers["X-Request-Id"], second.headers["X-Request-Id"]]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids) and ids[0] != ids[1]
    assert "chosen-by-the-client" not in ids


@pytest.mark.parametrize("given, kept", [("req-7f3a9c2e-proxy", True), ("bad id with spaces", False),
                                         ("x" * 65, False), ("short", False)])
def test_behind_a_trusted_proxy_its_well_formed_request_id_is_kept(app, given, kept):
    proxied = create_app({**app.config, "TRUSTED_PROXIES": 1})
    answer = proxied.test_client().get("/login", headers={"X-Request-Id": given})
    assert (answer.headers["X-Request-Id"] == given) is kept


def test_a_job_logs_with_the_request_id_of_the_request_that_queued_it(app, client, outbox, records):
    person = make_person(contact=make_contact(portal_enabled=True), email="ana@example.com")
    client.get("/login/link")
    token = csrf_from(client.get("/login/link").get_data(as_text=True))
    answer = client.post("/login/link", data={"email": person.email, "purpose": "access", "csrf_token": token})
    rid = answer.headers["X-Request-Id"]
    job = Job.get(Job.kind == "mail")
    assert job.data["request_id"] == rid
    records.clear()
    with app.app_context():
        jobs.run_job(job.id)
    done = [r for r in records.records if "done" in r.getMessage() and r.name == "app.jobs"]
    assert [r.request_id for r in done] == [rid]


def test_state_changes_are_logged_with_who_and_the_route_never_its_token(app, staff, records):
    staff.post("/staff/api/tokens/", {"name": "ERP"})
    lines = [r.getMessage() for r in records.records if r.name == "portal.changes"]
    assert any(line.startswith("POST /staff/api/tokens/ -> 200 by staff=") for line in lines), lines


# --- configuration ------------------------------------------------------------------------------

def production_env(tmp_path, **extra):
    return dict(os.environ, PORTAL_ENV="production", SECRET_KEY="k3Jq9vX2mP8wLr5tZ7yB4nC6dF1gH0sA",
                BASE_URL="https://portal.example.com", INSTANCE_PATH=str(tmp_path),
                DATABASE_URL="sqlite:///" + str(tmp_path / "portal.db"), REDIS_URL="", **extra)


SCRIPT = """
from app import create_app
app = create_app()
app.test_client().get("/", headers={"Host": "evil.example"})
"""


def test_json_logs_are_one_object_per_line_with_the_request_id(tmp_path):
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=production_env(tmp_path, LOG_FORMAT="json"))
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    refused = [line for line in lines if "refused Host header" in line["message"]]
    assert refused, result.stderr
    assert refused[0]["level"] == "INFO" and len(refused[0]["request_id"]) == 32
    assert {"time", "logger"} <= set(refused[0])


def test_text_logs_at_info_by_default_and_log_level_is_obeyed(tmp_path):
    text = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=production_env(tmp_path))
    assert " INFO portal.errors [" in text.stderr and "refused Host header" in text.stderr
    quiet = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60,
                           env=production_env(tmp_path, LOG_LEVEL="warning"))
    assert "refused Host header" not in quiet.stderr and quiet.returncode == 0


@pytest.mark.parametrize("name, value", [("LOG_LEVEL", "LOUD"), ("LOG_FORMAT", "xml")])
def test_a_wrong_log_setting_stops_the_start(app, name, value):
    with pytest.raises(RuntimeError, match=name):
        create_app({**app.config, name: value})


# --- no secret in the logs ----------------------------------------------------------------------

def test_a_full_scenario_leaves_no_secret_in_the_log(app, client, staff, auth, outbox, caplog):
    """Passwords, API tokens, gateway keys, webhook secrets, access and reset links: used, and
    then searched for in every line logged at any level but peewee's query log."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("peewee").setLevel(logging.INFO)   # DEBUG prints every query's parameters
    secrets = ["sk_test_51HlogScenarioKey000000secret", "whsec_logScenarioWebhookSecret0001", PASSWORD]
    staff.post("/staff/gateways/stripe", {"mode": "test", "test_secret_key": secrets[0],
                                          "test_webhook_secret": secrets[1], "live_secret_key": "",
                                          "live_webhook_secret": ""})
    page = soup(staff.post("/staff/api/tokens/", {"name": "ERP"}))
    api_token = page.select_one("#new-token-value").get_text(strip=True)
    secrets.append(api_token)
    assert client.get("/api/v1/contacts", headers={"Authorization": "Bearer " + api_token}).status_code == 200
    client.get("/api/v1/contacts", headers={"Authorization": "Bearer " + api_token[:-2] + "zz"})
    hook = soup(staff.post("/staff/api/webhooks/new", {"url": "https://93.184.216.34/hook", "description": "ERP",
                                                       "events": ["invoice.paid"]}))
    secrets.append(hook.select_one("#endpoint-secret").get_text(strip=True))
    person = make_person(contact=make_contact(portal_enabled=True), email="ana@example.com", password=PASSWORD)
    auth.login(person)
    browser = auth.login(person)
    browser.post("/login", {"email": person.email, "password": "wrong " + PASSWORD})
    client.get("/login/link")
    token = csrf_from(client.get("/login/link").get_data(as_text=True))
    client.post("/login/link", data={"email": person.email, "purpose": "access", "csrf_token": token})
    [mail] = outbox()[-1:]
    link = next(word for word in mail.text.split() if "/access/" in word)
    secrets.append(link.rsplit("/", 1)[1])
    client.get(link.replace("http://portal.test", ""))
    # "mail.log" is aiosmtpd's, the test's own SMTP server, which prints what it receives.
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records if not r.name.startswith("mail.log"))
    assert "sign-in" in logged and "POST /staff/gateways/<name>" in logged   # the scenario was logged
    assert all(len(s) >= 12 for s in secrets), secrets
    leaked = [line for line in logged.splitlines() if any(s and s in line for s in secrets)]
    assert not leaked


# --- health -------------------------------------------------------------------------------------

def test_healthz_answers_without_the_database(app, tmp_path):
    down = create_app({**app.config, "DATABASE_URL": "sqlite:///" + str(tmp_path / "no" / "such" / "dir.db")})
    client = down.test_client()
    alive = client.get("/healthz")
    assert (alive.status_code, alive.get_json()) == (200, {"status": "ok"})
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "fail", "checks": {"database": "fail", "migrations": "fail",
                                                             "jobs": "fail", "worker": "fail"}}


def test_readyz_wants_a_worker_heartbeat_and_no_job_left_waiting(app, client):
    assert client.get("/readyz").get_json()["checks"] == {"database": "ok", "migrations": "ok", "jobs": "ok",
                                                          "worker": "fail"}
    Heartbeat.beat("worker", utcnow())
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ok"
    assert ready.headers["Cache-Control"] == "no-store"
    Heartbeat.beat("worker", utcnow() - datetime.timedelta(minutes=5))
    assert client.get("/readyz").get_json()["checks"]["worker"] == "fail"
    Heartbeat.beat("worker", utcnow())
    Job.create(kind="mail", payload="{}", run_after=utcnow() - datetime.timedelta(minutes=11))
    waiting = client.get("/readyz")
    assert waiting.status_code == 503 and waiting.get_json()["checks"]["jobs"] == "fail"


def test_the_worker_sweep_beats(app):
    with app.app_context():
        jobs.get_queue(app).sweep.call_local()
    assert Heartbeat.last("worker") > utcnow() - datetime.timedelta(minutes=1)


def test_readyz_sees_a_migration_not_applied(app, tmp_path):
    for name in os.listdir(MIGRATIONS):
        if name.endswith(".py"):
            (tmp_path / name).write_bytes((open(os.path.join(MIGRATIONS, name), "rb").read()))
    assert health.checks(str(tmp_path))["migrations"] is True
    (tmp_path / "9999_next.py").write_text("def up(migrator, db):\n    pass\n")
    assert health.checks(str(tmp_path))["migrations"] is False


def test_health_endpoints_are_rate_limited(client):
    answers = [client.get("/healthz").status_code for _ in range(125)]
    assert answers[:120] == [200] * 120 and answers[-1] == 429
