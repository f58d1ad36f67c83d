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
from .db import compiled, db, is_sqlite
from .sealed import SealedTextField


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
    logo_hash = CharField(max_length=64, default="")   # SHA-256 of logo: "has a logo", PDF cache keys
    default_currency = CharField(max_length=3, default="EUR")
    languages = CharField(max_length=60, default="es,en,ca,fr,de,it,pt")
    default_language = CharField(max_length=5, default="es")
    invoice_prefix = CharField(max_length=20, default="F")
    quote_prefix = CharField(max_length=20, default="P")
    order_prefix = CharField(max_length=20, default="SO")
    credit_note_prefix = CharField(max_length=20, default="R")
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
    team_self_service = BooleanField(default=False)   # a contact's owners manage their own team
    staff_require_totp = BooleanField(default=False)   # every staff user signs in with a second factor
    # The portal's people sign in with a second factor (passkey or TOTP): '' no, 'all', 'billing'.
    require_second_factor = CharField(max_length=10, default="",
                                      constraints=[Check("require_second_factor IN ('', 'all', 'billing')")])
    # ISO 3166-1 alpha-2, and the account customers pay transfers to (0014; e-invoices need them)
    country = CharField(max_length=2, default="")
    iban = CharField(max_length=34, default="")
    bic = CharField(max_length=11, default="")
    bank_changed_at = DateTimeField(null=True)   # the notice to customers lasts 60 days from here
    accountant_links_enabled = BooleanField(default=True)   # people may give their accountant a read-only link
    # Payment reminders (app/reminders.py): the switch, the days from the due date, and the last
    # day whose run was queued (the daily claim: one run a day, whichever worker gets there).
    reminders_enabled = BooleanField(default=False)
    reminder_steps = CharField(max_length=60, default="-3,0,7,21")
    reminders_run_on = DateField(null=True)

    @classmethod
    def get_solo(cls):
        """The business row without the logo's bytes, read once per unit of work (pages ask for
        it from several places); save_values() and set_logo() forget it."""
        from .unit import remember
        return remember("settings_row", cls._read_solo)

    @classmethod
    def _read_solo(cls):
        row = _settings_row.first()
        if row is None:
            cls.create(id=1)
            row = _settings_row.first()
        return row

    @property
    def language_list(self):
        return [code for code in self.languages.split(",") if code]

    @classmethod
    def save_values(cls, values):
        cls.update(values).where(cls.id == 1).execute()
        cls._forget()

    @classmethod
    def set_logo(cls, data, content_type):
        """Replace the logo (None: remove it); the hash goes with it, in the same statement."""
        digest = hashlib.sha256(data).hexdigest() if data else ""
        cls.save_values({"logo": data or None, "logo_type": content_type if data else "", "logo_hash": digest})
        if data:   # kept by hash: issued documents show the logo they were issued with
            LogoVersion.insert(hash=digest, data=data, content_type=content_type).on_conflict_ignore().execute()

    @staticmethod
    def _forget():
        from .unit import forget
        forget("settings_row")

    @classmethod
    def get_logo(cls, version=None):
        """(bytes, content type) of the business logo, or of the version with that hash (an
        issued document's), or None; reads only those two columns."""
        if version:
            kept = LogoVersion.get_or_none(LogoVersion.hash == version)
            return (bytes(kept.data), kept.content_type) if kept else None
        row = cls.select(cls.logo, cls.logo_type).where(cls.id == 1).first()
        if row is None or not row.logo:
            return None
        return bytes(row.logo), row.logo_type


class LogoVersion(BaseModel):
    """Every logo the business has used, by SHA-256: an issued document names the one it showed."""
    hash = CharField(max_length=64, unique=True)
    data = BlobField()
    content_type = CharField(max_length=40)
    created_at = DateTimeField(default=utcnow)


# The business row without the logo's bytes (get_logo() reads those where they are needed).
_settings_row = compiled(lambda: Settings.select(
    *[f for f in Settings._meta.sorted_fields if f.name != "logo"]).where(Settings.id == 1).limit(1))


STAFF_ROLES = ("owner", "accountant", "sales")


class StaffUser(BaseModel):
    """Someone of the business in the back-office. `role` decides which areas they reach
    (app/views/staff/roles.py); an invited user has no password until they open their link."""
    email = CharField(max_length=254, unique=True)
    name = CharField(max_length=200)
    password_hash = CharField(max_length=255)
    active = BooleanField(default=True)
    session_version = IntegerField(default=1)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)
    # Staff made before roles were all full administrators: they stay owners.
    role = CharField(max_length=12, default="owner",
                     constraints=[Check("role IN ('owner', 'accountant', 'sales')")])
    language = CharField(max_length=5, default="")          # their mails' language ("" = the business's)
    totp_secret = SealedTextField(null=True)               # set while enrolling, kept once confirmed
    totp_enabled = BooleanField(default=False)
    totp_last_step = BigIntegerField(default=0)             # the last accepted code's step: no replay

    @property
    def invited(self):
        return not self.password_hash

    @classmethod
    def active_owners(cls):
        return cls.select().where((cls.active == True) & (cls.role == "owner"))


class StaffSession(BaseModel):
    """A signed-in back-office browser, as PortalSession is for people: the cookie holds a random
    id whose SHA-256 is kept here, so deleting the row ends every copy of the cookie."""
    staff = ForeignKeyField(StaffUser, backref="sessions", on_delete="CASCADE")
    sid_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow)

    @classmethod
    def end_all(cls, staff, keep_hash=None):
        query = cls.staff == staff.id
        if keep_hash:
            query &= cls.sid_hash != keep_hash
        cls.delete().where(query).execute()


class StaffLink(BaseModel):
    """A single-use, time-limited link mailed to a staff user: an invitation (choose a first
    password) or a password reset. Only the token's hash is stored."""
    staff = ForeignKeyField(StaffUser, backref="links", on_delete="CASCADE")
    purpose = CharField(max_length=10, constraints=[Check("purpose IN ('invite', 'reset')")])
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    created_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")


