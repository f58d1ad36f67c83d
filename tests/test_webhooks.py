"""Outgoing webhooks: emit in the cause's transaction, signed deliveries to a real local HTTP
server, retries while the endpoint is down, a worker killed mid-delivery, the SSRF guard, and
the back-office pages."""
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app import jobs, webhooks
from app.db import db
from app.models import Job, WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from tests.conftest import soup
from tests.factories import make_document, make_person

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Receiver:
    """A webhook receiver on 127.0.0.1 that records each POST (headers and body).

    `status` is what it answers; `hold` makes it wait before answering (a slow receiver, or one
    whose sender dies meanwhile); stop()/start() take it down and up on the same port."""

    def __init__(self, port=0):
        self.requests = []
        self.status = 200
        self.hold = None               # a threading.Event to wait on before answering
        self.arrived = threading.Event()
        self.port = port
        self.server = None

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass   # the sender is gone

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks/portal"

    def events(self):
        return [json.loads(r["body"]) for r in self.requests]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    if r.hold is not None:
        r.hold.set()
    r.stop()


@pytest.fixture
def allow_loopback(app):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    return app


def make_endpoint(url, events=webhooks.WEBHOOK_EVENTS, **fields):
    return WebhookEndpoint.create(url=url, secret=webhooks.new_secret(), events=",".join(events), **fields)


def run_due(app):
    with app.app_context():
        return jobs.run_due()


def make_due():
    Job.update(run_after=utcnow() - datetime.timedelta(seconds=1)).where(Job.status == "pending").execute()


def assert_signed(request, secret):
    header = request["headers"]["Portal-Signature"]
    assert webhooks.verify(secret, header, request["body"])
    assert not webhooks.verify(secret, header, request["body"] + " ")
    assert not webhooks.verify("whsec_other", header, request["body"])


# --- signing ------------------------------------------------------------------------------

