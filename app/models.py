"""The data model of the whole portal, and the queries that belong to it.

Money is integer minor units next to an ISO 4217 code; quantities are thousandths; rates and
discounts are basis points (see app/money.py for the rounding rule). Times are naive UTC.
Every query a contact can reach takes the contact and is scoped to it by construction.
"""
import datetime
import hashlib
import json

from peewee import (JOIN, BigIntegerField, BlobField, BooleanField, CharField, Check, DateField,
                    DateTimeField, ForeignKeyField, IntegerField, Model, TextField, fn)

from . import money
from .db import db, is_sqlite


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


# --- the business -------------------------------------------------------------------------

class Settings(BaseModel):
    """The business itself: one row (id 1)."""
    name = CharField(max_length=200, default="My business")
    tax_id = CharField(max_length=40, default="")
    address = TextField(default="")
    email = CharField(max_length=254, default="")
    phone = CharField(max_length=40, default="")
    website = CharField(max_length=200, default="")
    notify_email = CharField(max_length=254, default="")   # where comments and orders are mailed
    logo = BlobField(null=True)
    logo_type = CharField(max_length=40, default="")
    default_currency = CharField(max_length=3, default="EUR")
    languages = CharField(max_length=60, default="es,en,ca,fr,de,it,pt")
    default_language = CharField(max_length=5, default="es")
    invoice_prefix = CharField(max_length=20, default="F")
    quote_prefix = CharField(max_length=20, default="P")
    order_prefix = CharField(max_length=20, default="SO")
    payment_terms_days = IntegerField(default=30)
    quote_validity_days = IntegerField(default=30)
    default_terms = TextField(default="")
    quote_to_order = BooleanField(default=False)           # an accepted quote becomes an order
    allow_partial_payments = BooleanField(default=False)
    min_partial_amount = BigIntegerField(default=0)
    stock_display = CharField(max_length=10, default="level")  # exact | level | hidden
    low_stock_threshold = IntegerField(default=5)
    sell_out_of_stock = BooleanField(default=False)
    access_link_hours = IntegerField(default=48)
    link_session_hours = IntegerField(default=12)

    @classmethod
    def get_solo(cls):
        row = cls.get_or_none(cls.id == 1)
        if row is None:
            row = cls.create(id=1)
        return row

    @property
    def language_list(self):
        return [code for code in self.languages.split(",") if code]

    @classmethod
    def get_logo(cls):
        """(bytes, content type) of the business logo, or None; reads only those two columns."""
        row = cls.select(cls.logo, cls.logo_type).where(cls.id == 1).first()
        if row is None or not row.logo:
            return None
        return bytes(row.logo), row.logo_type


class StaffUser(BaseModel):
    email = CharField(max_length=254, unique=True)
    name = CharField(max_length=200)
    password_hash = CharField(max_length=255)
    active = BooleanField(default=True)
    session_version = IntegerField(default=1)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)


class TaxRate(BaseModel):
    """A tax the business applies: VAT 21 %, IRPF −15 % (a withholding has a negative rate)."""
    name = CharField(max_length=40)
    rate_bp = IntegerField(constraints=[Check("rate_bp BETWEEN -10000 AND 10000")])
    active = BooleanField(default=True)
    is_default = BooleanField(default=False)

    class Meta:
        indexes = ((("name", "rate_bp"), True),)

    @classmethod
    def listed(cls):
        """Every rate for the back-office list: active first, then by name and rate."""
        return cls.select().order_by(cls.active.desc(), cls.name, cls.rate_bp.desc(), cls.id)

    @classmethod
    def offered_to(cls, product=None):
        """The rates a product form offers: the active ones, plus inactive ones the product
        already carries (so saving the form does not drop them without the staff seeing it)."""
        query = cls.active == True  # noqa: E712
        if product is not None:
            query |= cls.id.in_(ProductTax.select(ProductTax.tax_rate).where(ProductTax.product == product))
        return cls.select().where(query).order_by(cls.name, cls.rate_bp.desc(), cls.id)

    @classmethod
    def default_ids(cls):
        """The rates preselected on a new product or document line."""
        return [t.id for t in cls.select(cls.id).where((cls.active == True) & (cls.is_default == True))]  # noqa: E712


