"""Back-office: CSV exports of documents, payments and the tax book for a period (app/exports.py).

The form is a GET (reading changes nothing): its answer is the file, built whole before it is
sent, or the same form with a message per field (422) and no file. Who may download which
export is roles.EXPORTS; each download is written in the audit trail."""
import datetime
import logging

from flask import Response, abort, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from ... import exports
from ...labels import KIND_PLURALS, STATUS_LABELS
from ...rules import By, Refused
from ...web.forms import Form
from . import roles, staff_blueprint

bp = staff_blueprint("exports", "/exports")
log = logging.getLogger("portal.staff")

WHAT_LABELS = {"documents": _l("Documents"), "payments": _l("Payments"), "tax_book": _l("Tax book")}
GROUP_LABELS = {"period": _l("The whole period"), "quarter": _l("Each quarter"), "month": _l("Each month")}


def page_context(form):
    """What the export page shows: the form and the choices this staff user may make."""
    role = g.staff.role
    return {"form": form, "max_years": exports.MAX_YEARS,
            "whats": [(w, WHAT_LABELS[w]) for w in exports.WHAT if roles.may_export(role, w)],
            "kinds": [("", _l("All types"))] + [(k, KIND_PLURALS[k]) for k in KIND_PLURALS],
            "statuses": [("", _l("Any status"))] + [(s, STATUS_LABELS.get(s, s)) for s in exports.DOCUMENT_STATUSES],
            "groups": [(k, GROUP_LABELS[k]) for k in exports.GROUPS]}


@bp.get("/")
def index():
    """Show the export form: this year so far, documents, unless the link says otherwise."""
    today = datetime.date.today()
    values = {"what": "documents", "from": today.replace(month=1, day=1).isoformat(), "to": today.isoformat(),
              "group": "period"}
    values.update({k: v for k, v in request.args.items() if k in ("what", "contact") and isinstance(v, str)})
    return render_template("staff/exports/index.html", **page_context(Form(values=values)))


@bp.get("/download")
def download():
    """Download the chosen export as CSV, or show the form again with what is wrong."""
    if "what" not in request.args:
        return redirect(url_for(".index"))
    form = Form(request.args)
    what = form.choice("what", exports.WHAT)
    if what and not roles.may_export(g.staff.role, what):
        abort(403)
    start, end = form.date("from"), form.date("to")
    # Each filter is read (and checked) only for the export it applies to.
    documents = what == "documents"
    kind = form.choice("kind", tuple(KIND_PLURALS), required=False) if documents else ""
    status = form.choice("status", exports.DOCUMENT_STATUSES, required=False) if documents else ""
    group = (form.choice("group", exports.GROUPS, required=False) if what == "tax_book" else "") or "period"
    contact_text = form.text("contact", max_length=200) if what in ("documents", "payments") else ""
    export = None
    if form.ok:
        try:
            contact = exports.find_contact(contact_text) if contact_text else None
            export = exports.build(what, start, end, kind=kind, status=status, contact=contact, group=group)
        except Refused as exc:
            form.error(exc.field or "what", str(exc.message))
    if export is None:
        return render_template("staff/exports/index.html", **page_context(form)), 422
    exports.record(export, By(staff=g.staff))
    log.info("staff export %s %s..%s rows=%s by=%s", export.what, export.start, export.end, export.rows, g.staff.id)
    response = Response(export.data, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
