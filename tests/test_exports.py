"""Staff CSV exports (issue 19, point 5; app/exports.py, app/views/staff/exports.py): documents,
payments and the tax book of a period, on a hand-worked example with two tax rates, a
withholding, a credit note, a partial payment and a refund, in two currencies. Formula-like
text comes out quoted and negative numbers as numbers; bad input gives a message and no file;
roles decide who downloads what; each download is in the audit trail; the number of queries
does not grow with the number of rows."""
import csv
import datetime
import io
import json
from decimal import Decimal

import pytest

from app import credit_notes, documents, exports, refunds, snapshot
from app.credit_notes import Pick
from app.models import Activity, Document, Payment, StaffUser
from app.rules import By
from tests.conftest import Browser, error_text, soup
from tests.factories import PASSWORD, make_contact, make_document, make_person, make_staff, settings
from tests.payments import fresh, send, sid_of

TODAY = datetime.date.today()
START, END = TODAY - datetime.timedelta(days=60), TODAY
PERIOD = {"from": START.isoformat(), "to": END.isoformat()}
IVA21, IVA10, IRPF = ("IVA", 2100), ("IVA", 1000), ("IRPF", -1500)


def rows_of(resp):
    """The CSV's rows (header first), as a spreadsheet reads them."""
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    assert resp.mimetype == "text/csv" and resp.data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))


def download(browser, what, **params):
    return browser.get("/staff/exports/download", query_string={"what": what, **PERIOD, **params})


def issue(contact, lines, currency="EUR", reference=""):
    header = {"contact": contact.id, "issue_date": TODAY, "due_date": TODAY + datetime.timedelta(days=30),
              "currency": currency, "reference": reference}
    doc = documents.create("invoice", header, [documents.Line(d, q, p, 0, None, t) for d, q, p, t in lines],
                           By(), issue_now=True)
    return Document.get_by_id(doc.id)


@pytest.fixture
def example(app, auth, stripe_on, staff):
    """The hand-worked example (amounts in cents):
    EUR invoice A to López: 2 × 100.00 at IVA 21 % and 1 × 300.00 at IVA 10 % less IRPF 15 %:
      net 500.00; IVA 21 % 42.00, IVA 10 % 30.00, IRPF −45.00; total 527.00; reference "-REF 7".
    EUR credit note on A: 1 × 100.00 at IVA 21 %: 121.00. A owes 527 − 121 = 406.00;
      a transfer of 200.00 (a partial payment) leaves 206.00.
    USD invoice B to =HYPERLINK(...): 1 × 1000.00 at IVA 21 %: 1210.00, paid by Stripe, 300.00
      refunded: paid 910.00, due 300.00.
    Also: a voided invoice (in the documents, not in the tax book), a draft (nowhere), an
    invoice of 400 days ago (outside the period)."""
    settings(name="Taller Martínez S.L.")
    lopez = make_contact(name="Ferretería López", tax_id="B12345678")
    evil = make_contact(name='=HYPERLINK("http://x")', tax_id="X-1", gateways="stripe")
    person = make_person(contact=evil, password=PASSWORD)
    owner = StaffUser.get()
    with app.test_request_context():
        a = issue(lopez, [("Taladro", 2000, 10000, [IVA21]), ("Montaje", 1000, 30000, [IVA10, IRPF])],
                  reference="-REF 7")
        note = credit_notes.issue(a, [Pick(a.ordered_lines()[0].id, 1000)], "One drill returned", By(staff=owner))
        transfer = documents.record_manual_payment(Document.get_by_id(a.id), 20000, TODAY - datetime.timedelta(days=1),
                                                   "@SUM(1+1)", By(staff=owner))
        b = issue(evil, [("Proyecto", 1000, 100000, [IVA21])], currency="USD")
        voided = issue(lopez, [("Error", 1000, 5000, [IVA21])])
        documents.void(voided, By(staff=owner))
        make_document(lopez, status="draft", lines=[("Borrador", 1000, 999, 0, [IVA21])])
        old = make_document(lopez, issue_date=TODAY - datetime.timedelta(days=400), number="F-OLD-1")
        snapshot.freeze(old)
    me = auth.login(person)
    me.get(f"/documents/{b.id}")
    sid = sid_of(me, me.post(f"/documents/{b.id}/pay", {"gateway": "stripe"}))
    stripe_on.complete(sid)
    assert send(app.test_client(), stripe_on.outbox[-1]).status_code == 200
    online = Payment.get(Payment.gateway == "stripe")
    with app.test_request_context():
        refund = refunds.request(online, 30000, "Part of the project cancelled", By(staff=owner))
    assert refund.status == "succeeded"
    docs = {name: Document.get_by_id(d.id) for name, d in
            (("a", a), ("note", note), ("b", b), ("voided", voided))}
    assert (docs["a"].total, docs["a"].amount_credited, docs["a"].amount_paid, docs["a"].amount_due) == (
        52700, 12100, 20000, 20600)
    assert (docs["b"].total, docs["b"].amount_paid, docs["b"].amount_due) == (121000, 91000, 30000)
    return {**docs, "transfer": transfer, "online": fresh(online), "refund": refund}


