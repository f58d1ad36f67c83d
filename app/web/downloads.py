"""A document's PDF as an answer: the portal's download and the back-office's serve the same file.

The file comes from app/pdf.py's cache with a strong ETag; the browser is told not to store it (a
customer's private document), and If-None-Match still answers 304."""
from urllib.parse import quote

from flask import Response, abort, request

from .. import einvoice, pdf
from ..models import Settings


def pdf_response(doc, language):
    """The PDF of `doc` in `language` as an attachment, or 304 when the client has this one."""
    settings = Settings.get_solo()
    etag = pdf.document_etag(doc, language, settings)
    if request.if_none_match.contains_weak(etag):
        resp = Response(status=304)
    else:
        resp = attachment(pdf.document_pdf(doc, language, settings, etag), "application/pdf",
                          pdf.safe_filename(doc.number))
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def einvoice_response(doc):
    """The document's EN 16931 XML (the file its PDF carries) as an attachment; 404 when it
    has none (a quote, a draft, or data the standard cannot carry)."""
    if not einvoice.available(doc):
        abort(404)
    try:
        data = einvoice.xml(doc, Settings.get_solo())
    except einvoice.Unavailable:
        abort(404)
    return attachment(data, "application/xml", pdf.safe_filename(doc.number, suffix=".xml"))


def acceptance_response(doc, language):
    """A quote's acceptance certificate (app/acceptance.py); 404 unless the quote was accepted."""
    from .. import acceptance
    decision = acceptance.decision_of(doc)
    if decision is None:
        abort(404)
    return attachment(acceptance.certificate_pdf(doc, decision, language), "application/pdf",
                      acceptance.filename(doc))


def attachment(data, mimetype, names):
    """`data` as a download named by `names` (ASCII name, UTF-8 name or None: pdf.safe_filename),
    never stored by the browser."""
    ascii_name, utf8_name = names
    resp = Response(data, mimetype=mimetype)
    disposition = f'attachment; filename="{ascii_name}"'
    if utf8_name:
        disposition += f"; filename*=UTF-8''{quote(utf8_name, safe='')}"
    resp.headers["Content-Disposition"] = disposition
    resp.headers["Cache-Control"] = "no-store"
    return resp
