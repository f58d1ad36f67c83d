"""The JSON Schema of what the API answers (app/serializers.py writes it), for the OpenAPI
description; what it accepts is declared in app/api/schemas.py."""
from ..models import KINDS, STATUSES, Activity
from .fields import CURSOR
from .schemas import PAYMENT_STATUSES


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema):
    schema = dict(schema)
    schema["type"] = [schema["type"], "null"]
    return schema


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
WHEN = {"type": "string", "format": "date-time"}
DAY = {"type": "string", "format": "date"}
MONEY = {"type": "integer", "description": "Minor units of the currency (1250 = 12.50 EUR)."}
CURRENCY = {"type": "string", "description": "ISO 4217 code."}
BP = {"type": "integer", "description": "Basis points: 2100 = 21 %."}


def _obj(properties, required=(), description=None):
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _list_of(name):
    return _obj({"data": {"type": "array", "items": ref(name)},
                 "next_cursor": _nullable({"type": "string", "pattern": f"^(?:{CURSOR})$",
                                           "description": "Pass as `cursor` for the next page."})},
                required=("data", "next_cursor"))


def schemas():
    """Response schemas by name, for components/schemas."""
    document_summary = {
        "id": INT, "kind": {"type": "string", "enum": list(KINDS)},
        "number": {"type": ["string", "null"], "description": "Given when the document is issued; null on a draft."},
        "status": {"type": "string", "enum": list(STATUSES)}, "contact_id": INT,
        "issue_date": DAY, "due_date": _nullable(DAY), "valid_until": _nullable(DAY),
        "currency": CURRENCY, "reference": STR, "subtotal": MONEY, "tax_total": MONEY, "total": MONEY,
        "amount_paid": MONEY,
        "amount_due": dict(MONEY, description="What the customer still owes: total − amount_credited − amount_paid, "
                                              "never below 0; always 0 on a credit note."),
        "amount_credited": dict(MONEY, description="Invoices: what issued credit notes took off."),
        "credit_balance": dict(MONEY, description="Invoices: what was paid beyond what credit notes left to pay, "
                                                  "owed back to the customer."),
        "reason": dict(STR, description="Credit notes: why the invoice is corrected."),
        "rectifies": {"oneOf": [_obj({"id": INT, "number": STR, "issue_date": DAY}, ("id", "number", "issue_date")),
                                {"type": "null"}],
                      "description": "Credit notes: the invoice corrected, as it was when the credit note was issued."},
        "overdue": BOOL, "expired": BOOL, "version": INT,
        "source_id": _nullable(INT), "created_at": WHEN, "updated_at": WHEN,
        "issued_at": _nullable(WHEN),
        "portal_url": {"type": "string", "format": "uri", "description": "The document in the portal."},
        "pdf_url": {"type": "string", "format": "uri", "description": "Its PDF (for a signed-in person)."}}
    line = _obj({"id": INT, "position": INT, "product_id": _nullable(INT), "description": STR,
                 "quantity": {"type": "number"}, "unit_price": MONEY, "discount_bp": BP, "net": MONEY,
                 "taxes": {"type": "array", "items": _obj({"name": STR, "rate_bp": INT}, ("name", "rate_bp"))}},
                required=("id", "description", "quantity", "unit_price", "discount_bp", "net", "taxes"))
    document = dict(document_summary)
    document.update({
        "notes": STR, "terms": STR, "shipping_address": STR,
        "lines": {"type": "array", "items": line},
        "taxes": {"type": "array", "items": _obj({"name": STR, "rate_bp": INT, "base": MONEY, "amount": MONEY},
                                                 ("name", "rate_bp", "base", "amount"))},
        "payments": {"type": "array", "items": ref("Payment")},
        "comments": {"type": "array", "items": ref("Comment")},
        "credit_notes": {"type": "array", "description": "Invoices: their issued credit notes, oldest first.",
                         "items": _obj({"id": INT, "number": STR, "issue_date": DAY, "total": MONEY, "reason": STR},
                                       ("id", "number", "issue_date", "total"))},
        "decision": {"oneOf": [ref("QuoteDecision"), {"type": "null"}]}})
    return {
        "Error": _obj({"error": _obj({
            "code": {"type": "string", "description": "Stable machine-readable code."},
            "message": STR,
            "fields": {"type": "object", "additionalProperties": STR,
                       "description": "One message per field concerned (lines[0].unit_price for a line)."}},
            ("code", "message", "fields"))}, ("error",)),
        "Contact": _obj({"id": INT, "kind": {"type": "string", "enum": ["company", "person"]}, "name": STR,
                         "tax_id": STR, "email": STR, "phone": STR, "billing_address": STR,
                         "shipping_address": STR, "language": STR, "currency": STR,
                         "payment_methods": {"type": "array", "items": STR}, "portal_enabled": BOOL,
                         "catalog_enabled": BOOL, "discount_bp": BP, "notes": STR, "archived": BOOL,
                         "created_at": WHEN},
                        required=("id", "name", "kind", "portal_enabled", "payment_methods", "created_at")),
        "ContactList": _list_of("Contact"),
        "Person": _obj({"id": INT, "contact_id": INT, "name": STR, "email": STR, "active": BOOL,
                        "has_password": BOOL, "language": STR, "created_at": WHEN,
                        "last_login_at": _nullable(WHEN)}, ("id", "contact_id", "name", "email", "active")),
        "PersonList": _list_of("Person"),
        "AccessLink": _obj({"url": {"type": "string", "format": "uri"}, "expires_at": WHEN, "person_id": INT},
                           ("url", "expires_at", "person_id"),
                           description="Single use, time-limited; the business sends it to the person."),
        "DocumentSummary": _obj(document_summary, required=("id", "kind", "number", "status", "total",
                                                             "portal_url", "pdf_url")),
        "Document": _obj(document, required=("id", "kind", "number", "status", "total", "lines",
                                             "payments", "comments", "decision", "portal_url", "pdf_url")),
        "DocumentList": _list_of("DocumentSummary"),
        "Payment": _obj({"id": INT, "document_id": INT, "gateway": STR, "amount": MONEY, "currency": STR,
                         "status": {"type": "string", "enum": list(PAYMENT_STATUSES),
                                    "description": "reversed: a manual payment taken back (reversed_at, "
                                                   "reversal_reason); refunded: given back in full."},
                         "provider_ref": STR, "method_note": STR, "flagged": BOOL,
                         "flag_reason": STR, "paid_at": _nullable(WHEN), "created_at": WHEN,
                         "amount_refunded": dict(MONEY, description="Given back through the gateway (refunds, "
                                                                    "chargebacks)."),
                         "refundable": dict(MONEY, description="What may still be refunded (online payments)."),
                         "reversed_at": _nullable(WHEN), "reversal_reason": STR,
                         "refunds": {"type": "array", "items": ref("Refund")}},
                        ("id", "document_id", "gateway", "amount", "currency", "status", "amount_refunded",
                         "refunds")),
        "Refund": _obj({"id": INT, "payment_id": INT, "kind": {"type": "string", "enum": ["refund", "chargeback"]},
                        "amount": MONEY, "currency": CURRENCY,
                        "status": {"type": "string", "enum": ["pending", "succeeded", "failed"]},
                        "reason": STR, "provider_ref": STR,
                        "origin": {"type": "string", "enum": ["staff", "api", "gateway"]},
                        "created_at": WHEN, "settled_at": _nullable(WHEN)},
                       ("id", "payment_id", "kind", "amount", "currency", "status", "origin", "created_at")),
        "AuditEntry": _obj({"id": INT, "document_id": INT,
                            "action": {"type": "string", "enum": list(Activity.AUDIT_ACTIONS)}, "at": WHEN,
                            "actor": _obj({"kind": {"type": "string",
                                                    "enum": ["staff", "api_token", "person", "gateway", "system"]},
                                           "id": _nullable(INT),
                                           "name": {"type": "string", "description": "The staff user's, token's or "
                                                    "person's name; the gateway's (stripe...); system."}},
                                          ("kind", "id", "name")),
                            "detail": STR,
                            "data": {"type": "object", "description": "What changed (amounts, status, ids)."}},
                           ("id", "document_id", "action", "at", "actor", "detail", "data")),
        "History": _obj({"data": {"type": "array", "items": ref("AuditEntry")}}, ("data",),
                        description="A document's audit trail, oldest first: issue, void, credit notes, "
                                    "payments, reversals, refunds, status moves."),
        "PaymentList": _list_of("Payment"),
        "Comment": _obj({"id": INT, "document_id": INT, "author_name": STR,
                         "author_type": {"type": "string", "enum": ["person", "staff"]},
                         "person_id": _nullable(INT), "body": STR, "created_at": WHEN},
                        ("id", "document_id", "author_name", "author_type", "body", "created_at")),
        "CommentList": _list_of("Comment"),
        "QuoteDecision": _obj({"id": INT, "document_id": INT,
                               "decision": {"type": "string", "enum": ["accepted", "declined"]},
                               "person_id": _nullable(INT), "signer_name": STR, "po_reference": STR,
                               "reason": STR, "ip": STR, "document_version": INT, "document_hash": STR,
                               "created_at": WHEN}, ("id", "document_id", "decision", "created_at")),
        "QuoteDecisionList": _list_of("QuoteDecision"),
        "Product": _obj({"id": INT, "sku": STR, "name": STR, "description": STR, "category_id": _nullable(INT),
                         "price": MONEY, "currency": STR, "track_stock": BOOL, "stock": INT, "active": BOOL,
                         "visible": BOOL, "tax_ids": {"type": "array", "items": INT}, "updated_at": WHEN},
                        ("id", "sku", "name", "price", "currency", "stock", "tax_ids")),
        "ProductList": _list_of("Product"),
        "Category": _obj({"id": INT, "name": STR, "parent_id": _nullable(INT), "position": INT},
                         ("id", "name", "parent_id", "position")),
        "CategoryList": _list_of("Category"),
        "TaxRate": _obj({"id": INT, "name": STR, "rate_bp": INT, "active": BOOL, "is_default": BOOL},
                        ("id", "name", "rate_bp", "active")),
        "TaxRateList": _list_of("TaxRate"),
        "Reminder": _obj({
            "id": INT, "document_id": INT, "contact_id": INT,
            "cause": {"type": "string", "enum": ["step", "listed", "manual"],
                      "description": "step: the invoice's schedule step came; listed: overdue, named in a "
                                     "reminder another invoice's step sent; manual: sent now by staff."},
            "step": dict(_nullable(INT), description="Days from the due date of the step sent (negative: "
                                                     "before); null unless cause is step."),
            "days_overdue": dict(INT, description="On the day sent; negative: days left until the due date."),
            "amount_due": MONEY, "currency": CURRENCY, "day": DAY,
            "manual": BOOL, "recipients": {"type": "array", "items": STR}, "sent_at": WHEN},
            ("id", "document_id", "contact_id", "cause", "step", "days_overdue", "amount_due", "currency",
             "day", "manual", "recipients", "sent_at"),
            description="A payment reminder as it named one invoice (webhook invoice.reminder_sent)."),
        **_statement(),
    }


