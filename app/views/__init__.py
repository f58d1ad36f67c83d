"""The portal's blueprints serve a signed-in person and the one contact they belong to.

`portal_blueprint` makes such a blueprint: before any of its views the person must be signed in
(else the sign-in page, with `next`), and `g.contact` is set to their contact, the one argument
every query of the request is scoped by. The few views that serve people who are not signed in
(sign-in, access and reset links, the gateways' webhooks, the logo) are marked @public. A test
walks the URL map and refuses any portal URL that is neither (tests/test_portal_scope.py)."""
from flask import Blueprint, abort, current_app, g, request
from flask_login.config import EXEMPT_METHODS

from .. import people
from ..models import CartItem, Document, Payment, Product
from . import roles


def portal_blueprint(name, import_name, url_prefix=None, catalog=False):
    """A blueprint whose every view requires a signed-in person; with `catalog`, also a contact
    with the catalog turned on (for anyone else its pages do not exist: 404)."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    bp.before_request(require_catalog if catalog else require_person)
    return bp


def require_person():
    if request.method in EXEMPT_METHODS:   # as flask-login's login_required: OPTIONS passes
        return None
    if g.get("person") is None:
        if g.get("accountant") is not None:   # a read-only session (views/accountant.py checked it)
            g.contact = g.accountant.contact
            return None
        return current_app.login_manager.unauthorized()
    g.contact = g.person.contact
    roles.check()   # the person's role opens this endpoint (views/roles.py: one allow-map)
    return None


def require_catalog():
    denied = require_person()
    if denied is None and request.method not in EXEMPT_METHODS and not g.contact.catalog_enabled:
        abort(404)
    return denied


GUARDS = (require_person, require_catalog)


def public(view):
    """Mark a view outside the portal blueprints that anyone may reach without signing in."""
    view.public = True
    return view


# The portal's lookups by id. Each takes the contact and asks a model method scoped to it, so
# another contact's row, a draft and an unknown id are the same 404. The back-office has its own,
# unscoped, under other names (get_any_document, get_any_product).

def get_document(contact, doc_id):
    """The contact's issued document, or 404; 403 when the person's role does not read its kind."""
    return readable(_or_404(Document.for_contact(contact, doc_id)))


def readable(doc):
    """The document, or 403 for a signed-in person whose role does not read its kind."""
    check_kind(doc.kind)
    return doc


def check_kind(kind):
    """403 for a signed-in person whose role does not read documents of this kind (a billing
    person and quotes or orders). An accountant's session (no person) reads what its door allows."""
    person = g.get("person")
    if person is not None and not people.reads_kind(person, kind):
        abort(403)


def get_payment(contact, payment_id):
    """An online payment of the contact's documents, or 404."""
    return _or_404(Payment.for_contact(contact, payment_id))


def get_product(contact, product_id):
    """A product of the catalog, for a contact with catalog access; or 404."""
    return _or_404(Product.for_contact(contact, product_id))


def get_cart_line(contact, product_id):
    """The contact's cart line of a product, or 404."""
    return _or_404(CartItem.for_contact(contact, product_id))


def _or_404(row):
    if row is None:
        abort(404)
    return row
