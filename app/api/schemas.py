"""What the API accepts: every request body and query string, declared once with pydantic.
The views validate with these models (app/api/validation.py) and the OpenAPI description
publishes their JSON Schema (app/api/openapi.py), so the two cannot drift apart.

Fields left out are "not given"; so is null, except where null has a meaning of its own
(category_id and parent_id: none; due_date and valid_until: no date). What JSON Schema cannot
say (an id that must name a row, a date after another) is checked by the views: a 409."""
from typing import Annotated, ClassVar, Literal, Union

from annotated_types import MaxLen, MinLen
from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator
from pydantic_core import PydanticCustomError

from ..config import LANGUAGES
from ..credit_notes import MAX_REASON
from ..documents import MAX_LINES
from ..people import ROLES
from ..models import GATEWAYS, MAX_STOCK, ORDER, STATUSES, TRANSITIONS
from .fields import (MAX_AMOUNT, BasisPoints, Bool, ChoiceList, CountryOrEmpty, Currency, CurrencyOrEmpty, Cursor, Day,
                     Email, EmailOrEmpty, Id, IdList, Int, Line, NonZero, Quantity, QueryBool, QueryId,
                     QueryInt, QueryText, Text, WS)

MAX_PAGE = 100
ORDER_STATUSES = tuple(sorted(TRANSITIONS[ORDER]))
PAYMENT_STATUSES = ("pending", "succeeded", "failed", "cancelled", "refunded", "reversed")
Language = Literal[("",) + tuple(LANGUAGES)]

# Messages for a field whose generic one would say less.
FIELD_MESSAGES = {
    ("lines", "too_short"): "Send at least one line.",
    ("lines", "too_long"): f"A document can have at most {MAX_LINES} lines.",
    ("lines", "list_type"): "Send at least one line.",
    ("full", "literal_error"): "Must be true (or left out, with lines).",
}
TOTALS = ("total", "subtotal", "tax_total", "net", "amount_paid", "amount_due")
# What "given" means in a schema: not null, and for text not blank either.
_GIVEN = {"product_id": {"type": "integer"}, "unit_price": {"type": "integer"},
          "sku": {"type": "string", "pattern": f"[^{WS}]"},
          "description": {"type": "string", "pattern": f"[^{WS}]"}}


class Body(BaseModel):
    """A JSON object. Unknown fields are refused, so a misspelt field or a total (computed by
    the server) is answered, not ignored; strings, numbers and booleans are not converted into
    one another."""
    model_config = ConfigDict(extra="forbid", strict=True)
    # Why a field that the model does not have is refused, when "Unknown field." says too little.
    refused: ClassVar[dict] = {}

    def given(self):
        """The fields sent with a value other than null."""
        return {name: getattr(self, name) for name in self.model_fields_set if getattr(self, name) is not None}


# --- contacts ---------------------------------------------------------------------------------

class ContactUpdate(Body):
    """The fields to change."""
    kind: Literal["company", "person"] | None = None
    name: Line(200, filled=True) = None
    tax_id: Line(40) | None = None
    email: EmailOrEmpty | None = None
    phone: Line(40) | None = None
    billing_address: Text(1000) | None = None
    shipping_address: Text(1000) | None = None
    language: Language | None = Field(None, description="Empty: the business default.")
    currency: CurrencyOrEmpty | None = Field(None, description="ISO 4217; empty: the business default.")
    country: CountryOrEmpty | None = Field(None, description="ISO 3166-1 alpha-2 (the buyer's country on e-invoices).")
    no_reminders: Bool | None = Field(None, description="true: never send this contact payment reminders.")
    payment_methods: ChoiceList(GATEWAYS) | None = None
    portal_enabled: Bool | None = None
    catalog_enabled: Bool | None = None
    discount_bp: BasisPoints | None = Field(None, description="Basis points: 500 = 5 %.")
    notes: Text(5000) | None = None
    archived: Bool | None = None
    allow_duplicate_tax_id: Bool | None = Field(
        None, description="true: save a tax id another contact already has (a branch billed apart, an "
                          "import); otherwise that is refused with a 409 duplicate_tax_id naming the contact.")


class ContactCreate(ContactUpdate):
    name: Line(200, filled=True)


class PersonUpdate(Body):
    """The fields to change."""
    name: Line(200, filled=True) = None
    email: Email = None
    language: Language | None = None
    active: Bool | None = Field(None, description="false: may not sign in (signs out at once).")
    role: Literal[ROLES] = Field(None, description=(
        "owner (everything, manages the team), billing (invoices, credit notes, statements, payments), "
        "buyer (catalog, cart, orders, quotes; does not pay), viewer (reads). A new person is an owner; "
        "a contact keeps at least one active owner."))


class PersonCreate(PersonUpdate):
    name: Line(200, filled=True)
    email: Email


class AccessLinkCreate(Body):
    person_id: Id


# --- documents --------------------------------------------------------------------------------

