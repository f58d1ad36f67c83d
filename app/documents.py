"""Documents: the business operations on invoices, quotes and sales orders, written once.

The back-office, the API and the CLI parse their input, call these, and render or serialise
what comes back. An operation that may not happen raises Refused with a stable code (the API
sends it) and a message for a person (the back-office shows it); nothing is written then.
Who acted is a rules.By: a staff user, an API token, or the system."""
import datetime
import secrets
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from . import bank, money, numbering, snapshot, tokens, verify, webhooks
from .db import db
from .links import external_link
from .mail import recipient_language, send_template
from .models import (CREDIT_NOTE, INVOICE, ISSUED_FROM_DRAFT, ORDER, PAYABLE_STATUSES, QUOTE, Activity,
                     Document, DocumentLine, LineTax, Payment, Person, Settings, utcnow)
from .rules import Refused

MAX_LINES = 200
ISSUE_MAIL_KINDS = (INVOICE, QUOTE, CREDIT_NOTE)   # orders have their own mails (checkout, app/orders.py)
NEGATIVE_INVOICE = _l("An invoice cannot have a negative total. To take money off an issued invoice, "
                      "issue a credit note against it.")


@dataclass
class Line:
    """One document line, already validated by whoever read it."""
    description: str
    qty_milli: int
    unit_price: int
    discount_bp: int = 0
    product: object = None
    taxes: list = field(default_factory=list)   # [(name, rate_bp)]

    @property
    def net(self):
        return money.line_net(self.qty_milli, self.unit_price, self.discount_bp)


def totals(lines):
    """Subtotal, taxes and total of these lines, by the rounding rule of app/money.py."""
    return money.compute_totals([(x.qty_milli, x.unit_price, x.discount_bp, x.taxes) for x in lines])


# --- drafts ---------------------------------------------------------------------------------

def save_draft(kind, header, lines, doc=None):
    """Create a draft, or replace a draft's header and lines, in one transaction. A draft has
    no number: it gets the next of its series when it is issued."""
    if doc is not None and not doc.editable:
        raise Refused("not_a_draft", _l("Only drafts can be edited."))
    header = {key: value for key, value in header.items() if key != "number"}
    for name in ("terms", "notes"):
        bank.check_free_text(header.get(name), name)
    with db.atomic():
        if doc is None:
            doc = Document.create(kind=kind, **header)
        else:
            for key, value in header.items():
                setattr(doc, key, value)
            doc.version += 1
            doc.updated_at = utcnow()
            doc.save()
            DocumentLine.delete().where(DocumentLine.document == doc).execute()
        for position, line in enumerate(lines):
            row = DocumentLine.create(document=doc, position=position, product=line.product,
                                      description=line.description, qty_milli=line.qty_milli,
                                      unit_price=line.unit_price, discount_bp=line.discount_bp,
                                      net=line.net)
            for name, rate in line.taxes:
                LineTax.create(line=row, name=name, rate_bp=rate)
        doc.recompute()
        if doc.kind == INVOICE and doc.total < 0:
            raise Refused("negative_total", NEGATIVE_INVOICE)   # rolls the whole draft back
        doc.save()
    return doc


def create(kind, header, lines, by, issue_now=False):
    """A new draft, issued at once if asked (in the same transaction)."""
    with db.atomic():
        doc = save_draft(kind, header, lines)
        if issue_now:
            move(doc, "open", by)
    return doc


def delete_draft(doc):
    """Delete a draft; issued documents are voided, never deleted."""
    deleted = Document.delete().where((Document.id == doc.id) & (Document.status == "draft")).execute()
    if not deleted:
        raise Refused("not_a_draft", _l("Only drafts can be deleted."))


# --- status ---------------------------------------------------------------------------------

def issue(doc, by):
    """Issue a draft: it becomes open and visible to the contact."""
    if doc.status != "draft":
        raise Refused("not_a_draft", _l("Only drafts can be issued."))
    move(doc, "open", by)


def void(doc, by):
    """Void an invoice or a quote that has no payments."""
    move(doc, "void", by)


def move(doc, target, by):
    """Change the status if the current one allows it. Cancelling an order puts back the stock
    its checkout took, in the same transaction, and only if this call is the one that moved it."""
    if target == "void" and doc.kind == ORDER:
        raise Refused("use_order_status", _l("Orders are cancelled, not voided."))
    if target == "void" and doc.amount_paid:
        raise Refused("has_payments", _l("A document with payments cannot be voided."))
    issuing = doc.status == "draft" and target in ISSUED_FROM_DRAFT
    if issuing and not doc.ordered_lines().exists():
        raise Refused("no_lines", _l("Add at least one line before issuing."))
    if issuing and doc.kind == INVOICE and doc.total < 0:
        raise Refused("negative_total", NEGATIVE_INVOICE)
    if target == "void" and doc.amount_credited:
        raise Refused("has_credit_notes", _l("This invoice has credit notes: it cannot be voided."))
    if target not in doc.allowed_transitions():
        raise Refused("invalid_transition", _l("This change is not possible from the document's current status."))
    with db.atomic():
        if not doc.move_to(target):
            raise Refused("status_changed", _l("The document changed meanwhile; reload and try again."))
        if issuing:
            _give_number(doc)
        if doc.kind == ORDER and target == "cancelled":
            doc.return_stock()
        Activity.record("status_" + target, document=doc, contact=doc.contact_id,
                        **by.activity(doc.number if issuing else "", status=target, number=doc.number))
        if issuing:
            _announce(doc)


def _announce(doc):
    """An issued document: the business's software hears of it, the customer gets the mail."""
    if doc.kind == INVOICE:
        webhooks.emit("invoice.issued", webhooks.document_data(doc))
    if doc.kind in ISSUE_MAIL_KINDS:
        mail_issued(doc)