# --- contacts and the people who sign in for them ---------------------------------------------

GATEWAYS = ("stripe", "paypal", "square")


class Contact(BaseModel):
    kind = CharField(max_length=10, default="company",
                     constraints=[Check("kind IN ('company', 'person')")])
    name = CharField(max_length=200)
    tax_id = CharField(max_length=40, default="")
    email = CharField(max_length=254, default="")
    phone = CharField(max_length=40, default="")
    billing_address = TextField(default="")
    shipping_address = TextField(default="")
    language = CharField(max_length=5, default="")          # empty: the business default
    currency = CharField(max_length=3, default="")          # empty: the business default
    gateways = CharField(max_length=60, default="")         # comma list from GATEWAYS
    portal_enabled = BooleanField(default=False)
    catalog_enabled = BooleanField(default=False)
    discount_bp = IntegerField(default=0, constraints=[Check("discount_bp BETWEEN 0 AND 10000")])
    notes = TextField(default="")
    archived = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)

    @property
    def gateway_list(self):
        return [g for g in self.gateways.split(",") if g in GATEWAYS]


class Person(BaseModel):
    """Someone who signs in to the portal for a contact. The email is the login."""
    contact = ForeignKeyField(Contact, backref="people", on_delete="CASCADE")
    name = CharField(max_length=200)
    email = CharField(max_length=254, unique=True)          # stored lower-case
    password_hash = CharField(max_length=255, null=True)
    language = CharField(max_length=5, default="")          # the person's own choice
    active = BooleanField(default=True)
    session_version = IntegerField(default=1)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)

    # flask-login: the id carries the session version, so bumping it ends every older session.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return f"{self.id}:{self.session_version}"

    @classmethod
    def by_email(cls, email):
        return cls.get_or_none(cls.email == (email or "").strip().lower())

    def can_sign_in(self):
        return self.active and self.contact.portal_enabled and not self.contact.archived


class PortalSession(BaseModel):
    """A signed-in browser. The cookie holds a random id whose hash is kept here, so signing
    out, a password change or revoked access end a session even if its cookie was copied."""
    person = ForeignKeyField(Person, backref="sessions", on_delete="CASCADE")
    sid_hash = CharField(max_length=64, unique=True)
    via = CharField(max_length=10, constraints=[Check("via IN ('password', 'link')")])
    created_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(null=True)     # sessions opened by an access link end here


class AccessLink(BaseModel):
    """A time-limited, single-use sign-in link. Only the token's hash is stored."""
    person = ForeignKeyField(Person, backref="access_links", on_delete="CASCADE")
    purpose = CharField(max_length=10, default="access",
                        constraints=[Check("purpose IN ('access', 'reset')")])
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    created_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")


# --- catalog --------------------------------------------------------------------------------

MAX_STOCK = 2_147_483_647   # the stock column is a 32-bit integer on PostgreSQL


