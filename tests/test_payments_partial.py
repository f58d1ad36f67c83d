"""Partial payments (when the business allows them, from a minimum amount) and paying several
invoices with one payment, through the fake Stripe."""
import pytest

from app.models import Document, Payment, PaymentAllocation
from tests.conftest import soup
from tests.factories import PASSWORD, make_contact, make_document, make_person, settings
from tests.payments import hosted, reload, send, sid_of


@pytest.fixture
def person(app):
    return make_person(password=PASSWORD, contact=make_contact(name="Talleres Ruiz", gateways="stripe"))


@pytest.fixture
def me(auth, person):
    return auth.login(person)


@pytest.fixture
def invoice(person):
    return make_document(person.contact, number="F-2026-0200")   # 121.00 EUR


@pytest.fixture
def partial(app):
    return settings(allow_partial_payments=True, min_partial_amount=2000)   # at least 20.00


def pay(me, doc, amount):
    me.get(f"/documents/{doc.id}")
    return me.post(f"/documents/{doc.id}/pay", {"gateway": "stripe", "amount": amount})


def settle(app, me, fake, resp):
    sid = sid_of(me, resp)
    fake.complete(sid)
    assert send(app.test_client(), fake.outbox[-1]).status_code == 200


# --- partial payments ---------------------------------------------------------------------

def test_the_pay_block_asks_how_much_when_partial_payments_are_allowed(me, invoice, stripe_on, partial):
    field = soup(me.get(f"/documents/{invoice.id}")).select_one("#pay #f-amount")
    assert field["value"] == "121.00" and field["name"] == "amount"
    hint = field.find_parent(class_="field").select_one(".hint").get_text()
    assert "€20.00" in hint


def test_paying_part_then_the_rest(app, me, invoice, stripe_on, partial):
    settle(app, me, stripe_on, pay(me, invoice, "50,00"))
    assert stripe_on.sessions()[0]["amount_total"] == 5000
    doc = reload(invoice)
    assert (doc.status, doc.amount_paid, doc.amount_due) == ("open", 5000, 7100)
    page = soup(me.get(f"/documents/{invoice.id}"))
    assert page.select_one("#side-due").get_text(strip=True) == "€71.00"
    assert page.select_one("#pay #f-amount")["value"] == "71.00"
    assert "Partly paid" in page.select_one("#doc-title").get_text()
    settle(app, me, stripe_on, pay(me, invoice, "71.00"))
    doc = reload(invoice)
    assert (doc.status, doc.amount_paid) == ("paid", 12100)
    assert [p.amount for p in Payment.select().order_by(Payment.id)] == [5000, 7100]


@pytest.mark.parametrize("amount,message", [
    ("10.00", "Pay at least €20.00, or the whole amount due."),
    ("121.01", "This is more than the amount due (€121.00)."),
    ("0", "Enter a number greater than zero."),
    ("-5", "Enter a number that is not negative."),
    ("abc", "Enter a number, like 12.50."),
    ("", "This field is required."),
    ("1.234", "Too many decimal places."),
    ("1" * 30, "This number is too large."),
])
def test_a_wrong_amount_is_refused_next_to_the_field_and_nothing_starts(me, invoice, stripe_on, partial, amount,
                                                                         message):
    resp = pay(me, invoice, amount)
    assert resp.status_code == 422
    page = soup(resp)
    assert page.select_one("#pay #e-amount").get_text() == message
    assert page.select_one("#pay #f-amount")["value"] == amount
    assert Payment.select().count() == 0 and stripe_on.created == 0


def test_the_rest_may_be_below_the_minimum(app, me, invoice, stripe_on, partial):
    Document.update(amount_paid=11000).where(Document.id == invoice.id).execute()   # 11.00 left
    page = soup(me.get(f"/documents/{invoice.id}"))
    # The minimum (20.00) is above what is left: no hint naming the whole amount as a minimum.
    assert page.select_one("#pay .hint") is None
    assert page.select_one("#f-amount")["value"] == "11.00"
    assert pay(me, invoice, "5.00").status_code == 422
    settle(app, me, stripe_on, pay(me, invoice, "11.00"))
    assert reload(invoice).status == "paid"


