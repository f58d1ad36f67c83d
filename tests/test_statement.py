"""The statement of account (app/statement.py, /statement, the back-office's, the API's): balances
worked out by hand on an example in two currencies, the aging's boundaries, the periods a person
may ask for, the PDF in the customer's language, and who may see what."""
import datetime
import shutil
import subprocess

import pytest

from app import credit_notes, documents, refunds, statement
from app.credit_notes import Pick
from app.db import db
from app.models import Activity, Document, Payment, PaymentAllocation, Refund
from app.rules import By, Refused
from app.statement import Period
from tests.conftest import Api, soup
from tests.factories import PASSWORD, make_contact, make_document, make_person, settings

D = datetime.date
START, END, TODAY = D(2026, 1, 1), D(2026, 3, 31), D(2026, 4, 15)
HX = {"HX-Request": "true"}


def no_tax(*lines):
    return [(name, 1000, price, 0, []) for name, price in lines]


def online(doc, amount, key, paid_at):
    """A card payment settled on `paid_at`, put on `doc` as the gateway's webhook would."""
    with db.atomic():
        payment = Payment.create(document=doc, gateway="stripe", amount=amount, currency=doc.currency,
                                 status="succeeded", idempotency_key=key, provider_ref=f"cs_{key}",
                                 provider_payment_ref=f"pi_{key}", mode="test", paid_at=paid_at)
        PaymentAllocation.create(payment=payment, document=doc, amount=amount, applied=amount)
        assert doc.apply_payment(amount)
    return payment


def refund(payment, amount, key, settled_at):
    """A refund the gateway completed, applied by the service, settled on `settled_at`."""
    row = Refund.create(payment=payment, gateway="stripe", amount=amount, currency=payment.currency,
                        idempotency_key=key, provider_ref=f"re_{key}", origin="gateway")
    with db.atomic():
        assert refunds.apply(row, By(gateway="stripe")) == "applied"
    Refund.update(settled_at=settled_at).where(Refund.id == row.id).execute()
    return row


@pytest.fixture
def worked(app):
    """The example worked out by hand in test_balances_match_the_example_worked_by_hand.

    EUR. Before the period: invoice A 1,000.00 (due 9 Jan), 400.00 paid on 20 Dec.
    In the period (1 Jan – 31 Mar 2026):
      15 Jan  invoice B            +1,184.56   (two lines: 1,084.56 and 100.00; due 14 Feb)
      20 Jan  credit note on B       −100.00   (the 100.00 line)
       1 Feb  payment on A (part)    −200.00
      10 Feb  card payment on B      −300.00
       1 Mar  invoice V, voided          0     (70.00, listed, not counted)
       5 Mar  refund of 50.00 on B    +50.00
    After it: 100.00 more on A (10 Apr): neither the closing balance nor the aging see it.
    USD: invoice U 1,000.00 on 1 Feb (due 3 Mar), 250.00 by card on 15 Feb.
    Never: a draft, a paid sales order, another contact's invoice."""
    settings(name="Taller Martínez S.L.", tax_id="B12345678", address="Calle Mayor 1\n28013 Madrid",
             default_language="es", credit_note_prefix="R")
    with app.test_request_context():
        contact = make_contact(name="Talleres Ruiz", tax_id="B87654321", issue_mail=False)
        person = make_person(contact, password=PASSWORD, name="Ana García", language="es")
        a = make_document(contact, lines=no_tax(("Revisión anual", 100000)), number="F-2025-0090",
                          issue_date=D(2025, 12, 10), due_date=D(2026, 1, 9))
        documents.record_manual_payment(a, 40000, D(2025, 12, 20), "Transferencia", By())
        b = make_document(contact, lines=no_tax(("Servicio", 108456), ("Piezas", 10000)), number="F-2026-0001",
                          issue_date=D(2026, 1, 15), due_date=D(2026, 2, 14))
        parts = b.ordered_lines()[1]
        note = credit_notes.issue(Document.get_by_id(b.id), [Pick(parts.id, 1000)], "Piezas devueltas", By())
        Document.update(issue_date=D(2026, 1, 20)).where(Document.id == note.id).execute()
        documents.record_manual_payment(Document.get_by_id(a.id), 20000, D(2026, 2, 1), "Transferencia", By())
        card = online(Document.get_by_id(b.id), 30000, "card-b", datetime.datetime(2026, 2, 10, 9, 30))
        void = make_document(contact, status="void", lines=no_tax(("Anulada", 7000)), number="F-2026-0002",
                             issue_date=D(2026, 3, 1), due_date=D(2026, 3, 31))
        given_back = refund(card, 5000, "refund-b", datetime.datetime(2026, 3, 5, 16))
        documents.record_manual_payment(Document.get_by_id(a.id), 10000, D(2026, 4, 10), "Transferencia", By())
        u = make_document(contact, currency="USD", lines=no_tax(("Export", 100000)), number="F-2026-0003",
                          issue_date=D(2026, 2, 1), due_date=D(2026, 3, 3))
        usd = online(u, 25000, "card-u", datetime.datetime(2026, 2, 15, 12))
        make_document(contact, status="draft", lines=no_tax(("Borrador", 99900)), issue_date=D(2026, 2, 2))
        order = make_document(contact, kind="order", status="confirmed", lines=no_tax(("Pedido", 55500)),
                              issue_date=D(2026, 2, 3))
        documents.record_manual_payment(order, 55500, D(2026, 2, 3), "Contado", By())
        other = make_contact(name="Otra Empresa")
        make_person(other, password=PASSWORD, email="otra@example.com")
        foreign = make_document(other, lines=no_tax(("Ajeno", 777700)), number="X-2026-0777",
                                issue_date=D(2026, 2, 5), due_date=D(2026, 3, 5))
    return {"contact": contact, "person": person, "a": a, "b": b, "note": Document.get_by_id(note.id), "void": void,
            "card": card, "refund": given_back, "u": u, "usd": usd, "order": order, "other": other,
            "foreign": foreign}


