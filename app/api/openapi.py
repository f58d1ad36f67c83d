"""The OpenAPI 3.1 description of /api/v1, assembled here: request bodies and query parameters
from the pydantic models the views validate with (app/api/schemas.py), responses from
app/api/responses.py, one line per operation. tests/test_api_spec.py checks that it names every
API route with its methods and nothing else; tests/test_api_schemathesis.py checks that the
server accepts what it describes and answers as it says."""
import re

from flask import current_app
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from ..models import WEBHOOK_EVENTS
from . import responses, schemas
from .fields import MAX_ID
from .responses import ref

REF = "#/components/schemas/{model}"
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


class _Published(GenerateJsonSchema):
    """pydantic's JSON Schema as published: no titles made from field names, and no defaults
    (a `default: null` on a field that may not be null would be sent as a value by generators;
    each description says what leaving a field out means)."""

    def field_title_should_be_set(self, schema):
        return False

    def default_schema(self, schema):
        return self.generate_inner(schema["schema"])

    def model_schema(self, schema):
        out = super().model_schema(schema)
        out.pop("title", None)
        return out


def request_schemas():
    """The JSON Schema of every request body (and of what they refer to), by model name."""
    _, top = models_json_schema([(model, "validation") for model in schemas.BODIES],
                                ref_template=REF, schema_generator=_Published)
    return top["$defs"]


def query_parameters(model):
    """A query model's fields as OpenAPI parameters: the filters, then limit and cursor."""
    schema = model.model_json_schema(ref_template=REF, schema_generator=_Published)
    params = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        param = {"name": name, "in": "query", "required": False}
        if "description" in prop:
            param["description"] = prop.pop("description")
        params.append(dict(param, schema=prop))
    page = set(schemas.Page.model_fields)
    return [p for p in params if p["name"] not in page] + [p for p in params if p["name"] in page]


# --- operations -----------------------------------------------------------------------------

def _error(description):
    return {"description": description,
            "content": {"application/json": {"schema": ref("Error")}}}


ERRORS = {
    "400": _error("Malformed JSON, a query parameter its schema does not allow, or a bad Idempotency-Key."),
    "401": _error("No valid API token."),
    "403": _error("The token is read-only."),
    "404": _error("No such resource (the one in the path)."),
    "409": _error("The request is valid but the data, or a rule a schema cannot express, refuses it; "
                  "`code` says which: unknown_reference (an id or SKU in the body names nothing usable), "
                  "email_taken, sku_taken, date_before_issue, unit_price_required, "
                  "duplicate_tax, duplicate_tax_id (`allow_duplicate_tax_id: true` saves it anyway), "
                  "amount_too_large, over_amount_due, category_cycle, insufficient_stock, "
                  "not_creditable, over_credit, unknown_line, duplicate_line, bad_quantity, bad_price, "
                  "not_manual, not_reversible, not_online, not_refundable, over_refundable, "
                  "gateway_not_configured, a status that does not allow it...; `fields` names the inputs "
                  "concerned."),
    "422": _error("The body does not match its schema (one message per field), or an Idempotency-Key "
                  "reused with another request."),
    "429": _error("Too many requests for this token; see Retry-After."),
}

IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "description": "Retries with the same key get the first answer; reusing it for another "
                              "request is a 422. Kept 24 hours.",
               "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"}}


def _json(schema_name, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": ref(schema_name)}}}


def _path_params(path):
    return [{"name": name, "in": "path", "required": True, "schema": ID}
            for name in re.findall(r"{(\w+)}", path)]


def _op(path, summary, ok, status="200", body=None, query=None, idempotent=False, errors=()):
    op = {"summary": summary, "operationId": None,
          "parameters": _path_params(path) + (query_parameters(query) if query else []),
          "responses": {status: _json(ok, "Created" if status == "201" else "OK")}}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body.__name__)}}}
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


def _einvoice_op():
    """The e-invoice download: the XML an issued invoice's or credit note's PDF carries."""
    op = _op("/documents/{doc_id}/einvoice.xml",
             "Download the e-invoice (UN/CEFACT CII, EN 16931; the XML its Factur-X PDF carries)", "Document")
    op["responses"]["200"] = {"description": "The XML. A quote, an order or a draft has none (404).",
                              "content": {"application/xml": {"schema": {"type": "string"}}}}
    return op


def _refund_op():
    """Refunds: the Idempotency-Key is the refund's own key, kept for good, and a gateway that
    refuses is a 502."""
    op = _op("/payments/{payment_id}/refunds", "Refund an online payment through its gateway, fully or partly",
             "Refund", "201", schemas.RefundCreate, idempotent=True)
    op["description"] = ("The answer is the refund: succeeded, or pending until the gateway confirms it (a "
                         "payment.refunded webhook follows). With an Idempotency-Key, the key becomes the "
                         "refund's own and is sent to the gateway: a retry, however late, answers with the "
                         "same refund and never refunds twice. Manual payments are reversed instead.")
    op["parameters"] = [dict(p, description="The refund's key, kept for good: a retry with it never refunds "
                                            "twice; reusing it for another request is a 422.")
                        if p["name"] == IDEMPOTENCY["name"] else p for p in op["parameters"]]
    op["responses"]["502"] = _error("The gateway refused or failed the refund (`message` says why); the "
                                    "refund is kept, failed. Retry with a new Idempotency-Key.")
    return op