def _give_number(doc):
    """The next number of the document's series, dated today: numbers and issue dates then
    run in the same order. Due and valid-until dates keep their distance from the issue date.
    Then the document is frozen (app/snapshot.py)."""
    today = datetime.date.today()
    shift = today - doc.issue_date
    changes = {"number": numbering.take(doc.kind, today), "issue_date": today}
    if doc.kind in verify.KINDS:
        changes["verify_code"] = verify.new_code()
    if doc.due_date:
        changes["due_date"] = doc.due_date + shift
    if doc.valid_until:
        changes["valid_until"] = doc.valid_until + shift
    Document.update(changes).where(Document.id == doc.id).execute()
    for key, value in changes.items():
        setattr(doc, key, value)
    snapshot.freeze(doc)


def mail_issued(doc):
    """Tell the contact's people that the document is theirs to see, each in their language,
    with a link that opens it: the page itself for someone with a password, a single-use
    access link for someone without one. Queued in the caller's transaction: once per issue."""
    contact = doc.contact
    if not (contact.portal_enabled and contact.issue_mail):
        return
    settings = Settings.get_solo()
    path = f"/documents/{doc.id}"
    rectifies = _rectifies(doc)
    from .people import BUYERS, PAYERS   # invoices to owners and billing; quotes, orders to buyers
    for person in Person.active_of(contact, roles=BUYERS if doc.kind in (QUOTE, ORDER) else PAYERS):
        expires_at = None
        if person.password_hash:
            link = external_link("documents.show", doc_id=doc.id)
        else:
            token, row = tokens.issue(person, "access", hours=settings.access_link_hours)
            link, expires_at = external_link("auth.access", token=token, next=path), row.expires_at
        send_template(person.email, "document_issued", recipient_language(person), doc=doc, person=person,
                      business=settings, link=link, link_expires_at=expires_at, rectifies=rectifies)


def _rectifies(doc):
    """A credit note's invoice as its snapshot printed it (number, issue date), for the mail."""
    found = (snapshot.frozen(doc) or {}).get("rectifies") if doc.kind == CREDIT_NOTE else None
    if not found:
        return None
    return {**found, "issue_date": datetime.date.fromisoformat(found["issue_date"])}


# --- money ----------------------------------------------------------------------------------

def record_manual_payment(doc, amount, paid_on, note, by):
    """A payment received outside the portal (transfer, cash...): amount_paid rises only while
    it stays within the total, in the transaction that writes the payment."""
    if amount <= 0:
        raise Refused("amount_not_positive", _l("Enter a number greater than zero."), field="amount")
    if doc.status not in PAYABLE_STATUSES.get(doc.kind, ()):
        raise Refused("not_payable", _l("Payments can be recorded only on issued invoices and orders."))
    if amount > doc.amount_due:
        raise Refused("over_amount_due", _l("This is more than the amount due (%(due)s).",
                                            due=money.amount_input(doc.amount_due, doc.currency)),
                      field="amount")
    with db.atomic():
        if not doc.apply_payment(amount):
            raise Refused("document_changed", _l("The document changed meanwhile; reload and try again."))
        payment = Payment.create(document=doc, gateway="manual", amount=amount, currency=doc.currency,
                                 status="succeeded", idempotency_key="manual-" + secrets.token_hex(16),
                                 method_note=note, paid_at=datetime.datetime.combine(paid_on, datetime.time(12)),
                                 created_by=by.staff)
        Activity.record("payment_manual", document=doc, contact=doc.contact_id,
                        **by.activity(f"{money.amount_input(amount, doc.currency)} {doc.currency}",
                                      payment=payment.id, amount=amount, amount_paid=doc.amount_paid))
        webhooks.emit("payment.succeeded", webhooks.payment_data(payment))
        paid_in_full(doc)
    return payment


def paid_in_full(doc):
    """Tell the business's software when an invoice has just become paid."""
    if doc.kind == INVOICE and doc.status == "paid":
        webhooks.emit("invoice.paid", webhooks.document_data(doc))


def reverse_payment(payment, reason, by):
    """Take back a manual payment recorded by mistake (a transfer that bounced, the wrong
    invoice): the invoice owes its amount again and the payment stays in the history, marked
    reversed, with the reason. Online payments are refunded through their gateway instead."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused("reason_required", _l("Say why the payment is reversed."), field="reason")
    if len(reason) > 300:
        raise Refused("reason_too_long", _l("Use at most %(n)s characters.", n=300), field="reason")
    if payment.gateway != "manual":
        raise Refused("not_manual", _l("Online payments are refunded through their gateway, not reversed."))
    with db.atomic():
        Document.lock_rows([payment.document_id])
        won = (Payment.update(status="reversed", reversed_at=utcnow(), reversal_reason=reason, updated_at=utcnow())
               .where((Payment.id == payment.id) & (Payment.status == "succeeded")).execute())
        if not won:
            raise Refused("not_reversible", _l("Only a received payment can be reversed, and only once."))
        doc = Document.get_by_id(payment.document_id)
        if not doc.take_back(payment.amount):
            raise Refused("document_changed", _l("The document changed meanwhile; reload and try again."))
        payment = Payment.get_by_id(payment.id)
        Activity.record("payment_reversed", document=doc, contact=doc.contact_id,
                        **by.activity(f"{money.amount_input(payment.amount, doc.currency)} {doc.currency}: {reason}",
                                      payment=payment.id, amount=payment.amount, reason=reason,
                                      amount_paid=doc.amount_paid, status=doc.status))
        webhooks.emit("payment.reversed", webhooks.payment_data(payment))
    return payment
