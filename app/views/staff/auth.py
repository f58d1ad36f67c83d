"""Staff sign-in (password, then a two-factor code or a passkey when due; or a passkey alone),
sign-out, and the mailed invitation and reset links.

Sign-in is throttled like the portal's (per account and IP, per IP, per account; only failures
count), with its own limits. With two-factor on, the password step only remembers in the signed
cookie who passed it; no session row exists until the code is right, and the code step is
throttled per account too.

A passkey signs in alone and counts as two-factor (its authenticator verified its user); only a
staff user's passkey opens this door (app/passkeys.py). Its steps speak JSON to the script
(static/js/passkeys.js) and count refusals against the same per-address limit."""
import json
import logging
import time

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ... import passkeys, staff_accounts
from ...models import Activity, StaffUser
from ...passwords import verify_password
from ...rules import Refused
from ...web.forms import Form
from ...web.limits import account_ip_key, account_key, config_limit, failed, limiter, refused
from ...web.security import relying_party, safe_next
from ..passwords import new_password_errors
from . import load_staff, roles, sign_in, sign_out

bp = Blueprint("auth", __name__)
log = logging.getLogger("portal.staff")
PENDING_SECONDS = 300   # the time to type the code after the password


def landing(user):
    return url_for(roles.HOME.get(user.role, "staff.account.show"))


@bp.get("/login")
def login():
    """Show the staff sign-in form."""
    user = load_staff()
    if user:
        return redirect(landing(user))
    return render_template("staff/login.html", form=Form(values={"next": request.args.get("next", "")}))


@bp.post("/login")
@limiter.limit(config_limit("STAFF_LOGIN_LIMIT_IP"), deduct_when=failed)
@limiter.limit(config_limit("STAFF_LOGIN_LIMIT_ACCOUNT_IP"), key_func=account_ip_key, deduct_when=failed)
@limiter.limit(config_limit("STAFF_LOGIN_LIMIT_ACCOUNT"), key_func=account_key, deduct_when=failed)
def login_submit():
    """Check a staff user's password; sign in, or go on to the two-factor step."""
    form = Form(request.form)
    email = form.email("email", required=True)
    password = form.raw("password")[:1024]
    form.values["password"] = ""
    user = StaffUser.get_or_none(StaffUser.email == email) if email else None
    valid = verify_password(user.password_hash if user else None, password)
    if not (user and valid and user.active):
        log.info("staff sign-in failed ip=%s", request.remote_addr)
        form.errors = {"password": _("That email and password do not match an active staff account.")}
        return render_template("staff/login.html", form=form), 422
    target = safe_next(request.form.get("next"), None)
    if staff_accounts.must_verify(user):
        return _second_step(user, target)
    return _signed_in(user, target, via="password")


def _second_step(user, target):
    session.clear()
    session["staff_pending"] = [user.id, user.session_version, int(time.time()), target or ""]
    return redirect(url_for("staff.auth.code"), 303)


def _open_session(user, via):
    sign_in(user)
    Activity.record("staff_login", staff=user)
    log.info("staff sign-in staff=%s via=%s ip=%s", user.id, via, request.remote_addr)


def _signed_in(user, target, via):
    _open_session(user, via)
    return redirect(target or landing(user), 303)