class StaffRecoveryCode(BaseModel):
    """One of the ten single-use codes that stand in for a lost authenticator (SHA-256 only:
    the codes are random, so a fast hash is enough)."""
    staff = ForeignKeyField(StaffUser, backref="recovery_codes", on_delete="CASCADE")
    code_hash = CharField(max_length=64)
    used_at = DateTimeField(null=True)


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
        query = cls.active == True
        if product is not None:
            query |= cls.id.in_(ProductTax.select(ProductTax.tax_rate).where(ProductTax.product == product))
        return cls.select().where(query).order_by(cls.name, cls.rate_bp.desc(), cls.id)

    @classmethod
    def default_ids(cls):
        """The rates preselected on a new product or document line."""
        return [t.id for t in cls.select(cls.id).where((cls.active == True) & (cls.is_default == True))]


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
    country = CharField(max_length=2, default="")           # ISO 3166-1 alpha-2; empty: the business's
    language = CharField(max_length=5, default="")          # empty: the business default
    currency = CharField(max_length=3, default="")          # empty: the business default
    gateways = CharField(max_length=60, default="")         # comma list from GATEWAYS
    portal_enabled = BooleanField(default=False)
    catalog_enabled = BooleanField(default=False)
    issue_mail = BooleanField(default=True)        # mail its people each document issued
    no_reminders = BooleanField(default=False)     # never send this contact payment reminders
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
    role = CharField(max_length=8, default="owner",   # app/people.py; the CHECK since 0017
                     constraints=[Check("role IN ('owner', 'billing', 'buyer', 'viewer')")])
    totp_secret = SealedTextField(null=True)               # set while enrolling, kept once confirmed
    totp_enabled = BooleanField(default=False)
    totp_last_step = BigIntegerField(default=0)             # the last accepted code's step: no replay

    # flask-login: the id carries the session version, so bumping it ends every older session.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return f"{self.id}:{self.session_version}"

    @classmethod
    def active_of(cls, contact, roles=None):
        """The people who sign in for this contact and are not switched off: who is mailed;
        with `roles`, only people with one of them (app/people.py says who gets which mail)."""
        query = cls.select().where((cls.contact == contact) & (cls.active == True))
        return query if roles is None else query.where(cls.role.in_(list(roles)))

    @classmethod
    def by_email(cls, email):
        return cls.get_or_none(cls.email == (email or "").strip().lower())

    def can_sign_in(self):
        return self.active and self.contact.portal_enabled and not self.contact.archived


class Passkey(BaseModel):
    """A WebAuthn credential of a person (or of a staff user): its id (base64url), COSE public
    key and the authenticator's last signature counter, which must grow (a clone lags behind)."""
    person = ForeignKeyField(Person, null=True, backref="passkeys", on_delete="CASCADE")
    staff = ForeignKeyField(StaffUser, null=True, backref="passkeys", on_delete="CASCADE")
    credential_id = CharField(max_length=400, unique=True)
    public_key = BlobField()
    sign_count = BigIntegerField(default=0)
    name = CharField(max_length=100)
    transports = CharField(max_length=100, default="")
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)


class PersonRecoveryCode(BaseModel):
    """One of a person's ten single-use codes for a lost authenticator (SHA-256 of a random code)."""
    person = ForeignKeyField(Person, backref="recovery_codes", on_delete="CASCADE")
    code_hash = CharField(max_length=64)
    used_at = DateTimeField(null=True)


class PortalSession(BaseModel):
    """A signed-in browser. The cookie holds a random id whose hash is kept here, so signing
    out, a password change or revoked access end a session even if its cookie was copied."""
    person = ForeignKeyField(Person, backref="sessions", on_delete="CASCADE")
    sid_hash = CharField(max_length=64, unique=True)
    via = CharField(max_length=10, constraints=[Check("via IN ('password', 'link', 'passkey')")])   # 0017
    created_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(null=True)     # sessions opened by an access link end here
    user_agent = CharField(max_length=300, default="")   # the account page's signed-in devices
    ip = CharField(max_length=45, default="")

    @classmethod
    def end_all(cls, person):
        """Sign the person out on every device (the rows are what the cookies point to)."""
        cls.delete().where(cls.person == person.id).execute()


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


class TeamInvite(BaseModel):
    """An owner's (or staff's) invitation of a colleague to the contact's portal: single-use,
    expiring; only the token's hash is stored. Accepting it creates the person with `role`."""
    contact = ForeignKeyField(Contact, backref="invites", on_delete="CASCADE")
    email = CharField(max_length=254)
    name = CharField(max_length=200, default="")
    role = CharField(max_length=8, default="viewer")
    token_hash = CharField(max_length=64, unique=True)
    invited_by = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    invited_by_staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("contact", "created_at"), False),)


class KnownBrowser(BaseModel):
    """A browser a person has signed in from (a long-lived cookie's hash): a sign-in from a
    browser not listed here is mailed to the person."""
    person = ForeignKeyField(Person, backref="browsers", on_delete="CASCADE")
    token_hash = CharField(max_length=64)
    user_agent = CharField(max_length=300, default="")
    first_seen_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("person", "token_hash"), True),)


class AccountantLink(BaseModel):
    """A read-only door to one contact's documents that a person gives their accountant
    (app/accountants.py): used any number of times until it expires or is revoked. Only the
    token's hash is stored."""
    contact = ForeignKeyField(Contact, backref="accountant_links", on_delete="CASCADE")
    person = ForeignKeyField(Person, null=True, on_delete="SET NULL")   # who gave it
    email = CharField(max_length=254)
    label = CharField(max_length=80, default="")
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    revoked_at = DateTimeField(null=True)
    revoked_by_staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")

    class Meta:
        indexes = ((("contact", "created_at"), False),)


class AccountantUse(BaseModel):
    """One request made through an accountant link: when, from where, what."""
    link = ForeignKeyField(AccountantLink, backref="uses", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)
    ip = CharField(max_length=45, default="")
    method = CharField(max_length=8, default="GET")
    path = CharField(max_length=300, default="")
    status = IntegerField(default=200)

    class Meta:
        indexes = ((("link", "at"), False),)


class YearlyPack(BaseModel):
    """A ZIP of one contact's invoices and credit notes of a year (app/yearly_pack.py), built by
    a job, kept in the database (every app server sees it) until it expires."""
    contact = ForeignKeyField(Contact, backref="yearly_packs", on_delete="CASCADE")
    year = IntegerField()
    email = CharField(max_length=254)                 # where the link is mailed
    language = CharField(max_length=5, default="")
    person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    link = ForeignKeyField(AccountantLink, null=True, on_delete="SET NULL")
    status = CharField(max_length=8, default="queued",
                       constraints=[Check("status IN ('queued', 'ready', 'failed')")])
    created_at = DateTimeField(default=utcnow)
    ready_at = DateTimeField(null=True)
    expires_at = DateTimeField()
    files = IntegerField(default=0)
    size = IntegerField(default=0)
    data = BlobField(null=True)

    class Meta:
        indexes = ((("contact", "created_at"), False),)


# --- catalog --------------------------------------------------------------------------------

MAX_STOCK = 2_147_483_647   # the stock column is a 32-bit integer on PostgreSQL


