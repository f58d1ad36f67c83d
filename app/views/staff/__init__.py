"""The back-office under /staff: its own sign-in, separate from the contacts' portal.

The staff cookie holds a random session id whose hash is a StaffSession row
(app/staff_accounts.py): signing out, a password change, a deactivation or an idle spell deletes
the row, which ends every copy of the cookie. Each area is its own blueprint in this package, and
app/views/staff/roles.py says which roles reach it."""
from flask import Blueprint, abort, current_app, g, redirect, request, session, url_for

from ... import staff_accounts
from ...models import Document, Settings
from . import roles


def staff_blueprint(name, url_prefix):
    """A blueprint whose every view requires a signed-in, active staff user of a role it allows."""
    bp = Blueprint(name, __name__, url_prefix=url_prefix)
    bp.before_request(require_staff)
    return bp


def get_any_document(doc_id):
    """Any document, drafts and every contact's (the back-office sees them all), or 404."""
    doc = Document.get_or_none(Document.id == doc_id)
    if doc is None:
        abort(404)
    return doc


def load_staff():
    sid = session.get("staff_sid")
    if not sid:
        return None
    user = staff_accounts.session_user(sid, current_app.config["STAFF_IDLE_MINUTES"])
    if user is None:
        session.pop("staff_sid", None)
    return user


def sign_in(user):
    """A fresh session (row and cookie) for a staff user who passed every factor."""
    session.clear()   # nothing from before sign-in carries over (no fixation)
    session["staff_sid"] = staff_accounts.start_session(user, current_app.config["STAFF_IDLE_MINUTES"])
    session.permanent = True


def sign_out():
    staff_accounts.end_session(session.get("staff_sid"))
    session.clear()


def needs_totp_setup(user):
    """The owner requires two-factor and the user has none yet (neither TOTP nor a passkey)."""
    return (not user.totp_enabled and Settings.get_solo().staff_require_totp
            and not staff_accounts.has_second_factor(user))


def require_staff():
    g.staff = load_staff()
    if g.staff is None:
        return redirect(url_for("staff.auth.login", next=request.full_path.rstrip("?")))
    # The owner requires two-factor: until it is set up (TOTP or a passkey), the account pages
    # are the only ones open.
    if needs_totp_setup(g.staff) and request.blueprint != "staff.account":
        return redirect(url_for("staff.account.two_factor"))
    if not roles.allowed(g.staff.role, request.endpoint, request.blueprint):
        abort(403)
    return None


def can(endpoint):
    """For templates: may the signed-in staff user reach this endpoint? (hides what would 403)"""
    user = g.get("staff")
    return bool(user) and roles.allowed(user.role, endpoint, endpoint.rsplit(".", 1)[0])


def register(app):
    """Every back-office area is a child of one `staff` blueprint under /staff: endpoints read
    `staff.documents.show`, and only `staff.auth` is reachable without a staff sign-in."""
    from . import (access, account, accountant_links, api_tokens, auth, catalog, categories, comments, contacts,
                   corrections, credit_notes, documents, exports, gateways, jobs, numbering, pdf, reminders, settings,
                   statements, taxes, team, webhooks)
    staff = Blueprint("staff", __name__, url_prefix="/staff")
    for module in (auth, contacts, statements, access, documents, credit_notes, corrections, pdf, catalog,
                   categories, taxes, settings, numbering, jobs, comments, api_tokens, webhooks, gateways, team,
                   exports, account, accountant_links, reminders):
        staff.register_blueprint(module.bp)
    app.register_blueprint(staff)
    app.jinja_env.globals.update(staff_can=can, role_label=lambda role: roles.ROLE_LABELS.get(role, role))

    @app.context_processor
    def _business():
        return {"business_name": Settings.get_solo().name}
