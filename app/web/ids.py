"""Ids in URLs: every `<int:...>` route takes at most 18 digits, less than the largest id a
database holds (a signed 64-bit integer: SQLite's INTEGER, PostgreSQL's BIGINT).

Without a bound, `/documents/99999999999999999999999` reached the query and SQLite's driver
raised OverflowError (a 500). Replacing the "int" converter here bounds every route in one
place, so a route added later cannot forget it. The bound is in the pattern, not a `max`
check after matching: werkzeug then answers 405 rather than 404 when another rule on the
same path takes other methods."""
from werkzeug.routing import IntegerConverter

MAX_ID = 10 ** 18 - 1


class BoundedInt(IntegerConverter):
    regex = r"\d{1,18}"


def init_app(app):
    """Call before any blueprint is registered: rules bind their converter when added."""
    app.url_map.converters["int"] = BoundedInt
