"""The durable job queue: an outbox table (models.Job) with Huey as the doorbell.

`enqueue(kind, payload)` writes a Job row in the caller's transaction, so the job exists exactly
when the change that caused it committed. When the app context ends (the request's transaction
has committed by then) the new ids are handed to Huey: SqliteHuey in its own file (HUEY_FILE,
instance/huey.db by default, never the app database) or RedisHuey when REDIS_URL is set. Huey
only says "look at job 42": the row is the truth. A periodic Huey task sweeps every minute for
due rows, so a crash between the commit and the hand-off, or a worker killed mid-job (its lease
expires), loses nothing.

A job runs after a conditional UPDATE claims it (pending -> running, with a lease and a token),
so two workers never run the same attempt. A failure records the error (secrets scrubbed) and
backs off exponentially; after max_attempts the job is 'failed' and stays on /staff/jobs.

Handlers: `@jobs.handler("kind")` on `def run(job)`; `job.data` is the payload. Raise to retry,
raise PermanentError to give up at once. A handler can run twice (a worker may die after the
work and before recording it), so make it idempotent where that matters. It runs outside any
transaction: on SQLite a transaction held across an SMTP call would block every writer.
"""
import base64
import contextlib
import datetime
import json
import logging
import os
import re
import threading
import uuid
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import AppGroup
from huey import RedisHuey, SqliteHuey, crontab

from . import logs, unit
from .db import db
from .models import Heartbeat, Job, utcnow

log = logging.getLogger(__name__)

LEASE = datetime.timedelta(minutes=10)   # far longer than a handler should take (SMTP: 30 s)
BACKOFF_FIRST = 60                       # seconds before the 2nd attempt; doubles each time
BACKOFF_MAX = 6 * 3600
SWEEP_LIMIT = 200
ABANDONED = "The worker stopped (killed or crashed) during the last allowed attempt."
QUEUE_NAME = "portal"

_handlers = {}
_redactors = {}   # kind -> payload -> what the row keeps once the job is done
_in_hand = {}     # job id -> lease token, for the jobs this process is running now
_on_sweep = []    # functions the minute sweep calls with the time (the daily reminders' claim)
_queue_lock = threading.Lock()


class PermanentError(Exception):
    """Raised by a handler when trying again cannot help (an address that does not exist)."""


def handler(kind, redact=None):
    """Register the function that runs jobs of this kind. `redact(payload)` gives what the
    row keeps once the job is done (a sent mail's body holds access links: backups must not)."""
    def register(fn):
        if _handlers.get(kind, fn) is not fn:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        _handlers[kind] = fn
        if redact is not None:
            _redactors[kind] = redact
        return fn
    return register


def on_sweep(fn):
    """Have the minute sweep call fn(now) (UTC): for work that is due at a time of day, such as
    the daily payment reminders. fn must be cheap when there is nothing to do, and safe to call
    from several workers at once."""
    if fn not in _on_sweep:
        _on_sweep.append(fn)
    return fn


def run_sweep_hooks(now):
    """Call the on_sweep functions; one that fails is logged and does not stop the sweep."""
    for fn in list(_on_sweep):
        try:
            fn(now)
        except Exception:
            log.exception("sweep hook %s failed", getattr(fn, "__qualname__", fn))


def enqueue(kind, payload, run_after=None, max_attempts=None):
    """Write a job in the current transaction; it is handed to Huey once the app context ends."""
    if kind not in _handlers:
        raise LookupError(f"no handler for job kind {kind!r} (registered in create_app)")
    if run_after is not None and run_after.tzinfo is not None:
        run_after = run_after.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    rid = logs.request_id()
    if rid and isinstance(payload, dict):
        payload = {**payload, "request_id": rid}   # the job's log lines name the request that queued it
    fields = {"kind": kind, "payload": json.dumps(payload), "run_after": run_after or utcnow()}
    if max_attempts:
        fields["max_attempts"] = max_attempts
    job = Job.create(**fields)
    dispatch_after_commit(job.id, job.run_after)
    return job


RING_BATCH = 4   # jobs per ring to Huey


def dispatch_after_commit(job_id, run_after=None):
    """Ring Huey for this job when the unit of work (app context) ends. Outside one there is
    nobody to ring: the sweep finds the row within a minute."""
    store = unit.scratch()
    if store is not None:
        store.setdefault("jobs_to_dispatch", []).append((job_id, run_after))