# --- what each export holds ----------------------------------------------------------------------

def test_the_documents_export_holds_what_each_document_printed(example, staff):
    a, note, b, voided = example["a"], example["note"], example["b"], example["voided"]
    rows = rows_of(download(staff, "documents"))
    assert rows[0] == ["Number", "Kind", "Status", "Issue date", "Due date", "Contact", "Tax ID", "Reference",
                       "Currency", "Net", "Tax", "Withholding", "Total", "Credited", "Paid", "Due"]
    due = (TODAY + datetime.timedelta(days=30)).isoformat()
    today = TODAY.isoformat()
    expected = {
        a.number: [a.number, "invoice", "open", today, due, "Ferretería López", "B12345678", "'-REF 7", "EUR",
                   "500.00", "72.00", "-45.00", "527.00", "121.00", "200.00", "206.00"],
        note.number: [note.number, "credit_note", "issued", today, "", "Ferretería López", "B12345678", "'-REF 7",
                      "EUR", "100.00", "21.00", "0.00", "121.00", "", "", ""],
        b.number: [b.number, "invoice", "open", today, due, "'=HYPERLINK(\"http://x\")", "X-1", "", "USD",
                   "1000.00", "210.00", "0.00", "1210.00", "0.00", "910.00", "300.00"],
        voided.number: [voided.number, "invoice", "void", today, due, "Ferretería López", "B12345678", "", "EUR",
                        "50.00", "10.50", "0.00", "60.50", "0.00", "0.00", "0.00"],
    }
    assert {row[0]: row for row in rows[1:]} == expected   # no draft, nothing from 400 days ago
    assert [row[0] for row in rows[1:]] == sorted(expected)   # by date, then number


def test_the_documents_export_filters_by_kind_status_and_contact(example, staff):
    a, note = example["a"], example["note"]
    assert [r[0] for r in rows_of(download(staff, "documents", kind="credit_note"))[1:]] == [note.number]
    assert [r[0] for r in rows_of(download(staff, "documents", status="void"))[1:]] == [example["voided"].number]
    # The contact by number, by tax id, by part of its name: the same rows.
    digits = make_contact(name="Digits only", tax_id="98765432109")
    assert exports.find_contact("98765432109") == digits   # a tax id of digits, not a contact's number
    for text in (str(a.contact_id), "b12345678", "lópez"):
        numbers = [r[0] for r in rows_of(download(staff, "documents", contact=text, kind="invoice"))[1:]]
        assert numbers == sorted([a.number, example["voided"].number]), text
    old = rows_of(staff.get("/staff/exports/download", query_string={
        "what": "documents", "from": (TODAY - datetime.timedelta(days=401)).isoformat(), "to": START.isoformat()}))
    assert [r[0] for r in old[1:]] == ["F-OLD-1"]


