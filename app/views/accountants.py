"""The account page's "For your accountant" section (issue 19): the read-only links a person gave,
with their uses; giving a new one; revoking one. Hidden and refused when the business turned
the feature off."""
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import accountants
from ..rules import Refused
from ..web.forms import Form
from . import portal_blueprint
from .packs import pack_context

bp = portal_blueprint("accountants", __name__, url_prefix="/account/accountants")


def section_context(contact, form=None):
    """What _accountant_links.html and _yearly_pack.html need on the account page."""
    enabled = accountants.enabled()
    return {**pack_context(contact), "accountant_enabled": enabled,
            "accountant_links": accountants.links_of(contact) if enabled else [],
            "accountant_form": form or Form(values={"days": str(accountants.DEFAULT_DAYS)}),
            "accountant_max_days": accountants.MAX_DAYS}


def _account_page(form, status):
    from .profile import devices_context, language_choices
    return render_template("profile/index.html", languages=language_choices(),
                           form=Form(values={"language": g.person.language}),
                           **section_context(g.contact, form), **devices_context()), status


@bp.post("/")
def create():
    """Give an accountant a read-only link, mailed to them."""
    if not accountants.enabled():
        abort(403)
    form = Form(request.form)
    email = form.email("email", required=True)
    days = form.integer("days", minimum=1, maximum=accountants.MAX_DAYS)
    label = form.text("label", max_length=80)
    if form.ok:
        try:
            accountants.create(g.person, email, days, label)
        except Refused as refused:
            form.error(refused.field or "email", str(refused.message))
    if not form.ok:
        return _account_page(form, 422)
    flash(_("A read-only link is on its way to %(email)s.", email=email), "success")
    return redirect(url_for("profile.index") + "#accountants", 303)


@bp.post("/<int:link_id>/revoke")
def revoke(link_id):
    """Revoke one of the contact's accountant links: it stops working at once."""
    link = accountants.for_contact(g.contact, link_id)
    if link is None:
        abort(404)
    accountants.revoke(link, person=g.person)
    flash(_("The link for %(email)s no longer works.", email=link.email), "success")
    return redirect(url_for("profile.index") + "#accountants", 303)
