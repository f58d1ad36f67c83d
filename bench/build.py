"""The benchmark database: 10,000 contacts, 1,000,000 documents with their lines and taxes,
5,000 products, built in bulk SQL after the real migrations.

Every table is filled by one `INSERT ... SELECT` over a generated series (a recursive CTE on
SQLite, generate_series on PostgreSQL): no ORM save per row. Each value is a function of the
row number, so the lines of a document can be recomputed inside the document's own INSERT, and
its totals follow app/money.py's rule (nets rounded per line, each tax rounded once on its base;
the unit prices are chosen so every net is exact). A sample is checked against
money.compute_totals after the build.

Who is who (the figures are for the full scale):
- contact 1 ("big@bench.test") has 10,000 documents, every 100th row, so they are spread over the
  table as a real customer's are; contact 2 ("small@bench.test") has 10;
- contacts 3..18 ("buyer01..16@bench.test") are the checkout's buyers (one per connection);
- every contact has one person, all with the password PASSWORD (hashed once), portal and
  catalog access on; product 1 is what the checkout buys.

The built SQLite file is kept under bench/results/ keyed by a hash of the migrations, this file
and the scale, so a re-run only copies it; on PostgreSQL a seed database plays that part and
each run gets a fresh copy of it (CREATE DATABASE ... TEMPLATE).
"""
import dataclasses
import datetime
import glob
import hashlib
import os
import shutil
import time
from urllib.parse import urlsplit, urlunsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
PASSWORD = "bench-password-2026"
BIG_EMAIL, SMALL_EMAIL = "big@bench.test", "small@bench.test"
BUYERS = 16                   # checkout buyers: contacts 3 .. 3 + BUYERS - 1
CHECKOUT_PRODUCT = 1
STOCK = 1_000_000
VAT_BP, IRPF_BP = 2100, -1500


@dataclasses.dataclass(frozen=True)
class Scale:
    contacts: int
    documents: int
    big_docs: int
    small_docs: int
    products: int

    @property
    def big_every(self):
        return self.documents // self.big_docs


SCALES = {
    "full": Scale(contacts=10_000, documents=1_000_000, big_docs=10_000, small_docs=10, products=5_000),
    "quick": Scale(contacts=1_000, documents=50_000, big_docs=2_000, small_docs=10, products=1_000),
}


def log(msg):
    print(f"[build] {msg}", flush=True)


# --- SQL that differs between the two databases -------------------------------------------------

class SqliteDialect:
    param = "?"
    true, false = "1", "0"

    def __init__(self, today):
        self.today = today.isoformat()

    def series(self, n, name="seq"):
        """(WITH clause, FROM item) yielding integers 1..n in column i."""
        return (f"WITH RECURSIVE {name}(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM {name} WHERE i < {int(n)}) ",
                name)

    def mod(self, a, b):
        return f"(({a}) % ({b}))"

    def pad(self, expr, width):
        return f"printf('%0{width}d', {expr})"

    def days_before_today(self, days):
        return f"date('{self.today}', '-' || ({days}) || ' days')"

    def add_days(self, date, n):
        return f"date({date}, '+{int(n)} days')"

    def at_nine(self, date):
        return f"({date} || ' 09:00:00')"

    def year(self, date):
        return f"substr({date}, 1, 4)"

    def now(self):
        return f"'{self.today} 08:00:00'"


class PostgresDialect(SqliteDialect):
    param = "%s"
    true, false = "TRUE", "FALSE"

    def series(self, n, name="seq"):
        return "", f"generate_series(1::bigint, {int(n)}::bigint) AS {name}(i)"

    def mod(self, a, b):
        return f"mod({a}, {b})"

    def pad(self, expr, width):
        return f"lpad(({expr})::text, {width}, '0')"

    def days_before_today(self, days):
        return f"(DATE '{self.today}' - ({days})::int)"

    def add_days(self, date, n):
        return f"({date} + {int(n)})"

    def at_nine(self, date):
        return f"({date} + TIME '09:00')"

    def year(self, date):
        return f"to_char({date}, 'YYYY')"

    def now(self):
        return f"TIMESTAMP '{self.today} 08:00:00'"