def test_the_payments_export_lists_each_payment_with_its_documents_and_refunds(example, staff):
    a, b, online, refund = example["a"], example["b"], example["online"], example["refund"]
    rows = rows_of(download(staff, "payments"))
    assert rows[0] == ["Date", "Contact", "Tax ID", "Method", "Note", "Provider reference", "Status", "Amount",
                       "Currency", "Refunded", "Received", "Documents", "Refunds"]
    assert rows[1:] == [
        [(TODAY - datetime.timedelta(days=1)).isoformat(), "Ferretería López", "B12345678", "manual", "'@SUM(1+1)",
         "", "succeeded", "200.00", "EUR", "0.00", "200.00", a.number, ""],
        [online.paid_at.date().isoformat(), "'=HYPERLINK(\"http://x\")", "X-1", "stripe (test)", "",
         online.provider_payment_ref, "succeeded", "1210.00", "USD", "300.00", "910.00", b.number,
         f"{refund.settled_at.date().isoformat()} 300.00 {refund.provider_ref}"],
    ]
    assert online.provider_payment_ref and refund.provider_ref
    only_lopez = rows_of(download(staff, "payments", contact=str(a.contact_id)))
    assert [r[1] for r in only_lopez[1:]] == ["Ferretería López"]


def test_the_tax_book_nets_credit_notes_and_keeps_withholdings_apart(example, staff):
    rows = rows_of(download(staff, "tax_book"))
    assert rows[0] == ["Period", "Currency", "Tax", "Rate (%)", "Type", "Invoices base", "Invoices tax",
                       "Credit notes base", "Credit notes tax", "Base", "Tax amount", "Documents"]
    period = f"{START.isoformat()}/{END.isoformat()}"
    assert rows[1:] == [
        [period, "EUR", "IVA", "21.00", "tax", "200.00", "42.00", "100.00", "21.00", "100.00", "21.00", "2"],
        [period, "EUR", "IVA", "10.00", "tax", "300.00", "30.00", "0.00", "0.00", "300.00", "30.00", "1"],
        [period, "EUR", "IRPF", "-15.00", "withholding", "300.00", "-45.00", "0.00", "0.00", "300.00", "-45.00",
         "1"],
        [period, "EUR", "", "", "total", "500.00", "27.00", "100.00", "21.00", "400.00", "6.00", "2"],
        [period, "USD", "IVA", "21.00", "tax", "1000.00", "210.00", "0.00", "0.00", "1000.00", "210.00", "1"],
        [period, "USD", "", "", "total", "1000.00", "210.00", "0.00", "0.00", "1000.00", "210.00", "1"],
    ]


def test_the_tax_books_figures_are_the_sum_of_the_printed_taxes(example, staff):
    """Independently of the hand-worked numbers: each rate's base and tax equal the invoices'
    printed breakdown minus the credit notes', read from every snapshot in the period."""
    printed = {}
    for doc in Document.select().where((Document.issue_date >= START) & (Document.issue_date <= END)
                                       & Document.kind.in_(("invoice", "credit_note"))
                                       & Document.status.not_in(("draft", "void"))):
        sign = -1 if doc.kind == "credit_note" else 1
        for name, rate, base, amount in snapshot.frozen(doc)["totals"]["taxes"]:
            key = (doc.currency, name, Decimal(rate) / 100)
            was = printed.get(key, (0, 0))
            printed[key] = (was[0] + sign * base, was[1] + sign * amount)
    rows = rows_of(download(staff, "tax_book"))[1:]
    found = {(r[1], r[2], Decimal(r[3])): (round(Decimal(r[9]) * 100), round(Decimal(r[10]) * 100))
             for r in rows if r[4] != "total"}
    assert found == printed and len(found) == 4


def test_the_tax_book_by_quarter_and_month(example, staff):
    for group, label in (("quarter", f"{TODAY.year}-Q{(TODAY.month - 1) // 3 + 1}"),
                         ("month", f"{TODAY.year}-{TODAY.month:02d}")):
        rows = rows_of(download(staff, "tax_book", group=group))
        assert {r[0] for r in rows[1:]} == {label} and len(rows) == 7


