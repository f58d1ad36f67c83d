"""Comments in the portal's document sidebar: read the thread, post a comment (HTMX or plain)."""
from flask import Blueprint, g, redirect, url_for
from flask import request
from flask_login import login_required

from .. import comments
from ..web.htmx import is_fragment_request, render
from .documents import document_context, get_document

bp = Blueprint("comments", __name__)


@bp.post("/documents/<int:doc_id>/comments")
@login_required
def create(doc_id):
    """Add the person's comment to the document's thread."""
    doc = get_document(doc_id)
    form, body = comments.read_body(request.form)
    if body is None:
        context = {"doc": doc} if is_fragment_request() else document_context(doc)
        context.update(comments.fragment_context(doc, form))
        return render("portal/documents/show.html", "partials/_comments.html", 422, **context)
    comments.post_by_person(doc, g.person, body)
    if is_fragment_request():
        return render("portal/documents/show.html", "partials/_comments.html", doc=doc,
                      **comments.fragment_context(doc))
    return redirect(url_for("documents.show", doc_id=doc.id, _anchor="comments"), 303)
