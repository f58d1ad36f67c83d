"""API: contacts, the people who sign in for them, and access links."""
from flask import g, jsonify, url_for
from peewee import IntegrityError

from .. import contacts, people, tokens
from ..db import db
from ..models import Activity, Contact, Person, Settings
from ..links import external_url
from ..rules import Refused
from .. import serializers
from . import bp
from .errors import ApiError, from_refusal
from .idempotency import idempotent
from .schemas import (AccessLinkCreate, ContactCreate, ContactQuery, ContactUpdate, Page, PersonCreate,
                      PersonUpdate)
from .validation import Conflicts, fetch, page, read_body, read_query


def read_contact(creating):
    """The contact fields sent, as the model's values, and whether a duplicate tax id is meant."""
    values = read_body(ContactCreate if creating else ContactUpdate).given()
    if "payment_methods" in values:
        values["gateways"] = ",".join(values.pop("payment_methods"))
    return values, values.pop("allow_duplicate_tax_id", False)


def _duplicate(exc, values, contact=None):
    """A duplicate tax id refused: the 409 names the contact that has it, by name and id."""
    error = from_refusal(exc)
    existing = contacts.same_tax_id(values.get("tax_id"), exclude=contact) if exc.code == "duplicate_tax_id" else None
    if existing is not None:
        error.message = (f"Contact {existing.id}, {existing.name}, already has this tax id; send "
                         "allow_duplicate_tax_id: true to save it anyway.")
        error.fields = {"tax_id": error.message}
    return error


@bp.get("/contacts")
def list_contacts():
    """List contacts, newest first, filtered by text, portal access or archived."""
    params = read_query(ContactQuery)
    q, email, portal, archived = params.q, params.email, params.portal_enabled, params.archived
    rows = Contact.select()
    if q:
        like = f"%{q}%"
        rows = rows.where(Contact.name ** like | Contact.email ** like | Contact.tax_id ** like)
    if email:
        rows = rows.where(Contact.email == email.strip().lower())
    if portal is not None:
        rows = rows.where(Contact.portal_enabled == portal)
    if archived is not None:
        rows = rows.where(Contact.archived == archived)
    return jsonify(page(rows, Contact.id, serializers.contact, params))


@bp.post("/contacts")
@idempotent
def create_contact():
    """Create a contact."""
    values, allow_duplicate = read_contact(creating=True)
    try:
        contact = contacts.create(values, allow_duplicate_tax_id=allow_duplicate)
    except Refused as exc:
        raise _duplicate(exc, values) from None
    response = jsonify(serializers.contact(contact))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_contact", contact_id=contact.id)
    return response


@bp.get("/contacts/<int:contact_id>")
def get_contact(contact_id):
    """Read a contact."""
    return jsonify(serializers.contact(fetch(Contact, contact_id, "contact")))


@bp.patch("/contacts/<int:contact_id>")
def update_contact(contact_id):
    """Change some fields of a contact (portal access and payment methods too)."""
    contact = fetch(Contact, contact_id, "contact")
    values, allow_duplicate = read_contact(creating=False)
    if values:
        with db.atomic():
            try:
                contacts.update(Contact.get_by_id(contact.id), values, allow_duplicate_tax_id=allow_duplicate)
            except Refused as exc:
                raise _duplicate(exc, values, contact) from None
            if "portal_enabled" in values and values["portal_enabled"] != contact.portal_enabled:
                Activity.record("portal_" + ("on" if values["portal_enabled"] else "off"),
                                contact=contact.id, detail="API")
    return jsonify(serializers.contact(Contact.get_by_id(contact.id)))


# --- people ---------------------------------------------------------------------------------

def get_person(contact, person_id):
    person = Person.get_or_none((Person.id == person_id) & (Person.contact == contact)) \
        if 0 < person_id < 2 ** 31 else None
    if person is None:
        raise ApiError(404, "not_found", "No such person for this contact.")
    return person


def _email_taken():
    return ApiError(409, "email_taken", "Another person already signs in with this email.",
                    {"email": "Another person already signs in with this email."})


@bp.get("/contacts/<int:contact_id>/people")
def list_people(contact_id):
    """List the people who sign in for a contact."""
    contact = fetch(Contact, contact_id, "contact")
    params = read_query(Page)
    return jsonify(page(Person.select().where(Person.contact == contact), Person.id, serializers.person, params))


@bp.post("/contacts/<int:contact_id>/people")
@idempotent
def create_person(contact_id):
    """Add a person who can sign in for the contact."""
    contact = fetch(Contact, contact_id, "contact")
    values = read_body(PersonCreate).given()
    try:
        with db.atomic():
            person = Person.create(contact=contact, **values)
    except IntegrityError:
        raise _email_taken() from None
    response = jsonify(serializers.person(person))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_person_view", contact_id=contact.id, person_id=person.id)
    return response


@bp.get("/contacts/<int:contact_id>/people/<int:person_id>")
def get_person_view(contact_id, person_id):
    """Read one person of a contact."""
    contact = fetch(Contact, contact_id, "contact")
    return jsonify(serializers.person(get_person(contact, person_id)))


@bp.patch("/contacts/<int:contact_id>/people/<int:person_id>")
def update_person(contact_id, person_id):
    """Change a person's name, email, language, role or whether they may sign in."""
    contact = fetch(Contact, contact_id, "contact")
    person = get_person(contact, person_id)
    values = read_body(PersonUpdate).given()
    role = values.pop("role", None)
    if values or role:
        try:
            with db.atomic():
                if role:
                    people.set_role(person, role, api_token=g.api_token)
                if values:
                    Person.update(values).where(Person.id == person.id).execute()
                if values.get("active") is False:
                    tokens.revoke_all(person)   # sign-outs take effect now, not at idle timeout
        except IntegrityError:
            raise _email_taken() from None
        except people.TeamError as exc:
            raise ApiError(409, "last_owner", str(exc), {"role": str(exc)}) from None
    return jsonify(serializers.person(Person.get_by_id(person.id)))


# --- access links ----------------------------------------------------------------------------

@bp.post("/contacts/<int:contact_id>/access-links")
def create_access_link(contact_id):
    """Issue a time-limited, single-use portal link for one of the contact's people; the
    business sends it itself. Older unused links of that person stop working. Not idempotent
    on purpose: storing the answer would store the link in clear."""
    contact = fetch(Contact, contact_id, "contact")
    conflicts = Conflicts()
    person = conflicts.row(Person, read_body(AccessLinkCreate).person_id, "person_id",
                           "person of this contact", where=Person.contact == contact)
    conflicts.check()
    if not person.can_sign_in():
        raise ApiError(409, "portal_disabled",
                       "Portal access is off for this contact or this person; turn it on first.")
    with db.atomic():
        token, link = tokens.issue(person, "access", hours=Settings.get_solo().access_link_hours)
        Activity.record("access_link_created", person=person, contact=contact.id, detail="API")
    response = jsonify({"url": external_url(url_for("auth.access", token=token)),
                        "expires_at": serializers.when(link.expires_at), "person_id": person.id})
    response.status_code = 201
    return response
