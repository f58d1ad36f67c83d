"""A local Square for tests, good enough for the official `squareup` 46 SDK
(`Square(token=fake.access_token, base_url=fake.base_url)`).

It serves: payment links (quick pay or an ad hoc order; idempotency_key honoured), the buyer's
checkout page (/pay/{link_id}, a plain form POST), payments (get, list with begin/end time and a
cursor) and orders (get, batch-retrieve, search by location and created_at with a cursor).
Paying creates a COMPLETED card payment, adds its tender to the order, emits payment webhooks
signed as Square signs them (base64 HMAC-SHA256 of notification URL + body, no timestamp) and
redirects to the link's redirect_url with ?checkoutId=LINK&orderId=ORDER&transactionId=ORDER.

What real Square does there, and the fake therefore does too:
- The paid order stays OPEN, with the tender and net_amount_due_money 0; only fulfilment
  completes it (developer.squareup.com/docs/checkout-api/manage-checkout, "Payment link orders
  ... remain in the OPEN state"; developer forum threads "Order state stays OPEN after payment
  link checkout", 2022-2024).
- The payment does not carry the order's reference_id (Payment object reference:
  developer.squareup.com/reference/square/objects/Payment — reference_id is only what the
  CreatePayment caller set, and checkout sets none).
- order_differs = True: the payment (and its events) name a new order, a copy of the link's
  with its reference_id, as the issue's review of webhooks found ("order_id can differ from the
  link's order_id").

Refunds: POST /v2/refunds (idempotency_key honoured, at most 45 characters as Square says;
the amount never above what is left of the payment) answers the refund PENDING, then emits
refund.created (PENDING) and refund.updated (refund_final: COMPLETED, or FAILED / REJECTED; None
leaves it pending); GET /v2/refunds/{id}. refund_in_dashboard() is a refund made in Square's own
dashboard. The refund and its events follow the squareup SDK's types (square/types/
payment_refund.py, refund_created_event.py, refund_updated_event.py) and the API reference pages
developer.squareup.com/reference/square/refunds-api/refund-payment and
developer.squareup.com/reference/square/webhooks/refund.created (and refund.updated).
"""
import base64
import hashlib
import hmac
import html
import json
import string
import uuid
from datetime import datetime, timedelta, timezone

from .base import (FakeServer, add_query, dumps, html_response, json_response, parse_time, public,
                   random_id, redirect)

ID_ALPHABET = string.ascii_letters + string.digits
SIGNATURE_HEADER = "x-square-hmacsha256-signature"


