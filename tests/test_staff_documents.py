"""Back-office contacts and the document editor: totals, validation, status changes, payments."""
import pytest

from app.db import db
from app.models import Contact, Document, DocumentLine, Payment
from tests.conftest import soup
from tests.factories import make_contact, make_document, make_tax


def editor_data(contact_row, number="F-2026-0100", lines=None, **extra):
    data = {"contact": str(contact_row.id), "number": number, "issue_date": "2026-11-27",
            "due_date": "2026-12-27", "currency": "EUR", "reference": "", "notes": "", "terms": "",
            "action": "save"}
    for i, line in enumerate(lines or []):
        for key, value in line.items():
            data[f"lines-{i}-{key}"] = value
    data.update(extra)
    return data


@pytest.fixture
def taxes(app):
    return {"iva21": make_tax("IVA", 2100), "iva10": make_tax("IVA", 1000),
            "iva4": make_tax("IVA", 400), "irpf": make_tax("IRPF", -1500)}


def test_staff_pages_require_sign_in(client):
    for url in ("/staff/contacts/", "/staff/documents/", "/staff/documents/new/invoice"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]


def test_wrong_password_is_refused_with_a_message(browser, staff_user):
    resp = browser.post("/staff/login", {"email": staff_user.email, "password": "wrong password!"})
    assert resp.status_code == 422
    assert soup(resp).find(id="e-password")


def test_post_without_csrf_token_is_refused(browser, staff_user):
    resp = browser.post("/staff/login", {"email": staff_user.email, "password": "correct horse battery"},
                        token=False)
    assert resp.status_code == 400


def test_staff_creates_contact_then_three_line_invoice_with_hand_checked_totals(staff, taxes):
    resp = staff.post("/staff/contacts/new", {"kind": "company", "name": "Talleres Ruiz S.L.",
                                             "email": "admin@ruiz.example", "gateways": "stripe",
                                             "portal_enabled": "1"})
    assert resp.status_code == 303
    contact = Contact.get(Contact.name == "Talleres Ruiz S.L.")
    assert contact.portal_enabled and contact.gateway_list == ["stripe"]

    page = staff.get(f"/staff/documents/new/invoice?contact={contact.id}")
    assert soup(page).find(id="f-contact").find("option", selected=True)["value"] == str(contact.id)
    lines = [
        {"description": "Cable 3x2.5", "qty": "3", "price": "19.99", "tax": str(taxes["iva21"].id)},
        {"description": "Reparación", "qty": "1", "price": "100",
         "tax": [str(taxes["iva10"].id), str(taxes["irpf"].id)]},
        {"description": "Libro técnico", "qty": "2,5", "price": "8,10", "tax": str(taxes["iva4"].id)},
    ]
    data = editor_data(contact, lines=lines)
    from werkzeug.datastructures import MultiDict
    md = MultiDict()
    for k, v in data.items():
        for item in (v if isinstance(v, list) else [v]):
            md.add(k, item)
    md.add("csrf_token", staff.token)
    resp = staff.post("/staff/documents/new/invoice", md)
    assert resp.status_code == 303, soup(resp).find(class_="error-summary")
    doc = Document.get()
    assert doc.number == ""   # a typed (or tampered) number is ignored: drafts get theirs on issue
    # 59.97 + 100.00 + 20.25 = 180.22; IVA 21 % 12.59, IVA 10 % 10.00, IVA 4 % 0.81, IRPF -15.00
    assert (doc.subtotal, doc.tax_total, doc.total) == (18022, 1259 + 1000 + 81 - 1500, 18022 + 840)
    assert [l.net for l in doc.ordered_lines()] == [5997, 10000, 2025]
    assert doc.status == "draft"
    page = soup(staff.get(f"/staff/documents/{doc.id}"))
    assert page.find(id="doc-total").get_text(strip=True) == "€188.62"


