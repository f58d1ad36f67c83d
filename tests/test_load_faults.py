"""Load and faults, against real servers on the loopback interface: gunicorn serving the app,
the job worker, SMTP, and (for the database outage) a PostgreSQL cluster of our own.

- Fifty concurrent writers (checkouts, comments, Stripe and Square webhooks, some sent twice)
  for LOAD_SECONDS: no server error, no lost or duplicated order, comment or payment, stock and
  totals that add up.
- Workers killed with SIGKILL mid-request: nothing half-written, every acknowledged write kept,
  and the retry of what was cut completes it once.
- The database unavailable (PostgreSQL stopped; SQLite locked past busy_timeout): a clean 503
  page, 5xx to the gateway so it retries, nothing lost once it is back.
- SMTP down: mails wait in the outbox and go out when it is back.
- A backup taken under writes restores into a database that checks out.

Each test is bounded (the whole file: about two minutes per database with CI's LOAD_SECONDS=30;
LOAD_SECONDS defaults to 10 outside CI). Everything the writers were told is compared with what
the database holds. Deselect with `-m "not load"`.
"""
import base64
import datetime
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import pytest
import requests
from bs4 import BeautifulSoup

from app import create_app, money, tokens
from app.cli import migrate_database
from app.db import db
from app.models import (Comment, Document, DocumentLine, Job, Payment, PaymentAllocation, PaymentEvent,
                        Product)
from tests.conftest import PG_URL
from tests.factories import make_contact, make_document, make_person, make_product, settings
from tests.servers import Gunicorn, PostgresCluster, Worker, app_env, flask_command, wait_until
from tests.smtp import smtp_server  # noqa: F401  (a fixture)

pytestmark = pytest.mark.load

LOAD_SECONDS = float(os.environ.get("LOAD_SECONDS") or (30 if os.environ.get("CI") else 10))
PASSWORD = "correct horse battery"
STRIPE_KEY = "sk_test_load_4eC39HqLyjWDarjtT1zdp7dc"
STRIPE_SECRET = "whsec_load_5WbX5kEWLBnR4vT3a8qh"
SQUARE_KEY = "sq-load-signature-key-3f9a1c"
TIMEOUT = (5, 60)
CUT = (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="only on SQLite: the database file and its locks")
postgres_only = pytest.mark.skipif(not PG_URL, reason="only on PostgreSQL: a server that stops and starts")


# --- the shop the writers work in ----------------------------------------------------------------

class Shop:
    """What the test sets up in the database, and what it expects there afterwards."""

    def __init__(self, shoppers=0, commenters=0, payments=0, scarce_stock=12):
        settings(notify_email="orders@business.example", default_currency="EUR", default_language="en")
        self.plenty = make_product("Plenty", price=1999, stock=1_000_000, sku="PLENTY")
        self.scarce = make_product("Scarce", price=4550, stock=scarce_stock, sku="SCARCE")
        self.service = make_product("Fitting", price=5000, stock=0, track_stock=False, sku="FIT",
                                    taxes=(("IVA", 2100), ("IRPF", -1500)))
        self.initial_stock = {p.id: p.stock for p in (self.plenty, self.scarce)}
        self.shoppers = [make_person(contact=make_contact(name=f"Shop {i}", catalog_enabled=True),
                                     email=f"shopper{i}@example.com", password=PASSWORD)
                         for i in range(shoppers)]
        self.commenters = []
        for i in range(commenters):
            person = make_person(email=f"commenter{i}@example.com", password=PASSWORD)
            self.commenters.append((person, make_document(person.contact, number=f"F-LOAD-{i:04d}")))
        self.payments = make_payments(payments)


def make_payments(count):
    """`count` open invoices, each with a pending payment for its total (Stripe and Square in
    turn), in bulk. Returns [(payment id, gateway ref, amount, invoice id, contact id, gateway)]."""
    if not count:
        return []
    payer = make_person(email="payer@example.com", contact=make_contact(name="Payer", gateways="stripe,square"))
    today = datetime.date.today()
    with db.atomic():
        for start in range(0, count, 500):
            Document.insert_many([
                {"contact": payer.contact_id, "kind": "invoice", "number": f"F-PAY-{n:05d}", "status": "open",
                 "issue_date": today, "currency": "EUR", "subtotal": 1000 + n, "total": 1000 + n}
                for n in range(start, min(start + 500, count))]).execute()
        docs = {d.number: d.id for d in Document.select(Document.id, Document.number)
                .where(Document.number.startswith("F-PAY-"))}
        rows = []
        for n in range(count):
            gateway, ref = ("stripe", f"cs_test_load{n:05d}") if n % 2 else ("square", f"SQORDERload{n:05d}")
            rows.append({"document": docs[f"F-PAY-{n:05d}"], "contact": payer.contact_id, "gateway": gateway,
                         "amount": 1000 + n, "currency": "EUR", "provider_ref": ref, "person": payer.id,
                         "idempotency_key": f"load-{n}", "mode": "test"})
        for start in range(0, count, 500):
            Payment.insert_many(rows[start:start + 500]).execute()
        found = list(Payment.select(Payment.id, Payment.provider_ref, Payment.amount, Payment.document,
                                    Payment.gateway)
                     .where(Payment.idempotency_key.startswith("load-")).order_by(Payment.id).tuples())
        for start in range(0, count, 500):
            PaymentAllocation.insert_many([{"payment": row[0], "document": row[3], "amount": row[2]}
                                           for row in found[start:start + 500]]).execute()
    return [(pid, ref, amount, doc, payer.contact_id, gateway) for pid, ref, amount, doc, gateway in found]