def _statement():
    """The statement of account (app/statement.py's Statement.to_dict())."""
    from ..statement import BUCKETS, PRESETS
    entry = _obj({
        "date": DAY, "type": {"type": "string", "enum": ["invoice", "credit_note", "payment", "refund"]},
        "amount": dict(MONEY, description="What it does to the balance: positive raises what the customer owes "
                                          "(invoices, refunds), negative lowers it; 0 for a voided invoice."),
        "balance": dict(MONEY, description="The running balance after it."),
        "document_id": INT, "number": STR, "due_date": _nullable(DAY),
        "voided": dict(BOOL, description="A voided invoice: listed, never counted."),
        "total": dict(MONEY, description="Invoices: the total printed (also a voided one's)."),
        "payment_id": INT,
        "method": {"type": "string", "description": "manual, stripe, paypal, square; chargeback for money "
                                                    "returned by the customer's bank."},
        "documents": {"type": "array", "items": _obj({"id": INT, "number": STR}, ("id", "number")),
                      "description": "Payments and refunds: the invoices they were for."}},
        ("date", "type", "amount", "balance"))
    aging = _obj({**{name: MONEY for name in BUCKETS}, "total": MONEY}, BUCKETS + ("total",),
                 description="What invoices still asked for on as_of, by days past their due date.")
    currency = _obj({"currency": CURRENCY, "opening_balance": MONEY, "closing_balance": MONEY,
                     "invoiced": MONEY, "credited": MONEY, "paid": MONEY, "refunded": MONEY,
                     "entries": {"type": "array", "items": entry}, "aging": aging},
                    ("currency", "opening_balance", "closing_balance", "entries", "aging"))
    return {"Statement": _obj({
        "contact_id": INT, "from": DAY, "to": DAY,
        "period": {"type": "string", "enum": list(PRESETS) + ["custom"]},
        "as_of": dict(DAY, description="The day the aging is for: the period's end, or today if it ends later."),
        "currencies": {"type": "array", "items": currency}},
        ("contact_id", "from", "to", "period", "as_of", "currencies"),
        description="Per currency: the opening balance, every invoice, credit note, payment and refund of the "
                    "period in date order with the running balance, the closing balance, and the aging. A "
                    "negative balance is in the customer's favour.")}
