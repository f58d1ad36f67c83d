"""The back-office under /staff: its own sign-in, separate from the contacts' portal.

Staff identity is kept in the session as (id, session_version); bumping the version signs
that staff user out everywhere. Each area is its own blueprint in this package."""
from flask import Blueprint, abort, g, redirect, request, session, url_for

from ...models import Document, Settings, StaffUser


def staff_blueprint(name, url_prefix):
    """A blueprint whose every view requires a signed-in, active staff user."""
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
    ident = session.get("staff")
    if not ident:
        return None
    user = StaffUser.get_or_none(StaffUser.id == ident[0])
    if user is None or not user.active or user.session_version != ident[1]:
        session.pop("staff", None)
        return None
    return user


def require_staff():
    g.staff = load_staff()
    if g.staff is None:
        return redirect(url_for("staff.auth.login", next=request.full_path.rstrip("?")))
    return None


def register(app):
    """Every back-office area is a child of one `staff` blueprint under /staff: endpoints read
    `staff.documents.show`, and only `staff.auth` is reachable without a staff sign-in."""
    from . import (access, api_tokens, auth, catalog, categories, comments, contacts, corrections, credit_notes,
                   documents, gateways, jobs, numbering, pdf, settings, taxes, webhooks)
    staff = Blueprint("staff", __name__, url_prefix="/staff")
    for module in (auth, contacts, access, documents, credit_notes, corrections, pdf, catalog, categories, taxes,
                   settings, numbering, jobs, comments, api_tokens, webhooks, gateways):
        staff.register_blueprint(module.bp)
    app.register_blueprint(staff)

    @app.context_processor
    def _business():
        return {"business_name": Settings.get_solo().name}