def square_now():
    """Square writes times with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SquareFake(FakeServer):
    """Square for tests. Settings (plain attributes): access_token, location_id, merchant_id,
    signature_key, webhook_url, notification_url (what the signature covers; defaults to
    webhook_url), webhook_sync, payment_events ([(event type, payment status in that event)])."""

    routes = [
        ("POST", r"/v2/online-checkout/payment-links", "create_link"),
        ("GET", r"/v2/online-checkout/payment-links/([^/]+)", "get_link"),
        ("GET", r"/v2/payments", "list_payments"),
        ("GET", r"/v2/payments/([^/]+)", "get_payment"),
        ("GET", r"/v2/orders/([^/]+)", "get_order"),
        ("POST", r"/v2/orders/batch-retrieve", "batch_retrieve_orders"),
        ("POST", r"/v2/orders/search", "search_orders"),
        ("POST", r"/v2/refunds", "refund_payment"),
        ("GET", r"/v2/refunds/([^/]+)", "get_refund"),
        ("GET", r"/pay/([^/]+)", "pay_page"),
        ("POST", r"/pay/([^/]+)", "pay"),
    ]

    def __init__(self, access_token="fake-square-access-token", location_id="LFAKE0LOCATION",
                 signature_key="fake-square-signature-key"):
        super().__init__()
        self.access_token = access_token
        self.location_id = location_id
        self.merchant_id = "MLFAKEMERCHANT"
        self.signature_key = signature_key
        self.notification_url = None
        # Square sends payment.created (APPROVED) then payment.updated (COMPLETED) for a card
        # payment taken on a payment link: an app must act on the status, not on the type.
        self.payment_events = [("payment.created", "APPROVED"), ("payment.updated", "COMPLETED")]
        self.order_differs = False        # see the module's docstring
        self.refund_final = "COMPLETED"   # where a refund ends up after PENDING (None: stays)

    # -- what tests read ---------------------------------------------------------------------
    @property
    def links(self):
        return self.registry("links")

    @property
    def orders(self):
        return self.registry("orders")

    @property
    def payments(self):
        return self.registry("payments")

    @property
    def refunds(self):
        return self.registry("refunds")

    def pay_link(self, link_id):
        """Press "Pay" on the checkout page: (status, Location of the redirect)."""
        return self.post_form(f"/pay/{link_id}", {"action": "pay"})

    def sdk_client(self, token=None):
        from square import Square
        return Square(token=token or self.access_token, base_url=self.base_url)

    # -- webhooks ----------------------------------------------------------------------------
    def sign(self, body, notification_url=None, signature_key=None):
        """The x-square-hmacsha256-signature value for `body` (bytes)."""
        url = notification_url or self.notification_url or self.webhook_url or ""
        digest = hmac.new((signature_key or self.signature_key).encode(), url.encode() + body,
                          hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def sign_message(self, event, body):
        return {SIGNATURE_HEADER: self.sign(body), "square-version": "2026-09-16",
                "square-initial-delivery-timestamp": square_now()}

    def event(self, event_type, object_type, obj):
        """A webhook event as Square builds it (not sent: see emit/deliver)."""
        return {"merchant_id": self.merchant_id, "type": event_type, "event_id": str(uuid.uuid4()),
                "created_at": square_now(),
                "data": {"type": object_type, "id": obj["id"], "object": {object_type: obj}}}

    # -- routes ------------------------------------------------------------------------------
    def authorize(self, request):
        header = request.headers.get("authorization", "")
        if header == f"Bearer {self.access_token}":
            return None
        detail = ("This request could not be authorized." if header else
                  "Your request did not include an `Authorization` http header with an access "
                  "token. The header value is expected to be of the format \"Bearer TOKEN\" "
                  "(without quotation marks), where TOKEN is to be replaced with your access token")
        return square_error(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", detail)

    def not_found(self, request):
        return square_error(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", "Resource not found.")

    def create_link(self, request):
        try:
            body = request.json()
        except ValueError:
            return square_error(400, "INVALID_REQUEST_ERROR", "INVALID_CONTENT_TYPE",
                                "The request body must be JSON.")
        body = {k: v for k, v in body.items() if v is not None}
        key = body.get("idempotency_key")
        with self.lock:
            if key:
                previous = self.registry("idempotency").get(key)
                if previous and previous[0] != body:
                    return square_error(400, "INVALID_REQUEST_ERROR", "IDEMPOTENCY_KEY_REUSED",
                                        "The idempotency key can only be retried with the same "
                                        "request data.", field="idempotency_key")
                if previous:
                    return json_response(200, previous[1])
            problem = self._validate_link(body)
            if problem:
                return problem
            order = self._new_order(body)
            now = square_now()
            link_id = random_id(16)
            link = {"id": link_id, "version": 1, "order_id": order["id"],
                    "url": self.url(f"/pay/{link_id}"), "long_url": self.url(f"/pay/{link_id}"),
                    "created_at": now}
            for name in ("description", "checkout_options", "pre_populated_data", "payment_note"):
                if name in body:
                    link[name] = body[name]
            self.store("orders", order)
            self.store("links", link)
            answer = {"payment_link": link, "related_resources": {"orders": [order]}}
            answer = json.loads(dumps(answer))
            if key:
                self.registry("idempotency")[key] = (body, answer)
        return json_response(200, answer)

    def get_link(self, request, link_id):
        with self.lock:
            link = self.links.get(link_id)
            if link is None:
                return not_found("payment link", link_id)
            return json_response(200, {"payment_link": link})

    def get_payment(self, request, payment_id):
        with self.lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                return not_found("payment", payment_id)
            return json_response(200, {"payment": payment})

    def list_payments(self, request):
        """Newest first by default; begin_time inclusive, end_time exclusive, on created_at."""
        q = request.query
        begin = parse_time(q["begin_time"]) if q.get("begin_time") else \
            datetime.now(timezone.utc) - timedelta(days=365)
        end = parse_time(q["end_time"]) if q.get("end_time") else None
        if begin is None or (q.get("end_time") and end is None):
            return square_error(400, "INVALID_REQUEST_ERROR", "INVALID_TIME",
                                "Invalid time format.", field="begin_time")
        try:
            limit = min(max(int(q.get("limit") or 100), 1), 100)
            offset = int(base64.urlsafe_b64decode(q["cursor"]).decode()) if q.get("cursor") else 0
        except ValueError:
            return square_error(400, "INVALID_REQUEST_ERROR", "INVALID_CURSOR", "Invalid cursor.",
                                field="cursor")
        with self.lock:
            found = [p for p in self.payments.values()
                     if parse_time(p["created_at"]) >= begin
                     and (end is None or parse_time(p["created_at"]) < end)
                     and (not q.get("location_id") or p["location_id"] == q["location_id"])]
            found.sort(key=lambda p: p["created_at"], reverse=q.get("sort_order") != "ASC")
            page = found[offset:offset + limit]
            answer = {"payments": page} if page else {}    # Square leaves out empty lists
            if offset + limit < len(found):
                answer["cursor"] = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
            return json_response(200, answer)

    def get_order(self, request, order_id):
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return not_found("order", order_id)
            return json_response(200, {"order": order})

    def search_orders(self, request):
        """SearchOrders (developer.squareup.com/reference/square/orders-api/search-orders):
        location_ids required; query.filter.date_time_filter.created_at.start_at; newest first
        with sort_order DESC; limit (at most 1000, default 500) and an opaque cursor."""
        try:
            body = request.json()
            locations = body.get("location_ids")
            query = body.get("query") or {}
            start = (((query.get("filter") or {}).get("date_time_filter") or {}).get("created_at") or {}).get(
                "start_at")
            limit = min(max(int(body.get("limit") or 500), 1), 1000)
            offset = int(base64.urlsafe_b64decode(body["cursor"]).decode()) if body.get("cursor") else 0
        except (ValueError, AttributeError, TypeError):
            return square_error(400, "INVALID_REQUEST_ERROR", "INVALID_VALUE", "Invalid search.")
        if not isinstance(locations, list) or not locations:
            return square_error(400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER",
                                "Missing required parameter.", field="location_ids")
        begin = parse_time(start) if start else None
        descending = ((query.get("sort") or {}).get("sort_order") or "ASC") == "DESC"
        with self.lock:
            found = [o for o in self.orders.values() if o["location_id"] in locations
                     and (begin is None or parse_time(o["created_at"]) >= begin)]
            found.sort(key=lambda o: o["created_at"], reverse=descending)
            page = found[offset:offset + limit]
            answer = {"orders": page} if page else {}
            if offset + limit < len(found):
                answer["cursor"] = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
            return json_response(200, answer)

    def batch_retrieve_orders(self, request):
        try:
            ids = request.json().get("order_ids")
        except ValueError:
            ids = None
        if not isinstance(ids, list) or not ids:
            return square_error(400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER",
                                "Missing required parameter.", field="order_ids")
        with self.lock:
            found = [self.orders[i] for i in ids if i in self.orders]
            return json_response(200, {"orders": found} if found else {})

    def refund_payment(self, request):
        try:
            body = {k: v for k, v in request.json().items() if v is not None}
        except ValueError:
            return square_error(400, "INVALID_REQUEST_ERROR", "INVALID_CONTENT_TYPE", "The request body must be JSON.")
        key = body.get("idempotency_key")
        if not key:
            return invalid("MISSING_REQUIRED_PARAMETER", "idempotency_key")
        if len(key) > 45:
            return invalid("VALUE_TOO_LONG", "idempotency_key")
        with self.lock:
            previous = self.registry("idempotency").get(("refund", key))
            if previous and previous[0] != body:
                return square_error(400, "INVALID_REQUEST_ERROR", "IDEMPOTENCY_KEY_REUSED",
                                    "The idempotency key can only be retried with the same request data.",
                                    field="idempotency_key")
            if previous:
                return json_response(200, previous[1])
            problem = check_money(body.get("amount_money"), "amount_money")
            if problem:
                return problem
            payment = self.payments.get(body.get("payment_id"))
            if payment is None:
                return not_found("payment", body.get("payment_id"))
            refund = self._refund(payment, body["amount_money"], body.get("reason"))
            if not isinstance(refund, dict):
                return refund
            answer = {"refund": json.loads(dumps(refund))}
            self.registry("idempotency")[("refund", key)] = (body, answer)
        self._emit_refund(refund)
        return json_response(200, answer)

    def get_refund(self, request, refund_id):
        with self.lock:
            refund = self.refunds.get(refund_id)
            if refund is None:
                return not_found("refund", refund_id)
            return json_response(200, {"refund": refund})

    def refund_in_dashboard(self, payment_id, amount=None):
        """The seller refunds in Square's dashboard: only the webhooks tell us."""
        with self.lock:
            payment = self.payments[payment_id]
            left = payment["total_money"]["amount"] - (payment.get("refunded_money") or {}).get("amount", 0)
            refund = self._refund(payment, money(amount or left, payment["total_money"]["currency"]), None)
        return self._emit_refund(refund)

    def _refund(self, payment, amount_money, reason):
        """A PENDING refund of `payment` (lock held), or the error Square answers."""
        total = payment["total_money"]
        refunded = (payment.get("refunded_money") or {}).get("amount", 0)
        if amount_money["currency"] != total["currency"]:
            return invalid("CURRENCY_MISMATCH", "amount_money.currency")
        if amount_money["amount"] > total["amount"] - refunded:
            return square_error(400, "INVALID_REQUEST_ERROR", "REFUND_AMOUNT_INVALID",
                                "The requested refund amount exceeds the amount available to refund.",
                                field="amount_money.amount")
        now = square_now()
        refund = {"id": f"{payment['id']}_{random_id(20, ID_ALPHABET)}", "status": "PENDING",
                  "location_id": payment["location_id"], "unlinked": False, "destination_type": "CARD",
                  "amount_money": dict(amount_money), "payment_id": payment["id"],
                  "order_id": random_id(28, ID_ALPHABET), "created_at": now, "updated_at": now}
        if reason:
            refund["reason"] = reason
        payment["refunded_money"] = money(refunded + amount_money["amount"], total["currency"])
        payment.setdefault("refund_ids", []).append(refund["id"])
        self.store("refunds", refund)
        return refund

    def _emit_refund(self, refund):
        """refund.created as it is, then refund.updated once it reaches refund_final."""
        events = [self.event("refund.created", "refund", json.loads(dumps(refund)))]
        with self.lock:
            if self.refund_final:
                refund.update(status=self.refund_final, updated_at=square_now())
                if self.refund_final != "COMPLETED":
                    payment = self.payments[refund["payment_id"]]
                    payment["refunded_money"]["amount"] -= refund["amount_money"]["amount"]
                events.append(self.event("refund.updated", "refund", json.loads(dumps(refund))))
        for event in events:
            self.emit(event)
        return events

    @public
    def pay_page(self, request, link_id):
        with self.lock:
            link = self.links.get(link_id)
            if link is None:
                return html_response(404, "Square", "<h1 id=\"error\">This link does not exist.</h1>")
            order = self.orders[link["order_id"]]
            total = order["total_money"]
            if link_id in self.registry("paid_links"):
                return html_response(200, "Square", "<h1 id=\"paid\">This order is already paid."
                                     "</h1>")
            rows = "".join(f"<li>{html.escape(item['name'])} × {html.escape(item['quantity'])}</li>"
                           for item in order["line_items"])
        page = (f"<h1>Checkout (fake Square)</h1><ul id=\"items\">{rows}</ul>"
                f"<p id=\"total\">{total['amount']} {html.escape(total['currency'])}</p>"
                f"<form method=\"post\" action=\"/pay/{html.escape(link_id)}\">"
                f"<button id=\"pay\" name=\"action\" value=\"pay\">Pay</button></form>")
        return html_response(200, "Square", page)

    @public
    def pay(self, request, link_id):
        with self.lock:
            link = self.links.get(link_id)
            if link is None:
                return html_response(404, "Square", "<h1 id=\"error\">This link does not exist.</h1>")
            order = self.orders[link["order_id"]]
            if link_id in self.registry("paid_links"):
                return html_response(200, "Square", "<h1 id=\"paid\">This order is already paid."
                                     "</h1>")
            payment = self._take_payment(link, order)
            # Kept apart from the link: Square's PaymentLink has no such field.
            self.store("paid_links", True, key=link_id)
            events = [self.event(kind, "payment", snapshot(payment, status))
                      for kind, status in self.payment_events]
            target = (link.get("checkout_options") or {}).get("redirect_url")
        for event in events:
            self.emit(event)
        if not target:
            return html_response(200, "Square", "<h1 id=\"paid\">Payment complete.</h1>")
        return redirect(add_query(target, checkoutId=link_id, orderId=order["id"],
                                  transactionId=order["id"]))

    # -- state changes (called with the lock held) --------------------------------------------
    def _validate_link(self, body):
        if ("quick_pay" in body) == ("order" in body):
            return square_error(400, "INVALID_REQUEST_ERROR", "INVALID_VALUE",
                                "Exactly one of quick_pay or order must be set.")
        if len(body.get("payment_note", "")) > 500:
            return invalid("VALUE_TOO_LONG", "payment_note")
        redirect_url = (body.get("checkout_options") or {}).get("redirect_url", "")
        if len(redirect_url) > 2048:
            return invalid("VALUE_TOO_LONG", "checkout_options.redirect_url")
        if "quick_pay" in body:
            quick = body["quick_pay"]
            for name in ("name", "price_money", "location_id"):
                if not quick.get(name):
                    return invalid("MISSING_REQUIRED_PARAMETER", f"quick_pay.{name}")
            if len(quick["name"]) > 255:
                return invalid("VALUE_TOO_LONG", "quick_pay.name")
            return (self._check_location(quick["location_id"], "quick_pay.location_id")
                    or check_money(quick["price_money"], "quick_pay.price_money"))
        order = body["order"]
        problem = self._check_location(order.get("location_id"), "order.location_id")
        if problem:
            return problem
        items = order.get("line_items")
        if not isinstance(items, list) or not items:
            return invalid("MISSING_REQUIRED_PARAMETER", "order.line_items")
        currencies = set()
        for i, item in enumerate(items):
            where = f"order.line_items[{i}]"
            if not item.get("name"):
                return invalid("MISSING_REQUIRED_PARAMETER", where + ".name")
            if not str(item.get("quantity", "")).isdigit() or int(item["quantity"]) < 1:
                return invalid("INVALID_VALUE", where + ".quantity")
            problem = check_money(item.get("base_price_money"), where + ".base_price_money")
            if problem:
                return problem
            currencies.add(item["base_price_money"]["currency"])
        if len(currencies) > 1:
            return invalid("CURRENCY_MISMATCH", "order.line_items")
        return None

    def _check_location(self, location_id, field):
        if not location_id:
            return invalid("MISSING_REQUIRED_PARAMETER", field)
        if location_id != self.location_id:
            return square_error(404, "INVALID_REQUEST_ERROR", "NOT_FOUND",
                                f"Location `{location_id}` not found.", field=field)
        return None

    def _new_order(self, body):
        now = square_now()
        if "quick_pay" in body:
            quick = body["quick_pay"]
            source = {"location_id": quick["location_id"],
                      "line_items": [{"name": quick["name"], "quantity": "1",
                                      "base_price_money": quick["price_money"]}]}
        else:
            source = body["order"]
        line_items = []
        for item in source["line_items"]:
            price = item["base_price_money"]
            amount = price["amount"] * int(item["quantity"])
            line_items.append({
                "uid": random_id(22, ID_ALPHABET), "name": item["name"],
                "quantity": str(item["quantity"]), "item_type": "ITEM",
                **({"note": item["note"]} if item.get("note") else {}),
                "base_price_money": price,
                "variation_total_price_money": money(amount, price["currency"]),
                "gross_sales_money": money(amount, price["currency"]),
                "total_tax_money": money(0, price["currency"]),
                "total_discount_money": money(0, price["currency"]),
                "total_money": money(amount, price["currency"]),
                "total_service_charge_money": money(0, price["currency"])})
        currency = line_items[0]["base_price_money"]["currency"]
        total = sum(item["total_money"]["amount"] for item in line_items)
        order = {"id": random_id(28, ID_ALPHABET), "location_id": source["location_id"]}
        if source.get("reference_id"):
            order["reference_id"] = source["reference_id"]
        order.update({
            "source": {"name": "Fake Square Online Checkout"},
            "line_items": line_items,
            "net_amounts": {"total_money": money(total, currency),
                            "tax_money": money(0, currency), "discount_money": money(0, currency),
                            "tip_money": money(0, currency),
                            "service_charge_money": money(0, currency)},
            "created_at": now, "updated_at": now, "state": "DRAFT", "version": 1,
            "total_money": money(total, currency), "total_tax_money": money(0, currency),
            "total_discount_money": money(0, currency), "total_tip_money": money(0, currency),
            "total_service_charge_money": money(0, currency),
            "net_amount_due_money": money(total, currency)})
        if source.get("metadata"):
            order["metadata"] = source["metadata"]
        return order

    def _take_payment(self, link, order):
        now = square_now()
        total = order["total_money"]
        payment_id = random_id(29, ID_ALPHABET)
        fee = round(total["amount"] * 29 / 1000) + 30
        card = {"status": "CAPTURED",
                "card": {"card_brand": "VISA", "last_4": "1111", "exp_month": 12, "exp_year": 2030,
                         "fingerprint": "sq-1-fake", "card_type": "CREDIT",
                         "prepaid_type": "NOT_PREPAID", "bin": "411111"},
                "entry_method": "KEYED", "cvv_status": "CVV_ACCEPTED", "avs_status": "AVS_ACCEPTED",
                "statement_description": "SQ *FAKE MERCHANT",
                "card_payment_timeline": {"authorized_at": now, "captured_at": now}}
        payment = {
            "id": payment_id, "created_at": now, "updated_at": now,
            "amount_money": total, "total_money": total, "approved_money": total,
            "processing_fee": [{"effective_at": now, "type": "INITIAL",
                                "amount_money": money(min(fee, total["amount"]), total["currency"])}],
            "status": "COMPLETED", "delay_duration": "PT168H", "delay_action": "CANCEL",
            "delayed_until": now, "source_type": "CARD", "card_details": card,
            "location_id": order["location_id"], "order_id": order["id"]}
        if link.get("payment_note"):
            payment["note"] = link["payment_note"]
        payment.update({
            "risk_evaluation": {"created_at": now, "risk_level": "NORMAL"},
            "buyer_email_address": "buyer@example.com",
            "receipt_number": payment_id[:4], "receipt_url": self.url(f"/receipt/{payment_id}"),
            "application_details": {"square_product": "ECOMMERCE_API",
                                    "application_id": "sq0idp-fake"},
            "version_token": random_id(40, ID_ALPHABET)})
        if self.order_differs:
            order = {**json.loads(dumps(order)), "id": random_id(28, ID_ALPHABET), "version": 1}
            self.store("orders", order)
            payment["order_id"] = order["id"]
        order.update({
            "tenders": [{"id": payment_id, "location_id": order["location_id"],
                         "transaction_id": order["id"], "created_at": now, "amount_money": total,
                         "type": "CARD", "card_details": {"status": "CAPTURED",
                                                          "card": card["card"],
                                                          "entry_method": "KEYED"},
                         "payment_id": payment_id}],
            "updated_at": now, "state": "OPEN", "version": order["version"] + 1,
            "net_amount_due_money": money(0, total["currency"])})
        self.store("payments", payment)
        return payment


