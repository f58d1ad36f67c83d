"""Placeholder replaced in this same session."""
from . import staff_blueprint

bp = staff_blueprint("staff_jobs", "/staff/jobs")


@bp.get("/")
def index():
    """Placeholder."""
    return "todo"
