"""A fake Stripe that speaks enough of the real HTTP API for Checkout, on 127.0.0.1.

localstripe has no Checkout Sessions, hence this. It answers the official `stripe` library
(pointed at it with base_addresses={"api": fake.base_url}):
  POST /v1/checkout/sessions               form-encoded, as the library sends it; honours
                                           Idempotency-Key (the same key replays the first
                                           answer; other parameters with it get 400)
  GET  /v1/checkout/sessions/{id}
  GET  /v1/checkout/sessions               created[gte], limit, starting_after (newest first,
                                           has_more: the library's auto_paging_iter follows it)
  POST /v1/checkout/sessions/{id}/expire
and serves the hosted page a buyer sees, GET /pay/{id}, whose Pay button (POST) completes the
session, sends `checkout.session.completed` signed the way Stripe signs
(Stripe-Signature: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<body>")) to fake.webhook_url,
and redirects to the success_url. Every request needs `Authorization: Bearer <api_key>`.
"""
import hashlib
import hmac
import html
import json
import re
import time
import urllib.parse

import pytest

from tests.fakes.base import (FakeServer, Response, html_response, json_response, public, random_id,
                              redirect)

API_KEY = "sk_test_fake_4eC39HqLyjWDarjtT1zdp7dc"
WEBHOOK_SECRET = "whsec_fake_5WbX5kEWLBnR4vT3a8qh"
API_VERSION = "2025-09-30.clover"


def unflatten(pairs):
    """Stripe's form encoding back to nested data: a[b][0][c]=v -> {"a": {"b": [{"c": "v"}]}}."""
    root = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node):
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def error(status, kind, message, param=None):
    body = {"error": {"type": kind, "message": message}}
    if param:
        body["error"]["param"] = param
    return json_response(status, body, {"Request-Id": "req_" + random_id(14)})


