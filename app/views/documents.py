"""The portal's documents: lists of invoices, quotes and orders, the document page, the print view.

Every query starts from Document.visible_to(contact): another contact's document, a draft and
a document that does not exist all get the same 404."""
import datetime

from flask import Blueprint, abort, g, render_template, request, url_for
from flask_login import login_required

from .. import webhooks
from ..db import compiled
from ..web.htmx import render
from .fragments import comments_context, decision_context
from ..models import Activity, Document, Payment, Settings, utcnow

bp = Blueprint("documents", __name__)
PAGE = 20
LIST_KINDS = {"invoices": "invoice", "quotes": "quote", "orders": "order"}
STATUS_FILTERS = {
    "invoice": ("open", "overdue", "paid", "void"),
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


@bp.before_request
@login_required
def _signed_in():
    return None


def get_document(doc_id):
    """The signed-in contact's document, or 404 (the same for someone else's, drafts, unknown)."""
    doc = Document.for_contact(g.person.contact, doc_id)
    if doc is None:
        abort(404)
    return doc


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
    query = Document.visible_to(g.person.contact).where(Document.kind == kind)
    today = datetime.date.today()
    if status == "overdue":
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
    return {"kind": kind, "docs": rows, "total": total, "page": page, "pages": pages, "args": args,
            "statuses": STATUS_FILTERS[kind], "list_url": url_for("documents.index", kinds=kind + "s")}


@bp.get("/<any(invoices,quotes,orders):kinds>")
def index(kinds):
    """List the contact's invoices, quotes or orders, filtered, sorted and paginated."""
    return render("portal/documents/index.html", "partials/_doc_list.html", **list_context(LIST_KINDS[kinds]))


_recent_activity = compiled(lambda doc_id, person_id, action, since: (
    Activity.select(Activity.id).where((Activity.document == doc_id) & (Activity.person == person_id)
                                       & (Activity.action == action) & (Activity.created_at > since))
    .limit(1).tuples()))


def record_view(doc, action="viewed"):
    """Log a view or a download for staff, at most once per person and document per 10 minutes."""
    since = Activity.created_at.db_value(utcnow() - datetime.timedelta(minutes=10))
    if _recent_activity.first(doc.id, g.person.id, action, since) is None:
        Activity.record(action, person=g.person.id, contact=doc.contact_id, document=doc)
        if action == "viewed":
            webhooks.emit("document.viewed", webhooks.document_viewed_data(doc, g.person))


def document_context(doc):
    """The document page: the sheet, and the context of each fragment in its sidebar."""
    context = {"doc": doc, "lines": list(doc.ordered_lines()), "settings": Settings.get_solo(),
               "contact": g.person.contact, "logo_url": url_for("logo"),
               "payments": list(doc.payments.where(Payment.status == "succeeded").order_by(Payment.paid_at))}
    context.update(comments_context(doc))
    context.update(decision_context(doc))
    return context


@bp.get("/documents/<int:doc_id>")
def show(doc_id):
    """Show a document with its sidebar of actions."""
    doc = get_document(doc_id)
    record_view(doc)
    return render_template("portal/documents/show.html", **document_context(doc))


@bp.get("/documents/<int:doc_id>/print")
def print_view(doc_id):
    """A print-ready page of the document that opens the browser's print dialog."""
    doc = get_document(doc_id)
    return render_template("portal/documents/print.html", **document_context(doc))
