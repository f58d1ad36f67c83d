"""The team (owners only): staff users, invitations, roles, deactivation, password resets, and
whether every staff user must sign in with two-factor."""
import logging

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ... import person_totp, staff_accounts
from ...config import LANGUAGES
from ...models import STAFF_ROLES, Settings, StaffUser
from ...rules import Refused
from ...web.forms import Form
from . import staff_blueprint
from .roles import ROLE_LABELS

bp = staff_blueprint("team", "/team")
log = logging.getLogger("portal.staff")

ROLE_HINTS = {"owner": _l("Everything, including settings, gateways, API tokens and the team."),
              "accountant": _l("Documents, payments, tax rates. No settings, gateways, API tokens or team."),
              "sales": _l("Contacts, quotes, orders, catalog, comments. No payments or settings.")}


def get_member(staff_id):
    user = StaffUser.get_or_none(StaffUser.id == staff_id)
    if user is None:
        abort(404)
    return user


def team_context(form=None):
    return {"members": list(StaffUser.select().order_by(StaffUser.active.desc(), StaffUser.name, StaffUser.id)),
            "form": form or Form(values={"role": "sales", "language": Settings.get_solo().default_language}),
            "roles": [(r, ROLE_LABELS[r]) for r in STAFF_ROLES], "role_hints": ROLE_HINTS,
            "languages": LANGUAGES, "settings": Settings.get_solo(), "with_passkeys": staff_accounts.with_passkeys()}


@bp.get("/")
def index():
    """List the staff users, with the invitation form."""
    return render_template("staff/team/index.html", **team_context())


@bp.post("/")
def invite():
    """Invite someone: a staff user with no password yet, and a mailed single-use link."""
    form = Form(request.form)
    email = form.email("email", required=True)
    name = form.text("name", required=True, max_length=200)
    role = form.choice("role", STAFF_ROLES)
    language = form.choice("language", tuple(LANGUAGES))
    if form.ok:
        try:
            user = staff_accounts.invite(email, name, role, language, by=g.staff)
        except Refused as exc:
            form.error(exc.field or "email", _("A staff user with this email already exists."))
    if not form.ok:
        return render_template("staff/team/index.html", **team_context(form)), 422
    log.info("staff invited staff=%s role=%s by=%s", user.id, role, g.staff.id)
    flash(_("Invitation sent to %(email)s.", email=email), "success")
    return redirect(url_for("staff.team.index"), 303)


def _refused_last_owner():
    flash(_("There must always be one active owner: make someone else an owner first."), "error")
    return redirect(url_for("staff.team.index"), 303)


@bp.post("/<int:staff_id>/role")
def change_role(staff_id):
    """Change a staff user's role (never the last active owner's)."""
    user = get_member(staff_id)
    form = Form(request.form)
    role = form.choice("role", STAFF_ROLES)
    if not form.ok:
        flash(_("Choose one of the roles."), "error")
        return redirect(url_for("staff.team.index"), 303)
    try:
        staff_accounts.set_role(user, role, by=g.staff)
    except Refused:
        return _refused_last_owner()
    log.info("staff role staff=%s role=%s by=%s", user.id, role, g.staff.id)
    flash(_("%(name)s is now: %(role)s.", name=user.name, role=ROLE_LABELS[role]), "success")
    return redirect(url_for("staff.team.index"), 303)


@bp.post("/<int:staff_id>/deactivate")
def deactivate(staff_id):
    """Deactivate a staff user: their sessions and unused links end at once."""
    user = get_member(staff_id)
    try:
        staff_accounts.deactivate(user, by=g.staff)
    except Refused:
        return _refused_last_owner()
    log.info("staff deactivated staff=%s by=%s", user.id, g.staff.id)
    flash(_("%(name)s can no longer sign in.", name=user.name), "success")
    return redirect(url_for("staff.team.index"), 303)


@bp.post("/<int:staff_id>/reactivate")
def reactivate(staff_id):
    """Let a deactivated staff user sign in again (with their password, or a reset)."""
    user = get_member(staff_id)
    staff_accounts.reactivate(user, by=g.staff)
    log.info("staff reactivated staff=%s by=%s", user.id, g.staff.id)
    flash(_("%(name)s can sign in again.", name=user.name), "success")
    return redirect(url_for("staff.team.index"), 303)


@bp.post("/<int:staff_id>/reset")
def force_reset(staff_id):
    """Force a password reset: the password stops working, a reset link is mailed."""
    user = get_member(staff_id)
    if not user.active:
        abort(404)
    staff_accounts.force_reset(user, by=g.staff)
    log.info("staff reset forced staff=%s by=%s", user.id, g.staff.id)
    flash(_("A reset link was sent to %(email)s.", email=user.email), "success")
    return redirect(url_for("staff.team.index"), 303)


@bp.post("/<int:staff_id>/resend")
def resend_invite(staff_id):
    """Send a new invitation link (the old one stops working)."""
    user = get_member(staff_id)
    if not (user.active and user.invited):
        abort(404)
    staff_accounts.send_link(user, "invite", by=g.staff)
    flash(_("Invitation sent to %(email)s.", email=user.email), "success")
    return redirect(url_for("staff.team.index"), 303)


@bp.post("/<int:staff_id>/two-factor-off")
def two_factor_off(staff_id):
    """Turn off someone's two-factor, app and passkeys (a lost phone and lost recovery codes)."""
    user = get_member(staff_id)
    staff_accounts.clear_second_factors(user, by=g.staff)
    log.info("staff two-factor off staff=%s by=%s", user.id, g.staff.id)
    flash(_("Two-factor sign-in is off for %(name)s.", name=user.name), "success")
    return redirect(url_for("staff.team.index"), 303)


@bp.post("/two-factor-required")
def require_two_factor():
    """Require two-factor sign-in of every staff user (or stop requiring it)."""
    form = Form(request.form)
    required = form.checkbox("required")
    Settings.save_values({"staff_require_totp": required})
    log.info("staff two-factor required=%s by=%s", required, g.staff.id)
    flash(_("Two-factor sign-in is now required for everyone.") if required
          else _("Two-factor sign-in is now each staff user's choice."), "success")
    return redirect(url_for("staff.team.index"), 303)


@bp.post("/customers-second-factor")
def require_customers_second_factor():
    """Require a second factor (passkey or app) of the customers' people: all, billing, or none."""
    form = Form(request.form)
    rule = form.choice("require_second_factor", person_totp.REQUIREMENTS)
    if not form.ok:
        abort(400)
    person_totp.set_requirement(rule, g.staff)
    log.info("customers second factor rule=%s by=%s", rule or "off", g.staff.id)
    flash(_("Saved: how your customers' people sign in."), "success")
    return redirect(url_for("staff.team.index"), 303)
