"""Back-office: answer comments on documents, and the list of those waiting for an answer."""
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ... import comments
from ...web.forms import read_comment
from ...models import Document
from . import staff_blueprint

bp = staff_blueprint("comments", "")


@bp.get("/comments")
def unanswered():
    """Documents whose latest comment came from the customer."""
    return render_template("staff/comments.html", waiting=list(comments.unanswered().limit(200)))


@bp.post("/documents/<int:doc_id>/comments")
def answer(doc_id):
    """Post a staff comment on the document; the contact's people are mailed."""
    doc = Document.get_or_none(Document.id == doc_id)
    if doc is None:
        abort(404)
    form, body = read_comment(request.form)
    if body is None:
        flash(form.errors["body"], "error")
    else:
        comments.post_by_business(doc, body, staff=g.staff)
        flash(_("Your answer was posted."), "success")
    return redirect(url_for("staff.documents.show", doc_id=doc.id, _anchor="comments"), 303)
