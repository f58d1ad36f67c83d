"""What a document sheet (partials/_doc_sheet.html) shows: the same for the portal's document page,
its print view and the PDF, read in two queries whatever the number of lines."""
from peewee import prefetch

from . import money
from .models import LineTax


def sheet_context(doc, contact, settings, logo_url):
    """The sheet of `doc`: its lines with their taxes, its totals, the business and the customer."""
    lines = list(prefetch(doc.ordered_lines(), LineTax))
    taxes = money.compute_totals([(line.qty_milli, line.unit_price, line.discount_bp,
                                   [(t.name, t.rate_bp) for t in line.line_taxes]) for line in lines])["taxes"]
    return {"doc": doc, "lines": lines, "contact": contact, "settings": settings, "logo_url": logo_url,
            "sheet_totals": {"subtotal": doc.subtotal, "taxes": taxes, "total": doc.total}}