def test_two_checkouts_paid_for_the_same_invoice_overpay_and_are_flagged(app, me, invoice, stripe_on, partial):
    whole = pay(me, invoice, "121.00")
    part = pay(me, invoice, "50.00")
    settle(app, me, stripe_on, part)
    settle(app, me, stripe_on, whole)                 # 121.00 more arrives for 71.00 due
    doc = reload(invoice)
    assert (doc.status, doc.amount_paid) == ("paid", 12100)
    late = Payment.get(Payment.amount == 12100)
    assert late.status == "succeeded" and late.flagged and "F-2026-0200" in late.flag_reason
    assert PaymentAllocation.get(PaymentAllocation.payment == late).applied == 7100


def test_the_minimum_applies_in_the_business_currency_only(me, person, stripe_on, partial):
    dollars = make_document(person.contact, currency="USD", number="F-USD")
    assert pay(me, dollars, "1.00").status_code == 303


# --- several invoices at once -------------------------------------------------------------

def test_pay_several_invoices_with_one_payment(app, me, person, stripe_on):
    one = make_document(person.contact, number="F-1")
    two = make_document(person.contact, number="F-2", lines=[("Repair", 1000, 5000, 0, [])])   # 50.00
    Document.update(amount_paid=2100).where(Document.id == one.id).execute()                   # 100.00 due
    make_document(person.contact, number="F-PAID", status="paid", amount_paid=12100)
    make_document(make_contact(), number="F-THEIRS")
    link = soup(me.get(f"/documents/{two.id}")).select_one("#pay #pay-several-link")["href"]
    assert link == f"/pay?documents={two.id}"
    page = soup(me.get(link))
    assert [cb["value"] for cb in page.select("#pay-several input[checked]")] == [str(two.id)]
    rows = {cb["value"] for cb in page.select("#pay-several input[name=documents]")}
    assert rows == {str(one.id), str(two.id)}
    assert "F-PAID" not in page.get_text() and "F-THEIRS" not in page.get_text()
    resp = me.post("/pay", {"documents": [str(one.id), str(two.id)], "gateway": "stripe"})
    assert hosted(me, resp).startswith(stripe_on.base_url)
    [session] = stripe_on.sessions()
    assert session["amount_total"] == 15000
    payment = Payment.get()
    assert session["metadata"]["documents"] == f"{one.id},{two.id}"
    assert sorted((a.document_id, a.amount) for a in payment.allocations) == [(one.id, 10000), (two.id, 5000)]
    stripe_on.complete(session["id"])
    assert send(app.test_client(), stripe_on.outbox[-1]).status_code == 200
    assert reload(one).status == "paid" and reload(two).status == "paid"
    assert reload(one).amount_paid == 12100 and reload(two).amount_paid == 5000
    # Both invoices show the payment and its receipt; the return goes to the summary.
    for doc in (one, two):
        assert soup(me.get(f"/documents/{doc.id}")).select_one(f"#receipts #receipt-{payment.id}")
    assert me.get(f"/payments/{payment.id}/return").headers["Location"] == "/"


def test_choosing_invoices_is_validated(app, me, person, stripe_on):
    mine = make_document(person.contact, number="F-1")
    dollars = make_document(person.contact, number="F-USD", currency="USD")
    theirs = make_document(make_contact(), number="F-THEIRS")
    me.get("/pay")
    for data, field in [({"gateway": "stripe"}, "documents"),
                        ({"documents": [str(theirs.id)], "gateway": "stripe"}, "documents"),
                        ({"documents": ["abc"], "gateway": "stripe"}, "documents"),
                        ({"documents": [str(mine.id), str(dollars.id)], "gateway": "stripe"}, "documents"),
                        ({"documents": [str(mine.id)], "gateway": "paypal"}, "gateway")]:
        resp = me.post("/pay", data)
        assert resp.status_code == 422, data
        assert soup(resp).select_one(f"#e-{field}") is not None, data
    resp = me.post("/pay", {"documents": [str(mine.id), str(theirs.id)], "gateway": "stripe"})
    page = soup(resp)
    assert page.select_one(f"#doc-{mine.id}").has_attr("checked")   # the choice is kept
    assert Payment.select().count() == 0 and stripe_on.created == 0


def test_the_choice_page_without_gateways_or_without_invoices(auth, stripe_on):
    nobody = make_person(password=PASSWORD, contact=make_contact(gateways=""))
    make_document(nobody.contact)
    page = soup(auth.login(nobody).get("/pay"))
    assert page.find(id="no-methods") and page.find(id="pay-several") is None
    done = make_person(password=PASSWORD, contact=make_contact(gateways="stripe"))
    page = soup(auth.login(done).get("/pay"))
    assert page.find(id="nothing-due") and page.find(id="pay-several") is None
