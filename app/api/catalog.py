"""API: the catalog: products (with their taxes and stock adjustments), categories, tax rates."""
from flask import jsonify, url_for
from peewee import IntegrityError

from ..db import db
from ..models import Activity, Category, Product, Settings, TaxRate, utcnow
from .. import serializers
from . import bp
from .errors import ApiError
from .idempotency import idempotent
from .schemas import (CategoryCreate, CategoryQuery, CategoryUpdate, ProductCreate, ProductQuery, ProductUpdate,
                      StockAdjustment, TaxRateQuery)
from .validation import Conflicts, fetch, page, read_body, read_query


def _created(payload, location):
    response = jsonify(payload)
    response.status_code = 201
    response.headers["Location"] = location
    return response


# --- products -------------------------------------------------------------------------------

def read_product(product=None):
    """The product fields sent, as the model's values, and the tax ids (None: not sent)."""
    creating = product is None
    body = read_body(ProductCreate if creating else ProductUpdate)
    values = body.given()
    tax_ids = values.pop("tax_ids", None)
    conflicts = Conflicts()
    if "category_id" in body.model_fields_set:   # null moves it out of any category
        values["category"] = conflicts.row(Category, values.pop("category_id", None), "category_id", "category")
    if creating:
        values.setdefault("stock", 0)
        values.setdefault("currency", Settings.get_solo().default_currency)
    offered = {t.id for t in TaxRate.offered_to(product)} if tax_ids else set()
    for tax_id in tax_ids or ():
        if tax_id not in offered:
            conflicts.add("unknown_reference", "tax_ids", f"No active tax rate has the id {tax_id}.")
    conflicts.check()
    return values, tax_ids


def _sku_taken():
    return ApiError(409, "sku_taken", "Another product has this SKU.", {"sku": "Another product has this SKU."})


@bp.get("/products")
def list_products():
    """List products, newest first, by text (name or SKU), SKU, category and active."""
    params = read_query(ProductQuery)
    q, sku, category_id, active = params.q, params.sku, params.category_id, params.active
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
    return jsonify(page(rows, Product.id, serializers.product, params))


@bp.post("/products")
@idempotent
def create_product():
    """Create a product."""
    values, tax_ids = read_product()
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
    values, tax_ids = read_product(product)
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
    body = read_body(StockAdjustment)
    delta, reason = body.delta, body.reason or ""
    with db.atomic():
        if not product.adjust_stock(delta):
            raise ApiError(409, "insufficient_stock",
                           f"Only {product.stock} in stock: the stock cannot go below zero.",
                           {"delta": "The stock cannot go below zero or above its maximum."})
        Activity.record("stock_adjusted", detail=f"{product.sku} {delta:+d} ({product.stock}): API {reason}"[:400])
    return jsonify(serializers.product(product))


# --- categories -----------------------------------------------------------------------------

def read_category(category=None):
    """The category fields sent, as the model's values; whether parent_id was sent, and the parent."""
    body = read_body(CategoryCreate if category is None else CategoryUpdate)
    values = body.given()
    values.pop("parent_id", None)
    conflicts = Conflicts()
    parent = conflicts.row(Category, body.parent_id, "parent_id", "category")
    conflicts.check()
    return values, "parent_id" in body.model_fields_set, parent


@bp.get("/categories")
def list_categories():
    """List categories, newest first, optionally the children of one parent."""
    params = read_query(CategoryQuery)
    parent_id = params.parent_id
    rows = Category.select()
    if parent_id:
        rows = rows.where(Category.parent == parent_id)
    return jsonify(page(rows, Category.id, serializers.category, params))


@bp.post("/categories")
@idempotent
def create_category():
    """Create a category, at the top or under a parent."""
    values, _given, parent = read_category()
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
    values, parent_given, parent = read_category(category)
    with db.atomic():
        if parent_given:
            Category.lock_all()
            if not Category.get_by_id(category.id).can_move_under(parent):
                message = "A category cannot be moved inside itself or one of its subcategories."
                raise ApiError(409, "category_cycle", message, {"parent_id": message})
            values["parent"] = parent
        if values:
            Category.update(values).where(Category.id == category.id).execute()
    return jsonify(serializers.category(Category.get_by_id(category.id)))


@bp.get("/tax-rates")
def list_tax_rates():
    """List the tax rates, whose ids document lines and products refer to."""
    params = read_query(TaxRateQuery)
    active = params.active
    rows = TaxRate.select()
    if active is not None:
        rows = rows.where(TaxRate.active == active)
    return jsonify(page(rows, TaxRate.id, serializers.tax_rate, params))
