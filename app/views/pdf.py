"""The portal's PDF download of a document, for the signed-in contact, in the person's language.
(The back-office's download of any document is app/views/staff/pdf.py; both answer through
app/web/downloads.py.)"""
from flask import Blueprint
from flask_babel import get_locale
from flask_login import login_required

from ..web.downloads import pdf_response
from .documents import get_document, record_view

bp = Blueprint("pdf", __name__)


@bp.get("/documents/<int:doc_id>/pdf")
@login_required
def document(doc_id):
    """Download the document as a PDF, in the signed-in person's language."""
    doc = get_document(doc_id)
    record_view(doc, "downloaded")
    return pdf_response(doc, str(get_locale()))
