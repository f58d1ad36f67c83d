"""API: a contact's statement of account for a period (app/statement.py), as JSON and as PDF."""
import datetime

from flask import jsonify

from .. import statement
from ..mail import recipient_language
from ..models import Contact
from ..rules import Refused
from ..web.statements import pdf_response
from . import bp
from .errors import from_refusal
from .schemas import StatementQuery
from .validation import fetch, read_query


def _statement(contact_id):
    """(contact, statement) for the period the query string names; a period the schema allows
    but the rules refuse (from after to, over 10 years) is a 409."""
    contact = fetch(Contact, contact_id, "contact")
    params = read_query(StatementQuery)
    args = {"period": params.period or "", "from": params.from_.isoformat() if params.from_ else "",
            "to": params.to.isoformat() if params.to else ""}
    today = datetime.date.today()
    try:
        period = statement.read_period(args, today)
    except Refused as exc:
        raise from_refusal(exc) from None
    return contact, statement.build(contact, period, today)


@bp.get("/contacts/<int:contact_id>/statement")
def get_statement(contact_id):
    """Read a contact's statement of account for a period."""
    contact, built = _statement(contact_id)
    return jsonify({"contact_id": contact.id, **built.to_dict()})


@bp.get("/contacts/<int:contact_id>/statement.pdf")
def get_statement_pdf(contact_id):
    """Download a contact's statement of account as a PDF, in the contact's language."""
    contact, built = _statement(contact_id)
    return pdf_response(contact, built, recipient_language(contact=contact))