# --- filling one table -----------------------------------------------------------------------------

def _model_for(table):
    from app.models import MODELS
    for model in MODELS:
        if model._meta.table_name == table:
            return model
    raise LookupError(table)


def insert_select(database, dialect, table, values, source, with_clause="", where=""):
    """INSERT INTO table SELECT over `source`: `values` maps columns to SQL expressions; every
    other NOT NULL column gets the model's default (as a bound parameter), so a column added by
    a later migration does not break the build unless it has neither default nor NULL."""
    model = _model_for(table)
    fields = {f.column_name: f for f in model._meta.sorted_fields}
    columns, exprs, params = [], [], []
    for col in database.get_columns(table):
        name = col.name
        if name in values:
            columns.append(name)
            exprs.append(values[name])
            continue
        field = fields.get(name)
        if col.primary_key or col.null:
            continue
        if field is None or field.default is None:
            raise RuntimeError(f"bench build: no value for {table}.{name} (NOT NULL, no default)")
        value = field.default() if callable(field.default) else field.default
        value = field.db_value(value)
        if isinstance(value, (datetime.date, datetime.datetime)) and dialect.param == "?":
            value = str(value)
        columns.append(name)
        exprs.append(dialect.param)
        params.append(value)
    unknown = set(values) - set(columns)
    if unknown:
        raise RuntimeError(f"bench build: {table} has no column {sorted(unknown)}")
    sql = (f'INSERT INTO "{table}" ({", ".join(chr(34) + c + chr(34) for c in columns)}) {with_clause}'
           f'SELECT {", ".join(exprs)} FROM {source} {where}')
    started = time.monotonic()
    cursor = database.execute_sql(sql, params)
    log(f"{table}: {cursor.rowcount:,} rows in {time.monotonic() - started:.1f} s")


def line_values(d, i, k):
    """The SQL expressions of line k (0..2) of document i: quantity, unit price, discount, net,
    product. Unit prices are whole hundreds of minor units, so 10 % off is exact."""
    p = f"({i} / 100)"
    qty = f"(1 + {d.mod(f'{i} + 3 * {k} + {p}', 5)})"
    price = f"(100 * (5 + {d.mod(f'{i} * 7 + {k} * 131 + {p}', 400)}))"
    disc = f"(CASE WHEN {d.mod(f'{i} + {k} + {p}', 4)} = 0 THEN 1000 ELSE 0 END)"
    net = f"({qty} * {price} * (10000 - {disc}) / 10000)"
    return qty, price, disc, net


