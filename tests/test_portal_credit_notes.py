"""What the customer sees of credit notes, refunds and reversals (issue 14, points 3 and 4): the
invoices list, the credit note's page and its invoice's, the summary's balance, the PDFs, the
receipts, and the mail sent when a credit note is issued. The money is moved by the services
(app/credit_notes.py, app/refunds.py, app/documents.py), as staff and the gateways move it."""
import datetime
import json
import re

import pytest
from babel.dates import format_date

from app import credit_notes, documents, refunds
from app.credit_notes import Pick
from app.db import db
from app.models import Document, GatewayConfig, Payment, PaymentAllocation, Refund
from app.rules import By
from tests.conftest import soup
from tests.factories import PASSWORD, make_contact, make_document, make_person, make_staff, settings
from tests.test_pdf import pdf_text

YEAR = datetime.date.today().year
TWO_UNITS = [("Consulting", 2000, 5000, 0, [("IVA", 2100)])]   # 2 x 50.00 + 21 % = 121.00


@pytest.fixture
def contact(app):
    settings(name="Taller Martínez S.L.", invoice_prefix="F", credit_note_prefix="R", default_language="en")
    with app.app_context():   # the services build links and webhooks as in a request
        yield make_contact(name="Talleres Ruiz", gateways="stripe")


@pytest.fixture
def person(contact):
    return make_person(contact=contact, password=PASSWORD, name="Ana García")


@pytest.fixture
def me(auth, person):
    return auth.login(person)


def issued_invoice(contact, lines=TWO_UNITS):
    doc = make_document(contact, status="draft", lines=lines)
    documents.issue(doc, By())
    return Document.get_by_id(doc.id)


def credit_half(invoice, reason="One unit returned"):
    note = credit_notes.issue(invoice, [Pick(invoice.ordered_lines().get().id, 1000)], reason, By(staff=make_staff()))
    return Document.get_by_id(note.id)


def shown(date, fmt="medium"):
    """A date as the English pages and mails of a Spanish business print it."""
    return format_date(date, fmt, locale="en_GB")   # a European business: British formats


def text_of(page, element_id):
    tag = page.find(id=element_id)
    assert tag is not None, f"no #{element_id} in the page"
    return " ".join(tag.get_text(" ", strip=True).split())


def stripe_configured():
    """Stripe has keys (never called here): the pay block shows for a contact with Stripe on."""
    GatewayConfig.create(gateway="stripe", mode="test",
                         test_credentials=json.dumps({"secret_key": "sk_test_local", "webhook_secret": "whsec_local"}))


def test_the_invoices_list_shows_credit_notes_with_the_invoices(me, contact):
    invoice = issued_invoice(contact)
    note = credit_half(invoice)
    other_invoice = issued_invoice(contact)
    page = soup(me.get("/invoices"))
    rows = {a.get_text(strip=True): a["href"] for a in page.select("#doc-table tbody td:first-child a")}
    assert rows == {invoice.number: f"/documents/{invoice.id}", note.number: f"/documents/{note.id}",
                    other_invoice.number: f"/documents/{other_invoice.id}"}
    row = page.find(id=f"row-{note.id}")
    assert "row-credit-note" in row["class"]
    assert row.select_one(".badge-credit-note").get_text(strip=True) == "Credit note"
    assert row.select_one(".doc-rectifies").get_text(strip=True) == f"for {invoice.number}"
    assert row.select_one(".badge-issued").get_text(strip=True) == "Issued"
    assert row.select_one(".amount-credit").get_text(strip=True) == "-€60.50"
    # The invoice's own row: what is still due after the credit note.
    assert page.find(id=f"row-{invoice.id}").select("td.num")[-1].get_text(strip=True) == "€60.50"

    only_notes = soup(me.get("/invoices?status=credit_note"))
    assert [a.get_text(strip=True) for a in only_notes.select("#doc-table tbody td:first-child a")] == [note.number]
    pending = soup(me.get("/invoices?status=open"))
    assert note.number not in pending.find(id="doc-table").get_text()


def test_a_credit_note_page_names_its_invoice_and_the_invoice_lists_it(me, contact):
    stripe_configured()
    invoice = issued_invoice(contact)
    note = credit_half(invoice, reason="One unit returned\nunused")
    page = soup(me.get(f"/documents/{note.id}"))
    assert text_of(page, "doc-title").startswith(f"Credit note {note.number}")
    assert page.select_one("#doc-title .badge-issued").get_text(strip=True) == "Issued"
    link = page.find(id="rectifies-link")
    assert link["href"] == f"/documents/{invoice.id}" and link.get_text(strip=True) == invoice.number
    assert shown(invoice.issue_date) in text_of(page, "sheet-rectifies")
    assert page.find(id="sheet-reason").get_text() == "One unit returned\nunused"
    assert text_of(page, "side-credit") == "€60.50"
    assert page.find(id="side-rectifies-link")["href"] == f"/documents/{invoice.id}"
    assert page.find(id="pay") is None and page.find(id="side-due") is None   # nothing to pay on a credit note

    page = soup(me.get(f"/documents/{invoice.id}"))
    assert page.select_one(f"#doc-credit-notes #credit-note-{note.id} a")["href"] == f"/documents/{note.id}"
    assert "-€60.50" in text_of(page, f"credit-note-{note.id}")
    assert text_of(page, "side-due") == "€60.50"                         # halved
    assert text_of(page, "side-credited") == "Credited: €60.50"
    assert text_of(page, "sheet-credited") == "€60.50" and text_of(page, "sheet-due") == "€60.50"
    assert page.find(id="sheet-rectifies") is None and page.find(id="side-favour") is None
    # The pay button asks for what is left, not the invoice's total.
    assert text_of(page, "pay-amount") == "Amount: €60.50"