class Category(BaseModel):
    name = CharField(max_length=120)
    parent = ForeignKeyField("self", null=True, backref="children", on_delete="SET NULL")
    position = IntegerField(default=0)

    @classmethod
    def tree(cls):
        """Every category as (category, depth): parents before children, siblings by position.

        Categories are few, so one query and a walk in Python beats a recursive CTE that
        would have to be written twice (SQLite and PostgreSQL)."""
        rows = list(cls.select().order_by(cls.position, cls.name, cls.id))
        children = {}
        for row in rows:
            children.setdefault(row.parent_id, []).append(row)
        out, seen = [], set()

        def walk(row, depth):
            stack = [(row, depth)]
            while stack:
                row, depth = stack.pop()
                if row.id not in seen:
                    seen.add(row.id)
                    out.append((row, depth))
                    stack.extend((child, depth + 1) for child in reversed(children.get(row.id, [])))

        for root in children.get(None, []):
            walk(root, 0)
        # A cycle written into the database by hand never reaches a root: list it anyway.
        for row in rows:
            walk(row, 0)
        return out

    def subtree_ids(self):
        """This category's id and the ids of all its descendants."""
        children = {}
        for cid, parent_id in Category.select(Category.id, Category.parent).tuples():
            children.setdefault(parent_id, []).append(cid)
        found, todo = {self.id}, [self.id]
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    @classmethod
    def lock_all(cls):
        """Serialise moves inside a transaction, so that two moves made at once cannot build a
        cycle between them: PostgreSQL locks the rows; SQLite's IMMEDIATE transaction already
        holds the database's write lock."""
        if not is_sqlite():
            list(cls.select(cls.id).order_by(cls.id).for_update())

    @classmethod
    def product_counts(cls):
        """{category id: number of products directly in it}."""
        return dict(Product.select(Product.category, fn.COUNT(Product.id))
                    .where(Product.category.is_null(False)).group_by(Product.category).tuples())

    def can_move_under(self, parent):
        """False when `parent` is this category or one of its descendants (a cycle)."""
        return parent is None or parent.id not in self.subtree_ids()

    @classmethod
    def next_position(cls, parent):
        last = (cls.select(fn.MAX(cls.position))
                .where(cls.parent.is_null() if parent is None else cls.parent == parent).scalar())
        return 0 if last is None else last + 1

    def delete_keeping_contents(self):
        """Delete this category: its children move up to its parent, its products become
        uncategorised (said explicitly, not left to ON DELETE, so both databases agree)."""
        with db.atomic():
            Category.lock_all()
            Category.update(parent=self.parent_id).where(Category.parent == self.id).execute()
            Product.update(category=None).where(Product.category == self.id).execute()
            Category.delete().where(Category.id == self.id).execute()


class Product(BaseModel):
    sku = CharField(max_length=60, unique=True)
    name = CharField(max_length=200)
    description = TextField(default="")
    category = ForeignKeyField(Category, null=True, backref="products", on_delete="SET NULL")
    price = BigIntegerField(constraints=[Check("price >= 0")])   # minor units, before tax
    currency = CharField(max_length=3, default="EUR")
    track_stock = BooleanField(default=True)
    stock = IntegerField(default=0, constraints=[Check("stock >= 0")])
    active = BooleanField(default=True)       # inactive: cannot be ordered
    visible = BooleanField(default=True)      # hidden: not shown in the portal catalog
    updated_at = DateTimeField(default=utcnow)

    @classmethod
    def search(cls, q="", category_ids=None):
        """Products whose name or SKU contains `q`, optionally within some categories."""
        query = cls.select(cls, Category).join(Category, JOIN.LEFT_OUTER)
        if q:
            like = f"%{q}%"
            query = query.where((cls.name ** like) | (cls.sku ** like))
        if category_ids is not None:
            query = query.where(cls.category.in_(list(category_ids)))
        return query.order_by(cls.name, cls.sku, cls.id)

    def tax_ids(self):
        return {pt.tax_rate_id for pt in ProductTax.select(ProductTax.tax_rate).where(ProductTax.product == self)}

    def set_taxes(self, tax_ids):
        """Replace the product's taxes (call inside a transaction)."""
        ProductTax.delete().where(ProductTax.product == self).execute()
        if tax_ids:
            ProductTax.insert_many([{"product": self.id, "tax_rate": tid} for tid in sorted(set(tax_ids))]).execute()

    def adjust_stock(self, delta):
        """Add `delta` to the stock in one conditional UPDATE: False (and no change) when the
        result would fall below zero or overflow the column. Concurrent adjustments add up."""
        won = (Product.update(stock=Product.stock + delta, updated_at=utcnow())
               .where((Product.id == self.id) & (Product.stock + delta >= 0)
                      & (Product.stock + delta <= MAX_STOCK)).execute())
        if won:
            self.stock = Product.get_by_id(self.id).stock
        return bool(won)

    def set_stock_from(self, seen, new):
        """Set the stock to `new` only if it is still `seen` (what the edit form showed), so an
        order placed while staff were editing is not overwritten. False when it changed."""
        won = (Product.update(stock=new, updated_at=utcnow())
               .where((Product.id == self.id) & (Product.stock == seen)).execute())
        return bool(won)

    def image_list(self):
        """The product's images without their bytes, in display order."""
        return (ProductImage.select(ProductImage.id, ProductImage.content_type, ProductImage.position)
                .where(ProductImage.product == self).order_by(ProductImage.position, ProductImage.id))


