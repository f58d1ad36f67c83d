"""Back-office: invoices, quotes and sales orders: list, edit drafts, issue, void, move orders."""
import datetime

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ... import comments, credit_notes, documents, quotes, reminders
from ...rules import By, Refused
from ...models import INVOICE, KINDS, ORDER, QUOTE, STATUSES, Activity, Contact, Document, Payment, Settings, TaxRate
from ...money import amount_input
from ...web.forms import Form
from ...web.htmx import render
from . import corrections, history
from . import document_form as df
from . import get_any_document, staff_blueprint

bp = staff_blueprint("documents", "/documents")
PAGE = 50
# What the editor makes. Credit notes are issued from their invoice (app/views/staff/credit_notes.py),
# never typed: a draft credit note would have no invoice to rectify and no reason.
EDITOR_KINDS = (INVOICE, QUOTE, ORDER)


def editor_context(kind, form, rows, doc=None):
    """Everything the editor page and its totals fragment need."""
    tax_rates = list(TaxRate.select().where(TaxRate.active == True).order_by(TaxRate.rate_bp.desc()))  # noqa: E712
    contacts = Contact.select(Contact.id, Contact.name).where(Contact.archived == False).order_by(Contact.name)  # noqa: E712
    currency = form.value("currency") or Settings.get_solo().default_currency
    return {"kind": kind, "form": form, "rows": rows, "doc": doc, "tax_rates": tax_rates,
            "contacts": contacts, "currency": currency,
            "totals": df.preview_totals(rows) if currency and _known(currency) else None,
            "next_index": max([r.index for r in rows], default=-1) + 1}


def _known(currency):
    from ...money import is_currency
    return is_currency(currency)


@bp.get("/")
def index():
    """List documents, filtered by kind, status and number."""
    kind = request.args.get("kind", "")
    status = request.args.get("status", "")
    q = request.args.get("q", "").strip()[:40]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = Document.select(Document, Contact).join(Contact)
    if kind in KINDS:
        query = query.where(Document.kind == kind)
    if status in STATUSES:
        query = query.where(Document.status == status)
    if q:
        query = query.where(Document.number.contains(q) | Contact.name.contains(q))
    docs = list(query.order_by(Document.issue_date.desc(), Document.id.desc())
                .limit(PAGE + 1).offset((page - 1) * PAGE))
    open_orders = Document.select().where((Document.kind == "order") & (Document.status == "open")).count()
    return render_template("staff/documents/index.html", docs=docs[:PAGE], has_next=len(docs) > PAGE,
                           page=page, kind=kind, status=status, q=q, statuses=STATUSES, open_orders=open_orders)


@bp.get("/new/<kind>")
def new(kind):
    """Show the editor for a new document of this kind."""
    if kind not in EDITOR_KINDS:
        abort(404)
    settings = Settings.get_solo()
    contact = Contact.get_or_none(Contact.id == request.args.get("contact", type=int))
    values = {"issue_date": datetime.date.today().isoformat(),
              "currency": (contact.currency if contact and contact.currency else settings.default_currency),
              "terms": settings.default_terms, "contact": str(contact.id) if contact else "",
              "shipping_address": (contact.shipping_address or contact.billing_address) if contact else ""}
    values.update(df.default_dates(kind, settings))
    defaults = [t.id for t in TaxRate.select().where((TaxRate.is_default == True) & (TaxRate.active == True))]  # noqa: E712
    rows = df.blank_rows(3, default_taxes=defaults)
    return render_template("staff/documents/edit.html", **editor_context(kind, Form(values=values), rows))


def _editor_post(kind, doc=None):
    """Shared by create and update: validate, then save or re-render with the errors."""
    tax_rates = list(TaxRate.select())
    form, header = df.read_header(request.form, kind, doc)
    currency = header.get("currency") or "EUR"
    rows, bad_rows = df.read_rows(request.form, currency, tax_rates)
    action = request.form.get("action", "save")
    if action == "add_line":
        rows += df.blank_rows(1, start=max([r.index for r in rows], default=-1) + 1)
        return render_template("staff/documents/edit.html", **editor_context(kind, form, rows, doc))
    if not rows:
        form.error("lines", _("Add at least one line."))
    if len(rows) > df.MAX_LINES:
        form.error("lines", _("A document can have at most %(n)d lines.", n=df.MAX_LINES))
    if form.ok and not bad_rows:
        try:
            saved = documents.save_draft(kind, header, [r.parsed for r in rows], doc)
        except Refused as refused:   # a rule of the service: shown by its field, nothing saved
            form.error(refused.field or "lines", refused.message)
        else:
            flash(_("Draft saved."), "success")
            return redirect(url_for(".show", doc_id=saved.id), 303)
    ctx = editor_context(kind, form, rows or df.blank_rows(1), doc)
    return render_template("staff/documents/edit.html", **ctx), 422


