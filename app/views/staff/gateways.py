"""Back-office: the payment gateways' keys (test and live, and which is in use), and the
payments made online: per contact, per document, and the flagged ones staff must look at.

Secret keys are write-only here: the form shows their last characters, an empty field keeps
the stored value, and nothing logs them."""
import json
import re

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ... import payments
from ...web.forms import Form
from ...models import Contact, Document, GatewayConfig, Payment, utcnow
from ...links import external_url
from . import staff_blueprint

bp = staff_blueprint("gateways", "")
PAGE = 50


def get_name(name):
    if name not in payments.NAMES:
        abort(404)
    return name


# --- keys -----------------------------------------------------------------------------------

def gateway_card(name, form=None):
    """What one gateway's card shows: its fields, what is stored (masked), its state."""
    cls = payments.gateway_class(name)
    row = GatewayConfig.get_or_none(GatewayConfig.gateway == name)
    stored = {mode: (row.credentials(mode) if row else {}) for mode in payments.MODES}
    env = payments.env_credentials(name)
    values = {"mode": payments.current_mode(name)}
    for mode in payments.MODES:
        for f in cls.fields:
            if not f.secret:
                values[f"{mode}_{f.name}"] = stored[mode].get(f.name, "")
    return {"name": name, "label": cls.label, "fields": cls.fields, "stored": stored,
            "masked": {mode: {f.name: payments.mask(stored[mode].get(f.name, "")) for f in cls.fields}
                       for mode in payments.MODES},
            "env": {f.name: f.env for f in cls.fields if f.name in env}, "env_mode": payments.env_mode(name),
            "configured": payments.configured(name), "mode": payments.current_mode(name),
            "webhook_url": external_url(url_for("payment_webhooks.receive", gateway=name)),
            "form": form or Form(values=values)}


def gateways_page(forms=None, status=200):
    forms = forms or {}
    cards = [gateway_card(name, forms.get(name)) for name in payments.NAMES]
    return render_template("staff/payments/gateways.html", cards=cards), status


@bp.get("/gateways/")
def gateways():
    """Show each gateway's keys (masked), its mode and its webhook URL."""
    return gateways_page()


def read_keys(name, data, stored):
    """Validate a gateway's form; returns (form, mode, {mode: credentials})."""
    cls = payments.gateway_class(name)
    form = Form(data)
    mode = form.choice("mode", payments.MODES)
    result = {}
    for m in payments.MODES:
        creds = dict(stored[m])
        for f in cls.fields:
            key = f"{m}_{f.name}"
            value = form.text(key, max_length=300)
            if f.secret:
                form.values[key] = ""   # a secret is never sent back to the browser
            if not value:
                if not f.secret and value == "":
                    creds.pop(f.name, None)   # a visible field emptied: removed
                continue
            if not re.fullmatch(f.pattern.replace("{mode}", m), value):
                form.error(key, _("This does not look like a %(mode)s %(field)s.", mode=m, field=str(f.label).lower()))
                continue
            creds[f.name] = value
        result[m] = creds
    if form.ok and mode and not payments.env_mode(name):
        complete = cls.is_complete({**result[mode], **payments.env_credentials(name)})
        if not complete and mode != payments.current_mode(name):
            form.error("mode", _("Enter every key of this mode before switching to it."))
    return form, mode, result


@bp.post("/gateways/<name>")
def save_gateway(name):
    """Save a gateway's keys and its mode."""
    name = get_name(name)
    row = GatewayConfig.get_or_none(GatewayConfig.gateway == name)
    form, mode, creds = read_keys(name, request.form, {m: row.credentials(m) if row else {} for m in payments.MODES})
    if not form.ok:
        return gateways_page({name: form}, 422)
    row = row or GatewayConfig.get_or_create(gateway=name)[0]
    (GatewayConfig.update(mode=mode, test_credentials=json.dumps(creds["test"]),
                          live_credentials=json.dumps(creds["live"]), updated_at=utcnow(), updated_by=g.staff)
     .where(GatewayConfig.id == row.id).execute())
    payments.forget_cached()
    flash(_("%(gateway)s saved.", gateway=payments.label(name)), "success")
    return redirect(url_for(".gateways") + f"#gateway-{name}", 303)


@bp.post("/gateways/<name>/forget")
def forget_gateway(name):
    """Remove the stored keys of one mode."""
    name = get_name(name)
    form = Form(request.form)
    mode = form.choice("mode", payments.MODES)
    if not form.ok:
        abort(400)
    GatewayConfig.update({f"{mode}_credentials": "{}", "updated_at": utcnow(), "updated_by": g.staff}).where(
        GatewayConfig.gateway == name).execute()
    payments.forget_cached()
    flash(_("The %(mode)s keys of %(gateway)s were removed.", mode=mode, gateway=payments.label(name)), "success")
    return redirect(url_for(".gateways") + f"#gateway-{name}", 303)


# --- payments -------------------------------------------------------------------------------

@bp.get("/payments/")
def payment_list():
    """List payments, per contact or document, or only the flagged ones."""
    contact = (Contact.get_or_none(Contact.id == request.args.get("contact", type=int))
               if request.args.get("contact") else None)
    document = (Document.get_or_none(Document.id == request.args.get("document", type=int))
                if request.args.get("document") else None)
    flagged = request.args.get("flagged") == "1"
    gateway = request.args.get("gateway", "")
    gateway = gateway if gateway in ("manual",) + payments.NAMES else ""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows = list(Payment.staff_list(contact, document, flagged, gateway).limit(PAGE + 1).offset((page - 1) * PAGE))
    return render_template("staff/payments/index.html", payments=rows[:PAGE], has_next=len(rows) > PAGE,
                           page=page, contact=contact, document=document, flagged=flagged, gateway=gateway,
                           flagged_count=Payment.select().where(Payment.flagged == True).count())


@bp.get("/payments/<int:payment_id>")
def payment(payment_id):
    """Show one payment: what it was for, every event received about it, its flag."""
    row = Payment.get_or_none(Payment.id == payment_id)
    if row is None:
        abort(404)
    return render_template("staff/payments/show.html", payment=row, shares=list(row.shares()),
                           events=list(row.events.order_by(row.events.model.received_at)),
                           form=Form())


@bp.post("/payments/<int:payment_id>/resolve")
def resolve(payment_id):
    """Clear a payment's flag once staff have dealt with it, with a note saying how."""
    row = Payment.get_or_none(Payment.id == payment_id)
    if row is None:
        abort(404)
    form = Form(request.form)
    note = form.text("note", required=True, max_length=200)
    if not form.ok:
        return render_template("staff/payments/show.html", payment=row, shares=list(row.shares()),
                               events=list(row.events), form=form), 422
    resolved = (Payment.update(flagged=False, method_note=note, updated_at=utcnow())
                .where((Payment.id == row.id) & (Payment.flagged == True)).execute())
    flash(_("Flag cleared.") if resolved else _("This payment was not flagged."), "success" if resolved else "info")
    return redirect(url_for(".payment", payment_id=row.id), 303)