def _multi(staff, data):
    from werkzeug.datastructures import MultiDict
    md = MultiDict()
    for k, v in data.items():
        for item in (v if isinstance(v, list) else [v]):
            md.add(k, item)
    md.add("csrf_token", staff.token)
    return md


BAD_LINES = [
    ({"description": "", "qty": "1", "price": "10"}, "description"),
    ({"description": "x", "qty": "-1", "price": "10"}, "qty"),
    ({"description": "x", "qty": "abc", "price": "10"}, "qty"),
    ({"description": "x", "qty": "1", "price": "diez"}, "price"),
    ({"description": "x", "qty": "1", "price": "10", "discount": "150"}, "discount"),
    ({"description": "x" * 1_000_000, "qty": "1", "price": "10"}, "description"),
    ({"description": "x", "qty": "1", "price": "10", "tax": "999999"}, "tax"),
    ({"description": "x", "qty": "1", "price": "10", "sku": "NO-SUCH"}, "sku"),
]


@pytest.mark.parametrize("line,field", BAD_LINES)
def test_bad_line_gets_a_message_keeps_input_and_writes_nothing(staff, line, field):
    contact = make_contact()
    staff.get("/staff/documents/new/invoice")
    resp = staff.post("/staff/documents/new/invoice", _multi(staff, editor_data(contact, lines=[line])))
    assert resp.status_code == 422
    page = soup(resp)
    row = page.find(id="line-0")
    assert row is not None and row.find(class_="error"), field
    if field == "qty":
        assert row.find("input", attrs={"name": "lines-0-qty"})["value"] == line["qty"]
    assert Document.select().count() == 0 and DocumentLine.select().count() == 0


@pytest.mark.parametrize("changes,field", [
    ({"contact": ""}, "contact"), ({"contact": "999999"}, "contact"),
    ({"currency": "EURO"}, "currency"), ({"currency": "XYZ"}, "currency"),
    ({"issue_date": "27/11/2026"}, "issue_date"), ({"due_date": "2026-01-01"}, "due_date"),
    ({"notes": "n" * 1_000_000}, "notes"),
])
def test_bad_header_gets_a_message_and_writes_nothing(staff, changes, field):
    contact = make_contact()
    staff.get("/staff/documents/new/invoice")
    data = editor_data(contact, lines=[{"description": "x", "qty": "1", "price": "1"}], **changes)
    resp = staff.post("/staff/documents/new/invoice", _multi(staff, data))
    assert resp.status_code == 422
    assert soup(resp).find(id=f"e-{field}") is not None
    assert Document.select().count() == 0


def test_a_given_number_is_unique_by_the_database_drafts_share_none(app):
    from peewee import IntegrityError
    contact = make_contact()
    make_document(contact, number="F-2026-0007")
    make_document(contact, status="draft")
    make_document(contact, status="draft")   # two drafts, both without a number
    with pytest.raises(IntegrityError):
        with db.atomic():
            make_document(contact, number="F-2026-0007")
    assert Document.select().count() == 3


def test_no_lines_is_refused(staff):
    contact = make_contact()
    staff.get("/staff/documents/new/invoice")
    resp = staff.post("/staff/documents/new/invoice", _multi(staff, editor_data(contact)))
    assert resp.status_code == 422 and soup(resp).find(id="e-lines")


def test_posted_totals_are_ignored(staff):
    contact = make_contact()
    staff.get("/staff/documents/new/invoice")
    data = editor_data(contact, lines=[{"description": "x", "qty": "2", "price": "5"}], total="1", subtotal="1")
    staff.post("/staff/documents/new/invoice", _multi(staff, data))
    assert Document.get().total == 1000


def test_add_line_without_javascript_keeps_what_was_typed(staff):
    contact = make_contact()
    staff.get("/staff/documents/new/invoice")
    data = editor_data(contact, lines=[{"description": "Tornillos", "qty": "4", "price": "0,25"}], action="add_line")
    resp = staff.post("/staff/documents/new/invoice", _multi(staff, data))
    page = soup(resp)
    assert page.find("textarea", attrs={"name": "lines-0-description"}).get_text() == "Tornillos"
    assert page.find(id="line-1") is not None
    assert Document.select().count() == 0


