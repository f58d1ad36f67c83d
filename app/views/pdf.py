"""PDF downloads of documents: the portal's (for the signed-in contact) and the back-office's.

Both serve the same cached file (app/pdf.py) with a strong ETag; the browser is told not to
store it (a customer's private document), and If-None-Match still answers 304."""
from urllib.parse import quote

from flask import Blueprint, Response, abort, request
from flask_babel import get_locale
from flask_login import login_required

from .. import pdf
from ..mail import recipient_language
from ..models import Document, Settings
from .documents import get_document, record_view
from .staff import require_staff

bp = Blueprint("pdf", __name__)


def pdf_response(doc, language):
    """The PDF of `doc` in `language` as an attachment, or 304 when the client has this one."""
    settings = Settings.get_solo()
    etag = pdf.document_etag(doc, language, settings)
    if request.if_none_match.contains_weak(etag):
        resp = Response(status=304)
    else:
        resp = Response(pdf.document_pdf(doc, language, settings, etag), mimetype="application/pdf")
        ascii_name, utf8_name = pdf.safe_filename(doc.number)
        disposition = f'attachment; filename="{ascii_name}"'
        if utf8_name:
            disposition += f"; filename*=UTF-8''{quote(utf8_name, safe='')}"
        resp.headers["Content-Disposition"] = disposition
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/documents/<int:doc_id>/pdf")
@login_required
def document(doc_id):
    """Download the document as a PDF, in the signed-in person's language."""
    doc = get_document(doc_id)
    record_view(doc, "downloaded")
    return pdf_response(doc, str(get_locale()))


@bp.get("/staff/documents/<int:doc_id>/pdf")
def staff_document(doc_id):
    """Download any document (drafts too) as a PDF, in its contact's language."""
    denied = require_staff()
    if denied is not None:
        return denied
    doc = Document.get_or_none(Document.id == doc_id)
    if doc is None:
        abort(404)
    return pdf_response(doc, recipient_language(contact=doc.contact))
