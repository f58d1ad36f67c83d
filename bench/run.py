"""`make bench`: the portal as deployed against a bare Flask baseline, on the same machine, the
same gunicorn and the same 1M-document database, in the same run.

Steps: build or reuse the database (bench/build.py); count the queries of each measured URL
in-process; start the portal and the baseline (bench/baseline.py, its twins of the portal's
actions in bench/twins.py) under gunicorn with sync workers = cores on 127.0.0.1; sign in;
measure bytes on the wire and PDF render times; drive
both with wrk (16 connections, A/B alternating, a warm-up then two runs each; a run whose two
repeats differ by more than 15 % or that saw a non-2xx answer is rejected); then the checkout at
4 workers x 16 connections with a stock check. Prints a table and writes the same figures to
bench/results/bench-<time>.json (and latest.json): `python -m bench.compare A.json B.json`.

BENCH_QUICK=1: the small database, one short run each. BENCH_SECONDS=N overrides a run's length.
BENCH_ONLY=summary,checkout measures only those, with their bare twins, /hello and what their
targets compare them with (report.WITH), for development.
Only loopback traffic; every loop is bounded in time.
"""
import datetime
import gzip
import json
import logging
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import build  # noqa: E402

RESULTS = build.RESULTS
WORK = os.path.join(RESULTS, "run")
WRK_SCRIPT = os.path.join(ROOT, "bench", "wrk.lua")
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")
CORES = os.cpu_count() or 2
CONNECTIONS = 16
STEADY = 0.15          # two repeats further apart than this: the run is rejected
BUDGET = 13 * 60       # retries of unsteady runs only while the whole run stays under this

QUICK = bool(os.environ.get("BENCH_QUICK"))
SECONDS = int(os.environ.get("BENCH_SECONDS") or (3 if QUICK else 10))
WARM = 1 if QUICK else 2
RUNS = 1 if QUICK else 2
ONLY = {k for k in os.environ.get("BENCH_ONLY", "").split(",") if k}
STARTED = time.monotonic()


def log(msg):
    print(f"[bench {time.monotonic() - STARTED:5.0f}s] {msg}", flush=True)


# --- servers -------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn master with sync workers, bound to 127.0.0.1, logging errors to a file."""

    def __init__(self, name, app_spec, env, workers):
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.errlog = os.path.join(WORK, f"{name}-{workers}w.log")
        env = dict(env, BASE_URL=self.url)
        # The app's own log (its tracebacks: "Exception on ...") goes to stderr, not to
        # gunicorn's error log: both into the one file, so count_in_log sees the app's errors.
        with open(self.errlog, "ab") as out:
            self.proc = subprocess.Popen(
                [GUNICORN, "--workers", str(workers), "--worker-class", "sync", "--bind", f"127.0.0.1:{self.port}",
                 "--timeout", "120", "--error-logfile", self.errlog, app_spec],
                cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
        self.workers = workers

    def wait_ready(self, path):
        import requests
        self.health = path
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.errlog}")
            try:
                if requests.get(self.url + path, timeout=5).status_code < 500:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer within 60 s: see {self.errlog}")

    def drain(self):
        """Wait until requests left queued by the last run are answered: a request sent now
        queues behind them (a run of 3 s PDF renders would otherwise spill into the next run)."""
        import requests
        for _ in range(self.workers):
            try:
                requests.get(self.url + self.health, timeout=120)
            except requests.RequestException:
                pass

    def worker_rss_mb(self):
        """RSS of each worker (children of the master), from /proc."""
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if ppid != self.proc.pid:
                    continue
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            out.append(int(line.split()[1]) / 1024)
            except (OSError, ValueError, IndexError):
                continue
        return sorted(out)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def count_in_log(self, text):
        try:
            with open(self.errlog, errors="replace") as f:
                return f.read().count(text)
        except FileNotFoundError:
            return 0


