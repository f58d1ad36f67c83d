"""Outgoing webhooks: signed events for the business's other software, sent by the job queue.

`emit(event_type, data)` is called inside the transaction of the change that caused the event.
It writes one WebhookDelivery per subscribed endpoint and one outbox Job for each (jobs.enqueue),
so an event exists exactly when its cause committed. The body is fixed then: every attempt sends
the same bytes with the same event id, which is how a receiver recognises a repeat (a worker can
be killed after the receiver answered and before the success was written down: delivery is at
least once, never lost).

Each attempt is signed: `Portal-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret,
f"{t}.{body}")>`, the secret being the endpoint's whole `whsec_...` string as UTF-8. Failures
retry with the queue's exponential backoff for about a day (ATTEMPTS), then the delivery is
failed and shown to staff, who can send it again.

Endpoints on private, loopback, link-local or otherwise non-public addresses are refused unless
WEBHOOK_ALLOW_PRIVATE is on. The host is resolved when staff register the URL and again at each
attempt, and the connection goes to an address that was checked (no second lookup that a DNS
rebinding could answer differently).
"""
import datetime
import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
import uuid
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from . import jobs, serializers
from .db import db
from .models import (WEBHOOK_EVENTS, WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow)

JOB_KIND = "webhook.deliver"
SIGNATURE_HEADER = "Portal-Signature"
TOLERANCE = 300             # seconds a receiver should accept a signature's timestamp for
RETRY_FOR = 24 * 3600       # keep trying for about a day
MAX_RESPONSE = 64 * 1024    # read at most this much of a receiver's answer
USER_AGENT = "CustomerPortal-Webhooks/1"


def _attempts_for(seconds):
    """How many attempts the queue's backoff needs to keep trying for `seconds`."""
    waited, attempts = 0, 1
    while waited < seconds:
        waited += jobs.backoff(attempts)
        attempts += 1
    return attempts


ATTEMPTS = _attempts_for(RETRY_FOR)


# --- emitting -----------------------------------------------------------------------------

def emit(event_type, data):
    """Queue `event_type` with `data` (a JSON-able dict) for every endpoint that listens to it.

    Call it inside the transaction of the change it reports: a rollback takes it back."""
    if event_type not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event_type!r}")
    endpoints = WebhookEndpoint.listening_to(event_type)
    if not endpoints:
        return None
    event_id = "evt_" + uuid.uuid4().hex
    body = json.dumps({"id": event_id, "type": event_type,
                       "created_at": utcnow().replace(microsecond=0).isoformat() + "Z",
                       "data": data}, separators=(",", ":"), sort_keys=True, default=str)
    with db.atomic():   # a savepoint in the caller's transaction; all or nothing on its own
        for endpoint in endpoints:
            delivery = WebhookDelivery.create(endpoint=endpoint, event_id=event_id,
                                              event_type=event_type, body=body)
            job = jobs.enqueue(JOB_KIND, {"delivery": delivery.id}, max_attempts=ATTEMPTS)
            WebhookDelivery.update(job=job).where(WebhookDelivery.id == delivery.id).execute()
    return event_id


def redeliver(delivery):
    """Send a delivery again (staff asked): a fresh job with a fresh set of attempts."""
    job = jobs.enqueue(JOB_KIND, {"delivery": delivery.id}, max_attempts=ATTEMPTS)
    WebhookDelivery.update(job=job, status="pending").where(WebhookDelivery.id == delivery.id).execute()
    return job


# Payloads: the same shapes the API returns, so a receiver parses one format.

def document_data(doc):
    return {"document": serializers.document_summary(doc)}


def document_viewed_data(doc, person):
    return {"document": serializers.document_summary(doc), "person": serializers.person(person)}


def payment_data(payment):
    return {"payment": serializers.payment(payment),
            "document": serializers.document_summary(payment.document)}


def comment_data(comment):
    return {"comment": serializers.comment(comment),
            "document": serializers.document_summary(comment.document)}


def decision_data(decision):
    return {"decision": serializers.decision(decision),
            "document": serializers.document_summary(decision.document)}


# --- signing ------------------------------------------------------------------------------

def new_secret():
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret, timestamp, body):
    """The v1 signature: hex HMAC-SHA256 of f"{timestamp}.{body}" keyed by the secret."""
    if isinstance(body, bytes):
        body = body.decode()
    message = f"{int(timestamp)}.{body}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret, body, timestamp=None):
    timestamp = int(time.time() if timestamp is None else timestamp)
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret, header, body, tolerance=TOLERANCE, now=None):
    """What a receiver does: True when `header` signs `body` with `secret`, recently enough."""
    parts = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts.get("t", [""])[0])
    except ValueError:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))


# --- where deliveries may go --------------------------------------------------------------

class UnsafeURL(ValueError):
    """A URL we will not send to; the message is for staff."""