def _pending_user():
    """The staff user who passed the password step in this browser a moment ago, or None."""
    pending = session.get("staff_pending")
    if not (isinstance(pending, list) and len(pending) == 4):
        return None
    user_id, version, at, _target = pending
    if time.time() - at > PENDING_SECONDS:
        return None
    user = StaffUser.get_or_none(StaffUser.id == user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user if staff_accounts.has_second_factor(user) else None


def pending_key():
    pending = session.get("staff_pending")
    return "staff-totp:" + str(pending[0] if isinstance(pending, list) and pending else "-")


@bp.get("/login/code")
def code():
    """Ask for the two-factor code after the password."""
    user = _pending_user()
    if user is None:
        return redirect(url_for("staff.auth.login"))
    return code_page(user, Form())


def code_page(user, form, status=200):
    return render_template("staff/login_code.html", form=form, totp=user.totp_enabled,
                           has_passkey=passkeys.has_passkey(user)), status


@bp.post("/login/code")
@limiter.limit(config_limit("STAFF_LOGIN_LIMIT_IP"), deduct_when=failed)
@limiter.limit(config_limit("STAFF_TOTP_LIMIT"), key_func=pending_key, deduct_when=failed)
def code_submit():
    """Check the two-factor (or a recovery) code and open the session."""
    user = _pending_user()
    if user is None:
        session.pop("staff_pending", None)
        flash(_("Sign in again: that took too long."), "info")
        return redirect(url_for("staff.auth.login"), 303)
    form = Form(request.form)
    if not staff_accounts.second_factor_ok(user, form.raw("code")[:64]):
        log.info("staff two-factor failed staff=%s ip=%s", user.id, request.remote_addr)
        form.values["code"] = ""
        form.errors = {"code": _("That code is not right. Type the code your app shows now, or a recovery code.")}
        return code_page(user, form, 422)
    target = session["staff_pending"][3] or None
    return _signed_in(user, target, via="totp")


@bp.post("/logout")
def logout():
    """Sign the staff user out (the session row goes: every copy of the cookie stops working)."""
    sign_out()
    return redirect(url_for("staff.auth.login"), 303)


@bp.get("/")
def home():
    """The back-office home is the first area the role reaches."""
    user = load_staff()
    return redirect(landing(user) if user else url_for("staff.auth.login"))


def _link(token):
    link, state = staff_accounts.find_link(token)
    if state != "ok":
        return None, (render_template("staff/link_invalid.html", state=state), 410)
    return link, None


@bp.get("/link/<token>")
def link(token):
    """An invitation or reset link: choose a password."""
    found, error = _link(token)
    return error or render_template("staff/link.html", form=Form(), link=found, token=token)


@bp.post("/link/<token>")
@limiter.limit(config_limit("STAFF_LOGIN_LIMIT_IP"), deduct_when=failed)
def link_submit(token):
    """Set the password chosen through a link; then sign in (through two-factor if it is on)."""
    found, error = _link(token)
    if error:
        return error
    form = Form(request.form)
    password = new_password_errors(form)
    if not form.ok:
        return render_template("staff/link.html", form=form, link=found, token=token), 422
    user = staff_accounts.use_link(found, password)
    if user is None:
        return render_template("staff/link_invalid.html", state="used"), 410
    Activity.record("staff_password_set", staff=user, detail=found.purpose)
    log.info("staff password set by %s link staff=%s", found.purpose, user.id)
    if staff_accounts.must_verify(user):
        return _second_step(user, None)
    return _signed_in(user, None, via=found.purpose)


# --- passkeys ------------------------------------------------------------------------------------

def _passkey_refused(message):
    return jsonify(error=message), 401


def _credential():
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _options_for(user):
    rp_id, _origin = relying_party()
    options, challenge = passkeys.authentication_options(rp_id, user)
    session["staff_passkey_auth"] = challenge.hex()
    return jsonify(options=json.loads(options))


def _check_passkey(data, user=None):
    """The staff user the posted assertion signs in (user verification included), or None."""
    rp_id, origin = relying_party()
    challenge = bytes.fromhex(session.pop("staff_passkey_auth", "") or "")
    try:
        return passkeys.authenticate_staff(data.get("credential"), challenge, rp_id, origin, staff=user)
    except Refused as exc:
        log.info("staff passkey sign-in refused (%s) ip=%s", exc.code, request.remote_addr)
        return None


@bp.post("/login/passkey/options")
@limiter.limit(config_limit("STAFF_LOGIN_LIMIT_IP"), deduct_when=refused)
def passkey_options():
    """Options for signing in with any discoverable passkey of this site."""
    return _options_for(None)


@bp.post("/login/passkey")
@limiter.limit(config_limit("STAFF_LOGIN_LIMIT_IP"), deduct_when=refused)
def passkey_sign_in():
    """Sign in with a passkey alone: it is both factors."""
    data = _credential()
    user = _check_passkey(data)
    if user is None:
        return _passkey_refused(_("That passkey could not sign you in. Try again, or use your password."))
    _open_session(user, via="passkey")
    return jsonify(redirect=safe_next(str(data.get("next") or ""), None) or landing(user))


@bp.post("/login/code/passkey/options")
@limiter.limit(config_limit("STAFF_LOGIN_LIMIT_IP"), deduct_when=refused)
def code_passkey_options():
    """Options for the second step: the passkeys of the user who gave their password."""
    user = _pending_user()
    if user is None:
        return _passkey_refused(_("Sign in again: that took too long."))
    return _options_for(user)


@bp.post("/login/code/passkey")
@limiter.limit(config_limit("STAFF_LOGIN_LIMIT_IP"), deduct_when=refused)
def code_passkey():
    """The second step with a passkey instead of a code."""
    user = _pending_user()
    if user is None:
        return _passkey_refused(_("Sign in again: that took too long."))
    target = session["staff_pending"][3] or None
    if _check_passkey(_credential(), user) is None:
        return _passkey_refused(_("That passkey could not sign you in. Try again, or type a code."))
    _open_session(user, via="passkey")
    return jsonify(redirect=target or landing(user))