class Category(BaseModel):
    name = CharField(max_length=120)
    parent = ForeignKeyField("self", null=True, backref="children", on_delete="SET NULL")
    position = IntegerField(default=0)

    @classmethod
    def every(cls):
        """Every category, siblings by position: what tree(), subtree_ids() and a trail walk,
        read once by a page that needs several of them."""
        return list(cls.select().order_by(cls.position, cls.name, cls.id))

    @classmethod
    def tree(cls, rows=None):
        """Every category as (category, depth): parents before children, siblings by position.
        `rows`: every() already read.

        Categories are few, so one query and a walk in Python beats a recursive CTE that
        would have to be written twice (SQLite and PostgreSQL)."""
        rows = cls.every() if rows is None else rows
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

    def subtree_ids(self, rows=None):
        """This category's id and the ids of all its descendants (`rows`: every() already read)."""
        children = {}
        pairs = (Category.select(Category.id, Category.parent).tuples() if rows is None
                 else [(row.id, row.parent_id) for row in rows])
        for cid, parent_id in pairs:
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

    @classmethod
    def catalog_tree(cls, rows=None):
        """The portal's category tree: (category, depth, products in it and below), leaving out
        branches with nothing a contact can see (`rows`: every() already read)."""
        own = dict(Product.select(Product.category, fn.COUNT(Product.id))
                   .where(Product.shown() & Product.category.is_null(False))
                   .group_by(Product.category).tuples())
        tree = cls.tree(rows)
        total = dict(own)
        for row, _depth in reversed(tree):   # children come after their parents: add them up
            if row.parent_id is not None and total.get(row.id):
                total[row.parent_id] = total.get(row.parent_id, 0) + total[row.id]
        return [(row, depth, total[row.id]) for row, depth in tree if total.get(row.id)]

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

    # The portal catalog: only active and visible products exist for a contact.
    @classmethod
    def shown(cls):
        return (cls.active == True) & (cls.visible == True)

    @classmethod
    def catalog(cls, q="", category_ids=None):
        """What a contact with catalog access can see: `search`, less inactive and hidden products."""
        return cls.search(q, category_ids).where(cls.shown())

    @classmethod
    def in_catalog(cls, product_id):
        """One product of the portal catalog, or None (inactive, hidden and unknown alike)."""
        return _product_in_catalog.first(product_id)

    @classmethod
    def first_images(cls, product_ids):
        """{product id: id of its first image}, for a page of products in one query."""
        found = {}
        rows = (ProductImage.select(ProductImage.id, ProductImage.product)
                .where(ProductImage.product.in_(list(product_ids)))
                .order_by(ProductImage.product, ProductImage.position, ProductImage.id))
        for image_id, product_id in rows.tuples():
            found.setdefault(product_id, image_id)
        return found

    @classmethod
    def tax_rates_of(cls, product_ids):
        """{product id: [(tax name, rate_bp)]}: what a document line copies into LineTax."""
        found = {pid: [] for pid in product_ids}
        if not found:
            return found   # an empty cart asks nothing
        rows = (ProductTax.select(ProductTax.product, TaxRate.name, TaxRate.rate_bp).join(TaxRate)
                .where(ProductTax.product.in_(list(product_ids)))
                .order_by(TaxRate.rate_bp.desc(), TaxRate.name))
        for product_id, name, rate_bp in rows.tuples():
            found[product_id].append((name, rate_bp))
        return found

    @classmethod
    def for_contact(cls, contact, product_id):
        """A product of the catalog for a contact with catalog access, or None (no access,
        inactive, hidden and unknown alike)."""
        return cls.in_catalog(product_id) if contact.catalog_enabled else None

    @classmethod
    def catalog_image(cls, image_id):
        """An image of a product in the portal catalog, or None (its product inactive or hidden)."""
        return (ProductImage.select(ProductImage.data, ProductImage.content_type).join(Product)
                .where((ProductImage.id == image_id) & cls.shown()).first())

    def take_stock(self, quantity, allow_short=False):
        """Take `quantity` for an order, in the caller's transaction; returns how many were taken.

        One conditional UPDATE: of many buyers for the last unit, the row count tells the one who
        got it (PostgreSQL re-checks the WHERE after waiting for the row; SQLite's IMMEDIATE
        transaction already serialises). None when short and `allow_short` is false; when the
        business sells out of stock, what is there is taken and the rest is a backorder."""
        won = (Product.update(stock=Product.stock - quantity, updated_at=utcnow())
               .where((Product.id == self.id) & (Product.stock >= quantity)).execute())
        if won:
            return quantity
        if not allow_short:
            return None
        row = Product.select(Product.stock).where(Product.id == self.id)
        have = (row if is_sqlite() else row.for_update()).scalar() or 0
        Product.update(stock=Product.stock - have, updated_at=utcnow()).where(
            (Product.id == self.id) & (Product.stock >= have)).execute()
        return have


class ProductTax(BaseModel):
    product = ForeignKeyField(Product, backref="product_taxes", on_delete="CASCADE")
    tax_rate = ForeignKeyField(TaxRate, on_delete="CASCADE")

    class Meta:
        indexes = ((("product", "tax_rate"), True),)


_product_in_catalog = compiled(lambda product_id: Product.select().where(
    (Product.id == product_id) & Product.shown()).limit(1))


class ProductImage(BaseModel):
    product = ForeignKeyField(Product, backref="images", on_delete="CASCADE")
    content_type = CharField(max_length=40)
    data = BlobField()
    position = IntegerField(default=0)

    @classmethod
    def for_contact(cls, contact, image_id):
        """An image of a catalog product, for a contact with catalog access; or None."""
        return Product.catalog_image(image_id) if contact.catalog_enabled else None

    @classmethod
    def count_for(cls, product):
        return cls.select(cls.id).where(cls.product == product).count()

    @classmethod
    def next_position(cls, product):
        last = cls.select(fn.MAX(cls.position)).where(cls.product == product).scalar()
        return 0 if last is None else last + 1


# --- documents ------------------------------------------------------------------------------

INVOICE, QUOTE, ORDER, CREDIT_NOTE = "invoice", "quote", "order", "credit_note"
KINDS = (INVOICE, QUOTE, ORDER, CREDIT_NOTE)

# status -> statuses it may move to, per kind. "Paid" and "accepted" are reached by payments
# and decisions, not by the staff status menu; overdue and expired are derived from dates.
TRANSITIONS = {
    # An invoice that credit notes cancel in full, with nothing paid, is "credited".
    INVOICE: {"draft": {"open", "void"}, "open": {"void"}, "paid": set(), "credited": set(), "void": set()},
    QUOTE: {"draft": {"open", "void"}, "open": {"void"}, "accepted": set(), "declined": set(),
            "void": set()},
    ORDER: {"draft": {"open", "cancelled"}, "open": {"confirmed", "cancelled"},
            "confirmed": {"shipped", "cancelled"}, "shipped": {"delivered"}, "delivered": set(),
            "cancelled": set()},
    # Issued at once (app/credit_notes.py) and never changed: a mistake is corrected by an invoice.
    CREDIT_NOTE: {"draft": {"issued"}, "issued": set()},
}
ISSUED_FROM_DRAFT = ("open", "issued")
STATUSES = sorted({s for table in TRANSITIONS.values() for s in table})
# Where a payment may land: an invoice while open, a sales order until it is cancelled.
PAYABLE_STATUSES = {INVOICE: ("open",), ORDER: ("open", "confirmed", "shipped", "delivered")}


