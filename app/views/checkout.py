"""Checkout: confirm the cart's total, the shipping address, a reference and notes; place the order.

The form carries a one-time key (a second submission of the same form finds the order the
first one made) and a digest of the cart as shown (a cart or price that changed meanwhile is
shown again to confirm). The order itself is made in app/orders.py, in one transaction."""
import re
import secrets

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import orders
from ..web.forms import Form
from . import portal_blueprint

bp = portal_blueprint("checkout", __name__, url_prefix="/checkout", catalog=True)
KEY_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")
STATE_RE = re.compile(r"[0-9a-f]{64}")


def checkout_context(form, problem=None):
    """The checkout page: the cart priced now, the form, and the digest of what it shows."""
    cart = orders.load_cart(g.contact)
    return {"cart": cart, "form": form, "problem": problem, "state": cart.state()}


@bp.get("/")
def show():
    """Show the checkout form with the cart's lines and total."""
    contact = g.contact
    form = Form(values={"shipping_address": contact.shipping_address or contact.billing_address,
                        "key": secrets.token_urlsafe(24)})
    context = checkout_context(form)
    if not context["cart"].lines:
        flash(_("Your cart is empty."), "info")
        return redirect(url_for("cart.show"), 303)
    return render_template("cart/checkout.html", **context)


@bp.post("/")
def place():
    """Place the order and go to its page."""
    form = Form(request.form)
    address = form.text("shipping_address", required=True, max_length=1000, multiline=True)
    reference = form.text("reference", max_length=80)
    notes = form.text("notes", max_length=2000, multiline=True)
    key, state = form.raw("key").strip(), form.raw("state").strip()
    problem = None
    if not KEY_RE.fullmatch(key) or not STATE_RE.fullmatch(state):
        # Not something our page sends: start the checkout page afresh.
        form.values["key"] = secrets.token_urlsafe(24)
        problem = _("This form has expired. Check your order and confirm again.")
    if form.ok and problem is None:
        try:
            order = orders.place_order(g.contact, g.person, state, key, address, reference, notes)
        except orders.AlreadyPlaced as exc:
            flash(_("Order %(number)s was already placed.", number=exc.order.number), "info")
            return redirect(url_for("documents.show", doc_id=exc.order.id), 303)
        except orders.CheckoutRefused as exc:
            problem = str(exc)
        else:
            flash(_("Thank you: order %(number)s is placed.", number=order.number), "success")
            return redirect(url_for("documents.show", doc_id=order.id), 303)
    return render_template("cart/checkout.html", **checkout_context(form, problem)), 422