# --- signing in ------------------------------------------------------------------------------------

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_HEADER = re.compile(r'X-CSRFToken&#34;: &#34;([^&]+)&#34;|"X-CSRFToken": "([^"]+)"')
STATE_INPUT = re.compile(r'name="state"[^>]*value="([0-9a-f]{64})"|value="([0-9a-f]{64})"[^>]*name="state"')


class Visitor:
    """A signed-in person: a requests session, its cookie header and CSRF token for wrk."""

    def __init__(self, base, email):
        import requests
        self.base, self.http = base, requests.Session()
        page = self.http.get(base + "/login", timeout=30)
        token = CSRF_INPUT.search(page.text).group(1)
        resp = self.http.post(base + "/login", data={"email": email, "password": build.PASSWORD,
                                                    "csrf_token": token, "next": ""},
                              allow_redirects=False, timeout=30)
        if resp.status_code != 303:
            raise RuntimeError(f"sign-in of {email} answered {resp.status_code}")
        home = self.http.get(base + "/", timeout=30)
        match = CSRF_HEADER.search(home.text)
        if home.status_code != 200 or not match:
            raise RuntimeError(f"{email}: the summary answered {home.status_code} without a CSRF token")
        self.csrf = match.group(1) or match.group(2)
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)

    def headers(self, htmx=False):
        h = {"Cookie": self.cookie, "X-CSRFToken": self.csrf}
        if htmx:
            h["HX-Request"] = "true"
        return h

    def still_signed_in(self):
        import requests
        resp = requests.get(self.base + "/", headers={"Cookie": self.cookie}, allow_redirects=False, timeout=30)
        return resp.status_code == 200


# --- wrk ---------------------------------------------------------------------------------------------

class Target:
    """One measured request: which server, what to send, what counts as success."""

    def __init__(self, key, label, side, path, method="GET", body=None, headers=None, ids=None,
                 expect=200, mode=None, threads=2, buyers=None):
        self.key, self.label, self.side, self.path, self.method = key, label, side, path, method
        self.body, self.headers, self.ids, self.expect = body, headers or {}, ids, expect
        self.mode, self.threads, self.buyers = mode, threads, buyers
        self.before = None    # called before each run
        self.offset, self.runs, self.warm = 0, [], []
        self.ids_file = None
        if ids:
            fd, self.ids_file = tempfile.mkstemp(prefix=f"ids-{key}-", suffix=".txt", dir=WORK)
            with os.fdopen(fd, "w") as f:
                f.write("\n".join(str(i) for i in ids) + "\n")

    def params_file(self, nonce):
        lines = [f"method={self.method}", f"path={self.path}", f"expect={self.expect}",
                 f"threads={self.threads}", f"offset={self.offset}", f"nonce={nonce}"]
        if self.body is not None:
            lines.append(f"body={self.body}")
            lines.append("header=Content-Type: application/x-www-form-urlencoded")
        lines += [f"header={k}: {v}" for k, v in self.headers.items()]
        if self.ids_file:
            lines.append(f"ids={self.ids_file}")
        if self.mode:
            lines += [f"mode={self.mode}", f"buyers={self.buyers}"]
        path = os.path.join(WORK, f"params-{self.key}.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path


def wrk(server, target, seconds):
    """Run wrk once; returns its figures (and advances the target's id offset past what it used)."""
    if target.before:
        target.before()
    nonce = secrets.token_hex(4)
    params = target.params_file(nonce)
    cmd = ["wrk", f"-t{target.threads}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "10s",
           "-s", WRK_SCRIPT, server.url, "--", params]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH-JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures for {target.key}: {out.stdout[-500:]} {out.stderr[-500:]}")
    data = json.loads(line[len("BENCH-JSON "):])
    text_non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out.stdout)
    data["non2xx_text"] = int(text_non2xx.group(1)) if text_non2xx else 0
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["commits_per_s"] = ((data["placed"] if target.mode == "checkout" else data["good"])
                             / (data["duration_us"] / 1e6))
    data["errors"] = data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"]
    target.offset += data["requests"] + 4 * CONNECTIONS   # requests in flight at the end used ids too
    server.drain()
    return data