class Document(BaseModel):
    contact = ForeignKeyField(Contact, backref="documents", on_delete="RESTRICT")
    kind = CharField(max_length=12, constraints=[Check("kind IN ('invoice', 'quote', 'order', 'credit_note')")])
    number = CharField(max_length=40, default="")   # empty while a draft: given when issued
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
    # Invoices: what issued credit notes took off (never above the total; app/credit_notes.py).
    amount_credited = BigIntegerField(default=0, constraints=[Check("amount_credited >= 0")])
    reason = TextField(default="")             # credit notes: why the invoice is rectified
    version = IntegerField(default=1)          # bumped on every change a customer could see
    # The quote an order came from; the invoice a credit note rectifies.
    source = ForeignKeyField("self", null=True, backref="derived", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    issued_at = DateTimeField(null=True)
    # An order placed from the portal's checkout: the form's one-time key (prefixed with the
    # contact id). Unique, so a double submission cannot make a second order.
    checkout_key = CharField(max_length=80, null=True, unique=True)
    # What the document showed when issued (app/snapshot.py): JSON, never changed afterwards.
    snapshot = TextField(null=True)
    # The public "verify this invoice" page's code (0014): 128 random bits, given when first needed.
    verify_code = CharField(max_length=32, null=True, unique=True)

    class Meta:
        indexes = (
            (("contact", "kind", "status", "issue_date"), False),
            # The portal lists: a contact's documents of a kind by date, drafts filtered on the
            # index itself, so page 1 and page 500 cost the same; with the currency and total,
            # the summary's chart sums a year of invoices from the index alone.
            (("contact", "kind", "issue_date", "id", "status", "currency", "total"), False),
            # Invoices and credit notes listed together by date (two kinds: the index above
            # cannot give that order); kind and status filter on the index (0011).
            (("contact", "issue_date", "id", "kind", "status"), False),
            # The summary: what is open, due, overdue or still valid, summed from the index alone.
            (("contact", "kind", "status", "due_date", "valid_until", "currency", "total", "amount_paid",
              "amount_credited"), False),
        )

    @property
    def amount_due(self):
        return max(self.total - self.amount_credited - self.amount_paid, 0)

    @property
    def credit_balance(self):
        """What the customer paid beyond what the invoice still asks, once credit notes took
        part of it off: the business owes it back (a refund, or a balance in their favour)."""
        return max(self.amount_paid + self.amount_credited - self.total, 0)

    @property
    def editable(self):
        return self.status == "draft"

    @property
    def is_payable(self):
        """An issued invoice or a live sales order with something still to pay."""
        return self.status in PAYABLE_STATUSES.get(self.kind, ()) and self.amount_due > 0

    def apply_payment(self, amount):
        """Raise amount_paid by `amount` in one conditional UPDATE, only while the document can
        take payments and the result stays within its total; an invoice paid in full becomes
        paid. False (and no change) otherwise. Call inside the transaction that records the
        payment; concurrent payments add up and cannot overshoot the total."""
        raised = (Document.update(amount_paid=Document.amount_paid + amount, updated_at=utcnow())
                  .where((Document.id == self.id)
                         & (Document.amount_paid + Document.amount_credited + amount <= Document.total)
                         & (Document.status.in_(PAYABLE_STATUSES.get(self.kind, ()))))
                  .execute())
        if not raised:
            return False
        self.settle_status()
        return True

    def take_back(self, amount):
        """Lower amount_paid by `amount` (a refund, a chargeback, a reversed payment) in one
        conditional UPDATE, never below zero; a paid invoice that owes again is open again.
        False (and no change) when less than `amount` was paid. Call inside the transaction
        that records why."""
        lowered = (Document.update(amount_paid=Document.amount_paid - amount, updated_at=utcnow())
                   .where((Document.id == self.id) & (Document.amount_paid >= amount)).execute())
        if lowered:
            self.settle_status()
        return bool(lowered)

    def settle_status(self):
        """An invoice's status follows its money: paid once payments and credit notes cover the
        total ("credited" when credit notes alone do), open again when they no longer do.
        Reads the row this transaction just changed; a void or draft invoice is left alone."""
        fresh = Document.get_by_id(self.id)
        status = fresh.status
        if fresh.kind == INVOICE and status in ("open", "paid", "credited"):
            covered = fresh.amount_paid + fresh.amount_credited >= fresh.total
            status = ("paid" if fresh.amount_paid else "credited") if covered else "open"
            if status != fresh.status:
                (Document.update(status=status, version=Document.version + 1)
                 .where((Document.id == self.id) & (Document.status == fresh.status)).execute())
        self.amount_paid, self.amount_credited = fresh.amount_paid, fresh.amount_credited
        self.status, self.updated_at = status, fresh.updated_at

    @classmethod
    def lock_rows(cls, ids):
        """Serialise work on these documents until the transaction ends: PostgreSQL locks the
        rows; SQLite's IMMEDIATE transaction already holds the database's write lock."""
        if not is_sqlite() and ids:
            list(cls.select(cls.id).where(cls.id.in_(sorted(ids))).order_by(cls.id).for_update())

    @classmethod
    def payable_invoices(cls, contact):
        """The contact's issued invoices with an amount due, oldest due first."""
        return (cls.visible_to(contact)
                .where((cls.kind == INVOICE) & (cls.status == "open")
                       & (cls.total > cls.amount_paid + cls.amount_credited))
                .order_by(cls.due_date, cls.issue_date, cls.id))

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

    def lines_with_taxes(self):
        """ordered_lines(), each with its `line_taxes` as a list: one query (a join), whatever
        the number of lines."""
        rows = (DocumentLine.select(DocumentLine, LineTax)
                .join(LineTax, JOIN.LEFT_OUTER, on=(LineTax.line == DocumentLine.id), attr="tax_row")
                .where(DocumentLine.document == self)
                .order_by(DocumentLine.position, DocumentLine.id, LineTax.id))
        found = {}
        for row in rows:
            line = found.setdefault(row.id, row)
            line.__dict__.setdefault("line_taxes", [])
            tax = row.__dict__.get("tax_row")
            if tax is not None and tax.id is not None:
                line.line_taxes.append(tax)
        return list(found.values())

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
        if self.status == "draft" and new_status in ISSUED_FROM_DRAFT:
            changes["issued_at"] = now
        won = (Document.update(changes)
               .where((Document.id == self.id) & (Document.status == self.status)).execute())
        if won:
            self.status = new_status
            self.version += 1
        return bool(won)

    def return_stock(self):
        """Put back what this order took from stock (call in the transaction that cancels it).
        Only what checkout took is returned: an order typed by staff never took any."""
        lines = (DocumentLine.select(DocumentLine.id, DocumentLine.product, DocumentLine.stock_taken)
                 .where((DocumentLine.document == self) & (DocumentLine.stock_taken > 0)
                        & DocumentLine.product.is_null(False)))
        for line in lines:
            Product.update(stock=Product.stock + line.stock_taken, updated_at=utcnow()).where(
                (Product.id == line.product_id) & (Product.track_stock == True)).execute()
        DocumentLine.update(stock_taken=0).where(DocumentLine.document == self).execute()

    @classmethod
    def placed_with(cls, contact, key):
        """The order this contact's checkout form (its one-time key) already placed, or None."""
        return _placed_with.first(contact.id, f"{contact.id}:{key}")

    # Queries a contact reaches: scoped to the contact, never drafts.
    @classmethod
    def visible_to(cls, contact):
        return cls.select().where((cls.contact == contact) & (cls.status != "draft"))

    @classmethod
    def for_contact(cls, contact, doc_id):
        """The contact's document `doc_id` (not a draft), or None; its contact is `contact`."""
        doc = _document_of.first(contact.id, doc_id)
        if doc is not None:
            doc.contact = contact   # the page needs it; spare the query
        return doc

    @classmethod
    def for_contact_seen(cls, contact, doc_id, person, action, since):
        """for_contact(), with `seen_recently`: whether `person` has an Activity `action` on it
        after `since`. The same query: the document page and the download log a view at most
        once a while, and would otherwise ask each time whether they did."""
        doc = _document_seen.first(contact.id, doc_id, person.id, action, Activity.created_at.db_value(since))
        if doc is not None:
            doc.contact = contact
            doc.seen_recently = bool(doc.seen_recently)
        return doc

    @classmethod
    def beside(cls, contact, doc, credit_notes, other_payable):
        """(the invoice's issued credit notes, oldest first; whether the contact has another
        payable invoice), in one query: the document page shows the first and offers to pay
        several invoices at once on the second. Each part is asked only when wanted."""
        if not (credit_notes or other_payable):
            return [], False
        wanted = []
        if credit_notes:
            wanted.append((cls.source == doc) & (cls.kind == CREDIT_NOTE))
        if other_payable:   # one is enough: the subquery stops at the first
            wanted.append(cls.id.in_(cls.payable_invoices(contact).where(cls.id != doc.id)
                                     .select(cls.id).limit(1)))
        where = wanted[0] if len(wanted) == 1 else wanted[0] | wanted[1]
        rows = list(cls.visible_to(contact).where(where).order_by(cls.issue_date, cls.id))
        notes = [row for row in rows if row.kind == CREDIT_NOTE and row.source_id == doc.id]
        return notes, other_payable and any(row.kind == INVOICE for row in rows)


_placed_with = compiled(lambda contact_id, checkout_key: Document.select().where(
    (Document.contact == contact_id) & (Document.checkout_key == checkout_key)).limit(1))
_document_of = compiled(lambda contact_id, doc_id: Document.visible_to(contact_id).where(
    Document.id == doc_id).limit(1))
_document_seen = compiled(lambda contact_id, doc_id, person_id, action, since: (
    Document.visible_to(contact_id)
    .select_extend(fn.EXISTS(Activity.select(Activity.id).where(
        (Activity.document == Document.id) & (Activity.person == person_id) & (Activity.action == action)
        & (Activity.created_at > since))).alias("seen_recently"))
    .where(Document.id == doc_id).limit(1)))


# A number is unique within its kind once given; drafts have none yet (an empty string).
Document.add_index(Document.index(Document.kind, Document.number, unique=True,
                                  where=(Document.number != "")))


class NumberSeries(BaseModel):
    """The numbers of one kind of document for one series code and year: F-2026-0001, 0002...

    `next_n` is taken inside the transaction that issues a document (an UPDATE that adds one,
    so the row's lock orders concurrent issues); `last_used` is the highest number given, below
    which staff may not set the series back."""
    kind = CharField(max_length=12)
    code = CharField(max_length=20)
    year = IntegerField()
    pattern = CharField(max_length=60, default="{code}-{year}-{n:04d}")
    next_n = IntegerField(default=1, constraints=[Check("next_n >= 1")])
    last_used = IntegerField(default=0, constraints=[Check("last_used >= 0 AND last_used < next_n")])

    class Meta:
        table_name = "number_series"
        indexes = ((("kind", "code", "year"), True),)


class DocumentLine(BaseModel):
    document = ForeignKeyField(Document, backref="lines", on_delete="CASCADE")
    position = IntegerField(default=0)
    product = ForeignKeyField(Product, null=True, on_delete="SET NULL")
    description = TextField()
    qty_milli = BigIntegerField(constraints=[Check("qty_milli > 0")])
    unit_price = BigIntegerField()
    discount_bp = IntegerField(default=0, constraints=[Check("discount_bp BETWEEN 0 AND 10000")])
    net = BigIntegerField(default=0)
    stock_taken = IntegerField(default=0, constraints=[Check("stock_taken >= 0")])  # returned on cancel

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
    # The document's contact, kept on the row (save() fills it in) so that a contact's payments
    # are found through one index, not through each of their documents: the summary's chart.
    contact = ForeignKeyField(Contact, backref="payments", on_delete="RESTRICT")
    gateway = CharField(max_length=10, constraints=[
        Check("gateway IN ('manual', 'stripe', 'paypal', 'square')")])
    amount = BigIntegerField(constraints=[Check("amount > 0")])
    currency = CharField(max_length=3)
    status = CharField(max_length=12, default="pending", constraints=[
        Check("status IN ('pending', 'succeeded', 'failed', 'cancelled', 'refunded', 'reversed')")])
    # Refunded through the gateway (refunds and lost chargebacks, app/refunds.py): never above the amount.
    amount_refunded = BigIntegerField(default=0, constraints=[
        Check("amount_refunded >= 0 AND amount_refunded <= amount")])
    reversed_at = DateTimeField(null=True)                 # a manual payment taken back by staff
    reversal_reason = CharField(max_length=300, default="")
    provider_ref = CharField(max_length=120, default="")   # checkout session, order or link id
    idempotency_key = CharField(max_length=80, unique=True)
    method_note = CharField(max_length=200, default="")     # manual: transfer, cash...
    flagged = BooleanField(default=False)                  # e.g. paid twice: staff must look
    flag_reason = CharField(max_length=200, default="")
    paid_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    # Online payments (app/payments): who started it, with which keys, what was asked for.
    person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    mode = CharField(max_length=4, default="")              # test | live: the keys it was made with
    intent = CharField(max_length=200, default="", index=True)   # gateway, documents, amount
    checkout_url = CharField(max_length=1000, default="")   # the hosted page, reused by a double click
    provider_payment_ref = CharField(max_length=120, default="")  # payment intent, capture, payment
    returned_at = DateTimeField(null=True)                 # the person came back from the gateway
    processing_since = DateTimeField(null=True)            # the gateway said the money is on its way
    last_error = CharField(max_length=300, default="")
    updated_at = DateTimeField(default=utcnow)

    ONLINE = ("stripe", "paypal", "square")

    class Meta:
        indexes = ((("contact", "status", "currency", "paid_at", "amount"), False),)

    def save(self, *args, **kwargs):
        if self.contact_id is None and self.document_id is not None:
            self.contact_id = self.document.contact_id
        return super().save(*args, **kwargs)

    @classmethod
    def by_ref(cls, gateway, ref):
        return cls.get_or_none((cls.gateway == gateway) & (cls.provider_ref == ref)) if ref else None

    @classmethod
    def reusable(cls, intent, since):
        """A checkout started for exactly this (same gateway, documents and amount) a moment
        ago and still open: a second click goes to it instead of starting another."""
        return (cls.select().where((cls.intent == intent) & (cls.status == "pending")
                                   & (cls.created_at > since))
                .order_by(cls.id.desc()).first())

    # Queries a contact reaches: scoped to the contact.
    @classmethod
    def visible_to(cls, contact):
        return cls.select().where(cls.contact == contact)

    @classmethod
    def for_contact(cls, contact, payment_id):
        """An online payment for this contact's documents, or None; its document (read with it)
        has `contact` as its contact."""
        payment = (cls.select(cls, Document).join(Document)
                   .where((cls.id == payment_id) & (Document.contact == contact) & cls.gateway.in_(cls.ONLINE))
                   .first())
        if payment is not None:
            payment.document.contact = contact   # the receipt needs it; spare the query
        return payment

    @classmethod
    def for_document(cls, document):
        """Every payment that touches the document: its own and its share of grouped ones."""
        # One IN over a UNION, each side on its own index: "document = x OR id IN (...)" is a
        # scan of every payment on PostgreSQL (85 ms at 480,000 payments).
        return cls.select().where(cls.id.in_(cls._ids_touching(document)))

    @staticmethod
    def _ids_touching(document):
        own = Payment.select(Payment.id).where(Payment.document == document)
        return own | PaymentAllocation.select(PaymentAllocation.payment).where(PaymentAllocation.document == document)

    @classmethod
    def touching_with_refunds(cls, document):
        """for_document(), oldest paid first, each with `completed_refunds` (its succeeded
        refunds, oldest first): one query, whatever the number of payments and refunds. The
        document page picks its lists (payments, receipts, the one processing) from these."""
        rows = (cls.select(cls, Refund)
                .join(Refund, JOIN.LEFT_OUTER, on=((Refund.payment == cls.id) & (Refund.status == "succeeded")),
                      attr="refund_row")
                .where(cls.id.in_(cls._ids_touching(document)))
                .order_by(cls.paid_at, cls.id, Refund.settled_at, Refund.id))
        found = {}
        for row in rows:
            payment = found.setdefault(row.id, row)
            payment.__dict__.setdefault("completed_refunds", [])
            refund = row.__dict__.get("refund_row")
            if refund is not None and refund.id is not None:
                payment.completed_refunds.append(refund)
        return list(found.values())

    def is_processing(self, since):
        """Whether this is the online payment the person came back from and the gateway has
        not confirmed yet (for `since` at most), or that the gateway itself says is on its way
        (a bank debit: as long as it takes, so the customer is not offered to pay twice)."""
        return self.status == "pending" and (self.processing_since is not None
                                             or (self.returned_at is not None and self.created_at > since))

    @classmethod
    def staff_list(cls, contact=None, document=None, flagged=False, gateway=""):
        query = cls.select(cls, Document, Contact).join(Document).join(Contact)
        if contact is not None:
            query = query.where(Document.contact == contact)
        if document is not None:
            query = query.where(cls.id.in_(cls.for_document(document).select(cls.id)))
        if flagged:
            query = query.where(cls.flagged == True)
        if gateway:
            query = query.where(cls.gateway == gateway)
        return query.order_by(cls.created_at.desc(), cls.id.desc())

    @classmethod
    def to_reconcile(cls, since):
        """Online payments a lost webhook may have left behind: not settled, made recently."""
        return (cls.select().where(cls.gateway.in_(cls.ONLINE) & (cls.status != "succeeded")
                                   & (cls.status != "refunded") & (cls.created_at > since))
                .order_by(cls.id))

    def shares(self):
        return (PaymentAllocation.select(PaymentAllocation, Document).join(Document)
                .where(PaymentAllocation.payment == self).order_by(PaymentAllocation.id))

    @property
    def refundable(self):
        """What may still be refunded through the gateway."""
        if self.gateway not in self.ONLINE or self.status not in ("succeeded", "refunded"):
            return 0
        return self.amount - self.amount_refunded

    def refunds(self):
        return Refund.select().where(Refund.payment == self).order_by(Refund.created_at, Refund.id)


class Refund(BaseModel):
    """Money given back on an online payment: a refund we asked the gateway for (staff, API),
    one made in the gateway's own dashboard, or a chargeback the customer's bank won. Applied
    once (app/refunds.py): the row moves to succeeded by a conditional UPDATE, and a gateway's
    refund id is unique per gateway."""
    payment = ForeignKeyField(Payment, backref="refund_rows", on_delete="RESTRICT")
    kind = CharField(max_length=12, default="refund", constraints=[Check("kind IN ('refund', 'chargeback')")])
    gateway = CharField(max_length=10)
    amount = BigIntegerField(constraints=[Check("amount > 0")])
    currency = CharField(max_length=3)
    status = CharField(max_length=10, default="pending", constraints=[
        Check("status IN ('pending', 'succeeded', 'failed')")])
    provider_ref = CharField(max_length=120, default="")    # the gateway's refund or dispute id
    idempotency_key = CharField(max_length=80, unique=True)
    reason = CharField(max_length=300, default="")
    origin = CharField(max_length=10, default="staff", constraints=[Check("origin IN ('staff', 'api', 'gateway')")])
    created_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    last_error = CharField(max_length=300, default="")
    created_at = DateTimeField(default=utcnow)
    settled_at = DateTimeField(null=True)

    @classmethod
    def by_ref(cls, gateway, ref):
        return cls.get_or_none((cls.gateway == gateway) & (cls.provider_ref == ref)) if ref else None


Refund.add_index(Refund.index(Refund.gateway, Refund.provider_ref, unique=True, where=(Refund.provider_ref != "")))


class PaymentEvent(BaseModel):
    """A gateway event, stored once: the unique id is what makes a redelivery a no-op."""
    gateway = CharField(max_length=10)
    event_id = CharField(max_length=120)
    kind = CharField(max_length=80, default="")
    payload = TextField(default="")
    received_at = DateTimeField(default=utcnow)
    # What the event said and what we did with it (kept even when nothing was applied).
    payment = ForeignKeyField(Payment, null=True, backref="events", on_delete="SET NULL")
    amount = BigIntegerField(null=True)
    currency = CharField(max_length=3, default="")
    outcome = CharField(max_length=300, default="")

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

    @classmethod
    def of(cls, contact, lock=False):
        """The contact's cart with its products, in the order things were added. `lock` (in a
        transaction) holds the rows on PostgreSQL, so two checkouts of one cart take turns."""
        if lock and not is_sqlite():
            return _cart_of.build(contact.id).for_update(of=cls)
        return _cart_of(contact.id)

    @classmethod
    def quantity_of(cls, contact):
        """Units in the contact's cart: the header's badge."""
        return _cart_units.scalar(contact.id) or 0

    @classmethod
    def find(cls, contact, product_id):
        return _cart_item.first(contact.id, product_id)

    @classmethod
    def put(cls, contact, product, quantity, unit_price):
        """Add units to the cart in one statement (a second add of a product adds up)."""
        (cls.insert(contact=contact, product=product, quantity=quantity, unit_price_seen=unit_price)
         .on_conflict(conflict_target=[cls.contact, cls.product],
                      update={cls.quantity: cls.quantity + quantity, cls.unit_price_seen: unit_price})
         .execute())

    @classmethod
    def set_quantity(cls, contact, product_id, quantity, unit_price):
        """Set a line's quantity; the price shown with it counts as seen. False if not in the cart."""
        return bool(cls.update(quantity=quantity, unit_price_seen=unit_price)
                    .where((cls.contact == contact) & (cls.product == product_id)).execute())

    @classmethod
    def remove(cls, contact, product_id):
        return bool(cls.delete().where((cls.contact == contact) & (cls.product == product_id)).execute())

    @classmethod
    def for_contact(cls, contact, product_id):
        """The contact's cart line of a product, with the product, or None."""
        return (cls.select(cls, Product).join(Product)
                .where((cls.contact == contact) & (cls.product == product_id)).first())


_cart_item = compiled(lambda contact_id, product_id: CartItem.select().where(
    (CartItem.contact == contact_id) & (CartItem.product == product_id)).limit(1))
_cart_of = compiled(lambda contact_id: CartItem.select(CartItem, Product).join(Product)
                   .where(CartItem.contact == contact_id).order_by(CartItem.added_at, CartItem.id))
_cart_units = compiled(lambda contact_id: CartItem.select(fn.COALESCE(fn.SUM(CartItem.quantity), 0))
                       .where(CartItem.contact == contact_id).tuples())


class ApiToken(BaseModel):
    """A bearer token for /api/v1. Only its SHA-256 is kept; the token is shown once."""
    name = CharField(max_length=100)          # also the author name of comments posted with it
    token_hash = CharField(max_length=64, unique=True)
    prefix = CharField(max_length=16)         # the first characters, to tell tokens apart
    can_write = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)

    @classmethod
    def listed(cls):
        return cls.select().order_by(cls.revoked_at.is_null(False), cls.created_at.desc(), cls.id.desc())

    @classmethod
    def by_hash(cls, digest):
        return cls.get_or_none((cls.token_hash == digest) & cls.revoked_at.is_null())

    def touch(self, now):
        """Record use at most once a minute: one write per request would be a write per read."""
        if self.last_used_at is None or now - self.last_used_at > datetime.timedelta(minutes=1):
            ApiToken.update(last_used_at=now).where(ApiToken.id == self.id).execute()
            self.last_used_at = now

    def revoke(self):
        return bool(ApiToken.update(revoked_at=utcnow())
                    .where((ApiToken.id == self.id) & ApiToken.revoked_at.is_null()).execute())


