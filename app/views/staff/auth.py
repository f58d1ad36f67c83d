"""Staff sign-in (password, then a two-factor code when enabled), sign-out, and the mailed
invitation and reset links.

Sign-in is throttled like the portal's (per account and IP, per IP, per account; only failures
count), with its own limits. With two-factor on, the password step only remembers in the signed
cookie who passed it; no session row exists until the code is right, and the code step is
throttled per account too."""
import logging
import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ... import staff_accounts
from ...models import Activity, StaffUser
from ...passwords import verify_password
from ...web.forms import Form
from ...web.limits import account_ip_key, account_key, config_limit, failed, limiter
from ...web.security import safe_next
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
    if user.totp_enabled:
        return _second_step(user, target)
    return _signed_in(user, target, via="password")


def _second_step(user, target):
    session.clear()
    session["staff_pending"] = [user.id, user.session_version, int(time.time()), target or ""]
    return redirect(url_for("staff.auth.code"), 303)


def _signed_in(user, target, via):
    sign_in(user)
    Activity.record("staff_login", staff=user)
    log.info("staff sign-in staff=%s via=%s ip=%s", user.id, via, request.remote_addr)
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
    if user is None or not user.active or user.session_version != version or not user.totp_enabled:
        return None
    return user


def pending_key():
    pending = session.get("staff_pending")
    return "staff-totp:" + str(pending[0] if isinstance(pending, list) and pending else "-")


@bp.get("/login/code")
def code():
    """Ask for the two-factor code after the password."""
    if _pending_user() is None:
        return redirect(url_for("staff.auth.login"))
    return render_template("staff/login_code.html", form=Form())


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
        return render_template("staff/login_code.html", form=form), 422
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
    if user.totp_enabled:
        return _second_step(user, None)
    return _signed_in(user, None, via=found.purpose)
