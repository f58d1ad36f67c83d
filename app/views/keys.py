"""Passkeys and the second factor in the portal: the account page's "Sign-in security" section
(add, name and remove passkeys; turn TOTP on with its recovery codes, or off), passkey sign-in
(discoverable, or email-first), and the second-factor step that a password or link sign-in goes
through before its session opens (app/views/auth.py hands over with `begin_second_factor`).

The rules live in app/passkeys.py and app/person_totp.py; these views keep the WebAuthn
challenge and the half-signed-in person in the (signed) session cookie and adapt."""
import json
import time

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .. import passkeys, person_totp
from ..auth import sign_in
from ..models import Activity, Person
from ..rules import Refused
from ..web.forms import Form
from ..web.limits import config_limit, failed, limiter
from ..web.security import relying_party, safe_next
from . import portal_blueprint, public

bp = portal_blueprint("keys", __name__, url_prefix="/account/security")
door = Blueprint("keys_door", __name__)

PENDING_SECONDS = 600   # a password or link checked, waiting for the second factor


def _json_body():
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _refused(message, status=422):
    return jsonify(error=message), status


# --- the account page's section ------------------------------------------------------------------

def _page(status=200, **extra):
    person = Person.get_by_id(g.person.id)
    return render_template("keys/index.html", person=person, passkeys=list(passkeys.listed(person)),
                           codes_left=person_totp.recovery_codes_left(person),
                           required=person_totp.required(person),
                           **{"form": Form(), "disable_form": Form(), "enrol": None, "recovery_codes": None,
                              **extra}), status


@bp.get("/")
def index():
    """Passkeys and the authenticator app of the signed-in person."""
    return _page()


@bp.post("/passkeys/options")
def passkey_options():
    rp_id, _origin = relying_party()
    options, challenge = passkeys.registration_options(g.person, rp_id)
    session["passkey_reg"] = challenge.hex()
    return jsonify(options=json.loads(options))


@bp.post("/passkeys")
def passkey_add():
    """Check the new passkey and keep it (JSON in, JSON out: only the script calls this)."""
    data = _json_body()
    rp_id, origin = relying_party()
    challenge = bytes.fromhex(session.pop("passkey_reg", "") or "")
    try:
        passkeys.register(g.person, data.get("credential"), challenge, rp_id, origin, str(data.get("name") or ""))
    except Refused:
        return _refused(_("The passkey could not be added. Try again."))
    flash(_("Your passkey is added. You can sign in with it from now on."), "success")
    return jsonify(redirect=url_for("keys.index"))


@bp.post("/passkeys/<int:passkey_id>/remove")
def passkey_remove(passkey_id):
    person = g.person
    if _last_factor(person, passkey=True) and person_totp.required(person):
        flash(_("Your supplier requires a second factor: add another passkey or the authenticator app "
                "before removing this one."), "error")
        return redirect(url_for("keys.index"), 303)
    if not passkeys.remove(person, passkey_id):
        abort(404)
    flash(_("The passkey is removed."), "success")
    return redirect(url_for("keys.index"), 303)


def _last_factor(person, passkey=False):
    count = passkeys.listed(person).count() + (1 if Person.get_by_id(person.id).totp_enabled else 0)
    return count <= 1


@bp.post("/totp/start")
def totp_start():
    """A new secret, shown as a QR code and as text, to confirm with a first code."""
    if Person.get_by_id(g.person.id).totp_enabled:
        return redirect(url_for("keys.index"), 303)
    uri = person_totp.start(g.person)
    return _page(enrol=_enrolment(uri), form=Form())


def _enrolment(uri):
    secret = person_totp.secret_of(g.person) if g.get("person") else ""
    return {"qr": person_totp.qr_svg(uri), "secret": secret, "uri": uri}


@bp.post("/totp/enable")
@limiter.limit(config_limit("LOGIN_LIMIT_IP"))
def totp_enable():
    form = Form(request.form)
    codes = person_totp.enable(g.person, form.raw("code"))
    if codes is None:
        person = Person.get_by_id(g.person.id)
        if not person.totp_secret:
            return redirect(url_for("keys.index"), 303)
        form.error("code", _("That code does not match. Enter the current code from your app."))
        uri = person_totp.totp_uri(person.totp_secret, person.email)
        return _page(422, enrol=_enrolment(uri), form=form)
    return _page(recovery_codes=codes)


@bp.post("/totp/disable")
def totp_disable():
    form = Form(request.form)
    person = g.person
    if _last_factor(person) and person_totp.required(person):
        flash(_("Your supplier requires a second factor: add a passkey before turning the app off."), "error")
        return redirect(url_for("keys.index"), 303)
    if not person_totp.second_factor_ok(person, form.raw("code")):
        form.error("code", _("That code does not match. Enter the current code from your app, or a recovery code."))
        return _page(422, disable_form=form)
    person_totp.disable(person)
    flash(_("The authenticator app is turned off."), "success")
    return redirect(url_for("keys.index"), 303)


# --- passkey sign-in -----------------------------------------------------------------------------

@door.post("/login/passkey/options")
@public
@limiter.limit(config_limit("LOGIN_LIMIT_IP"))
def signin_options():
    """Options for a passkey sign-in: any passkey of this site, or (email-first) the person's."""
    rp_id, _origin = relying_party()
    email = str(_json_body().get("email") or "").strip()
    person = Person.by_email(email) if email else None
    # An unknown email gets options too (with no credential allowed): nothing says who exists.
    options, challenge = passkeys.authentication_options(rp_id, person)
    session["passkey_auth"] = challenge.hex()
    return jsonify(options=json.loads(options))


