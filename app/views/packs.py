"""The yearly pack from the portal (issue 19): asking for it and downloading it, for a signed-in
person and for an accountant's read-only session alike, both scoped to g.contact."""
from flask import Response, abort, flash, g, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from .. import yearly_pack
from ..rules import Refused
from ..web.forms import Form
from . import portal_blueprint

bp = portal_blueprint("packs", __name__, url_prefix="/packs")


def pack_context(contact):
    """What _yearly_pack.html needs: the years offered (last year chosen), the packs kept."""
    years = [str(y) for y in yearly_pack.years()]
    return {"pack_years": [(y, y) for y in years], "packs": yearly_pack.recent(contact),
            "pack_form": Form(values={"year": years[1]}), "pack_url": url_for("packs.prepare")}


def _back():
    return url_for("accountant.home") if g.get("accountant") else url_for("profile.index") + "#yearly-pack"


@bp.post("/")
def prepare():
    """Queue the pack of the chosen year; its link is mailed when it is ready."""
    form = Form(request.form)
    year = form.integer("year", minimum=1900, maximum=9999)
    if form.ok:
        accountant = g.get("accountant")
        email = accountant.email if accountant else g.person.email
        try:
            yearly_pack.request(g.contact, year, email, str(get_locale()), person=g.get("person"), link=accountant)
        except Refused as refused:
            form.error("year", str(refused.message))
    if not form.ok:
        flash(form.errors.get("year") or _("Choose one of the years offered."), "error")
        return redirect(_back(), 303)
    flash(_("The pack of %(year)s is being prepared. We will mail a link to %(email)s when it is ready.",
            year=year, email=email), "success")
    return redirect(_back(), 303)


@bp.get("/<int:pack_id>")
def download(pack_id):
    """Download a ready pack of the contact (404 for another contact's, an expired or unknown one)."""
    pack = yearly_pack.for_contact(g.contact, pack_id)
    if pack is None:
        abort(404)
    response = Response(bytes(pack.data), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="documents-{pack.year}.zip"'
    response.headers["Cache-Control"] = "no-store"
    return response