class ProductTax(BaseModel):
    product = ForeignKeyField(Product, backref="product_taxes", on_delete="CASCADE")
    tax_rate = ForeignKeyField(TaxRate, on_delete="CASCADE")

    class Meta:
        indexes = ((("product", "tax_rate"), True),)


class ProductImage(BaseModel):
    product = ForeignKeyField(Product, backref="images", on_delete="CASCADE")
    content_type = CharField(max_length=40)
    data = BlobField()
    position = IntegerField(default=0)

    @classmethod
    def count_for(cls, product):
        return cls.select(cls.id).where(cls.product == product).count()

    @classmethod
    def next_position(cls, product):
        last = cls.select(fn.MAX(cls.position)).where(cls.product == product).scalar()
        return 0 if last is None else last + 1


# --- documents ------------------------------------------------------------------------------

INVOICE, QUOTE, ORDER = "invoice", "quote", "order"
KINDS = (INVOICE, QUOTE, ORDER)

# status -> statuses it may move to, per kind. "Paid" and "accepted" are reached by payments
# and decisions, not by the staff status menu; overdue and expired are derived from dates.
TRANSITIONS = {
    INVOICE: {"draft": {"open", "void"}, "open": {"void"}, "paid": set(), "void": set()},
    QUOTE: {"draft": {"open", "void"}, "open": {"void"}, "accepted": set(), "declined": set(),
            "void": set()},
    ORDER: {"draft": {"open", "cancelled"}, "open": {"confirmed", "cancelled"},
            "confirmed": {"shipped", "cancelled"}, "shipped": {"delivered"}, "delivered": set(),
            "cancelled": set()},
}
STATUSES = sorted({s for table in TRANSITIONS.values() for s in table})


