"""Back-office money corrections through the forms: a credit note against an issued invoice, a
reversed manual payment, the refund form's refusals, and the document's history."""
import datetime

import pytest

from app import documents, refunds
from app.db import db
from app.models import Activity, Document, NumberSeries, Payment, PaymentAllocation, Refund
from app.payments import RefundOutcome
from app.rules import By
from tests.conftest import Browser, error_text, soup
from tests.factories import make_contact, make_document, settings

YEAR = datetime.date.today().year
TWO_UNITS = [("Consulting", 2000, 5000, 0, [("IVA", 2100)])]   # 2 x 50.00 + 21 % = 121.00


def issued(app, lines=TWO_UNITS, contact=None):
    with app.app_context():
        doc = make_document(contact or make_contact(name="Talleres Ruiz"), status="draft", lines=lines)
        documents.issue(doc, By())
    return Document.get_by_id(doc.id)


@pytest.fixture
def invoice(app):
    settings(invoice_prefix="F", credit_note_prefix="R")
    return issued(app)


def line_of(doc):
    return doc.ordered_lines().get()


def url(doc):
    return f"/staff/documents/{doc.id}/credit-note"


def credit_notes_written():
    return Document.select().where(Document.kind == "credit_note").count()


def nothing_credited(invoice):
    fresh = Document.get_by_id(invoice.id)
    assert credit_notes_written() == 0
    assert (fresh.amount_credited, fresh.amount_due, fresh.status) == (0, 12100, "open")
    series = NumberSeries.get_or_none(NumberSeries.kind == "credit_note")
    assert series is None or series.last_used == 0   # no number spent


def test_a_credit_note_for_half_the_goods_halves_what_is_due(staff, staff_user, invoice):
    page = soup(staff.get(f"/staff/documents/{invoice.id}"))
    assert page.find(id="new-credit-note")["href"] == url(invoice)
    form = soup(staff.get(url(invoice)))
    line = line_of(invoice)
    assert form.find(id=f"f-qty-{line.id}")["value"] == "0"
    assert form.find(id=f"f-price-{line.id}")["placeholder"] == "50.00"

    resp = staff.post(url(invoice), {f"qty-{line.id}": "1", f"price-{line.id}": "", "reason": "One unit returned",
                                     "action": "lines"})
    assert resp.status_code == 303
    note = Document.get(Document.kind == "credit_note")
    assert resp.headers["Location"].endswith(f"/staff/documents/{note.id}")
    assert (note.number, note.total, note.source_id, note.reason) == (f"R-{YEAR}-0001", 6050, invoice.id,
                                                                       "One unit returned")
    shown = staff.get(resp.headers["Location"])
    assert note.number in soup(shown).select_one(".flash-success").text
    page = soup(shown)
    assert page.find(id="rectifies")["href"] == f"/staff/documents/{invoice.id}"
    assert invoice.number in page.find(id="rectifies").text
    assert page.find(id="cn-reason").text == "One unit returned"
    assert page.find(id="payments") is None and page.find(id="new-credit-note") is None

    page = soup(staff.get(f"/staff/documents/{invoice.id}"))
    assert page.find(id="doc-due").text == "€60.50" and page.find(id="doc-credited").text == "€60.50"
    row = page.find(id=f"credit-note-{note.id}")
    assert row.find("a")["href"] == f"/staff/documents/{note.id}" and note.number in row.text and "€60.50" in row.text
    entry = page.select_one("#history .history-entry")
    assert "Credit note issued" in entry.text and note.number in entry.text
    assert entry.select_one(".history-who").text == staff_user.name


def test_a_lower_unit_price_credits_a_discount(staff, invoice):
    line = line_of(invoice)
    resp = staff.post(url(invoice), {f"qty-{line.id}": "2", f"price-{line.id}": "10,00", "reason": "10 off each"})
    assert resp.status_code == 303
    assert Document.get(Document.kind == "credit_note").total == 2420
    assert Document.get_by_id(invoice.id).amount_due == 12100 - 2420


