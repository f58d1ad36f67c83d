"""Back-office settings: the business's details and logo, currency and languages, numbering,
document defaults and portal options, all on one page.

The logo is also served to everyone at /logo (an app-level route, outside the staff check):
the portal's sign-in page and the PDFs show it."""
import re
from urllib.parse import urlsplit

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ... import bank
from ...config import LANGUAGES
from ...web.forms import Form
from ...models import Settings
from ...money import amount_input
from ...rules import Refused
from ...web.images import image_response, read_images
from .. import public
from . import staff_blueprint
from .fields import read_amount

bp = staff_blueprint("settings", "/settings")
LOGO_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}
LOGO_MAX_BYTES = 1024 * 1024
PREFIX_RE = re.compile(r"[A-Za-z0-9/-]{1,20}")
PREFIXES = ("invoice_prefix", "quote_prefix", "order_prefix", "credit_note_prefix")
STOCK_DISPLAYS = ("exact", "level", "hidden")
TEXT_FIELDS = ("name", "tax_id", "country", "address", "email", "phone", "website", "notify_email",
               "default_currency", "default_language", "invoice_prefix", "quote_prefix",
               "order_prefix", "credit_note_prefix", "default_terms", "stock_display")
NUMBER_FIELDS = ("payment_terms_days", "quote_validity_days", "low_stock_threshold",
                 "access_link_hours", "link_session_hours")
FLAGS = ("quote_to_order", "allow_partial_payments", "sell_out_of_stock", "accountant_links_enabled",
         "team_self_service")


def read_website(form):
    """An http(s) address; "example.com" is taken to mean https://example.com."""
    value = form.text("website", max_length=200)
    if not value:
        return value
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or "." not in parts.netloc or " " in value:
        return form.error("website", _("Enter a web address like https://example.com."))
    return value


def read_prefix(form, name):
    value = form.text(name, required=True, max_length=20)
    if value and not PREFIX_RE.fullmatch(value):
        return form.error(name, _("Use letters, digits, - and / only."))
    return value


def read_languages(form, data):
    """The enabled languages in their usual order; at least one."""
    chosen = data.getlist("languages") if hasattr(data, "getlist") else []
    form.values["languages"] = [code for code in chosen if code in LANGUAGES]
    if any(code not in LANGUAGES for code in chosen):
        return form.error("languages", _("Choose languages from the list."))
    if not chosen:
        return form.error("languages", _("Enable at least one language."))
    return [code for code in LANGUAGES if code in chosen]


def read_settings_form(data, current):
    """Validate the settings form; returns (form, values for the model)."""
    form = Form(data)
    values = {
        "name": form.text("name", required=True, max_length=200),
        "tax_id": form.text("tax_id", max_length=40),
        "address": form.text("address", max_length=1000, multiline=True),
        "country": form.country("country"),
        "email": form.email("email"),
        "phone": form.text("phone", max_length=40),
        "website": read_website(form),
        "notify_email": form.email("notify_email"),
        "default_currency": form.currency("default_currency"),
        "default_language": form.choice("default_language", LANGUAGES),
        "payment_terms_days": form.integer("payment_terms_days", minimum=0, maximum=3650),
        "quote_validity_days": form.integer("quote_validity_days", minimum=1, maximum=3650),
        "default_terms": form.text("default_terms", max_length=5000, multiline=True),
        "stock_display": form.choice("stock_display", STOCK_DISPLAYS),
        "low_stock_threshold": form.integer("low_stock_threshold", minimum=0, maximum=1_000_000),
        "access_link_hours": form.integer("access_link_hours", minimum=1, maximum=720),
        "link_session_hours": form.integer("link_session_hours", minimum=1, maximum=168),
    }
    values.update({name: read_prefix(form, name) for name in PREFIXES})
    values.update({name: form.checkbox(name) for name in FLAGS})
    languages = read_languages(form, data)
    values["languages"] = ",".join(languages or [])
    if languages and values["default_language"] and values["default_language"] not in languages:
        form.error("default_language", _("The default language must be one of the enabled languages."))
    if values["default_terms"]:
        try:
            bank.check_free_text(values["default_terms"], "default_terms", current)
        except Refused as refused:
            form.error("default_terms", refused.message)
    # The minimum is typed in the new currency; if that is invalid, in the current one, so
    # that the amount gets its own message rather than none.
    values["min_partial_amount"] = read_amount(form, "min_partial_amount",
                                               values["default_currency"] or current.default_currency,
                                               required=False)
    return form, values


