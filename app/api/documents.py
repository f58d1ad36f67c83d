"""API: invoices, quotes and sales orders: create with lines, issue, void, read, list; manual
payments and staff comments on a document.

Totals are computed from the lines by app/documents.py, as for the back-office editor; a client
that sends a total is told it may not. Every operation is a call to app/documents.py or
app/comments.py; a refusal comes back as a 409 (or 422 on a field) with its code."""
import datetime

from flask import g, jsonify, url_for

from .. import comments, documents, money, serializers
from ..mail import recipient_language
from ..rules import By, Refused
from ..web.downloads import einvoice_response, pdf_response
from ..models import INVOICE, ORDER, QUOTE, Contact, Document, Product, Settings, TaxRate
from . import bp
from .errors import from_refusal
from .idempotency import idempotent
from .schemas import CommentCreate, DocumentCreate, DocumentQuery, PaymentCreate
from .validation import Conflicts, fetch, page, read_body, read_query


def _created(payload, location):
    response = jsonify(payload)
    response.status_code = 201
    response.headers["Location"] = location
    return response


# --- reading --------------------------------------------------------------------------------

@bp.get("/documents")
def list_documents():
    """List documents, newest first, by kind, status, contact, number and issue dates."""
    params = read_query(DocumentQuery)
    kind, status, contact_id, number = params.kind, params.status, params.contact_id, params.number
    issued_from, issued_to = params.issued_from, params.issued_to
    rows = Document.select()
    if kind:
        rows = rows.where(Document.kind == kind)
    if status:
        rows = rows.where(Document.status == status)
    if contact_id:
        rows = rows.where(Document.contact == contact_id)
    if number:
        rows = rows.where(Document.number == number)
    if issued_from:
        rows = rows.where(Document.issue_date >= issued_from)
    if issued_to:
        rows = rows.where(Document.issue_date <= issued_to)
    return jsonify(page(rows, Document.id, serializers.document_summary, params))


@bp.get("/documents/<int:doc_id>")
def get_document(doc_id):
    """Read a document with its lines, taxes, payments, comments and quote decision."""
    return jsonify(serializers.document(fetch(Document, doc_id, "document")))


@bp.get("/documents/<int:doc_id>/pdf")
def get_document_pdf(doc_id):
    """Download a document's PDF, in its contact's language (an issued one as it was issued)."""
    doc = fetch(Document, doc_id, "document")
    return pdf_response(doc, recipient_language(contact=doc.contact))


@bp.get("/documents/<int:doc_id>/einvoice.xml")
def get_document_einvoice(doc_id):
    """Download an issued invoice's or credit note's e-invoice: UN/CEFACT CII, EN 16931 profile."""
    return einvoice_response(fetch(Document, doc_id, "document"))


# --- creating -------------------------------------------------------------------------------

def _line_references(lines, conflicts):
    """Each line's product (by id or SKU) and tax rates: [(line, product, taxes)]."""
    taxes_by_id = {t.id: t for t in TaxRate.select()}
    found = []
    for index, line in enumerate(lines):
        at = f"lines[{index}]."
        product = conflicts.row(Product, line.product_id, at + "product_id", "product")
        if line.product_id is None and line.sku:
            product = Product.get_or_none(Product.sku == line.sku)
            if product is None:
                conflicts.add("unknown_reference", at + "sku", "No product has this SKU.")
        tax_ids = line.tax_ids if line.tax_ids is not None else sorted(product.tax_ids()) if product else []
        for tax_id in tax_ids:
            if tax_id not in taxes_by_id:
                conflicts.add("unknown_reference", at + "tax_ids", f"No tax rate has the id {tax_id}.")
        found.append((line, product, [taxes_by_id[t] for t in tax_ids if t in taxes_by_id]))
    return found


def _line_values(found, currency, conflicts):
    """documents.Line values, or refusals for what a line may not be."""
    rows = []
    for index, (line, product, taxes) in enumerate(found):
        at = f"lines[{index}]."
        price = line.unit_price
        if price is None:   # the schema lets it out only when a product is named
            if product.currency != currency:
                conflicts.add("unit_price_required", at + "unit_price",
                              f"The product is priced in {product.currency}: send a unit_price in {currency}.")
                continue
            price = product.price
        if len({t.name for t in taxes}) != len(taxes):
            conflicts.add("duplicate_tax", at + "tax_ids", "A line cannot carry the same tax twice.")
        quantity = money.QTY_SCALE if line.quantity is None else line.quantity
        discount = line.discount_bp or 0
        if abs(money.line_net(quantity, price, discount)) >= money.MAX_AMOUNT:
            conflicts.add("amount_too_large", at + "unit_price", "This line's amount is too large.")
        rows.append(documents.Line(description=line.description or product.name, qty_milli=quantity,
                                   unit_price=price, discount_bp=discount, product=product,
                                   taxes=[(t.name, t.rate_bp) for t in taxes]))
    return rows


