"""The accountant's read-only door (issue 19): opening a link, and the one check every request of
an accountant's session goes through.

Opening a link (a GET that asks, a POST that opens: mail scanners follow GET links) ends any
session in the browser and keeps only the link's id in the signed cookie. From then on,
`load_accountant` runs before every request: it reads the link again (so a revoked or expired
link, or the feature switched off, takes effect at once), logs the use, and answers 403 to any
endpoint and method that ALLOWED does not name. It is an allow-list: a route added tomorrow is
closed to accountants until someone adds it here. The portal's guard (require_person) then
scopes every query to the link's contact, as it does for a signed-in person."""
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .. import accountants
from ..auth import sign_out
from . import portal_blueprint, public
from .packs import pack_context

SESSION_KEY = "accountant_link"
GET, POST = frozenset({"GET", "HEAD"}), frozenset({"POST"})

# Every endpoint an accountant's session may reach, with its methods. Read-only pages only,
# plus the three POSTs of the door itself (preparing the yearly pack, leaving, opening a link).
ALLOWED = {
    "documents.index": GET,
    "documents.show": GET,
    "documents.print_view": GET,
    "pdf.document": GET,
    "pdf.einvoice": GET,                # the e-invoice XML: what an accountant's software imports
    "pdf.acceptance": GET,              # an accepted quote's certificate (read-only)
    "verify.show": GET,                 # public anyway
    "payments.receipt": GET,            # a completed payment's receipt, from the payment history
    "statement.show": GET,
    "statement.pdf": GET,
    "payment_history.index": GET,
    "accountant.home": GET,
    "accountant.leave": POST,
    "accountant_door.open": GET,
    "accountant_door.open_confirm": POST,
    "packs.prepare": POST,
    "packs.download": GET,
    "logo": GET,
    "static": GET,
}

door = Blueprint("accountant_door", __name__, url_prefix="/accountant/open")
bp = portal_blueprint("accountant", __name__, url_prefix="/accountant")


def init_app(app):
    app.before_request(load_accountant)

    @app.context_processor
    def _read_only():
        return {"accountant": g.get("accountant"), "read_only": g.get("accountant") is not None,
                "has_endpoint": lambda name: name in current_app.view_functions}


def load_accountant():
    """Before every request: the accountant's link, if the cookie holds one, checked and logged;
    403 for what it does not open."""
    g.accountant = None
    link_id = session.get(SESSION_KEY)
    if link_id is None or request.endpoint == "static":
        return None
    link, state = accountants.load(link_id)
    allowed = ALLOWED.get(request.endpoint, frozenset())
    if state != "ok":
        session.pop(SESSION_KEY, None)
        if link is not None:
            accountants.record_use(link, request.remote_addr, request.method, request.full_path, 410)
        if request.blueprint == door.name:
            return None   # opening another link
        return refused_page(state)
    g.person = None   # a cookie never carries both; should it, the accountant's scope wins
    g.accountant = link
    ok = request.method in allowed
    accountants.record_use(link, request.remote_addr, request.method, request.full_path.rstrip("?"),
                           200 if ok else 403)
    if not ok:
        abort(403)
    return None


def refused_page(state):
    return render_template("accountant/refused.html", state=state), 410


@door.get("/<token>")
@public
def open(token):
    """Show whose documents the link opens, and a button to open them."""
    link, state = accountants.find(token)
    if state != "ok":
        return refused_page(state)
    return render_template("accountant/open.html", link=link, token=token)


@door.post("/<token>")
@public
def open_confirm(token):
    """Open a read-only session on the link's contact."""
    link, state = accountants.find(token)
    if state != "ok":
        return refused_page(state)
    sign_out()   # a person signed in on this browser is signed out: one scope per cookie
    session[SESSION_KEY] = link.id
    accountants.record_use(link, request.remote_addr, "OPEN", door.url_prefix + "/…")   # never the token
    return redirect(url_for("accountant.home"), 303)


@bp.get("/")
def home():
    """The accountant's start page: what the link opens, and the yearly pack."""
    if g.accountant is None:
        abort(404)
    return render_template("accountant/home.html", contact=g.contact, **pack_context(g.contact))


@bp.post("/leave")
def leave():
    """End the read-only session in this browser."""
    if g.accountant is None:
        abort(404)
    session.clear()
    flash(_("You have left the read-only access. Open the link again to come back."), "success")
    return redirect(url_for("auth.login"), 303)