def test_credit_everything_leaves_the_invoice_credited(staff, invoice):
    line = line_of(invoice)
    resp = staff.post(url(invoice), {f"qty-{line.id}": "0", "reason": "Order cancelled", "action": "everything"})
    assert resp.status_code == 303
    fresh = Document.get_by_id(invoice.id)
    assert (fresh.status, fresh.amount_credited, fresh.amount_due) == ("credited", 12100, 0)
    page = soup(staff.get(f"/staff/documents/{invoice.id}"))
    assert page.find(id="new-credit-note") is None   # nothing left to credit
    # A second attempt is refused by the service and writes nothing.
    resp = staff.post(url(invoice), {"reason": "Again", "action": "everything"})
    assert resp.status_code == 422 and credit_notes_written() == 1


@pytest.mark.parametrize("qty, price, reason, field, message", [
    ("1", "", "", "reason", "Say why"),
    ("1", "", "  \n ", "reason", "Say why"),
    ("1", "", "x" * 1001, "reason", "1000"),
    ("2.001", "", "r", "lines", "quantity invoiced"),
    ("-1", "", "r", "qty", "greater than zero"),
    ("lots", "", "r", "qty", "number"),
    ("1", "50.01", "r", "lines", "at most the invoiced"),
    ("1", "-5", "r", "price", "not negative"),
    ("1", "0", "r", "lines", "above zero"),
    ("1", "1.001", "r", "price", "decimal"),
    ("0", "", "r", "lines", "at least one line"),
])
def test_bad_input_is_shown_beside_its_field_and_writes_nothing(staff, invoice, qty, price, reason, field, message):
    line = line_of(invoice)
    resp = staff.post(url(invoice), {f"qty-{line.id}": qty, f"price-{line.id}": price, "reason": reason})
    assert resp.status_code == 422
    name = {"qty": f"qty-{line.id}", "price": f"price-{line.id}"}.get(field, field)
    assert message in error_text(resp, name)
    page = soup(resp)
    assert page.find(id=f"f-qty-{line.id}")["value"] == qty   # what was typed comes back
    assert page.find(id="f-reason").text.strip() == reason.strip()[:1001] or field == "reason"
    nothing_credited(invoice)


def test_a_line_of_another_invoice_is_refused(staff, app, invoice):
    other = issued(app)
    resp = staff.post(url(invoice), {f"qty-{line_of(other).id}": "1", "reason": "Tampered"})
    assert resp.status_code == 422 and "not a line of this invoice" in error_text(resp, "lines")
    nothing_credited(invoice)
    assert Document.get_by_id(other.id).amount_credited == 0


def test_this_invoices_lines_sent_to_another_invoices_url_are_refused(staff, app, invoice):
    other = issued(app, contact=make_contact(name="Otra S.L."))
    resp = staff.post(url(other), {f"qty-{line_of(invoice).id}": "1", "reason": "Tampered id"})
    assert resp.status_code == 422 and "not a line of this invoice" in error_text(resp, "lines")
    nothing_credited(invoice)
    assert Document.get_by_id(other.id).amount_credited == 0


def test_only_issued_invoices_have_the_form(staff, app, invoice):
    draft = make_document(make_contact(), status="draft", lines=TWO_UNITS)
    resp = staff.get(url(draft))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/staff/documents/{draft.id}")
    assert soup(staff.get(f"/staff/documents/{draft.id}")).find(id="new-credit-note") is None
    resp = staff.post(url(draft), {f"qty-{line_of(draft).id}": "1", "reason": "Draft"})
    assert resp.status_code == 422 and "only against issued invoices" in soup(resp).find(id="cn-errors").text
    assert credit_notes_written() == 0 and Document.get_by_id(draft.id).amount_credited == 0
    quote = make_document(make_contact(), kind="quote", status="open")
    for path in (url(quote), "/staff/documents/999999/credit-note"):
        assert staff.get(path).status_code == 404
        assert staff.post(path, {"reason": "r", "action": "everything"}).status_code == 404
    assert credit_notes_written() == 0


def test_credit_notes_are_not_typed_in_the_editor(staff):
    assert staff.get("/staff/documents/new/credit_note").status_code == 404
    assert staff.post("/staff/documents/new/credit_note", {"action": "save"}).status_code == 404
    assert credit_notes_written() == 0