def summarize(target, value="rps"):
    runs = target.runs
    if not runs:
        return None
    values = [r[value] for r in runs]
    spread = (max(values) - min(values)) / max(values) if len(values) > 1 and max(values) else 0.0
    bad = sum(r["bad"] + r["non2xx"] + r["errors"] for r in runs)
    reasons = []
    if len(values) > 1 and spread > STEADY:
        reasons.append(f"repeats differ by {spread:.0%}")
    if bad:
        reasons.append(f"{bad} non-2xx or failed answers")
    return {"rps": statistics.mean(r["rps"] for r in runs), "value": statistics.mean(values),
            "p50_ms": statistics.mean(r["p50_ms"] for r in runs), "p99_ms": max(r["p99_ms"] for r in runs),
            "spread": spread, "bad": bad, "runs": runs, "warm": target.warm,
            "rejected": "; ".join(reasons) or None}


# --- the measurements ------------------------------------------------------------------------------

def query_counts(env, plan):
    """Queries per request, counted in-process with a handler on the 'peewee' logger."""
    os.environ.update(env)
    from app import create_app
    from app.db import db

    class Counter(logging.Handler):
        def __init__(self):
            super().__init__()
            self.n = 0

        def emit(self, record):
            # Statements only: on PostgreSQL the pool logs "Returning … to pool" on the child
            # logger peewee.pool, which reaches this handler too (the 5 Dec run counted it).
            if record.name == "peewee":
                self.n += 1

    counter = Counter()
    peewee_log = logging.getLogger("peewee")
    peewee_log.addHandler(counter)
    peewee_log.setLevel(logging.DEBUG)
    app = create_app()
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    counts = {}
    clients = {}

    def client(email):
        if email not in clients:
            c = app.test_client()
            token = CSRF_INPUT.search(c.get("/login").get_data(as_text=True)).group(1)
            resp = c.post("/login", data={"email": email, "password": build.PASSWORD, "csrf_token": token})
            if resp.status_code != 303:
                raise RuntimeError(f"in-process sign-in of {email}: {resp.status_code}")
            home = c.get("/").get_data(as_text=True)
            m = CSRF_HEADER.search(home)
            clients[email] = (c, m.group(1) or m.group(2))
        return clients[email]

    try:
        for key, email, method, path, data, htmx in plan:
            c, csrf = client(email)
            headers = {"X-CSRFToken": csrf}
            if htmx:
                headers["HX-Request"] = "true"
            for attempt in range(2):   # the first warms lazy caches; the second is counted
                counter.n = 0
                p = path(attempt) if callable(path) else path
                d = data(attempt) if callable(data) else data
                resp = c.open(p, method=method, data=d, headers=headers)
            counts[key] = {"queries": counter.n, "status": resp.status_code}
        # checkout: add one, open the checkout page, place the order; count the placing POST
        if {"cart.add", "checkout.show", "checkout.place"} <= endpoints:
            c, csrf = client("buyer16@bench.test")
            hx = {"X-CSRFToken": csrf, "HX-Request": "true"}
            c.post("/cart/items", data={"product_id": build.CHECKOUT_PRODUCT, "quantity": 1}, headers=hx)
            page = c.get("/checkout/").get_data(as_text=True)
            m = STATE_INPUT.search(page)
            key = re.search(r'name="key"[^>]*value="([^"]+)"', page)
            counter.n = 0
            resp = c.post("/checkout/", data={"state": m.group(1) or m.group(2), "key": key.group(1),
                                               "shipping_address": "1 Bench Street", "reference": "", "notes": ""},
                          headers={"X-CSRFToken": csrf})
            counts["checkout"] = {"queries": counter.n, "status": resp.status_code}
    finally:
        peewee_log.removeHandler(counter)
        if not db.is_closed():
            db.close()
    return counts, endpoints