class Document(BaseModel):
    contact = ForeignKeyField(Contact, backref="documents", on_delete="RESTRICT")
    kind = CharField(max_length=10, constraints=[Check("kind IN ('invoice', 'quote', 'order')")])
    number = CharField(max_length=40)
    status = CharField(max_length=12, default="draft")
    issue_date = DateField()
    due_date = DateField(null=True)           # invoices and orders: payment due
    valid_until = DateField(null=True)        # quotes
    currency = CharField(max_length=3)
    reference = CharField(max_length=80, default="")   # the customer's own reference (PO)
    notes = TextField(default="")
    terms = TextField(default="")
    shipping_address = TextField(default="")
    subtotal = BigIntegerField(default=0)
    tax_total = BigIntegerField(default=0)
    total = BigIntegerField(default=0)
    amount_paid = BigIntegerField(default=0, constraints=[Check("amount_paid >= 0")])
    version = IntegerField(default=1)          # bumped on every change a customer could see
    source = ForeignKeyField("self", null=True, backref="derived", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    issued_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("kind", "number"), True),
            (("contact", "kind", "status", "issue_date"), False),
        )

    @property
    def amount_due(self):
        return max(self.total - self.amount_paid, 0)

    @property
    def editable(self):
        return self.status == "draft"

    @property
    def is_overdue(self):
        return (self.kind == INVOICE and self.status == "open" and self.due_date is not None
                and self.due_date < datetime.date.today())

    @property
    def is_expired(self):
        return (self.kind == QUOTE and self.status == "open" and self.valid_until is not None
                and self.valid_until < datetime.date.today())

    def allowed_transitions(self):
        return TRANSITIONS[self.kind].get(self.status, set())

    def ordered_lines(self):
        return (DocumentLine.select().where(DocumentLine.document == self)
                .order_by(DocumentLine.position, DocumentLine.id))

    def tax_breakdown(self):
        return money.compute_totals(_line_tuples(self.ordered_lines()))["taxes"]

    def recompute(self):
        """Set subtotal, tax and total from the lines (the only place totals are made)."""
        totals = money.compute_totals(_line_tuples(self.ordered_lines()))
        self.subtotal, self.tax_total, self.total = totals["subtotal"], totals["tax_total"], totals["total"]
        return totals

    def content_hash(self):
        """SHA-256 of what the customer sees of this version: what a quote acceptance signs."""
        lines = [(l.description, l.qty_milli, l.unit_price, l.discount_bp,
                  [(t.name, t.rate_bp) for t in l.line_taxes]) for l in self.ordered_lines()]
        payload = {"kind": self.kind, "number": self.number, "currency": self.currency,
                   "issue_date": str(self.issue_date), "valid_until": str(self.valid_until),
                   "lines": lines, "total": self.total, "notes": self.notes, "terms": self.terms,
                   "version": self.version}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def move_to(self, new_status):
        """Change status only from the status we read: the row count tells who won a race."""
        if new_status not in self.allowed_transitions():
            return False
        now = utcnow()
        changes = {"status": new_status, "updated_at": now, "version": Document.version + 1}
        if self.status == "draft" and new_status == "open":
            changes["issued_at"] = now
        won = (Document.update(changes)
               .where((Document.id == self.id) & (Document.status == self.status)).execute())
        if won:
            self.status = new_status
            self.version += 1
        return bool(won)

    @classmethod
    def next_number(cls, kind, settings, today=None):
        """The next free number of the form PREFIX-YYYY-0001 for this kind and year."""
        today = today or datetime.date.today()
        prefix = {INVOICE: settings.invoice_prefix, QUOTE: settings.quote_prefix,
                  ORDER: settings.order_prefix}[kind]
        stem = f"{prefix}-{today.year}-"
        used = (cls.select(cls.number).where((cls.kind == kind) & cls.number.startswith(stem)))
        highest = 0
        for (number,) in used.tuples():
            tail = number[len(stem):]
            if tail.isdigit():
                highest = max(highest, int(tail))
        return f"{stem}{highest + 1:04d}"

    # Queries a contact reaches: scoped to the contact, never drafts.
    @classmethod
    def visible_to(cls, contact):
        return cls.select().where((cls.contact == contact) & (cls.status != "draft"))

    @classmethod
    def for_contact(cls, contact, doc_id):
        return cls.visible_to(contact).where(cls.id == doc_id).first()


class DocumentLine(BaseModel):
    document = ForeignKeyField(Document, backref="lines", on_delete="CASCADE")
    position = IntegerField(default=0)
    product = ForeignKeyField(Product, null=True, on_delete="SET NULL")
    description = TextField()
    qty_milli = BigIntegerField(constraints=[Check("qty_milli > 0")])
    unit_price = BigIntegerField()
    discount_bp = IntegerField(default=0, constraints=[Check("discount_bp BETWEEN 0 AND 10000")])
    net = BigIntegerField(default=0)

    class Meta:
        indexes = ((("document", "position"), False),)


class LineTax(BaseModel):
    """A tax on a line, copied from TaxRate when the line is written (a later rate change
    must not alter an issued document)."""
    line = ForeignKeyField(DocumentLine, backref="line_taxes", on_delete="CASCADE")
    name = CharField(max_length=40)
    rate_bp = IntegerField()


