"""Credit notes and money corrections, at the service level (app/credit_notes.py,
app/documents.py): what they do to the invoice, the numbers they take, the trail they leave."""
import datetime
import json

import pytest

from app import credit_notes, documents, snapshot
from app.credit_notes import Pick
from app.db import db
from app.models import Activity, Document, NumberSeries, Payment, WebhookDelivery, WebhookEndpoint
from app.rules import By, Refused
from tests.concurrency import race
from tests.factories import make_contact, make_document, make_staff, settings

YEAR = datetime.date.today().year
TWO_UNITS = [("Consulting", 2000, 5000, 0, [("IVA", 2100)])]   # 2 x 50.00 + 21 % = 121.00


@pytest.fixture
def invoice(app):
    settings(invoice_prefix="F", credit_note_prefix="R")
    with app.app_context():
        doc = make_document(make_contact(name="Talleres Ruiz"), status="draft", lines=TWO_UNITS)
        documents.issue(doc, By())
        yield Document.get_by_id(doc.id)


def line_of(doc):
    return doc.ordered_lines().get()


def test_a_credit_note_for_half_the_goods_halves_what_is_due(invoice):
    staff = make_staff()
    note = credit_notes.issue(invoice, [Pick(line_of(invoice).id, 1000)], "One unit returned", By(staff=staff))
    fresh = Document.get_by_id(invoice.id)
    assert (note.kind, note.status, note.total, note.source_id) == ("credit_note", "issued", 6050, invoice.id)
    assert note.number == f"R-{YEAR}-0001" and invoice.number == f"F-{YEAR}-0001"
    assert (fresh.amount_credited, fresh.amount_due, fresh.status) == (6050, 6050, "open")
    assert NumberSeries.get(NumberSeries.kind == "credit_note").last_used == 1
    assert NumberSeries.get(NumberSeries.kind == "invoice").last_used == 1   # its own series
    frozen = snapshot.frozen(note)
    assert frozen["rectifies"] == {"id": invoice.id, "number": invoice.number, "issue_date": str(invoice.issue_date)}
    assert frozen["reason"] == "One unit returned" and frozen["totals"]["total"] == 6050
    entry = Activity.get((Activity.document == invoice.id) & (Activity.action == "credit_note_issued"))
    assert entry.who == staff.name and json.loads(entry.data)["amount_credited"] == 6050


def test_a_lower_unit_price_credits_a_discount_given_afterwards(invoice):
    note = credit_notes.issue(invoice, [Pick(line_of(invoice).id, 2000, unit_price=1000)], "10 off each", By())
    assert note.total == 2420 and Document.get_by_id(invoice.id).amount_due == 12100 - 2420


def test_credit_notes_never_take_an_invoice_below_zero(invoice):
    line = line_of(invoice)
    credit_notes.issue(invoice, [Pick(line.id, 1500)], "Most of it", By())
    with pytest.raises(Refused) as refused:
        credit_notes.issue(Document.get_by_id(invoice.id), [Pick(line.id, 1000)], "Again", By())
    assert refused.value.code == "over_credit"
    assert Document.select().where(Document.kind == "credit_note").count() == 1
    assert NumberSeries.get(NumberSeries.kind == "credit_note").last_used == 1   # no number spent


@pytest.mark.parametrize("picks, reason, code", [
    (lambda line: [Pick(line.id, 2001)], "r", "bad_quantity"),
    (lambda line: [Pick(line.id, 0)], "r", "bad_quantity"),
    (lambda line: [Pick(line.id, -1000)], "r", "bad_quantity"),
    (lambda line: [Pick(line.id, 1000, unit_price=5001)], "r", "bad_price"),
    (lambda line: [Pick(line.id, 1000, unit_price=0)], "r", "bad_price"),
    (lambda line: [Pick(line.id + 999, 1000)], "r", "unknown_line"),
    (lambda line: [], "r", "no_lines"),
    (lambda line: [Pick(line.id, 1000)], "  ", "reason_required"),
    (lambda line: [Pick(line.id, 1000)], "x" * 1001, "reason_too_long"),
])
def test_bad_credit_notes_are_refused_and_write_nothing(invoice, picks, reason, code):
    with pytest.raises(Refused) as refused:
        credit_notes.issue(invoice, picks(line_of(invoice)), reason, By())
    assert refused.value.code == code
    assert Document.select().where(Document.kind == "credit_note").count() == 0
    assert Document.get_by_id(invoice.id).amount_credited == 0