@bp.post("/new/<kind>")
def create(kind):
    """Create a draft document from the editor."""
    if kind not in EDITOR_KINDS:
        abort(404)
    return _editor_post(kind)


@bp.post("/totals/<kind>")
def totals(kind):
    """Recompute the editor's totals panel from the typed lines (live totals, HTMX)."""
    if kind not in EDITOR_KINDS:
        abort(404)
    form, header = df.read_header(request.form, kind)
    rows, _bad = df.read_rows(request.form, header.get("currency") or "EUR", list(TaxRate.select()))
    ctx = editor_context(kind, form, rows)
    return render("staff/documents/edit.html", "partials/_doc_totals.html", **ctx)


def show_context(doc, pay_form=None):
    """Everything the document page and its fragments (payments, credit notes, history) need."""
    payments = list(Payment.for_document(doc).order_by(Payment.created_at.desc(), Payment.id.desc()))
    activity = (Activity.select().where((Activity.document == doc) & Activity.action.not_in(Activity.AUDIT_ACTIONS))
                .order_by(Activity.created_at.desc()).limit(30))
    pay_form = pay_form or Form(values={"amount": amount_input(doc.amount_due, doc.currency),
                                        "paid_on": datetime.date.today().isoformat()})
    return {"doc": doc, "payments": payments, "activity": activity, "pay_form": pay_form,
            "refundable": {p.id: corrections.refundable_now(p) for p in payments if p.gateway in Payment.ONLINE},
            "credit_notes": list(credit_notes.of(doc)) if doc.kind == INVOICE else [],
            "history": history.trail(doc), "comments": comments.thread(doc), "decision": quotes.decision_for(doc),
            "reminders": reminders.of_document(doc) if doc.kind == INVOICE and doc.status != "draft" else []}


@bp.get("/<int:doc_id>")
def show(doc_id):
    """Show a document with its lines, totals, payments, credit notes, history and status actions."""
    return render_template("staff/documents/show.html", **show_context(get_any_document(doc_id)))


@bp.get("/<int:doc_id>/edit")
def edit(doc_id):
    """Show the editor for a draft."""
    doc = get_any_document(doc_id)
    if not doc.editable:
        flash(_("Only drafts can be edited."), "error")
        return redirect(url_for(".show", doc_id=doc.id))
    values = {"contact": str(doc.contact_id), "issue_date": doc.issue_date.isoformat(),
              "due_date": doc.due_date.isoformat() if doc.due_date else "",
              "valid_until": doc.valid_until.isoformat() if doc.valid_until else "",
              "currency": doc.currency, "reference": doc.reference, "notes": doc.notes, "terms": doc.terms,
              "shipping_address": doc.shipping_address}
    return render_template("staff/documents/edit.html",
                           **editor_context(doc.kind, Form(values=values), df.rows_from_document(doc), doc))


@bp.post("/<int:doc_id>/edit")
def update(doc_id):
    """Save a draft's changes."""
    doc = get_any_document(doc_id)
    if not doc.editable:
        flash(_("Only drafts can be edited."), "error")
        return redirect(url_for(".show", doc_id=doc.id), 303)
    return _editor_post(doc.kind, doc)


@bp.post("/<int:doc_id>/status")
def change_status(doc_id):
    """Issue, void, confirm, ship, deliver or cancel, if the current status allows it."""
    doc = get_any_document(doc_id)
    try:
        documents.move(doc, request.form.get("status", ""), By(staff=g.staff))
    except Refused as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("%(number)s updated.", number=doc.number), "success")
    return redirect(url_for(".show", doc_id=doc.id), 303)


@bp.post("/<int:doc_id>/delete")
def delete(doc_id):
    """Delete a draft (issued documents are voided, never deleted)."""
    doc = get_any_document(doc_id)
    try:
        documents.delete_draft(doc)
    except Refused as exc:
        flash(str(exc.message), "error")
        return redirect(url_for(".show", doc_id=doc.id), 303)
    flash(_("Draft deleted."), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:doc_id>/payments")
def record_payment(doc_id):
    """Record a payment received outside the portal (transfer, cash...)."""
    doc = get_any_document(doc_id)
    form = Form(request.form)
    amount = form.amount("amount", doc.currency)
    paid_on = form.date("paid_on")
    note = form.text("note", max_length=200)
    if form.ok:
        try:
            documents.record_manual_payment(doc, amount, paid_on, note, By(staff=g.staff))
        except Refused as exc:
            form.error(exc.field or "amount", str(exc.message))
    if not form.ok:
        return render_template("staff/documents/show.html", **show_context(doc, form)), 422
    flash(_("Payment recorded."), "success")
    return redirect(url_for(".show", doc_id=doc.id), 303)