def section(built, currency):
    [found] = [s for s in built.sections if s.currency == currency]
    return found


def test_balances_match_the_example_worked_by_hand(worked):
    built = statement.build(worked["contact"], Period(START, END), today=TODAY)
    assert [s.currency for s in built.sections] == ["EUR", "USD"]
    eur = section(built, "EUR")
    assert eur.opening == 100000 - 40000
    rows = [(e.day, e.kind, e.amount, e.balance) for e in eur.entries]
    assert rows == [
        (D(2026, 1, 15), "invoice", 118456, 178456),
        (D(2026, 1, 20), "credit_note", -10000, 168456),
        (D(2026, 2, 1), "payment", -20000, 148456),
        (D(2026, 2, 10), "payment", -30000, 118456),
        (D(2026, 3, 1), "invoice", 0, 118456),          # the voided invoice: listed, not counted
        (D(2026, 3, 5), "refund", 5000, 123456),
    ]
    assert eur.closing == 123456
    assert (eur.invoiced, eur.credited, eur.paid, eur.refunded) == (118456, 10000, 50000, 5000)
    voided = eur.entries[4]
    assert voided.voided and voided.shown == 7000 and voided.number == "F-2026-0002"
    assert [n for _i, n in eur.entries[3].documents] == ["F-2026-0001"]
    # On 31 Mar: A owed 1,000 − 400 − 200 (81 days overdue); B 1,184.56 − 100 − 300 + 50 (45 days).
    assert eur.aging == {"not_due": 0, "1_30": 0, "31_60": 83456, "61_90": 40000, "over_90": 0}
    assert eur.open_total == eur.closing

    usd = section(built, "USD")
    assert (usd.opening, usd.closing) == (0, 75000)
    assert [(e.kind, e.amount, e.balance) for e in usd.entries] == [("invoice", 100000, 100000),
                                                                    ("payment", -25000, 75000)]
    assert usd.aging["1_30"] == 75000 and usd.open_total == 75000   # due 3 Mar: 28 days on 31 Mar


def test_the_statement_up_to_today_agrees_with_the_documents(worked):
    """Today's closing balance is what the invoices say they are owed (the summary's figures)."""
    built = statement.build(worked["contact"], statement.preset_period("this_year", TODAY), today=TODAY)
    eur = section(built, "EUR")
    due = sum(d.amount_due for d in Document.select().where((Document.contact == worked["contact"])
                                                             & (Document.kind == "invoice")
                                                             & Document.status.in_(("open", "paid", "credited"))
                                                             & (Document.currency == "EUR")))
    assert eur.closing == due == 123456 - 10000          # the 100.00 paid on 10 April
    assert eur.open_total == due
    assert eur.aging["over_90"] == 30000                 # A on 15 Apr: 96 days past 9 Jan


