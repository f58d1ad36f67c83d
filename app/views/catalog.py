"""The portal catalog: categories, product lists with active search, product pages and images.

Only contacts whose catalog staff turned on see it; for everyone else these pages do not exist
(404, as for another contact's document). Inactive and hidden products do not exist either.
Prices are the contact's own (their discount applied), computed in app/catalog.py."""
from flask import abort, g, render_template, request, url_for

from . import catalog_page as catalog
from ..models import Category, Product, ProductImage, Settings
from ..web.htmx import is_fragment_request, render
from ..web.images import image_response
from . import get_product, portal_blueprint

bp = portal_blueprint("catalog", __name__, url_prefix="/catalog", catalog=True)
PAGE = 24
MAX_PAGE = 100_000


def _int_arg(name, default, low, high):
    value = request.args.get(name, default, type=int)
    return value if value is not None and low <= value <= high else default


def list_context(categories=None):
    """The product list fragment: search text, category and page from the query string.
    `categories`: Category.every(), when the page has read them for its tree."""
    contact, settings = g.contact, Settings.get_solo()
    q = request.args.get("q", "").strip()[:100]
    page = _int_arg("page", 1, 1, MAX_PAGE)
    category_id = _int_arg("category", 0, 1, 2 ** 31 - 1)
    if category_id and categories is None:
        categories = Category.every()   # the category and its subtree: one query
    category = next((row for row in categories if row.id == category_id), None) if category_id else None
    # One row past the page tells whether there is a next one.
    found = list(Product.catalog(q, category.subtree_ids(categories) if category else None)
                 .limit(PAGE + 1).offset((page - 1) * PAGE))
    products = found[:PAGE]
    ids = [p.id for p in products]
    taxes, images = Product.tax_rates_of(ids), Product.first_images(ids)
    here = url_for(".index", q=q or None, category=category.id if category else None, page=page if page > 1 else None)
    cards = [catalog.add_form_context(catalog.product_view(p, contact, settings, taxes[p.id], images.get(p.id)), here)
             for p in products]
    args = {"q": q or None, "category": category.id if category else None}
    return {"cards": cards, "q": q, "category": category, "page": page, "has_next": len(found) > PAGE,
            "prev_page": url_for(".index", **args, page=page - 1 if page > 2 else None) if page > 1 else None,
            "next_page": url_for(".index", **args, page=page + 1) if len(found) > PAGE else None,
            "stock_display": settings.stock_display}


@bp.get("/")
def index():
    """List the catalog's products, searchable and by category, a page at a time."""
    if is_fragment_request():   # the search box's answer is the list alone
        context = list_context()
    else:   # the list, the tree and the trail from one read of the categories
        rows = Category.every()
        context = list_context(rows)
        context.update(categories=Category.catalog_tree(rows),
                       trail=catalog.trail(context["category"], {row.id: row for row in rows}))
    return render("catalog/index.html", "partials/_catalog_list.html", **context)


@bp.get("/products/<int:product_id>")
def product(product_id):
    """Show a product: description, images, prices with and without tax, availability."""
    product = get_product(g.contact, product_id)
    return render_template("catalog/product.html", **catalog.product_page_context(
        product, g.contact, url_for(".product", product_id=product.id)))


@bp.get("/images/<int:image_id>")
def image(image_id):
    """Serve an image of a product in the catalog (only to contacts with catalog access)."""
    row = ProductImage.for_contact(g.contact, image_id)
    if row is None:
        abort(404)
    return image_response(row.data, row.content_type)
