"""The OpenAPI 3.1 description of /api/v1, built from small helpers so each operation reads as
one line per fact. tests/test_api_spec.py checks that it names every API route with its methods
and nothing else; tests/test_api_schemathesis.py checks that the answers match it."""
from flask import current_app

from ..config import LANGUAGES
from ..models import GATEWAYS, KINDS, MAX_STOCK, ORDER, STATUSES, TRANSITIONS, WEBHOOK_EVENTS

MAX_ID = 2 ** 31 - 1
MAX_AMOUNT = 10 ** 13 - 1


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema):
    schema = dict(schema)
    schema["type"] = [schema["type"], "null"]
    return schema


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
WHEN = {"type": "string", "format": "date-time"}
DAY = {"type": "string", "format": "date"}
MONEY = {"type": "integer", "description": "Minor units of the currency (1250 = 12.50 EUR)."}
CURRENCY = {"type": "string", "minLength": 3, "maxLength": 3, "description": "ISO 4217 code."}
BP = {"type": "integer", "minimum": 0, "maximum": 10000, "description": "Basis points: 2100 = 21 %."}


def _obj(properties, required=(), additional=True, description=None):
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if not additional:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


def _text(max_length, multiline=False):
    schema = {"type": "string", "maxLength": max_length}
    if not multiline:
        schema["pattern"] = r"^[^\r\n\x00]*$"
    return schema


def _list_of(name):
    return _obj({"data": {"type": "array", "items": _ref(name)},
                 "next_cursor": _nullable({"type": "string", "description": "Pass as `cursor` for the next page."})},
                required=("data", "next_cursor"))


