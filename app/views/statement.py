"""The portal's statement of account: the page (its period switched by HTMX, or by plain links
and a GET form) and its PDF in the person's language. app/statement.py computes it."""
from flask import g, url_for
from flask_babel import get_locale

from ..web.htmx import render
from ..web.statements import pdf_response, statement_context
from . import portal_blueprint

bp = portal_blueprint("statement", __name__)


def context(contact):
    return statement_context(contact, lambda **args: url_for("statement.show", **args),
                             lambda **args: url_for("statement.pdf", **args),
                             lambda doc_id: url_for("documents.show", doc_id=doc_id))


@bp.get("/statement")
def show():
    """Show the statement of account for the period asked (this year by default)."""
    found = context(g.contact)
    return render("statement/show.html", "partials/_statement.html", status=422 if found["error"] else 200,
                  **found)


@bp.get("/statement.pdf")
def pdf():
    """Download the statement of account as a PDF, in the person's language."""
    found = context(g.contact)
    if found["error"]:
        return render("statement/show.html", "partials/_statement.html", status=422, **found)
    return pdf_response(g.contact, found["statement"], str(get_locale()))
