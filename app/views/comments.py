"""Comments in the portal's document sidebar: read the thread, post a comment (HTMX or plain)."""
from flask import g, redirect, request, url_for

from .. import comments
from ..web.forms import read_comment
from ..web.htmx import is_fragment_request, render
from . import get_document, portal_blueprint
from .document_page import comments_context, document_context

bp = portal_blueprint("comments", __name__)


def _answer(doc, status=200, form=None):
    """The comments fragment for HTMX, else the whole document page around it."""
    if is_fragment_request():
        context = {"doc": doc, **comments_context(doc, form)}
    else:
        context = document_context(doc, g.contact, comment_form=form)
    return render("portal/documents/show.html", "partials/_comments.html", status, **context)


@bp.post("/documents/<int:doc_id>/comments")
def create(doc_id):
    """Add the person's comment to the document's thread."""
    doc = get_document(g.contact, doc_id)
    form, body = read_comment(request.form)
    if body is None:
        return _answer(doc, 422, form)
    comments.post_by_person(doc, g.person, body)
    if is_fragment_request():
        return _answer(doc)
    return redirect(url_for("documents.show", doc_id=doc.id, _anchor="comments"), 303)