class LineCreate(Body):
    """A product (by id or SKU) with what differs from it, or a description and a unit price."""
    description: Text(2000) | None = Field(None, description="Default: the product's name.")
    quantity: Quantity = Field(None, description="Up to 3 decimals; default 1.")
    unit_price: Int(-MAX_AMOUNT, MAX_AMOUNT) | None = Field(
        None, description="Minor units, before tax; default: the product's price (required when "
                          "the product's currency is not the document's).")
    discount_bp: BasisPoints | None = None
    tax_ids: IdList | None = Field(None, description="Tax rates (GET /tax-rates); default: the product's.")
    product_id: Id | None = None
    sku: Line(60) | None = None

    # One of these groups must be given, null and blank text counting as not given: the schema
    # says it with an anyOf, the check below with the same table.
    NEEDS: ClassVar = (("product_id",), ("sku",), ("description", "unit_price"))
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": list(group), "properties": {name: _GIVEN[name] for name in group}} for group in NEEDS]})

    def _has(self, name):
        value = getattr(self, name)
        return value is not None and value != ""

    @model_validator(mode="after")
    def _names_its_product_or_describes_itself(self):
        if not any(all(self._has(name) for name in group) for group in self.NEEDS):
            missing = [name for name in self.NEEDS[-1] if not self._has(name)]
            raise PydanticCustomError("required_fields", "This field is required.", {"fields": ",".join(missing)})
        return self


Lines = Annotated[list[LineCreate], MinLen(1), MaxLen(MAX_LINES)]


class DocumentFields(Body):
    contact_id: Id
    issue_date: Day | None = Field(None, description="Default: today (issuing dates it the day it is issued).")
    currency: Currency = Field(None, description="Default: the contact's, or the business's.")
    reference: Line(80) | None = Field(None, description="The customer's own reference (PO).")
    notes: Text(10000) | None = None
    terms: Text(10000) | None = Field(None, description="Default: the business's terms.")
    lines: Lines
    issue: Bool | None = Field(None, description="Issue it at once (default: a draft).")


_ONLY_QUOTES = "Only quotes have valid_until."
_ONLY_ORDERS = "Only sales orders have a shipping address."


class InvoiceCreate(DocumentFields):
    """An invoice; totals are computed by the server (sending one is refused)."""
    kind: Literal["invoice"]
    due_date: Day | None = Field(None, description="Default: payment terms from today; null: none.")
    refused: ClassVar[dict] = {"valid_until": _ONLY_QUOTES, "shipping_address": _ONLY_ORDERS}


class QuoteCreate(DocumentFields):
    """A quote; totals are computed by the server (sending one is refused)."""
    kind: Literal["quote"]
    valid_until: Day | None = Field(None, description="Default: the quote validity from today; null: none.")
    refused: ClassVar[dict] = {"due_date": "Quotes have valid_until, not a due date.",
                               "shipping_address": _ONLY_ORDERS}


class OrderCreate(DocumentFields):
    """A sales order; totals are computed by the server (sending one is refused)."""
    kind: Literal["order"]
    due_date: Day | None = None
    shipping_address: Text(1000) | None = Field(None, description="Default: the contact's.")
    refused: ClassVar[dict] = {"valid_until": _ONLY_QUOTES}


class DocumentCreate(RootModel):
    root: Annotated[Union[InvoiceCreate, QuoteCreate, OrderCreate], Field(discriminator="kind")]


class PaymentCreate(Body):
    amount: Int(1, MAX_AMOUNT) = Field(description="Minor units, at most the amount due.")
    paid_on: Day | None = Field(None, description="Default: today.")
    note: Line(200) | None = None


class CreditLine(Body):
    """What to credit of one of the invoice's lines: goods given back (a quantity), or a price
    lowered afterwards (a unit price below the invoiced one)."""
    line_id: Id = Field(description="The id of one of the invoice's lines (GET /documents/{id}).")
    quantity: Quantity = Field(description="Up to 3 decimals, at most the quantity invoiced.")
    unit_price: Int(1, MAX_AMOUNT) | None = Field(
        None, description="Minor units, before tax, at most the invoiced one; default: the invoiced one.")


CreditLines = Annotated[list[CreditLine], MinLen(1), MaxLen(MAX_LINES)]
_LINES, _FULL = {"lines": {"type": "array"}}, {"full": {"const": True}}


class CreditNoteCreate(Body):
    """Either lines to credit, or full: true: every line in full (refused once part of the invoice
    is credited; then send the lines left)."""
    lines: CreditLines | None = None
    full: Literal[True] | None = Field(None, description="true: credit the whole invoice.")
    reason: Text(MAX_REASON, filled=True) = Field(description="Why the invoice is corrected; printed on the "
                                                              "credit note.")

    # One of the two, never both (null counting as not given): the schema says it with anyOf and
    # not, the check below the same.
    model_config = ConfigDict(json_schema_extra={
        "anyOf": [{"required": ["lines"], "properties": _LINES}, {"required": ["full"], "properties": _FULL}],
        "not": {"required": ["lines", "full"], "properties": {**_LINES, **_FULL}}})

    @model_validator(mode="after")
    def _lines_or_full(self):
        if (self.lines is None) == (self.full is None):
            message = "Send lines or full: true, not both." if self.lines is not None else \
                "Send lines, or full: true to credit the whole invoice."
            raise PydanticCustomError("required_fields", message, {"fields": "lines,full"})
        return self


