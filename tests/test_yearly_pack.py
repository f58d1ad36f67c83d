"""The yearly pack (issue 19): a ZIP of a year's issued invoices and credit notes as PDFs with
index.csv, built by the job queue and mailed as a link, for the person and for the accountant;
the CSV's sums equal the documents'; formula-like text is quoted; the download is scoped."""
import csv
import datetime
import io
import re
import zipfile
from decimal import Decimal

import pytest

from app import accountants, einvoice, statement, yearly_pack
from app.models import CREDIT_NOTE, INVOICE, Document, YearlyPack, utcnow
from app.money import to_decimal
from tests.conftest import Browser
from tests.factories import make_contact, make_document, make_person, settings
from tests.smtp import smtp_server  # noqa: F401

YEAR = datetime.date.today().year - 1
PACK_LINK = re.compile(r"http://portal\.test(/packs/\d+)")


def year_sums_from_documents(contact, year):
    """What index.csv's columns must add up to, from the documents themselves: {"net", "total",
    "paid", and each tax "NAME RATE%"} in the currency's units; credit notes count negative.
    (After merging, this can ask the statement service instead.)"""
    sums = {"net": Decimal(0), "total": Decimal(0), "paid": Decimal(0)}
    docs = (Document.select().where((Document.contact == contact) & Document.kind.in_((INVOICE, CREDIT_NOTE))
                                    & Document.status.not_in(("draft", "void"))
                                    & (Document.issue_date.year == year)))
    for doc in docs:
        sign = -1 if doc.kind == CREDIT_NOTE else 1
        sums["net"] += sign * to_decimal(doc.subtotal, doc.currency)
        sums["total"] += sign * to_decimal(doc.total, doc.currency)
        sums["paid"] += to_decimal(doc.amount_paid, doc.currency) if doc.kind == INVOICE else 0
        for name, rate, _base, amount in doc.tax_breakdown():
            key = f"{name} {rate / 100:g}%"
            sums[key] = sums.get(key, Decimal(0)) + sign * to_decimal(amount, doc.currency)
    return sums


@pytest.fixture
def year_docs(app):
    """A contact's year: invoices with VAT at two rates and a withholding, one partly paid, one
    whose number looks like a formula, a credit note; and what must stay out (the year before,
    a draft, a void invoice, a quote, another contact's invoice)."""
    contact = make_contact(name="=HYPERLINK(\"http://evil\")")
    day = datetime.date(YEAR, 3, 15)
    work = [("Obra", 2000, 10000, 0, [("IVA", 2100), ("IRPF", -1500)])]
    first = make_document(contact, number=f"F-{YEAR}-0001", issue_date=day, lines=work, amount_paid=5000)
    second = make_document(contact, number="=1+2", issue_date=day + datetime.timedelta(days=30),
                           lines=[("Material", 3000, 1999, 1000, [("IVA", 1000)]),
                                  ("Tasa", 1000, 500, 0, [("+Tasa", 500)])])
    note = make_document(contact, kind="credit_note", status="issued", number=f"R-{YEAR}-0001",
                         issue_date=day + datetime.timedelta(days=40), source=first,
                         lines=[("Devolución", 1000, 10000, 0, [("IVA", 2100), ("IRPF", -1500)])])
    make_document(contact, number=f"F-{YEAR - 1}-0009", issue_date=datetime.date(YEAR - 1, 12, 31))
    make_document(contact, status="draft", issue_date=day)
    make_document(contact, status="void", number=f"F-{YEAR}-0003", issue_date=day)
    make_document(contact, kind="quote", number=f"P-{YEAR}-0001", issue_date=day)
    make_document(make_contact(), number=f"F-{YEAR}-0777", issue_date=day)
    return contact, [first, second, note]


def _fetch_pack(outbox, recipient):
    """Run the queue (the pack's job, then the mail it queues) and follow the mailed link."""
    outbox()
    mails = [m for m in outbox() if recipient in m.message["To"]]
    assert mails, "no mail with the pack's link"
    return PACK_LINK.search(mails[-1].text).group(1)