def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    import hashlib
    import hmac
    body = '{"id":"evt_1"}'
    header = webhooks.signature_header("whsec_abc", body, timestamp=1700000000)
    expected = hmac.new(b"whsec_abc", b'1700000000.{"id":"evt_1"}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert webhooks.verify("whsec_abc", header, body, now=1700000100)
    assert not webhooks.verify("whsec_abc", header, body, now=1700000000 + webhooks.TOLERANCE + 1)
    assert not webhooks.verify("whsec_abc", "t=abc,v1=00", body)


def test_retries_last_about_a_day():
    window = webhooks.retry_window()
    assert datetime.timedelta(hours=24) <= window < datetime.timedelta(hours=31)
    # One attempt fewer would stop short of a day.
    assert sum(jobs.backoff(n) for n in range(1, webhooks.ATTEMPTS - 1)) < 24 * 3600


# --- emitting ------------------------------------------------------------------------------

def test_emit_writes_one_delivery_and_job_per_listening_endpoint(app):
    a = make_endpoint("http://one.example/hook", events=["payment.succeeded"])
    make_endpoint("http://two.example/hook", events=["comment.created"])
    make_endpoint("http://off.example/hook", events=["payment.succeeded"], active=False)
    event_id = webhooks.emit("payment.succeeded", {"n": 1})
    [delivery] = WebhookDelivery.select()
    assert (delivery.endpoint_id, delivery.event_id, delivery.status) == (a.id, event_id, "pending")
    body = json.loads(delivery.body)
    assert body["id"] == event_id and body["type"] == "payment.succeeded" and body["data"] == {"n": 1}
    job = Job.get_by_id(delivery.job_id)
    assert job.kind == "webhook.deliver" and job.max_attempts == webhooks.ATTEMPTS


def test_emit_without_endpoints_writes_nothing(app):
    assert webhooks.emit("document.viewed", {}) is None
    assert WebhookDelivery.select().count() == 0 and Job.select().count() == 0


def test_rolled_back_cause_takes_its_event_back(app):
    make_endpoint("http://one.example/hook")
    with pytest.raises(RuntimeError):
        with db.atomic():
            webhooks.emit("comment.created", {"n": 1})
            raise RuntimeError("the cause failed")
    assert WebhookDelivery.select().count() == 0 and Job.select().count() == 0


def test_unknown_event_is_refused(app):
    with pytest.raises(ValueError):
        webhooks.emit("document.deleted", {})


# --- delivering -----------------------------------------------------------------------------

def test_delivery_is_signed_and_recorded(app, allow_loopback, receiver):
    endpoint = make_endpoint(receiver.url)
    event_id = webhooks.emit("quote.accepted", {"document": {"id": 7}})
    assert run_due(app) == 1
    [got] = receiver.requests
    assert got["path"] == "/hooks/portal"
    assert got["headers"]["Content-Type"] == "application/json"
    assert got["headers"]["Portal-Event-Id"] == event_id
    assert got["headers"]["Portal-Event-Type"] == "quote.accepted"
    assert_signed(got, endpoint.secret)
    assert json.loads(got["body"])["data"] == {"document": {"id": 7}}
    delivery = WebhookDelivery.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert Job.get_by_id(delivery.job_id).status == "done"
    [attempt] = WebhookAttempt.select()
    assert attempt.status_code == 200 and attempt.error == ""


def test_non_2xx_answer_is_retried_with_backoff(app, allow_loopback, receiver):
    make_endpoint(receiver.url)
    receiver.status = 500
    webhooks.emit("payment.failed", {})
    run_due(app)
    delivery = WebhookDelivery.get()
    job = Job.get_by_id(delivery.job_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert job.status == "pending" and job.run_after > utcnow() + datetime.timedelta(seconds=50)
    assert "HTTP 500" in job.last_error
    receiver.status = 204
    make_due()
    run_due(app)
    delivery = WebhookDelivery.get()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert len(receiver.requests) == 2
    assert receiver.events()[0]["id"] == receiver.events()[1]["id"]   # the same event, again


def test_last_attempt_failing_marks_the_delivery_failed(app, allow_loopback, receiver):
    make_endpoint(receiver.url)
    receiver.status = 410
    webhooks.emit("payment.failed", {})
    Job.update(attempts=webhooks.ATTEMPTS - 1).execute()
    run_due(app)
    delivery = WebhookDelivery.get()
    assert delivery.status == "failed" and "HTTP 410" in delivery.last_error
    assert Job.get_by_id(delivery.job_id).status == "failed"


def test_endpoint_down_for_a_while_gets_every_event_when_back(app, allow_loopback):
    port = free_port()
    down = Receiver(port)
    endpoint = make_endpoint(down.url)
    sent = [webhooks.emit("comment.created", {"n": n}) for n in range(3)]
    for _ in range(2):   # two rounds of failed attempts while nothing listens
        assert run_due(app) == 3
        make_due()
    assert {d.attempts for d in WebhookDelivery.select()} == {2}
    assert {d.status for d in WebhookDelivery.select()} == {"pending"}
    assert all("ConnectionRefused" in a.error for a in WebhookAttempt.select())
    back = down.start()
    try:
        assert run_due(app) == 3
        assert sorted(e["id"] for e in back.events()) == sorted(sent)   # each once
        for request in back.requests:
            assert_signed(request, endpoint.secret)
        assert {d.status for d in WebhookDelivery.select()} == {"succeeded"}
        make_due()
        assert run_due(app) == 0   # nothing left to send
    finally:
        back.stop()


def test_worker_killed_mid_delivery_leaves_it_to_be_done_again(app, allow_loopback, receiver, database_url, tmp_path):
    endpoint = make_endpoint(receiver.url)
    event_id = webhooks.emit("payment.succeeded", {"n": 1})
    delivery = WebhookDelivery.get()
    receiver.hold = threading.Event()
    script = (
        "import sys\n"
        "from app import create_app, jobs\n"
        "from app.db import db\n"
        "app = create_app({'TESTING': True, 'SECRET_KEY': 'test-secret-key-not-for-production',"
        " 'DATABASE_URL': sys.argv[1], 'HUEY_FILE': sys.argv[2], 'WEBHOOK_ALLOW_PRIVATE': True})\n"
        "with app.app_context():\n"
        "    db.connect(reuse_if_open=True)\n"
        "    jobs.run_job(int(sys.argv[3]))\n")
    env = dict(os.environ, INSTANCE_PATH=str(tmp_path / "instance"))
    worker = subprocess.Popen([sys.executable, "-c", script, database_url, str(tmp_path / "huey.db"),
                               str(delivery.job_id)], cwd=ROOT, env=env)
    try:
        assert receiver.arrived.wait(30), "the worker never reached the endpoint"
        worker.send_signal(signal.SIGKILL)   # killed while the receiver is still answering
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    receiver.hold.set()
    job = Job.get_by_id(delivery.job_id)
    assert (job.status, job.attempts) == ("running", 1)   # claimed, never finished
    assert WebhookDelivery.get_by_id(delivery.id).status == "pending"
    assert run_due(app) == 0   # its lease still holds: nobody else runs it yet
    Job.update(locked_until=utcnow() - datetime.timedelta(seconds=1)).where(Job.id == job.id).execute()
    receiver.hold = None
    assert run_due(app) == 1
    job = Job.get_by_id(delivery.job_id)
    assert (job.status, job.attempts) == ("done", 2)
    assert WebhookDelivery.get_by_id(delivery.id).status == "succeeded"
    # Delivered at least once: the receiver saw the same event id both times and can dedupe.
    assert [e["id"] for e in receiver.events()] == [event_id, event_id]
    assert_signed(receiver.requests[-1], endpoint.secret)


def test_disabled_endpoint_gets_no_more_attempts(app, allow_loopback, receiver):
    endpoint = make_endpoint(receiver.url)
    webhooks.emit("order.created", {})
    WebhookEndpoint.update(active=False).where(WebhookEndpoint.id == endpoint.id).execute()
    run_due(app)
    assert receiver.requests == []
    assert WebhookDelivery.get().status == "failed"


# --- where deliveries may go ------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://localhost:8080/hook", "http://10.1.2.3/", "http://192.168.0.10/",
    "http://172.16.5.4/", "http://169.254.169.254/latest/meta-data", "http://100.64.0.1/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[fd00::1]/", "http://0.0.0.0/",
    "http://[2002:7f00:1::]/",
])
def test_private_and_local_addresses_are_refused(app, url):
    with pytest.raises(webhooks.UnsafeURL):
        webhooks.check_url(url, allow_private=False)


