"""PDF downloads of documents (first version: rendered on each request; see app/pdf.py)."""
from flask import Blueprint, Response, g
from flask_login import login_required

from .documents import document_context, get_document, record_view

bp = Blueprint("pdf", __name__)


@bp.get("/documents/<int:doc_id>/pdf")
@login_required
def document(doc_id):
    """Download the document as a PDF."""
    from ..pdf import render_pdf
    doc = get_document(doc_id)
    record_view(doc, "downloaded")
    data = render_pdf(document_context(doc))
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{doc.number}.pdf"',
                             "Cache-Control": "no-store"})
