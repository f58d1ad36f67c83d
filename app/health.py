"""Is this installation ready to serve? What /readyz answers (app/views/health.py).

Each check says only ok or not: no versions, counts or errors leave the machine (the endpoint
needs no sign-in). The reasons go to the log, for the operator."""
import datetime
import logging

from playhouse.migrations import Runner

from .db import db
from .models import Heartbeat, Job, utcnow

log = logging.getLogger(__name__)

JOB_DELAY = datetime.timedelta(minutes=10)      # a due job waiting longer: no worker is running them
WORKER_SILENCE = datetime.timedelta(minutes=3)  # the worker beats every minute (jobs sweep)


def checks(migrations_dir, now=None):
    """{name: True/False} for database, migrations, jobs and worker."""
    now = now or utcnow()
    result = {"database": _safely("database", _database)}
    if not result["database"]:
        return {**result, "migrations": False, "jobs": False, "worker": False}
    result["migrations"] = _safely("migrations", lambda: not _pending(migrations_dir))
    result["jobs"] = _safely("jobs", lambda: (Job.oldest_due(now) or now) > now - JOB_DELAY)
    result["worker"] = _safely("worker", lambda: (Heartbeat.last("worker") or datetime.datetime.min)
                               > now - WORKER_SILENCE)
    return result


def _database():
    db.connect(reuse_if_open=True)
    return db.execute_sql("SELECT 1").fetchone()[0] == 1


def _pending(migrations_dir):
    return [m.name for m in Runner(db.obj, migrations_dir).status() if m.path and not m.applied]


def _safely(name, check):
    try:
        ok = bool(check())
    except Exception as exc:   # a check that cannot run is a failed check, never a 500
        log.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, str(exc)[:200])
        return False
    if not ok:
        log.warning("readiness check %s: not ready", name)
    return ok
