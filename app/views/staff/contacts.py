"""Back-office: contacts, their portal settings and the people who sign in for them."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from peewee import IntegrityError

from ... import contacts, people, person_totp, reminders
from ...config import LANGUAGES
from ...db import db
from ...web.forms import Form
from ...models import GATEWAYS, Activity, Contact, Document, Person
from ...rules import Refused
from . import staff_blueprint

bp = staff_blueprint("contacts", "/contacts")
PAGE = 50
FIELDS = ("kind", "name", "tax_id", "email", "phone", "billing_address", "shipping_address", "country",
          "language", "currency", "notes", "discount")


def get_contact(contact_id):
    contact = Contact.get_or_none(Contact.id == contact_id)
    if contact is None:
        abort(404)
    return contact


def read_contact_form(data):
    """Validate the contact form; returns (form, values-for-the-model)."""
    form = Form(data)
    values = {
        "kind": form.choice("kind", ("company", "person")),
        "name": form.text("name", required=True, max_length=200),
        "tax_id": form.text("tax_id", max_length=40),
        "email": form.email("email"),
        "phone": form.text("phone", max_length=40),
        "billing_address": form.text("billing_address", max_length=1000, multiline=True),
        "shipping_address": form.text("shipping_address", max_length=1000, multiline=True),
        "country": form.country("country"),
        "language": form.choice("language", LANGUAGES, required=False),
        "currency": form.currency("currency") if form.raw("currency").strip() else "",
        "notes": form.text("notes", max_length=5000, multiline=True),
        "discount_bp": form.percent("discount"),
        "portal_enabled": form.checkbox("portal_enabled"),
        "catalog_enabled": form.checkbox("catalog_enabled"),
        "issue_mail": form.checkbox("issue_mail"),
    }
    chosen = [g for g in data.getlist("gateways")] if hasattr(data, "getlist") else []
    if any(g not in GATEWAYS for g in chosen):
        form.error("gateways", _("Choose one of the options."))
    values["gateways"] = ",".join(g for g in GATEWAYS if g in chosen)
    form.values["gateways"] = values["gateways"].split(",")
    return form, values


def contact_form_values(contact):
    values = {name: getattr(contact, name, "") for name in FIELDS if name != "discount"}
    values.update(discount=str(contact.discount_bp / 100).rstrip("0").rstrip(".") if contact.discount_bp else "",
                  portal_enabled=contact.portal_enabled, catalog_enabled=contact.catalog_enabled,
                  issue_mail=contact.issue_mail, gateways=contact.gateway_list)
    return values


def _save(form, values, contact=None):
    """Create or update through the service; None (with the message on the form) if refused.
    A duplicate tax id is saved only when the person ticked the box the refusal showed."""
    if not form.ok:
        return None
    confirmed = form.checkbox("confirm_duplicate_tax_id")
    try:
        if contact is None:
            return contacts.create(values, allow_duplicate_tax_id=confirmed)
        return contacts.update(contact, values, allow_duplicate_tax_id=confirmed)
    except Refused as exc:
        form.error(exc.field, str(exc.message))
        form.values["duplicate_tax_id"] = exc.code == "duplicate_tax_id"
        return None


@bp.get("/")
def index():
    """List contacts, searchable by name, email or tax id."""
    q = request.args.get("q", "").strip()[:100]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = Contact.select().where(Contact.archived == False)  # noqa: E712
    if q:
        like = f"%{q}%"
        query = query.where(Contact.name ** like | Contact.email ** like | Contact.tax_id ** like)
    contacts = list(query.order_by(Contact.name).limit(PAGE + 1).offset((page - 1) * PAGE))
    return render_template("staff/contacts/index.html", contacts=contacts[:PAGE], q=q, page=page,
                           has_next=len(contacts) > PAGE)


@bp.get("/new")
def new():
    """Show the new-contact form."""
    return render_template("staff/contacts/form.html", form=Form(values={"kind": "company", "issue_mail": True}),
                           contact=None)


@bp.post("/new")
def create():
    """Create a contact."""
    form, values = read_contact_form(request.form)
    contact = _save(form, values)
    if contact is None:
        return render_template("staff/contacts/form.html", form=form, contact=None), 422
    flash(_("Contact %(name)s created.", name=contact.name), "success")
    return redirect(url_for(".show", contact_id=contact.id), 303)


@bp.get("/<int:contact_id>")
def show(contact_id):
    """Show a contact with its people, documents and recent activity."""
    contact = get_contact(contact_id)
    documents = (Document.select().where(Document.contact == contact)
                 .order_by(Document.issue_date.desc(), Document.id.desc()).limit(50))
    activity = (Activity.select().where(Activity.contact == contact)
                .order_by(Activity.created_at.desc()).limit(20))
    return render_template("staff/contacts/show.html", contact=contact, documents=documents, activity=activity,
                           person_form=Form(values={"role": people.OWNER}), **_people_context(contact))


def _people_context(contact):
    """The people card's roles and second factors, and the contact's reminders."""
    return {"roles": people.role_choices(), "factors": person_totp.factors_of(list(contact.people)),
            "contact_reminders": reminders.of_contact(contact)}


@bp.get("/<int:contact_id>/edit")
def edit(contact_id):
    """Show the contact's edit form."""
    contact = get_contact(contact_id)
    return render_template("staff/contacts/form.html", contact=contact,
                           form=Form(values=contact_form_values(contact)))


@bp.post("/<int:contact_id>/edit")
def update(contact_id):
    """Save changes to a contact."""
    contact = get_contact(contact_id)
    form, values = read_contact_form(request.form)
    if _save(form, values, contact) is None:
        return render_template("staff/contacts/form.html", form=form, contact=contact), 422
    flash(_("Changes saved."), "success")
    return redirect(url_for(".show", contact_id=contact.id), 303)


@bp.post("/<int:contact_id>/people")
def add_person(contact_id):
    """Add a person who can sign in for this contact."""
    contact = get_contact(contact_id)
    form = Form(request.form)
    name = form.text("name", required=True, max_length=200)
    email = form.email("email", required=True)
    role = form.choice("role", people.ROLES, required=False) or people.OWNER   # the default before roles
    if form.ok:
        try:
            with db.atomic():
                Person.create(contact=contact, name=name, email=email, role=role)
        except IntegrityError:
            form.error("email", _("Another person already signs in with this email."))
    if not form.ok:
        documents = Document.select().where(Document.contact == contact).limit(50)
        return render_template("staff/contacts/show.html", contact=contact, documents=documents, activity=[],
                               person_form=form, **_people_context(contact)), 422
    flash(_("%(name)s can now be invited to the portal.", name=name), "success")
    return redirect(url_for(".show", contact_id=contact.id), 303)