def is_public_address(address):
    """True for an address on the public internet (not private, loopback, link-local, CGNAT,
    multicast, reserved, or a private IPv4 hidden inside an IPv6 form)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        for inner in (ip.ipv4_mapped, ip.sixtofour, ip.teredo and ip.teredo[1]):
            if inner:
                ip = inner
                break
    return ip.is_global and not ip.is_multicast


def parse_url(url):
    """(scheme, host, port, path) of a webhook URL, or UnsafeURL saying what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeURL(_l("Enter the URL that will receive the events."))
    url = url.strip()
    if len(url) > 500:
        raise UnsafeURL(_l("Use at most 500 characters."))
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise UnsafeURL(_l("A URL cannot contain spaces or control characters."))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL(_l("Use an http:// or https:// URL."))
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL(_l("Put no user name or password in the URL; check the signature instead."))
    try:
        port = parts.port
    except ValueError:
        raise UnsafeURL(_l("The port in this URL is not valid.")) from None
    if not parts.hostname:
        raise UnsafeURL(_l("This URL has no host name."))
    port = port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def resolve(host, port, allow_private):
    """The addresses to connect to; UnsafeURL when none, or when any is not public and private
    ones are not allowed (one private answer among public ones is how rebinding starts)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(_l("The host name of this URL could not be resolved.")) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeURL(_l("The host name of this URL could not be resolved."))
    if not allow_private and not all(is_public_address(a) for a in addresses):
        raise UnsafeURL(_l("This URL points to a private or local address; only public addresses "
                          "are allowed."))
    return addresses


def check_url(url, allow_private=None):
    """Validate a URL for registration; returns it stripped, or raises UnsafeURL."""
    if allow_private is None:
        allow_private = current_app.config["WEBHOOK_ALLOW_PRIVATE"]
    _scheme, host, port, _path = parse_url(url)
    resolve(host, port, allow_private)
    return url.strip()


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to a checked address, with the URL's host in the Host header."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address; the certificate is verified against the URL's host."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url, body, headers, timeout, allow_private):
    """POST `body` to `url` through a checked address; returns the HTTP status. Redirects are
    not followed (a redirect could lead anywhere)."""
    scheme, host, port, path = parse_url(url)
    address = resolve(host, port, allow_private)[0]
    cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = cls(host, port, address, timeout)
    try:
        conn.request("POST", path, body=body.encode(), headers=headers)
        response = conn.getresponse()
        response.read(MAX_RESPONSE)
        return response.status
    finally:
        conn.close()


# --- delivering ---------------------------------------------------------------------------

class DeliveryFailed(Exception):
    """The receiver answered, but not with a 2xx."""


def deliver(job):
    """Send one delivery; raise to let the queue retry it."""
    delivery = WebhookDelivery.get_or_none(WebhookDelivery.id == job.data["delivery"])
    if delivery is None or delivery.status == "succeeded":
        return   # the endpoint was deleted, or an earlier run got through
    endpoint = delivery.endpoint
    final = job.attempts >= job.max_attempts
    if not endpoint.active:
        _finish(delivery, "failed", None, "The endpoint is disabled.")
        return
    if not endpoint.secret:
        # Its secret cannot be decrypted (the encryption key changed, app/sealed.py): an
        # unsigned delivery would be refused, or worse, trusted. Staff roll the secret.
        error = "The endpoint's signing secret cannot be read: roll its secret in the back-office."
        _finish(delivery, "failed", None, error)
        raise jobs.PermanentError(error)
    config = current_app.config
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               SIGNATURE_HEADER: signature_header(endpoint.secret, delivery.body),
               "Portal-Event-Id": delivery.event_id, "Portal-Event-Type": delivery.event_type,
               "Portal-Delivery-Id": str(delivery.id)}
    started = time.monotonic()
    status, error = None, ""
    try:
        status = post(endpoint.url, delivery.body, headers, config["WEBHOOK_TIMEOUT"],
                      config["WEBHOOK_ALLOW_PRIVATE"])
    except UnsafeURL as exc:
        with force_locale(config["BABEL_DEFAULT_LOCALE"]):   # no request here to choose one
            error = str(exc)
        _record(delivery, started, None, error)
        _finish(delivery, "failed", None, error)
        raise jobs.PermanentError(error) from None
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    _record(delivery, started, status, error)
    if status is not None and 200 <= status < 300:
        _finish(delivery, "succeeded", status, "")
        return
    error = error or f"The endpoint answered HTTP {status}."
    if final:
        _finish(delivery, "failed", status, error)
    else:
        WebhookDelivery.update(last_status_code=status, last_error=error).where(
            WebhookDelivery.id == delivery.id).execute()
    raise DeliveryFailed(error)


def _record(delivery, started, status, error):
    WebhookAttempt.create(delivery=delivery, status_code=status, error=error[:2000],
                          duration_ms=int((time.monotonic() - started) * 1000))
    WebhookDelivery.update(attempts=WebhookDelivery.attempts + 1).where(
        WebhookDelivery.id == delivery.id).execute()


def _finish(delivery, status, code, error):
    changes = {"status": status, "last_status_code": code, "last_error": error[:2000]}
    if status == "succeeded":
        changes["delivered_at"] = utcnow()
    WebhookDelivery.update(changes).where(WebhookDelivery.id == delivery.id).execute()


def retry_window():
    """How long deliveries keep being retried, for the staff page."""
    return datetime.timedelta(seconds=sum(jobs.backoff(n) for n in range(1, ATTEMPTS)))
