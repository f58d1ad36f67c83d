"""Issued means frozen: what a document showed when it was issued, kept with it.

Issuing stores, in the document's `snapshot` column, everything its sheet shows that lives
elsewhere and may change: the business (name, tax id, address, contact details, the logo's
version), the customer (name, tax id, billing address), the lines with their taxes, and the
totals. The portal page, the print view, the PDF and its cache key read an issued document
from here only, so renaming a contact or moving the business changes no issued invoice.
Drafts have no snapshot and show today's data, as they are still being written."""
import json
from types import SimpleNamespace

from peewee import prefetch

from . import money
from .models import CREDIT_NOTE, Document, LineTax, Settings

VERSION = 1
# country, iban, bic, and the contact's country: since 0014 (older snapshots lack them)
BUSINESS_FIELDS = ("name", "tax_id", "address", "email", "phone", "website", "logo_hash", "country", "iban", "bic")
CONTACT_FIELDS = ("name", "tax_id", "billing_address", "country")


def build(doc, settings=None):
    """The snapshot of `doc` as it is now: a dict of JSON types."""
    settings = settings or Settings.get_solo()
    contact = doc.contact
    lines = list(prefetch(doc.ordered_lines(), LineTax))
    line_rows = [{"description": x.description, "qty_milli": x.qty_milli, "unit_price": x.unit_price,
                  "discount_bp": x.discount_bp, "net": x.net,
                  "taxes": [[t.name, t.rate_bp] for t in x.line_taxes]} for x in lines]
    totals = money.compute_totals([(x["qty_milli"], x["unit_price"], x["discount_bp"],
                                    [tuple(t) for t in x["taxes"]]) for x in line_rows])
    data = {"version": VERSION,
            "business": {name: getattr(settings, name) or "" for name in BUSINESS_FIELDS},
            "contact": {name: getattr(contact, name) or "" for name in CONTACT_FIELDS},
            "lines": line_rows,
            "totals": {"subtotal": totals["subtotal"], "tax_total": totals["tax_total"],
                       "total": totals["total"], "taxes": [list(t) for t in totals["taxes"]]}}
    if doc.kind == CREDIT_NOTE and doc.source_id:
        # What a credit note must print: the invoice it rectifies, and why.
        source = Document.get_by_id(doc.source_id)
        data["rectifies"] = {"id": source.id, "number": source.number, "issue_date": str(source.issue_date)}
        data["reason"] = doc.reason
    return data


def freeze(doc, settings=None, with_totals=False):
    """Store the snapshot of `doc`; call in the transaction that issues it, after its lines.
    with_totals: also store the totals the snapshot computed from the lines (the same rule as
    Document.recompute), for a document made and issued at once: one read of its lines, one
    write, where recompute, save and freeze read them twice and wrote twice."""
    data = build(doc, settings)
    text = json.dumps(data, sort_keys=True, ensure_ascii=False)
    changes = {"snapshot": text}
    if with_totals:
        totals = data["totals"]
        changes.update(subtotal=totals["subtotal"], tax_total=totals["tax_total"], total=totals["total"])
    Document.update(**changes).where(Document.id == doc.id).execute()
    for name, value in changes.items():
        setattr(doc, name, value)
    return data


def frozen(doc):
    """The stored snapshot as a dict, or None for a draft."""
    return json.loads(doc.snapshot) if doc.snapshot else None


def sheet_parts(data):
    """Objects shaped like the live rows the sheet template reads: (business, contact, lines, totals)."""
    business = SimpleNamespace(**data["business"])
    contact = SimpleNamespace(**data["contact"])
    lines = [SimpleNamespace(description=x["description"], qty_milli=x["qty_milli"], unit_price=x["unit_price"],
                             discount_bp=x["discount_bp"], net=x["net"],
                             line_taxes=[SimpleNamespace(name=n, rate_bp=r) for n, r in x["taxes"]])
             for x in data["lines"]]
    totals = data["totals"]
    return business, contact, lines, {"subtotal": totals["subtotal"], "total": totals["total"],
                                      "taxes": [tuple(t) for t in totals["taxes"]]}
