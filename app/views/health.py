"""GET /healthz (the process answers; no database) and GET /readyz (app/health.py), small
JSON for load balancers and monitors, unauthenticated and rate-limited."""
from flask import Blueprint, jsonify

from .. import health
from ..cli import MIGRATIONS
from ..web.limits import limiter
from . import public

bp = Blueprint("health", __name__)
LIMIT = "120/minute"


@bp.get("/healthz")
@public
@limiter.limit(LIMIT)
def healthz():
    return _answer({"status": "ok"}, 200)


@bp.get("/readyz")
@public
@limiter.limit(LIMIT)
def readyz():
    checks = health.checks(MIGRATIONS)
    ready = all(checks.values())
    body = {"status": "ok" if ready else "fail", "checks": {k: "ok" if v else "fail" for k, v in checks.items()}}
    return _answer(body, 200 if ready else 503)


def _answer(body, status):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response

