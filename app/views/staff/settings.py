"""Placeholder replaced in this same session."""
from . import staff_blueprint

bp = staff_blueprint("staff_settings", "/staff/settings")


@bp.get("/")
def edit():
    """Placeholder."""
    return "todo"