class Activity(BaseModel):
    """What happened: a document viewed or downloaded, a sign-in, a decision; and the audit
    trail of money and status (AUDIT_ACTIONS), which names who acted: a staff user, an API
    token, a customer's person, or `actor` (a gateway, "system"), with `data` (JSON) saying
    what changed."""
    contact = ForeignKeyField(Contact, null=True, on_delete="CASCADE")
    person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    api_token = ForeignKeyField(ApiToken, null=True, on_delete="SET NULL")
    actor = CharField(max_length=40, default="")
    document = ForeignKeyField(Document, null=True, on_delete="CASCADE")
    action = CharField(max_length=40)
    detail = CharField(max_length=400, default="")
    data = TextField(default="")
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        # The summary's "recent activity": a contact's newest rows first, however long its history.
        indexes = ((("contact", "created_at"), False),)

    # What changes money or status: the document's audit trail (staff page, API).
    AUDIT_ACTIONS = ("status_open", "status_void", "status_confirmed", "status_shipped", "status_delivered",
                     "status_cancelled", "status_issued", "status_paid", "status_credited",
                     "credit_note_issued", "payment_manual", "payment_succeeded", "payment_reversed",
                     "refund_requested", "refund_succeeded", "refund_failed", "chargeback",
                     "dispute_opened", "dispute_closed", "quote_accepted", "quote_declined", "order_placed")

    @classmethod
    def trail(cls, document):
        """The document's audit trail, oldest first."""
        return (cls.select().where((cls.document == document) & cls.action.in_(cls.AUDIT_ACTIONS))
                .order_by(cls.created_at, cls.id))

    @property
    def who(self):
        """A name for whoever acted, for staff."""
        if self.staff_id:
            return self.staff.name if self.staff else ""
        if self.api_token_id:
            return "API: " + (self.api_token.name if self.api_token else "")
        if self.person_id:
            return self.person.name if self.person else ""
        return self.actor

    @classmethod
    def visible_to(cls, contact):
        """What happened on the contact's own issued documents, with the document."""
        return (cls.select(cls, Document).join(Document)
                .where((cls.contact == contact) & (Document.contact == contact) & (Document.status != "draft")))

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
    def finish(cls, job_id, token, now, payload=None):
        """Mark done, only if we still hold the lease (False: another worker took it over);
        `payload`, when given, replaces what the row keeps (in the same UPDATE)."""
        changes = {"status": "done", "done_at": now, "locked_until": None, "lock_token": ""}
        if payload is not None:
            changes["payload"] = payload
        return cls.update(changes).where(cls._leased(job_id, token)).execute() == 1

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
    def hand_back(cls, job_id, token, now):
        """A stopping worker gives back a job it could not finish: due again at once, and the
        attempt it had begun not counted (it was cut short, not failed)."""
        return (cls.update(status="pending", run_after=now, locked_until=None, lock_token="",
                           attempts=cls.attempts - 1)
                .where(cls._leased(job_id, token) & (cls.attempts > 0)).execute() == 1)

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
    def oldest_due(cls, now):
        """When the longest-waiting due pending job came due, or None."""
        first = (cls.select(cls.run_after).where((cls.status == "pending") & (cls.run_after <= now))
                 .order_by(cls.run_after).first())
        return first.run_after if first else None

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


