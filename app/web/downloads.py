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
        resp = Response(pdf.document_pdf(doc, language, settings, etag), mimetype="application/pdf")
        ascii_name, utf8_name = pdf.safe_filename(doc.number)
        disposition = f'attachment; filename="{ascii_name}"'
        if utf8_name:
            disposition += f"; filename*=UTF-8''{quote(utf8_name, safe='')}"
        resp.headers["Content-Disposition"] = disposition
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
    resp = Response(data, mimetype="application/xml")
    ascii_name, utf8_name = pdf.safe_filename(doc.number, suffix=".xml")
    disposition = f'attachment; filename="{ascii_name}"'
    if utf8_name:
        disposition += f"; filename*=UTF-8''{quote(utf8_name, safe='')}"
    resp.headers["Content-Disposition"] = disposition
    resp.headers["Cache-Control"] = "no-store"
    return resp
