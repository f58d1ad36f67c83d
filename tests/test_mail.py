"""Mail: queued with the caller's transaction, delivered over real SMTP, in the right language."""
import asyncio
import datetime
import email
import json
import logging
import email.policy
import os
import signal
import subprocess
import sys
import threading

import pytest
from flask_babel import get_locale

from app import jobs, mail
from app.db import db
from app.models import Job, utcnow
from tests.conftest import soup
from tests.factories import make_contact, make_document, make_person, settings
from tests.smtp import SMTPServer, smtp_server  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def smtp(app, smtp_server, tmp_path):  # noqa: F811
    app.config["SMTP_PORT"] = smtp_server.port
    app.config["HUEY_FILE"] = str(tmp_path / "huey.db")   # views ring Huey: keep it out of instance/
    return smtp_server


def run_due(app):
    with app.app_context():
        return jobs.run_due()


def make_due(job_id):
    Job.update(run_after=utcnow() - datetime.timedelta(seconds=1)).where(Job.id == job_id).execute()


def send(**kw):
    args = {"to": "ana@example.com", "subject": "Your invoice F-2026-0001",
            "text": "Hello Ana,\nyour invoice is ready.\n"}
    args.update(kw)
    return mail.send_mail(**args)


# --- the transaction decides -----------------------------------------------------------------

def test_mail_in_a_rolled_back_transaction_is_never_sent(app, smtp):
    with db.atomic() as tx:
        send()
        tx.rollback()
    assert Job.select().count() == 0
    assert run_due(app) == 0
    assert smtp.messages == []


def test_committed_mail_is_delivered(app, smtp):
    app.config["MAIL_FROM"] = "Acme Billing <billing@acme.test>"
    with db.atomic():
        job = send(to=["ana@example.com", "Luis <luis@example.com>"], reply_to="help@acme.test",
                   html="<p>Hello <b>Ana</b></p>")
    assert smtp.messages == []            # nothing leaves before a worker runs the job
    assert run_due(app) == 1
    [got] = smtp.messages
    assert sorted(got.rcpt_tos) == ["ana@example.com", "luis@example.com"]
    assert got.mail_from == "billing@acme.test"
    msg = got.message
    assert msg["Subject"] == "Your invoice F-2026-0001"
    assert msg["To"] == "ana@example.com, Luis <luis@example.com>"
    assert msg["From"] == "Acme Billing <billing@acme.test>"
    assert msg["Reply-To"] == "help@acme.test"
    assert msg["Message-ID"].startswith(f"<job-{job.id}.") and msg["Message-ID"].endswith("@acme.test>")
    assert got.text == "Hello Ana,\nyour invoice is ready.\n"
    assert "<b>Ana</b>" in got.html
    assert Job.get_by_id(job.id).status == "done"
    assert run_due(app) == 0 and len(smtp.messages) == 1


def test_non_ascii_mail_survives_the_trip(app, smtp):
    send(subject="Factura pagada — gracias, Núria", text="Importe: 1.234,50 €\n")
    run_due(app)
    [got] = smtp.messages
    assert got.message["Subject"] == "Factura pagada — gracias, Núria"
    assert got.text == "Importe: 1.234,50 €\n"


def test_addresses_are_checked_before_anything_is_written(app):
    for bad in ("", "no-at-sign", "ana@example.com\r\nBcc: all@example.com", "a b@example.com"):
        with pytest.raises(ValueError):
            send(to=bad)
    with pytest.raises(ValueError):
        send(to=[])
    with pytest.raises(ValueError):
        send(reply_to="x@example.com\nBcc: y@example.com")
    assert Job.select().count() == 0


def test_subject_is_kept_on_one_line(app, smtp):
    send(subject="Hello\r\nBcc: everyone@example.com")
    run_due(app)
    [got] = smtp.messages
    assert got.message["Subject"] == "Hello Bcc: everyone@example.com"
    assert got.message["Bcc"] is None and got.rcpt_tos == ["ana@example.com"]


# --- when the server is down or says no ------------------------------------------------------

