"""Accept or decline a quote from its sidebar; the decision block is swapped in place (HTMX)."""
from flask import Blueprint, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from .. import quotes
from ..web.forms import Form
from ..web.htmx import is_fragment_request, render
from .documents import document_context, get_document
from .fragments import decision_context

bp = Blueprint("quotes", __name__)


def _answer(doc, status=200, form=None, refused=None):
    """The decision fragment for HTMX, else the whole document page around it."""
    context = {"doc": doc} if is_fragment_request() else document_context(doc)
    context.update(decision_context(doc, form, refused))
    return render("portal/documents/show.html", "partials/_quote_decision.html", status, **context)


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
@login_required
def decide(doc_id):
    """Accept or decline the quote (the button pressed says which)."""
    doc = get_document(doc_id)
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
        return _answer(get_document(doc_id), 409, form, refused=str(exc))
    doc = get_document(doc_id)
    if is_fragment_request():
        return _answer(doc)
    return redirect(url_for("documents.show", doc_id=doc.id, _anchor="quote-decision"), 303)
