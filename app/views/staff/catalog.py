"""Placeholder replaced in this same session."""
from . import staff_blueprint

bp = staff_blueprint("staff_catalog", "/staff/catalog")


@bp.get("/")
def products():
    """Placeholder."""
    return "todo"