def _read_csv(data):
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_person_gets_a_zip_of_the_years_documents_and_an_index_that_adds_up(app, auth, outbox, year_docs):
    contact, docs = year_docs
    person = auth.login_new_person(contact)
    page = person.get("/account/")
    assert f'value="{YEAR}"' in page.get_data(as_text=True)
    resp = person.post("/packs/", {"year": str(YEAR)})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/account/#yearly-pack")
    assert YearlyPack.get().status == "queued"

    url = _fetch_pack(outbox, person.person.email)
    pack = YearlyPack.get()
    assert pack.status == "ready" and pack.files == 3 and url == f"/packs/{pack.id}"
    download = person.get(url)
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert download.headers["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    names = sorted(archive.namelist())
    assert names == sorted([f"F-{YEAR}-0001.pdf", "1_2.pdf", f"R-{YEAR}-0001.pdf", "index.csv"])
    for name in names[:-1] if names[-1] == "index.csv" else names:
        if name.endswith(".pdf"):
            assert archive.read(name).startswith(b"%PDF-")

    rows = _read_csv(archive.read("index.csv"))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["Number", "Kind", "Date", "Currency", "Net"] and header[-2:] == ["Total", "Paid"]
    assert [r[0] for r in body] == [f"F-{YEAR}-0001", "'=1+2", f"R-{YEAR}-0001"]   # formula quoted
    assert "'+Tasa 5%" in header                                                   # in a tax name too
    assert body[2][1] == "Credit note" and body[0][2] == f"{YEAR}-03-15"

    expected = year_sums_from_documents(contact, YEAR)
    column = {name: i for i, name in enumerate(header)}
    got = {name: sum(Decimal(r[column[name]]) for r in body) for name in ("Net", "Total", "Paid")}
    assert got == {"Net": expected["net"], "Total": expected["total"], "Paid": expected["paid"]}
    taxes = {name.lstrip("'"): sum(Decimal(r[i]) for r in body) for name, i in column.items()
             if name not in ("Number", "Kind", "Date", "Currency", "Net", "Total", "Paid")}
    assert taxes == {k: v for k, v in expected.items() if k not in ("net", "total", "paid")}
    assert taxes["IRPF -15%"] < 0 and Decimal(body[2][column["Total"]]) < 0
    # The statement of the same year agrees: invoiced less credited is the index's total.
    year = statement.Period(datetime.date(YEAR, 1, 1), datetime.date(YEAR, 12, 31))
    [section] = statement.build(contact, year, today=datetime.date(YEAR, 12, 31)).sections
    assert got["Total"] == to_decimal(section.invoiced - section.credited, section.currency)


def test_the_pack_carries_each_e_invoice_beside_its_pdf(app, auth, outbox, year_docs):
    settings(country="ES", tax_id="B98123458")
    contact, docs = year_docs
    person = auth.login_new_person(contact)
    person.get("/account/")
    person.post("/packs/", {"year": str(YEAR)})
    archive = zipfile.ZipFile(io.BytesIO(person.get(_fetch_pack(outbox, person.person.email)).data))
    xml = archive.read(f"F-{YEAR}-0001.xml")
    with app.app_context():
        assert xml == einvoice.xml(Document.get_by_id(docs[0].id))
    names = archive.namelist()
    assert sorted(n[:-4] for n in names if n.endswith(".xml")) == sorted(n[:-4] for n in names if n.endswith(".pdf"))


def test_the_accountant_prepares_the_pack_and_the_download_keeps_the_scope(app, auth, outbox, year_docs):
    contact, _docs = year_docs
    with app.app_context():
        token, link = accountants.create(make_person(contact=contact), "gestor@example.com", 30)
    accountant = Browser(app.test_client())
    accountant.get(f"/accountant/open/{token}")
    accountant.post(f"/accountant/open/{token}")
    accountant.get("/accountant/")
    resp = accountant.post("/packs/", {"year": str(YEAR)})
    assert resp.status_code == 303 and resp.headers["Location"] == "/accountant/"
    pack = YearlyPack.get()
    assert pack.link_id == link.id and pack.email == "gestor@example.com" and pack.person_id is None

    url = _fetch_pack(outbox, "gestor@example.com")
    assert accountant.get(url).status_code == 200
    home = accountant.get("/accountant/").get_data(as_text=True)
    assert f'id="pack-download-{pack.id}"' in home
    # Not signed in: the sign-in page. Another contact's person: 404. An expired pack: 404.
    assert Browser(app.test_client()).get(url).status_code == 302
    assert auth.login_new_person(make_contact()).get(url).status_code == 404
    YearlyPack.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).execute()
    assert accountant.get(url).status_code == 404


def test_a_year_not_offered_is_refused_and_packs_are_bounded(app, auth, year_docs):
    contact, _docs = year_docs
    person = auth.login_new_person(contact)
    for bad in ("1999", "abc", str(YEAR + 2)):
        person.post("/packs/", {"year": bad})
    assert YearlyPack.select().count() == 0
    person.post("/packs/", {"year": str(YEAR)})
    person.post("/packs/", {"year": str(YEAR)})   # the same year still being prepared: the same pack
    assert YearlyPack.select().count() == 1
    for year in (YEAR - 1, YEAR - 2, YEAR - 3):
        person.post("/packs/", {"year": str(year)})
    assert YearlyPack.select().where(YearlyPack.contact == contact).count() == yearly_pack.MAX_KEPT


def test_the_index_is_empty_but_valid_for_a_year_without_documents(app, year_docs):
    contact, _docs = year_docs
    with app.app_context():
        data, count = yearly_pack.build_zip(contact, YEAR - 5, "en")
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert count == 0 and archive.namelist() == ["index.csv"]
    assert len(_read_csv(archive.read("index.csv"))) == 1