def _statement_ops():
    """The statement of account of a contact: JSON, and its PDF."""
    path = "/contacts/{contact_id}/statement"
    json_op = _op(path, "Read a contact's statement of account for a period", "Statement",
                  query=schemas.StatementQuery, errors=["409"])
    pdf_op = _op(path + ".pdf", "Download a contact's statement of account as a PDF", "Statement",
                 query=schemas.StatementQuery, errors=["409"])
    pdf_op["responses"]["200"] = {"description": "The PDF, in the contact's language.",
                                  "headers": {"ETag": {"schema": {"type": "string"}}},
                                  "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
    pdf_op["responses"]["304"] = {"description": "Not modified (If-None-Match matched the ETag)."}
    return {path: {"get": json_op}, path + ".pdf": {"get": pdf_op}}


def _paths():
    s = schemas
    post_only = ["403", "409", "422"]
    people, person = "/contacts/{contact_id}/people", "/contacts/{contact_id}/people/{person_id}"
    paths = {
        "/contacts": {
            "get": _op("/contacts", "List contacts", "ContactList", query=s.ContactQuery),
            "post": _op("/contacts", "Create a contact", "Contact", "201", s.ContactCreate, idempotent=True)},
        "/contacts/{contact_id}": {
            "get": _op("/contacts/{contact_id}", "Read a contact", "Contact"),
            "patch": _op("/contacts/{contact_id}", "Change a contact (portal access, payment methods...)",
                         "Contact", body=s.ContactUpdate)},
        people: {
            "get": _op(people, "List the people who sign in for a contact", "PersonList", query=s.Page),
            "post": _op(people, "Add a person", "Person", "201", s.PersonCreate, idempotent=True)},
        person: {
            "get": _op(person, "Read a person", "Person"),
            "patch": _op(person, "Change a person", "Person", body=s.PersonUpdate)},
        "/contacts/{contact_id}/access-links": {
            "post": _op("/contacts/{contact_id}/access-links",
                        "Issue a portal access link (not idempotent: each call cancels older unused links)",
                        "AccessLink", "201", s.AccessLinkCreate)},
        "/documents": {
            "get": _op("/documents", "List documents", "DocumentList", query=s.DocumentQuery),
            "post": _op("/documents", "Create an invoice, quote or sales order with its lines",
                        "Document", "201", s.DocumentCreate, idempotent=True)},
        "/documents/{doc_id}": {
            "get": _op("/documents/{doc_id}", "Read a document with payments, comments and decision", "Document")},
        "/documents/{doc_id}/pdf": {"get": _pdf_op()},
        "/documents/{doc_id}/einvoice.xml": {"get": _einvoice_op()},
        "/documents/{doc_id}/issue": {
            "post": _op("/documents/{doc_id}/issue", "Issue a draft", "Document", errors=post_only)},
        "/documents/{doc_id}/void": {
            "post": _op("/documents/{doc_id}/void", "Void an invoice or quote", "Document", errors=post_only)},
        "/documents/{doc_id}/payments": {
            "post": _op("/documents/{doc_id}/payments", "Record a manual payment", "Payment", "201",
                        s.PaymentCreate, idempotent=True)},
        "/documents/{doc_id}/credit-notes": {
            "post": _op("/documents/{doc_id}/credit-notes",
                        "Issue a credit note against an issued invoice (some lines, or full: true)",
                        "Document", "201", s.CreditNoteCreate, idempotent=True)},
        "/documents/{doc_id}/history": {
            "get": _op("/documents/{doc_id}/history", "Read the audit trail of a document", "History")},
        "/documents/{doc_id}/comments": {
            "post": _op("/documents/{doc_id}/comments", "Comment as the business (author: the token's name)",
                        "Comment", "201", s.CommentCreate, idempotent=True)},
        "/payments": {"get": _op("/payments", "List payments", "PaymentList", query=s.PaymentQuery)},
        "/payments/{payment_id}": {"get": _op("/payments/{payment_id}", "Read a payment", "Payment")},
        "/payments/{payment_id}/reverse": {
            "post": _op("/payments/{payment_id}/reverse", "Reverse a manual payment (its document owes it again)",
                        "Payment", body=s.PaymentReversal, idempotent=True)},
        "/payments/{payment_id}/refunds": {"post": _refund_op()},
        "/comments": {"get": _op("/comments", "List comments", "CommentList", query=s.CommentQuery)},
        "/quote-decisions": {
            "get": _op("/quote-decisions", "List quote acceptances and refusals", "QuoteDecisionList",
                       query=s.DecisionQuery)},
        "/orders": {"get": _op("/orders", "List sales orders", "DocumentList", query=s.OrderQuery)},
        "/orders/{order_id}/status": {
            "post": _op("/orders/{order_id}/status", "Move an order to another state", "Document",
                        body=s.OrderStatusChange)},
        "/products": {
            "get": _op("/products", "List products", "ProductList", query=s.ProductQuery),
            "post": _op("/products", "Create a product", "Product", "201", s.ProductCreate, idempotent=True)},
        "/products/{product_id}": {
            "get": _op("/products/{product_id}", "Read a product", "Product"),
            "patch": _op("/products/{product_id}", "Change a product", "Product", body=s.ProductUpdate)},
        "/products/{product_id}/stock-adjustments": {
            "post": _op("/products/{product_id}/stock-adjustments", "Add to or take from the stock",
                        "Product", body=s.StockAdjustment, idempotent=True)},
        "/categories": {
            "get": _op("/categories", "List categories", "CategoryList", query=s.CategoryQuery),
            "post": _op("/categories", "Create a category", "Category", "201", s.CategoryCreate, idempotent=True)},
        "/categories/{category_id}": {
            "get": _op("/categories/{category_id}", "Read a category", "Category"),
            "patch": _op("/categories/{category_id}", "Rename or move a category", "Category",
                         body=s.CategoryUpdate)},
        "/tax-rates": {"get": _op("/tax-rates", "List tax rates", "TaxRateList", query=s.TaxRateQuery)},
        **_statement_ops(),
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


# --- webhooks -------------------------------------------------------------------------------

# What `data` carries for each event: the same shapes the API answers.
EVENT_DATA = {
    "document.viewed": ("A person opened an issued document in the portal.",
                        {"document": "DocumentSummary", "person": "Person"}),
    "quote.accepted": ("A quote was accepted in the portal.",
                       {"decision": "QuoteDecision", "document": "DocumentSummary"}),
    "quote.declined": ("A quote was declined in the portal.",
                       {"decision": "QuoteDecision", "document": "DocumentSummary"}),
    "payment.succeeded": ("A payment was received (online or recorded).",
                          {"payment": "Payment", "document": "DocumentSummary"}),
    "payment.failed": ("An online payment failed.", {"payment": "Payment", "document": "DocumentSummary"}),
    "order.created": ("A sales order was placed or made from a quote.", {"document": "DocumentSummary"}),
    "comment.created": ("A comment was written on a document.",
                        {"comment": "Comment", "document": "DocumentSummary"}),
    "invoice.issued": ("An invoice was issued (it has its number).", {"document": "DocumentSummary"}),
    "invoice.paid": ("An invoice became paid in full.", {"document": "DocumentSummary"}),
    "credit_note.issued": ("A credit note was issued against an invoice: `document` is the credit note, "
                           "`invoice` the invoice as it is now (amount_credited, amount_due).",
                           {"document": "DocumentSummary", "invoice": "DocumentSummary"}),
    "payment.refunded": ("Money was given back on an online payment (a refund, or a chargeback lost).",
                         {"payment": "Payment", "document": "DocumentSummary", "refund": "Refund"}),
    "payment.reversed": ("A manual payment was reversed: its document owes the amount again.",
                         {"payment": "Payment", "document": "DocumentSummary"}),
    "invoice.reminder_sent": ("A payment reminder naming this invoice was mailed to the contact's people "
                              "(one event per invoice the mail lists).",
                              {"document": "DocumentSummary", "reminder": "Reminder"}),
}


def _webhooks():
    """The events POSTed to the endpoints staff register, as OpenAPI 3.1 `webhooks`."""
    out = {}
    for event in WEBHOOK_EVENTS:
        summary, data = EVENT_DATA[event]
        body = {"type": "object", "required": ["id", "type", "created_at", "data"], "properties": {
            "id": {"type": "string", "description": "Unique per event: deliveries retried carry the same id."},
            "type": {"const": event}, "created_at": {"type": "string", "format": "date-time"},
            "data": {"type": "object", "required": list(data),
                     "properties": {name: ref(schema) for name, schema in data.items()}}}}
        out[event] = {"post": {
            "summary": summary, "operationId": "webhook" + event.title().replace(".", "").replace("_", ""),
            "parameters": [
                {"name": "Portal-Signature", "in": "header", "required": True, "schema": {"type": "string"},
                 "description": "t=<unix time>,v1=<hex HMAC-SHA256 of f\"{t}.{body}\" with the endpoint's "
                                "secret>; refuse it when older than 5 minutes."},
                {"name": "Portal-Event-Id", "in": "header", "required": True, "schema": {"type": "string"},
                 "description": "The event's id, as in the body: the same on every retry."},
                {"name": "Portal-Event-Type", "in": "header", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {"2XX": {"description": "Received; any other answer is retried."}}}}
    return out


def spec():
    """The OpenAPI document, with the server URL from BASE_URL."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Customer portal API", "version": "1",
                 "description": "Bearer-token REST API for the business's own software. Money is integer "
                                "minor units with an ISO 4217 currency; rates and discounts are basis points. "
                                "Lists are newest first with cursor pagination. Webhook events (see `webhooks`): "
                                + ", ".join(WEBHOOK_EVENTS) + "."},
        "servers": [{"url": current_app.config["BASE_URL"] + "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": dict(responses.schemas(), **request_schemas())},
        "paths": _paths(),
        "webhooks": _webhooks(),
    }
