"""The cart: add from the catalog, change quantities, remove, reorder a past order.

Kept per contact in the database. Each mutation is a real form: a plain POST answers 303, an
HTMX POST answers the re-rendered fragment plus the header's badge out of band. A form only
names a product and a quantity; prices come from the catalog (app/orders.py)."""
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from .. import orders
from . import catalog_page as catalog
from ..models import ORDER, CartItem
from ..web.forms import Form
from ..web.htmx import is_fragment_request, render
from ..web.security import safe_next
from . import get_cart_line, get_document, get_product, portal_blueprint

bp = portal_blueprint("cart", __name__, url_prefix="/cart", catalog=True)
BADGE = ["partials/_cart_badge.html"]


@bp.app_context_processor
def _badge():
    """The header's cart badge, on the pages of a person whose contact has the catalog (public
    pages too: the header is theirs). Fragments do not draw the header: one that swaps the badge
    passes its own count. Counted once a request, whatever the templates rendered."""
    person = g.get("person")
    if person is None or not person.contact.catalog_enabled or is_fragment_request():
        return {}
    if "cart_units" not in g:
        g.cart_units = CartItem.quantity_of(person.contact)
    return {"cart_units": g.cart_units}


def cart_context(contact, errors=None, values=None):
    """The cart fragment (_cart.html) and its badge: lines priced today, flags, totals, and any
    errors from a quantity form, keyed by product id, with the typed values kept."""
    cart = orders.load_cart(contact)
    return {"cart": cart, "cart_errors": errors or {}, "cart_values": values or {}, "cart_units": cart.units}


def _product_id(raw):
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@bp.get("/")
def show():
    """Show the cart."""
    return render("cart/show.html", "partials/_cart.html", **cart_context(g.contact))


@bp.post("/items")
def add():
    """Put a product in the cart (from a product card or the product page)."""
    product = get_product(g.contact, _product_id(request.form.get("product_id", "")) or 0)
    form = Form(request.form)
    quantity = orders.read_quantity(form)
    if form.ok:
        problem = orders.add_to_cart(g.contact, product, quantity)
        if problem:
            form.error("quantity", problem)
    next_url = safe_next(request.form.get("next"), url_for("catalog.product", product_id=product.id))
    if form.ok and not is_fragment_request():
        flash(_("%(name)s is in your cart.", name=product.name), "success")
        return redirect(next_url, 303)
    product_url = url_for("catalog.product", product_id=product.id)
    if not is_fragment_request() and next_url != product_url:
        # Added from the catalog without JavaScript: back to the catalog, the reason in a message.
        flash(_("%(name)s: %(problem)s", name=product.name, problem=form.errors.get("quantity", "")), "error")
        return redirect(next_url, 303)
    if is_fragment_request():
        added = CartItem.find(g.contact, product.id).quantity if form.ok else None
        context = {**catalog.add_form_of(product, g.contact, next_url, None if form.ok else form, added),
                   "cart_units": CartItem.quantity_of(g.contact)}
    else:   # the form failed: the product page shows it
        context = catalog.product_page_context(product, g.contact, url_for("catalog.product", product_id=product.id),
                                               form)
    return render("catalog/product.html", "partials/_product_add.html", 200 if form.ok else 422, oob=BADGE,
                  **context)


def _cart_answer(status=200, errors=None, values=None):
    """After a change to the cart: the fragment and badge for HTMX, else back to the cart page."""
    if status == 200 and not is_fragment_request():
        return redirect(url_for(".show"), 303)
    return render("cart/show.html", "partials/_cart.html", status, oob=BADGE, **cart_context(g.contact, errors, values))


@bp.post("/items/<int:product_id>")
def update(product_id):
    """Change the quantity of a product in the cart."""
    line = get_cart_line(g.contact, product_id)
    form = Form(request.form)
    quantity = orders.read_quantity(form)
    if form.ok:
        problem = orders.change_quantity(g.contact, line, quantity)
        if problem:
            form.error("quantity", problem)
    if not form.ok:
        return _cart_answer(422, {product_id: form.errors["quantity"]}, {product_id: form.value("quantity")})
    return _cart_answer()


@bp.post("/items/<int:product_id>/remove")
def remove(product_id):
    """Take a product out of the cart (already gone is fine: the result is the same)."""
    CartItem.remove(g.contact, product_id)
    return _cart_answer()


@bp.post("/reorder/<int:doc_id>")
def reorder(doc_id):
    """Put the products of a past order back in the cart at today's prices."""
    order = get_document(g.contact, doc_id)
    if order.kind != ORDER:
        abort(404)
    added, skipped = orders.reorder(g.contact, order)
    if added:
        flash(_("Added to your cart at today's prices: %(names)s.", names=", ".join(added)), "success")
    if skipped:
        flash(_("Not available now, so not added: %(names)s.", names=", ".join(skipped)), "error")
    return redirect(url_for(".show"), 303)