@pytest.mark.parametrize("url", [
    "ftp://example.com/", "javascript:alert(1)", "http://user:pw@93.184.216.34/", "http:///nohost",
    "http://93.184.216.34:99999/", "http://exa mple.com/", "", "http://" + "a" * 500 + ".com/",
    "http://no-such-host.invalid/",
])
def test_malformed_urls_are_refused(app, url):
    with pytest.raises(webhooks.UnsafeURL):
        webhooks.check_url(url, allow_private=True)


def test_public_address_is_accepted(app):
    assert webhooks.check_url(" https://93.184.216.34/hook?x=1 ", allow_private=False) == "https://93.184.216.34/hook?x=1"
    assert webhooks.is_public_address("2606:4700::1111")


def test_operator_may_allow_loopback(app):
    assert webhooks.check_url("http://127.0.0.1:9/hook", allow_private=True)


def test_address_is_checked_again_at_delivery(app, receiver):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    make_endpoint(receiver.url)       # registered while the operator allowed it
    webhooks.emit("payment.succeeded", {})
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    run_due(app)
    assert receiver.requests == []
    delivery = WebhookDelivery.get()
    assert delivery.status == "failed" and "private or local" in delivery.last_error
    assert Job.get_by_id(delivery.job_id).status == "failed"   # permanent: no retries


# --- the back-office ------------------------------------------------------------------------

def test_webhook_pages_require_staff(client):
    for url in ("/staff/api/webhooks/", "/staff/api/webhooks/new"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]


def test_staff_register_an_endpoint_and_see_its_secret_once(app, staff, allow_loopback, receiver):
    resp = staff.post("/staff/api/webhooks/new", {"url": receiver.url, "description": "ERP",
                                                  "events": ["document.viewed", "quote.accepted"]})
    assert resp.status_code == 200
    secret = soup(resp).find(id="endpoint-secret").text
    endpoint = WebhookEndpoint.get()
    assert secret.startswith("whsec_") and endpoint.secret == secret
    assert endpoint.event_list == ["document.viewed", "quote.accepted"]
    page = staff.get(f"/staff/api/webhooks/{endpoint.id}")
    assert page.status_code == 200 and secret not in page.get_data(as_text=True)


def test_endpoint_form_is_validated(app, staff):
    resp = staff.post("/staff/api/webhooks/new", {"url": "http://127.0.0.1:9/x", "events": []})
    assert resp.status_code == 422
    page = soup(resp)
    assert "private or local" in page.find(id="e-url").text
    assert page.find(id="e-events").text
    assert page.find(id="f-url")["value"] == "http://127.0.0.1:9/x"
    resp = staff.post("/staff/api/webhooks/new", {"url": "http://93.184.216.34/", "events": ["nope"]})
    assert resp.status_code == 422 and soup(resp).find(id="e-events")
    assert WebhookEndpoint.select().count() == 0


def test_endpoint_needs_csrf(app, staff):
    resp = staff.post("/staff/api/webhooks/new", {"url": "http://93.184.216.34/", "events": ["order.created"]},
                      token=False)
    assert resp.status_code == 400 and WebhookEndpoint.select().count() == 0