def test_formula_like_text_is_quoted_and_negative_numbers_stay_numbers(example, staff):
    text = download(staff, "documents").data.decode("utf-8-sig")
    assert "\"'=HYPERLINK(\"\"http://x\"\")\"" in text and "'-REF 7" in text
    assert ",-45.00," in text and "'-45" not in text
    payments = download(staff, "payments").data.decode("utf-8-sig")
    assert "'@SUM(1+1)" in payments
    book = download(staff, "tax_book").data.decode("utf-8-sig")
    assert ",-15.00,withholding,300.00,-45.00," in book


def test_rows_come_in_order_across_chunks(example, staff, monkeypatch):
    whole = download(staff, "documents").data
    monkeypatch.setattr(exports, "CHUNK", 1)
    assert download(staff, "documents").data == whole


# --- the form ------------------------------------------------------------------------------------

def test_the_page_is_in_the_menu_and_offers_a_contact_search_not_a_list(app, staff):
    make_contact(name="Ferretería López")
    page = soup(staff.get("/staff/exports/"))
    nav = page.find("nav")
    assert nav.find("a", href="/staff/exports/")["aria-current"] == "page"
    form = page.find(id="export-form")
    assert form["method"] == "get" and form["action"] == "/staff/exports/download"
    assert form.find("input", attrs={"name": "contact"}) and not form.find("select", attrs={"name": "contact"})
    assert [o["value"] for o in form.find("select", attrs={"name": "what"}).find_all("option")] == [
        "documents", "payments", "tax_book"]
    assert form.find(id="f-from")["value"] == TODAY.replace(month=1, day=1).isoformat()


@pytest.mark.parametrize("params, field, message", [
    ({"from": "", "to": ""}, "from", "This field is required."),
    ({"from": "2026-02-30"}, "from", "Enter a date as YYYY-MM-DD."),
    ({"to": "31/12/2026"}, "to", "Enter a date as YYYY-MM-DD."),
    ({"from": "2026"}, "from", "Enter a date as YYYY-MM-DD."),
    ({"from": "0001-01-01"}, "from", "Enter a date between 1970-01-01 and 2999-12-31."),
    ({"from": "2026-12-31", "to": "2026-01-01"}, "to", "The period ends before it starts"),
    ({"from": "2020-01-01", "to": "2025-01-01"}, "to", "Choose a period of at most 5 years"),
    ({"what": "contacts"}, "what", "Choose one of the options."),
    ({"kind": "receipt"}, "kind", "Choose one of the options."),
    ({"status": "0"}, "status", "Choose one of the options."),
    ({"what": "tax_book", "group": "7"}, "group", "Choose one of the options."),
    ({"contact": "nobody at all"}, "contact", "No contact matches"),
    ({"contact": "999999"}, "contact", "No contact has the number 999999."),
    ({"contact": "ACME"}, "contact", "Several contacts match: ACME Norte"),
    ({"contact": "x\x00"}, "contact", "This field contains characters that are not allowed."),
])
def test_bad_input_gets_a_message_and_no_file(app, staff, params, field, message):
    make_contact(name="ACME Norte")
    make_contact(name="ACME Sur")
    query = {"what": "documents", **PERIOD, **params}
    resp = staff.get("/staff/exports/download", query_string=query)
    assert resp.status_code == 422 and resp.mimetype == "text/html"
    assert "Content-Disposition" not in resp.headers
    assert error_text(resp, field).startswith(message), error_text(resp, field)
    assert Activity.select().where(Activity.action.startswith("export")).count() == 0
    # The form shows back what was typed.
    typed = params.get(field, query.get(field))
    tag = soup(resp).find(attrs={"name": field})
    if tag.name == "input" and "\x00" not in typed:
        assert tag["value"] == typed


