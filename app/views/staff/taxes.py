"""Back-office tax rates: VAT, reduced rates and withholdings (IRPF, a negative rate).

Documents copy a rate onto each line when the line is written, so editing a rate here changes
products and future lines, never an issued document."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from peewee import IntegrityError

from ... import money
from ...db import db
from ...web.forms import Form
from ...web.i18n import fmt_percent
from ...models import TaxRate
from . import staff_blueprint

bp = staff_blueprint("taxes", "/catalog/taxes")


def get_tax(tax_id):
    tax = TaxRate.get_or_none(TaxRate.id == tax_id)
    if tax is None:
        abort(404)
    return tax


def read_rate(form):
    """A percentage between -100 and 100 with at most two decimals, as basis points."""
    raw = form.raw("rate").strip()
    if len(raw) > 20:   # thousands of digits would overflow the decimal context
        return form.error("rate", _("Enter a rate between -100 and 100."))
    try:
        return money.parse_percent(raw[:-1] if raw.endswith("%") else raw, allow_negative=True)
    except money.MoneyError as exc:
        return form.error("rate", {
            "required": _("This field is required."),
            "too large": _("Enter a rate between -100 and 100."),
            "too many decimals": _("Use at most two decimal places."),
        }.get(str(exc), _("Enter a percentage, like 21, 10,5 or -15.")))


def read_tax_form(data, tax=None):
    """Validate the tax-rate form; returns (form, values for the model)."""
    form = Form(data)
    values = {"name": form.text("name", required=True, max_length=40),
              "rate_bp": read_rate(form),
              "is_default": form.checkbox("is_default")}
    if values["is_default"] and tax is not None and not tax.active:
        form.error("is_default", _("An inactive tax cannot be preselected. Activate it first."))
    return form, values


def save_tax(form, values, tax=None):
    """Write the rate; a duplicate (name, rate) becomes a message on the name. Returns the row."""
    try:
        with db.atomic():
            if tax is None:
                return TaxRate.create(**values)
            TaxRate.update(values).where(TaxRate.id == tax.id).execute()
            return tax
    except IntegrityError:
        same = TaxRate.select().where((TaxRate.name == values["name"]) & (TaxRate.rate_bp == values["rate_bp"]))
        if tax is not None:
            same = same.where(TaxRate.id != tax.id)
        if not same.exists():
            raise
        form.error("name", _("%(name)s at %(rate)s already exists.", name=values["name"],
                             rate=fmt_percent(values["rate_bp"])))
        return None


def index_page(form=None, status=200):
    return render_template("staff/catalog/taxes.html", taxes=list(TaxRate.listed()),
                           form=form or Form()), status


@bp.get("/")
def index():
    """List tax rates, with the form to add one."""
    return index_page()


@bp.post("/")
def create():
    """Add a tax rate."""
    form, values = read_tax_form(request.form)
    if form.ok:
        save_tax(form, values)
    if not form.ok:
        return index_page(form, 422)
    flash(_("Tax %(name)s added.", name=values["name"]), "success")
    return redirect(url_for(".index"), 303)


@bp.get("/<int:tax_id>/edit")
def edit(tax_id):
    """Show the tax rate's edit form."""
    tax = get_tax(tax_id)
    form = Form(values={"name": tax.name, "rate": rate_input(tax.rate_bp), "is_default": tax.is_default})
    return render_template("staff/catalog/tax_form.html", tax=tax, form=form)


@bp.post("/<int:tax_id>/edit")
def update(tax_id):
    """Save changes to a tax rate."""
    tax = get_tax(tax_id)
    form, values = read_tax_form(request.form, tax)
    if form.ok:
        save_tax(form, values, tax)
    if not form.ok:
        return render_template("staff/catalog/tax_form.html", tax=tax, form=form), 422
    flash(_("Changes saved."), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:tax_id>/deactivate")
def deactivate(tax_id):
    """Stop offering a tax rate on new products and lines (existing ones keep it)."""
    tax = get_tax(tax_id)
    TaxRate.update(active=False, is_default=False).where(TaxRate.id == tax.id).execute()
    flash(_("%(name)s is no longer offered.", name=tax.name), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:tax_id>/activate")
def activate(tax_id):
    """Offer a deactivated tax rate again."""
    tax = get_tax(tax_id)
    TaxRate.update(active=True).where(TaxRate.id == tax.id).execute()
    flash(_("%(name)s is offered again.", name=tax.name), "success")
    return redirect(url_for(".index"), 303)


def rate_input(rate_bp):
    """Basis points back to what staff type: 2100 -> "21", 1050 -> "10.5", -1500 -> "-15"."""
    whole, cents = divmod(abs(rate_bp), 100)
    text = f"{whole}.{cents:02d}".rstrip("0").rstrip(".")
    return ("-" if rate_bp < 0 else "") + text