def snapshot(payment, status):
    """The payment as an event shows it at `status` (APPROVED: authorized, not yet captured)."""
    copy = json.loads(dumps(payment))
    copy["status"] = status
    if status == "APPROVED":
        # Authorized, not captured: no capture time and no receipt yet (Square's
        # payment.created sample, connect-api-specification api.json PaymentCreatedEvent).
        copy["card_details"]["status"] = "AUTHORIZED"
        copy["card_details"]["card_payment_timeline"].pop("captured_at", None)
        copy.pop("receipt_url", None)
    return copy


def money(amount, currency):
    return {"amount": amount, "currency": currency}


def square_error(status, category, code, detail, field=None):
    error = {"category": category, "code": code, "detail": detail}
    if field:
        error["field"] = field
    return json_response(status, {"errors": [error]})


def invalid(code, field):
    details = {"MISSING_REQUIRED_PARAMETER": "Missing required parameter.",
               "VALUE_TOO_LONG": "Field is too long.",
               "CURRENCY_MISMATCH": "All line items must use the same currency."}
    return square_error(400, "INVALID_REQUEST_ERROR", code,
                        details.get(code, "Invalid value."), field=field)


def not_found(kind, object_id):
    return square_error(404, "INVALID_REQUEST_ERROR", "NOT_FOUND",
                        f"Could not find {kind} with id: {object_id}")


def check_money(value, field):
    if not isinstance(value, dict) or "amount" not in value or "currency" not in value:
        return invalid("MISSING_REQUIRED_PARAMETER", field)
    amount, currency = value["amount"], value["currency"]
    if not isinstance(amount, int) or isinstance(amount, bool):
        return invalid("EXPECTED_INTEGER", field + ".amount")
    if amount < 1:
        return invalid("INVALID_VALUE", field + ".amount")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()
            and currency.isupper()):
        return invalid("INVALID_ENUM_VALUE", field + ".currency")
    return None