def _line_tuples(lines):
    lines = list(lines)
    taxes = {}
    if lines:
        for tax in LineTax.select().where(LineTax.line.in_([l.id for l in lines])):
            taxes.setdefault(tax.line_id, []).append((tax.name, tax.rate_bp))
    return [(l.qty_milli, l.unit_price, l.discount_bp, taxes.get(l.id, [])) for l in lines]


# --- what happens on documents ------------------------------------------------------------

class Payment(BaseModel):
    document = ForeignKeyField(Document, backref="payments", on_delete="RESTRICT")
    gateway = CharField(max_length=10, constraints=[
        Check("gateway IN ('manual', 'stripe', 'paypal', 'square')")])
    amount = BigIntegerField(constraints=[Check("amount > 0")])
    currency = CharField(max_length=3)
    status = CharField(max_length=12, default="pending", constraints=[
        Check("status IN ('pending', 'succeeded', 'failed', 'cancelled', 'refunded')")])
    provider_ref = CharField(max_length=120, default="")   # checkout session, order or link id
    idempotency_key = CharField(max_length=80, unique=True)
    method_note = CharField(max_length=200, default="")     # manual: transfer, cash...
    flagged = BooleanField(default=False)                  # e.g. paid twice: staff must look
    flag_reason = CharField(max_length=200, default="")
    paid_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")


class PaymentEvent(BaseModel):
    """A gateway event, stored once: the unique id is what makes a redelivery a no-op."""
    gateway = CharField(max_length=10)
    event_id = CharField(max_length=120)
    kind = CharField(max_length=80, default="")
    payload = TextField(default="")
    received_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("gateway", "event_id"), True),)


class Comment(BaseModel):
    document = ForeignKeyField(Document, backref="comments", on_delete="CASCADE")
    person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    author_name = CharField(max_length=200)   # kept if the author is later deleted
    body = TextField(constraints=[Check("length(body) BETWEEN 1 AND 5000")])
    created_at = DateTimeField(default=utcnow)


class QuoteDecision(BaseModel):
    """One decision per quote: the unique document is what settles two racing clicks."""
    document = ForeignKeyField(Document, unique=True, backref="decisions", on_delete="CASCADE")
    decision = CharField(max_length=10, constraints=[Check("decision IN ('accepted', 'declined')")])
    person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    signer_name = CharField(max_length=200, default="")
    po_reference = CharField(max_length=80, default="")
    reason = TextField(default="")
    ip = CharField(max_length=45, default="")
    user_agent = CharField(max_length=400, default="")
    document_version = IntegerField()
    document_hash = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)


class CartItem(BaseModel):
    """The cart, kept per contact so it survives sign-out and follows to another device."""
    contact = ForeignKeyField(Contact, backref="cart_items", on_delete="CASCADE")
    product = ForeignKeyField(Product, on_delete="CASCADE")
    quantity = IntegerField(constraints=[Check("quantity > 0")])
    unit_price_seen = BigIntegerField()   # price when added: a change is flagged at checkout
    added_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("contact", "product"), True),)


class Activity(BaseModel):
    """What happened, for staff: a document viewed or downloaded, a sign-in, a decision."""
    contact = ForeignKeyField(Contact, null=True, on_delete="CASCADE")
    person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    document = ForeignKeyField(Document, null=True, on_delete="CASCADE")
    action = CharField(max_length=40)
    detail = CharField(max_length=400, default="")
    created_at = DateTimeField(default=utcnow, index=True)

    @classmethod
    def record(cls, action, **fields):
        return cls.create(action=action, **fields)


