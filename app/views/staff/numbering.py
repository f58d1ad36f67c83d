"""Back-office: the numbering series (pattern and next number of each kind's series), so a
business can continue the numbers of the software it used before."""
import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ... import numbering
from ...models import KINDS, NumberSeries
from ...rules import Refused
from ...web.forms import Form
from . import staff_blueprint

bp = staff_blueprint("numbering", "/settings/numbering")


def _page(forms=None, status=200):
    year = datetime.date.today().year
    current = [numbering.series(kind, year) for kind in KINDS]   # this year's, made if missing
    others = (NumberSeries.select().where(NumberSeries.id.not_in([row.id for row in current]))
              .order_by(NumberSeries.year.desc(), NumberSeries.kind, NumberSeries.code))
    forms = forms or {}
    rows = [(row, forms.get(row.id) or Form(values={"pattern": row.pattern, "next_n": str(row.next_n)}))
            for row in current]
    return render_template("staff/settings/numbering.html", rows=rows, others=list(others), year=year,
                           example=numbering.format_number), status


@bp.get("/")
def index():
    """Show each kind's series for this year, and earlier ones."""
    return _page()


@bp.post("/<int:series_id>")
def update(series_id):
    """Set a series' pattern and next number (never back to a number already given)."""
    row = NumberSeries.get_or_none(NumberSeries.id == series_id)
    if row is None:
        abort(404)
    form = Form(request.form)
    pattern = form.text("pattern", required=True, max_length=60)
    next_n = form.integer("next_n", minimum=1, maximum=numbering.MAX_START)
    if form.ok:
        try:
            numbering.configure(row, pattern, next_n)
        except Refused as exc:
            form.error(exc.field, str(exc.message))
    if not form.ok:
        return _page({row.id: form}, 422)
    flash(_("Numbering saved."), "success")
    return redirect(url_for(".index"), 303)