def test_only_issued_invoices_take_credit_notes(app):
    with app.app_context():
        contact = make_contact()
        for doc in (make_document(contact, status="draft"), make_document(contact, status="void"),
                    make_document(contact, kind="quote", status="open")):
            with pytest.raises(Refused) as refused:
                credit_notes.issue(doc, credit_notes.everything(doc), "r", By())
            assert refused.value.code == "not_creditable"


def test_a_line_of_another_invoice_is_refused(invoice):
    other = make_document(make_contact(), status="open")
    with pytest.raises(Refused) as refused:
        credit_notes.issue(invoice, [Pick(line_of(other).id, 1000)], "r", By())
    assert refused.value.code == "unknown_line"


def test_crediting_everything_of_an_unpaid_invoice_leaves_it_credited(invoice):
    credit_notes.issue(invoice, credit_notes.everything(invoice), "Cancelled order", By())
    fresh = Document.get_by_id(invoice.id)
    assert (fresh.status, fresh.amount_due, fresh.is_payable) == ("credited", 0, False)
    with pytest.raises(Refused):
        documents.record_manual_payment(fresh, 100, datetime.date.today(), "transfer", By())
    with pytest.raises(Refused) as refused:
        documents.void(fresh, By())
    assert refused.value.code in ("has_credit_notes", "invalid_transition")


def test_crediting_a_paid_invoice_leaves_a_balance_in_the_customers_favour(invoice):
    documents.record_manual_payment(invoice, 12100, datetime.date.today(), "transfer", By())
    paid = Document.get_by_id(invoice.id)
    assert paid.status == "paid"
    credit_notes.issue(paid, [Pick(line_of(paid).id, 1000)], "One returned", By())
    fresh = Document.get_by_id(invoice.id)
    assert (fresh.status, fresh.amount_due, fresh.credit_balance) == ("paid", 0, 6050)


def test_a_partly_paid_invoice_credited_for_the_rest_is_paid(invoice):
    documents.record_manual_payment(invoice, 6050, datetime.date.today(), "transfer", By())
    credit_notes.issue(Document.get_by_id(invoice.id), [Pick(line_of(invoice).id, 1000)], "Returned", By())
    fresh = Document.get_by_id(invoice.id)
    assert (fresh.status, fresh.amount_due, fresh.credit_balance) == ("paid", 0, 0)


def test_a_payment_cannot_exceed_what_credit_notes_left(invoice):
    credit_notes.issue(invoice, [Pick(line_of(invoice).id, 1000)], "Returned", By())
    with pytest.raises(Refused) as refused:
        documents.record_manual_payment(Document.get_by_id(invoice.id), 6051, datetime.date.today(), "t", By())
    assert refused.value.code == "over_amount_due"
    documents.record_manual_payment(Document.get_by_id(invoice.id), 6050, datetime.date.today(), "t", By())
    assert Document.get_by_id(invoice.id).status == "paid"


def test_two_credit_notes_at_once_never_exceed_the_invoice(app, invoice):
    line_id = line_of(invoice).id

    def credit():
        with app.app_context():
            try:
                return credit_notes.issue(Document.get_by_id(invoice.id), [Pick(line_id, 1500)], "Race", By()).number
            except Refused as refused:
                return refused.code
            finally:
                db.close()
    db.close()
    outcomes = race(credit, credit)
    db.connect(reuse_if_open=True)
    assert f"R-{YEAR}-0001" in outcomes and {"over_credit", "document_changed"} & set(outcomes)
    assert Document.get_by_id(invoice.id).amount_credited == 9075


