"""What a document sheet (partials/_doc_sheet.html) shows: the same for the portal's document page,
its print view and the PDF, read in one query whatever the number of lines.

An issued document shows its snapshot (app/snapshot.py): the business, the customer, the lines
and the totals as they were when it was issued. A draft shows today's data."""
import datetime
from types import SimpleNamespace

from . import money, snapshot, verify
from .models import CREDIT_NOTE, Document


def sheet_context(doc, contact, settings, logo_url):
    """The sheet of `doc`: its lines with their taxes, its totals, the business and the customer."""
    frozen = snapshot.frozen(doc)
    if frozen is not None:
        business, contact, lines, totals = snapshot.sheet_parts(frozen)
        return {"doc": doc, "lines": lines, "contact": contact, "business": business, "settings": settings,
                "logo_url": logo_url, "sheet_totals": totals, **rectifying(doc, frozen), **verifying(doc)}
    lines = doc.lines_with_taxes()
    taxes = money.compute_totals([(line.qty_milli, line.unit_price, line.discount_bp,
                                   [(t.name, t.rate_bp) for t in line.line_taxes]) for line in lines])["taxes"]
    return {"doc": doc, "lines": lines, "contact": contact, "business": settings, "settings": settings,
            "logo_url": logo_url, "sheet_totals": {"subtotal": doc.subtotal, "taxes": taxes, "total": doc.total},
            **rectifying(doc, None), **verifying(doc)}


def verifying(doc):
    """An issued invoice's or credit note's "verify this document" link and its QR code."""
    code = verify.code_for(doc)
    if not code:
        return {"verify_url": None}
    url = verify.url_for_code(code)
    return {"verify_url": url, "verify_qr": verify.qr_svg(url)}


def rectifying(doc, frozen):
    """A credit note's `rectifies` (id, number, issue_date as a date) and `reason`: from its
    snapshot once issued (the number and date it printed), from the invoice itself before."""
    if doc.kind != CREDIT_NOTE:
        return {"rectifies": None, "reason": ""}
    if frozen is not None:
        found, reason = frozen.get("rectifies"), frozen.get("reason", "")
    else:
        source = Document.get_or_none(Document.id == doc.source_id) if doc.source_id else None
        found = {"id": source.id, "number": source.number, "issue_date": str(source.issue_date)} if source else None
        reason = doc.reason
    if not found:
        return {"rectifies": None, "reason": reason}
    return {"rectifies": SimpleNamespace(id=found["id"], number=found["number"],
                                         issue_date=datetime.date.fromisoformat(found["issue_date"])),
            "reason": reason}


def logo_version(doc, settings):
    """The hash of the logo the sheet shows: the snapshot's for an issued document."""
    frozen = snapshot.frozen(doc)
    return frozen["business"]["logo_hash"] if frozen is not None else settings.logo_hash
