"""The portal's payment history: every payment and refund of the contact, newest first, with
its method, status, the documents it paid and its receipt. (Paying is app/views/payments.py.)"""
from flask import g, request, url_for

from .. import statement
from ..web.htmx import render
from . import portal_blueprint

bp = portal_blueprint("payment_history", __name__)


def history_context(contact):
    """The fragment's context: one page of the history (`page` in the query string)."""
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100000)
    rows, total = statement.payment_history(contact, page)
    pages = max((total + statement.HISTORY_PAGE - 1) // statement.HISTORY_PAGE, 1)
    return {"rows": rows, "total": total, "page": page, "pages": pages, "payment_methods": statement.method_labels(),
            "list_url": url_for("payment_history.index")}


@bp.get("/payments")
def index():
    """List the contact's payments and refunds, newest first, paginated."""
    return render("payment_history/index.html", "partials/_payment_history.html", **history_context(g.contact))
