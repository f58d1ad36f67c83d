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