def test_a_later_period_opens_with_the_earlier_closing_balance(worked):
    first = statement.build(worked["contact"], Period(START, END), today=TODAY)
    then = statement.build(worked["contact"], Period(END + datetime.timedelta(days=1), TODAY), today=TODAY)
    assert section(then, "EUR").opening == section(first, "EUR").closing
    assert [(e.kind, e.amount) for e in section(then, "EUR").entries] == [("payment", -10000)]
    assert section(then, "USD").opening == 75000 and section(then, "USD").entries == []


def test_drafts_orders_and_other_contacts_never_appear(worked):
    built = statement.build(worked["contact"], Period(START, END), today=TODAY)
    numbers = {e.number for s in built.sections for e in s.entries if e.kind in ("invoice", "credit_note")}
    assert numbers == {"F-2026-0001", "F-2026-0002", "F-2026-0003", worked["note"].number}
    assert all(e.payment_id != Payment.get(Payment.document == worked["order"]).id
               for s in built.sections for e in s.entries)
    alone = statement.build(worked["other"], Period(START, END), today=TODAY)
    assert [(s.currency, s.closing) for s in alone.sections] == [("EUR", 777700)]


@pytest.mark.parametrize("days, bucket", [(-5, "not_due"), (0, "not_due"), (1, "1_30"), (30, "1_30"),
                                          (31, "31_60"), (60, "31_60"), (61, "61_90"), (90, "61_90"),
                                          (91, "over_90"), (400, "over_90")])
def test_aging_buckets_at_each_boundary(app, days, bucket):
    today = D(2026, 6, 30)
    contact = make_contact()
    due = today - datetime.timedelta(days=days)
    make_document(contact, lines=no_tax(("X", 12345)), issue_date=min(due, today) - datetime.timedelta(days=30),
                  due_date=due)
    built = statement.build(contact, statement.preset_period("last_12_months", today), today=today)
    aging = section(built, "EUR").aging
    assert aging[bucket] == 12345
    assert sum(aging.values()) == 12345


def test_an_invoice_without_due_date_is_not_due_and_the_aging_is_as_of_the_period_end(app):
    contact = make_contact()
    make_document(contact, lines=no_tax(("X", 5000)), issue_date=D(2025, 3, 1), due_date=None)
    make_document(contact, lines=no_tax(("Y", 7000)), issue_date=D(2025, 3, 1), due_date=D(2025, 11, 30))
    built = statement.build(contact, statement.preset_period("last_year", D(2026, 6, 30)), today=D(2026, 6, 30))
    assert built.as_of == D(2025, 12, 31)
    assert section(built, "EUR").aging == {"not_due": 5000, "1_30": 0, "31_60": 7000, "61_90": 0, "over_90": 0}


def test_a_grouped_payment_refunded_in_part_ages_as_it_was_on_each_day(app):
    """One card payment of 30.00 + 30.00 over invoices X (50.00) and Y (30.00), then 40.00 refunded:
    app/refunds.py takes it from the newest share first (all of Y's 30.00, then 10.00 of X's)."""
    contact = make_contact()
    x = make_document(contact, lines=no_tax(("X", 5000)), issue_date=D(2026, 1, 5), due_date=D(2026, 1, 5))
    y = make_document(contact, lines=no_tax(("Y", 3000)), issue_date=D(2026, 1, 5), due_date=D(2026, 1, 5))
    with app.test_request_context():
        with db.atomic():
            payment = Payment.create(document=x, gateway="stripe", amount=6000, currency="EUR", status="succeeded",
                                     idempotency_key="grouped", mode="test", paid_at=datetime.datetime(2026, 1, 10))
            for doc in (x, y):
                PaymentAllocation.create(payment=payment, document=doc, amount=3000, applied=3000)
                assert doc.apply_payment(3000)
        refund(payment, 4000, "back", datetime.datetime(2026, 2, 10))
    assert (Document.get_by_id(x.id).amount_due, Document.get_by_id(y.id).amount_due) == (3000, 3000)
    before = statement.build(contact, Period(D(2026, 1, 1), D(2026, 1, 31)), today=D(2026, 3, 1))
    assert section(before, "EUR").aging["1_30"] == 2000 == section(before, "EUR").closing   # X's 20.00, 26 days
    after = statement.build(contact, Period(D(2026, 1, 1), D(2026, 2, 28)), today=D(2026, 3, 1))
    eur = section(after, "EUR")
    assert eur.closing == 6000 == eur.open_total
    assert eur.aging["31_60"] == 6000                                  # both, 54 days past 5 Jan
    assert [(e.kind, e.amount) for e in eur.entries] == [("invoice", 5000), ("invoice", 3000), ("payment", -6000),
                                                         ("refund", 4000)]


