"""Back-office: webhook endpoints (URL, events, signing secret shown once), their deliveries
with every attempt, and sending a delivery again."""
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ... import webhooks
from ...db import db
from ...web.forms import Form
from ...models import WEBHOOK_EVENTS, WebhookDelivery, WebhookEndpoint
from . import staff_blueprint

bp = staff_blueprint("webhooks", "/api/webhooks")
PAGE = 50


def get_endpoint(endpoint_id):
    endpoint = WebhookEndpoint.get_or_none(WebhookEndpoint.id == endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


def read_endpoint_form(data):
    """Validate the endpoint form; returns (form, values). The URL's host is resolved here and
    refused if it is private or local (unless the operator allows that)."""
    form = Form(data)
    url = form.text("url", required=True, max_length=500)
    if url:
        try:
            url = webhooks.check_url(url)
        except webhooks.UnsafeURL as exc:
            form.error("url", str(exc))
    description = form.text("description", max_length=200)
    chosen = data.getlist("events") if hasattr(data, "getlist") else []
    form.values["events"] = chosen
    if any(e not in WEBHOOK_EVENTS for e in chosen):
        form.error("events", _("Choose one of the options."))
    elif not chosen:
        form.error("events", _("Choose at least one event."))
    return form, {"url": url, "description": description,
                  "events": ",".join(e for e in WEBHOOK_EVENTS if e in chosen)}


def form_page(form, endpoint=None, status=200):
    return render_template("staff/api/webhook_form.html", form=form, endpoint=endpoint,
                           events=WEBHOOK_EVENTS), status


@bp.get("/")
def index():
    """List webhook endpoints."""
    endpoints = list(WebhookEndpoint.select().order_by(WebhookEndpoint.id))
    return render_template("staff/api/webhooks.html", endpoints=endpoints, window=webhooks.retry_window())


@bp.get("/new")
def new():
    """Show the form to register an endpoint."""
    return form_page(Form(values={"events": list(WEBHOOK_EVENTS)}))[0]


@bp.post("/new")
def create():
    """Register an endpoint and show its signing secret this once."""
    form, values = read_endpoint_form(request.form)
    if not form.ok:
        return form_page(form, status=422)
    secret = webhooks.new_secret()
    endpoint = WebhookEndpoint.create(secret=secret, created_by=g.staff, **values)
    return render_template("staff/api/webhook_secret.html", endpoint=endpoint, secret=secret)


@bp.get("/<int:endpoint_id>")
def show(endpoint_id):
    """Show an endpoint and its latest deliveries."""
    endpoint = get_endpoint(endpoint_id)
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    rows = list(WebhookDelivery.select().where(WebhookDelivery.endpoint == endpoint)
                .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
                .limit(PAGE + 1).offset((page - 1) * PAGE))
    return render_template("staff/api/webhook.html", endpoint=endpoint, deliveries=rows[:PAGE],
                           page=page, has_next=len(rows) > PAGE)


@bp.get("/<int:endpoint_id>/edit")
def edit(endpoint_id):
    """Show the endpoint's edit form."""
    endpoint = get_endpoint(endpoint_id)
    values = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.event_list}
    return form_page(Form(values=values), endpoint)[0]


@bp.post("/<int:endpoint_id>/edit")
def update(endpoint_id):
    """Change an endpoint's URL, description or events."""
    endpoint = get_endpoint(endpoint_id)
    form, values = read_endpoint_form(request.form)
    if not form.ok:
        return form_page(form, endpoint, 422)
    WebhookEndpoint.update(values).where(WebhookEndpoint.id == endpoint.id).execute()
    flash(_("Changes saved."), "success")
    return redirect(url_for(".show", endpoint_id=endpoint.id), 303)


@bp.post("/<int:endpoint_id>/active/<any(on,off):state>")
def set_active(endpoint_id, state):
    """Turn an endpoint on or off; while off, no new event is queued for it."""
    endpoint = get_endpoint(endpoint_id)
    WebhookEndpoint.update(active=(state == "on")).where(WebhookEndpoint.id == endpoint.id).execute()
    flash(_("The endpoint is on.") if state == "on" else _("The endpoint is off."), "success")
    return redirect(url_for(".show", endpoint_id=endpoint.id), 303)


@bp.post("/<int:endpoint_id>/rotate")
def rotate(endpoint_id):
    """Replace the signing secret and show the new one this once; the old one stops at once."""
    endpoint = get_endpoint(endpoint_id)
    secret = webhooks.new_secret()
    WebhookEndpoint.update(secret=secret).where(WebhookEndpoint.id == endpoint.id).execute()
    return render_template("staff/api/webhook_secret.html", endpoint=endpoint, secret=secret)


@bp.post("/<int:endpoint_id>/delete")
def delete(endpoint_id):
    """Delete an endpoint with its deliveries."""
    endpoint = get_endpoint(endpoint_id)
    with db.atomic():
        WebhookEndpoint.delete().where(WebhookEndpoint.id == endpoint.id).execute()
    flash(_("The endpoint %(url)s is deleted.", url=endpoint.url), "success")
    return redirect(url_for(".index"), 303)


def get_delivery(delivery_id):
    delivery = WebhookDelivery.get_or_none(WebhookDelivery.id == delivery_id)
    if delivery is None:
        abort(404)
    return delivery


@bp.get("/deliveries/<int:delivery_id>")
def delivery(delivery_id):
    """Show a delivery: the event sent and each attempt."""
    row = get_delivery(delivery_id)
    return render_template("staff/api/delivery.html", delivery=row, attempts=list(row.ordered_attempts()))


@bp.post("/deliveries/<int:delivery_id>/redeliver")
def redeliver(delivery_id):
    """Send a delivery again, with a fresh set of attempts."""
    row = get_delivery(delivery_id)
    if row.status == "pending" and row.job and row.job.status in ("pending", "running"):
        flash(_("This delivery is already waiting to be sent."), "info")
    else:
        webhooks.redeliver(row)
        flash(_("The event will be sent again shortly."), "success")
    return redirect(url_for(".delivery", delivery_id=row.id), 303)
