"""The portal catalog: categories, product lists with active search, product pages and images.

Only contacts whose catalog staff turned on see it; for everyone else these pages do not exist
(404, as for another contact's document). Inactive and hidden products do not exist either.
Prices are the contact's own (their discount applied), computed here, never read from a form."""
from flask import Blueprint, abort, current_app, g, render_template, request, url_for

from .. import orders
from ..web.htmx import is_fragment_request, render
from ..models import Category, Product, Settings
from ..web.forms import Form
from ..web.images import image_response

bp = Blueprint("catalog", __name__, url_prefix="/catalog")
PAGE = 24
MAX_PAGE = 100_000


def require_catalog():
    """Signed in (else the sign-in page), and the contact has catalog access (else 404)."""
    if g.get("person") is None:
        return current_app.login_manager.unauthorized()
    if not g.person.contact.catalog_enabled:
        abort(404)
    return None


bp.before_request(require_catalog)


def product_view(product, contact, settings, taxes, image_id=None):
    """What a product card, the product page and the add form show about one product."""
    price = orders.unit_price(product, contact)
    return {"product": product, "price": price, "price_with_tax": orders.price_with_tax(price, taxes),
            "taxes": taxes, "av": orders.availability(product, settings), "image_id": image_id,
            "currency": product.currency}


def add_form_context(item, next_url, form=None, added=None):
    """The add-to-cart form (_product_add.html) of one product: for the card, the product page
    and the answer to an HTMX add."""
    return {"item": item, "add_form": form or Form(values={"quantity": "1"}), "added": added,
            "next_url": next_url}


def _int_arg(name, default, low, high):
    value = request.args.get(name, default, type=int)
    return value if value is not None and low <= value <= high else default


def list_context():
    """The product list fragment: search text, category and page from the query string."""
    contact, settings = g.person.contact, Settings.get_solo()
    q = request.args.get("q", "").strip()[:100]
    page = _int_arg("page", 1, 1, MAX_PAGE)
    category_id = _int_arg("category", 0, 1, 2 ** 31 - 1)
    category = Category.get_or_none(Category.id == category_id) if category_id else None
    # One row past the page tells whether there is a next one.
    found = list(Product.catalog(q, category.subtree_ids() if category else None)
                 .limit(PAGE + 1).offset((page - 1) * PAGE))
    products = found[:PAGE]
    ids = [p.id for p in products]
    taxes, images = Product.tax_rates_of(ids), Product.first_images(ids)
    here = url_for(".index", q=q or None, category=category.id if category else None, page=page if page > 1 else None)
    cards = [add_form_context(product_view(p, contact, settings, taxes[p.id], images.get(p.id)), here)
             for p in products]
    args = {"q": q or None, "category": category.id if category else None}
    return {"cards": cards, "q": q, "category": category, "page": page, "has_next": len(found) > PAGE,
            "prev_page": url_for(".index", **args, page=page - 1 if page > 2 else None) if page > 1 else None,
            "next_page": url_for(".index", **args, page=page + 1) if len(found) > PAGE else None,
            "stock_display": settings.stock_display}


@bp.get("/")
def index():
    """List the catalog's products, searchable and by category, a page at a time."""
    context = list_context()
    if not is_fragment_request():   # the search box's answer is the list alone
        context.update(categories=Category.catalog_tree(), trail=_trail(context["category"]))
    return render("catalog/index.html", "partials/_catalog_list.html", **context)


def _trail(category):
    """The category and its ancestors, root first (stops at a cycle written by hand)."""
    trail, seen = [], set()
    while category is not None and category.id not in seen:
        seen.add(category.id)
        trail.insert(0, category)
        category = Category.get_or_none(Category.id == category.parent_id) if category.parent_id else None
    return trail


def get_product(product_id):
    """A product of the catalog, or 404 (inactive, hidden and unknown alike)."""
    product = Product.in_catalog(product_id)
    if product is None:
        abort(404)
    return product


def product_page(product, form=None, status=200):
    """The product page, with its add form showing `form`'s values and errors."""
    contact, settings = g.person.contact, Settings.get_solo()
    images = [image.id for image in product.image_list()]
    item = product_view(product, contact, settings, Product.tax_rates_of([product.id])[product.id],
                        images[0] if images else None)
    category = Category.get_or_none(Category.id == product.category_id) if product.category_id else None
    context = add_form_context(item, url_for("catalog.product", product_id=product.id), form)
    return render_template("catalog/product.html", images=images, trail=_trail(category),
                           stock_display=settings.stock_display, discount_bp=contact.discount_bp,
                           **context), status


@bp.get("/products/<int:product_id>")
def product(product_id):
    """Show a product: description, images, prices with and without tax, availability."""
    return product_page(get_product(product_id))


@bp.get("/images/<int:image_id>")
def image(image_id):
    """Serve an image of a product in the catalog (only to contacts with catalog access)."""
    row = Product.catalog_image(image_id)
    if row is None:
        abort(404)
    return image_response(row.data, row.content_type)
