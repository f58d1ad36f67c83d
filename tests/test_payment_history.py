"""The portal's payment history (/payments): every payment and refund of the contact, newest first,
with its method, status, the documents it paid and its receipt; paginated; nobody else's."""
import datetime

import pytest

from app import documents, refunds, statement
from app.db import db
from app.models import Document, Payment, PaymentAllocation, Refund
from app.rules import By
from tests.conftest import soup
from tests.factories import PASSWORD, make_contact, make_document, make_person, settings

HX = {"HX-Request": "true"}


def card(docs, amount_each, key, paid_at, status="succeeded"):
    """One card payment over `docs` (a grouped one when several)."""
    with db.atomic():
        payment = Payment.create(document=docs[0], gateway="stripe", amount=amount_each * len(docs), currency="EUR",
                                 status=status, idempotency_key=key, provider_ref=f"cs_{key}", mode="test",
                                 paid_at=paid_at if status == "succeeded" else None)
        for doc in docs:
            PaymentAllocation.create(payment=payment, document=doc, amount=amount_each,
                                     applied=amount_each if status == "succeeded" else 0)
            if status == "succeeded":
                assert doc.apply_payment(amount_each)
    return payment


@pytest.fixture
def history(app):
    settings(default_language="en")
    with app.test_request_context():
        contact = make_contact(name="Talleres Ruiz")
        person = make_person(contact, password=PASSWORD, language="en")
        one = make_document(contact, number="F-1")
        two = make_document(contact, number="F-2")
        manual = documents.record_manual_payment(one, 2000, datetime.date(2026, 3, 1), "Bank transfer", By())
        grouped = card([Document.get_by_id(one.id), two], 3000, "grouped", datetime.datetime(2026, 3, 10, 12))
        row = Refund.create(payment=grouped, gateway="stripe", amount=1000, currency="EUR", idempotency_key="r1",
                            provider_ref="re_1", origin="gateway")
        with db.atomic():
            refunds.apply(row, By(gateway="stripe"))
        abandoned = card([two], 500, "left", None, status="cancelled")
        reversed_ = documents.record_manual_payment(Document.get_by_id(two.id), 700, datetime.date(2026, 3, 12),
                                                    "Cheque", By())
        documents.reverse_payment(reversed_, "Bounced", By())
        other = make_contact(name="Otra")
        theirs = documents.record_manual_payment(make_document(other, number="X-9"), 900, datetime.date(2026, 3, 5),
                                                 "", By())
    return {"contact": contact, "person": person, "one": one, "two": two, "manual": manual, "grouped": grouped,
            "refund": row, "abandoned": abandoned, "reversed": reversed_, "theirs": theirs}


def test_every_payment_and_refund_with_method_status_documents_and_receipt(app, auth, history):
    me = auth.login(history["person"])
    page = soup(me.get("/payments"))
    rows = [tr["id"] for tr in page.select("#payment-table tbody tr")]
    grouped, manual, reversed_ = history["grouped"], history["manual"], history["reversed"]
    assert rows == [f"payment-{reversed_.id}", f"payment-{grouped.id}", f"refund-{history['refund'].id}",
                    f"payment-{manual.id}"]
    row = page.select_one(f"#payment-{grouped.id}")
    assert "Card (Stripe)" in row.get_text() and "Paid" in row.get_text() and "€60.00" in row.get_text()
    assert [a["href"] for a in row.select("td.docs a")] == [f"/documents/{history['one'].id}",
                                                            f"/documents/{history['two'].id}"]
    assert row.select_one(f"#receipt-{grouped.id}")["href"] == f"/payments/{grouped.id}/receipt"
    assert "-€10.00" in page.select_one(f"#refund-{history['refund'].id}").get_text()
    plain = page.select_one(f"#payment-{manual.id}")
    assert "Bank transfer" in plain.get_text() and plain.select_one("a[download]") is None   # no receipt offline
    assert "Reversed" in page.select_one(f"#payment-{reversed_.id}").get_text()
    text = page.get_text()
    assert "X-9" not in text and f"payment-{history['abandoned'].id}" not in rows
    # The receipt link works for the person (the existing receipt download).
    receipt = me.get(f"/payments/{grouped.id}/receipt")
    assert receipt.status_code == 200 and receipt.data.startswith(b"%PDF-")


def test_long_histories_are_paginated_by_htmx_and_by_plain_links(app, auth, history):
    contact = history["contact"]
    invoice = make_document(contact, lines=[("Big", 1000, 1_000_000, 0, [])])
    with app.test_request_context():
        for n in range(statement.HISTORY_PAGE + 5):
            documents.record_manual_payment(Document.get_by_id(invoice.id), 100, datetime.date(2026, 4, 1), f"n{n}",
                                            By())
    me = auth.login(history["person"])
    first = soup(me.get("/payments"))
    assert len(first.select("#payment-table tbody tr[id^=payment-]")) == statement.HISTORY_PAGE
    assert first.select_one("#next-page")["href"] == "/payments?page=2"
    fragment = me.get("/payments?page=2", headers=HX)
    second = soup(fragment)
    assert second.select_one("section#payment-history") and not second.select_one("h1")
    assert "HX-Request" in fragment.headers["Vary"]
    assert len(second.select("#payment-table tbody tr[id^=payment-]")) == 3 + 5
    assert me.get("/payments?page=999").status_code == 200
    assert me.get("/payments?page=-3").status_code == 200


def test_a_contact_without_payments_sees_an_empty_list(app, auth):
    me = auth.login_new_person(make_contact())
    page = soup(me.get("/payments"))
    assert page.select_one("#payment-table .empty")