def _dispatch(exc=None):
    pending = unit.pop("jobs_to_dispatch")
    if not pending:
        return
    try:
        queue = get_queue()
        now = []
        for job_id, run_after in pending:
            delay = (run_after - utcnow()).total_seconds() if run_after else 0
            if delay > 1:
                queue.run_job.schedule((job_id,), delay=delay)
            else:
                now.append(job_id)
        # One ring for a few jobs due now (a checkout queues two mails): each ring is a write
        # to Huey's queue, made while the request still holds its worker. Many jobs go in
        # several rings, so that every worker takes a share.
        for start in range(0, len(now), RING_BATCH):
            batch = now[start:start + RING_BATCH]
            if len(batch) == 1:
                queue.run_job(batch[0])
            else:
                queue.run_jobs(batch)
    except Exception:
        # The rows are committed; only the doorbell failed (Redis down, file locked).
        log.warning("could not hand jobs %s to Huey; the sweep will run them",
                    [p[0] for p in pending], exc_info=True)


# --- running jobs -------------------------------------------------------------------------

def backoff(attempts):
    """Seconds to wait after the given number of failed attempts."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def run_job(job_id):
    """Run one job if it is due and no one else holds it; True when this call ran it."""
    token = uuid.uuid4().hex
    now = utcnow()
    if not Job.claim(job_id, token, now, now + LEASE):
        return False
    _in_hand[job_id] = token
    try:
        return _run_claimed(Job.get_by_id(job_id), token)
    finally:
        _in_hand.pop(job_id, None)


def _run_claimed(job, token):
    data = job.data
    logs.set_request_id(data.get("request_id") if isinstance(data, dict) else None)
    try:
        fn = _handlers.get(job.kind)
        if fn is None:
            # Not permanent: during a rolling upgrade an older worker may not know a new kind.
            raise LookupError(f"no handler for job kind {job.kind!r}")
        fn(job)
    except Exception as exc:
        final = isinstance(exc, PermanentError) or job.attempts >= job.max_attempts
        retry_at = None if final else utcnow() + datetime.timedelta(seconds=backoff(job.attempts))
        error = safe_error(exc)
        log.warning("job %s (%s) attempt %s/%s failed: %s", job.id, job.kind, job.attempts,
                    job.max_attempts, error)
        if not Job.fail(job.id, token, error, retry_at):
            log.warning("job %s: lease lost before recording the failure", job.id)
        return True
    redact = _redactors.get(job.kind)
    kept = json.dumps(redact(job.data)) if redact else None
    if not Job.finish(job.id, token, utcnow(), payload=kept):
        log.warning("job %s: lease lost before recording success; it may run again", job.id)
    else:
        log.info("job %s (%s) done, attempt %s", job.id, job.kind, job.attempts)
    return True


def hand_back():
    """Give back the jobs this process holds (a worker stopping before they finished): pending
    again at once, for the next worker, rather than locked until their lease runs out."""
    for job_id, token in list(_in_hand.items()):
        if Job.hand_back(job_id, token, utcnow()):
            log.warning("job %s handed back unfinished: it runs again on the next worker", job_id)


def run_due(limit=100):
    """Run every due job synchronously in this process; returns how many ran."""
    now = utcnow()
    Job.fail_abandoned(now, ABANDONED)
    return sum(run_job(job_id) for job_id in Job.due_ids(now, limit))


def safe_error(exc):
    """The error as staff will read it, with every configured secret blanked out."""
    text = f"{type(exc).__name__}: {exc}"
    for secret in sorted(_secrets(), key=len, reverse=True):
        text = text.replace(secret, "[hidden]")
    return text[:2000]


def _secrets():
    config = current_app.config
    found = set()
    for key, value in config.items():
        if not isinstance(value, str):
            continue
        if re.search(r"(PASSWORD|SECRET|TOKEN|KEY)$", key):
            found.add(value)
        elif key.endswith("_URL"):
            found.add(urlsplit(value).password or "")
    # SMTP AUTH sends the password base64-encoded (LOGIN: alone, PLAIN: after the user);
    # a server that echoes it back must not put it on the staff page either.
    user, password = config.get("SMTP_USER", ""), config.get("SMTP_PASSWORD", "")
    if password:
        for raw in (password, f"\0{user}\0{password}"):
            found.add(base64.b64encode(raw.encode()).decode())
    return {s for s in found if len(s) >= 4}


@contextlib.contextmanager
def connection():
    """A database connection for work outside a request, closed only if we opened it."""
    opened = db.connect(reuse_if_open=True)
    try:
        yield
    finally:
        if opened and not db.is_closed():
            db.close()


# --- Huey ---------------------------------------------------------------------------------

class Queue:
    """This app's Huey instance and its tasks."""

    def __init__(self, huey, run_job_task, run_jobs_task, sweep_task):
        self.huey, self.run_job, self.run_jobs, self.sweep = huey, run_job_task, run_jobs_task, sweep_task


