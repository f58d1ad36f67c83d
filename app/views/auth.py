"""Portal sign-in: password, access links sent by the business, and password reset links.

Every view here is @public: it serves people who are not signed in (yet). Answers never say
whether an email is known: the same page, status and work (a password hash is verified either
way, mails go out through the queue) for known and unknown emails."""
import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import person_totp, tokens
from ..auth import sign_in, sign_out
from ..db import db
from ..web.forms import Form
from ..web.limits import account_ip_key, account_key, config_limit, failed, limiter
from ..models import Activity, Person, PortalSession
from ..passwords import hash_password, verify_password
from ..web.security import safe_next
from . import public
from .keys import begin_second_factor
from .passwords import new_password_errors

bp = Blueprint("auth", __name__)
log = logging.getLogger("portal.auth")


@bp.get("/login")
@public
def login():
    """Show the sign-in form."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("portal.home")))
    return render_template("auth/login.html", form=Form(values={"next": request.args.get("next", "")}))


@bp.post("/login")
@public
@limiter.limit(config_limit("LOGIN_LIMIT_IP"), deduct_when=failed)
@limiter.limit(config_limit("LOGIN_LIMIT_ACCOUNT_IP"), key_func=account_ip_key, deduct_when=failed)
@limiter.limit(config_limit("LOGIN_LIMIT_ACCOUNT"), key_func=account_key, deduct_when=failed)
def login_submit():
    """Sign in with email and password."""
    form = Form(request.form)
    email = form.email("email", required=True)
    password = form.raw("password")[:1024]
    form.values["password"] = ""
    person = Person.by_email(email) if email else None
    valid = verify_password(person.password_hash if person else None, password)
    if not (person and valid and person.can_sign_in()):
        log.info("portal sign-in failed ip=%s", request.remote_addr)
        form.errors = {"password": _("That email and password do not match. Check them, or ask "
                                     "for a sign-in link below.")}
        return render_template("auth/login.html", form=form), 422
    if person_totp.must_verify(person):   # the session opens after the second factor
        return begin_second_factor(person, "password", safe_next(request.form.get("next"), None))
    sign_in(person, via="password")
    Activity.record("login", person=person, contact=person.contact_id)
    log.info("portal sign-in person=%s ip=%s", person.id, request.remote_addr)
    return redirect(safe_next(request.form.get("next"), url_for("portal.home")), 303)


@bp.post("/logout")
@public
def logout():
    """Sign out of this browser."""
    sign_out()
    flash(_("You are signed out."), "success")
    return redirect(url_for("auth.login"), 303)


@bp.get("/login/link")
@public
def link_request():
    """Ask for a sign-in link (for people with no password) or a password reset link."""
    purpose = "reset" if request.args.get("purpose") == "reset" else "access"
    return render_template("auth/link_request.html", form=Form(values={"purpose": purpose}))


@bp.post("/login/link")
@public
@limiter.limit(config_limit("LINK_REQUEST_LIMIT"), key_func=account_key)
@limiter.limit(config_limit("LOGIN_LIMIT_IP"))
def link_request_submit():
    """Mail a sign-in or reset link if the email belongs to someone with portal access."""
    form = Form(request.form)
    email = form.email("email", required=True)
    purpose = form.choice("purpose", ("access", "reset"))
    if not form.ok:
        return render_template("auth/link_request.html", form=form), 422
    person = Person.by_email(email)
    if person is not None and person.can_sign_in():
        tokens.send_link(person, purpose)
    log.info("portal link requested purpose=%s ip=%s", purpose, request.remote_addr)
    return render_template("auth/link_sent.html", email=email)


def _link_page(token, purpose):
    link, state = tokens.find(token, purpose)
    if state != "ok":
        return None, (render_template("auth/link_invalid.html", state=state, purpose=purpose), 410)
    return link, None


@bp.get("/access/<token>")
@public
def access(token):
    """Confirm before using an access link (mail scanners follow GET links)."""
    link, error = _link_page(token, "access")
    return error or render_template("auth/access.html", person=link.person, token=token,
                                    next=safe_next(request.args.get("next"), None))


@bp.post("/access/<token>")
@public
def access_confirm(token):
    """Use the access link up and open a time-limited session."""
    link, error = _link_page(token, "access")
    if error:
        return error
    if not tokens.consume(link):
        return render_template("auth/link_invalid.html", state="used", purpose="access"), 410
    person = Person.get_by_id(link.person_id)
    if person_totp.must_verify(person):   # a link never bypasses a second factor
        return begin_second_factor(person, "link", safe_next(request.args.get("next"), None))
    sign_in(person, via="link")
    Activity.record("login_link", person=person, contact=person.contact_id)
    log.info("portal sign-in by link person=%s ip=%s", person.id, request.remote_addr)
    # A mail about one document links to it: the person lands there, not on a settings page.
    target = safe_next(request.args.get("next"), None)
    if not person.password_hash:
        flash(_("Welcome! Set a password so you can come back at any time without a link."), "info")
        return redirect(target or url_for("profile.password"), 303)
    return redirect(target or url_for("portal.home"), 303)


@bp.get("/reset/<token>")
@public
def reset(token):
    """Show the new-password form of a reset link."""
    link, error = _link_page(token, "reset")
    return error or render_template("auth/reset.html", form=Form(), token=token, person=link.person)


@bp.post("/reset/<token>")
@public
def reset_submit(token):
    """Set a new password from a reset link, end every other session, and sign in."""
    link, error = _link_page(token, "reset")
    if error:
        return error
    form = Form(request.form)
    password = new_password_errors(form)
    if not form.ok:
        return render_template("auth/reset.html", form=form, token=token, person=link.person), 422
    with db.atomic():
        if not tokens.consume(link):
            return render_template("auth/link_invalid.html", state="used", purpose="reset"), 410
        (Person.update(password_hash=hash_password(password), session_version=Person.session_version + 1)
         .where(Person.id == link.person_id).execute())
        PortalSession.end_all(link.person)
    person = Person.get_by_id(link.person_id)
    Activity.record("password_reset", person=person, contact=person.contact_id)
    flash(_("Your new password is set."), "success")
    if person_totp.must_verify(person):   # a reset link does not bypass a second factor either
        return begin_second_factor(person, "password", None)
    sign_in(person, via="password")
    return redirect(url_for("portal.home"), 303)