def wire_bytes(portal, visitor):
    """What a first load of the summary and a later navigation send, raw and gzipped."""
    import requests
    h = {"Cookie": visitor.cookie, "Accept-Encoding": "gzip, br"}
    home = requests.get(portal.url + "/", headers=h, timeout=30)
    compressed = home.headers.get("Content-Encoding", "")
    assets = re.findall(r'<(?:link[^>]+rel="(?:stylesheet|icon)"[^>]+href|script[^>]+src)="([^"]+)"', home.text)
    parts = [("summary HTML", home.content)]
    static_headers = {}
    for asset in assets:
        resp = requests.get(portal.url + asset, headers=h, timeout=30)
        parts.append((asset, resp.content))
        static_headers[asset] = {k: resp.headers.get(k, "") for k in ("Cache-Control", "ETag", "Content-Encoding")}
    later = requests.get(portal.url + "/invoices", headers=h, timeout=30)

    def gz(data):
        return len(gzip.compress(data, compresslevel=6))

    first = {name: {"raw": len(data), "gzip": gz(data)} for name, data in parts}
    return {"server_compresses": bool(compressed), "content_encoding": compressed,
            "first_load": first, "first_load_raw": sum(v["raw"] for v in first.values()),
            "first_load_gzip": sum(v["gzip"] for v in first.values()),
            "later_navigation": {"url": "/invoices", "raw": len(later.content), "gzip": gz(later.content)},
            "static_headers": static_headers}


def pdf_medians(portal, bare, visitor, pdf_target, bare_ids, count):
    """Median time of a first render (distinct documents, one at a time) and of a cached repeat."""
    import requests
    times = {"portal_first": [], "bare": [], "portal_cached": []}
    ids = pdf_target.ids
    for n in range(count):
        doc_id = ids[(pdf_target.offset + n) % len(ids)]
        for key, url, headers in (("portal_first", f"{portal.url}/documents/{doc_id}/pdf", {"Cookie": visitor.cookie}),
                                  ("bare", f"{bare.url}/pdf/{bare_ids[n % len(bare_ids)]}", {})):
            started = time.perf_counter()
            resp = requests.get(url, headers=headers, timeout=60)
            elapsed = (time.perf_counter() - started) * 1000
            if resp.status_code != 200 or not resp.content.startswith(b"%PDF"):
                raise RuntimeError(f"PDF {url} answered {resp.status_code}")
            times[key].append(elapsed)
    pdf_target.offset += count
    cached = f"{portal.url}/documents/{ids[0]}/pdf"
    for _ in range(count):
        started = time.perf_counter()
        requests.get(cached, headers={"Cookie": visitor.cookie}, timeout=60)
        times["portal_cached"].append((time.perf_counter() - started) * 1000)
    return {key: statistics.median(v) for key, v in times.items()} | {"samples": count}