def test_five_years_exactly_is_allowed(app, staff):
    resp = staff.get("/staff/exports/download", query_string={"what": "tax_book", "from": "2020-01-01",
                                                              "to": "2024-12-31"})
    assert rows_of(resp) == [rows_of(resp)[0]]
    assert resp.headers["Content-Disposition"] == 'attachment; filename="tax-book-2020-01-01-2024-12-31.csv"'
    assert resp.headers["Cache-Control"] == "no-store"


def test_nothing_asked_yet_goes_back_to_the_form(app, staff):
    resp = staff.get("/staff/exports/download")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/exports/")


# --- who may -------------------------------------------------------------------------------------

def browser_of(app, role):
    user = make_staff()
    StaffUser.update(role=role).where(StaffUser.id == user.id).execute()
    browser = Browser(app.test_client())
    assert browser.post("/staff/login", {"email": user.email, "password": PASSWORD}).status_code == 303
    return browser


def test_sales_exports_documents_but_not_payments_or_the_tax_book(app):
    sales = browser_of(app, "sales")
    options = soup(sales.get("/staff/exports/")).find("select", attrs={"name": "what"}).find_all("option")
    assert [o["value"] for o in options] == ["documents"]
    assert download(sales, "payments").status_code == 403
    assert download(sales, "tax_book").status_code == 403
    assert download(sales, "documents").status_code == 200
    accountant = browser_of(app, "accountant")
    assert [download(accountant, w).status_code for w in exports.WHAT] == [200, 200, 200]
    assert Activity.select().where(Activity.action.startswith("export")).count() == 4


def test_each_download_is_in_the_audit_trail(example, staff):
    resp = download(staff, "documents", contact=str(example["a"].contact_id))
    assert resp.status_code == 200
    [entry] = Activity.select().where(Activity.action == "export_documents")
    assert entry.staff_id == StaffUser.get().id and entry.contact_id == example["a"].contact_id
    data = json.loads(entry.data)
    assert data == {"what": "documents", "start": START.isoformat(), "end": END.isoformat(), "rows": 3,
                    "contact": example["a"].contact_id}


def test_signed_out_nobody_downloads(client):
    resp = client.get("/staff/exports/download", query_string={"what": "documents", **PERIOD})
    assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]


# --- bounded queries -----------------------------------------------------------------------------

def statements(browser, caplog, what):
    caplog.clear()
    with caplog.at_level("DEBUG", logger="peewee"):
        assert download(browser, what).status_code == 200
    # The staff session's last-seen time is written once a minute: not the export's.
    return len([r for r in caplog.records if r.name == "peewee" and "staff_session" not in r.getMessage()])


def test_the_queries_do_not_grow_with_the_rows(app, staff, caplog):
    contact = make_contact(name="Muchos")
    owner = StaffUser.get()

    def add(n):
        with app.test_request_context():
            for _ in range(n):
                doc = issue(contact, [("Taladro", 1000, 10000, [IVA21]), ("Montaje", 1000, 5000, [IVA10, IRPF])])
                documents.record_manual_payment(doc, 1000, TODAY, "transfer", By(staff=owner))
        # Half without a snapshot (issued before snapshots existed): the same figures, from the lines.
        every_other = [doc_id for (doc_id,) in Document.select(Document.id).order_by(Document.id).tuples()][::2]
        Document.update(snapshot=None).where(Document.id.in_(every_other)).execute()
        assert Document.select().where(Document.snapshot.is_null()).count() == len(every_other)

    add(2)
    few = {what: statements(staff, caplog, what) for what in exports.WHAT}
    add(20)
    many = {what: statements(staff, caplog, what) for what in exports.WHAT}
    assert many == few, (few, many)
    rows = rows_of(download(staff, "tax_book"))
    assert rows[1][2:] == ["IVA", "21.00", "tax", "2200.00", "462.00", "0.00", "0.00", "2200.00", "462.00", "22"]
    assert rows[3][2:] == ["IRPF", "-15.00", "withholding", "1100.00", "-165.00", "0.00", "0.00", "1100.00",
                           "-165.00", "22"]