def read_document():
    """The new document sent: (kind, header values, lines, issue?). There is no number to send:
    a document gets the next of its series when it is issued."""
    doc = read_body(DocumentCreate)
    sent = doc.model_fields_set
    settings = Settings.get_solo()
    conflicts = Conflicts()
    contact = conflicts.row(Contact, doc.contact_id, "contact_id", "contact")
    found = _line_references(doc.lines, conflicts)
    conflicts.check()
    today = datetime.date.today()
    header = {"contact": contact, "issue_date": doc.issue_date or today, "reference": doc.reference or "",
              "notes": doc.notes or "", "terms": settings.default_terms if doc.terms is None else doc.terms,
              "currency": doc.currency or contact.currency or settings.default_currency}
    if doc.kind == QUOTE:
        later = "valid_until"
        header[later] = doc.valid_until if later in sent else \
            today + datetime.timedelta(days=settings.quote_validity_days)
    else:
        later = "due_date"   # null: none; left out: the payment terms for an invoice
        header[later] = doc.due_date if later in sent else \
            today + datetime.timedelta(days=settings.payment_terms_days) if doc.kind == INVOICE else None
    if header[later] and header[later] < header["issue_date"]:
        conflicts.add("date_before_issue", later, "This date cannot be before the issue date.")
    if doc.kind == ORDER:
        header["shipping_address"] = doc.shipping_address if doc.shipping_address is not None else \
            contact.shipping_address or contact.billing_address
    rows = _line_values(found, header["currency"], conflicts)
    conflicts.check()
    totals = documents.totals(rows)
    amounts = [totals["total"], totals["subtotal"]] + [t[3] for t in totals["taxes"]]
    if max(abs(a) for a in amounts) >= money.MAX_AMOUNT:
        conflicts.add("amount_too_large", "lines", "The document's total is too large.")
    conflicts.check()
    return doc.kind, header, rows, bool(doc.issue)


def _updated(doc):
    return jsonify(serializers.document(Document.get_by_id(doc.id)))


@bp.post("/documents")
@idempotent
def create_document():
    """Create an invoice, quote or sales order with its lines (a draft, or issued at once)."""
    kind, header, rows, issue = read_document()
    try:
        doc = documents.create(kind, header, rows, By(api_token=g.api_token), issue_now=issue)
    except Refused as exc:
        raise from_refusal(exc) from None
    return _created(serializers.document(Document.get_by_id(doc.id)), url_for("api.get_document", doc_id=doc.id))


# --- changing status ------------------------------------------------------------------------

@bp.post("/documents/<int:doc_id>/issue")
def issue_document(doc_id):
    """Issue a draft: it becomes open and visible to the contact."""
    doc = fetch(Document, doc_id, "document")
    try:
        documents.issue(doc, By(api_token=g.api_token))
    except Refused as exc:
        raise from_refusal(exc) from None
    return _updated(doc)


@bp.post("/documents/<int:doc_id>/void")
def void_document(doc_id):
    """Void an invoice or quote (a draft or an open one without payments)."""
    doc = fetch(Document, doc_id, "document")
    try:
        documents.void(doc, By(api_token=g.api_token))
    except Refused as exc:
        raise from_refusal(exc) from None
    return _updated(doc)


# --- payments and comments on a document ----------------------------------------------------

@bp.post("/documents/<int:doc_id>/payments")
@idempotent
def record_payment(doc_id):
    """Record a payment received outside the portal (transfer, cash...)."""
    doc = fetch(Document, doc_id, "document")
    body = read_body(PaymentCreate)
    amount, paid_on, note = body.amount, body.paid_on or datetime.date.today(), body.note or ""
    try:
        payment = documents.record_manual_payment(doc, amount, paid_on, note, By(api_token=g.api_token))
    except Refused as exc:
        raise from_refusal(exc) from None
    return _created(serializers.payment(payment), url_for("api.get_payment", payment_id=payment.id))


@bp.post("/documents/<int:doc_id>/comments")
@idempotent
def post_comment(doc_id):
    """Post a comment as the business; its author is the token's name. The contact's people
    are mailed, as for a comment written in the back-office."""
    doc = fetch(Document, doc_id, "document")
    text = read_body(CommentCreate).body
    comment = comments.post_by_business(doc, text, author_name=g.api_token.name)
    return _created(serializers.comment(comment), url_for("api.get_document", doc_id=doc.id))
