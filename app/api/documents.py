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
from ..web.downloads import pdf_response
from ..models import INVOICE, KINDS, ORDER, QUOTE, STATUSES, Contact, Document, Product, Settings, TaxRate
from . import bp
from .errors import from_refusal
from .idempotency import idempotent
from .validation import Body, Query, fetch, json_body, reference

DOCUMENT_FIELDS = ("kind", "contact_id", "issue_date", "due_date", "valid_until", "currency",
                   "reference", "notes", "terms", "shipping_address", "lines", "issue")
LINE_FIELDS = ("description", "quantity", "unit_price", "discount_bp", "tax_ids", "product_id", "sku")


def _created(payload, location):
    response = jsonify(payload)
    response.status_code = 201
    response.headers["Location"] = location
    return response


# --- reading --------------------------------------------------------------------------------

@bp.get("/documents")
def list_documents():
    """List documents, newest first, by kind, status, contact, number and issue dates."""
    query = Query(("kind", "status", "contact_id", "number", "issued_from", "issued_to"))
    kind, status = query.choice("kind", KINDS), query.choice("status", tuple(STATUSES))
    contact_id, number = query.integer("contact_id"), query.string("number", 40)
    issued_from, issued_to = query.date("issued_from"), query.date("issued_to")
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
    return jsonify(query.page(rows, Document.id, serializers.document_summary))


@bp.get("/documents/<int:doc_id>")
def get_document(doc_id):
    """Read a document with its lines, taxes, payments, comments and quote decision."""
    return jsonify(serializers.document(fetch(Document, doc_id, "document")))


@bp.get("/documents/<int:doc_id>/pdf")
def get_document_pdf(doc_id):
    """Download a document's PDF, in its contact's language (an issued one as it was issued)."""
    doc = fetch(Document, doc_id, "document")
    return pdf_response(doc, recipient_language(contact=doc.contact))


# --- creating -------------------------------------------------------------------------------

def read_lines(body, currency):
    """Parse `lines` into documents.Line values."""
    data = body.data.get("lines")
    if not isinstance(data, list) or not data:
        body.error("lines", "Send at least one line.")
        return []
    if len(data) > documents.MAX_LINES:
        body.error("lines", f"A document can have at most {documents.MAX_LINES} lines.")
        return []
    taxes_by_id = {t.id: t for t in TaxRate.select()}
    rows = []
    for index, item in enumerate(data):
        prefix = f"lines[{index}]."
        if not isinstance(item, dict):
            body.error(f"lines[{index}]", "Each line is an object.")
            continue
        line = Body(item, LINE_FIELDS, prefix=prefix)
        product = reference(line, "product_id", Product, "product")
        sku = line.string("sku", max_length=60, default=None)
        if sku and product is None and "product_id" not in line.errors:
            product = Product.get_or_none(Product.sku == sku)
            if product is None:
                line.error("sku", "No product has this SKU.")
        description = line.string("description", max_length=2000, multiline=True, default=None,
                                  required=product is None)
        if product is not None and not description:
            description = product.name
        quantity = line.quantity("quantity", required=True) if line.has("quantity") else 1000
        price = line.integer("unit_price", required=product is None or product.currency != currency,
                             minimum=1 - money.MAX_AMOUNT, maximum=money.MAX_AMOUNT - 1)
        if price is None and product is not None and product.currency == currency:
            price = product.price
        discount = line.integer("discount_bp", minimum=0, maximum=10000, default=0)
        tax_ids = line.id_list("tax_ids")
        if tax_ids is None:
            tax_ids = sorted(product.tax_ids()) if product is not None and "tax_ids" not in line.errors else []
        chosen = []
        for tax_id in tax_ids:
            if tax_id not in taxes_by_id:
                line.error("tax_ids", f"No tax rate has the id {tax_id}.")
            else:
                chosen.append(taxes_by_id[tax_id])
        if len({t.name for t in chosen}) != len(chosen):
            line.error("tax_ids", "A line cannot carry the same tax twice.")
        if line.ok and abs(money.line_net(quantity, price, discount)) >= money.MAX_AMOUNT:
            line.error("unit_price", "This line's amount is too large.")
        body.errors.update(line.errors)
        if line.ok:
            rows.append(documents.Line(description=description, qty_milli=quantity, unit_price=price,
                                       discount_bp=discount, product=product,
                                       taxes=[(t.name, t.rate_bp) for t in chosen]))
    if body.ok:
        totals = documents.totals(rows)
        amounts = [totals["total"], totals["subtotal"]] + [t[3] for t in totals["taxes"]]
        if max(abs(a) for a in amounts) >= money.MAX_AMOUNT:
            body.error("lines", "The document's total is too large.")
    return rows


def read_document(data):
    """Validate a new document; returns (kind, header values, rows, issue?). There is no
    number to send: a document gets the next of its series when it is issued."""
    body = Body(data, DOCUMENT_FIELDS)
    settings = Settings.get_solo()
    kind = body.choice("kind", KINDS, required=True)
    contact = reference(body, "contact_id", Contact, "contact", required=True)
    today = datetime.date.today()
    issue_date = body.date("issue_date") or today
    header = {"contact": contact, "issue_date": issue_date,
              "reference": body.string("reference", max_length=80),
              "notes": body.string("notes", max_length=10000, multiline=True),
              "terms": body.string("terms", max_length=10000, multiline=True, default=settings.default_terms)}
    later = None
    if kind == QUOTE:
        if body.has("due_date"):
            body.error("due_date", "Quotes have valid_until, not a due date.")
        later = header["valid_until"] = body.date("valid_until") if body.has("valid_until") else \
            today + datetime.timedelta(days=settings.quote_validity_days)
    elif kind in (INVOICE, ORDER):
        if body.has("valid_until"):
            body.error("valid_until", "Only quotes have valid_until.")
        default_due = today + datetime.timedelta(days=settings.payment_terms_days) if kind == INVOICE else None
        later = header["due_date"] = body.date("due_date") if body.has("due_date") else default_due
    if later and later < issue_date:
        body.error("valid_until" if kind == QUOTE else "due_date", "This date cannot be before the issue date.")
    if kind == ORDER:
        header["shipping_address"] = body.string(
            "shipping_address", max_length=1000, multiline=True,
            default=(contact.shipping_address or contact.billing_address) if contact else "")
    elif body.has("shipping_address"):
        body.error("shipping_address", "Only sales orders have a shipping address.")
    currency = body.currency("currency", required=True) if body.has("currency") else \
        ((contact.currency if contact and contact.currency else settings.default_currency))
    header["currency"] = currency
    issue = body.boolean("issue", default=False)
    rows = read_lines(body, currency or settings.default_currency)
    body.done()
    return kind, header, rows, issue


def _updated(doc):
    return jsonify(serializers.document(Document.get_by_id(doc.id)))


@bp.post("/documents")
@idempotent
def create_document():
    """Create an invoice, quote or sales order with its lines (a draft, or issued at once)."""
    kind, header, rows, issue = read_document(json_body())
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
    body = Body(json_body(), ("amount", "paid_on", "note"))
    amount = body.amount("amount", required=True, minimum=1)
    paid_on = body.date("paid_on") or datetime.date.today()
    note = body.string("note", max_length=200)
    body.done()
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
    body = Body(json_body(), ("body",))
    text = body.string("body", required=True, max_length=5000, multiline=True)
    body.done()
    comment = comments.post_by_business(doc, text, author_name=g.api_token.name)
    return _created(serializers.comment(comment), url_for("api.get_document", doc_id=doc.id))