def _schemas():
    order_statuses = sorted(TRANSITIONS[ORDER])
    contact_props = {
        "kind": {"type": "string", "enum": ["company", "person"]}, "name": _text(200),
        "tax_id": _text(40), "email": {"type": "string", "maxLength": 254}, "phone": _text(40),
        "billing_address": _text(1000, True), "shipping_address": _text(1000, True),
        "language": {"type": "string", "enum": [""] + list(LANGUAGES)},
        "currency": {"type": "string", "maxLength": 3, "description": "ISO 4217, or empty for the business default."},
        "payment_methods": {"type": "array", "items": {"type": "string", "enum": list(GATEWAYS)}},
        "portal_enabled": BOOL, "catalog_enabled": BOOL, "discount_bp": BP,
        "notes": _text(5000, True), "archived": BOOL}
    person_props = {"name": _text(200), "email": {"type": "string", "maxLength": 254},
                    "language": {"type": "string", "enum": [""] + list(LANGUAGES)}, "active": BOOL}
    line_in = _obj({
        "description": _text(2000, True),
        "quantity": {"type": "number", "exclusiveMinimum": 0, "maximum": 10_000_000,
                     "description": "Up to 3 decimals; default 1."},
        "unit_price": {"type": "integer", "minimum": -MAX_AMOUNT, "maximum": MAX_AMOUNT,
                       "description": "Minor units, before tax; default: the product's price."},
        "discount_bp": BP,
        "tax_ids": {"type": "array", "maxItems": 20, "items": ID,
                    "description": "Tax rates (GET /tax-rates); default: the product's."},
        "product_id": ID, "sku": _text(60)}, additional=False)
    document_summary = {
        "id": INT, "kind": {"type": "string", "enum": list(KINDS)},
        "number": {"type": ["string", "null"], "description": "Given when the document is issued; null on a draft."},
        "status": {"type": "string", "enum": list(STATUSES)}, "contact_id": INT,
        "issue_date": DAY, "due_date": _nullable(DAY), "valid_until": _nullable(DAY),
        "currency": STR, "reference": STR, "subtotal": MONEY, "tax_total": MONEY, "total": MONEY,
        "amount_paid": MONEY, "amount_due": MONEY, "overdue": BOOL, "expired": BOOL, "version": INT,
        "source_id": _nullable(INT), "created_at": WHEN, "updated_at": WHEN,
        "issued_at": _nullable(WHEN),
        "portal_url": {"type": "string", "format": "uri", "description": "The document in the portal."},
        "pdf_url": {"type": "string", "format": "uri", "description": "Its PDF (for a signed-in person)."}}
    line_out = _obj({"id": INT, "position": INT, "product_id": _nullable(INT), "description": STR,
                     "quantity": {"type": "number"}, "unit_price": MONEY, "discount_bp": INT, "net": MONEY,
                     "taxes": {"type": "array", "items": _obj({"name": STR, "rate_bp": INT}, ("name", "rate_bp"))}},
                    required=("id", "description", "quantity", "unit_price", "discount_bp", "net", "taxes"))
    document_full = dict(document_summary)
    document_full.update({
        "notes": STR, "terms": STR, "shipping_address": STR,
        "lines": {"type": "array", "items": line_out},
        "taxes": {"type": "array", "items": _obj({"name": STR, "rate_bp": INT, "base": MONEY, "amount": MONEY},
                                                 ("name", "rate_bp", "base", "amount"))},
        "payments": {"type": "array", "items": _ref("Payment")},
        "comments": {"type": "array", "items": _ref("Comment")},
        "decision": {"oneOf": [_ref("QuoteDecision"), {"type": "null"}]}})
    return {
        "Error": _obj({"error": _obj({
            "code": {"type": "string", "description": "Stable machine-readable code."},
            "message": STR,
            "fields": {"type": "object", "additionalProperties": STR,
                       "description": "One message per invalid field (lines[0].unit_price for a line)."}},
            ("code", "message", "fields"))}, ("error",)),
        "Contact": _obj(dict(contact_props, id=INT, created_at=WHEN, email=STR, language=STR, currency=STR,
                             payment_methods={"type": "array", "items": STR}),
                        required=("id", "name", "kind", "portal_enabled", "payment_methods", "created_at")),
        "ContactCreate": _obj(contact_props, required=("name",), additional=False),
        "ContactUpdate": _obj(contact_props, additional=False),
        "ContactList": _list_of("Contact"),
        "Person": _obj({"id": INT, "contact_id": INT, "name": STR, "email": STR, "active": BOOL,
                        "has_password": BOOL, "language": STR, "created_at": WHEN,
                        "last_login_at": _nullable(WHEN)}, ("id", "contact_id", "name", "email", "active")),
        "PersonCreate": _obj(person_props, required=("name", "email"), additional=False),
        "PersonUpdate": _obj(person_props, additional=False),
        "PersonList": _list_of("Person"),
        "AccessLinkCreate": _obj({"person_id": ID}, ("person_id",), additional=False),
        "AccessLink": _obj({"url": {"type": "string", "format": "uri"}, "expires_at": WHEN, "person_id": INT},
                           ("url", "expires_at", "person_id"),
                           description="Single use, time-limited; the business sends it to the person."),
        "DocumentSummary": _obj(document_summary, required=("id", "kind", "number", "status", "total",
                                                             "portal_url", "pdf_url")),
        "Document": _obj(document_full, required=("id", "kind", "number", "status", "total", "lines",
                                                   "payments", "comments", "decision", "portal_url", "pdf_url")),
        "DocumentList": _list_of("DocumentSummary"),
        "LineCreate": line_in,
        "DocumentCreate": _obj({
            "kind": {"type": "string", "enum": list(KINDS)}, "contact_id": ID,
            "issue_date": DAY, "due_date": DAY, "valid_until": DAY, "currency": CURRENCY,
            "reference": _text(80), "notes": _text(10000, True), "terms": _text(10000, True),
            "shipping_address": _text(1000, True),
            "lines": {"type": "array", "minItems": 1, "maxItems": 200, "items": _ref("LineCreate")},
            "issue": {"type": "boolean", "description": "Issue it at once (default: a draft)."}},
            required=("kind", "contact_id", "lines"), additional=False,
            description="Totals are computed by the server; sending one is refused."),
        "Payment": _obj({"id": INT, "document_id": INT, "gateway": STR, "amount": MONEY, "currency": STR,
                         "status": STR, "provider_ref": STR, "method_note": STR, "flagged": BOOL,
                         "flag_reason": STR, "paid_at": _nullable(WHEN), "created_at": WHEN},
                        ("id", "document_id", "gateway", "amount", "currency", "status")),
        "PaymentCreate": _obj({"amount": {"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT},
                               "paid_on": DAY, "note": _text(200)}, ("amount",), additional=False),
        "PaymentList": _list_of("Payment"),
        "Comment": _obj({"id": INT, "document_id": INT, "author_name": STR,
                         "author_type": {"type": "string", "enum": ["person", "staff"]},
                         "person_id": _nullable(INT), "body": STR, "created_at": WHEN},
                        ("id", "document_id", "author_name", "author_type", "body", "created_at")),
        "CommentCreate": _obj({"body": {"type": "string", "minLength": 1, "maxLength": 5000, "pattern": r"\S"}},
                              ("body",), additional=False),
        "CommentList": _list_of("Comment"),
        "QuoteDecision": _obj({"id": INT, "document_id": INT,
                               "decision": {"type": "string", "enum": ["accepted", "declined"]},
                               "person_id": _nullable(INT), "signer_name": STR, "po_reference": STR,
                               "reason": STR, "ip": STR, "document_version": INT, "document_hash": STR,
                               "created_at": WHEN}, ("id", "document_id", "decision", "created_at")),
        "QuoteDecisionList": _list_of("QuoteDecision"),
        "OrderStatusChange": _obj({"status": {"type": "string", "enum": order_statuses}}, ("status",),
                                  additional=False),
        "Product": _obj({"id": INT, "sku": STR, "name": STR, "description": STR, "category_id": _nullable(INT),
                         "price": MONEY, "currency": STR, "track_stock": BOOL, "stock": INT, "active": BOOL,
                         "visible": BOOL, "tax_ids": {"type": "array", "items": INT}, "updated_at": WHEN},
                        ("id", "sku", "name", "price", "currency", "stock", "tax_ids")),
        "ProductCreate": _obj(_product_props(True), ("sku", "name", "price"), additional=False),
        "ProductUpdate": _obj(_product_props(False), additional=False),
        "ProductList": _list_of("Product"),
        "StockAdjustment": _obj({"delta": {"type": "integer", "minimum": -MAX_STOCK, "maximum": MAX_STOCK,
                                           "not": {"const": 0}},
                                 "reason": _text(200)}, ("delta",), additional=False),
        "Category": _obj({"id": INT, "name": STR, "parent_id": _nullable(INT), "position": INT},
                         ("id", "name", "parent_id", "position")),
        "CategoryCreate": _obj(_category_props(), ("name",), additional=False),
        "CategoryUpdate": _obj(_category_props(), additional=False),
        "CategoryList": _list_of("Category"),
        "TaxRate": _obj({"id": INT, "name": STR, "rate_bp": INT, "active": BOOL, "is_default": BOOL},
                        ("id", "name", "rate_bp", "active")),
        "TaxRateList": _list_of("TaxRate"),
    }


def _product_props(creating):
    props = {"sku": _text(60), "name": _text(200), "description": _text(5000, True),
             "category_id": _nullable(ID), "price": {"type": "integer", "minimum": 0, "maximum": MAX_AMOUNT},
             "currency": CURRENCY, "track_stock": BOOL, "active": BOOL, "visible": BOOL,
             "tax_ids": {"type": "array", "maxItems": 20, "items": ID}}
    if creating:
        props["stock"] = {"type": "integer", "minimum": 0, "maximum": MAX_STOCK}
    return props


def _category_props():
    return {"name": _text(120), "parent_id": _nullable(ID),
            "position": {"type": "integer", "minimum": 0, "maximum": 1_000_000}}


# --- operations -----------------------------------------------------------------------------

def _error(description):
    return {"description": description,
            "content": {"application/json": {"schema": _ref("Error")}}}


ERRORS = {
    "400": _error("Malformed JSON, a bad query parameter or a bad Idempotency-Key."),
    "401": _error("No valid API token."),
    "403": _error("The token is read-only."),
    "404": _error("No such resource."),
    "409": _error("Conflicts with the current state (a taken number, a status that does not allow it)."),
    "422": _error("Invalid fields (one message per field), or an Idempotency-Key reused with another request."),
    "429": _error("Too many requests for this token; see Retry-After."),
}


def _json(schema_name, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": _ref(schema_name)}}}


def _path_params(path):
    import re
    return [{"name": name, "in": "path", "required": True, "schema": ID}
            for name in re.findall(r"{(\w+)}", path)]


IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "description": "Retries with the same key get the first answer; reusing it for another "
                              "request is a 422. Kept 24 hours.",
               "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"}}