def test_a_read_only_token_reads_the_statement(app, client, worked):
    from app.api.auth import create_token
    reader = Api(client, create_token("Auditor", can_write=False)[0])
    assert reader.get(f"/contacts/{worked['contact'].id}/statement?period=last_year").status_code == 200


# --- periods ------------------------------------------------------------------------------------

def test_presets_and_custom_periods():
    today = D(2026, 2, 28)
    assert statement.read_period({}, today) == Period(D(2026, 1, 1), today, "this_year")
    assert statement.read_period({"period": "last_year"}, today) == Period(D(2025, 1, 1), D(2025, 12, 31), "last_year")
    assert statement.read_period({"period": "last_12_months"}, today) == Period(D(2025, 3, 1), today, "last_12_months")
    assert statement.read_period({"period": "last_12_months"}, D(2024, 2, 29)).start == D(2023, 3, 1)
    assert statement.read_period({"from": "2025-05-01", "to": "2025-06-30"}, today) == Period(D(2025, 5, 1),
                                                                                             D(2025, 6, 30))
    assert statement.read_period({"to": "2025-06-30"}, today).start == D(2025, 1, 1)
    assert statement.read_period({"from": "2026-02-01"}, today).end == today


@pytest.mark.parametrize("args, code", [
    ({"from": "2026-13-01", "to": "2026-12-31"}, "bad_date"),
    ({"from": "yesterday"}, "bad_date"),
    ({"from": "0001-01-01", "to": "2026-01-01"}, "bad_date"),
    ({"from": "2026-02-01", "to": "2026-01-01"}, "bad_period"),
    ({"from": "2000-01-01", "to": "2026-01-01"}, "period_too_long"),
    ({"period": "forever"}, "bad_period"),
])
def test_bad_periods_are_refused_with_a_message(args, code):
    with pytest.raises(Refused) as refused:
        statement.read_period(args, D(2026, 2, 28))
    assert refused.value.code == code and str(refused.value.message)


# --- the portal page and its PDF ------------------------------------------------------------------

def pdf_text(data, tmp_path):
    assert data.startswith(b"%PDF-")
    path = tmp_path / "statement.pdf"
    path.write_bytes(data)
    out = subprocess.run([shutil.which("pdftotext"), "-layout", str(path), "-"], capture_output=True, check=True)
    return " ".join(out.stdout.decode().replace("\xa0", " ").replace("\u202f", " ").split())


PERIOD = {"from": "2026-01-01", "to": "2026-03-31"}


def test_the_page_shows_the_statement_in_the_persons_locale(app, auth, worked):
    me = auth.login(worked["person"])
    page = soup(me.get("/statement", query_string=PERIOD))
    assert page.select_one("#closing-EUR").text.replace("\xa0", " ") == "1.234,56 €"
    assert page.select_one("#opening-EUR").text.replace("\xa0", " ") == "600,00 €"
    assert page.select_one("#aging-EUR-31_60").text.replace("\xa0", " ") == "834,56 €"
    assert page.select_one("#closing-USD").text.replace("\xa0", " ") == "750,00 US$"
    assert page.select_one(f"#entry-invoice-{worked['void'].id} s") is not None   # voided: struck through
    assert page.select_one(f"#entry-invoice-{worked['b'].id} a")["href"] == f"/documents/{worked['b'].id}"
    text = page.get_text()
    assert "X-2026-0777" not in text and "Otra Empresa" not in text and "7.777,00" not in text
    assert page.select_one("#statement-pdf")["href"] == "/statement.pdf?from=2026-01-01&to=2026-03-31"


def test_the_period_switches_by_htmx_and_by_plain_links(app, auth, worked):
    me = auth.login(worked["person"])
    fragment = me.get("/statement?period=last_year", headers=HX)
    assert "HX-Request" in fragment.headers["Vary"]
    html = soup(fragment)
    assert html.select_one("section#statement") and not html.select_one("h1")
    assert html.select_one("#period-last_year")["aria-current"] == "page"
    assert html.select_one("#closing-EUR").text.replace("\xa0", " ") == "600,00 €"
    whole = soup(me.get("/statement?period=last_year"))
    assert whole.select_one("h1") and whole.select_one("#period-last_year")["href"] == "/statement?period=last_year"
    form = whole.select_one("form#statement-dates")
    assert form["method"] == "get" and form["action"] == "/statement" and form["hx-get"] == "/statement"
    assert {i["name"] for i in form.select("input")} == {"from", "to"}


