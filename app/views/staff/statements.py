"""Back-office: a contact's statement of account (the portal's, for any contact), its PDF in the
contact's language, and mailing it to the contact's people with the PDF attached."""
import datetime

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from ... import statement
from ...mail import recipient_language
from ...models import Person
from ...people import PAYERS
from ...rules import By, Refused
from ...web.htmx import render
from ...web.statements import pdf_response, statement_context
from . import staff_blueprint
from .contacts import get_contact

bp = staff_blueprint("statements", "/contacts")


def context(contact, args=None):
    found = statement_context(
        contact, lambda **a: url_for("staff.statements.show", contact_id=contact.id, **a),
        lambda **a: url_for("staff.statements.pdf", contact_id=contact.id, **a),
        lambda doc_id: url_for("staff.documents.show", doc_id=doc_id), args=args)
    found.update(recipients=list(Person.active_of(contact, roles=PAYERS)),
                 statement_actions="partials/staff/_statement_mail.html")
    return found


@bp.get("/<int:contact_id>/statement")
def show(contact_id):
    """Show a contact's statement of account for the period asked, with the form to mail it."""
    contact = get_contact(contact_id)
    found = context(contact)
    return render("staff/statements/show.html", "partials/_statement.html", status=422 if found["error"] else 200,
                  **found)


@bp.get("/<int:contact_id>/statement.pdf")
def pdf(contact_id):
    """Download a contact's statement of account as a PDF, in the contact's language."""
    contact = get_contact(contact_id)
    found = context(contact)
    if found["error"]:
        return render("staff/statements/show.html", "partials/_statement.html", status=422, **found)
    return pdf_response(contact, found["statement"], recipient_language(contact=contact))


@bp.post("/<int:contact_id>/statement/mail")
def mail(contact_id):
    """Mail the statement of the period shown to each of the contact's people, PDF attached."""
    contact = get_contact(contact_id)
    try:
        period = statement.read_period(request.form, datetime.date.today())
        sent = statement.mail_statement(contact, period, By(staff=g.staff))
    except Refused as exc:
        found = context(contact, args=request.form)
        found["mail_error"] = exc.message
        return render("staff/statements/show.html", "partials/_statement.html", status=422, **found)
    flash(_("The statement was mailed to %(count)d people.", count=sent) if sent != 1
          else _("The statement was mailed to one person."), "success")
    return redirect(url_for(".show", contact_id=contact.id, **period.args()), 303)
