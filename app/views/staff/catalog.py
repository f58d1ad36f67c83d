"""Back-office catalog: products, their taxes, images and stock.

Categories and tax rates live in categories.py and taxes.py; the image checks (app/web/images.py)
are shared with the business logo in settings.py."""
import re

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from peewee import IntegrityError

from ...db import db
from ...web.forms import Form
from ...web.htmx import is_fragment_request, render
from ...web.images import image_response, read_images
from ...models import MAX_STOCK, Activity, Category, Product, ProductImage, Settings, TaxRate, utcnow
from ...money import amount_input
from . import staff_blueprint
from .fields import read_amount, read_category

bp = staff_blueprint("catalog", "/catalog")
PAGE = 50
IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP", "image/gif": "GIF"}
IMAGE_MAX_BYTES = 2 * 1024 * 1024
IMAGES_PER_PRODUCT = 20
MAX_STOCK_INPUT = 1_000_000_000


class StockChanged(Exception):
    """The stock moved while the edit form was open: roll back and show the new figure."""


# --- products -----------------------------------------------------------------------------

def get_any_product(product_id):
    """Any product, hidden and inactive ones too (the back-office sees them all), or 404."""
    product = Product.get_or_none(Product.id == product_id)
    if product is None:
        abort(404)
    return product


def read_taxes(form, data, product=None):
    """The chosen tax ids, each one a rate the form offered."""
    offered = {t.id for t in TaxRate.offered_to(product)}
    chosen = data.getlist("taxes") if hasattr(data, "getlist") else []
    ids = [int(v) for v in chosen if v.isdigit() and len(v) < 10 and int(v) in offered]
    form.values["taxes"] = ids
    if len(ids) != len(chosen):
        return form.error("taxes", _("Choose taxes from the list."))
    return ids


def read_product_form(data, product=None):
    """Validate the product form; returns (form, values for the model, tax ids, stock)."""
    form = Form(data)
    currency = Settings.get_solo().default_currency
    values = {
        "sku": form.text("sku", required=True, max_length=60),
        "name": form.text("name", required=True, max_length=200),
        "description": form.text("description", max_length=5000, multiline=True),
        "category": read_category(form),
        "price": read_amount(form, "price", currency),
        "currency": currency,
        "track_stock": form.checkbox("track_stock"),
        "active": form.checkbox("active"),
        "visible": form.checkbox("visible"),
    }
    stock = form.integer("stock", minimum=0, maximum=MAX_STOCK_INPUT)
    taxes = read_taxes(form, data, product)
    return form, values, taxes, stock


def product_form_values(product):
    return {"sku": product.sku, "name": product.name, "description": product.description,
            "category": product.category_id or "", "price": amount_input(product.price, product.currency),
            "track_stock": product.track_stock, "active": product.active, "visible": product.visible,
            "stock": str(product.stock), "stock_seen": str(product.stock),
            "taxes": sorted(product.tax_ids())}


def form_context(product, form):
    """What the product form needs besides the form itself."""
    return {"product": product, "form": form, "categories": Category.tree(),
            "tax_choices": list(TaxRate.offered_to(product)),
            "currency": Settings.get_solo().default_currency}


def stock_context(product, stock_form=None, message=None):
    """The context of the stock panel (_stock.html), for the page and for its fragment."""
    return {"product": product, "stock_form": stock_form or Form(), "stock_message": message}


def product_page(product, form=None, image_form=None, stock_form=None, status=200):
    """The product page: edit form, images and stock panel."""
    context = form_context(product, form or Form(values=product_form_values(product)))
    context.update(stock_context(product, stock_form), images=list(product.image_list()),
                   image_form=image_form or Form(), image_limit=IMAGES_PER_PRODUCT)
    return render_template("staff/catalog/product.html", **context), status


def sku_taken(sku, product=None):
    query = Product.select().where(Product.sku == sku)
    if product is not None:
        query = query.where(Product.id != product.id)
    return query.exists()


@bp.get("/")
def products():
    """List products, searchable by name or SKU and filtered by category."""
    q = request.args.get("q", "").strip()[:100]
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    category_id = request.args.get("category", 0, type=int) or 0
    category = Category.get_or_none(Category.id == category_id) if 0 < category_id < 2 ** 31 else None
    # A category shows its subcategories' products too: that is what "in Tools" means.
    # One row past the page tells whether there is a next page (paginate(page, PAGE + 1)
    # would shift every later page by one row).
    found = list(Product.search(q, category.subtree_ids() if category else None)
                 .limit(PAGE + 1).offset((page - 1) * PAGE))
    return render("staff/catalog/products.html", "partials/staff/catalog_product_list.html",
                  products=found[:PAGE], has_next=len(found) > PAGE, page_number=page, q=q,
                  category=category, categories=Category.tree())


@bp.get("/products/new")
def new():
    """Show the new-product form with the default taxes ticked."""
    form = Form(values={"track_stock": True, "active": True, "visible": True, "stock": "0",
                        "taxes": TaxRate.default_ids()})
    return render_template("staff/catalog/product_form.html", **form_context(None, form))


