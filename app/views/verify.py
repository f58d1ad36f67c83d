"""The public "verify this document" page (app/verify.py): no sign-in, nothing about the
customer, rate-limited, never cached or indexed, and the code never leaves in a Referer."""
from flask import Blueprint, render_template

from .. import verify
from ..models import Settings
from ..web.limits import config_limit, limiter
from . import public

bp = Blueprint("verify", __name__)


@bp.get("/verify/<code>")
@public
@limiter.limit(config_limit("VERIFY_LIMIT"))
def show(code):
    doc = verify.find(code)
    settings = Settings.get_solo()
    if doc is None:
        body, status = render_template("verify/unknown.html", settings=settings), 404
    else:
        body, status = render_template("verify/show.html", facts=verify.facts(doc, settings), settings=settings), 200
    return body, status, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}
