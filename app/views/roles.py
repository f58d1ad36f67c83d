"""The one allow-map of the portal's routes by role (issue 21): for each endpoint behind the
portal's guard, the capability (app/people.py's CAN) each method needs. `check` runs in the
guard (views/__init__.py: require_person) before every portal view and fragment, so a route
added tomorrow and not named here is closed to everybody but owners until someone adds it."""
from flask import abort, g, request

from .. import people

GET, POST = ("GET", "HEAD"), ("POST",)


def _m(get=None, post=None):
    found = {}
    for methods, capability in ((GET, get), (POST, post)):
        if capability:
            found.update(dict.fromkeys(methods, capability))
    return found


ROUTES = {
    "portal.home": _m(get="read"),
    "documents.index": _m(get="read"),
    "documents.show": _m(get="read"),
    "documents.print_view": _m(get="read"),
    "pdf.document": _m(get="read"),
    "pdf.einvoice": _m(get="read"),
    "pdf.acceptance": _m(get="read"),
    "statement.show": _m(get="read"),
    "statement.pdf": _m(get="read"),
    "payment_history.index": _m(get="read"),
    "payments.receipt": _m(get="read"),
    "comments.create": _m(post="comment"),
    "quotes.decide": _m(post="shop"),
    "payments.panel": _m(get="pay"),
    "payments.start": _m(post="pay"),
    "payments.choose": _m(get="pay"),
    "payments.start_several": _m(post="pay"),
    "payments.go": _m(get="pay"),
    "payments.returned": _m(get="pay"),
    "payments.cancelled": _m(get="pay"),
    "catalog.index": _m(get="shop"),
    "catalog.product": _m(get="shop"),
    "catalog.image": _m(get="shop"),
    "cart.show": _m(get="shop"),
    "cart.add": _m(post="shop"),
    "cart.update": _m(post="shop"),
    "cart.remove": _m(post="shop"),
    "cart.reorder": _m(post="shop"),
    "checkout.show": _m(get="shop"),
    "checkout.place": _m(post="shop"),
    "accountants.create": _m(post="books"),
    "accountants.revoke": _m(post="books"),
    "packs.prepare": _m(post="books"),
    "packs.download": _m(get="books"),
    "profile.index": _m(get="self"),
    "profile.language": _m(post="self"),
    "profile.password": _m(get="self"),
    "profile.password_submit": _m(post="self"),
    "profile.end_device": _m(post="self"),
    "profile.end_other_devices": _m(post="self"),
    "keys.index": _m(get="self"),
    "keys.passkey_options": _m(post="self"),
    "keys.passkey_add": _m(post="self"),
    "keys.passkey_remove": _m(post="self"),
    "keys.totp_start": _m(post="self"),
    "keys.totp_enable": _m(post="self"),
    "keys.totp_disable": _m(post="self"),
    "accountant.home": _m(get="read"),
    "accountant.leave": _m(post="self"),
    "team.index": _m(get="team"),
    "team.invite": _m(post="team"),
    "team.role": _m(post="team"),
    "team.remove": _m(post="team"),
}


def allowed(person, endpoint, method):
    """Whether the person's role opens this endpoint with this method."""
    if people.role_of(person) == people.OWNER:
        return True
    capability = ROUTES.get(endpoint, {}).get(method)
    return capability is not None and people.has(person, capability)


def check():
    """403 for a signed-in person whose role does not open the request's endpoint."""
    person = g.get("person")
    if person is not None and not allowed(person, request.endpoint, request.method):
        abort(403)


def init_app(app):
    @app.context_processor
    def _can():
        person = g.get("person")
        return {"can": (lambda capability: person is not None and people.has(person, capability)),
                "reads": (lambda kind: person is None or people.reads_kind(person, kind)),
                "person_role_label": people.role_label}
