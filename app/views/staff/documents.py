"""Placeholder replaced in this same session."""
from . import staff_blueprint

bp = staff_blueprint("staff_documents", "/staff/documents")


@bp.get("/")
def index():
    return "todo"


@bp.get("/new/<kind>")
def new(kind):
    return "todo"


@bp.get("/<int:doc_id>")
def show(doc_id):
    return "todo"