def test_a_paid_invoice_then_credited_shows_a_balance_in_the_customers_favour(me, contact):
    invoice = issued_invoice(contact)
    documents.record_manual_payment(invoice, 12100, datetime.date.today(), "Transfer", By(staff=make_staff()))
    credit_half(Document.get_by_id(invoice.id))
    page = soup(me.get(f"/documents/{invoice.id}"))
    assert text_of(page, "side-due") == "€0.00"
    assert text_of(page, "side-favour").startswith("In your favour: €60.50.")
    assert text_of(page, "sheet-favour") == "€60.50"
    summary = soup(me.get("/"))
    assert text_of(summary, "stat-favour") == "In your favour: €60.50"
    assert summary.select_one("#stat-outstanding .stat-value").get_text(strip=True) == "€0.00"


def test_the_summary_balance_counts_credit_notes(me, contact):
    today = datetime.date.today()
    late = issued_invoice(contact)
    Document.update(due_date=today - datetime.timedelta(days=3)).where(Document.id == late.id).execute()
    credit_half(Document.get_by_id(late.id))
    issued_invoice(contact)                                               # 121.00, not credited
    settled = issued_invoice(contact)
    credit_notes.issue(settled, credit_notes.everything(settled), "Cancelled order", By())   # credited in full
    page = soup(me.get("/"))
    assert page.select_one("#stat-outstanding .stat-value").get_text(strip=True) == "€181.50"
    assert page.select_one("#stat-overdue .stat-value").get_text(strip=True) == "€60.50"
    assert page.find(id="stat-favour") is None
    pending = page.find(id="pending-invoices").get_text()
    assert late.number in pending and settled.number not in pending
    assert "credit note issued" in page.find(id="recent-activity").get_text()


def test_another_contacts_credit_note_is_404(me, contact):
    someone = make_contact(name="Someone else")
    invoice = issued_invoice(someone)
    note = credit_half(invoice)
    for url in (f"/documents/{note.id}", f"/documents/{note.id}/pdf", f"/documents/{note.id}/print"):
        assert me.get(url).status_code == 404, url
    assert note.number not in me.get("/invoices").get_data(as_text=True)
    assert note.number not in me.get("/invoices?status=credit_note").get_data(as_text=True)


def test_the_credit_notes_pdf_and_print_view_say_what_they_rectify(me, contact, tmp_path):
    invoice = issued_invoice(contact)
    note = credit_half(invoice, reason="Damaged in transport")
    contact.name = "Renamed Ltd"
    contact.save()
    text = " ".join(pdf_text(me.get(f"/documents/{note.id}/pdf").data, tmp_path).split())
    assert "Credit note" in text and note.number in text
    assert f"This credit note rectifies invoice {invoice.number} of {shown(invoice.issue_date)}." in text
    assert "Reason: Damaged in transport" in text and "Talleres Ruiz" in text and "Renamed" not in text
    printed = soup(me.get(f"/documents/{note.id}/print"))
    assert printed.find(id="rectifies-link") is None                         # paper: the number, no link
    rectifies = text_of(printed, "sheet-rectifies")
    assert invoice.number in rectifies and "Damaged in transport" in rectifies
    # The invoice's PDF shows what credit notes took off, and what is still due.
    text = " ".join(pdf_text(me.get(f"/documents/{invoice.id}/pdf").data, tmp_path, "invoice.pdf").split())
    assert "Credited by credit notes" in text and "Amount due" in text and text.count("€60.50") == 2
    assert "rectifies" not in text


def test_an_invoice_pdf_changes_when_a_credit_note_is_issued(me, contact, tmp_path):
    invoice = issued_invoice(contact)
    first = me.get(f"/documents/{invoice.id}/pdf")
    credit_half(invoice)
    second = me.get(f"/documents/{invoice.id}/pdf")
    assert first.headers["ETag"] != second.headers["ETag"]
    assert "Credited" not in pdf_text(first.data, tmp_path) and "Credited" in pdf_text(second.data, tmp_path, "b.pdf")


