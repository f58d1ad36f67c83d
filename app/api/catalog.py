"""API: the catalog: products (with their taxes and stock adjustments), categories, tax rates."""
from flask import jsonify, url_for
from peewee import IntegrityError

from ..db import db
from ..models import MAX_STOCK, Activity, Category, Product, Settings, TaxRate, utcnow
from .. import serializers
from . import bp
from .errors import ApiError
from .idempotency import idempotent
from .validation import Body, Query, fetch, json_body, reference

PRODUCT_FIELDS = ("sku", "name", "description", "category_id", "price", "currency", "track_stock",
                  "stock", "active", "visible", "tax_ids")
CATEGORY_FIELDS = ("name", "parent_id", "position")


def _created(payload, location):
    response = jsonify(payload)
    response.status_code = 201
    response.headers["Location"] = location
    return response


# --- products -------------------------------------------------------------------------------

def read_product(data, product=None):
    """Validate a product body; returns (values for the model, tax ids or None)."""
    creating = product is None
    body = Body(data, PRODUCT_FIELDS)
    values = {"sku": body.string("sku", required=creating or body.has("sku"), max_length=60, default=None),
              "name": body.string("name", required=creating or body.has("name"), max_length=200, default=None),
              "description": body.string("description", max_length=5000, multiline=True, default=None),
              "price": body.amount("price", required=creating),
              "currency": body.currency("currency"),
              "track_stock": body.boolean("track_stock"),
              "active": body.boolean("active"),
              "visible": body.boolean("visible")}
    if body.has("category_id"):
        values["category"] = reference(body, "category_id", Category, "category")
        if body.data["category_id"] is None:
            values["category"] = None
            values["_category_cleared"] = True
    if creating:
        values["stock"] = body.integer("stock", minimum=0, maximum=MAX_STOCK, default=0)
        values["currency"] = values["currency"] or Settings.get_solo().default_currency
    elif body.has("stock"):
        body.error("stock", "Change stock with POST /products/{id}/stock-adjustments.")
    tax_ids = body.id_list("tax_ids")
    if tax_ids is not None:
        offered = {t.id for t in TaxRate.offered_to(product)}
        unknown = [t for t in tax_ids if t not in offered]
        if unknown:
            body.error("tax_ids", f"No active tax rate has the id {unknown[0]}.")
    body.done()
    cleared = values.pop("_category_cleared", False)
    clean = {k: v for k, v in values.items() if v is not None}
    if cleared:
        clean["category"] = None
    return clean, tax_ids


def _sku_taken():
    return ApiError(409, "sku_taken", "Another product has this SKU.", {"sku": "Another product has this SKU."})


@bp.get("/products")
def list_products():
    """List products, newest first, by text (name or SKU), SKU, category and active."""
    query = Query(("q", "sku", "category_id", "active"))
    q, sku = query.string("q"), query.string("sku", 60)
    category_id, active = query.integer("category_id"), query.boolean("active")
    rows = Product.select()
    if q:
        like = f"%{q}%"
        rows = rows.where((Product.name ** like) | (Product.sku ** like))
    if sku:
        rows = rows.where(Product.sku == sku)
    if category_id:
        rows = rows.where(Product.category == category_id)
    if active is not None:
        rows = rows.where(Product.active == active)
    return jsonify(query.page(rows, Product.id, serializers.product))


@bp.post("/products")
@idempotent
def create_product():
    """Create a product."""
    values, tax_ids = read_product(json_body())
    try:
        with db.atomic():
            product = Product.create(**values)
            product.set_taxes(tax_ids or [])
    except IntegrityError:
        raise _sku_taken() from None
    return _created(serializers.product(product), url_for("api.get_product", product_id=product.id))


@bp.get("/products/<int:product_id>")
def get_product(product_id):
    """Read a product."""
    return jsonify(serializers.product(fetch(Product, product_id, "product")))


