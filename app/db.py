"""The database handle: SQLite (embedded default) or PostgreSQL, chosen by DATABASE_URL."""
from peewee import DatabaseProxy, SqliteDatabase
from playhouse.db_url import connect

db = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "synchronous": "normal",
}


def open_database(url):
    """Return a peewee Database for the URL (not connected)."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        # IMMEDIATE: a transaction that reads then writes takes the write lock up front, so
        # concurrent checkouts wait on busy_timeout instead of failing with "database is locked".
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE")
    if url.startswith(("postgres://", "postgresql://")):
        # A fresh PostgreSQL connection costs ~5 ms; pool them unless told otherwise.
        scheme, rest = url.split("://", 1)
        url = "postgresql+pool://" + rest
        if "max_connections" not in rest:
            url += ("&" if "?" in rest else "?") + "max_connections=20&stale_timeout=300"
    return connect(url)


def init_db(url):
    database = open_database(url)
    db.initialize(database)
    return database


def is_sqlite():
    return isinstance(db.obj, SqliteDatabase)


def month_of(field):
    """'YYYY-MM' of a date or timestamp column, in SQL (grouping by month in the database)."""
    from peewee import fn
    if is_sqlite():
        return fn.strftime("%Y-%m", field)
    return fn.to_char(field, "YYYY-MM")


class _Slot:
    """Where the n-th argument of a compiled query goes among its parameters."""
    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n


class compiled:
    """A query of fixed shape that peewee builds once per database, then runs with new values.

    Peewee renders SQL in Python on every call, about 25 µs a selected column: 0.2 to 1 ms for
    each of the few queries every portal request runs (the session with its person and contact,
    the business row, a document by id), many times what the database takes to answer them.
    `build` gets one placeholder per argument and returns the query; call the compiled query
    with the values as the database stores them (ids, not model instances). Rows come back as
    the query would give them (models with their joined models).
    """

    def __init__(self, build):
        self.build = build
        self.arity = build.__code__.co_argcount
        self._cache = None   # (database, query, sql, params): rebuilt when the database changes

    def _compiled(self):
        from peewee import Value
        database = db.obj
        if self._cache is None or self._cache[0] is not database:
            # converter=False: the placeholder must reach the parameter list untouched
            query = self.build(*(Value(_Slot(n), converter=False) for n in range(self.arity)))
            sql, params = query.sql()
            self._cache = (database, query, sql, params)
        return self._cache

    def __call__(self, *args):
        if len(args) != self.arity:
            raise TypeError(f"expected {self.arity} arguments, got {len(args)}")
        database, query, sql, params = self._compiled()
        values = [args[p.n] if isinstance(p, _Slot) else p for p in params]
        return list(query._get_cursor_wrapper(database.execute_sql(sql, values)))

    def first(self, *args):
        rows = self(*args)
        return rows[0] if rows else None

    def scalar(self, *args):
        row = self.first(*args)
        return row[0] if row is not None else None
