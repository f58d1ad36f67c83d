"""The cart: add from the catalog, change quantities, remove, reorder a past order.

Kept per contact in the database. Each mutation is a real form: a plain POST answers 303, an
HTMX POST answers the re-rendered fragment plus the header's badge out of band. A form only
names a product and a quantity; prices come from the catalog (app/orders.py)."""
from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import orders
from ..web.forms import Form
from ..web.htmx import is_fragment_request, render
from ..models import ORDER, CartItem, Document, Product, Settings
from ..web.security import safe_next
from .catalog import add_form_context, get_product, product_page, product_view, require_catalog

bp = Blueprint("cart", __name__, url_prefix="/cart")
bp.before_request(require_catalog)


@bp.app_context_processor
def _badge():
    """The header's cart badge asks for its count when it is drawn: once a page, and not at all
    for the fragments that do not show it."""
    return {"cart_count": _cart_count}


def _cart_count():
    return CartItem.quantity_of(g.person.contact)


def cart_context(contact, errors=None, values=None):
    """The cart fragment (_cart.html): lines priced today, flags, totals, and any errors from
    a quantity form, keyed by product id, with the typed values kept."""
    return {"cart": orders.load_cart(contact), "cart_errors": errors or {}, "cart_values": values or {}}


def with_badge(html, status=200):
    """An HTMX answer: the fragment, and the header's badge swapped out of band."""
    badge = render_template("partials/_cart_badge.html", oob=True)
    response = make_response(html + badge, status)
    response.headers["Vary"] = "HX-Request"
    return response


def _product_id(raw):
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@bp.get("/")
def show():
    """Show the cart."""
    return render("cart/show.html", "partials/_cart.html", **cart_context(g.person.contact))


@bp.post("/items")
def add():
    """Put a product in the cart (from a product card or the product page)."""
    contact = g.person.contact
    product = get_product(_product_id(request.form.get("product_id", "")) or 0)
    form = Form(request.form)
    quantity = orders.read_quantity(form)
    if form.ok:
        problem = orders.add_to_cart(contact, product, quantity)
        if problem:
            form.error("quantity", problem)
    next_url = safe_next(request.form.get("next"), url_for("catalog.product", product_id=product.id))
    if not form.ok:
        if is_fragment_request():
            return with_badge(_add_form(product, next_url, form), 422)
        return product_page(product, form, 422)
    if is_fragment_request():
        return with_badge(_add_form(product, next_url, added=CartItem.find(contact, product.id).quantity))
    flash(_("%(name)s is in your cart.", name=product.name), "success")
    return redirect(next_url, 303)


def _add_form(product, next_url, form=None, added=None):
    item = product_view(product, g.person.contact, Settings.get_solo(), Product.tax_rates_of([product.id])[product.id])
    return render_template("partials/_product_add.html", **add_form_context(item, next_url, form, added))


def get_item(product_id):
    """A line of the signed-in contact's cart, or 404."""
    item = CartItem.select(CartItem, Product).join(Product).where(
        (CartItem.contact == g.person.contact) & (CartItem.product == product_id)).first()
    if item is None:
        abort(404)
    return item


def _cart_answer(status=200, errors=None, values=None):
    """After a change to the cart: the fragment and badge for HTMX, else back to the cart page."""
    contact = g.person.contact
    context = cart_context(contact, errors, values)
    if is_fragment_request():
        return with_badge(render_template("partials/_cart.html", **context), status)
    if status != 200:
        return render_template("cart/show.html", **context), status
    return redirect(url_for(".show"), 303)


@bp.post("/items/<int:product_id>")
def update(product_id):
    """Change the quantity of a product in the cart."""
    item = get_item(product_id)
    form = Form(request.form)
    quantity = orders.read_quantity(form)
    if form.ok:
        problem = orders.change_quantity(g.person.contact, item, quantity)
        if problem:
            form.error("quantity", problem)
    if not form.ok:
        return _cart_answer(422, {product_id: form.errors["quantity"]}, {product_id: form.value("quantity")})
    return _cart_answer()


@bp.post("/items/<int:product_id>/remove")
def remove(product_id):
    """Take a product out of the cart (already gone is fine: the result is the same)."""
    CartItem.remove(g.person.contact, product_id)
    return _cart_answer()


@bp.post("/reorder/<int:doc_id>")
def reorder(doc_id):
    """Put the products of a past order back in the cart at today's prices."""
    contact = g.person.contact
    order = Document.for_contact(contact, doc_id)
    if order is None or order.kind != ORDER:
        abort(404)
    added, skipped = orders.reorder(contact, order)
    if added:
        flash(_("Added to your cart at today's prices: %(names)s.", names=", ".join(added)), "success")
    if skipped:
        flash(_("Not available now, so not added: %(names)s.", names=", ".join(skipped)), "error")
    return redirect(url_for(".show"), 303)
