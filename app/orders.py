"""The contact's side of the catalog: their prices, what is available, the cart's lines and
totals, and placing an order in one transaction (stock, lines, taxes, mails).

Every amount here comes from the database: a form only ever says which product and how many.
The cart and the order use the same line tuples (list price, the contact's discount, the
product's taxes), so the total the person confirms is the total of the order, to the cent.
"""
import dataclasses
import datetime
import hashlib
import json

from flask_babel import gettext as _
from peewee import IntegrityError

from . import money, numbering, snapshot, webhooks
from .db import db
from .mail import recipient_language, send_template
from .models import ORDER, Activity, CartItem, Document, DocumentLine, LineTax, Product, Settings, utcnow

MAX_QUANTITY = 100_000   # units of one product in one order: far above real orders, far below overflow


class CheckoutRefused(Exception):
    """Checkout cannot go ahead; the message says why, in the person's words."""


class AlreadyPlaced(Exception):
    """This checkout form was already used: the order it made is `order`."""

    def __init__(self, order):
        super().__init__(order.number)
        self.order = order


def unit_price(product, contact):
    """The contact's price for one unit before tax: the list price less their discount."""
    return money.line_net(money.QTY_SCALE, product.price, contact.discount_bp)


def price_with_tax(net, taxes):
    return net + sum(money.tax_amount(net, rate) for _name, rate in taxes)


@dataclasses.dataclass
class Availability:
    level: str            # "in", "low" or "out"
    stock: int | None     # None when the product's stock is not tracked
    orderable: bool       # may be put in the cart and ordered
    limit: int | None     # the most one order may take (the stock, when the business sells only that)


def availability(product, settings):
    """What the business lets its customers know and do about a product's stock."""
    # A product priced in a currency the business no longer sells in waits for staff to reprice it.
    listed = product.active and product.visible and product.currency == settings.default_currency
    if not product.track_stock:
        return Availability("in", None, listed, None)
    level = "out" if product.stock <= 0 else ("low" if product.stock <= settings.low_stock_threshold else "in")
    orderable = listed and (level != "out" or settings.sell_out_of_stock)
    return Availability(level, product.stock, orderable, None if settings.sell_out_of_stock else product.stock)


def quantity_problem(quantity, av):
    """Why this many cannot be ordered (None if they can)."""
    if not av.orderable:
        return _("This product is not available.")
    if av.limit is not None and quantity > av.limit:
        return _("Only %(n)d in stock.", n=av.limit)
    return None


def read_quantity(form, name="quantity"):
    """A whole number of units from 1 to MAX_QUANTITY, or None with a message on the form."""
    return form.integer(name, minimum=1, maximum=MAX_QUANTITY)


# --- the cart ------------------------------------------------------------------------------

@dataclasses.dataclass
class CartLine:
    item: CartItem
    product: Product
    quantity: int
    unit_price: int       # the contact's price today
    net: int
    taxes: list
    availability: Availability
    discount_bp: int
    problem: str | None    # blocks checkout: unavailable, or more than the stock
    price_was: int | None  # the price seen when added, if it changed since

    @property
    def qty_milli(self):
        return self.quantity * money.QTY_SCALE

    def as_line(self):
        """The line as money.compute_totals and the order's DocumentLine see it."""
        return (self.qty_milli, self.product.price, self.discount_bp, self.taxes)


@dataclasses.dataclass
class Cart:
    lines: list
    currency: str
    totals: dict

    @property
    def units(self):
        return sum(line.quantity for line in self.lines)

    @property
    def problems(self):
        return [line for line in self.lines if line.problem]

    @property
    def can_check_out(self):
        return bool(self.lines) and not self.problems

    def state(self):
        """A digest of what the person is asked to confirm: products, quantities, prices, taxes
        and total. Checkout refuses a form whose digest no longer matches the cart."""
        payload = [self.currency, self.totals["total"],
                   [(l.product.id, l.quantity, l.product.price, l.discount_bp, l.taxes) for l in self.lines]]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def load_cart(contact, settings=None, lock=False):
    """The contact's cart priced today, each line checked against the catalog and the stock."""
    settings = settings or Settings.get_solo()
    items = list(CartItem.of(contact, lock=lock))
    taxes = Product.tax_rates_of([i.product_id for i in items])
    lines = []
    for item in items:
        product = item.product
        av = availability(product, settings)
        price = unit_price(product, contact)
        lines.append(CartLine(item=item, product=product, quantity=item.quantity, unit_price=price,
                              net=money.line_net(item.quantity * money.QTY_SCALE, product.price, contact.discount_bp),
                              taxes=taxes[product.id], availability=av, discount_bp=contact.discount_bp,
                              problem=quantity_problem(item.quantity, av),
                              price_was=item.unit_price_seen if item.unit_price_seen != price else None))
    totals = money.compute_totals([line.as_line() for line in lines])
    return Cart(lines=lines, currency=settings.default_currency, totals=totals)


def add_to_cart(contact, product, quantity, settings=None):
    """Put `quantity` units in the cart (adding to what is there); a message if refused."""
    settings = settings or Settings.get_solo()
    item = CartItem.find(contact, product.id)
    in_cart = item.quantity if item else 0
    av = availability(product, settings)
    problem = quantity_problem(quantity + in_cart, av)
    if problem and in_cart and av.orderable and av.limit is not None:
        # The stock counts what the cart holds already: say so, or "only 2" beside a 1 reads wrong.
        more = max(av.limit - in_cart, 0)
        problem = (_("Only %(n)d in stock and %(in_cart)d already in your cart: you can add %(more)d more.",
                     n=av.limit, in_cart=in_cart, more=more) if more
                   else _("Only %(n)d in stock, and all of them are already in your cart.", n=av.limit))
    if problem is None and (item.quantity if item else 0) + quantity > MAX_QUANTITY:
        problem = _("Enter a number no greater than %(n)d.", n=MAX_QUANTITY)
    if problem:
        return problem
    CartItem.put(contact, product, quantity, unit_price(product, contact))
    return None