@pytest.mark.parametrize("query", ["from=2026-02-30&to=2026-03-01", "from=2026-03-01&to=2026-01-01",
                                   "from=1990-01-01&to=2026-01-01", "from=%3Cscript%3E", "period=ever"])
def test_bad_dates_answer_a_message_and_break_nothing(app, auth, worked, query):
    me = auth.login(worked["person"])
    for url, headers in ((f"/statement?{query}", None), (f"/statement?{query}", HX), (f"/statement.pdf?{query}", None)):
        resp = me.get(url, headers=headers)
        assert resp.status_code == 422, url
        page = soup(resp)
        assert page.select_one("#statement-error").text.strip()
        assert page.select_one("#statement-sheet") is None
        assert "<script>" not in resp.get_data(as_text=True)


def test_the_summary_links_to_the_statement_and_the_payments(app, auth, worked):
    home = soup(auth.login(worked["person"]).get("/"))
    assert home.select_one("#link-statement")["href"] == "/statement"
    assert home.select_one("#link-payments")["href"] == "/payments"


def test_the_pdf_holds_the_closing_balance_in_the_customers_language(app, auth, worked, tmp_path):
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "cache")
    me = auth.login(worked["person"])
    resp = me.get("/statement.pdf", query_string=PERIOD)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Cache-Control"] == "no-store"
    text = pdf_text(resp.data, tmp_path)
    assert "1.234,56 €" in text and "750,00 US$" in text
    assert "Extracto de cuenta" in text or "Statement of account" in text
    assert "Taller Martínez S.L." in text and "B12345678" in text and "Talleres Ruiz" in text
    assert "X-2026-0777" not in text and "Otra Empresa" not in text
    # Cached per period and data version: the same statement is served again, a new payment is new.
    from app import pdf
    renders = pdf.RENDERS
    again = me.get("/statement.pdf", query_string=PERIOD)
    assert again.data == resp.data and pdf.RENDERS == renders
    assert me.get("/statement.pdf", query_string=PERIOD,
                  headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304
    with app.test_request_context():
        documents.record_manual_payment(Document.get_by_id(worked["b"].id), 100, D(2026, 3, 30), "", By())
    changed = me.get("/statement.pdf", query_string=PERIOD)
    assert changed.headers["ETag"] != resp.headers["ETag"] and pdf.RENDERS == renders + 1
    assert "1.233,56 €" in pdf_text(changed.data, tmp_path)


def test_another_contacts_person_sees_only_their_own(app, auth, worked):
    them = auth.login(make_person(worked["other"], password=PASSWORD))
    page = soup(them.get("/statement", query_string=PERIOD))
    assert page.select_one("#closing-EUR").text.replace("\xa0", " ") in ("7.777,00 €", "€7,777.00")
    assert page.select_one("#closing-USD") is None
    assert "F-2026-0001" not in page.get_text()


def test_signed_out_people_are_sent_to_sign_in(client):
    for url in ("/statement", "/statement.pdf", "/payments"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# --- the back-office ------------------------------------------------------------------------------

def test_staff_see_the_statement_and_its_pdf_in_the_contacts_language(app, staff, worked, tmp_path):
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "cache")
    contact = worked["contact"]
    show = soup(staff.get(f"/staff/contacts/{contact.id}"))
    assert show.select_one("#contact-statement")["href"] == f"/staff/contacts/{contact.id}/statement"
    page = staff.get(f"/staff/contacts/{contact.id}/statement", query_string=PERIOD)
    assert page.status_code == 200
    html = soup(page)
    assert html.select_one(f"#entry-invoice-{worked['b'].id} a")["href"] == f"/staff/documents/{worked['b'].id}"
    assert html.select_one("#statement-mail-form")
    resp = staff.get(f"/staff/contacts/{contact.id}/statement.pdf", query_string=PERIOD)
    assert resp.status_code == 200
    assert "1.234,56 €" in pdf_text(resp.data, tmp_path)   # the contact's person writes Spanish
    assert staff.get("/staff/contacts/999999/statement").status_code == 404


def test_staff_mail_the_statement_to_each_person_with_the_pdf(app, staff, worked, outbox, tmp_path):
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "cache")
    contact = worked["contact"]
    make_person(contact, name="John Smith", email="john@example.com", language="en")
    make_person(contact, name="Gone", email="gone@example.com", active=False)
    staff.get(f"/staff/contacts/{contact.id}/statement", query_string=PERIOD)
    resp = staff.post(f"/staff/contacts/{contact.id}/statement/mail", PERIOD)
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/staff/contacts/{contact.id}/statement?from=2026-01-01&to=2026-03-31")
    mails = outbox()
    assert sorted(m.rcpt_tos[0] for m in mails) == sorted([worked["person"].email, "john@example.com"])
    for mail in mails:
        [attachment] = [part for part in mail.message.iter_attachments()]
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_filename() == "statement-2026-01-01-2026-03-31.pdf"
        text = pdf_text(attachment.get_content(), tmp_path)
        if mail.rcpt_tos[0] == "john@example.com":
            assert "€1,234.56" in text and "Closing balance" in mail.text
        else:
            assert "1.234,56 €" in text and "1.234,56 €" in mail.text.replace("\xa0", " ")
    assert Activity.select().where((Activity.contact == contact) & (Activity.action == "statement_mailed")).count() == 1


