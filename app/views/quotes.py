"""Accept or decline a quote from its sidebar; the decision block is swapped in place (HTMX)."""
from flask import g, redirect, request, url_for

from .. import quotes
from ..web.htmx import is_fragment_request, render
from . import get_document, portal_blueprint
from .document_page import decision_context, document_context

bp = portal_blueprint("quotes", __name__)


def _answer(doc, status=200, form=None, refused=None):
    """The decision fragment for HTMX (and, once decided, the status beside the title out of
    band), else the whole document page around it."""
    if is_fragment_request():
        context = {"doc": doc, **decision_context(doc, form, refused)}
    else:
        context = document_context(doc, g.contact, decision_form=form, refused=refused)
    oob = ["partials/_doc_status.html"] if context["decision"] else []
    return render("portal/documents/show.html", "partials/_quote_decision.html", status, oob=oob, **context)


@bp.post("/documents/<int:doc_id>/decision")
def decide(doc_id):
    """Accept or decline the quote (the button pressed says which)."""
    doc = get_document(g.contact, doc_id)
    form, decision, fields = quotes.read_decision(request.form)
    problem = quotes.decidable_problem(doc)
    if problem:
        return _answer(doc, 409, form, refused=problem)
    if not form.ok:
        return _answer(doc, 422, form)
    try:
        quotes.decide(doc, g.person, decision, fields, ip=request.remote_addr,
                      user_agent=request.headers.get("User-Agent", ""))
    except quotes.DecisionRefused as exc:
        return _answer(get_document(g.contact, doc_id), 409, form, refused=str(exc))
    doc = get_document(g.contact, doc_id)
    if is_fragment_request():
        return _answer(doc)
    return redirect(url_for("documents.show", doc_id=doc.id, _anchor="quote-decision"), 303)