def fill(database, dialect, scale, password_hash):
    d, s = dialect, scale
    w1, seq1 = d.series(1)
    insert_select(database, d, "settings", {
        "id": "1", "name": "'Bench Business S.L.'", "email": "'billing@bench.test'",
        "tax_id": "'B00000000'", "address": "'1 Bench Street, Madrid'", "default_currency": "'EUR'",
        "default_language": "'en'"}, seq1, w1)
    w, seq = d.series(2)
    insert_select(database, d, "tax_rate", {
        "id": "i", "name": "CASE WHEN i = 1 THEN 'VAT' ELSE 'IRPF' END",
        "rate_bp": f"CASE WHEN i = 1 THEN {VAT_BP} ELSE {IRPF_BP} END",
        "is_default": f"CASE WHEN i = 1 THEN {d.true} ELSE {d.false} END"}, seq, w)
    w, seq = d.series(50)   # 10 roots with 4 children each
    insert_select(database, d, "category", {
        "id": "i", "name": "'Category ' || i", "position": "i",
        "parent_id": "CASE WHEN i > 10 THEN 1 + (i - 11) / 4 END"}, seq, w)
    w, seq = d.series(s.products)
    words = ("Bolt", "Gear", "Valve", "Hinge", "Spring", "Bracket", "Washer", "Pulley")
    word = "CASE " + " ".join(f"WHEN {d.mod('i', 8)} = {n} THEN '{x}'" for n, x in enumerate(words)) + " END"
    insert_select(database, d, "product", {
        "id": "i", "sku": f"'SKU-' || {d.pad('i', 5)}", "name": f"{word} || ' ' || {d.pad('i', 5)}",
        "description": "'A product of the benchmark catalog.'", "category_id": f"11 + {d.mod('i', 40)}",
        "price": f"100 * (5 + {d.mod('i * 37', 400)})", "currency": "'EUR'", "track_stock": d.true,
        "stock": str(STOCK), "active": d.true, "visible": d.true, "updated_at": d.now()}, seq, w)
    insert_select(database, d, "product_tax", {"product_id": "i", "tax_rate_id": "1"}, seq, w)
    w, seq = d.series(s.contacts)
    insert_select(database, d, "contact", {
        "id": "i", "kind": f"CASE WHEN {d.mod('i', 3)} = 0 THEN 'person' ELSE 'company' END",
        "name": f"'Customer ' || {d.pad('i', 5)} || ' S.L.'", "email": "'contact' || i || '@bench.test'",
        "billing_address": "'Street ' || i || ', Town'", "portal_enabled": d.true,
        "catalog_enabled": d.true, "language": "'en'", "created_at": d.now()}, seq, w)
    email = (f"CASE WHEN i = 1 THEN '{BIG_EMAIL}' WHEN i = 2 THEN '{SMALL_EMAIL}' "
             f"WHEN i < {3 + BUYERS} THEN 'buyer' || {d.pad('i - 2', 2)} || '@bench.test' "
             f"ELSE 'person' || i || '@bench.test' END")
    insert_select(database, d, "person", {
        "id": "i", "contact_id": "i", "name": f"'Person ' || {d.pad('i', 5)}", "email": email,
        "password_hash": _literal(password_hash), "language": "'en'", "created_at": d.now()}, seq, w)
    _documents(database, d, s)


def _literal(text):
    """A SQL string literal of an argon2 hash (its alphabet has no quote; checked anyway)."""
    if "'" in text or "\\" in text:
        raise ValueError("unexpected character in the hash")
    return f"'{text}'"


def _hash(d, expr, m, prime):
    """A well-mixed number in 0..m-1 from a row number (multiplicative hashing, low bits
    dropped), so every 100th row (contact 1's) gets the same mix of kinds and statuses."""
    return d.mod(f"({expr}) * {prime} / 4096", m)