def settings_form_values(settings):
    values = {name: getattr(settings, name) for name in TEXT_FIELDS + FLAGS}
    values.update({name: str(getattr(settings, name)) for name in NUMBER_FIELDS})
    values.update(languages=settings.language_list,
                  min_partial_amount=amount_input(settings.min_partial_amount, settings.default_currency))
    return values


def settings_page(settings, form=None, logo_form=None, status=200, bank_form=None, **extra):
    """The settings page: the main form and, beside it, the logo's own upload form (kept
    apart so a file never has to be chosen again because another field was wrong)."""
    return render_template("staff/settings/edit.html", settings=settings,
                           form=form or Form(values=settings_form_values(settings)),
                           logo_form=logo_form or Form(), has_logo=bool(settings.logo_hash),
                           bank_form=bank_form or Form(values={"iban": bank.format_iban(settings.iban),
                                                                "bic": settings.bic}),
                           logo_types=", ".join(LOGO_TYPES.values()), **extra), status


@bp.get("/")
def edit():
    """Show the settings page."""
    return settings_page(Settings.get_solo())


@bp.post("/")
def update():
    """Save the settings."""
    settings = Settings.get_solo()
    form, values = read_settings_form(request.form, settings)
    if not form.ok:
        return settings_page(settings, form=form, status=422)
    Settings.save_values(values)
    flash(_("Settings saved."), "success")
    return redirect(url_for(".edit"), 303)


@bp.post("/bank")
def update_bank():
    """Change the IBAN and BIC: an owner, with their password again (and their second factor)."""
    settings = Settings.get_solo()
    form = Form(request.form)
    iban, bic = form.text("iban", max_length=60), form.text("bic", max_length=20)
    try:
        changed = bank.change(iban or "", bic or "", g.staff, form.raw("password"), form.raw("code"))
    except Refused as refused:
        form.error(refused.field or "password", refused.message)
        return settings_page(settings, bank_form=form, status=422)
    if changed:
        flash(_("Bank details changed. Customers with open invoices are being told, and will see a notice "
                "for 60 days."), "success")
    else:
        flash(_("The bank details were already these: nothing changed."), "info")
    return redirect(url_for(".edit") + "#bank", 303)


@bp.post("/logo")
def upload_logo():
    """Replace the business logo (PNG, JPEG or WebP, checked by its bytes, up to 1 MB)."""
    settings = Settings.get_solo()
    form = Form(request.form)
    logo = read_images(form, "logo", request.files.getlist("logo")[:1], LOGO_TYPES, LOGO_MAX_BYTES)
    if form.ok and not logo:
        form.error("logo", _("Choose an image file to upload."))
    if not form.ok:
        return settings_page(settings, logo_form=form, status=422)
    content_type, data = logo[0]
    Settings.set_logo(data, content_type)
    flash(_("Logo saved."), "success")
    return redirect(url_for(".edit") + "#logo", 303)


@bp.post("/logo/delete")
def remove_logo():
    """Remove the business logo."""
    Settings.set_logo(None, "")
    flash(_("Logo removed."), "success")
    return redirect(url_for(".edit") + "#logo", 303)


@public
def logo():
    """Serve the business logo to anyone (the portal's sign-in page shows it); with ?v=HASH,
    that version, as an issued document shows it (it never changes: cached for a year)."""
    version = request.args.get("v", "")
    found = Settings.get_logo(version=version) if version else Settings.get_logo()
    if found is None:
        abort(404)
    cache = "public, max-age=31536000, immutable" if version else "public, max-age=300"
    return image_response(found[0], found[1], cache=cache)


# An app-level URL, so the staff check on this blueprint does not apply to it.
bp.record_once(lambda state: state.app.add_url_rule("/logo", "logo", logo))
