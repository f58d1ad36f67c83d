"""The portal's PDF download of a document, for the signed-in contact, in the person's language.
(The back-office's download of any document is app/views/staff/pdf.py; both answer through
app/web/downloads.py.)"""
from flask import g
from flask_babel import get_locale

from ..web.downloads import einvoice_response, pdf_response
from . import portal_blueprint
from .document_page import viewed_document

bp = portal_blueprint("pdf", __name__)


@bp.get("/documents/<int:doc_id>/pdf")
def document(doc_id):
    """Download the document as a PDF, in the signed-in person's language."""
    doc = viewed_document(g.contact, g.person, doc_id, "downloaded")
    return pdf_response(doc, str(get_locale()))


@bp.get("/documents/<int:doc_id>/einvoice.xml")
def einvoice(doc_id):
    """The e-invoice (EN 16931 XML) of an issued invoice or credit note, for the buyer's software."""
    doc = viewed_document(g.contact, g.person, doc_id, "downloaded")
    return einvoice_response(doc)
