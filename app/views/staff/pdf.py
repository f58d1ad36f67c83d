"""Back-office PDF downloads: any document, drafts too, in its contact's language."""
from ...mail import recipient_language
from ...web.downloads import einvoice_response, pdf_response
from . import get_any_document, staff_blueprint

bp = staff_blueprint("pdf", "/documents")


@bp.get("/<int:doc_id>/pdf")
def document(doc_id):
    """Download any document (drafts too) as a PDF, in its contact's language."""
    doc = get_any_document(doc_id)
    return pdf_response(doc, recipient_language(contact=doc.contact))


@bp.get("/<int:doc_id>/einvoice.xml")
def einvoice(doc_id):
    """The e-invoice (EN 16931 XML) of an issued invoice or credit note."""
    return einvoice_response(get_any_document(doc_id))
