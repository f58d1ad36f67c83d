"""The profile menu: change password, language, sign out (seed items 8 and 9)."""
from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from .. import geoip, people
from ..auth import _sid_hash, end_other_sessions
from ..db import db
from ..web.forms import Form
from ..models import Activity, Person, PortalSession, Settings
from ..passwords import hash_password, verify_password
from . import portal_blueprint
from .accountants import section_context
from .passwords import new_password_errors

bp = portal_blueprint("profile", __name__, url_prefix="/account")


def language_choices():
    from ..web.i18n import LANGUAGE_NAMES
    return [(code, LANGUAGE_NAMES[code]) for code in Settings.get_solo().language_list if code in LANGUAGE_NAMES]


@bp.app_context_processor
def _menu_languages():
    """The profile menu's languages, one button each, on every page of a signed-in person."""
    if g.get("person") is None:
        return {}
    return {"menu_languages": language_choices()}


@bp.get("/")
def index():
    """The profile page: what the menu offers, for phones and for browsers without JavaScript."""
    return render_template("profile/index.html", languages=language_choices(),
                           form=Form(values={"language": g.person.language}), **section_context(g.contact),
                           **devices_context())


def devices_context():
    """What _devices.html and the team link on the account page need."""
    current = PortalSession.get_or_none(PortalSession.sid_hash == _sid_hash(session.get("sid") or ""))
    database, language = current_app.config.get("GEOIP_DATABASE", ""), get_locale().language
    return {"devices": people.devices(g.person) if g.get("person") else [],
            "current_device": current.id if current else None, "device_name": people.browser_name,
            "device_place": lambda ip: geoip.place(ip, database, language),
            "team_open": people.self_service(g.contact)}


@bp.post("/devices/<int:session_id>/end")
def end_device(session_id):
    """Sign out one of the person's other browsers (the row the cookie points to is deleted)."""
    if not people.end_device(g.person, session_id):
        abort(404)
    Activity.record("device_signed_out", person=g.person, contact=g.contact)
    flash(_("That device is signed out."), "success")
    return redirect(url_for("profile.index") + "#devices", 303)


@bp.post("/devices/end-others")
def end_other_devices():
    """Sign out every browser of the person but this one."""
    (PortalSession.delete().where((PortalSession.person == g.person.id)
                                  & (PortalSession.sid_hash != _sid_hash(session.get("sid") or ""))).execute())
    Activity.record("devices_signed_out", person=g.person, contact=g.contact)
    flash(_("Every other device is signed out."), "success")
    return redirect(url_for("profile.index") + "#devices", 303)


@bp.get("/password")
def password():
    """Show the form to create or change the password."""
    return render_template("profile/password.html", form=Form(), needs_current=_needs_current())


def _needs_current():
    # A person with a password proves it before changing it (a forgotten one is replaced
    # through a reset link). One who arrived by access link and has none creates it directly.
    return bool(g.person.password_hash)


@bp.post("/password")
def password_submit():
    """Create or change the password; every other session of the person ends."""
    form = Form(request.form)
    needs_current = _needs_current()
    if needs_current:
        current = form.raw("current_password")
        form.values["current_password"] = ""
        if not current:
            form.error("current_password", _("Enter your current password."))
        elif not verify_password(g.person.password_hash, current[:1024]):
            form.error("current_password", _("That is not your current password."))
    new = new_password_errors(form)
    if not form.ok:
        return render_template("profile/password.html", form=form, needs_current=needs_current), 422
    with db.atomic():
        (Person.update(password_hash=hash_password(new), session_version=Person.session_version + 1)
         .where(Person.id == g.person.id).execute())
        Activity.record("password_changed", person=g.person, contact=g.contact)
    end_other_sessions(g.person)
    flash(_("Your password is saved. Other devices have been signed out."), "success")
    return redirect(url_for("portal.home"), 303)


@bp.post("/language")
def language():
    """Save the person's language."""
    form = Form(request.form)
    codes = [code for code, _name in language_choices()]
    code = form.choice("language", codes)
    if not form.ok:
        return render_template("profile/index.html", languages=language_choices(), form=form,
                               **section_context(g.contact), **devices_context()), 422
    Person.update(language=code).where(Person.id == g.person.id).execute()
    with force_locale(code):
        flash(_("Language saved."), "success")
    # The menu's buttons come back to the page they were on: only a path of ours.
    back = request.form.get("next", "")
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = url_for("portal.home")
    return redirect(back, 303)