def test_issuing_needs_the_csrf_token_and_a_staff_sign_in(app, staff, invoice):
    line = line_of(invoice)
    resp = staff.post(url(invoice), {f"qty-{line.id}": "1", "reason": "No token"}, token=False)
    assert resp.status_code == 400
    nothing_credited(invoice)
    anonymous = Browser(app.test_client())   # with the CSRF token of the sign-in page
    for method in ("get", "post"):
        resp = getattr(anonymous, method)(url(invoice), **({"data": {"reason": "r", "action": "everything"}}
                                                           if method == "post" else {}))
        assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]
    nothing_credited(invoice)


def test_the_list_filters_credit_notes_and_the_prefix_is_a_setting(staff, app, invoice):
    settings(credit_note_prefix="RX")
    resp = staff.post(url(invoice), {f"qty-{line_of(invoice).id}": "1", "reason": "Returned"})
    note = Document.get(Document.kind == "credit_note")
    assert resp.status_code == 303 and note.number == f"RX-{YEAR}-0001"
    rows = soup(staff.get("/staff/documents/?kind=credit_note")).select("#documents tbody tr")
    assert [r.find("a").text for r in rows] == [note.number]
    assert rows[0].find_all("td")[-1].text.strip() == ""   # a credit note owes nothing
    assert soup(staff.get("/staff/settings/")).find(id="f-credit_note_prefix")["value"] == "RX"
    assert soup(staff.get("/staff/settings/numbering/")).find(id="series-credit_note") is not None


# --- reversing a manual payment -----------------------------------------------------------------

def pay_in_full(staff, invoice):
    resp = staff.post(f"/staff/documents/{invoice.id}/payments",
                      {"amount": "121.00", "paid_on": datetime.date.today().isoformat(), "note": "Transfer"})
    assert resp.status_code == 303
    assert Document.get_by_id(invoice.id).status == "paid"
    return Payment.get(Payment.document == invoice)


def reverse_url(invoice, payment):
    return f"/staff/documents/{invoice.id}/payments/{payment.id}/reverse"


