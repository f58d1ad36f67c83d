"""Accept or decline a quote from its sidebar; the decision block is swapped in place (HTMX)."""
from flask import g, redirect, request, url_for
from flask_babel import gettext as _

from .. import quotes
from ..web.forms import Form
from ..web.htmx import is_fragment_request, render
from . import get_document, portal_blueprint
from .document_page import decided_sheet_context, decision_context, document_context

bp = portal_blueprint("quotes", __name__)


def _answer(doc, status=200, form=None, refused=None):
    """The decision fragment for HTMX (and, once decided, the status beside the title out of
    band), else the whole document page around it."""
    if is_fragment_request():
        context = {"doc": doc, **decision_context(doc, form, refused)}
        if context["decision"]:   # the sheet above changes too (its acceptance): out of band
            context = {**decided_sheet_context(doc, g.contact), **context}
    else:
        context = document_context(doc, g.contact, decision_form=form, refused=refused)
    oob = ["partials/_doc_status.html", "partials/_doc_sheet.html"] if context["decision"] else []
    return render("portal/documents/show.html", "partials/_quote_decision.html", status, oob=oob, **context)


def _read_decision(data):
    """Validate the decision form; returns (form, decision, fields)."""
    form = Form(data)
    decision = form.choice("decision", ("accept", "decline"))
    fields = {}
    if decision == "accept":
        fields["signer_name"] = form.text("signer_name", required=True, max_length=200)
        fields["po_reference"] = form.text("po_reference", max_length=80)
        if not form.checkbox("accept_terms"):
            form.error("accept_terms", _("Please confirm that you accept the quote and its terms."))
    elif decision == "decline":
        fields["reason"] = form.text("reason", max_length=2000, multiline=True)
    return form, decision, fields


@bp.post("/documents/<int:doc_id>/decision")
def decide(doc_id):
    """Accept or decline the quote (the button pressed says which)."""
    doc = get_document(g.contact, doc_id)
    form, decision, fields = _read_decision(request.form)
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