@bp.post("/products/new")
def create():
    """Create a product."""
    form, values, taxes, stock = read_product_form(request.form)
    if form.ok:
        try:
            with db.atomic():
                product = Product.create(stock=stock, **values)
                product.set_taxes(taxes)
        except IntegrityError:
            if not sku_taken(values["sku"]):
                raise
            form.error("sku", _("Another product already has this SKU."))
    if not form.ok:
        return render_template("staff/catalog/product_form.html", **form_context(None, form)), 422
    flash(_("Product %(name)s created.", name=product.name), "success")
    return redirect(url_for(".edit", product_id=product.id), 303)


@bp.get("/products/<int:product_id>")
def edit(product_id):
    """Show a product: its form, images and stock."""
    return product_page(get_any_product(product_id))


@bp.post("/products/<int:product_id>")
def update(product_id):
    """Save changes to a product."""
    product = get_any_product(product_id)
    form, values, taxes, stock = read_product_form(request.form, product)
    seen = form.integer("stock_seen", minimum=0, maximum=MAX_STOCK)
    if seen is None and "stock" not in form.errors:
        form.error("stock", _("Reload the page and try again."))
    if form.ok:
        try:
            with db.atomic():
                Product.update(updated_at=utcnow(), **values).where(Product.id == product.id).execute()
                product.set_taxes(taxes)
                # Only a changed figure is written, and only over the figure the form showed.
                if stock != seen and not product.set_stock_from(seen, stock):
                    raise StockChanged()
        except StockChanged:
            now = Product.get_by_id(product.id).stock
            form.values["stock_seen"] = str(now)
            form.error("stock", _("The stock changed to %(n)d while you were editing. Check it and save again.", n=now))
        except IntegrityError:
            if not sku_taken(values["sku"], product):
                raise
            form.error("sku", _("Another product already has this SKU."))
    if not form.ok:
        return product_page(product, form=form, status=422)
    flash(_("Changes saved."), "success")
    return redirect(url_for(".edit", product_id=product.id), 303)


# --- stock --------------------------------------------------------------------------------

def read_delta(form):
    value = form.raw("delta").strip()
    if not value:
        return form.error("delta", _("This field is required."))
    if not re.fullmatch(r"[+-]?\d{1,10}", value):
        return form.error("delta", _("Enter a whole number, like 5 or -2."))
    delta = int(value)
    if delta == 0:
        return form.error("delta", _("Enter a number other than zero."))
    if abs(delta) > MAX_STOCK_INPUT:
        return form.error("delta", _("This number is too large."))
    return delta


@bp.post("/products/<int:product_id>/stock")
def adjust_stock(product_id):
    """Add to or take from a product's stock, with a reason kept in the activity log."""
    product = get_any_product(product_id)
    form = Form(request.form)
    delta = read_delta(form)
    reason = form.text("reason", required=True, max_length=200)
    if form.ok:
        with db.atomic():
            done = product.adjust_stock(delta)
            if done:
                Activity.record("stock_adjusted", staff=g.staff,
                                detail=f"{product.sku} {delta:+d} ({product.stock}): {reason}")
        if not done:
            product = get_any_product(product_id)
            if product.stock + delta < 0:
                form.error("delta", _("Only %(n)d in stock: the stock cannot go below zero.", n=product.stock))
            else:
                form.error("delta", _("This number is too large."))
    if not form.ok:
        if is_fragment_request():
            return render("partials/staff/catalog_stock.html", "partials/staff/catalog_stock.html", 422,
                          **stock_context(product, form))
        return product_page(product, stock_form=form, status=422)
    message = _("Stock of %(name)s is now %(n)d.", name=product.name, n=product.stock)
    if is_fragment_request():
        return render("partials/staff/catalog_stock.html", "partials/staff/catalog_stock.html",
                      **stock_context(product, message=message))
    flash(message, "success")
    return redirect(url_for(".edit", product_id=product.id), 303)


# --- images -------------------------------------------------------------------------------

@bp.post("/products/<int:product_id>/images")
def upload_images(product_id):
    """Add images to a product (JPEG, PNG, WebP or GIF, checked by their bytes)."""
    product = get_any_product(product_id)
    form = Form(request.form)
    images = read_images(form, "images", request.files.getlist("images"), IMAGE_TYPES, IMAGE_MAX_BYTES)
    if form.ok and not images:
        form.error("images", _("Choose an image file to upload."))
    if form.ok and ProductImage.count_for(product) + len(images) > IMAGES_PER_PRODUCT:
        form.error("images", _("A product can have at most %(n)d images.", n=IMAGES_PER_PRODUCT))
    if not form.ok:
        return product_page(product, image_form=form, status=422)
    with db.atomic():
        first = ProductImage.next_position(product)
        for offset, (content_type, data) in enumerate(images):
            ProductImage.create(product=product, content_type=content_type, data=data, position=first + offset)
    flash(_("Images added."), "success")
    return redirect(url_for(".edit", product_id=product.id) + "#images", 303)


@bp.get("/images/<int:image_id>")
def image(image_id):
    """Serve a product image."""
    row = ProductImage.get_or_none(ProductImage.id == image_id)
    if row is None:
        abort(404)
    return image_response(row.data, row.content_type)


@bp.post("/images/<int:image_id>/delete")
def delete_image(image_id):
    """Remove a product image."""
    row = (ProductImage.select(ProductImage.id, ProductImage.product)
           .where(ProductImage.id == image_id).first())
    if row is None:
        abort(404)
    ProductImage.delete().where(ProductImage.id == row.id).execute()
    flash(_("Image removed."), "success")
    return redirect(url_for(".edit", product_id=row.product_id) + "#images", 303)