def test_a_reversed_manual_payment_makes_the_invoice_owe_again(staff, staff_user, invoice):
    payment = pay_in_full(staff, invoice)
    page = soup(staff.get(f"/staff/documents/{invoice.id}"))
    assert page.find(id=f"reverse-{payment.id}")["href"] == reverse_url(invoice, payment)
    assert page.find(id=f"refund-{payment.id}") is None   # manual payments are not refunded
    confirm = soup(staff.get(reverse_url(invoice, payment)))
    assert confirm.find(id="reverse-form") is not None and "€121.00" in confirm.find(id="reverse-payment").text

    resp = staff.post(reverse_url(invoice, payment), {"reason": ""})
    assert resp.status_code == 422 and "Say why" in error_text(resp, "reason")
    resp = staff.post(reverse_url(invoice, payment), {"reason": "x" * 301})
    assert resp.status_code == 422 and "300" in error_text(resp, "reason")
    assert Payment.get_by_id(payment.id).status == "succeeded" and Document.get_by_id(invoice.id).status == "paid"

    resp = staff.post(reverse_url(invoice, payment), {"reason": "The transfer bounced"}, token=False)
    assert resp.status_code == 400 and Payment.get_by_id(payment.id).status == "succeeded"

    resp = staff.post(reverse_url(invoice, payment), {"reason": "The transfer bounced"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/staff/documents/{invoice.id}#payments")
    fresh = Document.get_by_id(invoice.id)
    assert (fresh.status, fresh.amount_paid, fresh.amount_due) == ("open", 0, 12100)
    page = soup(staff.get(f"/staff/documents/{invoice.id}"))
    assert page.find(id="doc-due").text == "€121.00"
    assert page.find(id=f"payment-{payment.id}-status").text == "Reversed"
    assert "The transfer bounced" in page.find(id=f"payment-{payment.id}-reversal").text
    assert page.find(id=f"reverse-{payment.id}") is None
    newest = page.select_one("#history .history-entry")
    assert "Payment reversed" in newest.text and "The transfer bounced" in newest.text
    assert newest.select_one(".history-who").text == staff_user.name and "Staff" in newest.text
    assert "The transfer bounced" in soup(staff.get(f"/staff/payments/{payment.id}")).find(id="payment-reversal").text
    actions = [a.action for a in Activity.trail(invoice)]
    assert actions == ["status_open", "payment_manual", "payment_reversed"]

    # Once only.
    resp = staff.post(reverse_url(invoice, payment), {"reason": "Again"})
    assert resp.status_code == 422 and "only once" in soup(resp).find(id="reverse-errors").text
    assert Document.get_by_id(invoice.id).amount_paid == 0
    assert Activity.select().where(Activity.action == "payment_reversed").count() == 1


def online_payment(invoice, amount=12100, **fields):
    payment = Payment.create(document=invoice, gateway="stripe", amount=amount, currency="EUR", status="succeeded",
                             idempotency_key=f"stripe-{invoice.id}-{amount}", provider_ref=f"cs_{invoice.id}",
                             provider_payment_ref=f"pi_{invoice.id}", mode="test", **fields)
    PaymentAllocation.create(payment=payment, document=invoice, amount=amount, applied=amount)
    with db.atomic():
        assert invoice.apply_payment(amount)
    return payment


def test_online_payments_are_not_reversed(staff, invoice):
    payment = online_payment(invoice)
    page = soup(staff.get(f"/staff/documents/{invoice.id}"))
    assert page.find(id=f"reverse-{payment.id}") is None and page.find(id=f"refund-{payment.id}") is not None
    confirm = soup(staff.get(reverse_url(invoice, payment)))
    assert confirm.find(id="reverse-form") is None and "refunded through" in confirm.find(id="reverse-errors").text
    resp = staff.post(reverse_url(invoice, payment), {"reason": "Mistake"})
    assert resp.status_code == 422 and "refunded through their gateway" in soup(resp).find(id="reverse-errors").text
    assert Payment.get_by_id(payment.id).status == "succeeded" and Document.get_by_id(invoice.id).status == "paid"


def test_a_payment_of_another_document_is_not_found_here(staff, app, invoice):
    other = issued(app)
    payment = pay_in_full(staff, other)
    assert staff.get(reverse_url(invoice, payment)).status_code == 404
    assert staff.post(reverse_url(invoice, payment), {"reason": "Tampered"}).status_code == 404
    assert staff.get(f"/staff/documents/{invoice.id}/payments/{payment.id}/refund").status_code == 404
    assert Payment.get_by_id(payment.id).status == "succeeded"


# --- refunds ------------------------------------------------------------------------------------

def refund_url(invoice, payment):
    return f"/staff/documents/{invoice.id}/payments/{payment.id}/refund"


def test_the_refund_form_starts_at_what_can_still_be_refunded(staff, invoice):
    payment = online_payment(invoice)
    form = soup(staff.get(refund_url(invoice, payment)))
    assert form.find(id="f-amount")["value"] == "121.00" and form.find(id="refund-left").text == "€121.00"


@pytest.mark.parametrize("amount, reason, field, message", [
    ("", "r", "amount", "required"),
    ("0", "r", "amount", "greater than zero"),
    ("-5", "r", "amount", "not negative"),
    ("abc", "r", "amount", "number"),
    ("1.001", "r", "amount", "decimal"),
    ("121.01", "r", "amount", "more than can still be refunded"),
    ("9" * 50, "r", "amount", "too large"),
    ("10", "x" * 301, "reason", "300"),
])
def test_bad_refunds_are_refused_beside_the_field(staff, invoice, amount, reason, field, message):
    payment = online_payment(invoice)
    resp = staff.post(refund_url(invoice, payment), {"amount": amount, "reason": reason})
    assert resp.status_code == 422 and message in error_text(resp, field)
    assert Refund.select().count() == 0 and Payment.get_by_id(payment.id).amount_refunded == 0


def test_a_payment_whose_gateway_has_no_keys_says_so(staff, invoice):
    payment = online_payment(invoice)
    resp = staff.post(refund_url(invoice, payment), {"amount": "50", "reason": "Goodwill"})
    assert resp.status_code == 422 and "no keys" in soup(resp).find(id="refund-errors").text
    assert Refund.select().count() == 0 and Document.get_by_id(invoice.id).amount_paid == 12100


def test_manual_payments_and_csrf_less_posts_are_not_refunded(app, staff, invoice):
    manual = pay_in_full(staff, invoice)
    assert soup(staff.get(refund_url(invoice, manual))).find(id="refund-form") is None
    resp = staff.post(refund_url(invoice, manual), {"amount": "10", "reason": "r"})
    assert resp.status_code == 422 and "reverse a manual payment" in soup(resp).find(id="refund-errors").text
    other = issued(app)
    online = online_payment(other)
    assert staff.post(refund_url(other, online), {"amount": "10"}, token=False).status_code == 400
    assert Refund.select().count() == 0


def test_refunds_from_the_gateway_show_on_the_payment_and_in_the_history(app, staff, invoice):
    payment = online_payment(invoice)
    with app.app_context(), db.atomic():
        refunds.from_gateway("stripe", RefundOutcome(kind="refund", ref="re_1", payment_ref=f"pi_{invoice.id}",
                                                     amount=2100, currency="EUR", reason="requested_by_customer"))
    page = soup(staff.get(f"/staff/documents/{invoice.id}"))
    assert "€21.00 refunded" in page.find(id=f"payment-{payment.id}-refunded").text
    refund = Refund.get()
    row = page.find(id=f"refund-row-{refund.id}")
    assert "€21.00" in row.text and row.select_one(".badge-refund-succeeded") is not None
    newest = page.select_one("#history .history-entry")
    assert "Refunded" in newest.text and "Gateway: Stripe" in newest.text
    shown = soup(staff.get(f"/staff/payments/{payment.id}"))
    assert shown.find(id="payment-refunded").text == "€21.00"
    assert "€21.00" in shown.find(id=f"refund-row-{refund.id}").text
    form = soup(staff.get(refund_url(invoice, payment)))
    assert form.find(id="f-amount")["value"] == "100.00"   # what is left
    resp = staff.post(refund_url(invoice, payment), {"amount": "100.01"})
    assert resp.status_code == 422 and "100.00" in error_text(resp, "amount")


def test_a_double_click_on_refund_asks_the_gateway_once(staff, staff_user, stripe_on, invoice):
    payment = online_payment(invoice)
    form = soup(staff.get(refund_url(invoice, payment)))
    key = form.select_one("#refund-form input[name=key]")["value"]
    assert len(key) == 32
    data = {"amount": "10.00", "reason": "Goodwill", "key": key}
    first, second = staff.post(refund_url(invoice, payment), data), staff.post(refund_url(invoice, payment), data)
    assert first.status_code == second.status_code == 303
    refund = Refund.get()   # one row: the second click answered the first refund
    assert (Refund.select().count(), refund.amount, refund.created_by_id) == (1, 1000, staff_user.id)
    assert Activity.select().where(Activity.action == "refund_requested").count() == 1
    assert refund.status in ("succeeded", "pending", "failed")
    page = staff.get(second.headers["Location"])
    flash = soup(page).select_one(".flash-success, .flash-info, .flash-error").text
    assert "€10.00" in flash
    if refund.status == "failed":   # a gateway without refunds yet, or one that refused: its message is shown
        assert refund.last_error and refund.last_error in flash
    row = soup(page).find(id=f"refund-row-{refund.id}")
    assert row.select_one(f".badge-refund-{refund.status}") is not None


def test_crediting_a_paid_invoice_shows_the_balance_in_the_customers_favour(staff, invoice):
    pay_in_full(staff, invoice)
    assert soup(staff.get(f"/staff/documents/{invoice.id}")).find(id="new-credit-note") is not None
    resp = staff.post(url(invoice), {f"qty-{line_of(invoice).id}": "1", "reason": "One unit returned"})
    assert resp.status_code == 303
    page = soup(staff.get(f"/staff/documents/{invoice.id}"))
    assert page.find(id="doc-credit-balance").text.startswith("€60.50")
    assert (page.find(id="doc-due").text, page.find(id="doc-credited").text) == ("€0.00", "€60.50")
    assert Document.get_by_id(invoice.id).status == "paid"