class PaymentReversal(Body):
    reason: Line(300, filled=True) = Field(description="Why the payment is taken back (kept with it).")


class RefundCreate(Body):
    amount: Int(1, MAX_AMOUNT) = Field(description="Minor units, at most what is left to refund of the payment.")
    reason: Line(300, filled=True) = Field(description="Why the money is given back (kept with the refund).")


class CommentCreate(Body):
    body: Text(5000, filled=True)


class OrderStatusChange(Body):
    status: Literal[ORDER_STATUSES]


# --- catalog ----------------------------------------------------------------------------------

class ProductUpdate(Body):
    """The fields to change; stock has its own endpoint."""
    sku: Line(60, filled=True) = None
    name: Line(200, filled=True) = None
    description: Text(5000) | None = None
    category_id: Id | None = Field(None, description="null: in no category.")
    price: Int(0, MAX_AMOUNT) | None = Field(None, description="Minor units, before tax.")
    currency: Currency | None = None
    track_stock: Bool | None = None
    active: Bool | None = None
    visible: Bool | None = None
    tax_ids: IdList | None = Field(None, description="Active tax rates (GET /tax-rates).")
    refused: ClassVar[dict] = {"stock": "Change stock with POST /products/{id}/stock-adjustments."}


class ProductCreate(ProductUpdate):
    sku: Line(60, filled=True)
    name: Line(200, filled=True)
    price: Int(0, MAX_AMOUNT) = Field(description="Minor units, before tax.")
    currency: Currency | None = Field(None, description="Default: the business's.")
    stock: Int(0, MAX_STOCK) | None = Field(None, description="Default: 0.")


class StockAdjustment(Body):
    delta: NonZero(-MAX_STOCK, MAX_STOCK) = Field(description="Added to the stock (negative: taken).")
    reason: Line(200) | None = None


class CategoryUpdate(Body):
    """The fields to change."""
    name: Line(120, filled=True) = None
    parent_id: Id | None = Field(None, description="null: at the top.")
    position: Int(0, 1_000_000) | None = None


class CategoryCreate(CategoryUpdate):
    name: Line(120, filled=True)


BODIES = (ContactCreate, ContactUpdate, PersonCreate, PersonUpdate, AccessLinkCreate, DocumentCreate,
          PaymentCreate, CreditNoteCreate, PaymentReversal, RefundCreate, CommentCreate, OrderStatusChange,
          ProductCreate, ProductUpdate, StockAdjustment, CategoryCreate, CategoryUpdate)


# --- query strings ----------------------------------------------------------------------------

class Page(BaseModel):
    """Query-string parameters, all optional; unknown ones are refused."""
    model_config = ConfigDict(extra="forbid", strict=True)
    limit: QueryInt(1, MAX_PAGE) = Field(None, description=f"Page size (default 50, at most {MAX_PAGE}).")
    cursor: Cursor = Field(None, description="next_cursor of the previous page.")


class ContactQuery(Page):
    q: QueryText(100) = Field(None, description="Part of the name, email or tax id.")
    email: QueryText(254) = None
    portal_enabled: QueryBool = None
    archived: QueryBool = None


class DocumentQuery(Page):
    kind: Literal["invoice", "quote", "order", "credit_note"] = None
    status: Literal[tuple(STATUSES)] = None
    contact_id: QueryId = None
    number: QueryText(40) = None
    issued_from: Day = None
    issued_to: Day = None


class PaymentQuery(Page):
    document_id: QueryId = None
    contact_id: QueryId = None
    status: Literal[PAYMENT_STATUSES] = None
    gateway: Literal[("manual",) + GATEWAYS] = None


class CommentQuery(Page):
    document_id: QueryId = None
    contact_id: QueryId = None
    author_type: Literal["person", "staff"] = None


class DecisionQuery(Page):
    document_id: QueryId = None
    decision: Literal["accepted", "declined"] = None


class OrderQuery(Page):
    status: Literal[ORDER_STATUSES] = None
    contact_id: QueryId = None


class ProductQuery(Page):
    q: QueryText(100) = Field(None, description="Part of the name or SKU.")
    sku: QueryText(60) = None
    category_id: QueryId = None
    active: QueryBool = None


class CategoryQuery(Page):
    parent_id: QueryId = None


class StatementQuery(BaseModel):
    """The period: `period`, or `from` and `to` (either may be left out: from the 1st of January of
    `to`'s year, until today); nothing: this year. Unknown parameters are refused."""
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)
    period: Literal["this_year", "last_year", "last_12_months"] = Field(
        None, description="A period up to today (last_year: all of last year); wins over from and to.")
    from_: Day = Field(None, alias="from", description="The first day (YYYY-MM-DD).")
    to: Day = Field(None, description="The last day (YYYY-MM-DD); a period is at most 10 years, from before to "
                                      "(else a 409 bad_period or period_too_long).")


class TaxRateQuery(Page):
    active: QueryBool = None