def test_server_down_then_up_delivers_exactly_once(app, smtp):
    smtp.stop()
    job = send()
    before = utcnow()
    assert run_due(app) == 1
    row = Job.get_by_id(job.id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "Connection refused" in row.last_error or "ConnectionRefused" in row.last_error
    assert row.run_after >= before + datetime.timedelta(seconds=55)

    smtp.start()
    assert run_due(app) == 0 and smtp.messages == []     # still backing off
    make_due(job.id)
    assert run_due(app) == 1
    assert len(smtp.messages) == 1
    row = Job.get_by_id(job.id)
    assert (row.status, row.attempts) == ("done", 2)
    make_due(job.id)
    assert run_due(app) == 0 and len(smtp.messages) == 1


def test_after_max_attempts_the_mail_is_failed_and_staff_can_retry(app, smtp, staff):
    smtp.stop()
    job = send()
    for _attempt in range(1, 9):
        make_due(job.id)
        assert run_due(app) == 1
    row = Job.get_by_id(job.id)
    assert (row.status, row.attempts) == ("failed", 8)
    make_due(job.id)
    assert run_due(app) == 0

    page = soup(staff.get("/staff/jobs/"))
    assert page.select_one("#count-failed strong").text == "1"
    assert "Connection refused" in page.select_one(f"#job-{job.id} .last-error").text
    assert staff.post(f"/staff/jobs/{job.id}/retry").status_code == 303
    assert Job.get_by_id(job.id).status == "pending"

    smtp.start()
    assert run_due(app) == 1
    assert len(smtp.messages) == 1
    assert Job.get_by_id(job.id).status == "done"
    assert soup(staff.get("/staff/jobs/")).select_one("#count-failed strong").text == "0"


def test_refused_recipient_fails_at_once(app, smtp):
    smtp.refuse("ghost@example.com")
    job = send(to="ghost@example.com")
    assert run_due(app) == 1
    row = Job.get_by_id(job.id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "ghost@example.com (550" in row.last_error
    assert smtp.messages == []


def test_smtp_login_and_a_password_that_never_reaches_the_staff_page(app, staff):
    server = SMTPServer(users={"mailer": "correct-pass-42"}, echo_credentials=True).start()
    try:
        app.config.update(SMTP_PORT=server.port, SMTP_USER="mailer", SMTP_PASSWORD="wrong-pass-42")
        job = send()
        assert run_due(app) == 1
        row = Job.get_by_id(job.id)
        assert row.status == "pending" and "SMTPAuthenticationError" in row.last_error
        assert "wrong-pass-42" not in row.last_error and "[hidden]" in row.last_error
        assert "wrong-pass-42" not in staff.get("/staff/jobs/").get_data(as_text=True)

        app.config["SMTP_PASSWORD"] = "correct-pass-42"
        make_due(job.id)
        assert run_due(app) == 1
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_starttls_setting_is_honoured(app, smtp):
    app.config["SMTP_STARTTLS"] = True      # the test server offers no STARTTLS: refuse to go on
    job = send()
    run_due(app)
    row = Job.get_by_id(job.id)
    assert row.status == "pending" and "STARTTLS" in row.last_error
    assert smtp.messages == []


# --- console backend ---------------------------------------------------------------------------

def test_console_backend_prints_and_writes_an_eml_file(app, capsys, tmp_path):
    app.config.update(MAIL_BACKEND="console", MAIL_DIR=str(tmp_path / "mail"),
                      HUEY_FILE=str(tmp_path / "huey.db"))
    with app.test_request_context():
        job = mail.send_template("ana@example.com", "test", "en", sent_at=datetime.date(2026, 3, 5))
    assert run_due(app) == 1
    [path] = (tmp_path / "mail").iterdir()
    assert path.name.endswith(f"-job{job.id}.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "ana@example.com"
    assert msg["Subject"] == "Test message from My business"
    assert "http://portal.test/staff/jobs/" in msg.get_body(("plain",)).get_content()
    out = capsys.readouterr().out
    assert "Subject: Test message from My business" in out
    assert "http://portal.test/staff/jobs/" in out and str(path) in out
    assert Job.get_by_id(job.id).status == "done"


# --- templates and languages ---------------------------------------------------------------------

def test_mail_is_rendered_in_the_language_asked_for(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        en = mail.render_mail("test", "en", sent_at=datetime.date(2026, 3, 5))
        es = mail.render_mail("test", "es", sent_at=datetime.date(2026, 3, 5))
        assert str(get_locale()) == "en"          # the request's own locale is left alone
    assert "5 March 2026" in en["text"] and "5 March 2026" in en["html"]
    assert "5 de marzo de 2026" in es["text"] and "5 de marzo de 2026" in es["html"]
    assert 'lang="es"' in es["html"] and 'lang="en"' in en["html"]
    assert en["subject"] == "Test message from My business"


def test_mail_renders_in_a_worker_without_a_request(app):
    with app.app_context():
        out = mail.render_mail("test", "es", sent_at=datetime.date(2026, 3, 5))
        unknown = mail.render_mail("test", "xx", sent_at=datetime.date(2026, 3, 5))
    assert "5 de marzo de 2026" in out["text"]
    assert "5 March 2026" in unknown["text"]     # an unknown language falls back to the default
    assert "http://portal.test/staff/jobs/" in out["text"]


def test_links_come_from_base_url_not_the_request_host(app):
    with app.test_request_context("/", base_url="http://evil.example"):
        out = mail.render_mail("test", "en", sent_at=datetime.date(2026, 3, 5))
    assert "evil.example" not in out["text"] + out["html"]
    assert 'href="http://portal.test/staff/jobs/"' in out["html"]


def test_html_mail_escapes_what_it_is_given(app):
    settings(name='Acme <script>alert(1)</script>')
    with app.app_context():
        out = mail.render_mail("test", "en", sent_at=datetime.date(2026, 3, 5))
    assert "<script>" not in out["html"] and "&lt;script&gt;" in out["html"]
    assert "Acme <script>" in out["text"]           # plain text is not HTML: kept as written


def test_recipient_language(app):
    settings(default_language="ca")
    contact = make_contact(language="fr")
    with app.app_context():
        assert mail.recipient_language(make_person(contact, language="de")) == "de"
        assert mail.recipient_language(make_person(contact)) == "fr"
        assert mail.recipient_language(make_person(make_contact())) == "ca"
        assert mail.recipient_language(contact=make_contact(language="it")) == "it"


# --- the staff test-mail form -----------------------------------------------------------------

def test_staff_sends_a_test_mail_in_their_language(app, smtp, staff):
    resp = staff.post("/staff/jobs/test-mail", {"to": "Ops@Example.com"},
                      headers={"Accept-Language": "es"})
    assert resp.status_code == 303
    assert run_due(app) == 1
    [got] = smtp.messages
    assert got.rcpt_tos == ["ops@example.com"]
    today = datetime.date.today()
    from babel.dates import format_date
    assert format_date(today, "long", locale="es") in got.text


@pytest.mark.parametrize("value, message", [
    ("", "This field is required."),
    ("not-an-address", "Enter an email address like name@example.com."),
    ("a" * 250 + "@example.com", "Use at most 254 characters"),
])
def test_test_mail_form_is_validated(app, staff, value, message):
    resp = staff.post("/staff/jobs/test-mail", {"to": value})
    assert resp.status_code == 422
    page = soup(resp)
    assert message in page.select_one("#e-to").text
    assert page.select_one("#f-to")["value"] == value
    assert Job.select().count() == 0


# --- the real worker ---------------------------------------------------------------------------

def test_worker_command_delivers_mail(app, smtp, tmp_path):
    huey_file = str(tmp_path / "huey.db")
    app.config["HUEY_FILE"] = huey_file
    swept = send(to="swept@example.com")            # committed before any worker runs
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], HUEY_FILE=huey_file,
               SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port), MAIL_BACKEND="smtp",
               SECRET_KEY="test-secret-key-not-for-production", PORTAL_ENV="production",
               INSTANCE_PATH=str(tmp_path / "instance"), BASE_URL="http://portal.test",
               HUEY_IMMEDIATE="0", REDIS_URL="")
    db.close()
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker",
                             "--workers", "1"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # The worker sweeps once as it starts: the job nobody rang Huey for goes out.
        assert len(smtp.wait_for(1, timeout=30)) == 1, "worker did not sweep"
        with app.app_context():
            rung = send(to="rung@example.com")
        # This one arrives through the Huey doorbell, well before the next minute's sweep.
        assert len(smtp.wait_for(2, timeout=15)) == 2, "worker did not run the dispatched job"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output = proc.communicate(timeout=15)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0]
    assert [m.rcpt_tos for m in smtp.messages] == [["swept@example.com"], ["rung@example.com"]], output
    assert Job.get_by_id(swept.id).status == "done" and Job.get_by_id(rung.id).status == "done"
    assert proc.returncode == 0, output