def paid_online(doc, amount):
    """A Stripe payment that the gateway confirmed, as app/payments/service.py records one."""
    with db.atomic():
        payment = Payment.create(document=doc, gateway="stripe", amount=amount, currency="EUR", status="succeeded",
                                 idempotency_key=f"pay-{doc.id}", provider_ref=f"cs_{doc.id}",
                                 provider_payment_ref=f"pi_{doc.id}", mode="test", paid_at=datetime.datetime.now())
        PaymentAllocation.create(payment=payment, document=doc, amount=amount, applied=amount)
        assert doc.apply_payment(amount)
    return payment


def refunded(payment, amount, ref):
    """A refund the gateway completed, applied by the service (as its webhook would)."""
    refund = Refund.create(payment=payment, gateway="stripe", amount=amount, currency="EUR",
                           idempotency_key=f"refund-{ref}", provider_ref=ref, origin="gateway")
    with db.atomic():
        assert refunds.apply(refund, By(gateway="stripe")) == "applied"
    return Refund.get_by_id(refund.id)


def test_a_refund_shows_on_the_document_and_its_receipt(me, contact, tmp_path):
    stripe_configured()
    invoice = issued_invoice(contact)
    payment = paid_online(invoice, 12100)
    page = soup(me.get(f"/documents/{invoice.id}"))
    assert page.find(id=f"paid-refund-{payment.id}") is None and page.find(id="pay") is None

    credit_half(Document.get_by_id(invoice.id))
    refund = refunded(payment, 6050, "re_half")
    page = soup(me.get(f"/documents/{invoice.id}"))
    today = shown(datetime.date.today())
    assert text_of(page, f"paid-refund-{refund.id}") == f"Refunded €60.50 on {today}."
    assert text_of(page, f"payment-refund-{refund.id}") == f"Refunded €60.50 on {today}."
    assert text_of(page, "side-due") == "€0.00" and page.find(id="side-favour") is None   # credited, then refunded
    receipt_link = page.select_one(f"#receipts #receipt-{payment.id}")["href"]
    text = " ".join(pdf_text(me.get(receipt_link).data, tmp_path).split())
    assert f"Refunded on {today} -€60.50" in text and "Net paid after refunds €60.50" in text

    # A refund with no credit note: the invoice owes it again, and the pay button asks for it.
    other = issued_invoice(contact)
    second = paid_online(other, 12100)
    refunded(second, 12100, "re_all")
    assert Payment.get_by_id(second.id).status == "refunded"
    page = soup(me.get(f"/documents/{other.id}"))
    assert text_of(page, "side-due") == "€121.00" and text_of(page, "pay-amount") == "Amount: €121.00"
    assert page.select_one(f"#receipts #receipt-{second.id}")                      # the receipt stays
    assert me.get(f"/payments/{second.id}/receipt").status_code == 200


def test_a_reversed_manual_payment_shows_as_reversed_and_no_longer_counts(me, contact):
    stripe_configured()
    invoice = issued_invoice(contact)
    staff = make_staff()
    kept = documents.record_manual_payment(invoice, 2100, datetime.date.today(), "Cash", By(staff=staff))
    bounced = documents.record_manual_payment(Document.get_by_id(invoice.id), 10000, datetime.date.today(),
                                              "Transfer", By(staff=staff))
    assert Document.get_by_id(invoice.id).status == "paid"
    documents.reverse_payment(bounced, "The transfer bounced", By(staff=staff))
    page = soup(me.get(f"/documents/{invoice.id}"))
    entry = page.find(id=f"payment-{bounced.id}")
    assert "payment-reversed" in entry["class"] and entry.find("s").get_text(strip=True) == "€100.00"
    assert text_of(page, f"payment-reversed-{bounced.id}") == "Reversed"
    assert "not counted as paid" in text_of(page, f"payment-{bounced.id}")
    assert "Reversed" not in text_of(page, f"payment-{kept.id}")
    assert text_of(page, "side-due") == "€100.00" and text_of(page, "side-paid") == "Paid so far: €21.00"
    assert text_of(page, "pay-amount") == "Amount: €100.00"
    assert "The transfer bounced" not in page.get_text()   # staff's note stays with staff
    assert "payment reversed" in soup(me.get("/")).find(id="recent-activity").get_text()


def test_the_issue_mail_of_a_credit_note_says_what_it_rectifies(app, outbox, contact, person):
    invoice = issued_invoice(contact)
    outbox()
    before = len(outbox())
    note = credit_half(invoice)
    [mail] = outbox()[before:]
    assert mail.message["Subject"] == f"Credit note {note.number} from Taller Martínez S.L."
    date = shown(invoice.issue_date, "long")
    sentence = (f"Taller Martínez S.L. has issued credit note {note.number} for €60.50, "
                f"which rectifies invoice {invoice.number} of {date}.")
    assert sentence in " ".join(mail.text.split())
    html = mail.html
    assert sentence in " ".join(re.sub(r"<[^>]+>", " ", html).split())
    link = re.search(r"http://portal\.test/documents/(\d+)", mail.text)
    assert link and int(link.group(1)) == note.id
