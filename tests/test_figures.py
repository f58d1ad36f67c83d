"""The contacts' figure rows (models.ContactFigure), kept by database triggers, against the
figures recomputed from the documents (app/figures.py), on whichever database the run uses."""
import datetime
import random

import pytest

from app import credit_notes, documents, figures, quotes, refunds, summary
from app.credit_notes import Pick
from app.db import db
from app.models import ContactFigure, Document, Payment, PaymentAllocation, Refund
from app.rules import By, Refused
from tests.factories import make_contact, make_document, make_person, make_staff

TODAY = datetime.date.today()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def days(n):
    return TODAY + datetime.timedelta(days=n)


class Story:
    """Random steps through the services a business uses, on a few contacts and currencies."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.by = By(staff=make_staff())
        self.contacts = [make_contact() for _ in range(3)]
        self.people = {c.id: make_person(contact=c) for c in self.contacts}
        self.steps = []

    def pick(self, kind, *statuses):
        docs = list(Document.select().where((Document.kind == kind) & Document.status.in_(statuses)))
        return self.rng.choice(docs) if docs else None

    def draft(self, kind, **fields):
        lines = [(f"Line {n}", self.rng.choice([1000, 2500]), self.rng.randrange(100, 90000), 0,
                  self.rng.choice([[("IVA", 2100)], [("IVA", 1000), ("IRPF", -1500)], []]))
                 for n in range(self.rng.randrange(1, 4))]
        return make_document(self.rng.choice(self.contacts), kind=kind, status="draft", lines=lines,
                             currency=self.rng.choice(["EUR", "EUR", "USD"]),
                             issue_date=days(-self.rng.randrange(0, 500)), **fields)

    def issue_invoice(self):
        due = self.rng.choice([days(-40), days(-1), days(0), days(12), None])
        documents.issue(self.draft("invoice", due_date=due), self.by)

    def issue_quote(self):
        documents.issue(self.draft("quote", valid_until=self.rng.choice([days(-3), days(0), days(20), None])), self.by)

    def decide_quote(self):
        quote = self.pick("quote", "open")
        if quote and (quote.valid_until is None or quote.valid_until >= TODAY):
            quotes.decide(quote, self.people[quote.contact_id], self.rng.choice(["accept", "decline"]),
                          {"signer_name": "Ana Buyer"})

    def order_moves(self):
        order = self.pick("order", "draft", "open", "confirmed", "shipped")
        if order is None:
            documents.issue(self.draft("order"), self.by)
            return
        target = self.rng.choice(sorted(order.allowed_transitions()))
        documents.move(order, target, self.by)

    def pay_manually(self):
        invoice = self.pick("invoice", "open")
        if invoice and invoice.amount_due > 0:
            amount = self.rng.choice([invoice.amount_due, max(invoice.amount_due // 3, 1)])
            documents.record_manual_payment(invoice, amount, days(-self.rng.randrange(0, 400)), "transfer", self.by)

    def reverse(self):
        payment = (Payment.select().where((Payment.gateway == "manual") & (Payment.status == "succeeded"))
                   .order_by(Payment.id.desc()).first())
        if payment:
            documents.reverse_payment(payment, "The transfer bounced", self.by)

    def pay_online_and_refund(self):
        invoice = self.pick("invoice", "open")
        if not invoice or invoice.amount_due <= 0:
            return
        amount = invoice.amount_due
        with db.atomic():
            payment = Payment.create(document=invoice, gateway="stripe", amount=amount, currency=invoice.currency,
                                     status="succeeded", idempotency_key=f"pay-{len(self.steps)}",
                                     provider_payment_ref=f"pi_{len(self.steps)}", mode="test",
                                     paid_at=datetime.datetime.combine(days(-self.rng.randrange(0, 60)),
                                                                       datetime.time(9)))
            PaymentAllocation.create(payment=payment, document=invoice, amount=amount, applied=amount)
            assert invoice.apply_payment(amount)
        if self.rng.random() < 0.7:
            part = self.rng.choice([amount, max(amount // 2, 1)])
            refund = Refund.create(payment=payment, gateway="stripe", amount=part, currency=invoice.currency,
                                   idempotency_key=f"refund-{len(self.steps)}", provider_ref=f"re_{len(self.steps)}",
                                   origin="gateway")
            with db.atomic():
                assert refunds.apply(refund, By(gateway="stripe")) == "applied"

    def credit(self):
        invoice = self.pick("invoice", "open", "paid")
        if invoice:
            line = self.rng.choice(list(invoice.ordered_lines()))
            credit_notes.issue(invoice, [Pick(line.id, line.qty_milli, max(line.unit_price // 2, 1))],
                               "Price agreed afterwards", self.by)

    def void(self):
        invoice = self.pick("invoice", "open") or self.pick("quote", "open")
        if invoice and not invoice.amount_paid and not invoice.amount_credited:
            documents.void(invoice, self.by)

    def delete_draft(self):
        draft = self.pick(self.rng.choice(["invoice", "quote"]), "draft")
        if draft:
            documents.delete_draft(draft)

    def edit_by_hand(self):
        """A change no service makes (a fix in SQL by the business): the triggers see it too."""
        invoice = self.pick("invoice", "open")
        if invoice:
            Document.update(due_date=days(self.rng.randrange(-30, 30)),
                            contact=self.rng.choice(self.contacts)).where(Document.id == invoice.id).execute()

    def run(self, count):
        actions = [self.issue_invoice] * 4 + [self.issue_quote, self.decide_quote, self.order_moves,
                                               self.pay_manually, self.pay_manually, self.reverse,
                                               self.pay_online_and_refund, self.credit, self.void,
                                               lambda: self.draft("invoice"), self.delete_draft, self.edit_by_hand]
        for _ in range(count):
            action = self.rng.choice(actions)
            try:
                action()
            except (Refused, quotes.DecisionRefused):
                pass   # the service said no and wrote nothing: the figures must agree all the same
            self.steps.append(getattr(action, "__name__", "draft"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_figures_agree_with_the_documents_after_a_random_story(ctx, seed):
    story = Story(seed)
    for _ in range(4):
        story.run(30)
        assert figures.differences() == [], story.steps
    assert ContactFigure.select().count() > 0
    # Every kind of step was taken, so the comparison covered them.
    assert {"issue_invoice", "pay_manually", "credit", "pay_online_and_refund", "void"} <= set(story.steps)


def test_the_summary_reads_the_same_balances_as_the_documents_say(ctx):
    contact = make_contact()
    by = By(staff=make_staff())
    late = make_document(contact, due_date=days(-5))                      # 100.00 + 21 % IVA
    make_document(contact, due_date=days(5), currency="USD")
    paid = make_document(contact, due_date=days(-9))
    documents.record_manual_payment(paid, paid.total, TODAY, "cash", by)
    make_document(contact, kind="quote", valid_until=days(3))
    make_document(contact, kind="quote", valid_until=days(-1))             # expired: not waiting
    make_document(contact, kind="order")
    make_document(contact, status="draft")                                 # not the contact's yet
    found = summary.balances(contact)
    assert found["outstanding"] == {"EUR": late.total, "USD": 12100}
    assert found["overdue"] == {"EUR": late.total}
    assert (found["quotes_count"], found["quotes_total"], found["open_orders"]) == (1, {"EUR": 12100}, 1)
    # Time passes and nothing is written: the figures still tell what is overdue and what expired.
    later = summary.balances(contact, today=days(6))
    assert later["overdue"] == {"EUR": late.total, "USD": 12100} and later["quotes_count"] == 0
    chart = summary.monthly(contact)
    assert chart["currency"] == "EUR" and chart["months"][-1][1:] == (2 * 12100, 12100)


def test_figures_check_finds_a_wrong_row_and_repairs_it(app, runner):
    contact = make_contact()
    make_document(contact)
    assert runner.invoke(args=["figures", "check"]).exit_code == 0
    ContactFigure.update(amount=ContactFigure.amount + 1).where(ContactFigure.figure == "due").execute()
    result = runner.invoke(args=["figures", "check"])
    assert result.exit_code == 1 and f"contact {contact.id} due EUR" in result.output
    result = runner.invoke(args=["figures", "check", "--repair"])
    assert result.exit_code == 0 and "1 figure(s) rewritten" in result.output
    assert figures.differences() == []
    assert summary.balances(contact)["outstanding"] == {"EUR": 12100}


def test_a_rolled_back_change_leaves_the_figures_as_they_were(ctx):
    contact = make_contact()
    invoice = make_document(contact)
    before = figures.stored()
    with pytest.raises(RuntimeError):
        with db.atomic():
            Document.update(status="void").where(Document.id == invoice.id).execute()
            assert summary.balances(contact)["outstanding"] == {}   # seen inside the transaction
            raise RuntimeError("rolled back")
    assert figures.stored() == before and summary.balances(contact)["outstanding"] == {"EUR": 12100}