@door.post("/login/passkey")
@public
@limiter.limit(config_limit("LOGIN_LIMIT_IP"))
def signin_passkey():
    data = _json_body()
    rp_id, origin = relying_party()
    challenge = bytes.fromhex(session.pop("passkey_auth", "") or "")
    try:
        person = passkeys.authenticate(data.get("credential"), challenge, rp_id, origin)
    except Refused:
        return _refused(_("That passkey could not sign you in. Try again, or use your password."), 401)
    target = safe_next(str(data.get("next") or ""), None)
    sign_in(person, via="passkey")
    Activity.record("login_passkey", person=person, contact=person.contact_id)
    return jsonify(redirect=target or url_for("portal.home"))


# --- the second-factor step ------------------------------------------------------------------------

def begin_second_factor(person, via, target):
    """Called by app/views/auth.py once a password or link is checked, when a second factor is
    due: nothing is signed in yet; the person has ten minutes to give it."""
    flashes = session.get("_flashes")
    session.clear()   # nothing from before carries over
    if flashes:
        session["_flashes"] = flashes
    session["mfa"] = {"p": person.id, "v": person.session_version, "via": via, "next": target or "",
                      "t": int(time.time())}
    return redirect(url_for("keys_door.second_factor"), 303)


def _pending():
    state = session.get("mfa")
    if not isinstance(state, dict) or time.time() - state.get("t", 0) > PENDING_SECONDS:
        return None, None
    person = Person.get_or_none(Person.id == state.get("p"))
    if person is None or person.session_version != state.get("v") or not person.can_sign_in():
        return None, None
    return person, state


def _expired():
    session.pop("mfa", None)
    flash(_("Your sign-in took too long. Please sign in again."), "error")
    return redirect(url_for("auth.login"), 303)


def _second_factor_page(person, status=200, **extra):
    person = Person.get_by_id(person.id)
    enrol = None
    if not person.totp_enabled and not passkeys.has_passkey(person):
        # The business requires a second factor and the person has none: they enrol now.
        uri = (person_totp.totp_uri(person.totp_secret, person.email) if person.totp_secret
               else person_totp.start(person))
        enrol = {"qr": person_totp.qr_svg(uri), "secret": person_totp.secret_of(person), "uri": uri}
    return render_template("keys/second_factor.html", person=person, enrol=enrol,
                           has_passkey=passkeys.has_passkey(person), form=extra.pop("form", Form()), **extra), status


def _finish(person, state):
    session.pop("mfa", None)
    sign_in(person, via=state["via"])
    Activity.record("login_link" if state["via"] == "link" else "login", person=person, contact=person.contact_id)
    target = safe_next(state.get("next") or None, None)
    if state["via"] == "link" and not person.password_hash and not target:
        flash(_("Welcome! Set a password so you can come back at any time without a link."), "info")
        return url_for("profile.password")
    return target or url_for("portal.home")


@door.get("/login/second-factor")
@public
def second_factor():
    person, _state = _pending()
    if person is None:
        return _expired()
    return _second_factor_page(person)


@door.post("/login/second-factor")
@public
@limiter.limit(config_limit("LOGIN_LIMIT_IP"), deduct_when=failed)
@limiter.limit(config_limit("LOGIN_LIMIT_ACCOUNT"), key_func=lambda: f"mfa:{(session.get('mfa') or {}).get('p')}",
               deduct_when=failed)
def second_factor_submit():
    """A code from the app (or a recovery code); or, when enrolling, the first code."""
    person, state = _pending()
    if person is None:
        return _expired()
    form = Form(request.form)
    code = form.raw("code")
    fresh = Person.get_by_id(person.id)
    if fresh.totp_enabled:
        ok = person_totp.second_factor_ok(person, code)
        codes = None
    else:
        codes = person_totp.enable(person, code) if fresh.totp_secret else None
        ok = codes is not None
    if not ok:
        form.error("code", _("That code does not match. Enter the current code from your app, or a recovery code."))
        return _second_factor_page(person, 422, form=form)
    target = _finish(person, state)
    if codes:
        return render_template("keys/recovery_codes.html", codes=codes, target=target)
    return redirect(target, 303)


@door.post("/login/second-factor/passkey/options")
@public
@limiter.limit(config_limit("LOGIN_LIMIT_IP"))
def second_factor_passkey_options():
    person, _state = _pending()
    if person is None:
        return _refused(_("Your sign-in took too long. Please sign in again."), 401)
    rp_id, _origin = relying_party()
    options, challenge = passkeys.authentication_options(rp_id, person)
    session["passkey_auth"] = challenge.hex()
    return jsonify(options=json.loads(options))


@door.post("/login/second-factor/passkey")
@public
@limiter.limit(config_limit("LOGIN_LIMIT_IP"))
def second_factor_passkey():
    person, state = _pending()
    if person is None:
        return _refused(_("Your sign-in took too long. Please sign in again."), 401)
    rp_id, origin = relying_party()
    challenge = bytes.fromhex(session.pop("passkey_auth", "") or "")
    try:
        passkeys.authenticate(_json_body().get("credential"), challenge, rp_id, origin, person=person)
    except Refused:
        return _refused(_("That passkey could not sign you in. Try again, or use a code."), 401)
    return jsonify(redirect=_finish(person, state))