def test_live_totals_fragment_for_htmx_and_page_otherwise(staff, taxes):
    contact = make_contact()
    staff.get("/staff/documents/new/invoice")
    data = editor_data(contact,
                       lines=[{"description": "x", "qty": "1", "price": "0.05", "tax": str(taxes["iva10"].id)}])
    frag = staff.post("/staff/documents/totals/invoice", _multi(staff, data), headers={"HX-Request": "true"})
    assert "HX-Request" in frag.headers["Vary"]
    html = frag.get_data(as_text=True)
    assert html.strip().startswith('<section id="doc-totals"')
    assert soup(frag).find(id="total-total").get_text(strip=True) == "€0.06"
    page = staff.post("/staff/documents/totals/invoice", _multi(staff, data))
    assert soup(page).find("html") is not None and soup(page).find(id="doc-form") is not None


def test_edit_draft_replaces_lines_and_bumps_version(staff):
    doc = make_document(status="draft")
    staff.get(f"/staff/documents/{doc.id}/edit")
    data = editor_data(doc.contact, number=doc.number, lines=[{"description": "New", "qty": "2", "price": "3"}])
    resp = staff.post(f"/staff/documents/{doc.id}/edit", _multi(staff, data))
    assert resp.status_code == 303
    doc2 = Document.get_by_id(doc.id)
    assert doc2.total == 600 and doc2.version == doc.version + 1
    assert [l.description for l in doc2.ordered_lines()] == ["New"]


def test_issued_document_cannot_be_edited(staff):
    doc = make_document(status="open")
    staff.get(f"/staff/documents/{doc.id}")
    data = editor_data(doc.contact, number=doc.number, lines=[{"description": "Sneaky", "qty": "1", "price": "1"}])
    staff.post(f"/staff/documents/{doc.id}/edit", _multi(staff, data))
    assert [l.description for l in Document.get_by_id(doc.id).ordered_lines()] == ["Consulting"]


def test_issue_then_void_and_illegal_transitions(staff):
    doc = make_document(status="draft")
    staff.get(f"/staff/documents/{doc.id}")
    staff.post(f"/staff/documents/{doc.id}/status", {"status": "paid"})
    assert Document.get_by_id(doc.id).status == "draft"
    staff.post(f"/staff/documents/{doc.id}/status", {"status": "open"})
    issued = Document.get_by_id(doc.id)
    assert issued.status == "open" and issued.issued_at is not None
    staff.post(f"/staff/documents/{doc.id}/status", {"status": "open"})
    staff.post(f"/staff/documents/{doc.id}/status", {"status": "void"})
    assert Document.get_by_id(doc.id).status == "void"


def test_order_moves_through_its_states(staff):
    doc = make_document(kind="order", status="open")
    staff.get(f"/staff/documents/{doc.id}")
    for target in ("confirmed", "shipped", "delivered"):
        staff.post(f"/staff/documents/{doc.id}/status", {"status": target})
        assert Document.get_by_id(doc.id).status == target
    staff.post(f"/staff/documents/{doc.id}/status", {"status": "cancelled"})
    assert Document.get_by_id(doc.id).status == "delivered"


def test_manual_payments_partial_then_full_marks_paid(staff):
    doc = make_document(status="open")   # total 121.00
    staff.get(f"/staff/documents/{doc.id}")
    resp = staff.post(f"/staff/documents/{doc.id}/payments", {"amount": "21", "paid_on": "2026-11-20"})
    assert resp.status_code == 303
    assert Document.get_by_id(doc.id).amount_paid == 2100
    resp = staff.post(f"/staff/documents/{doc.id}/payments", {"amount": "100.01", "paid_on": "2026-11-20"})
    assert resp.status_code == 422 and soup(resp).find(id="e-amount")
    staff.post(f"/staff/documents/{doc.id}/payments", {"amount": "100", "paid_on": "2026-11-21", "note": "Transfer"})
    paid = Document.get_by_id(doc.id)
    assert paid.amount_paid == 12100 and paid.status == "paid" and Payment.select().count() == 2