def test_mailing_a_contact_without_people_changes_nothing(app, staff, outbox):
    contact = make_contact(name="Nadie")
    resp = staff.post(f"/staff/contacts/{contact.id}/statement/mail", {"period": "this_year"})
    assert resp.status_code == 422
    assert soup(resp).select_one("#mail-error").text.strip()
    assert outbox() == []


# --- the API ------------------------------------------------------------------------------------

@pytest.fixture
def api(app, client):
    from app.api.auth import create_token
    return Api(client, create_token("Accounting")[0])


def test_the_api_answers_the_statement_as_json(api, worked):
    contact = worked["contact"]
    resp = api.get(f"/contacts/{contact.id}/statement", query_string=PERIOD)
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["contact_id"], body["from"], body["to"], body["period"]) == (contact.id, "2026-01-01",
                                                                              "2026-03-31", "custom")
    eur, usd = body["currencies"]
    assert (eur["currency"], eur["opening_balance"], eur["closing_balance"]) == ("EUR", 60000, 123456)
    assert [e["balance"] for e in eur["entries"]] == [178456, 168456, 148456, 118456, 118456, 123456]
    assert eur["entries"][4]["voided"] is True and eur["entries"][4]["total"] == 7000
    assert eur["entries"][5]["type"] == "refund" and eur["entries"][5]["documents"][0]["number"] == "F-2026-0001"
    assert eur["aging"] == {"not_due": 0, "1_30": 0, "31_60": 83456, "61_90": 40000, "over_90": 0, "total": 123456}
    assert (usd["currency"], usd["closing_balance"]) == ("USD", 75000)
    assert "X-2026-0777" not in resp.get_data(as_text=True)


def test_the_api_pdf(api, app, worked, tmp_path):
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "cache")
    resp = api.get(f"/contacts/{worked['contact'].id}/statement.pdf", query_string=PERIOD)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.headers["ETag"]
    assert "1.234,56 €" in pdf_text(resp.data, tmp_path)


def test_the_api_refuses_without_a_token_bad_parameters_and_unknown_contacts(api, client, worked):
    contact = worked["contact"]
    for suffix in ("statement", "statement.pdf"):
        assert client.get(f"/api/v1/contacts/{contact.id}/statement").status_code == 401
        bad = api.get(f"/contacts/{contact.id}/{suffix}?from=2026-02-30")
        assert bad.status_code == 400 and "from" in bad.get_json()["error"]["fields"]
        assert api.get(f"/contacts/{contact.id}/{suffix}?since=2026-01-01").status_code == 400
        backwards = api.get(f"/contacts/{contact.id}/{suffix}?from=2026-03-01&to=2026-01-01")
        assert backwards.status_code == 409 and backwards.get_json()["error"]["code"] == "bad_period"
        assert api.get(f"/contacts/{contact.id}/{suffix}?from=1990-01-01&to=2026-01-01"
                       ).get_json()["error"]["code"] == "period_too_long"
        missing = api.get(f"/contacts/999999/{suffix}")
        assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