# --- the business's other software: API tokens and outgoing webhooks ---------------------------

class IdempotencyRecord(BaseModel):
    """The first answer to a creating API request sent with an Idempotency-Key, replayed to
    retries. Written in the request's own transaction, so it exists exactly when its effects do."""
    token = ForeignKeyField(ApiToken, on_delete="CASCADE")
    key = CharField(max_length=255)
    fingerprint = CharField(max_length=64)    # SHA-256 of method, path and body
    status_code = IntegerField()
    body = TextField()
    location = CharField(max_length=500, default="")
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("token", "key"), True),)


WEBHOOK_EVENTS = ("document.viewed", "quote.accepted", "quote.declined", "payment.succeeded",
                  "payment.failed", "order.created", "comment.created", "invoice.issued", "invoice.paid",
                  "credit_note.issued", "payment.refunded", "payment.reversed", "invoice.reminder_sent")


class WebhookEndpoint(BaseModel):
    """A URL of the business's other software that receives signed events."""
    url = CharField(max_length=500)
    description = CharField(max_length=200, default="")
    secret = SealedTextField()                # signs deliveries: kept encrypted, opened to sign
    events = CharField(max_length=400)        # comma list from WEBHOOK_EVENTS
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")

    @property
    def event_list(self):
        return [e for e in self.events.split(",") if e in WEBHOOK_EVENTS]

    @classmethod
    def listening_to(cls, event_type):
        """Active endpoints subscribed to this event (the list is short: filtered in Python,
        which beats a LIKE on a comma list that both databases must agree on)."""
        return [e for e in cls.select().where(cls.active == True).order_by(cls.id)
                if event_type in e.event_list]


