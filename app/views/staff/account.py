"""A staff user's own page: their password and their two-factor sign-in, by an authenticator
app or by passkeys (every role). The passkey ceremonies are JSON in, JSON out: only the script
(static/js/passkeys.js, the portal's own) calls them."""
import json
import logging

import segno
from flask import abort, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ... import passkeys, staff_accounts
from ...models import Settings, StaffUser
from ...passwords import verify_password
from ...rules import Refused
from ...web.forms import Form
from ...web.security import relying_party
from ..passwords import new_password_errors
from . import sign_in, staff_blueprint

bp = staff_blueprint("account", "/account")
log = logging.getLogger("portal.staff")


def qr_data_uri(uri):
    """The QR code as an inline SVG `data:` image: the CSP allows no external image or script."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def account_page(password_form=None, status=200):
    return render_template("staff/account/show.html", password_form=password_form or Form(),
                           codes_left=staff_accounts.recovery_codes_left(g.staff),
                           passkeys=list(passkeys.listed(g.staff)),
                           required=Settings.get_solo().staff_require_totp), status


@bp.get("/")
def show():
    """Show one's own account: password and two-factor."""
    return account_page()


@bp.post("/password")
def change_password():
    """Change one's password; every other session of this staff user ends."""
    form = Form(request.form)
    current = form.raw("current_password")[:1024]
    form.values["current_password"] = ""
    password = new_password_errors(form)
    if not verify_password(g.staff.password_hash, current):
        form.errors = {"current_password": _("That is not your current password.")}
    if not form.ok:
        return account_page(form, 422)
    staff_accounts.set_password(g.staff, password)
    sign_in(StaffUser.get_by_id(g.staff.id))   # this browser goes on, with a new session
    log.info("staff password changed staff=%s", g.staff.id)
    flash(_("Your password is changed. You are signed out on every other device."), "success")
    return redirect(url_for("staff.account.show"), 303)


def setup_page(form=None, status=200):
    secret = g.staff.totp_secret
    uri = staff_accounts.totp_uri(secret, g.staff.email)
    return render_template("staff/account/two_factor.html", form=form or Form(), secret=secret,
                           qr=qr_data_uri(uri), required=Settings.get_solo().staff_require_totp), status


@bp.get("/two-factor")
def two_factor():
    """Set up two-factor sign-in: scan the QR code, then confirm a code."""
    if g.staff.totp_enabled:
        return redirect(url_for("staff.account.show"))
    if not g.staff.totp_secret:
        staff_accounts.start_totp(g.staff)
        g.staff = StaffUser.get_by_id(g.staff.id)
    return setup_page()


@bp.post("/two-factor/new")
def two_factor_restart():
    """Start over with a new secret (a QR code scanned into a lost phone)."""
    if not g.staff.totp_enabled:
        staff_accounts.start_totp(g.staff)
    return redirect(url_for("staff.account.two_factor"), 303)


@bp.post("/two-factor")
def two_factor_confirm():
    """Turn two-factor on with a code from the app; show the recovery codes once."""
    if g.staff.totp_enabled or not g.staff.totp_secret:
        return redirect(url_for("staff.account.show"), 303)
    form = Form(request.form)
    codes = staff_accounts.enable_totp(g.staff, form.raw("code")[:64])
    if codes is None:
        form.values["code"] = ""
        form.errors = {"code": _("That code is not right. Type the six digits your app shows now.")}
        return setup_page(form, 422)
    log.info("staff two-factor on staff=%s", g.staff.id)
    return render_template("staff/account/recovery_codes.html", codes=codes)


@bp.post("/two-factor/off")
def two_factor_off():
    """Turn one's two-factor off (with one's password); refused when the owner requires it and
    no passkey would be left as the second factor."""
    if Settings.get_solo().staff_require_totp and not passkeys.has_passkey(g.staff):
        flash(_("Two-factor sign-in is required for every staff account here."), "error")
        return redirect(url_for("staff.account.show"), 303)
    form = Form(request.form)
    if not verify_password(g.staff.password_hash, form.raw("off_password")[:1024]):
        form.values["off_password"] = ""
        form.errors = {"off_password": _("That is not your current password.")}
        return account_page(form, 422)
    staff_accounts.disable_totp(g.staff, by=g.staff)
    log.info("staff two-factor off staff=%s", g.staff.id)
    flash(_("Two-factor sign-in is off."), "success")
    return redirect(url_for("staff.account.show"), 303)


# --- passkeys ------------------------------------------------------------------------------------

@bp.post("/passkeys/options")
def passkey_options():
    """Options for the browser to create a passkey of this staff user."""
    rp_id, _origin = relying_party()
    options, challenge = passkeys.registration_options(g.staff, rp_id)
    session["staff_passkey_reg"] = challenge.hex()
    return jsonify(options=json.loads(options))


@bp.post("/passkeys")
def passkey_add():
    """Check the new passkey and keep it."""
    data = request.get_json(silent=True)
    data = data if isinstance(data, dict) else {}
    rp_id, origin = relying_party()
    challenge = bytes.fromhex(session.pop("staff_passkey_reg", "") or "")
    try:
        passkeys.register(g.staff, data.get("credential"), challenge, rp_id, origin, str(data.get("name") or ""))
    except Refused:
        return jsonify(error=_("The passkey could not be added. Try again.")), 422
    log.info("staff passkey added staff=%s", g.staff.id)
    flash(_("Your passkey is added. You can sign in with it from now on."), "success")
    return jsonify(redirect=url_for("staff.account.show"))


@bp.post("/passkeys/<int:passkey_id>/remove")
def passkey_remove(passkey_id):
    """Remove one of one's passkeys; refused for the last second factor the owner requires."""
    if not passkeys.owns(g.staff, passkey_id):
        abort(404)
    if Settings.get_solo().staff_require_totp and staff_accounts.second_factor_count(g.staff) <= 1:
        flash(_("Two-factor sign-in is required here: add another passkey or the authenticator app "
                "before removing this one."), "error")
        return redirect(url_for("staff.account.show"), 303)
    if not passkeys.remove(g.staff, passkey_id):
        abort(404)
    log.info("staff passkey removed staff=%s", g.staff.id)
    flash(_("The passkey is removed."), "success")
    return redirect(url_for("staff.account.show"), 303)
