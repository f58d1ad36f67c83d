"""The portal's documents: lists of invoices, quotes and orders, the document page, the print view.

Every query starts from the contact (Document.visible_to, get_document): another contact's
document, a draft and a document that does not exist all get the same 404."""
import datetime

from flask import g, render_template, request, url_for

from .. import snapshot
from ..models import CREDIT_NOTE, INVOICE, Document
from ..web.htmx import render
from . import check_kind, get_document, portal_blueprint
from .document_page import document_context, print_context, viewed_document

bp = portal_blueprint("documents", __name__)
PAGE = 20
LIST_KINDS = {"invoices": "invoice", "quotes": "quote", "orders": "order"}
# Credit notes are listed with the invoices they correct: the customer reads them together.
LISTED_KINDS = {"invoice": (INVOICE, CREDIT_NOTE), "quote": ("quote",), "order": ("order",)}
STATUS_FILTERS = {
    # "credit_note" picks the kind, not a status: a credit note is only ever "issued".
    "invoice": ("open", "overdue", "paid", "credited", "void", "credit_note"),
    "quote": ("open", "expired", "accepted", "declined", "void"),
    "order": ("open", "confirmed", "shipped", "delivered", "cancelled"),
}
SORTS = {
    "date": (Document.issue_date.desc(), Document.id.desc()),
    "date_asc": (Document.issue_date, Document.id),
    "number": (Document.number,),
    "total": (Document.total.desc(), Document.id.desc()),
    "due": (Document.due_date, Document.id),
}


def _date_arg(name):
    try:
        return datetime.date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def list_context(kind):
    """The list fragment's context: filters read from the query string, one page of rows."""
    status = request.args.get("status", "")
    status = status if status in STATUS_FILTERS[kind] else ""
    q = request.args.get("q", "").strip()[:40]
    sort = request.args.get("sort", "date")
    sort = sort if sort in SORTS else "date"
    date_from, date_to = _date_arg("from"), _date_arg("to")
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100000)
    query = Document.visible_to(g.contact).where(Document.kind.in_(LISTED_KINDS[kind]))
    today = datetime.date.today()
    if status == "credit_note":
        query = query.where(Document.kind == CREDIT_NOTE)
    elif status == "overdue":
        query = query.where((Document.status == "open") & (Document.due_date < today))
    elif status == "expired":
        query = query.where((Document.status == "open") & (Document.valid_until < today))
    elif status:
        query = query.where(Document.status == status)
    if q:
        query = query.where(Document.number.contains(q))
    if date_from:
        query = query.where(Document.issue_date >= date_from)
    if date_to:
        query = query.where(Document.issue_date <= date_to)
    total = query.count()
    rows = list(query.order_by(*SORTS[sort]).paginate(page, PAGE))
    pages = max((total + PAGE - 1) // PAGE, 1)
    args = {"status": status, "q": q, "sort": sort, "from": date_from.isoformat() if date_from else "",
            "to": date_to.isoformat() if date_to else ""}
    return {"kind": kind, "docs": rows, "total": total, "rectified": _rectified(rows), "page": page,
            "pages": pages, "args": args, "statuses": STATUS_FILTERS[kind],
            "list_url": url_for("documents.index", kinds=kind + "s")}


def _rectified(rows):
    """{credit note id: the number of the invoice it rectifies}, read from the snapshots the
    rows already carry (no query per row; the number is the one printed on the credit note)."""
    found = {}
    for doc in rows:
        if doc.kind == CREDIT_NOTE:
            rectifies = (snapshot.frozen(doc) or {}).get("rectifies")
            if rectifies:
                found[doc.id] = rectifies
    return found


@bp.get("/<any(invoices,quotes,orders):kinds>")
def index(kinds):
    """List the contact's invoices, quotes or orders, filtered, sorted and paginated."""
    check_kind(LIST_KINDS[kinds])
    return render("portal/documents/index.html", "partials/_doc_list.html", **list_context(LIST_KINDS[kinds]))


@bp.get("/documents/<int:doc_id>")
def show(doc_id):
    """Show a document with its sidebar of actions."""
    doc = viewed_document(g.contact, g.person, doc_id)
    return render_template("portal/documents/show.html", **document_context(doc, g.contact))


@bp.get("/documents/<int:doc_id>/print")
def print_view(doc_id):
    """A print-ready page of the document that opens the browser's print dialog."""
    doc = get_document(g.contact, doc_id)
    return render_template("portal/documents/print.html", **print_context(doc, g.contact))