class WebhookDelivery(BaseModel):
    """One event for one endpoint. The body is fixed when the event happens; each attempt signs
    it afresh. The Job carries the retries; this row is what staff read."""
    endpoint = ForeignKeyField(WebhookEndpoint, backref="deliveries", on_delete="CASCADE")
    event_id = CharField(max_length=40)
    event_type = CharField(max_length=40)
    body = TextField()
    status = CharField(max_length=10, default="pending", constraints=[
        Check("status IN ('pending', 'succeeded', 'failed')")])
    attempts = IntegerField(default=0)
    job = ForeignKeyField(Job, null=True, on_delete="SET NULL")
    last_status_code = IntegerField(null=True)
    last_error = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    delivered_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("endpoint", "event_id"), True), (("endpoint", "created_at"), False))

    def ordered_attempts(self):
        return (WebhookAttempt.select().where(WebhookAttempt.delivery == self)
                .order_by(WebhookAttempt.attempted_at.desc(), WebhookAttempt.id.desc()))


class WebhookAttempt(BaseModel):
    """One try at sending a delivery: when, what came back, how long it took."""
    delivery = ForeignKeyField(WebhookDelivery, backref="attempt_rows", on_delete="CASCADE")
    attempted_at = DateTimeField(default=utcnow)
    status_code = IntegerField(null=True)
    error = TextField(default="")
    duration_ms = IntegerField(default=0)