def change_quantity(contact, item, quantity, settings=None):
    """Set a cart line's quantity; a message if refused."""
    problem = quantity_problem(quantity, availability(item.product, settings or Settings.get_solo()))
    if problem:
        return problem
    CartItem.set_quantity(contact, item.product_id, quantity, unit_price(item.product, contact))
    return None


# --- checkout ------------------------------------------------------------------------------

def place_order(contact, person, confirmed_state, key, shipping_address, reference, notes):
    """Turn the cart into a sales order in one transaction and return it.

    Raises CheckoutRefused (nothing written) or AlreadyPlaced (this form made an order before)."""
    settings = Settings.get_solo()
    earlier = Document.placed_with(contact, key)
    if earlier is not None:
        raise AlreadyPlaced(earlier)
    try:
        with db.atomic():
            cart = load_cart(contact, settings, lock=True)
            # Asked again now that we hold the cart: a twin request may have placed it meanwhile.
            earlier = Document.placed_with(contact, key)
            if earlier is not None:
                raise AlreadyPlaced(earlier)
            if not cart.lines:
                raise CheckoutRefused(_("Your cart is empty."))
            if cart.problems:
                raise CheckoutRefused(_("Some products in your cart cannot be ordered as they are. Check your cart."))
            if cart.state() != confirmed_state:
                raise CheckoutRefused(_("Your cart or its prices changed since you opened this page. "
                                        "Check the new total and confirm again."))
            order = _new_order(contact, settings, key, shipping_address, reference, notes)
            for position, line in enumerate(cart.lines):
                taken = 0
                if line.product.track_stock:
                    taken = line.product.take_stock(line.quantity, allow_short=settings.sell_out_of_stock)
                    if taken is None:   # someone else took it since the cart was loaded
                        raise CheckoutRefused(_("%(name)s sold out while you were ordering. Check your cart.",
                                                name=line.product.name))
                row = DocumentLine.create(document=order, position=position, product=line.product,
                                          description=line.product.name, qty_milli=line.qty_milli,
                                          unit_price=line.product.price, discount_bp=line.discount_bp,
                                          net=line.net, stock_taken=taken)
                if line.taxes:
                    LineTax.insert_many([{"line": row.id, "name": n, "rate_bp": r} for n, r in line.taxes]).execute()
            snapshot.freeze(order, settings, with_totals=True)
            removed = CartItem.delete().where(CartItem.id.in_([l.item.id for l in cart.lines])).execute()
            if removed != len(cart.lines):   # another checkout of this cart got there first
                raise CheckoutRefused(_("Your cart changed while you were ordering. Check it and try again."))
            Activity.record("order_placed", person=person, contact=contact, document=order)
            _notify(order, person, settings)
    except IntegrityError:
        earlier = Document.placed_with(contact, key)
        if earlier is not None:
            raise AlreadyPlaced(earlier) from None
        raise
    return order


def _new_order(contact, settings, key, shipping_address, reference, notes):
    """Create the order's header under the next number of the order series (taken in this
    transaction: checkouts at the same moment get consecutive numbers, never the same)."""
    today = datetime.date.today()
    return Document.create(
        contact=contact, kind=ORDER, number=numbering.take(ORDER, today, settings), status="open",
        issue_date=today, currency=settings.default_currency, reference=reference, notes=notes,
        terms=settings.default_terms, shipping_address=shipping_address, issued_at=utcnow(),
        checkout_key=f"{contact.id}:{key}")


def _notify(order, person, settings):
    """Mail the business and the person, each in their language (queued in this transaction)."""
    lines = list(order.ordered_lines())
    context = {"order": order, "lines": lines, "contact": order.contact, "person": person, "business": settings}
    to_business = settings.notify_email or settings.email
    if to_business:
        send_template(to_business, "order_business", settings.default_language, reply_to=person.email, **context)
    send_template(person.email, "order_person", recipient_language(person), **context)
    webhooks.emit("order.created", webhooks.document_data(order))


# --- reorder -------------------------------------------------------------------------------

def reorder(contact, order):
    """Put a past order's products back in the cart at today's prices, as many as can be
    ordered now. Returns (names added, names skipped because they cannot be ordered now)."""
    settings = Settings.get_solo()
    added, skipped = [], []
    lines = (DocumentLine.select(DocumentLine.product, DocumentLine.description, DocumentLine.qty_milli)
             .where(DocumentLine.document == order).order_by(DocumentLine.position, DocumentLine.id))
    with db.atomic():
        for line in lines:
            product = Product.for_contact(contact, line.product_id) if line.product_id else None
            if product is None:
                skipped.append((line.description.splitlines() or [""])[0][:80])
                continue
            quantity = -(-line.qty_milli // money.QTY_SCALE)   # whole units, rounded up
            limit = availability(product, settings).limit
            in_cart = CartItem.find(contact, product.id)
            if limit is not None:   # what the stock allows besides what is already in the cart
                quantity = min(quantity, limit - (in_cart.quantity if in_cart else 0))
            if quantity < 1 or add_to_cart(contact, product, quantity, settings):
                skipped.append(product.name)
            else:
                added.append(product.name)
    return added, skipped