class SlowSMTP(SMTPServer):
    """An SMTP server that takes its time: at DATA (the mail is in flight) or at RCPT (nothing
    sent yet), for the first connection only. `busy` is set once it has started waiting."""

    def __init__(self, stall_at, seconds):
        super().__init__()
        self.stall_at, self.seconds = stall_at, seconds
        self.busy = threading.Event()

    async def _stall(self, stage):
        if stage == self.stall_at and not self.busy.is_set():
            self.busy.set()
            await asyncio.sleep(self.seconds)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self._stall("RCPT")
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):
        await self._stall("DATA")
        return await super().handle_DATA(server, session, envelope)


def start_worker(app, server, tmp_path, **env):
    app.config["HUEY_FILE"] = str(tmp_path / "huey.db")
    app.config["SMTP_PORT"] = server.port
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], HUEY_FILE=app.config["HUEY_FILE"],
               SMTP_HOST="127.0.0.1", SMTP_PORT=str(server.port), MAIL_BACKEND="smtp",
               SECRET_KEY="test-secret-key-not-for-production", PORTAL_ENV="production",
               INSTANCE_PATH=str(tmp_path / "instance"), BASE_URL="http://portal.test",
               HUEY_IMMEDIATE="0", REDIS_URL="", **env)
    db.close()
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--workers", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(proc, sig=signal.SIGTERM, timeout=30):
    proc.send_signal(sig)
    try:
        return proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return "did not stop: " + proc.communicate()[0]