def get_queue(app=None):
    """The app's Huey queue, made on first use (so create_app opens no file)."""
    app = app or current_app._get_current_object()
    queue = app.extensions.get("portal_jobs")
    if queue is None:
        with _queue_lock:
            queue = app.extensions.get("portal_jobs")
            if queue is None:
                queue = app.extensions["portal_jobs"] = _make_queue(app)
    return queue


def _make_queue(app):
    options = {"results": False, "immediate": app.config["HUEY_IMMEDIATE"]}
    if app.config["REDIS_URL"]:
        huey = RedisHuey(QUEUE_NAME, url=app.config["REDIS_URL"], **options)
    else:
        os.makedirs(os.path.dirname(os.path.abspath(app.config["HUEY_FILE"])), exist_ok=True)
        huey = SqliteHuey(QUEUE_NAME, filename=app.config["HUEY_FILE"], **options)

    @huey.task(name="run_job")
    def run_job_task(job_id):
        with app.app_context(), connection():
            run_job(job_id)

    @huey.task(name="run_jobs")
    def run_jobs_task(job_ids):
        with app.app_context(), connection():
            for job_id in job_ids:
                run_job(job_id)

    @huey.periodic_task(crontab(minute="*"), name="sweep")
    def sweep_task():
        with app.app_context(), connection():
            Heartbeat.beat("worker", utcnow())   # /readyz: a worker is alive
            run_sweep_hooks(utcnow())
            ran = run_due(limit=SWEEP_LIMIT)
        if ran:
            log.info("sweep ran %s job(s)", ran)

    return Queue(huey, run_job_task, run_jobs_task, sweep_task)


def run_worker(app, workers=2, max_delay=1.0):
    """Run the Huey consumer for this app until SIGINT/SIGTERM (the `worker` command)."""
    queue = get_queue(app)
    if queue.huey.immediate:
        raise click.UsageError("HUEY_IMMEDIATE is on: jobs run inside the web process, "
                               "so there is nothing for a worker to do.")
    # SIGTERM (what systemd sends) stops gracefully: no new job is taken, the jobs in hand get
    # WORKER_STOP_GRACE seconds to finish, and what is still unfinished then is handed back at
    # once. A second SIGTERM, or SIGINT, stops at once (and hands back too).
    consumer = queue.huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                          max_delay=max_delay, graceful_signal="TERM",
                                          shutdown_timeout=app.config["WORKER_STOP_GRACE"])
    # Jobs that came due while no worker ran should not wait for the first minute tick.
    queue.sweep()
    try:
        consumer.run()
    finally:
        with app.app_context(), connection():
            hand_back()


# --- wiring -------------------------------------------------------------------------------

def init_app(app):
    app.teardown_appcontext(_dispatch)


def register_cli(app):
    group = AppGroup("jobs", help="The job queue.")

    @group.command("run-due")
    @click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000))
    def run_due_command(limit):
        """Run every due job now, in this process."""
        with connection():
            ran = run_due(limit)
        click.echo(f"ran {ran} job(s)")

    @group.command("status")
    def status_command():
        """Print how many jobs are in each status."""
        with connection():
            counts = Job.counts()
        click.echo(" ".join(f"{status}={count}" for status, count in counts.items()))

    app.cli.add_command(group)

    @app.cli.command("worker")
    @click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
                  help="Worker threads.")
    def worker_command(workers):
        """Run the job worker (Huey consumer) until interrupted."""
        run_worker(current_app._get_current_object(), workers=workers)