class Job(BaseModel):
    """The outbox: work to do outside the request, written in the same transaction as its cause.

    A Huey task runs it; a periodic sweep picks up any row whose enqueue was lost, so a crash
    between the commit and the enqueue loses nothing. Failed jobs stay visible to staff."""
    kind = CharField(max_length=40)
    payload = TextField()
    status = CharField(max_length=10, default="pending", constraints=[
        Check("status IN ('pending', 'running', 'done', 'failed')")])
    attempts = IntegerField(default=0)
    max_attempts = IntegerField(default=8)
    run_after = DateTimeField(default=utcnow)
    locked_until = DateTimeField(null=True)
    lock_token = CharField(max_length=32, default="")   # who holds the lease on a running job
    last_error = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    done_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "run_after"), False),)

    STATUSES = ("pending", "running", "done", "failed")

    @property
    def data(self):
        return json.loads(self.payload)

    @classmethod
    def _claimable(cls, now):
        # Due pending jobs, and running jobs whose worker died (lease expired) with tries left.
        return (((cls.status == "pending") & (cls.run_after <= now))
                | ((cls.status == "running") & (cls.locked_until < now)
                   & (cls.attempts < cls.max_attempts)))

    @classmethod
    def due_ids(cls, now, limit):
        return [row[0] for row in cls.select(cls.id).where(cls._claimable(now))
                .order_by(cls.run_after, cls.id).limit(limit).tuples()]

    @classmethod
    def claim(cls, job_id, token, now, lease_until):
        """Take the job for one attempt. One conditional UPDATE: of two workers racing for
        the same row, exactly one sees a row count of 1."""
        won = (cls.update(status="running", lock_token=token, locked_until=lease_until,
                          attempts=cls.attempts + 1)
               .where((cls.id == job_id) & cls._claimable(now)).execute())
        return won == 1

    @classmethod
    def _leased(cls, job_id, token):
        return (cls.id == job_id) & (cls.status == "running") & (cls.lock_token == token)

    @classmethod
    def finish(cls, job_id, token, now):
        """Mark done, only if we still hold the lease (False: another worker took it over)."""
        return cls.update(status="done", done_at=now, locked_until=None, lock_token="").where(
            cls._leased(job_id, token)).execute() == 1

    @classmethod
    def fail(cls, job_id, token, error, retry_at=None):
        """Record a failed attempt: back to pending at `retry_at`, or failed for good."""
        changes = {"last_error": error, "locked_until": None, "lock_token": ""}
        if retry_at is None:
            changes["status"] = "failed"
        else:
            changes.update(status="pending", run_after=retry_at)
        return cls.update(changes).where(cls._leased(job_id, token)).execute() == 1

    @classmethod
    def fail_abandoned(cls, now, error):
        """Running jobs whose worker died on their last allowed attempt: failed, for staff."""
        return (cls.update(status="failed", last_error=error, locked_until=None, lock_token="")
                .where((cls.status == "running") & (cls.locked_until < now)
                       & (cls.attempts >= cls.max_attempts)).execute())

    @classmethod
    def retry(cls, job_id, now):
        """Staff asked to try a failed job again: a fresh set of attempts, due now."""
        return (cls.update(status="pending", attempts=0, run_after=now)
                .where((cls.id == job_id) & (cls.status == "failed")).execute()) == 1

    @classmethod
    def counts(cls):
        from peewee import fn
        counts = dict.fromkeys(cls.STATUSES, 0)
        counts.update(cls.select(cls.status, fn.COUNT(cls.id)).group_by(cls.status).tuples())
        return counts

    @classmethod
    def needing_attention(cls, statuses=("failed", "running", "pending")):
        """Jobs staff may want to see: failed first, then running, then waiting; newest first."""
        from peewee import Case
        rank = Case(cls.status, [("failed", 0), ("running", 1)], 2)
        return cls.select().where(cls.status.in_(list(statuses))).order_by(rank, cls.id.desc())


MODELS = [Settings, StaffUser, TaxRate, Contact, Person, PortalSession, AccessLink, Category, Product,
          ProductTax, ProductImage, Document, DocumentLine, LineTax, Payment, PaymentEvent,
          Comment, QuoteDecision, CartItem, Activity, Job]

