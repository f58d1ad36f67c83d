"""Issued means frozen: renaming the contact, moving the business or changing its logo leaves
an issued document's page, print view and PDF (text and ETag) as they were issued."""
import subprocess

import pytest

from app.api.auth import create_token
from app.models import Contact, Document, Settings
from tests.conftest import soup
from tests.factories import make_contact, make_document, png_bytes, settings

ONE_LINE = [("Maintenance work", 1000, 123456, 0, [("IVA", 2100)])]


@pytest.fixture
def cache_dir(app, tmp_path):
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "pdf-cache")


@pytest.fixture
def api(client):
    headers = {"Authorization": "Bearer " + create_token("ERP")[0]}

    class Api:
        def get(self, url):
            return client.get("/api/v1" + url, headers=headers)

        def post(self, url, json=None):
            return client.post("/api/v1" + url, json=json or {}, headers=headers)

        def patch(self, url, json):
            return client.patch("/api/v1" + url, json=json, headers=headers)
    return Api()


def text_of(data, tmp_path):
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout
    return out.replace("\u00a0", " ")


def test_renamed_contact_and_moved_business_leave_the_issued_pdf_and_page_unchanged(
        app, auth, staff, cache_dir, tmp_path):
    settings(name="Old Business SL", address="Calle Vieja 1")
    contact = make_contact(name="Talleres Ruiz", tax_id="B11111111", billing_address="Calle Mayor 5")
    browser = auth.login_new_person(contact, language="en")
    draft = make_document(contact, status="draft", lines=ONE_LINE)
    assert staff.post(f"/staff/documents/{draft.id}/status", {"status": "open"}).status_code == 303
    url = f"/documents/{draft.id}/pdf"
    first = browser.get(url)
    before = text_of(first.data, tmp_path)
    assert "Talleres Ruiz" in before and "Calle Vieja 1" in before

    Contact.update(name="Ruiz Renamed SA", tax_id="B99999999", billing_address="Elsewhere 9").execute()
    settings(name="New Business SL", address="Avenida Nueva 2")
    second = browser.get(url)
    assert second.headers["ETag"] == first.headers["ETag"]
    assert text_of(second.data, tmp_path) == before
    assert browser.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    for page_url in (f"/documents/{draft.id}", f"/documents/{draft.id}/print"):
        sheet = soup(browser.get(page_url)).find(id="doc-sheet").get_text()
        assert "Talleres Ruiz" in sheet and "B11111111" in sheet and "Calle Vieja 1" in sheet
        assert "Renamed" not in sheet and "Avenida Nueva" not in sheet

    # a draft is still being written: it shows today's names
    other = make_document(Contact.get(), status="draft", lines=ONE_LINE)
    assert "Ruiz Renamed SA" in text_of(staff.get(f"/staff/documents/{other.id}/pdf").data, tmp_path)


def test_an_issued_document_keeps_the_logo_it_was_issued_with(app, auth, staff, cache_dir):
    first, second = png_bytes(), png_bytes(300)   # two different logos
    with app.app_context():
        Settings.set_logo(first, "image/png")
    browser = auth.login_new_person(language="en")
    draft = make_document(browser.person.contact, status="draft", lines=ONE_LINE)
    staff.post(f"/staff/documents/{draft.id}/status", {"status": "open"})
    with app.app_context():
        Settings.set_logo(second, "image/png")
    src = soup(browser.get(f"/documents/{draft.id}")).find(class_="sheet-logo")["src"]
    assert "v=" in src
    kept = browser.get(src)
    assert kept.data == first and "immutable" in kept.headers["Cache-Control"]
    assert browser.get("/logo").data == second


def test_through_the_api_alone_an_issued_pdf_keeps_the_old_name(api, cache_dir, tmp_path):
    contact = api.post("/contacts", {"name": "Ferretería Sol", "email": "sol@example.com"}).get_json()
    doc = api.post("/documents", {"kind": "invoice", "contact_id": contact["id"], "issue": True,
                                  "lines": [{"description": "Tornillos", "quantity": 10, "unit_price": 150}]})
    assert doc.status_code == 201, doc.get_json()
    doc = doc.get_json()
    assert doc["status"] == "open" and doc["number"]
    assert api.patch(f"/contacts/{contact['id']}", {"name": "Sol Renombrada SL"}).status_code == 200
    resp = api.get(f"/documents/{doc['id']}/pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = text_of(resp.data, tmp_path)
    assert "Ferretería Sol" in text and "Renombrada" not in text
    assert Document.get_by_id(doc["id"]).snapshot


def test_the_migration_freezes_documents_issued_before_it(tmp_path):
    import json

    from peewee import SqliteDatabase
    from playhouse.migrations import Runner

    from app.cli import MIGRATIONS
    from app.models import DocumentLine, LineTax
    database = SqliteDatabase(str(tmp_path / "old.db"), pragmas={"foreign_keys": 1})
    runner = Runner(database, MIGRATIONS)
    runner.up("0003_number_series")
    import datetime
    from tests.old_schema import insert
    insert(database, Settings, id=1, name="Biz", address="Street 1")
    contact = insert(database, Contact, name="Cliente", tax_id="X1")
    for status in ("open", "draft"):
        doc = insert(database, Document, contact=contact, kind="invoice", number="F-1" if status == "open" else "",
                     status=status, issue_date=datetime.date(2026, 1, 2), currency="EUR",
                     subtotal=1000, tax_total=210, total=1210)
        line = insert(database, DocumentLine, document=doc, position=0, description="Work", qty_milli=1000,
                      unit_price=1000, discount_bp=0, net=1000)
        insert(database, LineTax, line=line, name="IVA", rate_bp=2100)
    runner.up()
    rows = dict(database.execute_sql("SELECT status, snapshot FROM document").fetchall())
    assert rows["draft"] is None
    frozen = json.loads(rows["open"])
    assert frozen["contact"]["name"] == "Cliente" and frozen["business"]["address"] == "Street 1"
    assert frozen["totals"]["total"] == 1210 and frozen["lines"][0]["taxes"] == [["IVA", 2100]]
    database.close()