# --- online payments: grouped payments and gateway keys -----------------------------------------

class PaymentAllocation(BaseModel):
    """The share of an online payment meant for one document: one payment can settle several
    invoices. `applied` is what actually reached the document (less when it was paid meanwhile)."""
    payment = ForeignKeyField(Payment, backref="allocations", on_delete="CASCADE")
    document = ForeignKeyField(Document, backref="allocations", on_delete="RESTRICT")
    amount = BigIntegerField(constraints=[Check("amount > 0")])
    applied = BigIntegerField(default=0)

    class Meta:
        indexes = ((("payment", "document"), True),)


class GatewayConfig(BaseModel):
    """A payment gateway's keys as staff entered them, for test and for live, and which set is
    in use. Environment variables override them (app/payments/__init__.py)."""
    gateway = CharField(max_length=10, unique=True, constraints=[
        Check("gateway IN ('stripe', 'paypal', 'square')")])
    mode = CharField(max_length=4, default="test", constraints=[Check("mode IN ('test', 'live')")])
    # JSON {field: value}, encrypted at rest (app/sealed.py): a backup holds no live key.
    test_credentials = SealedTextField(default="{}")
    live_credentials = SealedTextField(default="{}")
    updated_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")

    def credentials(self, mode):
        try:
            data = json.loads(self.live_credentials if mode == "live" else self.test_credentials)
        except ValueError:   # includes a value no configured key opens (read as "")
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str) and v} if isinstance(data, dict) else {}



class Heartbeat(BaseModel):
    """When a long-running process last showed it was alive (the worker, every minute), for
    /readyz: one row per process kind, shared by every server of the installation."""
    name = CharField(max_length=40, primary_key=True)
    seen_at = DateTimeField()

    @classmethod
    def beat(cls, name, now):
        (cls.insert(name=name, seen_at=now)
         .on_conflict(conflict_target=[cls.name], update={cls.seen_at: now}).execute())

    @classmethod
    def last(cls, name):
        row = cls.get_or_none(cls.name == name)
        return row.seen_at if row else None


class ContactFigure(BaseModel):
    """A contact's summary figure for one currency and day, kept by database triggers in the same
    transaction as every change to documents and payments (migrations/0010_contact_figures.py
    says what each figure counts; app/figures.py checks them against the documents)."""
    contact = ForeignKeyField(Contact, on_delete="CASCADE")
    figure = CharField(max_length=10)
    currency = CharField(max_length=3)
    day = DateField()            # a due date, a last valid day or a month's first day; NO_DAY: none
    amount = BigIntegerField(default=0)
    count = IntegerField(default=0)

    NO_DAY = datetime.date(9999, 12, 31)

    class Meta:
        indexes = ((("contact", "figure", "currency", "day"), True),)


class ReminderMail(BaseModel):
    """A payment reminder sent to a contact's people (one mail each, in their language) on a
    day, listing the invoices in `items`. A scheduled one has auto_day = day, unique per
    contact: at most one a day, whichever worker sends it. One sent now by staff has none."""
    contact = ForeignKeyField(Contact, backref="reminder_mails", on_delete="CASCADE")
    day = DateField()
    auto_day = DateField(null=True)
    staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    recipients = TextField(default="")       # the addresses mailed, comma separated
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("contact", "auto_day"), True), (("contact", "created_at"), False))

    @property
    def manual(self):
        return self.auto_day is None

    @property
    def recipient_list(self):
        return [a for a in self.recipients.split(",") if a]


class Reminder(BaseModel):
    """One invoice in a reminder mail, and why it is there: its schedule's `step` came (unique
    per invoice and step: a step is sent once, whatever the number of workers), it was
    `listed` because it is overdue too, or staff sent it `manual`ly (no step used up)."""
    document = ForeignKeyField(Document, backref="reminders", on_delete="CASCADE")
    mail = ForeignKeyField(ReminderMail, backref="items", on_delete="CASCADE")
    cause = CharField(max_length=8, constraints=[Check("cause IN ('step', 'listed', 'manual')")])
    step = IntegerField(null=True)           # days from the due date (negative: before)
    days_overdue = IntegerField()            # on the day sent; negative: days before the due date
    amount_due = BigIntegerField()           # what the mail said was due
    currency = CharField(max_length=3)

    class Meta:
        indexes = ((("document", "step"), True),)


MODELS = [Settings, StaffUser, TaxRate, Contact, Person, PortalSession, AccessLink, Category, Product,
          ProductTax, ProductImage, Document, DocumentLine, LineTax, Payment, PaymentEvent,
          Comment, QuoteDecision, CartItem, Activity, Job, ApiToken, IdempotencyRecord,
          WebhookEndpoint, WebhookDelivery, WebhookAttempt, PaymentAllocation, GatewayConfig, NumberSeries, LogoVersion,
          Refund, Heartbeat, StaffSession, StaffLink, StaffRecoveryCode, ContactFigure,
          AccountantLink, AccountantUse, YearlyPack,
          ReminderMail, Reminder, TeamInvite, KnownBrowser, Passkey, PersonRecoveryCode]

