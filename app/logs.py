"""Logging for the web process, the worker and the CLI, configured once at start.

One handler on the root logger, at LOG_LEVEL (INFO by default), writing to stderr (journald
under systemd): text, or with LOG_FORMAT=json one JSON object per line. Every line carries the
request id of the unit of work it was written in: the request's (app/web/observe.py), or in the
worker the id of the request that queued the job, or "-".

What is logged names ids (person, staff user, token, payment), never a password, token, link
or key: tests/test_logs.py runs a scenario and searches the log for every secret it used."""
import datetime
import json
import logging

from . import unit

_KEY = "request_id"


def request_id():
    store = unit.scratch()
    return store.get(_KEY) if store else None


def set_request_id(value):
    store = unit.scratch()
    if store is not None:
        store[_KEY] = value


class _RequestId(logging.Filter):
    def filter(self, record):
        if not getattr(record, "request_id", None):
            record.request_id = request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {"time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
                .isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                "request_id": getattr(record, "request_id", "-")}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure(level="INFO", fmt="text"):
    """Install the portal's handler on the root logger, once per process."""
    root = logging.getLogger()
    if any(getattr(h, "portal", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.portal = True
    handler.addFilter(_RequestId())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT))
    root.addHandler(handler)
    root.setLevel(level)