def server_env(tmp_path, database_url, **extra):
    return app_env(tmp_path, DATABASE_URL=database_url, STRIPE_SECRET_KEY=STRIPE_KEY,
                   STRIPE_WEBHOOK_SECRET=STRIPE_SECRET, SQUARE_ACCESS_TOKEN="EAAAload-token",
                   SQUARE_LOCATION_ID="LLOAD01", SQUARE_WEBHOOK_SIGNATURE_KEY=SQUARE_KEY, **extra)


# --- clients --------------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def field_value(html, name):
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    return found.group(1) if found else None


def sign_in(base_url, person, token=None):
    """A requests.Session signed in to the portal (through an access link, as staff send them:
    no password hashing, so fifty sign-ins take a moment), carrying its CSRF token."""
    token = token or tokens.issue(person)[0]
    session = requests.Session()
    page = session.get(f"{base_url}/access/{token}", timeout=TIMEOUT)
    assert page.status_code == 200, (page.status_code, page.text[:300])
    resp = session.post(f"{base_url}/access/{token}", data={"csrf_token": field_value(page.text, "csrf_token")},
                        allow_redirects=False, timeout=TIMEOUT)
    assert resp.status_code == 303, (resp.status_code, resp.text[:500])
    session.csrf = field_value(session.get(base_url + "/", timeout=TIMEOUT).text, "csrf_token")
    assert session.csrf
    return session


def sign_in_all(base_url, people):
    results, errors = [None] * len(people), []
    links = [tokens.issue(person)[0] for person in people]   # here: the threads only do HTTP

    def one(i):
        try:
            results[i] = sign_in(base_url, people[i], links[i])
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(people))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(results), errors[:3]
    return results


