"""The contact's own team (issue 21): an owner invites colleagues, sets their roles and removes
them, when the business allows it (Settings.team_self_service). Who may reach these views is
views/roles.py's business ("team": owners); the rules are app/people.py's."""
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import people, person_totp
from ..auth import sign_in, sign_out
from ..models import Person
from ..web.forms import Form
from . import portal_blueprint, public
from .keys import begin_second_factor
from .passwords import new_password_errors

bp = portal_blueprint("team", __name__, url_prefix="/account/team")
door = Blueprint("team_door", __name__, url_prefix="/team/join")


def _require_switch():
    if not people.self_service(g.contact):
        abort(404)


def _page(form=None, status=200):
    return render_template("profile/team.html", team=people.team_of(g.contact),
                           invites=people.pending_invites(g.contact), roles=people.role_choices(),
                           form=form or Form(values={"role": people.VIEWER})), status


def _member(person_id):
    person = Person.get_or_none((Person.id == person_id) & (Person.contact == g.contact.id))
    if person is None:
        abort(404)
    return person


@bp.get("/")
def index():
    """The team: people, their roles, pending invitations, and a form to invite someone."""
    _require_switch()
    return _page()


@bp.post("/invite")
def invite():
    _require_switch()
    form = Form(request.form)
    email = form.email("email", required=True)
    name = form.text("name", max_length=200)
    role = form.choice("role", list(people.ROLES))
    if form.ok:
        try:
            people.invite(g.contact, email, role, name=name, by=g.person)
        except people.TeamError as refused:
            form.error("email", str(refused))
    if not form.ok:
        return _page(form, 422)
    flash(_("An invitation is on its way to %(email)s.", email=email), "success")
    return redirect(url_for("team.index"), 303)


@bp.post("/<int:person_id>/role")
def role(person_id):
    _require_switch()
    member = _member(person_id)
    chosen = request.form.get("role", "")
    try:
        people.set_role(member, chosen, by=g.person)
    except people.TeamError as refused:
        flash(str(refused), "error")
        return redirect(url_for("team.index"), 303)
    flash(_("%(name)s is now %(role)s.", name=member.name, role=people.role_label(chosen)), "success")
    return redirect(url_for("team.index"), 303)


@bp.post("/<int:person_id>/remove")
def remove(person_id):
    _require_switch()
    member = _member(person_id)
    try:
        people.remove(member, by=g.person)
    except people.TeamError as refused:
        flash(str(refused), "error")
        return redirect(url_for("team.index"), 303)
    flash(_("%(name)s no longer has access.", name=member.name), "success")
    if member.id == g.person.id:
        sign_out()
        return redirect(url_for("auth.login"), 303)
    return redirect(url_for("team.index"), 303)


@door.get("/<token>")
@public
def accept(token):
    """An invitation: who invites, and the form to choose a name and password."""
    row, state = people.find_invite(token)
    if state != "ok":
        return render_template("auth/link_invalid.html", state=state), 410
    return render_template("auth/join.html", invite=row, token=token, form=Form(values={"name": row.name}))


@door.post("/<token>")
@public
def accept_submit(token):
    row, state = people.find_invite(token)
    if state != "ok":
        return render_template("auth/link_invalid.html", state=state), 410
    form = Form(request.form)
    name = form.text("name", required=True, max_length=200)
    password = new_password_errors(form)
    if not form.ok:
        return render_template("auth/join.html", invite=row, token=token, form=form), 422
    try:
        person = people.accept(token, name, password)
    except people.TeamError:
        return render_template("auth/link_invalid.html", state="used"), 410
    sign_out()
    flash(_("Welcome, %(name)s.", name=person.name), "success")
    if person_totp.must_verify(person):   # joining does not bypass the business's second factor
        return begin_second_factor(person, "password", None)
    sign_in(person, "password")
    return redirect(url_for("portal.home"), 303)