def test_sigterm_mid_mail_lets_the_mail_finish_and_sends_it_once(app, tmp_path):
    """What systemd does on stop or restart: the mail in flight is finished and recorded, not
    sent a second time when a lease runs out ten minutes later."""
    server = SlowSMTP("DATA", seconds=2).start()
    try:
        proc = start_worker(app, server, tmp_path)
        with app.app_context():
            job = send(to="ana@example.com")
        assert server.busy.wait(30), "the worker never started the mail"
        output = stop(proc)
        assert proc.returncode == 0, output
        job = Job.get_by_id(job.id)
        assert (job.status, job.attempts, job.lock_token) == ("done", 1, ""), output
        assert run_due(app) == 0
        assert [m.rcpt_tos for m in server.messages] == [["ana@example.com"]]
    finally:
        server.stop()


def test_a_job_still_unfinished_after_the_grace_is_handed_back_at_once(app, tmp_path):
    server = SlowSMTP("RCPT", seconds=8).start()
    try:
        proc = start_worker(app, server, tmp_path, WORKER_STOP_GRACE="1")
        with app.app_context():
            job = send(to="ana@example.com")
        assert server.busy.wait(30), "the worker never started the mail"
        output = stop(proc)
        assert proc.returncode == 0, output
        assert "handed back" in output
        job = Job.get_by_id(job.id)
        # Pending and due now, its cut-short attempt not counted: not locked for a 10-minute lease.
        assert (job.status, job.attempts, job.lock_token, job.locked_until) == ("pending", 0, "", None)
        assert job.run_after <= utcnow()
        assert server.messages == []
        assert run_due(app) == 1            # the next worker sends it, once
        assert [m.rcpt_tos for m in server.wait_for(1)] == [["ana@example.com"]]
        assert Job.get_by_id(job.id).status == "done"
    finally:
        server.stop()


def test_a_sent_mail_keeps_no_link_in_the_database(app, outbox):
    """The access link is in the mail that arrived and nowhere in the job rows (backups)."""
    from app import tokens
    from app.models import Job
    from tests.factories import make_contact, make_person
    person = make_person(contact=make_contact(portal_enabled=True), email="ana@ruiz.example")
    with app.app_context():
        token, _link = tokens.send_link(person, "access")
    job = Job.get(Job.kind == "mail")
    assert token in job.payload                     # waiting to be sent, it must hold the token
    arrived = outbox()
    assert any(token in m.text for m in arrived)
    job = Job.get_by_id(job.id)
    assert job.status == "done" and token not in job.payload
    # Who, which mail and which rows it was about stay; the values (the token, its expiry) go.
    assert job.data["to"] == ["ana@ruiz.example"] and job.data["template"] == "access_link"
    assert job.data["context"] == {"person": {"$row": ["Person", person.id]}, "business": {"$row": ["Settings", 1]}}


# --- rendered by the job, not in the caller's transaction --------------------------------------

def test_a_comment_mail_is_queued_unrendered_and_arrives_in_the_recipients_language(app, outbox):
    from app import comments
    settings(name="Talleres Ruiz")
    person = make_person(make_contact(portal_enabled=True), email="ana@ruiz.example", language="es")
    doc = make_document(person.contact, number="F-2026-0042")
    with app.app_context():
        comment = comments.post_by_business(doc, "Ya está enviado.", author_name="Luis")
    job = Job.get(Job.kind == "mail")
    # Nothing rendered in the comment's transaction: what to render, in which language, from which rows.
    assert not {"subject", "text", "html"} & set(job.data)
    assert (job.data["template"], job.data["language"]) == ("comment_contact", "es")
    assert job.data["context"]["comment"] == {"$row": ["Comment", comment.id]}
    [got] = outbox()
    assert got.rcpt_tos == ["ana@ruiz.example"]
    assert got.message["Subject"] == "Talleres Ruiz ha respondido en F-2026-0042"
    assert "Hola, Ana García:" in got.text and "Ya está enviado." in got.text
    assert f"http://portal.test/documents/{doc.id}" in got.text and 'lang="es"' in got.html
    assert Job.get_by_id(job.id).status == "done"