def gateway_event(payment):
    """The event a gateway sends when `payment` is paid in full: Stripe's
    `checkout.session.completed` or Square's `payment.updated` (COMPLETED)."""
    pid, ref, amount, doc, contact, gateway = payment
    if gateway == "square":
        paid = {"id": "sqpay" + uuid.uuid4().hex[:16], "order_id": ref, "status": "COMPLETED",
                "amount_money": {"amount": amount, "currency": "EUR"}, "reference_id": str(pid)}
        return {"gateway": "square", "ref": ref, "id": str(uuid.uuid4()), "body": {
            "merchant_id": "MLOAD", "type": "payment.updated", "event_id": None,
            "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "data": {"type": "payment", "id": paid["id"], "object": {"payment": paid}}}}
    session = {"id": ref, "object": "checkout.session", "mode": "payment", "status": "complete",
               "payment_status": "paid", "amount_total": amount, "currency": "eur",
               "client_reference_id": str(pid), "payment_intent": "pi_" + uuid.uuid4().hex[:24],
               "metadata": {"payment": str(pid), "documents": str(doc), "contact": str(contact)}}
    return {"gateway": "stripe", "ref": ref, "id": "evt_" + uuid.uuid4().hex, "body": {
        "id": None, "object": "event", "type": "checkout.session.completed", "created": int(time.time()),
        "livemode": False, "data": {"object": session}}}


def send_event(base_url, event, session=requests):
    """Deliver the event signed afresh, as the gateways sign each delivery attempt."""
    gateway = event["gateway"]
    body = dict(event["body"], **({"event_id": event["id"]} if gateway == "square" else {"id": event["id"]}))
    body = json.dumps(body).encode()
    url = f"{base_url}/webhooks/{gateway}"
    if gateway == "square":   # base64 HMAC-SHA256 of the notification URL followed by the body
        mac = hmac.new(SQUARE_KEY.encode(), url.encode() + body, hashlib.sha256).digest()
        headers = {"x-square-hmacsha256-signature": base64.b64encode(mac).decode()}
    else:                     # Stripe: t=<unix time>,v1=HMAC-SHA256 of "<t>.<body>"
        stamp = int(time.time())
        mac = hmac.new(STRIPE_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        headers = {"Stripe-Signature": f"t={stamp},v1={mac}"}
    return session.post(url, data=body, timeout=TIMEOUT, headers={**headers, "Content-Type": "application/json"})


def until_answered(call, timeout=30):
    """Call until the server answers (a cut connection is retried, as a browser or a gateway
    would); returns (response, how many attempts were cut)."""
    deadline = time.monotonic() + timeout
    cuts = 0
    while True:
        try:
            return call(), cuts
        except CUT:
            cuts += 1
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Tally:
    """What the writers were told, shared between their threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = Counter()
        self.unexpected = []          # (what, status, start of the body)
        self.orders = {}              # order id -> {product id: quantity} the person confirmed
        self.checkouts_refused = 0
        self.comments = set()         # bodies acknowledged with 303
        self.events = {}              # event id -> event, acknowledged with 2xx
        self.unacked = {}             # event id -> event, sent but no 2xx (cut)
        self.redelivered = 0
        self.cut = Counter()          # what -> requests whose connection was cut

    def saw(self, what, resp, expected):
        with self.lock:
            self.statuses[(what, resp.status_code)] += 1
            if resp.status_code not in expected:
                self.unexpected.append((what, resp.status_code, resp.text[:300]))
        return resp.status_code in expected


class Writers:
    """Threads that write through the server until `stop` is set."""

    def __init__(self, base_url, shop, tally, retry_cuts=False):
        self.base, self.shop, self.tally, self.retry_cuts = base_url, shop, tally, retry_cuts
        self.stop = threading.Event()
        self.threads = []
        self.errors = []
        self.payments = list(shop.payments)
        random.shuffle(self.payments)
        self.payments_lock = threading.Lock()

    def start(self, sessions, kinds):
        for session, kind in zip(sessions, kinds):
            self.threads.append(threading.Thread(target=self._run, args=(kind, session), daemon=True))
        for t in self.threads:
            t.start()
        return self

    def finish(self, timeout=90):
        self.stop.set()
        for t in self.threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self.threads), "a writer did not finish"
        assert not self.errors, self.errors[:3]

    def _run(self, kind, arg):
        try:
            getattr(self, kind)(arg)
        except Exception as exc:  # surfaced by finish(), not lost in the thread
            self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")

    def _call(self, what, fn):
        """One request; a cut connection is retried when this run expects cuts."""
        if not self.retry_cuts:
            return fn()
        resp, cuts = until_answered(fn)
        if cuts:
            with self.tally.lock:
                self.tally.cut[what] += cuts
        return resp

    # -- checkouts: a person fills the cart and confirms the checkout form --------------------
    def checkout(self, args):
        session, contact_id = args
        base, tally, shop = self.base, self.tally, self.shop
        cart = Counter()
        choices = [shop.plenty.id] * 4 + [shop.scarce.id] * 2 + [shop.service.id]
        n = 0
        while not self.stop.is_set():
            n += 1
            product, quantity = random.choice(choices), random.randint(1, 3)
            try:
                resp = session.post(f"{base}/cart/items", allow_redirects=False, timeout=TIMEOUT, data={
                    "product_id": product, "quantity": quantity, "csrf_token": session.csrf})
            except CUT:
                if not self.retry_cuts:
                    raise
                # Added or not? Adding is not idempotent: take the product out and go on.
                with tally.lock:
                    tally.cut["add"] += 1
                self._remove(session, product)
                cart.pop(product, None)
                continue
            if tally.saw("add", resp, (303, 422)) and resp.status_code == 303:
                cart[product] += quantity
            if n % 2 and len(cart) < 2:
                continue   # some orders have one line, some several
            page = self._call("checkout page", lambda: session.get(f"{base}/checkout/", allow_redirects=False,
                                                                   timeout=TIMEOUT))
            if not tally.saw("checkout page", page, (200, 303)) or page.status_code != 200:
                continue
            form = {"csrf_token": session.csrf, "key": field_value(page.text, "key"),
                    "state": field_value(page.text, "state"), "shipping_address": f"Calle {contact_id}\nMadrid",
                    "reference": f"PO-{n}", "notes": ""}
            resp = self._call("checkout", lambda: session.post(f"{base}/checkout/", data=form,  # noqa: B023 (called at once)
                                                               allow_redirects=False, timeout=TIMEOUT))
            if not tally.saw("checkout", resp, (303, 422)):
                continue
            if resp.status_code == 303:
                order_id = int(resp.headers["Location"].rsplit("/", 1)[1])
                with tally.lock:
                    assert order_id not in tally.orders, f"two checkouts answered with order {order_id}"
                    tally.orders[order_id] = dict(cart)
                cart.clear()
            else:   # sold out meanwhile: empty the cart and start again
                with tally.lock:
                    tally.checkouts_refused += 1
                for product_id in list(cart):
                    self._remove(session, product_id)
                cart.clear()

    def _remove(self, session, product_id):
        resp = self._call("remove", lambda: session.post(f"{self.base}/cart/items/{product_id}/remove",
                                                         data={"csrf_token": session.csrf},
                                                         allow_redirects=False, timeout=TIMEOUT))
        self.tally.saw("remove", resp, (303,))

    # -- comments on the person's invoice -----------------------------------------------------
    def comment(self, args):
        session, doc_id = args
        n = 0
        while not self.stop.is_set():
            n += 1
            body = f"Comment {doc_id}-{n} {uuid.uuid4().hex[:8]}"
            resp = self._call("comment", lambda: session.post(f"{self.base}/documents/{doc_id}/comments",
                                                              data={"body": body, "csrf_token": session.csrf},  # noqa: B023 (called at once)
                                                              allow_redirects=False, timeout=TIMEOUT))
            if self.tally.saw("comment", resp, (303,)):
                with self.tally.lock:
                    self.tally.comments.add(body)

    # -- the gateway: one event per payment, and now and then the same event again ------------
    def webhook(self, session):
        tally = self.tally
        while not self.stop.is_set():
            with self.payments_lock:
                payment = self.payments.pop() if self.payments else None
            if payment is None:   # every payment sent: only redeliveries are left
                with tally.lock:
                    event = random.choice(list(tally.events.values())) if tally.events else None
                if event is None:
                    return
            else:
                event = gateway_event(payment)
            try:
                resp = send_event(self.base, event, session)
            except CUT:
                if not self.retry_cuts:
                    raise
                with tally.lock:   # the gateway will send it again later
                    tally.cut["webhook"] += 1
                    tally.unacked[event["id"]] = event
                continue
            if tally.saw("webhook", resp, (200,)):
                with tally.lock:
                    if event["id"] in tally.events:
                        tally.redelivered += 1
                    tally.events[event["id"]] = event
                if random.random() < 0.1:   # the gateway sends it twice
                    resp = self._call("webhook", lambda: send_event(self.base, event, session))  # noqa: B023 (called at once)
                    if tally.saw("webhook", resp, (200,)):
                        with tally.lock:
                            tally.redelivered += 1


# --- what the database must hold -------------------------------------------------------------

def check_orders(shop, tally):
    """Every acknowledged checkout is one order with exactly the confirmed lines, totals that
    match its lines, and stock taken to match; no order nobody was told about."""
    orders = {d.id: d for d in Document.select().where(Document.kind == "order")}
    assert set(orders) == set(tally.orders), (
        f"orders in the database {len(orders)}, checkouts answered 303 {len(tally.orders)}")
    lines = {}
    for line in DocumentLine.select().where(DocumentLine.document.in_(list(orders) or [0])):
        lines.setdefault(line.document_id, []).append(line)
    prices = {p.id: p.price for p in Product.select()}
    for order_id, order in orders.items():
        got = lines.get(order_id, [])
        assert got, f"order {order.number} has no lines"
        assert {l.product_id: l.qty_milli // money.QTY_SCALE for l in got} == tally.orders[order_id], order.number
        for line in got:
            assert line.unit_price == prices[line.product_id]
            assert line.net == money.line_net(line.qty_milli, line.unit_price, line.discount_bp)
        stored = (order.subtotal, order.tax_total, order.total)
        order.recompute()
        assert stored == (order.subtotal, order.tax_total, order.total), f"{order.number} totals != its lines"
        assert order.total > 0 and order.checkout_key
    for product_id, initial in shop.initial_stock.items():
        taken = sum(l.stock_taken for ls in lines.values() for l in ls if l.product_id == product_id)
        ordered = sum(q.get(product_id, 0) for q in tally.orders.values())
        stock = Product.get_by_id(product_id).stock
        assert taken == ordered and stock == initial - ordered >= 0, (product_id, initial, stock, ordered, taken)
    return orders


def check_payments(shop, events):
    """Every acknowledged event is stored once and its payment applied once; nothing else moved."""
    stored = {(e.gateway, e.event_id): e for e in PaymentEvent.select()}
    assert set(stored) == {(e["gateway"], e["id"]) for e in events.values()}, (
        f"events stored {len(stored)}, acknowledged {len(events)}")
    paid = {e["ref"] for e in events.values()}
    for pid, ref, amount, doc_id, _contact, _gateway in shop.payments:
        payment, doc = Payment.get_by_id(pid), Document.get_by_id(doc_id)
        if ref in paid:
            assert (payment.status, doc.amount_paid, doc.status) == ("succeeded", amount, "paid"), ref
            assert not payment.flagged, (ref, payment.flag_reason)
            assert PaymentAllocation.get(PaymentAllocation.payment == pid).applied == amount
        else:
            assert (payment.status, doc.amount_paid, doc.status) == ("pending", 0, "open"), ref
    applied = Counter(e.payment_id for e in stored.values() if e.outcome == "applied")
    assert len(applied) == len(paid) and set(applied.values()) <= {1}, "a payment applied twice"
    return paid


def check_outbox(orders, comments, payments_paid):
    """Mail is written in the same transaction as its cause: two per order (business, person),
    one per comment, one receipt per payment; none more."""
    mails = Job.select().where(Job.kind == "mail").count()
    assert mails == 2 * orders + comments + payments_paid, (mails, orders, comments, payments_paid)


def check_comments(tally, docs):
    bodies = Counter(c.body for c in Comment.select().where(Comment.document.in_(docs)))
    assert set(bodies) == tally.comments and set(bodies.values()) <= {1}, (
        f"comments stored {sum(bodies.values())}, acknowledged {len(tally.comments)}")


def sqlite_integrity(path):
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchall()


def sqlite_path(url):
    return url[len("sqlite:///"):]


def is_our_503(resp):
    """The portal's own 'be right back' page: not a traceback, not gunicorn's bare error."""
    page = BeautifulSoup(resp.text, "html.parser")
    return (resp.status_code == 503 and page.find(id="error-page") is not None
            and "We will be right back" in page.find("h1").get_text()
            and "Traceback" not in resp.text and "OperationalError" not in resp.text
            and "InterfaceError" not in resp.text)


def report(name, **numbers):
    print(f"\n[{name}] " + " ".join(f"{k}={v}" for k, v in numbers.items()), file=sys.stderr)


# --- 1. many writers at once -------------------------------------------------------------------

def test_fifty_writers_lose_and_duplicate_nothing(app, database_url, tmp_path):
    started = time.monotonic()
    shop = Shop(shoppers=20, commenters=15, payments=int(120 * LOAD_SECONDS))
    with Gunicorn(server_env(tmp_path, database_url), tmp_path, workers=4) as server:
        shoppers = sign_in_all(server.url, shop.shoppers)
        commenters = sign_in_all(server.url, [p for p, _doc in shop.commenters])
        tally = Tally()
        writers = Writers(server.url, shop, tally)
        args = ([(s, p.contact_id) for s, p in zip(shoppers, shop.shoppers)]
                + [(s, doc.id) for s, (_p, doc) in zip(commenters, shop.commenters)]
                + [requests.Session() for _ in range(15)])
        kinds = ["checkout"] * 20 + ["comment"] * 15 + ["webhook"] * 15
        load_start = time.monotonic()
        writers.start(args, kinds)
        time.sleep(LOAD_SECONDS)
        writers.finish()
        load_time = time.monotonic() - load_start
        log_errors = server.errors_in_log()

    requests_made = sum(tally.statuses.values())
    report("load", seconds=round(load_time, 1), setup_s=round(load_start - started, 1), requests=requests_made,
           rps=round(requests_made / load_time), orders=len(tally.orders), refused=tally.checkouts_refused,
           comments=len(tally.comments), payments=len(tally.events), redeliveries=tally.redelivered,
           statuses=dict(tally.statuses))
    assert not tally.unexpected, tally.unexpected[:5]
    assert not log_errors, log_errors[:5]
    orders = check_orders(shop, tally)
    check_comments(tally, [doc.id for _p, doc in shop.commenters])
    paid = check_payments(shop, tally.events)
    check_outbox(len(orders), len(tally.comments), len(paid))
    # The load really ran: every kind of write happened many times, and the scarce product ran short.
    assert len(orders) >= 10 and len(tally.comments) >= 15 and len(paid) >= 15 and tally.redelivered >= 1
    assert {e["gateway"] for e in tally.events.values()} == {"stripe", "square"}
    assert tally.checkouts_refused + tally.statuses[("add", 422)] >= 1
    if not PG_URL:
        assert sqlite_integrity(sqlite_path(database_url)) == [("ok",)]
    report("load", total_s=round(time.monotonic() - started, 1))


# --- 2. workers killed mid-request ---------------------------------------------------------------

def test_killed_workers_leave_nothing_half_written(app, database_url, tmp_path):
    started = time.monotonic()
    shop = Shop(shoppers=12, payments=3000, scarce_stock=1_000_000)
    # gthread: a killed worker cuts several requests at once.
    with Gunicorn(server_env(tmp_path, database_url), tmp_path, workers=3, worker_class="gthread",
                  threads=4) as server:
        shoppers = sign_in_all(server.url, shop.shoppers)
        tally = Tally()
        writers = Writers(server.url, shop, tally, retry_cuts=True)
        writers.start([(s, p.contact_id) for s, p in zip(shoppers, shop.shoppers)]
                      + [requests.Session() for _ in range(8)], ["checkout"] * 12 + ["webhook"] * 8)
        killed = []
        time.sleep(1.5)

        def cut_both():
            with tally.lock:
                return tally.cut["checkout"] >= 1 and tally.cut["webhook"] >= 1

        # Kill until a checkout and a webhook were both cut mid-request (at least 4 kills, at most 25).
        while len(killed) < 4 or (not cut_both() and len(killed) < 25):
            killed.append(server.kill_worker(random.choice(server.worker_pids())))
            server.wait_for_workers(without=killed)
            time.sleep(0.7)
        writers.finish()
        # The gateway resends what got no 2xx; each must now be taken, and applied once.
        for event in list(tally.unacked.values()):
            resp = send_event(server.url, event)
            assert resp.status_code == 200, resp.text[:300]
            tally.events[event["id"]] = event
        log_errors = server.errors_in_log()

    assert not tally.unexpected, tally.unexpected[:5]
    assert not log_errors, log_errors[:5]
    # Kills that cut no checkout or no webhook would prove nothing about them.
    assert tally.cut["checkout"] >= 1 and tally.cut["webhook"] >= 1, tally.cut
    orders = check_orders(shop, tally)
    paid = check_payments(shop, tally.events)
    check_outbox(len(orders), 0, len(paid))
    assert len(orders) >= 3 and len(paid) >= 3   # the kills landed among real work
    if not PG_URL:
        assert sqlite_integrity(sqlite_path(database_url)) == [("ok",)]
    report("kill", workers_killed=len(killed), requests_cut=dict(tally.cut), resent_events=len(tally.unacked),
           orders=len(orders), payments=len(paid), total_s=round(time.monotonic() - started, 1))


# --- 3. the database unavailable ------------------------------------------------------------

class Pending:
    """One of each write, prepared while the database is up and sent while it is not."""

    def __init__(self, base, shop):
        self.base = base
        (person, doc), shopper = shop.commenters[0], shop.shoppers[0]
        self.doc = doc
        self.commenter = sign_in(base, person)
        self.shopper = sign_in(base, shopper)
        for product, quantity in ((shop.plenty, 2), (shop.service, 1)):
            resp = self.shopper.post(f"{base}/cart/items", allow_redirects=False, timeout=TIMEOUT, data={
                "product_id": product.id, "quantity": quantity, "csrf_token": self.shopper.csrf})
            assert resp.status_code == 303
        page = self.shopper.get(f"{base}/checkout/", timeout=TIMEOUT).text
        self.checkout_form = {"csrf_token": self.shopper.csrf, "key": field_value(page, "key"),
                              "state": field_value(page, "state"), "shipping_address": "Calle Mayor 1"}
        self.comment_body = "Sent while the database was away"
        self.event = gateway_event(shop.payments[0])
        self.expected_order = {shop.plenty.id: 2, shop.service.id: 1}

    def comment(self):
        return self.commenter.post(f"{self.base}/documents/{self.doc.id}/comments", allow_redirects=False,
                                   timeout=TIMEOUT, data={"body": self.comment_body, "csrf_token": self.commenter.csrf})

    def checkout(self):
        return self.shopper.post(f"{self.base}/checkout/", data=self.checkout_form, allow_redirects=False,
                                 timeout=TIMEOUT)

    def webhook(self):
        return send_event(self.base, self.event)

    def page(self):
        return self.shopper.get(f"{self.base}/orders", allow_redirects=False, timeout=TIMEOUT)

    def all_at_once(self, calls):
        results = {}
        threads = [threading.Thread(target=lambda n=name: results.__setitem__(n, getattr(self, n)()))
                   for name in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return results

    def retry_until_done(self, timeout=20, our_page=True):
        """What the person and the gateway do when the portal is back: send again until it
        works (meanwhile only 5xx, our 503 page when `our_page`). Returns {what: (final
        response, how many tries)}."""
        done, tries = {}, Counter()
        deadline = time.monotonic() + timeout
        want = {"comment": 303, "checkout": 303, "webhook": 200}
        while len(done) < len(want) and time.monotonic() < deadline:
            for name, status in want.items():
                if name in done:
                    continue
                tries[name] += 1
                try:
                    resp = getattr(self, name)()
                except CUT:
                    continue
                if resp.status_code == status:
                    done[name] = (resp, tries[name])
                else:
                    assert resp.status_code >= 500, (name, resp.status_code, resp.text[:300])
                    assert is_our_503(resp) or not our_page, (name, resp.status_code, resp.text[:300])
            time.sleep(0.2)
        assert set(done) == set(want), f"still failing after {timeout} s: {set(want) - set(done)}"
        return done

    def check_applied_once(self, shop):
        assert Comment.select().where(Comment.body == self.comment_body).count() == 1
        [order] = Document.select().where(Document.kind == "order")
        assert {l.product_id: l.qty_milli // 1000 for l in order.ordered_lines()} == self.expected_order
        assert Product.get_by_id(shop.plenty.id).stock == shop.initial_stock[shop.plenty.id] - 2
        assert PaymentEvent.select().count() == 1
        pid, _ref, amount, doc_id, _c, _g = shop.payments[0]
        assert Payment.get_by_id(pid).status == "succeeded" and Document.get_by_id(doc_id).amount_paid == amount


def assert_all_503(results, server):
    for name, resp in results.items():
        assert is_our_503(resp), (name, resp.status_code, resp.text[:500], server.log()[-4000:])


@sqlite_only
def test_sqlite_locked_past_busy_timeout_answers_503_then_recovers(app, database_url, tmp_path):
    shop = Shop(shoppers=1, commenters=1, payments=1)
    path = sqlite_path(database_url)
    with Gunicorn(server_env(tmp_path, database_url), tmp_path, workers=4) as server:
        pending = Pending(server.url, shop)
        # Another process holds the write lock until told to let go (or 60 s); the app waits
        # busy_timeout (5 s) for it.
        locker = subprocess.Popen(
            [sys.executable, "-c", "import sqlite3, sys, select\n"
             "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
             "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True)\n"
             "select.select([sys.stdin], [], [], 60); c.rollback()", path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert locker.stdout.readline().strip() == "locked"
            locked_at = time.monotonic()
            results = pending.all_at_once(["comment", "checkout", "webhook"])
            waited = time.monotonic() - locked_at
        finally:
            locker.stdin.write("release\n")
            locker.stdin.close()
            locker.wait(20)
        assert_all_503(results, server)
        assert waited > 4.5, "the app gave up before busy_timeout"
        assert Comment.select().count() == 0 and Document.select().where(Document.kind == "order").count() == 0
        assert PaymentEvent.select().count() == 0
        done = pending.retry_until_done()
        log_errors = server.errors_in_log()
    assert not log_errors, log_errors[:5]
    assert all(tries == 1 for _resp, tries in done.values()), done
    pending.check_applied_once(shop)
    assert sqlite_integrity(path) == [("ok",)]


@pytest.fixture(scope="module")
def pg_cluster():
    cluster = PostgresCluster().start()
    yield cluster
    cluster.destroy()


def make_app(database_url, tmp_path):
    """An app like conftest's, on another database (the db proxy now points there)."""
    app = create_app({
        "TESTING": True, "SECRET_KEY": "test-secret-key-not-for-production", "DATABASE_URL": database_url,
        "BASE_URL": "http://portal.test", "MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": 1,
        "MAIL_DIR": str(tmp_path / "mail"), "HUEY_FILE": str(tmp_path / "huey.db"), "HUEY_IMMEDIATE": False})
    db.connect(reuse_if_open=True)
    return app


@pytest.fixture
def pg_outage(pg_cluster, tmp_path):
    """A portal on its own PostgreSQL (which the test may stop), served by gunicorn, with one
    comment, one checkout and one webhook ready to send. Yields (server, pending, shop)."""
    url = pg_cluster.create_database(f"down_{uuid.uuid4().hex[:8]}")
    make_app(url, tmp_path)
    try:
        migrate_database()
        shop = Shop(shoppers=1, commenters=1, payments=1)
        db.close_all()
        with Gunicorn(server_env(tmp_path, url), tmp_path, workers=2) as server:
            yield server, Pending(server.url, shop), shop
    finally:
        if not pg_cluster.is_running():
            pg_cluster.start()
        db.close_all()


@postgres_only
def test_postgres_stopped_every_request_gets_the_503_page(pg_cluster, pg_outage):
    server, pending, _shop = pg_outage
    pg_cluster.stop("fast")
    try:
        assert_all_503(pending.all_at_once(["comment", "checkout", "webhook", "page"]), server)
        time.sleep(2)   # down for a few seconds: every request meanwhile fails the same way
        assert_all_503(pending.all_at_once(["comment", "checkout", "webhook", "page"]), server)
    finally:
        pg_cluster.start()
    pending.retry_until_done()
    assert pending.page().status_code == 200
    log_errors = server.errors_in_log()
    assert not log_errors, log_errors[:5]


@postgres_only
def test_postgres_back_after_an_outage_loses_nothing(pg_cluster, pg_outage):
    server, pending, shop = pg_outage
    pg_cluster.stop("fast")
    try:
        during = pending.all_at_once(["comment", "checkout", "webhook"])
        time.sleep(2)
    finally:
        pg_cluster.start()
    # 5xx, not 4xx: the gateway retries, and the person is not told their input was wrong.
    assert all(resp.status_code >= 500 for resp in during.values()), {k: r.status_code for k, r in during.items()}
    done = pending.retry_until_done(our_page=False)
    db.close()       # this process's own connection died with the server: a fresh one
    db.close_all()
    db.connect()
    pending.check_applied_once(shop)
    report("pg down", tries_after_restart={k: t for k, (_r, t) in done.items()},
           during={k: r.status_code for k, r in during.items()})


# --- 4. SMTP down -------------------------------------------------------------------------

def test_mail_waits_for_smtp_and_goes_out_once_when_it_is_back(app, database_url, tmp_path, smtp_server):  # noqa: F811
    shop = Shop(commenters=1)
    person, doc = shop.commenters[0]
    smtp_server.stop()
    env = server_env(tmp_path, database_url, SMTP_PORT=smtp_server.port)
    with Gunicorn(env, tmp_path, workers=2) as server:
        worker = Worker(env, tmp_path)
        try:
            session = sign_in(server.url, person)
            bodies = [f"Question {n} while mail is down" for n in range(5)]
            for body in bodies:
                resp = session.post(f"{server.url}/documents/{doc.id}/comments", allow_redirects=False,
                                    data={"body": body, "csrf_token": session.csrf}, timeout=TIMEOUT)
                assert resp.status_code == 303

            def all_tried():
                jobs = list(Job.select().where(Job.kind == "mail"))
                return len(jobs) == 5 and all(j.attempts >= 1 and j.status == "pending" for j in jobs) and jobs
            jobs = wait_until(all_tried, 20, 0.1, "the worker to try every mail")
            assert all("refused" in j.last_error.lower() for j in jobs), [j.last_error for j in jobs]
            assert all(j.run_after > datetime.datetime.utcnow() for j in jobs)   # backing off
            assert smtp_server.messages == []
        finally:
            worker.stop()
        smtp_server.start()
        # The backoff elapses (the clock moved on); a worker started now sweeps and sends.
        Job.update(run_after=datetime.datetime.utcnow() - datetime.timedelta(seconds=1)).execute()
        worker = Worker(env, tmp_path)
        try:
            got = smtp_server.wait_for(5, timeout=20)
            wait_until(lambda: Job.select().where(Job.status == "done").count() == 5, 10, 0.1, "jobs done")
        finally:
            worker.stop()
    assert len(got) == 5 and len(smtp_server.messages) == 5, "a mail was lost or sent twice"
    assert sorted(b for m in got for b in bodies if b in m.text) == sorted(bodies)
    assert {m.rcpt_tos[0] for m in got} == {"orders@business.example"}
    assert [j.attempts for j in Job.select()] == [2] * 5


# --- 5. a backup under writes ----------------------------------------------------------------

def test_backup_taken_under_writes_restores_into_a_sound_database(app, database_url, tmp_path, request):
    shop = Shop(shoppers=8, commenters=4)
    with Gunicorn(server_env(tmp_path, database_url), tmp_path, workers=4) as server:
        sessions = sign_in_all(server.url, shop.shoppers + [p for p, _d in shop.commenters])
        tally = Tally()
        writers = Writers(server.url, shop, tally).start(
            [(s, p.contact_id) for s, p in zip(sessions, shop.shoppers)]
            + [(s, doc.id) for s, (_p, doc) in zip(sessions[8:], shop.commenters)], ["checkout"] * 8 + ["comment"] * 4)
        time.sleep(2)
        with tally.lock:
            orders_before, comments_before = set(tally.orders), set(tally.comments)
        backup = tmp_path / "backup"
        if PG_URL:
            cluster = request.getfixturevalue("pg_cluster")
            dump = os.path.join(cluster.dir, "portal.dump")
            cluster.tool("pg_dump", "-Fc", "-f", dump, "-d", PG_URL)
        else:
            result = flask_command(server_env(tmp_path, database_url), "backup", str(backup))
            assert result.returncode == 0, result.stderr
        time.sleep(1.5)
        writers.finish()
        assert not tally.unexpected, tally.unexpected[:5]
    check_orders(shop, tally)   # the live database itself

    # Restore into a fresh database and point an app at it.
    if PG_URL:
        name = f"restored_{uuid.uuid4().hex[:8]}"
        restored_url = cluster.create_database(name)
        cluster.tool("pg_restore", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
                     "--no-owner", "-d", name, dump)
    else:
        copy = tmp_path / "restored" / "portal.db"
        copy.parent.mkdir()
        shutil.copy(backup, copy)
        restored_url = "sqlite:///" + str(copy)
        assert sqlite_integrity(str(copy)) == [("ok",)]
    db.close()
    restored_app = make_app(restored_url, tmp_path / "restored-app")
    try:
        orders = {d.id: d for d in Document.select().where(Document.kind == "order")}
        comments = {c.body for c in Comment.select()}
        assert orders_before <= set(orders) <= set(tally.orders)
        assert comments_before <= comments <= tally.comments
        assert orders_before and comments_before, "nothing was written before the backup: it proves nothing"
        snapshot = Tally()
        snapshot.orders = {k: v for k, v in tally.orders.items() if k in orders}
        check_orders(shop, snapshot)   # a consistent snapshot: lines, totals and stock agree
        check_outbox(len(orders), len(comments), 0)
        # The restored portal works: sign in, see the orders, write something new.
        client = restored_app.test_client()
        page = client.get("/login").get_data(as_text=True)
        person = shop.shoppers[0]
        resp = client.post("/login", data={"email": person.email, "password": PASSWORD,
                                           "csrf_token": CSRF_RE.search(page).group(1)})
        assert resp.status_code == 303
        listing = client.get("/orders").get_data(as_text=True)
        for order in orders.values():
            if order.contact_id == person.contact_id:
                assert order.number in listing
        commenter, doc = shop.commenters[0]
        client = restored_app.test_client()
        token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
        client.post("/login", data={"email": commenter.email, "password": PASSWORD, "csrf_token": token})
        token = CSRF_RE.search(client.get(f"/documents/{doc.id}").get_data(as_text=True)).group(1)
        resp = client.post(f"/documents/{doc.id}/comments", data={"body": "After the restore", "csrf_token": token})
        assert resp.status_code == 303 and Comment.select().where(Comment.body == "After the restore").count() == 1
        report("backup", orders_in_backup=len(orders), orders_total=len(tally.orders),
               comments_in_backup=len(comments), comments_total=len(tally.comments))
    finally:
        if not db.is_closed():
            db.close()
        if hasattr(db.obj, "close_all"):
            db.close_all()