def _documents(database, d, s):
    every = s.big_every
    w, seq = d.series(s.documents)
    contact = (f"CASE WHEN {d.mod('i', every)} = 0 THEN 1 "
               f"WHEN {d.mod('i', every)} = {every // 2} AND i <= {s.small_docs * every} THEN 2 "
               f"ELSE 3 + {d.mod('i * 7919', s.contacts - 2)} END")
    nets = [line_values(d, "i", k)[3] for k in range(3)]
    subtotal = f"({nets[0]} + CASE WHEN n > 1 THEN {nets[1]} ELSE 0 END + CASE WHEN n > 2 THEN {nets[2]} ELSE 0 END)"
    raw = (f"SELECT i, {contact} AS c, {_hash(d, 'i', 1000, 2654435761)} AS kh, "
           f"{_hash(d, 'i', 100, 2246822519)} AS sh, "
           f"n, {d.days_before_today(_hash(d, 'i', 1095, 3266489917))} AS day, "
           f"{d.mod('i / 100 + i', 5)} = 0 AS irpf, {subtotal} AS sub "
           f"FROM (SELECT i, 1 + {d.mod('i / 100 + i', 3)} AS n FROM {seq}) AS s0")
    kind = "CASE WHEN kh < 600 THEN 'invoice' WHEN kh < 800 THEN 'quote' ELSE 'ord' || 'er' END"
    status = ("CASE WHEN sh < 3 THEN 'draft' "
              "WHEN kh < 600 THEN CASE WHEN sh < 30 THEN 'open' WHEN sh < 95 THEN 'paid' ELSE 'void' END "
              "WHEN kh < 800 THEN CASE WHEN sh < 40 THEN 'open' WHEN sh < 75 THEN 'accepted' "
              "WHEN sh < 92 THEN 'declined' ELSE 'void' END "
              "ELSE CASE WHEN sh < 20 THEN 'open' WHEN sh < 35 THEN 'confirmed' WHEN sh < 50 THEN 'shipped' "
              "WHEN sh < 95 THEN 'delivered' ELSE 'cancelled' END END")
    vat = f"((sub * {VAT_BP} + 5000) / 10000)"
    irpf = f"(CASE WHEN irpf THEN -((sub * {-IRPF_BP} + 5000) / 10000) ELSE 0 END)"
    mid = (f"SELECT i, c, n, day, sub, {kind} AS kind, {status} AS status, {vat} + {irpf} AS tax "
           f"FROM ({raw}) AS s1")
    prefix = "CASE kind WHEN 'invoice' THEN 'F' WHEN 'quote' THEN 'P' ELSE 'SO' END"
    insert_select(database, d, "document", {
        "id": "i", "contact_id": "c", "kind": "kind", "status": "status",
        # As Document.next_number() writes them: at least four digits, more when it needs them.
        "number": f"{prefix} || '-' || {d.year('day')} || '-' || "
                  f"CASE WHEN i < 10000 THEN {d.pad('i', 4)} ELSE CAST(i AS TEXT) END",
        "issue_date": "day",
        "due_date": f"CASE WHEN kind <> 'quote' THEN {d.add_days('day', 30)} END",
        "valid_until": f"CASE WHEN kind = 'quote' THEN {d.add_days('day', 30)} END",
        "currency": "'EUR'", "subtotal": "sub", "tax_total": "tax", "total": "sub + tax",
        "amount_paid": "CASE WHEN status IN ('paid', 'delivered') THEN sub + tax ELSE 0 END",
        "created_at": d.at_nine("day"), "updated_at": d.at_nine("day"),
        "issued_at": f"CASE WHEN status <> 'draft' THEN {d.at_nine('day')} END",
    }, f"({mid}) AS s2", w)
    qty, price, disc, net = line_values(d, "i", "k")
    product = f"1 + {d.mod('i * 11 + k * 17 + i / 100', s.products)}"
    lines = (f"SELECT i, k, {qty} AS qty, {price} AS price, {disc} AS disc, {net} AS net, {product} AS pid "
             f"FROM {seq} CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) AS ks "
             f"WHERE k < 1 + {d.mod('i / 100 + i', 3)}")
    words = ("Bolt", "Gear", "Valve", "Hinge", "Spring", "Bracket", "Washer", "Pulley")
    word = "CASE " + " ".join(f"WHEN {d.mod('pid', 8)} = {n} THEN '{x}'" for n, x in enumerate(words)) + " END"
    insert_select(database, d, "document_line", {
        "id": "3 * (i - 1) + k + 1", "document_id": "i", "position": "k", "product_id": "pid",
        "description": f"{word} || ' ' || {d.pad('pid', 5)}", "qty_milli": "qty * 1000",
        "unit_price": "price", "discount_bp": "disc", "net": "net", "stock_taken": "0"}, f"({lines}) AS l", w)
    insert_select(database, d, "line_tax", {"line_id": "id", "name": "'VAT'", "rate_bp": str(VAT_BP)},
                  "document_line")
    insert_select(database, d, "line_tax", {"line_id": "id", "name": "'IRPF'", "rate_bp": str(IRPF_BP)},
                  "document_line", where=f"WHERE {d.mod('document_id / 100 + document_id', 5)} = 0")
    insert_select(database, d, "payment", {
        "document_id": "id", "contact_id": "contact_id", "gateway": "'manual'", "amount": "total",
        "currency": "currency",
        "status": "'succeeded'", "idempotency_key": "'seed-' || id", "paid_at": "created_at",
        "created_at": "created_at", "updated_at": "created_at", "method_note": "'Bank transfer'"},
        "document", where="WHERE amount_paid > 0")
    # The numbering series past the seeded numbers (which are the document ids): a number the
    # portal gives at checkout must not collide with a seeded one (UNIQUE kind, number).
    year = d.year("issue_date")
    insert_select(database, d, "number_series", {
        "kind": "k", "code": "CASE k WHEN 'invoice' THEN 'F' WHEN 'quote' THEN 'P' ELSE 'SO' END",
        "year": "CAST(y AS INTEGER)", "pattern": "'{code}-{year}-{n:04d}'", "next_n": "m + 1", "last_used": "m"},
        f"(SELECT kind AS k, {year} AS y, MAX(id) AS m FROM document GROUP BY kind, {year}) AS ns")


