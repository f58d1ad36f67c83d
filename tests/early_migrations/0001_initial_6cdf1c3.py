"""The initial schema."""
# Generated from a schema diff on 2026-11-27 11:55.
from peewee import *


def up(migrator, db):
    class Contact(Model):
        kind = CharField(max_length=10, default='company', constraints=[SQL("CHECK (kind IN ('company', 'person'))")])
        name = CharField(max_length=200)
        tax_id = CharField(max_length=40, default='')
        email = CharField(max_length=254, default='')
        phone = CharField(max_length=40, default='')
        billing_address = TextField(default='')
        shipping_address = TextField(default='')
        language = CharField(max_length=5, default='')
        currency = CharField(max_length=3, default='')
        gateways = CharField(max_length=60, default='')
        portal_enabled = BooleanField(default=False)
        catalog_enabled = BooleanField(default=False)
        discount_bp = IntegerField(default=0, constraints=[SQL('CHECK (discount_bp BETWEEN 0 AND 10000)')])
        notes = TextField(default='')
        archived = BooleanField(default=False)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'contact'
    db.create_tables([Contact])

    class Person(Model):
        contact = ForeignKeyField(Contact, on_delete='CASCADE')
        name = CharField(max_length=200)
        email = CharField(unique=True, max_length=254)
        password_hash = CharField(null=True)
        language = CharField(max_length=5, default='')
        active = BooleanField(default=True)
        session_version = IntegerField(default=1)
        created_at = DateTimeField()
        last_login_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'person'
    db.create_tables([Person])

    class StaffUser(Model):
        email = CharField(unique=True, max_length=254)
        name = CharField(max_length=200)
        password_hash = CharField()
        active = BooleanField(default=True)
        session_version = IntegerField(default=1)
        created_at = DateTimeField()
        last_login_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'staff_user'
    db.create_tables([StaffUser])

    class AccessLink(Model):
        person = ForeignKeyField(Person, on_delete='CASCADE')
        purpose = CharField(max_length=10, default='access', constraints=[SQL("CHECK (purpose IN ('access', 'reset'))")])
        token_hash = CharField(unique=True, max_length=64)
        created_at = DateTimeField()
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)
        created_by = ForeignKeyField(StaffUser, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'access_link'
    db.create_tables([AccessLink])

    class Document(Model):
        contact = ForeignKeyField(Contact, on_delete='RESTRICT')
        kind = CharField(max_length=10, constraints=[SQL("CHECK (kind IN ('invoice', 'quote', 'order'))")])
        number = CharField(max_length=40)
        status = CharField(max_length=12, default='draft')
        issue_date = DateField()
        due_date = DateField(null=True)
        valid_until = DateField(null=True)
        currency = CharField(max_length=3)
        reference = CharField(max_length=80, default='')
        notes = TextField(default='')
        terms = TextField(default='')
        shipping_address = TextField(default='')
        subtotal = BigIntegerField(default=0)
        tax_total = BigIntegerField(default=0)
        total = BigIntegerField(default=0)
        amount_paid = BigIntegerField(default=0, constraints=[SQL('CHECK (amount_paid >= 0)')])
        version = IntegerField(default=1)
        source = ForeignKeyField('self', null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        updated_at = DateTimeField()
        issued_at = DateTimeField(null=True)
        checkout_key = CharField(unique=True, null=True, max_length=80)
        class Meta:
            database = db
            table_name = 'document'
            indexes = ((('kind', 'number'), True), (('contact', 'kind', 'status', 'issue_date'), False), (('contact', 'kind', 'issue_date', 'id', 'status'), False))
    db.create_tables([Document])

    class Activity(Model):
        contact = ForeignKeyField(Contact, null=True, on_delete='CASCADE')
        person = ForeignKeyField(Person, null=True, on_delete='SET NULL')
        staff = ForeignKeyField(StaffUser, null=True, on_delete='SET NULL')
        document = ForeignKeyField(Document, null=True, on_delete='CASCADE')
        action = CharField(max_length=40)
        detail = CharField(max_length=400, default='')
        created_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'activity'
    db.create_tables([Activity])

    class ApiToken(Model):
        name = CharField(max_length=100)
        token_hash = CharField(unique=True, max_length=64)
        prefix = CharField(max_length=16)
        can_write = BooleanField(default=True)
        created_at = DateTimeField()
        created_by = ForeignKeyField(StaffUser, null=True, on_delete='SET NULL')
        last_used_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'api_token'
    db.create_tables([ApiToken])

    class Category(Model):
        name = CharField(max_length=120)
        parent = ForeignKeyField('self', null=True, on_delete='SET NULL')
        position = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'category'
    db.create_tables([Category])

    class Product(Model):
        sku = CharField(unique=True, max_length=60)
        name = CharField(max_length=200)
        description = TextField(default='')
        category = ForeignKeyField(Category, null=True, on_delete='SET NULL')
        price = BigIntegerField(constraints=[SQL('CHECK (price >= 0)')])
        currency = CharField(max_length=3, default='EUR')
        track_stock = BooleanField(default=True)
        stock = IntegerField(default=0, constraints=[SQL('CHECK (stock >= 0)')])
        active = BooleanField(default=True)
        visible = BooleanField(default=True)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'product'
    db.create_tables([Product])

    class CartItem(Model):
        contact = ForeignKeyField(Contact, on_delete='CASCADE')
        product = ForeignKeyField(Product, on_delete='CASCADE')
        quantity = IntegerField(constraints=[SQL('CHECK (quantity > 0)')])
        unit_price_seen = BigIntegerField()
        added_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'cart_item'
            indexes = ((('contact', 'product'), True),)
    db.create_tables([CartItem])

    class Comment(Model):
        document = ForeignKeyField(Document, on_delete='CASCADE')
        person = ForeignKeyField(Person, null=True, on_delete='SET NULL')
        staff = ForeignKeyField(StaffUser, null=True, on_delete='SET NULL')
        author_name = CharField(max_length=200)
        body = TextField(constraints=[SQL('CHECK (length(body) BETWEEN 1 AND 5000)')])
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'comment'
    db.create_tables([Comment])

    class DocumentLine(Model):
        document = ForeignKeyField(Document, on_delete='CASCADE')
        position = IntegerField(default=0)
        product = ForeignKeyField(Product, null=True, on_delete='SET NULL')
        description = TextField()
        qty_milli = BigIntegerField(constraints=[SQL('CHECK (qty_milli > 0)')])
        unit_price = BigIntegerField()
        discount_bp = IntegerField(default=0, constraints=[SQL('CHECK (discount_bp BETWEEN 0 AND 10000)')])
        net = BigIntegerField(default=0)
        stock_taken = IntegerField(default=0, constraints=[SQL('CHECK (stock_taken >= 0)')])
        class Meta:
            database = db
            table_name = 'document_line'
            indexes = ((('document', 'position'), False),)
    db.create_tables([DocumentLine])

    class GatewayConfig(Model):
        gateway = CharField(unique=True, max_length=10, constraints=[SQL("CHECK (gateway IN ('stripe', 'paypal', 'square'))")])
        mode = CharField(max_length=4, default='test', constraints=[SQL("CHECK (mode IN ('test', 'live'))")])
        test_credentials = TextField(default='{}')
        live_credentials = TextField(default='{}')
        updated_at = DateTimeField()
        updated_by = ForeignKeyField(StaffUser, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'gateway_config'
    db.create_tables([GatewayConfig])

    class IdempotencyRecord(Model):
        token = ForeignKeyField(ApiToken, on_delete='CASCADE')
        key = CharField()
        fingerprint = CharField(max_length=64)
        status_code = IntegerField()
        body = TextField()
        location = CharField(max_length=500, default='')
        created_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'idempotency_record'
            indexes = ((('token', 'key'), True),)
    db.create_tables([IdempotencyRecord])

    class Job(Model):
        kind = CharField(max_length=40)
        payload = TextField()
        status = CharField(max_length=10, default='pending', constraints=[SQL("CHECK (status IN ('pending', 'running', 'done', 'failed'))")])
        attempts = IntegerField(default=0)
        max_attempts = IntegerField(default=8)
        run_after = DateTimeField()
        locked_until = DateTimeField(null=True)
        lock_token = CharField(max_length=32, default='')
        last_error = TextField(default='')
        created_at = DateTimeField()
        done_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'job'
            indexes = ((('status', 'run_after'), False),)
    db.create_tables([Job])

    class LineTax(Model):
        line = ForeignKeyField(DocumentLine, on_delete='CASCADE')
        name = CharField(max_length=40)
        rate_bp = IntegerField()
        class Meta:
            database = db
            table_name = 'line_tax'
    db.create_tables([LineTax])

    class Payment(Model):
        document = ForeignKeyField(Document, on_delete='RESTRICT')
        gateway = CharField(max_length=10, constraints=[SQL("CHECK (gateway IN ('manual', 'stripe', 'paypal', 'square'))")])
        amount = BigIntegerField(constraints=[SQL('CHECK (amount > 0)')])
        currency = CharField(max_length=3)
        status = CharField(max_length=12, default='pending', constraints=[SQL("CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled', 'refunded'))")])
        provider_ref = CharField(max_length=120, default='')
        idempotency_key = CharField(unique=True, max_length=80)
        method_note = CharField(max_length=200, default='')
        flagged = BooleanField(default=False)
        flag_reason = CharField(max_length=200, default='')
        paid_at = DateTimeField(null=True)
        created_at = DateTimeField()
        created_by = ForeignKeyField(StaffUser, null=True, on_delete='SET NULL')
        person = ForeignKeyField(Person, null=True, on_delete='SET NULL')
        mode = CharField(max_length=4, default='')
        intent = CharField(index=True, max_length=200, default='')
        checkout_url = CharField(max_length=1000, default='')
        provider_payment_ref = CharField(max_length=120, default='')
        returned_at = DateTimeField(null=True)
        last_error = CharField(max_length=300, default='')
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'payment'
    db.create_tables([Payment])

    class PaymentAllocation(Model):
        payment = ForeignKeyField(Payment, on_delete='CASCADE')
        document = ForeignKeyField(Document, on_delete='RESTRICT')
        amount = BigIntegerField(constraints=[SQL('CHECK (amount > 0)')])
        applied = BigIntegerField(default=0)
        class Meta:
            database = db
            table_name = 'payment_allocation'
            indexes = ((('payment', 'document'), True),)
    db.create_tables([PaymentAllocation])

    class PaymentEvent(Model):
        gateway = CharField(max_length=10)
        event_id = CharField(max_length=120)
        kind = CharField(max_length=80, default='')
        payload = TextField(default='')
        received_at = DateTimeField()
        payment = ForeignKeyField(Payment, null=True, on_delete='SET NULL')
        amount = BigIntegerField(null=True)
        currency = CharField(max_length=3, default='')
        outcome = CharField(max_length=300, default='')
        class Meta:
            database = db
            table_name = 'payment_event'
            indexes = ((('gateway', 'event_id'), True),)
    db.create_tables([PaymentEvent])

    class PortalSession(Model):
        person = ForeignKeyField(Person, on_delete='CASCADE')
        sid_hash = CharField(unique=True, max_length=64)
        via = CharField(max_length=10, constraints=[SQL("CHECK (via IN ('password', 'link'))")])
        created_at = DateTimeField()
        last_seen_at = DateTimeField()
        expires_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'portal_session'
    db.create_tables([PortalSession])

    class ProductImage(Model):
        product = ForeignKeyField(Product, on_delete='CASCADE')
        content_type = CharField(max_length=40)
        data = BlobField()
        position = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'product_image'
    db.create_tables([ProductImage])

    class TaxRate(Model):
        name = CharField(max_length=40)
        rate_bp = IntegerField(constraints=[SQL('CHECK (rate_bp BETWEEN -10000 AND 10000)')])
        active = BooleanField(default=True)
        is_default = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'tax_rate'
            indexes = ((('name', 'rate_bp'), True),)
    db.create_tables([TaxRate])

    class ProductTax(Model):
        product = ForeignKeyField(Product, on_delete='CASCADE')
        tax_rate = ForeignKeyField(TaxRate, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'product_tax'
            indexes = ((('product', 'tax_rate'), True),)
    db.create_tables([ProductTax])

    class QuoteDecision(Model):
        document = ForeignKeyField(Document, unique=True, on_delete='CASCADE')
        decision = CharField(max_length=10, constraints=[SQL("CHECK (decision IN ('accepted', 'declined'))")])
        person = ForeignKeyField(Person, null=True, on_delete='SET NULL')
        signer_name = CharField(max_length=200, default='')
        po_reference = CharField(max_length=80, default='')
        reason = TextField(default='')
        ip = CharField(max_length=45, default='')
        user_agent = CharField(max_length=400, default='')
        document_version = IntegerField()
        document_hash = CharField(max_length=64)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'quote_decision'
    db.create_tables([QuoteDecision])

    class Settings(Model):
        name = CharField(max_length=200, default='My business')
        tax_id = CharField(max_length=40, default='')
        address = TextField(default='')
        email = CharField(max_length=254, default='')
        phone = CharField(max_length=40, default='')
        website = CharField(max_length=200, default='')
        notify_email = CharField(max_length=254, default='')
        logo = BlobField(null=True)
        logo_type = CharField(max_length=40, default='')
        default_currency = CharField(max_length=3, default='EUR')
        languages = CharField(max_length=60, default='es,en,ca,fr,de,it,pt')
        default_language = CharField(max_length=5, default='es')
        invoice_prefix = CharField(max_length=20, default='F')
        quote_prefix = CharField(max_length=20, default='P')
        order_prefix = CharField(max_length=20, default='SO')
        payment_terms_days = IntegerField(default=30)
        quote_validity_days = IntegerField(default=30)
        default_terms = TextField(default='')
        quote_to_order = BooleanField(default=False)
        allow_partial_payments = BooleanField(default=False)
        min_partial_amount = BigIntegerField(default=0)
        stock_display = CharField(max_length=10, default='level')
        low_stock_threshold = IntegerField(default=5)
        sell_out_of_stock = BooleanField(default=False)
        access_link_hours = IntegerField(default=48)
        link_session_hours = IntegerField(default=12)
        class Meta:
            database = db
            table_name = 'settings'
    db.create_tables([Settings])

    class WebhookEndpoint(Model):
        url = CharField(max_length=500)
        description = CharField(max_length=200, default='')
        secret = CharField(max_length=80)
        events = CharField(max_length=400)
        active = BooleanField(default=True)
        created_at = DateTimeField()
        created_by = ForeignKeyField(StaffUser, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'webhook_endpoint'
    db.create_tables([WebhookEndpoint])

    class WebhookDelivery(Model):
        endpoint = ForeignKeyField(WebhookEndpoint, on_delete='CASCADE')
        event_id = CharField(max_length=40)
        event_type = CharField(max_length=40)
        body = TextField()
        status = CharField(max_length=10, default='pending', constraints=[SQL("CHECK (status IN ('pending', 'succeeded', 'failed'))")])
        attempts = IntegerField(default=0)
        job = ForeignKeyField(Job, null=True, on_delete='SET NULL')
        last_status_code = IntegerField(null=True)
        last_error = TextField(default='')
        created_at = DateTimeField()
        delivered_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'webhook_delivery'
            indexes = ((('endpoint', 'event_id'), True), (('endpoint', 'created_at'), False))
    db.create_tables([WebhookDelivery])

    class WebhookAttempt(Model):
        delivery = ForeignKeyField(WebhookDelivery, on_delete='CASCADE')
        attempted_at = DateTimeField()
        status_code = IntegerField(null=True)
        error = TextField(default='')
        duration_ms = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'webhook_attempt'
    db.create_tables([WebhookAttempt])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('webhook_attempt'))
    migrator.migrate(migrator.drop_table('webhook_delivery'))
    migrator.migrate(migrator.drop_table('webhook_endpoint'))
    migrator.migrate(migrator.drop_table('settings'))
    migrator.migrate(migrator.drop_table('quote_decision'))
    migrator.migrate(migrator.drop_table('product_tax'))
    migrator.migrate(migrator.drop_table('tax_rate'))
    migrator.migrate(migrator.drop_table('product_image'))
    migrator.migrate(migrator.drop_table('portal_session'))
    migrator.migrate(migrator.drop_table('payment_event'))
    migrator.migrate(migrator.drop_table('payment_allocation'))
    migrator.migrate(migrator.drop_table('payment'))
    migrator.migrate(migrator.drop_table('line_tax'))
    migrator.migrate(migrator.drop_table('job'))
    migrator.migrate(migrator.drop_table('idempotency_record'))
    migrator.migrate(migrator.drop_table('gateway_config'))
    migrator.migrate(migrator.drop_table('document_line'))
    migrator.migrate(migrator.drop_table('comment'))
    migrator.migrate(migrator.drop_table('cart_item'))
    migrator.migrate(migrator.drop_table('product'))
    migrator.migrate(migrator.drop_table('category'))
    migrator.migrate(migrator.drop_table('api_token'))
    migrator.migrate(migrator.drop_table('activity'))
    migrator.migrate(migrator.drop_table('document'))
    migrator.migrate(migrator.drop_table('access_link'))
    migrator.migrate(migrator.drop_table('staff_user'))
    migrator.migrate(migrator.drop_table('person'))
    migrator.migrate(migrator.drop_table('contact'))
