"""Document PDFs: valid, in the person's language, paginated, fetching nothing, cached by version."""
import http.server
import io
import os
import subprocess
import threading
import time
import re
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup
from flask import render_template
from flask_babel import force_locale
from PIL import Image

from app import pdf
from app.models import Activity, Document, Settings
from tests.conftest import without_csrf
from tests.factories import make_contact, make_document, settings

ONE_LINE = [("Maintenance work", 1000, 123456, 0, [])]   # total 1234.56, no tax


@pytest.fixture
def cache_dir(app, tmp_path):
    folder = tmp_path / "pdf-cache"
    app.config["PDF_CACHE_DIR"] = str(folder)
    return folder


def pdf_text(data, tmp_path, name="doc.pdf"):
    """The PDF's text through poppler's pdftotext; pages are separated by form feeds."""
    assert data.startswith(b"%PDF-")
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout
    return out.replace("\u00a0", " ").replace("\u202f", " ")


def squash(text):
    return " ".join(text.split())


def disposition_filenames(header):
    """(filename, decoded filename* or None) of a Content-Disposition header."""
    plain = re.fullmatch(r'attachment; filename="([^"]*)"(?:; filename\*=UTF-8\'\'([^;\s]*))?', header)
    assert plain, header
    return plain.group(1), unquote(plain.group(2)) if plain.group(2) else None


# --- the content --------------------------------------------------------------------------

@pytest.mark.parametrize("language, total, kind", [("es", "1.234,56 €", "Factura"), ("en", "€1,234.56", "Invoice")])
def test_pdf_is_valid_and_speaks_the_persons_language(app, auth, cache_dir, tmp_path, language, total, kind):
    settings(name="Ferretería López S.L.", tax_id="B12345678")
    browser = auth.login_new_person(language=language)
    doc = make_document(browser.person.contact, number="F-2026-0042", lines=ONE_LINE)
    resp = browser.get(f"/documents/{doc.id}/pdf")
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="F-2026-0042.pdf"'
    etag = resp.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    text = pdf_text(resp.data, tmp_path)
    assert "F-2026-0042" in text
    assert total in text
    assert "Ferretería López S.L." in text
    assert kind in text
    assert "Maintenance work" in text
    assert Activity.select().where((Activity.document == doc) & (Activity.action == "downloaded")
                                   & (Activity.person == browser.person.id)).count() == 1


def test_logo_is_embedded(app, auth, cache_dir, tmp_path):
    png = io.BytesIO()
    Image.new("RGB", (120, 40), (79, 70, 229)).save(png, "PNG")
    settings(logo=png.getvalue(), logo_type="image/png")
    browser = auth.login_new_person(language="en")
    doc = make_document(browser.person.contact)
    data = browser.get(f"/documents/{doc.id}/pdf").data
    path = tmp_path / "logo.pdf"
    path.write_bytes(data)
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, check=True, text=True).stdout
    rows = listing.splitlines()[2:]
    assert len(rows) == 1 and rows[0].split()[3:5] == ["120", "40"]


@pytest.mark.parametrize("language, header, label", [("en", "DESCRIPTION", "Page {} of {}"),
                                                     ("es", "DESCRIPCIÓN", "Página {} de {}")])
def test_long_document_repeats_the_header_and_numbers_pages(app, auth, cache_dir, tmp_path,
                                                            language, header, label):
    browser = auth.login_new_person(language=language)
    # Four rows each: default widows and orphans (2) alone would let a line split 2 + 2.
    lines = [(f"Item {i:02d}\nsize M\ncolour blue\nDetail {i:02d}", 1000, 1000, 0, []) for i in range(60)]
    doc = make_document(browser.person.contact, lines=lines)
    text = pdf_text(browser.get(f"/documents/{doc.id}/pdf").data, tmp_path)
    pages = text.split("\f")[:-1]
    assert len(pages) >= 3
    seen = []
    for number, page in enumerate(pages, 1):
        assert header in page   # the CSS writes the header row in capitals
        assert label.format(number, len(pages)) in squash(page)
        items = [i for i in range(60) if f"Item {i:02d}" in page]
        # A line is never cut in two: its last row is on the same page as its first.
        assert all(f"Detail {i:02d}" in page for i in items)
        seen += items
    assert seen == list(range(60))


