"""The job queue: outbox rows, claiming, backoff, the sweep, Huey hand-off, CLI, staff page."""
import datetime
import shutil
import socket
import subprocess
import threading
import time

import pytest
from huey import RedisHuey, SqliteHuey

from app import jobs
from app.db import db
from app.models import Job, utcnow
from tests.concurrency import race
from tests.conftest import soup

RAN = []          # payloads of every test.record job that ran, in order
_ran_lock = threading.Lock()


@jobs.handler("test.record")
def _record(job):
    with _ran_lock:
        RAN.append(job.data)
    if job.data.get("sleep"):
        time.sleep(job.data["sleep"])


@jobs.handler("test.fail")
def _fail(job):
    raise RuntimeError("boom " + job.data.get("why", ""))


@jobs.handler("test.permanent")
def _permanent(job):
    raise jobs.PermanentError("cannot ever work")


@pytest.fixture(autouse=True)
def _clear_runs():
    RAN.clear()
    yield
    RAN.clear()


@pytest.fixture
def queue(app, tmp_path):
    """The app's real Huey queue, in a file of this test's own."""
    app.config["HUEY_FILE"] = str(tmp_path / "huey.db")
    return jobs.get_queue(app)


def make_due(job):
    """Let time pass: the job's backoff is over."""
    Job.update(run_after=utcnow() - datetime.timedelta(seconds=1)).where(Job.id == job.id).execute()


def reload(job):
    return Job.get_by_id(job.id)


def run_due(app, **kw):
    with app.app_context():
        return jobs.run_due(**kw)


# --- the outbox -----------------------------------------------------------------------------

def test_committed_job_runs_exactly_once(app):
    job = jobs.enqueue("test.record", {"n": 1})
    assert reload(job).status == "pending"
    assert run_due(app) == 1
    job = reload(job)
    assert (job.status, job.attempts, job.locked_until, job.lock_token) == ("done", 1, None, "")
    assert job.done_at is not None
    assert run_due(app) == 0
    assert RAN == [{"n": 1}]


def test_rolled_back_enqueue_leaves_no_job(app):
    with db.atomic() as tx:
        jobs.enqueue("test.record", {"n": 1})
        tx.rollback()
    assert Job.select().count() == 0
    assert run_due(app) == 0 and RAN == []


def test_unknown_kind_is_refused_and_nothing_written(app):
    with pytest.raises(LookupError):
        jobs.enqueue("no.such.kind", {})
    assert Job.select().count() == 0


def test_payload_must_be_json(app):
    with pytest.raises(TypeError):
        jobs.enqueue("test.record", {"when": datetime.date.today()})
    assert Job.select().count() == 0


def test_run_after_in_the_future_waits(app):
    job = jobs.enqueue("test.record", {}, run_after=utcnow() + datetime.timedelta(hours=1))
    assert run_due(app) == 0
    make_due(job)
    assert run_due(app) == 1


def test_aware_run_after_is_stored_as_utc(app):
    madrid = datetime.timezone(datetime.timedelta(hours=2))
    when = datetime.datetime(2030, 1, 1, 12, 0, tzinfo=madrid)
    job = jobs.enqueue("test.record", {}, run_after=when)
    assert reload(job).run_after == datetime.datetime(2030, 1, 1, 10, 0)


def test_run_due_respects_limit_oldest_first(app):
    for n in range(3):
        jobs.enqueue("test.record", {"n": n})
    assert run_due(app, limit=2) == 2
    assert RAN == [{"n": 0}, {"n": 1}]
    assert run_due(app) == 1


# --- failures ------------------------------------------------------------------------------

def test_failure_backs_off_then_fails_for_good(app):
    job = jobs.enqueue("test.fail", {"why": "disk full"}, max_attempts=3)
    before = utcnow()
    assert run_due(app) == 1
    job = reload(job)
    assert (job.status, job.attempts) == ("pending", 1)
    assert job.last_error == "RuntimeError: boom disk full"
    assert before + datetime.timedelta(seconds=55) < job.run_after < utcnow() + datetime.timedelta(seconds=65)
    assert run_due(app) == 0            # still backing off

    make_due(job)
    before = utcnow()
    assert run_due(app) == 1
    job = reload(job)
    assert (job.status, job.attempts) == ("pending", 2)
    assert job.run_after > before + datetime.timedelta(seconds=115)   # doubled

    make_due(job)
    assert run_due(app) == 1
    job = reload(job)
    assert (job.status, job.attempts) == ("failed", 3)
    make_due(job)
    assert run_due(app) == 0            # failed jobs stay put until staff retry them