def _op(path, summary, ok, status="200", body=None, query=(), idempotent=False, errors=()):
    op = {"summary": summary, "operationId": None,
          "parameters": _path_params(path) + list(query),
          "responses": {status: _json(ok, "Created" if status == "201" else "OK")}}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    if idempotent:
        op["parameters"].append(IDEMPOTENCY)
    codes = ["400", "401", "429"] + list(errors)
    if "{" in path:
        codes.append("404")
    if body or status == "201" or idempotent:
        codes += ["403", "409", "422"]
    for code in sorted(set(codes)):
        op["responses"][code] = ERRORS[code]
    if not op["parameters"]:
        del op["parameters"]
    return op


def _pdf_op():
    """The PDF download: a binary answer, with the document's strong ETag."""
    op = _op("/documents/{doc_id}/pdf", "Download the PDF (an issued document as it was issued)", "Document")
    op["responses"]["200"] = {"description": "The PDF, in the contact's language.",
                              "headers": {"ETag": {"schema": {"type": "string"}}},
                              "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
    op["responses"]["304"] = {"description": "Not modified (If-None-Match matched the ETag)."}
    return op


def _q(name, schema, description=None):
    param = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


PAGE = [_q("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "Page size (default 50)."),
        _q("cursor", {"type": "string", "maxLength": 40}, "next_cursor of the previous page.")]


def _enum(values):
    return {"type": "string", "enum": list(values)}


def _paths():
    bool_q = {"type": "boolean"}
    post_only = ["403", "409", "422"]
    paths = {
        "/contacts": {
            "get": _op("/contacts", "List contacts", "ContactList", query=[
                _q("q", {"type": "string", "maxLength": 100}, "Part of the name, email or tax id."),
                _q("email", {"type": "string", "maxLength": 254}), _q("portal_enabled", bool_q),
                _q("archived", bool_q)] + PAGE),
            "post": _op("/contacts", "Create a contact", "Contact", "201", "ContactCreate", idempotent=True)},
        "/contacts/{contact_id}": {
            "get": _op("/contacts/{contact_id}", "Read a contact", "Contact"),
            "patch": _op("/contacts/{contact_id}", "Change a contact (portal access, payment methods...)",
                         "Contact", body="ContactUpdate")},
        "/contacts/{contact_id}/people": {
            "get": _op("/contacts/{contact_id}/people", "List the people who sign in for a contact",
                       "PersonList", query=PAGE),
            "post": _op("/contacts/{contact_id}/people", "Add a person", "Person", "201", "PersonCreate",
                        idempotent=True)},
        "/contacts/{contact_id}/people/{person_id}": {
            "get": _op("/contacts/{contact_id}/people/{person_id}", "Read a person", "Person"),
            "patch": _op("/contacts/{contact_id}/people/{person_id}", "Change a person", "Person",
                         body="PersonUpdate")},
        "/contacts/{contact_id}/access-links": {
            "post": _op("/contacts/{contact_id}/access-links",
                        "Issue a portal access link (not idempotent: each call cancels older unused links)",
                        "AccessLink", "201", "AccessLinkCreate")},
        "/documents": {
            "get": _op("/documents", "List documents", "DocumentList", query=[
                _q("kind", _enum(KINDS)), _q("status", _enum(STATUSES)), _q("contact_id", ID),
                _q("number", {"type": "string", "maxLength": 40}), _q("issued_from", DAY),
                _q("issued_to", DAY)] + PAGE),
            "post": _op("/documents", "Create an invoice, quote or sales order with its lines",
                        "Document", "201", "DocumentCreate", idempotent=True)},
        "/documents/{doc_id}": {
            "get": _op("/documents/{doc_id}", "Read a document with payments, comments and decision", "Document")},
        "/documents/{doc_id}/pdf": {"get": _pdf_op()},
        "/documents/{doc_id}/issue": {
            "post": _op("/documents/{doc_id}/issue", "Issue a draft", "Document", errors=post_only)},
        "/documents/{doc_id}/void": {
            "post": _op("/documents/{doc_id}/void", "Void an invoice or quote", "Document", errors=post_only)},
        "/documents/{doc_id}/payments": {
            "post": _op("/documents/{doc_id}/payments", "Record a manual payment", "Payment", "201",
                        "PaymentCreate", idempotent=True)},
        "/documents/{doc_id}/comments": {
            "post": _op("/documents/{doc_id}/comments", "Comment as the business (author: the token's name)",
                        "Comment", "201", "CommentCreate", idempotent=True)},
        "/payments": {
            "get": _op("/payments", "List payments", "PaymentList", query=[
                _q("document_id", ID), _q("contact_id", ID),
                _q("status", _enum(("pending", "succeeded", "failed", "cancelled", "refunded"))),
                _q("gateway", _enum(("manual",) + GATEWAYS))] + PAGE)},
        "/payments/{payment_id}": {"get": _op("/payments/{payment_id}", "Read a payment", "Payment")},
        "/comments": {
            "get": _op("/comments", "List comments", "CommentList", query=[
                _q("document_id", ID), _q("contact_id", ID), _q("author_type", _enum(("person", "staff")))] + PAGE)},
        "/quote-decisions": {
            "get": _op("/quote-decisions", "List quote acceptances and refusals", "QuoteDecisionList", query=[
                _q("document_id", ID), _q("decision", _enum(("accepted", "declined")))] + PAGE)},
        "/orders": {
            "get": _op("/orders", "List sales orders", "DocumentList", query=[
                _q("status", _enum(sorted(TRANSITIONS[ORDER]))), _q("contact_id", ID)] + PAGE)},
        "/orders/{order_id}/status": {
            "post": _op("/orders/{order_id}/status", "Move an order to another state", "Document",
                        body="OrderStatusChange")},
        "/products": {
            "get": _op("/products", "List products", "ProductList", query=[
                _q("q", {"type": "string", "maxLength": 100}), _q("sku", {"type": "string", "maxLength": 60}),
                _q("category_id", ID), _q("active", bool_q)] + PAGE),
            "post": _op("/products", "Create a product", "Product", "201", "ProductCreate", idempotent=True)},
        "/products/{product_id}": {
            "get": _op("/products/{product_id}", "Read a product", "Product"),
            "patch": _op("/products/{product_id}", "Change a product", "Product", body="ProductUpdate")},
        "/products/{product_id}/stock-adjustments": {
            "post": _op("/products/{product_id}/stock-adjustments", "Add to or take from the stock",
                        "Product", body="StockAdjustment", idempotent=True)},
        "/categories": {
            "get": _op("/categories", "List categories", "CategoryList", query=[_q("parent_id", ID)] + PAGE),
            "post": _op("/categories", "Create a category", "Category", "201", "CategoryCreate", idempotent=True)},
        "/categories/{category_id}": {
            "get": _op("/categories/{category_id}", "Read a category", "Category"),
            "patch": _op("/categories/{category_id}", "Rename or move a category", "Category",
                         body="CategoryUpdate")},
        "/tax-rates": {
            "get": _op("/tax-rates", "List tax rates", "TaxRateList", query=[_q("active", bool_q)] + PAGE)},
    }
    for path, methods in paths.items():
        for method, op in methods.items():
            op["operationId"] = method + "".join(
                part.strip("{}").replace("-", "_").title().replace("_", "") for part in path.split("/"))
    paths["/openapi.json"] = {"get": {
        "summary": "This description", "operationId": "getOpenapi", "security": [],
        "responses": {"200": {"description": "OpenAPI 3.1",
                              "content": {"application/json": {"schema": {"type": "object"}}}},
                      "429": ERRORS["429"]}}}
    return paths


def spec():
    """The OpenAPI document, with the server URL from BASE_URL."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Customer portal API", "version": "1",
                 "description": "Bearer-token REST API for the business's own software. Money is integer "
                                "minor units with an ISO 4217 currency; rates and discounts are basis points. "
                                "Lists are newest first with cursor pagination. Webhook events: "
                                + ", ".join(WEBHOOK_EVENTS) + " (see README: signature scheme)."},
        "servers": [{"url": current_app.config["BASE_URL"] + "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": _schemas()},
        "paths": _paths(),
    }