def test_a_negative_invoice_is_refused_pointing_to_credit_notes(app):
    with app.app_context():
        contact = make_contact()
        header = {"contact": contact.id, "issue_date": datetime.date.today(), "currency": "EUR"}
        with pytest.raises(Refused) as refused:
            documents.save_draft("invoice", header, [documents.Line("Refund", 1000, -5000)])
        assert refused.value.code == "negative_total" and "credit note" in str(refused.value.message)
        assert not Document.select().where(Document.contact == contact).exists()
        # A discount line is fine while the invoice stays positive.
        doc = documents.save_draft("invoice", header, [documents.Line("Work", 1000, 9000),
                                                       documents.Line("Discount", 1000, -1000)])
        assert doc.total == 8000
        draft = make_document(contact, status="draft", lines=[("Refund", 1000, -5000, 0, [])])
        with pytest.raises(Refused) as refused:
            documents.issue(draft, By())
        assert refused.value.code == "negative_total" and Document.get_by_id(draft.id).status == "draft"


def test_a_reversed_manual_payment_makes_the_invoice_owe_again(invoice):
    staff = make_staff()
    payment = documents.record_manual_payment(invoice, 12100, datetime.date.today(), "transfer", By(staff=staff))
    assert Document.get_by_id(invoice.id).status == "paid"
    reversed_ = documents.reverse_payment(payment, "The transfer bounced", By(staff=staff))
    fresh = Document.get_by_id(invoice.id)
    assert (fresh.status, fresh.amount_paid, fresh.amount_due) == ("open", 0, 12100)
    assert (reversed_.status, reversed_.reversal_reason) == ("reversed", "The transfer bounced")
    assert reversed_.reversed_at is not None and Payment.select().count() == 1   # kept in the history
    with pytest.raises(Refused) as refused:
        documents.reverse_payment(reversed_, "again", By(staff=staff))
    assert refused.value.code == "not_reversible" and Document.get_by_id(invoice.id).amount_paid == 0
    actions = [(a.action, a.who) for a in Activity.trail(invoice)]
    assert actions[-2:] == [("payment_manual", staff.name), ("payment_reversed", staff.name)]


def test_a_reversal_needs_a_reason_and_a_manual_payment(invoice):
    payment = documents.record_manual_payment(invoice, 100, datetime.date.today(), "cash", By())
    with pytest.raises(Refused) as refused:
        documents.reverse_payment(payment, " ", By())
    assert refused.value.code == "reason_required"
    online = Payment.create(document=invoice, gateway="stripe", amount=100, currency="EUR", status="succeeded",
                            idempotency_key="stripe-x")
    with pytest.raises(Refused) as refused:
        documents.reverse_payment(online, "why", By())
    assert refused.value.code == "not_manual"
    assert Payment.get_by_id(payment.id).status == "succeeded" and Document.get_by_id(invoice.id).amount_paid == 100


def test_the_business_software_hears_of_issues_payments_credit_notes_and_reversals(app):
    WebhookEndpoint.create(url="https://erp.example/hook", secret="s", events=",".join(
        ["invoice.issued", "invoice.paid", "credit_note.issued", "payment.reversed"]))
    with app.app_context():
        doc = make_document(make_contact(), status="draft", lines=TWO_UNITS)
        documents.issue(doc, By())
        payment = documents.record_manual_payment(Document.get_by_id(doc.id), 12100, datetime.date.today(), "t", By())
        documents.reverse_payment(payment, "bounced", By())
        credit_notes.issue(Document.get_by_id(doc.id), [Pick(line_of(doc).id, 1000)], "r", By())
    sent = [(d.event_type, json.loads(d.body)["data"]) for d in WebhookDelivery.select().order_by(WebhookDelivery.id)]
    assert [t for t, _ in sent] == ["invoice.issued", "invoice.paid", "payment.reversed", "credit_note.issued"]
    assert sent[0][1]["document"]["id"] == doc.id
    assert sent[3][1]["invoice"]["id"] == doc.id and sent[3][1]["document"]["kind"] == "credit_note"