def main():
    os.makedirs(WORK, exist_ok=True)
    for old in os.listdir(WORK):
        if old.startswith(("ids-", "params-", "buyers")) or old.endswith(".log") or old == "instance":
            path = os.path.join(WORK, old)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    scale_name = "quick" if QUICK else "full"
    scale = build.SCALES[scale_name]
    db_url = build.prepare(scale_name)
    engine = "postgresql" if db_url.startswith("postgres") else "sqlite"
    env = dict(os.environ, PORTAL_ENV="production", SECRET_KEY=secrets.token_hex(32), DATABASE_URL=db_url,
               INSTANCE_PATH=os.path.join(WORK, "instance"), BASE_URL="http://127.0.0.1")
    env.pop("REDIS_URL", None)

    # Ids the runs walk through: documents contact 1 can see, products for the cart.
    os.environ.update(env)
    from app.db import db, init_db
    init_db(db_url)
    from app.models import Document
    with db.connection_context():
        visible = [d for (d,) in Document.select(Document.id)
                   .where((Document.contact == 1) & (Document.status != "draft"))
                   .order_by(Document.id).tuples()]
        invoices = Document.select().where((Document.contact == 1) & (Document.kind == "invoice")
                                           & (Document.status != "draft")).count()
        shown_doc = (Document.select(Document.id).where((Document.contact == 1) & (Document.kind == "invoice")
                                                        & (Document.status == "open"))
                     .order_by(Document.issue_date.desc(), Document.id.desc()).scalar())
    deep = max((invoices + 19) // 20, 1)
    rng_ids = [i for i in visible if i != shown_doc]
    random.Random(2026).shuffle(rng_ids)   # the same order every run
    pdf_ids = [shown_doc] + rng_ids          # [0] is the cached one; the rest are rendered once each
    comment_ids = rng_ids[::-1]
    product_ids = list(range(2, scale.products + 1))
    bare_pdf_ids = rng_ids[:50]
    db.close()

    big, small = build.BIG_EMAIL, build.SMALL_EMAIL
    plan = [
        ("ping", small, "GET", "/cart/", None, True),
        ("summary", big, "GET", "/", None, False),
        ("summary_small", small, "GET", "/", None, False),
        ("list_big_1", big, "GET", "/invoices?page=1", None, False),
        ("list_big_deep", big, "GET", f"/invoices?page={deep}", None, False),
        ("list_small_1", small, "GET", "/invoices?page=1", None, False),
        ("document", big, "GET", f"/documents/{shown_doc}", None, False),
        ("pdf_first", big, "GET", lambda a: f"/documents/{pdf_ids[-1 - a]}/pdf", None, False),
        ("pdf_cached", big, "GET", f"/documents/{shown_doc}/pdf", None, False),
        ("catalog", big, "GET", "/catalog/?category=1", None, False),
        ("search", big, "GET", "/catalog/?q=gear", None, True),
        ("cart_add", big, "POST", "/cart/items", lambda a: {"product_id": product_ids[-1 - a], "quantity": 1}, True),
        ("comment", big, "POST", lambda a: f"/documents/{comment_ids[-1 - a]}/comments",
         {"body": "A comment from the benchmark."}, True),
    ]
    log("counting queries in-process")
    counts, endpoints = query_counts(env, plan)

    needs = {"ping": "cart.show", "summary": "portal.home", "summary_small": "portal.home",
             "list_big_1": "documents.index", "list_big_deep": "documents.index",
             "list_small_1": "documents.index", "document": "documents.show", "pdf_first": "pdf.document",
             "pdf_cached": "pdf.document", "catalog": "catalog.index", "search": "catalog.index",
             "cart_add": "cart.add", "comment": "comments.create", "checkout": "checkout.place"}
    missing = sorted(k for k, endpoint in needs.items() if endpoint not in endpoints)

    portal = Server("portal", "wsgi:app", env, CORES)
    bare = Server("bare", "bench.baseline:create_app()", env, CORES)
    servers = [portal, bare]
    results = {"started": datetime.datetime.now().isoformat(timespec="seconds"), "quick": QUICK,
               "engine": engine, "scale": scale.__dict__, "cores": CORES, "connections": CONNECTIONS,
               "seconds": SECONDS, "runs": RUNS, "warm_seconds": WARM, "load_before": os.getloadavg(),
               "git": _git_head(), "queries": counts, "missing": missing, "deep_page": deep,
               "documents_shown": shown_doc}
    try:
        portal.wait_ready("/login")
        bare.wait_ready("/hello")
        log(f"portal at {portal.url}, bare at {bare.url}, {CORES} sync workers each")
        bigv, smallv = Visitor(portal.url, big), Visitor(portal.url, small)
        P = lambda v, htmx=False: v.headers(htmx)  # noqa: E731
        # Each portal action next to its bare twin (bench/twins.py), alternating; /hello is the
        # ceiling every action is also set against.
        twin_cart = "contact=1&product_id={id}&quantity=1&next=%2Fcatalog%2F"
        comment_body = "body=A+comment+from+the+benchmark+{n}"
        targets = [
            Target("hello", "bare /hello", "bare", "/hello"),
            # The cheapest signed-in page: the cart fragment of a contact whose cart stays empty
            # (the session, the contact and one query for the cart; no page frame).
            Target("ping", "signed-in ping: empty cart (HTMX GET /cart/)", "portal", "/cart/", headers=P(smallv, True)),
            Target("bare_summary", "bare summary, contact 1", "bare", "/summary?contact=1"),
            Target("summary", "summary /", "portal", "/", headers=P(bigv)),
            Target("bare_summary_small", "bare summary, contact 2", "bare", "/summary?contact=2"),
            Target("summary_small", "summary / (10-doc contact)", "portal", "/", headers=P(smallv)),
            Target("db_big_1", "bare 3-query page, contact 1 p.1", "bare", "/db-page?contact=1&page=1"),
            Target("list_big_1", "invoices p.1 (10,000-doc contact)", "portal", "/invoices?page=1", headers=P(bigv)),
            Target("db_big_deep", f"bare 3-query page, contact 1 p.{deep}", "bare", f"/db-page?contact=1&page={deep}"),
            Target("list_big_deep", f"invoices p.{deep} (10,000-doc contact)", "portal", f"/invoices?page={deep}",
                   headers=P(bigv)),
            Target("db_small_1", "bare 3-query page, contact 2 p.1", "bare", "/db-page?contact=2&page=1"),
            Target("list_small_1", "invoices p.1 (10-doc contact)", "portal", "/invoices?page=1", headers=P(smallv)),
            Target("bare_document", "bare document page", "bare", f"/document/{shown_doc}?contact=1"),
            Target("document", "document page", "portal", f"/documents/{shown_doc}", headers=P(bigv)),
            Target("bare_search", "bare product search fragment", "bare", "/catalog/search?q=gear"),
            Target("search", "catalog search (HTMX fragment)", "portal", "/catalog/?q=gear", headers=P(bigv, True)),
            Target("bare_cart_add", "bare cart upsert + badge", "bare", "/cart-items", "POST", body=twin_cart,
                   ids=product_ids),
            Target("cart_add", "add to cart (HTMX POST)", "portal", "/cart/items", "POST",
                   body="product_id={id}&quantity=1&next=%2Fcatalog%2F", headers=P(bigv, True), ids=product_ids),
            Target("bare_comment", "bare comment insert + thread", "bare",
                   "/documents/{id}/comments?contact=1&person=1", "POST", body=comment_body, ids=comment_ids),
            Target("comment", "post a comment (HTMX POST)", "portal", "/documents/{id}/comments", "POST",
                   body=comment_body, headers=P(bigv, True), ids=comment_ids),
            Target("bare_catalog", "bare catalog category page", "bare", "/catalog?category=1"),
            Target("catalog", "catalog category page", "portal", "/catalog/?category=1", headers=P(bigv)),
            Target("bare_pdf", "bare WeasyPrint invoice", "bare", "/pdf/{id}", ids=bare_pdf_ids),
            Target("pdf_first", "PDF, first render", "portal", "/documents/{id}/pdf", headers=P(bigv), ids=pdf_ids[1:]),
            Target("bare_pdf_cached", "bare cached PDF from disk", "bare", f"/pdf-cached/{shown_doc}?contact=1"),
            Target("pdf_cached", "PDF, cached re-download", "portal", f"/documents/{shown_doc}/pdf", headers=P(bigv)),
        ]
        targets = [t for t in targets if t.key not in missing]
        if ONLY:
            from bench.report import COMPARED, WITH
            keys = ONLY | {w for k in ONLY for w in WITH.get(k, ())}
            wanted = keys | {COMPARED[k][0] for k in keys if k in COMPARED} | {"hello"}
            targets = [t for t in targets if t.key in wanted]
        by_key = {t.key: t for t in targets}
        results["wire"] = wire_bytes(portal, bigv) if "summary" not in missing and not ONLY else None
        log("PDF render times, one request at a time")
        if "pdf_first" in by_key:
            results["pdf"] = pdf_medians(portal, bare, bigv, by_key["pdf_first"], bare_pdf_ids, 5 if QUICK else 15)
        server = {"portal": portal, "bare": bare}
        if "bare_pdf_cached" in by_key:   # rendered once, as the portal's cached one was above
            import requests
            requests.get(f"{bare.url}/pdf-cached/{shown_doc}?contact=1", timeout=60).raise_for_status()
        log(f"warm-up: {WARM} s each")
        for t in targets:
            t.warm.append(wrk(server[t.side], t, WARM))
        for n in range(RUNS):
            log(f"pass {n + 1} of {RUNS}: {SECONDS} s each, {len(targets)} targets")
            for t in targets:
                t.runs.append(wrk(server[t.side], t, SECONDS))
                log(f"  {t.key:14} {t.runs[-1]['rps']:8.1f} req/s  p50 {t.runs[-1]['p50_ms']:7.1f} ms  "
                    f"p99 {t.runs[-1]['p99_ms']:7.1f} ms  bad {t.runs[-1]['bad'] + t.runs[-1]['non2xx']} "
                    f"{t.runs[-1]['first_bad'][:200]}")
        # An unsteady pair is measured again (both of its runs), while time allows.
        retried = set()
        for t in targets:
            s = summarize(t)
            if RUNS > 1 and s["rejected"] and not s["bad"] and time.monotonic() - STARTED < BUDGET - 150:
                log(f"  {t.key}: {s['rejected']}; measuring it again")
                t.runs = [wrk(server[t.side], t, SECONDS) for _ in range(RUNS)]
                retried.add(t.key)
        results["retried"] = sorted(retried)
        results["signed_in_after"] = {"big": bigv.still_signed_in(), "small": smallv.still_signed_in()}
        results["rss_mb"] = {"portal": portal.worker_rss_mb(), "bare": bare.worker_rss_mb()}
        results["targets"] = {t.key: dict(summarize(t), label=t.label, side=t.side) for t in targets}
        for s in servers:
            s.stop()
        if "checkout" not in missing and (not ONLY or "checkout" in ONLY):
            results["checkout"] = checkout_phase(env, db_url)
        results["locked"] = {s.name: s.count_in_log("database is locked") for s in servers}
        results["server_errors"] = {s.name: s.count_in_log("Exception on ") for s in servers}
    finally:
        for s in servers:
            s.stop()
    results["elapsed_s"] = round(time.monotonic() - STARTED)
    results["load_after"] = os.getloadavg()
    from bench.report import evaluate, table
    results["verdicts"] = evaluate(results)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(RESULTS, f"bench-{stamp}{'-quick' if QUICK else ''}.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=str)
    shutil.copyfile(path, os.path.join(RESULTS, "latest.json"))
    print(table(results))
    log(f"figures written to {path}")
    if engine == "postgresql":
        build.drop_postgres_run(os.environ.get("DATABASE_URL"))


def checkout_phase(env, db_url):
    """Checkout at 4 workers x 16 connections, one buyer per connection: portal vs bare."""
    from app.db import db, init_db
    from app.models import Document, DocumentLine, Product
    workers = 4
    portal = Server("portal", "wsgi:app", env, workers)
    bare = Server("bare", "bench.baseline:create_app()", env, workers)
    try:
        portal.wait_ready("/login")
        bare.wait_ready("/hello")
        log(f"checkout: {workers} workers x {CONNECTIONS} connections, one buyer each")
        import requests
        rows, visitors = [], []
        for n in range(1, build.BUYERS + 1):
            v = Visitor(portal.url, f"buyer{n:02d}@bench.test")
            hx = v.headers(True)
            requests.post(portal.url + "/cart/items", data={"product_id": build.CHECKOUT_PRODUCT, "quantity": 1},
                          headers=hx, timeout=30).raise_for_status()
            page = requests.get(portal.url + "/checkout/", headers=v.headers(), timeout=30)
            m = STATE_INPUT.search(page.text)
            if not m:
                raise RuntimeError(f"no checkout state on the checkout page ({page.status_code})")
            requests.post(f"{portal.url}/cart/items/{build.CHECKOUT_PRODUCT}/remove", headers=hx,
                          timeout=30).raise_for_status()
            rows.append("\t".join([v.cookie, v.csrf, m.group(1) or m.group(2), str(build.CHECKOUT_PRODUCT)]))
            visitors.append(v)

        def empty_carts():
            # A run may stop between adding and placing: start each with empty carts.
            for v in visitors:
                requests.post(f"{portal.url}/cart/items/{build.CHECKOUT_PRODUCT}/remove", headers=v.headers(True),
                              timeout=30).raise_for_status()
        buyers = os.path.join(WORK, "buyers.txt")
        with open(buyers, "w") as f:
            f.write("\n".join(rows) + "\n")
        init_db(db_url)
        with db.connection_context():
            stock0 = Product.get_by_id(build.CHECKOUT_PRODUCT).stock
            last_doc = Document.select(Document.id).order_by(Document.id.desc()).scalar()
        p = Target("checkout", "checkout (add + place order)", "portal", "/checkout/", mode="checkout",
                   threads=CONNECTIONS, buyers=buyers)
        p.before = empty_carts
        b = Target("bare_checkout", "bare checkout transaction", "bare", "/checkout", "POST",
                   body="product=%d&contact={id}" % build.CHECKOUT_PRODUCT, threads=CONNECTIONS,
                   ids=list(range(3, 3 + build.BUYERS)))
        for t, server in ((p, portal), (b, bare)):
            t.warm.append(wrk(server, t, WARM))
        for _ in range(RUNS):
            for t, server in ((p, portal), (b, bare)):
                t.runs.append(wrk(server, t, SECONDS))
                log(f"  {t.key:14} {t.runs[-1]['commits_per_s']:8.1f} commits/s  bad {t.runs[-1]['bad']} "
                    f"{t.runs[-1]['statuses']} {t.runs[-1]['first_bad'][:200]}")
        time.sleep(1)
        with db.connection_context():
            stock1 = Product.get_by_id(build.CHECKOUT_PRODUCT).stock
            new = Document.select().where(Document.id > last_doc)
            portal_orders = new.where(~Document.number.startswith("BARE-")).count()
            bare_orders = new.where(Document.number.startswith("BARE-")).count()
            taken = (DocumentLine.select(DocumentLine.stock_taken).join(Document)
                     .where((Document.id > last_doc) & (DocumentLine.product == build.CHECKOUT_PRODUCT)))
            taken = sum(r.stock_taken for r in taken)
        db.close()
        placed = sum(r["placed"] for r in p.warm + p.runs)
        bare_ok = sum(r["good"] for r in b.warm + b.runs)
        consistent = (stock0 - stock1 == taken == portal_orders + bare_orders and stock1 >= 0
                      and 0 <= portal_orders - placed <= len(p.runs + p.warm) * CONNECTIONS
                      and 0 <= bare_orders - bare_ok <= len(b.runs + b.warm) * CONNECTIONS)
        return {"workers": workers, "portal": dict(summarize(p, "commits_per_s"), label=p.label),
                "bare": dict(summarize(b, "commits_per_s"), label=b.label),
                "locked": {"portal": portal.count_in_log("database is locked"),
                           "bare": bare.count_in_log("database is locked")},
                "server_errors": {"portal": portal.count_in_log("Exception on "),
                                  "bare": bare.count_in_log("Exception on ")},
                "stock": {"before": stock0, "after": stock1, "taken_by_lines": taken, "portal_orders": portal_orders,
                          "bare_orders": bare_orders, "portal_303s": placed, "bare_200s": bare_ok,
                          "consistent": consistent},
                "rss_mb": {"portal": portal.worker_rss_mb(), "bare": bare.worker_rss_mb()}}
    finally:
        portal.stop()
        bare.stop()


def _git_head():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


if __name__ == "__main__":
    main()
