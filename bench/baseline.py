"""The bare baseline: plain Flask + peewee + Jinja + WeasyPrint, with no portal code, served by
the same gunicorn on the same database, so the benchmark can say what the portal's own work
costs on top of the framework.

`gunicorn 'bench.baseline:create_app()'` with DATABASE_URL set. Routes:
  GET  /hello                       a short string
  GET  /db-page?contact=N&page=P    the invoices page fed by 3 peewee queries (contact, count, rows)
  GET  /pdf/<id>                    a one-page invoice rendered by WeasyPrint
  POST /checkout  product=&contact= read the product, take one from stock if there is one,
                                    insert an order with one line, commit

The twins of the portal's actions (bench/run.py measures each against its portal action): the
SQL each needs written plainly, the same HTML shape and size from a template in
bench/templates/, and none of the portal's session, CSRF, rate limits or translations. The
contact (and person) is a query parameter where the portal reads it from the session.
  GET  /summary?contact=N           the summary: balances, lists, activity and chart by aggregates
  GET  /document/<id>?contact=N     the document page: document, lines, line taxes, payments, comments
  GET  /catalog?category=N          24 product cards of a category, with the category tree
  GET  /catalog/search?q=text       the product list fragment: LIKE on the product name
  POST /cart-items  contact=&product_id=&quantity=   upsert a cart_item, answer the form and badge
  POST /documents/<id>/comments?contact=N&person=P  body=   insert a comment, answer the thread
  GET  /pdf-cached/<id>?contact=N   a PDF rendered once into a directory, then read from disk
"""
import datetime
import os
import uuid

from flask import Flask, Response, abort, render_template, request
from peewee import (BigIntegerField, BooleanField, CharField, DatabaseProxy, DateField, DateTimeField,
                    ForeignKeyField, IntegerField, Model, SqliteDatabase, TextField)
from playhouse.db_url import connect

db = DatabaseProxy()
PAGE = 20


class Base(Model):
    class Meta:
        database = db


class Contact(Base):
    name = CharField()
    billing_address = TextField()

    class Meta:
        table_name = "contact"


class Settings(Base):
    name = CharField()
    tax_id = CharField()
    address = TextField()
    email = CharField()

    class Meta:
        table_name = "settings"


class Category(Base):
    name = CharField()
    parent_id = IntegerField(null=True)
    position = IntegerField()

    class Meta:
        table_name = "category"


class Product(Base):
    sku = CharField()
    name = CharField()
    category_id = IntegerField(null=True)
    price = BigIntegerField()
    currency = CharField()
    track_stock = BooleanField()
    stock = IntegerField()
    active = BooleanField()
    visible = BooleanField()

    class Meta:
        table_name = "product"


class Document(Base):
    contact = ForeignKeyField(Contact, column_name="contact_id")
    kind = CharField()
    number = CharField()
    status = CharField()
    issue_date = DateField()
    due_date = DateField(null=True)
    valid_until = DateField(null=True)
    currency = CharField()
    reference = CharField(default="")
    notes = TextField(default="")
    terms = TextField(default="")
    shipping_address = TextField(default="")
    subtotal = BigIntegerField(default=0)
    tax_total = BigIntegerField(default=0)
    total = BigIntegerField(default=0)
    amount_paid = BigIntegerField(default=0)
    amount_credited = BigIntegerField(default=0)
    reason = TextField(default="")   # NOT NULL without a database default
    version = IntegerField(default=1)
    created_at = DateTimeField()
    updated_at = DateTimeField()

    class Meta:
        table_name = "document"


class Line(Base):
    document = ForeignKeyField(Document, column_name="document_id")
    position = IntegerField(default=0)
    product = ForeignKeyField(Product, column_name="product_id", null=True)
    description = TextField()
    qty_milli = BigIntegerField()
    unit_price = BigIntegerField()
    discount_bp = IntegerField(default=0)
    net = BigIntegerField(default=0)
    stock_taken = IntegerField(default=0)

    class Meta:
        table_name = "document_line"


class LineTax(Base):
    line_id = IntegerField()
    name = CharField()
    rate_bp = IntegerField()

    class Meta:
        table_name = "line_tax"


class Payment(Base):
    document_id = IntegerField()
    contact_id = IntegerField()
    amount = BigIntegerField()
    amount_refunded = BigIntegerField()
    currency = CharField()
    status = CharField()
    method_note = CharField()
    paid_at = DateTimeField(null=True)

    class Meta:
        table_name = "payment"