class FakeStripe(FakeServer):
    routes = [
        ("POST", r"/v1/checkout/sessions", "create_session"),
        ("GET", r"/v1/checkout/sessions", "list_sessions"),
        ("GET", r"/v1/checkout/sessions/(cs_\w+)", "get_session"),
        ("POST", r"/v1/checkout/sessions/(cs_\w+)/expire", "expire_session"),
        ("GET", r"/pay/(cs_\w+)", "hosted_page"),
        ("POST", r"/pay/(cs_\w+)", "hosted_pay"),
    ]

    def __init__(self, api_key=API_KEY, webhook_secret=WEBHOOK_SECRET):
        super().__init__()
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.idempotency = {}
        self.created = 0          # sessions really created (replays do not count)

    def clear(self):
        self.idempotency.clear()
        self.created = 0

    # -- API -----------------------------------------------------------------------------------
    def authorize(self, request):
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return error(401, "invalid_request_error", "Invalid API Key provided.")
        return None

    def not_found(self, request):
        return error(404, "invalid_request_error", f"Unrecognized request URL ({request.method}: {request.path}).")

    def create_session(self, request):
        key = request.headers.get("idempotency-key")
        fingerprint = hashlib.sha256(request.body).hexdigest()
        with self.lock:
            if key and key in self.idempotency:
                seen_fingerprint, response = self.idempotency[key]
                if seen_fingerprint != fingerprint:
                    return error(400, "idempotency_error", "Keys for idempotent requests can only be used "
                                 "with the same parameters they were first used with.")
                return Response(response.status, response.body, {**response.headers, "Idempotent-Replayed": "true"})
            response = self._create(unflatten(urllib.parse.parse_qsl(request.body.decode(), keep_blank_values=True)))
            if key:
                self.idempotency[key] = (fingerprint, response)
            return response

    def _create(self, params):
        if params.get("mode") != "payment":
            return error(400, "invalid_request_error", "mode must be payment here.", "mode")
        for name in ("success_url", "cancel_url"):
            if not params.get(name, "").startswith(("http://", "https://")):
                return error(400, "invalid_request_error", f"Not a valid URL: {name}", name)
        try:
            items = params["line_items"]
            amount = sum(int(i["price_data"]["unit_amount"]) * int(i.get("quantity", "1")) for i in items)
            currencies = {i["price_data"]["currency"] for i in items}
        except (KeyError, TypeError, ValueError):
            return error(400, "invalid_request_error", "line_items with price_data are required here.", "line_items")
        if len(currencies) != 1 or amount <= 0:
            return error(400, "invalid_request_error", "One currency and a positive amount.", "line_items")
        now = int(time.time())
        expires_at = int(params.get("expires_at") or now + 86400)
        if not now + 1800 - 5 <= expires_at <= now + 86400:
            return error(400, "invalid_request_error", "expires_at must be 30 minutes to 24 hours away.", "expires_at")
        sid = "cs_test_" + random_id(24, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        session = {
            "id": sid, "object": "checkout.session", "mode": "payment", "livemode": False,
            "amount_subtotal": amount, "amount_total": amount, "currency": currencies.pop(),
            "client_reference_id": params.get("client_reference_id"), "metadata": params.get("metadata") or {},
            "status": "open", "payment_status": "unpaid", "payment_intent": None,
            "success_url": params["success_url"], "cancel_url": params["cancel_url"],
            "created": now, "expires_at": expires_at, "url": self.url(f"/pay/{sid}"),
            "line_items_description": [i["price_data"].get("product_data", {}).get("name", "") for i in items],
        }
        self.store("sessions", session)
        self.created += 1
        return json_response(200, session, {"Request-Id": "req_" + random_id(14)})

    def get_session(self, request, sid):
        session = self.registry("sessions").get(sid)
        if session is None:
            return error(404, "invalid_request_error", f"No such checkout.session: '{sid}'", "session")
        return json_response(200, session)

    def list_sessions(self, request):
        since = int(request.query.get("created[gte]", "0") or 0)
        limit = min(int(request.query.get("limit", "10") or 10), 100)
        rows = [s for s in reversed(list(self.registry("sessions").values())) if s["created"] >= since]
        after = request.query.get("starting_after")
        if after:
            ids = [s["id"] for s in rows]
            if after not in ids:
                return error(400, "invalid_request_error", f"No such checkout.session: '{after}'", "starting_after")
            rows = rows[ids.index(after) + 1:]
        return json_response(200, {"object": "list", "url": "/v1/checkout/sessions",
                                   "has_more": len(rows) > limit, "data": rows[:limit]})

    def expire_session(self, request, sid):
        session = self.registry("sessions").get(sid)
        if session is None or session["status"] != "open":
            return error(400, "invalid_request_error", "Only an open session can be expired.")
        session["status"] = "expired"
        self.emit(self.event("checkout.session.expired", session))
        return json_response(200, session)

    # -- the buyer's page ------------------------------------------------------------------------
    @public
    def hosted_page(self, request, sid):
        session = self.registry("sessions").get(sid)
        if session is None:
            return html_response(404, "Not found", "<p>This checkout does not exist.</p>")
        amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
        what = html.escape(", ".join(session["line_items_description"]))
        if session["status"] != "open":
            return html_response(200, "Checkout", f"<p id='state'>This checkout is {session['status']}.</p>")
        return html_response(200, "Fake Stripe Checkout", (
            f"<h1>Fake Stripe Checkout</h1><p id='what'>{what}</p><p id='amount'>{html.escape(amount)}</p>"
            f"<form method='post' action='/pay/{sid}'><button id='pay' type='submit'>Pay</button></form>"
            f"<p><a id='cancel' href='{html.escape(session['cancel_url'])}'>Cancel</a></p>"))

    @public
    def hosted_pay(self, request, sid):
        session = self.complete(sid)
        if session is None:
            return html_response(409, "Checkout", "<p>This checkout cannot be paid.</p>")
        return redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", sid))

    # -- what tests call -------------------------------------------------------------------------
    def complete(self, sid, emit=True, delayed=False):
        """The buyer pays: the session completes and (by default) its event is sent. `delayed`:
        a delayed method (SEPA Direct Debit, bank transfer): the session completes with
        payment_status "unpaid" and settle_delayed() later says how it ended (Stripe,
        docs.stripe.com/payments/checkout/fulfill-orders, "Handle delayed notification payment
        methods": checkout.session.completed, then checkout.session.async_payment_succeeded or
        checkout.session.async_payment_failed, the session object in each)."""
        with self.lock:
            session = self.registry("sessions").get(sid)
            if session is None or session["status"] != "open":
                return None
            session.update(status="complete", payment_status="unpaid" if delayed else "paid",
                           payment_intent="pi_" + random_id(24, "abcdefghijklmnopqrstuvwxyz0123456789"))
        if emit:
            self.emit(self.event("checkout.session.completed", session))
        return session

    def settle_delayed(self, sid, succeeded=True):
        """The bank debit of a delayed session arrives (or bounces), and its event is sent."""
        with self.lock:
            session = self.registry("sessions")[sid]
            if succeeded:
                session["payment_status"] = "paid"
        kind = "succeeded" if succeeded else "failed"
        self.emit(self.event(f"checkout.session.async_payment_{kind}", session))
        return session

    def event(self, kind, obj, **changes):
        """A Stripe event about a copy of `obj` with `changes` applied to the copy."""
        obj = json.loads(json.dumps(obj))
        obj.update(changes)
        return {"id": "evt_" + random_id(24, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
                "object": "event", "api_version": API_VERSION, "created": int(time.time()),
                "type": kind, "livemode": False, "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None}, "data": {"object": obj}}

    def signature(self, body, timestamp=None, secret=None):
        timestamp = int(time.time()) if timestamp is None else timestamp
        payload = f"{timestamp}.".encode() + body
        mac = hmac.new((secret or self.webhook_secret).encode(), payload, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={mac}"

    def sign_message(self, event, body):
        return {"Stripe-Signature": self.signature(body)}

    def sessions(self):
        return list(self.registry("sessions").values())


@pytest.fixture(scope="session")
def stripe_server():
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture
def stripe_fake(stripe_server):
    """The fake Stripe, emptied for each test; webhooks go only to the outbox unless a test
    sets webhook_url."""
    stripe_server.reset()
    stripe_server.webhook_url = None
    stripe_server.webhook_sync = False
    yield stripe_server
    stripe_server.flush()
    stripe_server.webhook_url = None

