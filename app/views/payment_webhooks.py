"""The gateways' webhooks (/webhooks/stripe, /paypal, /square) and `flask payments reconcile`.

A webhook is read from the raw body and verified with every mode's keys that exist (a payment
made in test mode may be confirmed after staff switched to live). Anything that does not verify
gets 400 and changes nothing. A verified event gets 200 even when it concerns nothing of ours,
so the gateway stops resending it; what was done is kept on its PaymentEvent row."""
import logging

import click
from flask import Blueprint, request, url_for

from .. import csrf, payments
from ..jobs import connection
from ..payments import InvalidWebhook, service
from ..links import external_url
from . import public

log = logging.getLogger(__name__)

bp = Blueprint("payment_webhooks", __name__, cli_group="payments")
csrf.exempt(bp)   # the gateways sign their requests; they cannot carry our CSRF token


@bp.post("/webhooks/<any(stripe, paypal, square):gateway>")
@public   # the gateways call it; its signature is what authenticates it
def receive(gateway):
    """Verify a gateway's webhook and apply the event it carries, once."""
    body = request.get_data(cache=False)
    # Square signs the URL it was told to call: ours as BASE_URL says, never the Host header.
    url = external_url(url_for("payment_webhooks.receive", gateway=gateway))
    event = None
    for gw in payments.every_mode(gateway):
        try:
            event = gw.parse_webhook(body, request.headers, url)
            break
        except InvalidWebhook:
            continue
    if event is None:
        log.info("%s webhook refused: signature does not verify", gateway)
        return {"error": "invalid signature"}, 400
    result = service.handle_event(gateway, event)
    log.info("%s webhook %s (%s): %s", gateway, event.id, event.kind, result)
    return {"received": True}, 200


@bp.cli.command("reconcile")
@click.option("--days", default=3, show_default=True, type=click.IntRange(1, 90),
              help="How far back to look.")
def reconcile_command(days):
    """Ask the gateways about unsettled payments and apply what they say."""
    with connection(), request_like():
        done = service.reconcile(days)
    for payment, result in done:
        click.echo(f"payment {payment.id} {payment.gateway} {payment.provider_ref or '-'}: {result}")
    click.echo(f"checked {len(done)} payment(s)")


def request_like():
    """url_for and the gateways' config need a request context outside of one."""
    from flask import current_app
    return current_app.test_request_context(base_url=current_app.config["BASE_URL"])