class Comment(Base):
    document_id = IntegerField()
    person_id = IntegerField(null=True)
    author_name = CharField()
    body = TextField()
    created_at = DateTimeField()

    class Meta:
        table_name = "comment"


class Activity(Base):
    contact_id = IntegerField(null=True)
    document_id = IntegerField(null=True)
    action = CharField()
    created_at = DateTimeField()

    class Meta:
        table_name = "activity"


class CartItem(Base):
    contact_id = IntegerField()
    product_id = IntegerField()
    quantity = IntegerField()
    unit_price_seen = BigIntegerField()
    added_at = DateTimeField()

    class Meta:
        table_name = "cart_item"


class ProductTax(Base):
    product_id = IntegerField()
    tax_rate_id = IntegerField()

    class Meta:
        table_name = "product_tax"


class TaxRate(Base):
    name = CharField()
    rate_bp = IntegerField()

    class Meta:
        table_name = "tax_rate"


class ProductImage(Base):
    product_id = IntegerField()
    position = IntegerField()

    class Meta:
        table_name = "product_image"


def open_database(url):
    """The same connection choices the portal makes, written out plainly."""
    if url.startswith("sqlite:///"):
        return SqliteDatabase(url[len("sqlite:///"):], lock_type="IMMEDIATE", pragmas={
            "journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000, "synchronous": "normal"})
    rest = url.split("://", 1)[1]
    return connect("postgresql+pool://" + rest + ("&" if "?" in rest else "?") + "max_connections=20&stale_timeout=300")


def create_app():
    app = Flask(__name__, template_folder=os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates"))
    db.initialize(open_database(os.environ["DATABASE_URL"]))

    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        # As the portal does: a SQLite connection is kept by its worker (a new one reads the
        # schema again), a PostgreSQL one goes back to the pool.
        if db.is_closed() or (isinstance(db.obj, SqliteDatabase) and not db.in_transaction()):
            return
        db.close()

    @app.get("/hello")
    def hello():
        return "Hello, world!"

    @app.get("/db-page")
    def db_page():
        contact = Contact.get_or_none(Contact.id == request.args.get("contact", 1, type=int)) or abort(404)
        page = max(request.args.get("page", 1, type=int), 1)
        query = Document.select().where((Document.contact == contact) & (Document.kind == "invoice")
                                        & (Document.status != "draft"))
        total = query.count()
        docs = query.order_by(Document.issue_date.desc(), Document.id.desc()).paginate(page, PAGE)
        rows = [{"id": d.id, "number": d.number, "issue_date": d.issue_date, "due_date": d.due_date,
                 "status": d.status, "total": f"{d.total / 100:.2f} €",
                 "due": f"{(d.total - d.amount_paid) / 100:.2f} €"} for d in docs]
        return render_template("page.html", title="Invoices", contact=contact.name, person="Person",
                               rows=rows, page=page, pages=max((total + PAGE - 1) // PAGE, 1), total=total,
                               token="x" * 40)

    @app.get("/pdf/<int:doc_id>")
    def pdf(doc_id):
        import weasyprint
        doc = Document.get_or_none(Document.id == doc_id) or abort(404)
        lines = list(Line.select().where(Line.document == doc).order_by(Line.position))
        html = render_template("invoice.html", doc=doc, contact=doc.contact, lines=lines)
        return Response(weasyprint.HTML(string=html).write_pdf(), mimetype="application/pdf")

    @app.post("/checkout")
    def checkout():
        product_id = request.form.get("product", type=int)
        contact_id = request.form.get("contact", type=int)
        now = datetime.datetime.utcnow()
        with db.atomic():
            product = Product.get_or_none(Product.id == product_id) or abort(404)
            taken = Product.update(stock=Product.stock - 1).where(
                (Product.id == product.id) & (Product.stock >= 1)).execute()
            if not taken:
                abort(409)
            doc = Document.create(contact=contact_id, kind="order", number="BARE-" + uuid.uuid4().hex[:24],
                                  status="open", issue_date=now.date(), currency="EUR", subtotal=product.price,
                                  total=product.price, created_at=now, updated_at=now)
            Line.create(document=doc, product=product, description=product.name, qty_milli=1000,
                        unit_price=product.price, net=product.price, stock_taken=1)
        return f"order {doc.id}\n"

    from bench import twins
    twins.register(app)
    return app