def test_rows_are_read_when_sent_but_other_values_stay_as_queued_and_out_of_the_logs(app, outbox, caplog):
    caplog.set_level(logging.INFO)   # what production logs (DEBUG would print every SQL parameter)
    person = make_person(make_contact(portal_enabled=True), email="ana@ruiz.example", name="Ana")
    expires = datetime.datetime(2026, 3, 5, 9, 30)
    with app.test_request_context():
        job = mail.send_template(person.email, "access_link", "en", person=person, business=settings(),
                                 url_endpoint="auth.access", token="tok-secret-8f2e", expires_at=expires)
    person.name = "Ana María"          # a row changes after the mail was queued...
    person.save()
    [got] = outbox()
    assert "Hello Ana María," in got.text                           # ...and the mail reads it then
    assert "http://portal.test/access/tok-secret-8f2e" in got.text    # the token as it was queued
    assert "5 March 2026" in got.text
    row = Job.get_by_id(job.id)
    assert row.status == "done" and "tok-secret-8f2e" not in row.payload
    assert not [r for r in caplog.records if "tok-secret-8f2e" in r.getMessage()]


def test_a_mail_whose_row_was_deleted_fails_once_with_the_reason(app, outbox, caplog):
    from app import comments, documents
    person = make_person(make_contact(portal_enabled=True))
    draft = make_document(person.contact, status="draft", number="")
    with app.app_context():
        comments.post_by_person(draft, person, "Can you add the delivery?")
    job = Job.get(Job.kind == "mail")
    documents.delete_draft(draft)        # its comments go with it, before the mail was sent
    assert outbox() == []
    row = Job.get_by_id(job.id)
    assert (row.status, row.attempts) == ("failed", 1)          # not retried: it cannot get better
    assert "no longer exists" in row.last_error and f"Document {draft.id}" in row.last_error
    assert any(f"job {job.id} (mail)" in r.getMessage() and "no longer exists" in r.getMessage()
               for r in caplog.records)
    make_due(job.id)
    assert run_due(app) == 0


def test_a_mail_queued_before_the_upgrade_is_delivered_as_it_was_stored(app, smtp):
    """Jobs written by the version that rendered in the caller: subject, text and html."""
    job = Job.create(kind="mail", run_after=utcnow(), payload=json.dumps({
        "to": ["ana@example.com"], "subject": "Your order SO-2026-0007 at Acme",
        "text": "Hello Ana,\nyour link: http://portal.test/access/old-token\n",
        "html": "<p>Hello <b>Ana</b></p>", "reply_to": "orders@acme.test", "request_id": "req-1"}))
    assert run_due(app) == 1
    [got] = smtp.messages
    assert got.message["Subject"] == "Your order SO-2026-0007 at Acme"
    assert got.message["Reply-To"] == "orders@acme.test"
    assert got.text == "Hello Ana,\nyour link: http://portal.test/access/old-token\n" and "<b>Ana</b>" in got.html
    row = Job.get_by_id(job.id)
    assert row.status == "done" and "old-token" not in row.payload and row.data["subject"]


def test_what_a_job_could_not_render_faithfully_is_refused_before_anything_is_written(app):
    from jinja2 import TemplateNotFound
    from app.models import Person
    with app.test_request_context():
        with pytest.raises(TypeError) as refused:
            mail.send_template("ana@example.com", "test", "en", sent_at=datetime.date.today(),
                               secret={"token-abc"})            # a set: JSON cannot keep it
        assert "token-abc" not in str(refused.value)               # the type is named, never the value
        with pytest.raises(TypeError):
            mail.send_template("ana@example.com", "test", "en", person=Person(name="unsaved"))
        with pytest.raises(TemplateNotFound):
            mail.send_template("ana@example.com", "tset", "en")
    assert Job.select().count() == 0


def test_a_mails_title_taken_from_its_subject_is_escaped_in_html(app):
    business = settings(name="Acme </title><b>Tools</b>")
    with app.test_request_context():
        sent = mail.render_mail("bank_changed", "en", business=business, person=make_person(), contact=make_contact(),
                                iban="ES91 2100 0418 4502 0005 1332", changed_at=datetime.date(2026, 12, 6),
                                verify_url="http://portal.test/verify/x")
    assert "Acme </title><b>Tools</b>: our bank details have changed" == sent["subject"]
    assert "<title>Acme &lt;/title&gt;&lt;b&gt;Tools&lt;/b&gt;: our bank details" in sent["html"]