def test_deliveries_and_their_attempts_are_listed(app, staff, allow_loopback, receiver):
    endpoint = make_endpoint(receiver.url)
    receiver.status = 503
    webhooks.emit("payment.failed", {"n": 1})
    run_due(app)
    receiver.status = 200
    make_due()
    run_due(app)
    delivery = WebhookDelivery.get()
    page = soup(staff.get(f"/staff/api/webhooks/{endpoint.id}"))
    row = page.find(id=f"delivery-{delivery.id}")
    assert row["data-status"] == "succeeded" and "payment.failed" in row.text
    detail = soup(staff.get(f"/staff/api/webhooks/deliveries/{delivery.id}"))
    codes = [td.text for td in detail.select("#attempts td[data-field=status-code]")]
    assert codes == ["HTTP 200", "HTTP 503"]
    assert json.loads(detail.find(id="delivery-body").text)["id"] == delivery.event_id


def test_staff_can_send_a_delivery_again(app, staff, allow_loopback, receiver):
    make_endpoint(receiver.url)
    webhooks.emit("order.created", {})
    run_due(app)
    delivery = WebhookDelivery.get()
    resp = staff.post(f"/staff/api/webhooks/deliveries/{delivery.id}/redeliver")
    assert resp.status_code == 303
    run_due(app)
    assert len(receiver.requests) == 2
    assert WebhookDelivery.get_by_id(delivery.id).attempts == 2


def test_staff_turn_off_rotate_and_delete(app, staff):
    endpoint = make_endpoint("http://93.184.216.34/hook")
    staff.post(f"/staff/api/webhooks/{endpoint.id}/active/off")
    assert WebhookEndpoint.get_by_id(endpoint.id).active is False
    resp = staff.post(f"/staff/api/webhooks/{endpoint.id}/rotate")
    new = soup(resp).find(id="endpoint-secret").text
    assert new != endpoint.secret and WebhookEndpoint.get_by_id(endpoint.id).secret == new
    staff.post(f"/staff/api/webhooks/{endpoint.id}/delete")
    assert WebhookEndpoint.select().count() == 0


def test_editing_an_endpoint_keeps_values_on_error(app, staff):
    endpoint = make_endpoint("http://93.184.216.34/hook", events=["order.created"])
    resp = staff.post(f"/staff/api/webhooks/{endpoint.id}/edit", {"url": "nope", "events": ["order.created"]})
    assert resp.status_code == 422 and soup(resp).find(id="f-url")["value"] == "nope"
    resp = staff.post(f"/staff/api/webhooks/{endpoint.id}/edit",
                      {"url": "http://93.184.216.34/v2", "events": ["order.created", "payment.failed"]})
    assert resp.status_code == 303
    endpoint = WebhookEndpoint.get_by_id(endpoint.id)
    assert endpoint.url == "http://93.184.216.34/v2" and endpoint.event_list == ["payment.failed", "order.created"]


# --- events wired here -------------------------------------------------------------------------

def test_portal_view_emits_document_viewed_once(app, allow_loopback, receiver, browser):
    endpoint = make_endpoint(receiver.url, events=["document.viewed"])
    person = make_person(password="correct horse battery")
    doc = make_document(person.contact)
    browser.post("/login", {"email": person.email, "password": "correct horse battery"})
    for _ in range(2):   # a reload within minutes is the same view
        assert browser.get(f"/documents/{doc.id}").status_code == 200
    run_due(app)
    [event] = receiver.events()
    assert event["type"] == "document.viewed"
    assert event["data"]["document"]["id"] == doc.id and event["data"]["person"]["id"] == person.id
    assert_signed(receiver.requests[0], endpoint.secret)



def test_readme_verification_snippet_accepts_our_signature():
    readme = open(os.path.join(ROOT, "README.md")).read()
    snippet = readme.split("## REST API and webhooks", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(snippet, namespace)   # the README's own code, as a receiver would paste it
    body = b'{"id":"evt_1","type":"order.created"}'
    header = webhooks.signature_header("whsec_doc", body.decode())
    assert namespace["verify"]("whsec_doc", header, body)
    assert not namespace["verify"]("whsec_doc", header, body + b" ")
    assert not namespace["verify"]("whsec_doc", webhooks.signature_header("whsec_doc", body.decode(), 1), body)


def test_staff_manual_payment_emits_payment_succeeded(app, staff):
    endpoint = make_endpoint("http://93.184.216.34/hook", events=["payment.succeeded"])
    doc = make_document(status="open")
    resp = staff.post(f"/staff/documents/{doc.id}/payments", {"amount": "50", "paid_on": "2026-11-02", "note": "cash"})
    assert resp.status_code == 303
    [delivery] = WebhookDelivery.select().where(WebhookDelivery.endpoint == endpoint)
    data = json.loads(delivery.body)["data"]
    assert data["payment"]["amount"] == 5000 and data["payment"]["gateway"] == "manual"
    assert data["document"]["id"] == doc.id and data["document"]["amount_paid"] == 5000
