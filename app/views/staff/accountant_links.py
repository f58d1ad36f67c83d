"""Back-office: a contact's accountant links (issue 19), with their uses, and revoking one. The
contact's page shows them through one partial (partials/staff/accountant_links.html), which
asks `staff_accountant_links(contact)` for its rows."""
from flask import abort, flash, g, redirect, url_for
from flask_babel import gettext as _

from ... import accountants
from . import staff_blueprint
from .contacts import get_contact

bp = staff_blueprint("accountant_links", "/contacts")


@bp.app_template_global()
def staff_accountant_links(contact):
    """The contact's accountant links with their uses, for the contact's page."""
    return accountants.links_of(contact)


@bp.post("/<int:contact_id>/accountant-links/<int:link_id>/revoke")
def revoke(contact_id, link_id):
    """Revoke a contact's accountant link: it stops working at once."""
    link = accountants.for_contact(get_contact(contact_id), link_id)
    if link is None:
        abort(404)
    accountants.revoke(link, staff=g.staff)
    flash(_("The link for %(email)s no longer works.", email=link.email), "success")
    return redirect(url_for("staff.contacts.show", contact_id=contact_id) + "#accountant-links", 303)