@pytest.mark.parametrize("amount", ["-5", "0", "abc", "", "1e30"])
def test_bad_payment_amount_records_nothing(staff, amount):
    doc = make_document(status="open")
    staff.get(f"/staff/documents/{doc.id}")
    resp = staff.post(f"/staff/documents/{doc.id}/payments", {"amount": amount, "paid_on": "2026-11-20"})
    assert resp.status_code == 422 and soup(resp).find(id="e-amount")
    assert Payment.select().count() == 0 and Document.get_by_id(doc.id).amount_paid == 0


def test_payment_on_draft_or_quote_is_refused(staff):
    for doc in (make_document(status="draft"), make_document(kind="quote", status="open")):
        staff.get(f"/staff/documents/{doc.id}")
        resp = staff.post(f"/staff/documents/{doc.id}/payments", {"amount": "1", "paid_on": "2026-11-20"})
        assert resp.status_code == 422
    assert Payment.select().count() == 0


def test_only_drafts_can_be_deleted(staff):
    draft, issued = make_document(status="draft"), make_document(status="open")
    staff.get("/staff/documents/")
    staff.post(f"/staff/documents/{issued.id}/delete")
    staff.post(f"/staff/documents/{draft.id}/delete")
    assert [d.id for d in Document.select()] == [issued.id]


@pytest.mark.parametrize("changes,field", [
    ({"name": ""}, "name"), ({"name": "n" * 1_000_000}, "name"), ({"email": "not-an-email"}, "email"),
    ({"currency": "EURO"}, "currency"), ({"discount": "-5"}, "discount"), ({"discount": "abc"}, "discount"),
    ({"kind": "robot"}, "kind"), ({"language": "xx"}, "language"), ({"country": "XX"}, "country"),
    ({"country": "ESP"}, "country"),
])
def test_bad_contact_input_gets_a_message_and_writes_nothing(staff, changes, field):
    staff.get("/staff/contacts/new")
    data = {"kind": "company", "name": "Acme", **changes}
    resp = staff.post("/staff/contacts/new", data)
    assert resp.status_code == 422
    page = soup(resp)
    assert page.find(id=f"e-{field}") is not None
    if field != "name":
        assert page.find(id="f-name")["value"] == "Acme"
    assert Contact.select().count() == 0


def test_unknown_gateway_is_refused(staff):
    staff.get("/staff/contacts/new")
    resp = staff.post("/staff/contacts/new", {"kind": "company", "name": "Acme", "gateways": "bitcoin"})
    assert resp.status_code == 422 and Contact.select().count() == 0


def test_duplicate_person_email_gets_a_message(staff):
    contact = make_contact()
    staff.get(f"/staff/contacts/{contact.id}")
    staff.post(f"/staff/contacts/{contact.id}/people", {"name": "Ana", "email": "ana@example.com"})
    resp = staff.post(f"/staff/contacts/{contact.id}/people", {"name": "Ana 2", "email": "ANA@example.com"})
    assert resp.status_code == 422 and soup(resp).find(id="e-email")
    assert contact.people.count() == 1


def test_unknown_contact_and_document_are_404(staff):
    assert staff.get("/staff/contacts/999999").status_code == 404
    assert staff.get("/staff/documents/999999").status_code == 404


def test_staff_lists_paginate_without_skipping(staff):
    for i in range(51):
        make_contact(name=f"Contact {i:03d}")
    first = [a.get_text() for a in soup(staff.get("/staff/contacts/")).select("#contacts tbody a")]
    second = [a.get_text() for a in soup(staff.get("/staff/contacts/?page=2")).select("#contacts tbody a")]
    assert len(first) == 50 and len(second) == 1 and set(first).isdisjoint(second)
    assert sorted(first + second) == [f"Contact {i:03d}" for i in range(51)]