def test_backoff_doubles_and_is_capped():
    assert [jobs.backoff(n) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert jobs.backoff(30) == jobs.BACKOFF_MAX


def test_permanent_error_fails_at_once(app):
    job = jobs.enqueue("test.permanent", {})
    assert run_due(app) == 1
    job = reload(job)
    assert (job.status, job.attempts) == ("failed", 1)
    assert "cannot ever work" in job.last_error


def test_job_without_handler_is_retried_not_lost(app):
    # A row written by a newer version of the app, read by a worker that lacks the handler.
    job = Job.create(kind="from.the.future", payload="{}")
    assert run_due(app) == 1
    job = reload(job)
    assert (job.status, job.attempts) == ("pending", 1)
    assert "from.the.future" in job.last_error


def test_error_text_never_shows_configured_secrets(app):
    app.config.update(SMTP_PASSWORD="hunter2-secret", STRIPE_SECRET_KEY="sk_test_abcdef",
                      LIMITER_STORAGE_URL="redis://:redispass@127.0.0.1:6379/0")
    job = jobs.enqueue("test.fail", {"why": "hunter2-secret sk_test_abcdef redispass"})
    assert run_due(app) == 1
    error = reload(job).last_error
    assert "hunter2" not in error and "sk_test_abcdef" not in error and "redispass" not in error
    assert error.count("[hidden]") == 3


# --- claiming --------------------------------------------------------------------------------

def test_claim_is_won_by_exactly_one(app):
    job = jobs.enqueue("test.record", {})
    now = utcnow()
    lease = now + jobs.LEASE
    assert Job.claim(job.id, "a" * 32, now, lease) is True
    assert Job.claim(job.id, "b" * 32, now, lease) is False
    assert reload(job).lock_token == "a" * 32


def test_two_workers_racing_run_the_job_once(app):
    job = jobs.enqueue("test.record", {"sleep": 0.2})
    db.close()

    def worker():
        with app.app_context(), jobs.connection():
            return jobs.run_job(job.id)

    results = race(worker, worker, timeout=10)
    assert sorted(results) == [False, True]
    assert len(RAN) == 1
    assert reload(job).status == "done"


def test_worker_that_lost_its_lease_cannot_record_a_result(app):
    job = jobs.enqueue("test.record", {})
    past = utcnow() - datetime.timedelta(minutes=1)
    assert Job.claim(job.id, "slow" * 8, utcnow(), past)      # a lease already over
    assert Job.claim(job.id, "fast" * 8, utcnow(), utcnow() + jobs.LEASE)
    assert Job.finish(job.id, "slow" * 8, utcnow()) is False
    assert Job.fail(job.id, "slow" * 8, "late", None) is False
    assert Job.finish(job.id, "fast" * 8, utcnow()) is True
    assert reload(job).status == "done"


def test_sweep_picks_up_a_job_whose_worker_was_killed(app, queue):
    job = jobs.enqueue("test.record", {"n": 7})
    now = utcnow()
    assert Job.claim(job.id, "dead" * 8, now, now + jobs.LEASE)    # then the worker dies
    queue.sweep.call_local()
    assert RAN == [] and reload(job).status == "running"           # its lease still holds
    Job.update(locked_until=utcnow() - datetime.timedelta(seconds=1)).where(Job.id == job.id).execute()
    queue.sweep.call_local()
    job = reload(job)
    assert RAN == [{"n": 7}]
    assert (job.status, job.attempts) == ("done", 2)


def test_killed_on_its_last_attempt_the_job_is_failed(app, queue):
    job = jobs.enqueue("test.record", {}, max_attempts=1)
    past = utcnow() - datetime.timedelta(seconds=1)
    assert Job.claim(job.id, "dead" * 8, utcnow(), past)           # and its lease ran out
    queue.sweep.call_local()
    job = reload(job)
    assert job.status == "failed" and job.last_error == jobs.ABANDONED
    assert RAN == []


# --- Huey hand-off ---------------------------------------------------------------------------

def test_job_is_handed_to_huey_when_the_app_context_ends(app, queue, tmp_path):
    assert isinstance(queue.huey, SqliteHuey)
    assert queue.huey.storage.filename == str(tmp_path / "huey.db")
    with app.app_context():
        with db.atomic():
            job = jobs.enqueue("test.record", {"n": 1})
        assert queue.huey.pending_count() == 0      # not before the context (and its commit) ends
    assert queue.huey.pending_count() == 1
    queue.huey.execute(queue.huey.dequeue())          # what a consumer does
    assert reload(job).status == "done" and RAN == [{"n": 1}]


def test_jobs_queued_together_ring_huey_once_and_all_run(app, queue):
    with app.app_context():
        with db.atomic():
            first = jobs.enqueue("test.record", {"n": 1})
            second = jobs.enqueue("test.record", {"n": 2})
    assert queue.huey.pending_count() == 1
    queue.huey.execute(queue.huey.dequeue())
    assert {reload(first).status, reload(second).status} == {"done"} and RAN == [{"n": 1}, {"n": 2}]


def test_rolled_back_job_rings_huey_harmlessly(app, queue):
    with app.app_context():
        with db.atomic() as tx:
            jobs.enqueue("test.record", {"n": 1})
            tx.rollback()
    queue.huey.execute(queue.huey.dequeue())
    assert RAN == [] and Job.select().count() == 0


def test_future_job_is_scheduled_in_huey(app, queue):
    with app.app_context():
        job = jobs.enqueue("test.record", {}, run_after=utcnow() + datetime.timedelta(minutes=5))
    task = queue.huey.dequeue()
    assert task.args == (job.id,)
    assert abs((task.eta - reload(job).run_after).total_seconds()) < 2   # huey waits, not we


def test_job_written_without_a_doorbell_is_found_by_the_sweep(app, queue):
    # Outside an app context nobody rings Huey: as if the process died right after the commit.
    job = jobs.enqueue("test.record", {"n": 2})
    assert queue.huey.pending_count() == 0
    queue.sweep.call_local()
    assert reload(job).status == "done" and RAN == [{"n": 2}]


def test_huey_down_does_not_break_the_request(app, tmp_path):
    app.config["HUEY_FILE"] = str(tmp_path / "not-a-dir" / "x" / "huey.db")
    (tmp_path / "not-a-dir").write_text("a file where a folder should be")
    with app.app_context():
        job = jobs.enqueue("test.record", {})
    assert reload(job).status == "pending"
    assert run_due(app) == 1


def test_immediate_mode_runs_jobs_in_process(app, tmp_path):
    app.config.update(HUEY_IMMEDIATE=True, HUEY_FILE=str(tmp_path / "unused.db"))
    with app.app_context():
        job = jobs.enqueue("test.record", {"n": 3})
    assert reload(job).status == "done" and RAN == [{"n": 3}]
    assert not (tmp_path / "unused.db").exists()


@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
def test_redis_url_selects_redis_huey(app, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        app.config["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        queue = jobs.get_queue(app)
        assert isinstance(queue.huey, RedisHuey)
        deadline = time.monotonic() + 10
        while True:
            try:
                queue.huey.storage.conn.ping()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        with app.app_context():
            job = jobs.enqueue("test.record", {"n": 4})
        assert queue.huey.pending_count() == 1
        queue.huey.execute(queue.huey.dequeue())
        assert reload(job).status == "done" and RAN == [{"n": 4}]
    finally:
        proc.terminate()
        proc.wait(10)


# --- CLI -----------------------------------------------------------------------------------

def test_cli_run_due_and_status(app, runner):
    jobs.enqueue("test.record", {"n": 1})
    jobs.enqueue("test.permanent", {})
    result = runner.invoke(args=["jobs", "status"])
    assert "pending=2" in result.output
    result = runner.invoke(args=["jobs", "run-due"])
    assert result.exit_code == 0 and "ran 2 job(s)" in result.output
    assert RAN == [{"n": 1}]
    result = runner.invoke(args=["jobs", "status"])
    assert "done=1" in result.output and "failed=1" in result.output


def test_worker_refuses_immediate_mode(app, runner):
    app.config["HUEY_IMMEDIATE"] = True
    result = runner.invoke(args=["worker"])
    assert result.exit_code != 0 and "HUEY_IMMEDIATE" in result.output


# --- the staff page ------------------------------------------------------------------------

def failed_job(error="SMTPServerDisconnected: Connection unexpectedly closed"):
    job = jobs.enqueue("test.fail", {})
    Job.update(status="failed", attempts=8, last_error=error).where(Job.id == job.id).execute()
    return reload(job)


def test_jobs_page_requires_staff(client):
    resp = client.get("/staff/jobs/")
    assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]
    assert client.post("/staff/jobs/1/retry").status_code in (302, 400)
    assert Job.select().count() == 0


def test_jobs_page_shows_counts_and_jobs_needing_attention(staff):
    failed = failed_job()
    waiting = jobs.enqueue("test.record", {})
    done = jobs.enqueue("test.record", {})
    Job.update(status="done").where(Job.id == done.id).execute()
    page = soup(staff.get("/staff/jobs/"))
    assert page.select_one("#count-failed strong").text == "1"
    assert page.select_one("#count-pending strong").text == "1"
    assert page.select_one("#count-done strong").text == "1"
    row = page.select_one(f"#job-{failed.id}")
    assert row["data-status"] == "failed"
    assert "Connection unexpectedly closed" in row.select_one(".last-error").text
    assert "8 / 8" in row.text and row.find("td", string="test.fail")
    assert row.select_one(f"#retry-{failed.id}")
    assert page.select_one(f"#job-{waiting.id}")["data-status"] == "pending"
    assert not page.select_one(f"#retry-{waiting.id}")
    assert not page.select_one(f"#job-{done.id}")          # done jobs are only counted
    # failed first
    assert page.select("#jobs tbody tr")[0]["id"] == f"job-{failed.id}"


def test_jobs_page_filters_by_status(staff):
    failed = failed_job()
    waiting = jobs.enqueue("test.record", {})
    page = soup(staff.get("/staff/jobs/?status=pending"))
    assert page.select_one(f"#job-{waiting.id}") and not page.select_one(f"#job-{failed.id}")
    page = soup(staff.get("/staff/jobs/?status=nonsense"))
    assert page.select_one(f"#job-{waiting.id}") and page.select_one(f"#job-{failed.id}")


def test_jobs_page_is_paginated(staff):
    Job.insert_many([{"kind": "test.fail", "payload": "{}", "status": "failed"}] * 51).execute()
    first = soup(staff.get("/staff/jobs/"))
    assert len(first.select("#jobs tbody tr")) == 50
    assert first.select_one("#next-page")["href"].endswith("page=2")
    second = soup(staff.get("/staff/jobs/?page=2"))
    assert len(second.select("#jobs tbody tr")) == 1 and not second.select_one("#next-page")
    assert soup(staff.get("/staff/jobs/?page=-3")).select("#jobs tbody tr")


def test_retry_requeues_a_failed_job(app, staff, queue):
    job = failed_job()
    staff.get("/staff/jobs/")
    resp = staff.post(f"/staff/jobs/{job.id}/retry")
    assert resp.status_code == 303
    job = reload(job)
    assert (job.status, job.attempts) == ("pending", 0)
    assert job.run_after <= utcnow()
    assert queue.huey.pending_count() == 1               # handed to the worker at once
    page = soup(staff.get("/staff/jobs/"))
    assert f"Job {job.id} will run again shortly." in page.select_one(".flashes").text


def test_retry_needs_csrf_and_a_failed_job(app, staff):
    job = failed_job()
    staff.get("/staff/jobs/")
    assert staff.post(f"/staff/jobs/{job.id}/retry", token=False).status_code == 400
    assert reload(job).status == "failed"
    assert staff.post("/staff/jobs/999999/retry").status_code == 404
    waiting = jobs.enqueue("test.record", {})
    staff.post(f"/staff/jobs/{waiting.id}/retry")
    assert reload(waiting).status == "pending"
    page = soup(staff.get("/staff/jobs/"))
    assert "nothing to retry" in page.select_one(".flashes").text