# --- checks ------------------------------------------------------------------------------------------

def verify(database, scale):
    """Counts as intended, and a sample of totals recomputed with app.money's rules."""
    from peewee import fn

    from app import money
    from app.models import Contact, Document, DocumentLine, LineTax, Person, Product
    counts = {"contacts": Contact.select().count(), "documents": Document.select().count(),
              "products": Product.select().count(), "big": Document.select().where(Document.contact == 1).count(),
              "small": Document.select().where(Document.contact == 2).count(),
              "people": Person.select().count()}
    expected = {"contacts": scale.contacts, "documents": scale.documents, "products": scale.products,
                "big": scale.big_docs, "small": scale.small_docs, "people": scale.contacts}
    if counts != expected:
        raise RuntimeError(f"bench build: counts {counts} != {expected}")
    ids = [1, 2, 3, scale.big_every, scale.big_every // 2] + list(range(7, scale.documents, scale.documents // 97))
    for doc in Document.select().where(Document.id.in_(ids)):
        lines = list(DocumentLine.select().where(DocumentLine.document == doc))
        taxes = {}
        for t in LineTax.select().where(LineTax.line.in_([l.id for l in lines])):
            taxes.setdefault(t.line_id, []).append((t.name, t.rate_bp))
        totals = money.compute_totals([(l.qty_milli, l.unit_price, l.discount_bp, taxes.get(l.id, []))
                                       for l in lines])
        if not 1 <= len(lines) <= 3 or [l.net for l in lines] != totals["nets"] or \
                (doc.subtotal, doc.tax_total, doc.total) != (totals["subtotal"], totals["tax_total"], totals["total"]):
            raise RuntimeError(f"bench build: document {doc.id} totals differ from app.money: {totals}")
    kinds = dict(Document.select(Document.status, fn.COUNT(1)).where(Document.contact == 1)
                 .group_by(Document.status).tuples())
    log(f"verified: {counts}; contact 1 by status: {kinds}")


# --- SQLite: a cached seed file, copied for each run -------------------------------------------------

def schema_hash(scale_name):
    h = hashlib.sha256(repr(SCALES[scale_name]).encode())
    for path in sorted(glob.glob(os.path.join(ROOT, "migrations", "*.py"))) + [os.path.abspath(__file__)]:
        with open(path, "rb") as f:
            h.update(os.path.basename(path).encode() + f.read())
    return h.hexdigest()[:12]


def _build(url, scale_name, dialect):
    from app.cli import migrate_database
    from app.db import db, init_db
    from app.passwords import hash_password
    scale = SCALES[scale_name]
    database = init_db(url)
    started = time.monotonic()
    migrate_database()
    with database.connection_context():
        if dialect.param == "?":
            for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -400000", "temp_store = MEMORY"):
                database.execute_sql(f"PRAGMA {pragma}")
        with database.atomic():
            fill(database, dialect, scale, hash_password(PASSWORD))
            if dialect.param == "%s":
                for table in ("settings", "tax_rate", "category", "product", "contact", "person",
                              "document", "document_line"):
                    database.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                         f"(SELECT MAX(id) FROM \"{table}\"))")
        verify(database, scale)
        if dialect.param == "?":
            database.execute_sql("PRAGMA journal_mode = WAL")
    db.close()
    if hasattr(database, "close_all"):
        database.close_all()   # a pooled connection would block CREATE DATABASE ... TEMPLATE
    log(f"built {scale_name} database in {time.monotonic() - started:.0f} s")




