"""Back-office: the business controls portal credentials (seed item 8).

Staff send access links, force a password reset (the password is cleared and a reset link
mailed), and sign a person out everywhere; staff never see or choose a password."""
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from ...db import db
from ...models import Activity, Contact, Person
from ... import contacts, people, person_totp, tokens
from . import staff_blueprint

bp = staff_blueprint("access", "/contacts")


def get_person(contact_id, person_id):
    person = Person.get_or_none((Person.id == person_id) & (Person.contact == contact_id))
    if person is None:
        abort(404)
    return person


def _back(person):
    return redirect(url_for("staff.contacts.show", contact_id=person.contact_id), 303)


@bp.post("/<int:contact_id>/people/<int:person_id>/send-link")
def send_access_link(contact_id, person_id):
    """Mail the person a time-limited, single-use access link."""
    person = get_person(contact_id, person_id)
    if not person.can_sign_in():
        flash(_("Turn portal access on for this contact first."), "error")
        return _back(person)
    tokens.send_link(person, "access", staff=g.staff)
    Activity.record("access_link_sent", staff=g.staff, person=person, contact=person.contact_id)
    flash(_("An access link is on its way to %(email)s.", email=person.email), "success")
    return _back(person)


@bp.post("/<int:contact_id>/people/<int:person_id>/force-reset")
def force_reset(contact_id, person_id):
    """Clear the password, end every session, and mail a link to choose a new one."""
    person = get_person(contact_id, person_id)
    with db.atomic():
        Person.update(password_hash=None).where(Person.id == person.id).execute()
        tokens.revoke_all(person)
        if person.can_sign_in():
            tokens.send_link(person, "reset", staff=g.staff)
        Activity.record("password_reset_forced", staff=g.staff, person=person, contact=person.contact_id)
    flash(_("The password of %(name)s was cleared and a link to choose a new one was sent.", name=person.name),
          "success")
    return _back(person)


@bp.post("/<int:contact_id>/people/<int:person_id>/sign-out")
def sign_out_everywhere(contact_id, person_id):
    """End every session of the person and cancel their unused links."""
    person = get_person(contact_id, person_id)
    tokens.revoke_all(person)
    Activity.record("signed_out_everywhere", staff=g.staff, person=person, contact=person.contact_id)
    flash(_("%(name)s was signed out everywhere.", name=person.name), "success")
    return _back(person)


@bp.post("/<int:contact_id>/people/<int:person_id>/second-factor-off")
def second_factor_off(contact_id, person_id):
    """A lost phone or key: the person's app and passkeys go, their sessions end."""
    person = get_person(contact_id, person_id)
    person_totp.clear_second_factors(person, staff=g.staff)
    flash(_("The second factor of %(name)s is off and their sessions have ended. They sign in with their "
            "password or a link, and set one up again if you require it.", name=person.name), "success")
    return _back(person)


@bp.post("/<int:contact_id>/people/<int:person_id>/role")
def set_role(contact_id, person_id):
    """The business overrides a person's role (issue 21); logged and mailed to the owners."""
    person = get_person(contact_id, person_id)
    role = request.form.get("role", "")
    try:
        people.set_role(person, role, staff=g.staff)
    except people.TeamError as refused:
        flash(str(refused), "error")
        return _back(person)
    flash(_("%(name)s is now %(role)s.", name=person.name, role=people.role_label(role)), "success")
    return _back(person)


@bp.post("/<int:contact_id>/people/<int:person_id>/remove")
def remove_person(contact_id, person_id):
    """Take a person's access away: sessions and links end at once (issue 21)."""
    person = get_person(contact_id, person_id)
    try:
        people.remove(person, staff=g.staff)
    except people.TeamError as refused:
        flash(str(refused), "error")
        return _back(person)
    flash(_("%(name)s no longer has access.", name=person.name), "success")
    return _back(person)


@bp.post("/<int:contact_id>/portal/<any(on,off):state>")
def portal_access(contact_id, state):
    """Turn the contact's portal access on or off; off signs its people out everywhere."""
    contact = Contact.get_or_none(Contact.id == contact_id)
    if contact is None:
        abort(404)
    with db.atomic():
        contacts.set_portal_access(contact, state == "on")
    Activity.record("portal_" + state, staff=g.staff, contact=contact_id)
    flash(_("Portal access is on.") if state == "on" else _("Portal access is off."), "success")
    return redirect(url_for("staff.contacts.show", contact_id=contact_id), 303)
