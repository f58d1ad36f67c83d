"""What a document sheet (partials/_doc_sheet.html) shows: the same for the portal's document page,
its print view and the PDF, read in two queries whatever the number of lines.

An issued document shows its snapshot (app/snapshot.py): the business, the customer, the lines
and the totals as they were when it was issued. A draft shows today's data."""
from peewee import prefetch

from . import money, snapshot
from .models import LineTax


def sheet_context(doc, contact, settings, logo_url):
    """The sheet of `doc`: its lines with their taxes, its totals, the business and the customer."""
    frozen = snapshot.frozen(doc)
    if frozen is not None:
        business, contact, lines, totals = snapshot.sheet_parts(frozen)
        return {"doc": doc, "lines": lines, "contact": contact, "business": business, "settings": settings,
                "logo_url": logo_url, "sheet_totals": totals}
    lines = list(prefetch(doc.ordered_lines(), LineTax))
    taxes = money.compute_totals([(line.qty_milli, line.unit_price, line.discount_bp,
                                   [(t.name, t.rate_bp) for t in line.line_taxes]) for line in lines])["taxes"]
    return {"doc": doc, "lines": lines, "contact": contact, "business": settings, "settings": settings,
            "logo_url": logo_url, "sheet_totals": {"subtotal": doc.subtotal, "taxes": taxes, "total": doc.total}}


def logo_version(doc, settings):
    """The hash of the logo the sheet shows: the snapshot's for an issued document."""
    frozen = snapshot.frozen(doc)
    return frozen["business"]["logo_hash"] if frozen is not None else settings.logo_hash