@bp.patch("/products/<int:product_id>")
def update_product(product_id):
    """Change some fields of a product (stock has its own endpoint)."""
    product = fetch(Product, product_id, "product")
    values, tax_ids = read_product(json_body(), product)
    try:
        with db.atomic():
            if values:
                values["updated_at"] = utcnow()
                Product.update(values).where(Product.id == product.id).execute()
            if tax_ids is not None:
                product.set_taxes(tax_ids)
    except IntegrityError:
        raise _sku_taken() from None
    return jsonify(serializers.product(Product.get_by_id(product.id)))


@bp.post("/products/<int:product_id>/stock-adjustments")
@idempotent
def adjust_stock(product_id):
    """Add to or take from the stock; concurrent adjustments add up, and the stock never goes
    below zero (409). Send an Idempotency-Key: a retried adjustment must not count twice."""
    product = fetch(Product, product_id, "product")
    body = Body(json_body(), ("delta", "reason"))
    delta = body.integer("delta", required=True, minimum=-MAX_STOCK, maximum=MAX_STOCK)
    reason = body.string("reason", max_length=200)
    if delta == 0:
        body.error("delta", "Must not be zero.")
    body.done()
    with db.atomic():
        if not product.adjust_stock(delta):
            raise ApiError(409, "insufficient_stock",
                           f"Only {product.stock} in stock: the stock cannot go below zero.",
                           {"delta": "The stock cannot go below zero or above its maximum."})
        Activity.record("stock_adjusted", detail=f"{product.sku} {delta:+d} ({product.stock}): API {reason}"[:400])
    return jsonify(serializers.product(product))


# --- categories -----------------------------------------------------------------------------

def read_category(data, category=None):
    creating = category is None
    body = Body(data, CATEGORY_FIELDS)
    values = {"name": body.string("name", required=creating or body.has("name"), max_length=120, default=None),
              "position": body.integer("position", minimum=0, maximum=1_000_000)}
    parent_given = body.has("parent_id")
    parent = reference(body, "parent_id", Category, "category") if parent_given else None
    body.done()
    values = {k: v for k, v in values.items() if v is not None}
    return values, parent_given, parent, body


@bp.get("/categories")
def list_categories():
    """List categories, newest first, optionally the children of one parent."""
    query = Query(("parent_id",))
    parent_id = query.integer("parent_id")
    rows = Category.select()
    if parent_id:
        rows = rows.where(Category.parent == parent_id)
    return jsonify(query.page(rows, Category.id, serializers.category))


@bp.post("/categories")
@idempotent
def create_category():
    """Create a category, at the top or under a parent."""
    values, _given, parent, _body = read_category(json_body())
    with db.atomic():
        if "position" not in values:
            values["position"] = Category.next_position(parent)
        category = Category.create(parent=parent, **values)
    return _created(serializers.category(category), url_for("api.get_category", category_id=category.id))


@bp.get("/categories/<int:category_id>")
def get_category(category_id):
    """Read a category."""
    return jsonify(serializers.category(fetch(Category, category_id, "category")))


@bp.patch("/categories/<int:category_id>")
def update_category(category_id):
    """Rename or move a category; a move inside itself or its own subtree is refused."""
    category = fetch(Category, category_id, "category")
    values, parent_given, parent, _body = read_category(json_body(), category)
    with db.atomic():
        if parent_given:
            Category.lock_all()
            if not Category.get_by_id(category.id).can_move_under(parent):
                raise ApiError(422, "validation_failed", "Some fields are not valid.",
                               {"parent_id": "A category cannot be moved inside itself or one of its subcategories."})
            values["parent"] = parent
        if values:
            Category.update(values).where(Category.id == category.id).execute()
    return jsonify(serializers.category(Category.get_by_id(category.id)))


@bp.get("/tax-rates")
def list_tax_rates():
    """List the tax rates, whose ids document lines and products refer to."""
    query = Query(("active",))
    active = query.boolean("active")
    rows = TaxRate.select()
    if active is not None:
        rows = rows.where(TaxRate.active == active)
    return jsonify(query.page(rows, TaxRate.id, serializers.tax_rate))
