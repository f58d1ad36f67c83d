"""Staff sign-in and sign-out."""
import logging

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ...web.forms import Form
from ...models import Activity, StaffUser, utcnow
from ...passwords import verify_password
from ...web.security import safe_next
from . import load_staff

bp = Blueprint("auth", __name__)
log = logging.getLogger("portal.staff")


@bp.get("/login")
def login():
    """Show the staff sign-in form."""
    if load_staff():
        return redirect(url_for("staff.contacts.index"))
    return render_template("staff/login.html", form=Form(values={"next": request.args.get("next", "")}))


@bp.post("/login")
def login_submit():
    """Sign a staff user in."""
    form = Form(request.form)
    email = form.email("email", required=True)
    password = form.raw("password")
    form.values["password"] = ""
    user = StaffUser.get_or_none(StaffUser.email == email) if email else None
    valid = verify_password(user.password_hash if user else None, password)
    if not (user and valid and user.active):
        log.info("staff sign-in failed ip=%s", request.remote_addr)
        form.errors.setdefault("password", _("That email and password do not match an active staff account."))
        return render_template("staff/login.html", form=form), 422
    session.clear()  # a new session at sign-in: nothing from before carries over
    session["staff"] = [user.id, user.session_version]
    session.permanent = True
    StaffUser.update(last_login_at=utcnow()).where(StaffUser.id == user.id).execute()
    Activity.record("staff_login", staff=user)
    log.info("staff sign-in staff=%s ip=%s", user.id, request.remote_addr)
    return redirect(safe_next(request.form.get("next"), url_for("staff.contacts.index")), 303)


@bp.post("/logout")
def logout():
    """Sign the staff user out."""
    session.pop("staff", None)
    return redirect(url_for("staff.auth.login"), 303)


@bp.get("/")
def home():
    """The back-office home is the contacts list."""
    return redirect(url_for("staff.contacts.index"))
