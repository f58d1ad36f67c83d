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
  POST /v1/refunds                         payment_intent or charge, amount (the rest when left
                                           out), metadata; Idempotency-Key as for sessions
  GET  /v1/refunds/{id}, GET /v1/payment_intents/{id}, GET /v1/charges/{id}
and serves the hosted page a buyer sees, GET /pay/{id}, whose Pay button (POST) completes the
session, sends `checkout.session.completed` signed the way Stripe signs
(Stripe-Signature: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<body>")) to fake.webhook_url,
and redirects to the success_url. Every request needs `Authorization: Bearer <api_key>`.

A completed session has a PaymentIntent and its Charge, so refunds and disputes have something
to act on. A refund sends charge.refunded and refund.created; settle_refund() moves a pending
one on (refund.updated, charge.refund.updated, and refund.failed when it fails);
refund_in_dashboard() is a refund staff made in Stripe's own dashboard; open_dispute() and
close_dispute() send charge.dispute.created / charge.dispute.closed. The objects follow Stripe's
published fixtures (stripe/openapi, openapi/fixtures3.json: resources.refund, .dispute,
.charge, .payment_intent), trimmed to the fields that matter, at API version 2025-09-30.clover
(where a charge no longer lists its refunds).
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


def error(status, kind, message, param=None, code=None):
    body = {"error": {"type": kind, "message": message}}
    if param:
        body["error"]["param"] = param
    if code:
        body["error"]["code"] = code
    return json_response(status, body, {"Request-Id": "req_" + random_id(14)})


class FakeStripe(FakeServer):
    routes = [
        ("POST", r"/v1/checkout/sessions", "create_session"),
        ("GET", r"/v1/checkout/sessions", "list_sessions"),
        ("GET", r"/v1/checkout/sessions/(cs_\w+)", "get_session"),
        ("POST", r"/v1/checkout/sessions/(cs_\w+)/expire", "expire_session"),
        ("POST", r"/v1/refunds", "create_refund"),
        ("GET", r"/v1/refunds/(re_\w+)", "get_refund"),
        ("GET", r"/v1/payment_intents/(pi_\w+)", "get_intent"),
        ("GET", r"/v1/charges/(ch_\w+)", "get_charge"),
        ("GET", r"/pay/(cs_\w+)", "hosted_page"),
        ("POST", r"/pay/(cs_\w+)", "hosted_pay"),
    ]

    def __init__(self, api_key=API_KEY, webhook_secret=WEBHOOK_SECRET):
        super().__init__()
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.idempotency = {}
        self.created = 0          # sessions really created (replays do not count)
        self.refund_status = "succeeded"   # what the next refunds answer: "pending", "failed"

    def clear(self):
        self.idempotency.clear()
        self.created = 0
        self.refund_status = "succeeded"

    # -- API -----------------------------------------------------------------------------------
    def authorize(self, request):
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return error(401, "invalid_request_error", "Invalid API Key provided.")
        return None

    def not_found(self, request):
        return error(404, "invalid_request_error", f"Unrecognized request URL ({request.method}: {request.path}).")

    def create_session(self, request):
        return self._idempotent(request, self._create)

    def create_refund(self, request):
        return self._idempotent(request, lambda params: self._refund_answer(params))

    def _idempotent(self, request, create):
        """Stripe's Idempotency-Key: the same key replays the first answer; other parameters
        with it are refused."""
        key = request.headers.get("idempotency-key")
        fingerprint = hashlib.sha256(request.body).hexdigest()
        with self.lock:
            if key and key in self.idempotency:
                seen_fingerprint, response = self.idempotency[key]
                if seen_fingerprint != fingerprint:
                    return error(400, "idempotency_error", "Keys for idempotent requests can only be used "
                                 "with the same parameters they were first used with.")
                return Response(response.status, response.body, {**response.headers, "Idempotent-Replayed": "true"})
            response = create(unflatten(urllib.parse.parse_qsl(request.body.decode(), keep_blank_values=True)))
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
        }
        self.store("sessions", session)
        # What the hosted page shows; kept apart because a Stripe session has no such field
        # (its line items are a separate list endpoint).
        self.store("descriptions", [i["price_data"].get("product_data", {}).get("name", "") for i in items], key=sid)
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

    def _refund_answer(self, params):
        try:
            refund = self.refund(params.get("payment_intent") or params.get("charge"),
                                 int(params["amount"]) if params.get("amount") else None,
                                 metadata=params.get("metadata") or {})
        except RefundRefused as refused:
            return error(*refused.args)
        return json_response(200, refund, {"Request-Id": "req_" + random_id(14)})

    def get_refund(self, request, rid):
        return self._get("refunds", rid, "refund")

    def get_intent(self, request, pid):
        return self._get("payment_intents", pid, "payment_intent")

    def get_charge(self, request, cid):
        return self._get("charges", cid, "charge")

    def _get(self, kind, oid, name):
        obj = self.registry(kind).get(oid)
        if obj is None:
            return error(404, "invalid_request_error", f"No such {name}: '{oid}'", "id", code="resource_missing")
        return json_response(200, obj)

    # -- the buyer's page ------------------------------------------------------------------------
    @public
    def hosted_page(self, request, sid):
        session = self.registry("sessions").get(sid)
        if session is None:
            return html_response(404, "Not found", "<p>This checkout does not exist.</p>")
        amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
        what = html.escape(", ".join(self.registry("descriptions").get(sid, [])))
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
            intent = self._charge_for(session)
            session.update(status="complete", payment_status="unpaid" if delayed else "paid",
                           payment_intent=intent["id"])
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

    def _charge_for(self, session):
        """The PaymentIntent and Charge a paid session leaves (resources.payment_intent and
        resources.charge of Stripe's fixtures, trimmed)."""
        now = int(time.time())
        pid, cid = "pi_" + _sid(24), "ch_" + _sid(24)
        common = {"amount": session["amount_total"], "currency": session["currency"], "created": now,
                  "livemode": False, "metadata": dict(session["metadata"])}
        charge = {"id": cid, "object": "charge", **common, "amount_captured": session["amount_total"],
                  "amount_refunded": 0, "balance_transaction": "txn_" + _sid(24), "captured": True,
                  "disputed": False, "paid": True, "payment_intent": pid, "refunded": False,
                  "status": "succeeded", "failure_code": None, "failure_message": None}
        intent = {"id": pid, "object": "payment_intent", **common, "amount_received": session["amount_total"],
                  "latest_charge": cid, "status": "succeeded", "capture_method": "automatic_async"}
        self.store("charges", charge)
        self.store("payment_intents", intent)
        return intent

    def _charge_of(self, ref):
        if str(ref).startswith("pi_"):
            intent = self.registry("payment_intents").get(ref)
            ref = intent["latest_charge"] if intent else None
        return self.registry("charges").get(ref)

    def refund(self, ref, amount=None, metadata=None, status=None):
        """Refund a PaymentIntent or Charge as Stripe does (the API call and the dashboard):
        answers the Refund, sends its events; RefundRefused with Stripe's error otherwise."""
        with self.lock:
            charge = self._charge_of(ref)
            if charge is None:
                raise RefundRefused(400, "invalid_request_error", f"No such payment_intent: '{ref}'",
                                    "payment_intent", "resource_missing")
            left = charge["amount"] - charge["amount_refunded"]
            amount = left if amount is None else amount
            if left <= 0:
                raise RefundRefused(400, "invalid_request_error", f"Charge {charge['id']} has already been refunded.",
                                    None, "charge_already_refunded")
            if charge["disputed"]:
                raise RefundRefused(400, "invalid_request_error", f"Charge {charge['id']} has been charged back; "
                                    "cannot issue a refund.", None, "charge_disputed")
            if not 0 < amount <= left:
                raise RefundRefused(400, "invalid_request_error", f"Refund amount ({amount}) is greater than "
                                    f"unrefunded amount on charge ({left})", "amount", "amount_too_large")
            status = status or self.refund_status
            refund = {"id": "re_" + _sid(24), "object": "refund", "amount": amount,
                      "balance_transaction": "txn_" + _sid(24), "charge": charge["id"], "created": int(time.time()),
                      "currency": charge["currency"],
                      "destination_details": {"card": {"type": "refund"}, "type": "card"},
                      "metadata": dict(metadata or {}), "payment_intent": charge["payment_intent"], "reason": None,
                      "receipt_number": None, "source_transfer_reversal": None, "status": status,
                      "transfer_reversal": None}
            if status == "failed":
                refund["failure_reason"] = "expired_or_canceled_card"
            else:
                charge["amount_refunded"] += amount
                charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            self.store("refunds", refund)
            events = [self.event("charge.refunded", charge)] if status != "failed" else []
            events.append(self.event("refund.created", refund))
        for event in events:
            self.emit(event)
        return json.loads(json.dumps(refund))

    def refund_in_dashboard(self, payment_intent, amount=None):
        """Staff refund in Stripe's dashboard: no API call of ours, only the events."""
        return self.refund(payment_intent, amount)

    def settle_refund(self, rid, status="succeeded"):
        """A pending refund completes or fails: refund.updated and charge.refund.updated (and
        refund.failed), as Stripe sends them."""
        with self.lock:
            refund = self.registry("refunds")[rid]
            refund["status"] = status
            if status == "failed":
                refund["failure_reason"] = "expired_or_canceled_card"
                charge = self._charge_of(refund["charge"])
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
            kinds = ["refund.updated", "charge.refund.updated"] + (["refund.failed"] if status == "failed" else [])
            events = [self.event(kind, refund) for kind in kinds]
        for event in events:
            self.emit(event)
        return events

    def open_dispute(self, payment_intent, amount=None, reason="fraudulent"):
        """The cardholder disputes the charge at their bank: charge.dispute.created."""
        with self.lock:
            charge = self._charge_of(payment_intent)
            charge["disputed"] = True
            dispute = {"id": "dp_" + _sid(24), "object": "dispute", "amount": amount or charge["amount"],
                       "balance_transactions": [], "charge": charge["id"], "created": int(time.time()),
                       "currency": charge["currency"], "evidence_details": {
                           "due_by": int(time.time()) + 7 * 86400, "has_evidence": False, "past_due": False,
                           "submission_count": 0},
                       "is_charge_refundable": False, "livemode": False, "metadata": {},
                       "payment_intent": charge["payment_intent"], "reason": reason, "status": "needs_response"}
            self.store("disputes", dispute)
            event = self.event("charge.dispute.created", dispute)
        self.emit(event)
        return dispute

    def close_dispute(self, did, status):
        """The bank decides: "won" or "lost" (charge.dispute.closed)."""
        with self.lock:
            dispute = self.registry("disputes")[did]
            dispute["status"] = status
            event = self.event("charge.dispute.closed", dispute)
        self.emit(event)
        return event

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


class RefundRefused(Exception):
    """Stripe's error for a refund it refuses: the arguments of error()."""


def _sid(n):
    return random_id(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


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