def sqlite_database(scale_name, today=None):
    """The path of a fresh working copy of the seed SQLite database (built if missing)."""
    os.makedirs(RESULTS, exist_ok=True)
    seed = os.path.join(RESULTS, f"seed-{scale_name}-{schema_hash(scale_name)}.sqlite")
    if not os.path.exists(seed):
        for old in glob.glob(os.path.join(RESULTS, f"seed-{scale_name}-*.sqlite*")):
            os.remove(old)
        tmp = seed + ".building"
        for leftover in glob.glob(tmp + "*"):
            os.remove(leftover)
        log(f"building {seed} (cached for later runs)")
        _build("sqlite:///" + tmp, scale_name, SqliteDialect(today or datetime.date.today()))
        os.replace(tmp, seed)
    else:
        log(f"using cached {os.path.basename(seed)}")
    run_dir = os.path.join(RESULTS, "run")
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(run_dir, "portal.db")
    for old in glob.glob(path + "*"):
        os.remove(old)
    started = time.monotonic()
    shutil.copyfile(seed, path)
    log(f"copied to {path} in {time.monotonic() - started:.1f} s")
    return "sqlite:///" + path


# --- PostgreSQL: a seed database, copied for each run ------------------------------------------------

def _admin(url):
    import psycopg2
    parts = urlsplit(url)
    conn = psycopg2.connect(urlunsplit((parts.scheme.split("+")[0], parts.netloc, "/postgres", "", "")))
    conn.autocommit = True
    return conn


def _with_db(url, name):
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def postgres_database(url, scale_name, today=None):
    """A URL of a fresh copy of the seed database on the server of `url` (seed built if missing)."""
    seed, run = f"portal_bench_seed_{scale_name}", "portal_bench_run"
    digest = schema_hash(scale_name)
    admin = _admin(url)
    cur = admin.cursor()
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (seed,))
    fresh = False
    if cur.fetchone():
        import psycopg2
        conn = psycopg2.connect(_with_db(url, seed).replace("+pool", ""))
        with conn, conn.cursor() as c2:
            c2.execute("SELECT to_regclass('bench_meta')")
            if c2.fetchone()[0]:
                c2.execute("SELECT hash FROM bench_meta")
                row = c2.fetchone()
                fresh = bool(row and row[0] == digest)
        conn.close()
    if not fresh:
        log(f"building PostgreSQL database {seed}")
        cur.execute(f'DROP DATABASE IF EXISTS "{seed}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{seed}"')
        _build(_with_db(url, seed), scale_name, PostgresDialect(today or datetime.date.today()))
        import psycopg2
        conn = psycopg2.connect(_with_db(url, seed))
        conn.autocommit = True
        with conn.cursor() as c2:
            started = time.monotonic()
            c2.execute("VACUUM ANALYZE")   # what autovacuum would do soon after a bulk load
            log(f"VACUUM ANALYZE in {time.monotonic() - started:.0f} s")
            c2.execute("CREATE TABLE bench_meta (hash text)")
            c2.execute("INSERT INTO bench_meta VALUES (%s)", (digest,))
        conn.close()
    else:
        log(f"using cached PostgreSQL database {seed}")
    started = time.monotonic()
    cur.execute(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)')
    cur.execute(f'CREATE DATABASE "{run}" TEMPLATE "{seed}"')
    admin.close()
    log(f"copied to {run} in {time.monotonic() - started:.1f} s")
    return _with_db(url, run)


def drop_postgres_run(url):
    admin = _admin(url)
    admin.cursor().execute('DROP DATABASE IF EXISTS "portal_bench_run" WITH (FORCE)')
    admin.close()


def prepare(scale_name):
    """Build (or reuse) and copy the database the run will use; returns its DATABASE_URL."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return postgres_database(url, scale_name)
    return sqlite_database(scale_name)


if __name__ == "__main__":
    import sys
    sys.path.insert(0, ROOT)
    print(prepare("quick" if os.environ.get("BENCH_QUICK") else "full"))
