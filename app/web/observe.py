"""Request ids: one for every request, in every log line written while serving it, echoed in
the X-Request-Id response header, and carried into the jobs it queues (app/jobs.py).

A proxy's X-Request-Id is taken only behind a trusted proxy (TRUSTED_PROXIES), and only when it
looks like an id: otherwise anyone could write what they like into the logs."""
import logging
import re
import uuid

from flask import g, request

from .. import logs

changes = logging.getLogger("portal.changes")

GIVEN = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def init_app(app):
    trusted = app.config["TRUSTED_PROXIES"] > 0

    # First of the before_request hooks (init_app is called before the others are added), so
    # that whatever they log carries the id.
    @app.before_request
    def _request_id():
        given = request.headers.get("X-Request-Id", "") if trusted else ""
        logs.set_request_id(given if GIVEN.fullmatch(given) else uuid.uuid4().hex)

    @app.after_request
    def _echo(response):
        rid = logs.request_id()
        if rid:
            response.headers["X-Request-Id"] = rid
        if request.method not in ("GET", "HEAD", "OPTIONS") and request.url_rule is not None:
            _log_change(response)
        return response


def _log_change(response):
    """Every state change, by whom: staff (money, gateways, tokens, access), API tokens, and
    people. The route's pattern and its numeric ids only: a path can hold a reset token."""
    who = [f"{kind}={obj.id}" for kind, obj in (("staff", g.get("staff")), ("token", g.get("api_token")),
                                                ("person", g.get("person"))) if obj is not None]
    ids = " ".join(f"{k}={v}" for k, v in (request.view_args or {}).items() if isinstance(v, int))
    changes.info("%s %s %s-> %s by %s ip=%s", request.method, request.url_rule.rule, ids + " " if ids else "",
                 response.status_code, " ".join(who) or "nobody", request.remote_addr)