# --- nothing is fetched ------------------------------------------------------------------------

class _Recorder(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_spy():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_urls_typed_into_a_document_are_text_and_never_fetched(app, auth, cache_dir, tmp_path, http_spy):
    base = f"http://127.0.0.1:{http_spy.server_address[1]}"
    note = f'<img src="{base}/img">'
    css_note = f"<style>body {{ background: url({base}/css) }}</style>"
    browser = auth.login_new_person(language="en")
    doc = make_document(browser.person.contact, notes=note + "\n" + css_note, reference=f'<link href="{base}/l">',
                        lines=[(f"<img src='{base}/line'> url({base}/bg)", 1000, 500, 0, [])])
    with app.test_request_context():
        html = render_template("pdf/document.html", **pdf.pdf_context(doc, Settings.get_solo()))
    page = BeautifulSoup(html, "html.parser")   # what the renderer parses: the note is text in it
    assert page.find("img") is None and page.find("link") is None and len(page.find_all("style")) == 1
    resp = browser.get(f"/documents/{doc.id}/pdf")
    assert resp.status_code == 200
    text = squash(pdf_text(resp.data, tmp_path))
    assert http_spy.requests == []
    assert note in text and css_note in text
    # The spy does see a request when one is made: its silence above means something.
    import urllib.request
    urllib.request.urlopen(base + "/probe", timeout=5).close()
    assert http_spy.requests == ["/probe"]


def test_renderer_loads_nothing_but_the_logo(app, tmp_path, http_spy):
    """The fetcher itself, on markup that would load things if it were parsed as HTML."""
    base = f"http://127.0.0.1:{http_spy.server_address[1]}"
    secret = tmp_path / "secret.css"
    secret.write_text("body { background: red }")
    html = (f'<link rel="stylesheet" href="{base}/link.css"><link rel="stylesheet" href="file://{secret}">'
            f'<style>@import url({base}/import.css); body {{ background: url({base}/bg.png) }}'
            f'</style>'
            f'<p>Text</p><img src="{base}/img.png"><img src="file:///etc/passwd"><img src="{pdf.LOGO_URL}">'
            f'<iframe src="{base}/frame"></iframe><object data="{base}/object"></object>')
    png = io.BytesIO()
    Image.new("RGB", (30, 10)).save(png, "PNG")
    with app.test_request_context():
        data = pdf.render_html(html, logo=(png.getvalue(), "image/png"))
        without_logo = pdf.render_html(html)
    assert data.startswith(b"%PDF-") and http_spy.requests == []
    images = []
    for name, content in (("with.pdf", data), ("without.pdf", without_logo)):
        (tmp_path / name).write_bytes(content)
        listing = subprocess.run(["pdfimages", "-list", str(tmp_path / name)], capture_output=True,
                                 check=True, text=True).stdout
        images.append(len(listing.splitlines()[2:]))
    assert images == [1, 0]   # the logo, and nothing else


def png_of(width, height):
    data = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(data, "PNG")
    return data.getvalue()


def image_sizes(data, tmp_path, name):
    """(width, height) of each image in the PDF, through poppler's pdfimages."""
    (tmp_path / name).write_bytes(data)
    listing = subprocess.run(["pdfimages", "-list", str(tmp_path / name)], capture_output=True, check=True,
                             text=True).stdout
    return [(int(row.split()[3]), int(row.split()[4])) for row in listing.splitlines()[2:]]


def test_renders_reuse_the_stylesheet_the_fonts_and_the_decoded_logo_and_a_new_logo_shows(
        app, auth, cache_dir, tmp_path):
    """What a render parses once per process (app/pdf.py): the stylesheet, the fonts, and each
    logo by its hash; a logo changed in the settings is the one the next render shows."""
    settings(logo=png_of(30, 10))
    browser = auth.login_new_person(language="en")
    one, two, three = (make_document(browser.person.contact) for _ in range(3))
    first = browser.get(f"/documents/{one.id}/pdf").data
    css, fonts = pdf._shared["css"], pdf._shared["font_config"]
    old_hash = Settings.get_solo().logo_hash
    decoded = dict(pdf._shared["images"][old_hash])   # WeasyPrint's image cache of this logo
    assert decoded[pdf.LOGO_URL] is not None

    second = browser.get(f"/documents/{two.id}/pdf").data
    assert pdf._shared["css"] is css and pdf._shared["font_config"] is fonts
    assert pdf._shared["images"][old_hash][pdf.LOGO_URL] is decoded[pdf.LOGO_URL]   # not decoded again
    assert image_sizes(first, tmp_path, "1.pdf") == image_sizes(second, tmp_path, "2.pdf") == [(30, 10)]

    settings(logo=png_of(40, 20))
    third = browser.get(f"/documents/{three.id}/pdf").data
    again = browser.get(f"/documents/{one.id}/pdf").data   # a draft-like document: today's logo
    assert image_sizes(third, tmp_path, "3.pdf") == image_sizes(again, tmp_path, "4.pdf") == [(40, 20)]
    assert pdf._shared["css"] is css
    assert pdf._shared["images"][Settings.get_solo().logo_hash][pdf.LOGO_URL] is not decoded[pdf.LOGO_URL]


# --- the cache ---------------------------------------------------------------------------------

def test_second_download_comes_from_the_cache_and_a_new_version_renders_anew(app, auth, cache_dir, tmp_path):
    browser = auth.login_new_person(language="en")
    doc = make_document(browser.person.contact)
    url = f"/documents/{doc.id}/pdf"
    before = pdf.RENDERS
    first = browser.get(url)
    assert pdf.RENDERS == before + 1
    second = browser.get(url)
    assert pdf.RENDERS == before + 1
    assert second.data == first.data and second.headers["ETag"] == first.headers["ETag"]
    assert len(os.listdir(cache_dir)) == 1

    for tag in (first.headers["ETag"], "W/" + first.headers["ETag"], f'"other", {first.headers["ETag"]}'):
        not_modified = browser.get(url, headers={"If-None-Match": tag})
        assert not_modified.status_code == 304 and not_modified.data == b""
        assert not_modified.headers["ETag"] == first.headers["ETag"]
    assert browser.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200
    assert pdf.RENDERS == before + 1

    Document.update(version=Document.version + 1).where(Document.id == doc.id).execute()
    third = browser.get(url)
    assert third.status_code == 200 and third.headers["ETag"] != first.headers["ETag"]
    assert pdf.RENDERS == before + 2
    assert len(os.listdir(cache_dir)) == 1, "only the newest version of a document is kept"
    assert browser.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 200


def test_business_details_and_payments_change_the_pdf(app, auth, cache_dir, tmp_path):
    browser = auth.login_new_person(language="en")
    doc = make_document(browser.person.contact, lines=ONE_LINE)
    url = f"/documents/{doc.id}/pdf"
    etags = [browser.get(url).headers["ETag"]]
    settings(name="Renamed Business Ltd")
    resp = browser.get(url)
    etags.append(resp.headers["ETag"])
    assert "Renamed Business Ltd" in pdf_text(resp.data, tmp_path)
    # A payment does not bump the version, but the sheet shows the amount due.
    Document.update(amount_paid=23456).where(Document.id == doc.id).execute()
    resp = browser.get(url)
    etags.append(resp.headers["ETag"])
    assert "€1,000.00" in pdf_text(resp.data, tmp_path)
    assert len(set(etags)) == 3


def test_cache_keeps_a_bounded_number_of_files(app, auth, cache_dir):
    app.config["PDF_CACHE_MAX_FILES"] = 2
    browser = auth.login_new_person(language="en")
    docs = [make_document(browser.person.contact) for _ in range(3)]
    for age, doc in zip((300, 200, 0), docs):
        assert browser.get(f"/documents/{doc.id}/pdf").status_code == 200
        [path] = cache_dir.glob(f"{doc.id}-*.pdf")
        os.utime(path, (time.time() - age, time.time() - age))   # written in that order, clearly
    (cache_dir / ".tmp-left-by-a-killed-worker.pdf").write_bytes(b"%PDF-")
    os.utime(cache_dir / ".tmp-left-by-a-killed-worker.pdf", (0, 0))
    assert browser.get(f"/documents/{docs[0].id}/pdf").status_code == 200   # rendered again, written
    names = sorted(os.listdir(cache_dir))
    assert len(names) == 2 and not any(n.startswith(f"{docs[1].id}-") for n in names), names


def test_renders_are_deterministic_so_servers_agree_on_the_etag(app, cache_dir):
    doc = make_document()
    with app.test_request_context():
        s = Settings.get_solo()
        assert pdf.render_document(doc, "en", s) == pdf.render_document(doc, "en", s)


# --- access and the file name ------------------------------------------------------------------

def test_other_contacts_document_draft_and_unknown_id_get_the_same_404(app, auth, cache_dir):
    browser = auth.login_new_person(language="en")
    other = make_document(make_contact())
    draft = make_document(browser.person.contact, status="draft")
    answers = [browser.get(f"/documents/{doc_id}/pdf") for doc_id in (other.id, draft.id, 999999)]
    assert {r.status_code for r in answers} == {404}
    assert len({without_csrf(r) for r in answers}) == 1
    assert not any(r.mimetype == "application/pdf" for r in answers)
    assert Activity.select().where(Activity.action == "downloaded").count() == 0


def test_portal_pdf_requires_sign_in(client, cache_dir):
    doc = make_document()
    resp = client.get(f"/documents/{doc.id}/pdf")
    assert resp.status_code in (302, 303) and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("number, ascii_name, utf8_name", [
    ('F/2026"\n0001', "F_2026_0001.pdf", None),
    ("../..\\etc/passwd", "etc_passwd.pdf", None),
    ("Fáctura Ñ-7;x=1", "F_ctura_-7_x_1.pdf", "Fáctura_Ñ-7_x_1.pdf"),
    ('"\r\n/', "document.pdf", None),
])
def test_file_name_is_safe_for_any_number(app, auth, cache_dir, number, ascii_name, utf8_name):
    browser = auth.login_new_person(language="en")
    doc = make_document(browser.person.contact, number=number)
    resp = browser.get(f"/documents/{doc.id}/pdf")
    header = resp.headers["Content-Disposition"]
    assert header.startswith("attachment; ")
    assert "\n" not in header and "\r" not in header and "/" not in header and "\\" not in header
    assert header.count('"') == 2
    assert disposition_filenames(header) == (ascii_name, utf8_name)


def test_staff_route_requires_staff_sign_in(app, client, auth, cache_dir):
    doc = make_document(lines=ONE_LINE)
    url = f"/staff/documents/{doc.id}/pdf"
    anonymous = client.get(url)
    assert anonymous.status_code in (302, 303) and "/staff/login" in anonymous.headers["Location"]
    browser = auth.login_new_person(doc.contact, language="en")   # a portal person is not staff
    resp = browser.get(url)
    assert resp.status_code in (302, 303) and "/staff/login" in resp.headers["Location"]


def test_staff_download_in_the_contacts_language_drafts_too(app, staff, cache_dir, tmp_path):
    contact = make_contact(language="es")
    doc = make_document(contact, lines=ONE_LINE, status="draft", number="B-1")
    resp = staff.get(f"/staff/documents/{doc.id}/pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Cache-Control"] == "no-store"
    text = pdf_text(resp.data, tmp_path)
    assert "1.234,56 €" in text and "Factura" in text and "B-1" in text
    assert Activity.select().where(Activity.action == "downloaded").count() == 0
    assert staff.get("/staff/documents/999999/pdf").status_code == 404


def test_staff_and_portal_share_the_cached_file(app, auth, client, staff, cache_dir):
    contact = make_contact(language="en")
    doc = make_document(contact)
    before = pdf.RENDERS
    from_staff = staff.get(f"/staff/documents/{doc.id}/pdf")
    browser = auth.login_new_person(contact, language="en")
    from_portal = browser.get(f"/documents/{doc.id}/pdf")
    assert from_staff.headers["ETag"] == from_portal.headers["ETag"]
    assert pdf.RENDERS == before + 1


def test_page_label_is_translated_css_that_nothing_can_break_out_of(app):
    with app.test_request_context(), force_locale("en"):
        assert pdf.page_label_css() == '"Page " counter(page) " of " counter(pages)'
    escaped = pdf.css_string('a "b" \\ </style>\n')
    assert escaped.startswith('"a ') and escaped.endswith('"')
    assert not re.search(r'["<>\n]', escaped[1:-1].replace("\\", ""))
    assert escaped.count("\\") == 7     # the quotes, the backslash, < / > and the newline
