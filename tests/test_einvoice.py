"""The e-invoice (CII, EN 16931) of issued invoices and credit notes: valid against the Factur-X
XSD and the CEN business rules, with the totals the document printed."""
import datetime
from decimal import Decimal

import pytest
from lxml import etree

from app import credit_notes, documents, einvoice
from app.credit_notes import Pick
from app.models import Document
from app.rules import By
from tests.einvoice_check import business_rule_failures, xsd_errors
from tests.conftest import soup
from tests.factories import make_contact, make_document, settings

NS = einvoice.NS
MIXED = [
    ("Consulting\nMarch", 2000, 5000, 0, [("IVA", 2100), ("IRPF", -1500)]),   # 100.00, withholding
    ("Books", 3000, 1999, 1000, [("IVA", 400)]),                               # 10 % off: 53.97
    ("Catering", 1500, 2000, 0, [("IVA", 1000)]),                              # 30.00
    ("Postage", 1000, 350, 0, []),                                              # zero rated
]


@pytest.fixture
def business(app):
    with app.app_context():
        yield settings(name="Taller Ñandú, S.L.", tax_id="B12345674", country="ES",
                       address="Calle Mayor 1\n28001 Madrid", email="facturas@taller.test",
                       iban="ES9121000418450200051332", bic="CAIXESBBXXX", invoice_prefix="F",
                       credit_note_prefix="R")


def issued(lines, contact=None, **fields):
    doc = make_document(contact or make_contact(name="Cliente & Hijos", tax_id="FR40303265045",
                                                billing_address="1 rue de Rivoli\n75001 Paris", country="FR"),
                        status="draft", lines=lines, due_date=datetime.date.today() + datetime.timedelta(days=30),
                        reference="PO-77", **fields)
    documents.issue(doc, By())
    return Document.get_by_id(doc.id)


def assert_valid(data):
    assert xsd_errors(data) is None, xsd_errors(data)
    assert business_rule_failures(data) == []


def major(minor):
    return Decimal(minor) / 100


def test_an_invoice_with_mixed_rates_a_discount_a_withholding_and_a_partial_payment_is_valid(business):
    invoice = issued(MIXED)
    assert invoice.apply_payment(5000)
    invoice = Document.get_by_id(invoice.id)
    data = einvoice.xml(invoice)
    assert_valid(data)

    sums = einvoice.totals(invoice)
    withheld = Decimal("15.00")                               # 15 % of 100.00
    assert sums["LineTotalAmount"] == major(invoice.subtotal) == Decimal("187.47")
    assert sums["GrandTotalAmount"] - withheld == major(invoice.total)   # what the PDF prints as total
    assert sums["TotalPrepaidAmount"] == withheld + Decimal("50.00")
    assert sums["DuePayableAmount"] == major(invoice.amount_due)
    tree = etree.fromstring(data)
    rates = {(t.findtext("ram:CategoryCode", namespaces=NS), t.findtext("ram:RateApplicablePercent", namespaces=NS),
              t.findtext("ram:BasisAmount", namespaces=NS), t.findtext("ram:CalculatedAmount", namespaces=NS))
             for t in tree.iterfind(".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", NS)}
    assert rates == {("S", "21", "100.00", "21.00"), ("S", "4", "53.97", "2.16"), ("S", "10", "30.00", "3.00"),
                     ("Z", "0", "3.50", "0.00")}
    assert tree.findtext(".//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID", namespaces=NS) == "ESB12345674"
    assert tree.findtext(".//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID", namespaces=NS) == "FR40303265045"
    assert tree.findtext(".//ram:BuyerTradeParty//ram:CountryID", namespaces=NS) == "FR"
    assert tree.findtext(".//ram:IBANID", namespaces=NS) == "ES9121000418450200051332"
    assert tree.findtext(".//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID", namespaces=NS) == "PO-77"
    assert "IRPF 15 %" in tree.findtext(".//rsm:ExchangedDocument/ram:IncludedNote/ram:Content", namespaces=NS)


def test_a_credit_note_refers_to_its_invoice_and_is_valid(business):
    invoice = issued(MIXED)
    line = invoice.ordered_lines().first()
    note = credit_notes.issue(invoice, [Pick(line.id, 1000)], "One day not worked", By())
    data = einvoice.xml(note)
    assert_valid(data)
    tree = etree.fromstring(data)
    assert tree.findtext(".//rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "381"
    assert tree.findtext(".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", namespaces=NS) == invoice.number
    sums = einvoice.totals(note)
    assert sums["LineTotalAmount"] == Decimal("50.00") and sums["GrandTotalAmount"] == Decimal("60.50")
    assert sums["DuePayableAmount"] == major(note.total) == Decimal("53.00")   # 60.50 less 7.50 withheld


def test_the_xml_is_what_was_issued_whatever_changes_afterwards(business):
    invoice = issued(MIXED)
    before = einvoice.xml(invoice)
    settings(name="Another name", iban="DE89370400440532013000", country="DE")
    invoice.contact.name = "Renamed"
    invoice.contact.save()
    assert einvoice.xml(Document.get_by_id(invoice.id)) == before


def test_a_domestic_customer_without_country_or_tax_id_takes_the_business_country(business):
    invoice = issued([("Repair", 1000, 12000, 0, [("IVA", 2100)])], contact=make_contact(name="Juan"))
    data = einvoice.xml(invoice)
    assert_valid(data)
    assert etree.fromstring(data).findtext(".//ram:BuyerTradeParty//ram:CountryID", namespaces=NS) == "ES"


def test_documents_without_an_en16931_form_say_why(business):
    two_vat = issued([("Goods", 1000, 1000, 0, [("IVA", 2100), ("Recargo", 520)])])
    with pytest.raises(einvoice.Unavailable, match="two taxes"):
        einvoice.xml(two_vat)
    with pytest.raises(einvoice.Unavailable):
        einvoice.xml(make_document(kind="quote"))
    with pytest.raises(einvoice.Unavailable):
        einvoice.xml(make_document(status="draft"))
    settings(country="", tax_id="")
    with pytest.raises(einvoice.Unavailable, match="country"):
        einvoice.xml(issued(MIXED))


def test_the_checker_itself_catches_a_broken_total(business):
    """The validator this suite trusts must fail on a wrong amount (else every test above passes)."""
    data = einvoice.xml(issued(MIXED))
    broken = data.replace(b"<ram:DuePayableAmount>", b"<ram:DuePayableAmount>1", 1)
    assert [rule for rule, _ in business_rule_failures(broken)] == ["BR-CO-16"]


def test_the_invoice_pdf_is_a_factur_x_carrying_the_same_xml(app, business, tmp_path):
    import pikepdf

    from app import pdf
    from tests.test_pdf import pdf_text
    invoice = issued(MIXED)
    assert invoice.apply_payment(5000)
    invoice = Document.get_by_id(invoice.id)
    with app.test_request_context():
        data = pdf.render_document(invoice, "es", business)
        assert pdf.render_document(invoice, "es", business) == data   # same document, same bytes
    with pikepdf.open(__import__("io").BytesIO(data)) as doc:
        meta = doc.open_metadata()
        assert meta["pdfaid:part"] == "3" and meta["pdfaid:conformance"] == "B"
        packet = etree.fromstring(doc.Root.Metadata.read_bytes())
        [rdf] = packet.findall("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF")   # one, as XMP requires
        fx = "{urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#}"
        assert rdf.findtext(f".//{fx}ConformanceLevel") == "EN 16931"
        assert rdf.findtext(f".//{fx}DocumentFileName") == "factur-x.xml"
        assert rdf.findtext(f".//{fx}DocumentType") == "INVOICE"
        attached = doc.attachments["factur-x.xml"]
        assert str(attached.obj.AFRelationship) == "/Data"
        # (WeasyPrint 70 lists the file twice in /AF, the same object: readers take either)
        assert {str(f.UF) for f in doc.Root.AF} == {"factur-x.xml"}
        xml = attached.get_file().read_bytes()
    assert xml == einvoice.xml(invoice)
    # The totals in the XML are the PDF's: its total (after the withholding) and what is due.
    text = pdf_text(data, tmp_path)
    sums = einvoice.totals(invoice)
    # 187.47 net + 26.16 VAT − 15.00 IRPF = 198.63; 50.00 paid: 148.63 due
    assert "198,63 €" in text and sums["GrandTotalAmount"] - Decimal("15.00") == Decimal("198.63")
    assert "148,63 €" in text and sums["DuePayableAmount"] == Decimal("148.63")


def test_a_quote_pdf_stays_a_plain_pdf(app, business):
    import pikepdf

    from app import pdf
    quote = make_document(kind="quote", number="P-1")
    with app.test_request_context():
        data = pdf.render_document(quote, "en", business)
    with pikepdf.open(__import__("io").BytesIO(data)) as doc:
        assert "factur-x.xml" not in doc.attachments
        assert "pdfaid:part" not in doc.open_metadata()


# --- the XML download: portal, back-office, API --------------------------------------------------

def test_the_contact_downloads_its_invoices_xml_and_nothing_else(business, auth):
    invoice = issued(MIXED)
    browser = auth.login_new_person(contact=invoice.contact)
    page = browser.get(f"/documents/{invoice.id}")
    assert f"/documents/{invoice.id}/einvoice.xml" in page.get_data(as_text=True)
    resp = browser.get(f"/documents/{invoice.id}/einvoice.xml")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    assert resp.get_data() == einvoice.xml(invoice)
    assert resp.headers["Content-Disposition"] == f'attachment; filename="{invoice.number}.xml"'
    other = issued(MIXED, contact=make_contact(name="Other", country="ES"))
    quote = make_document(invoice.contact, kind="quote", number="P-9")
    assert browser.get(f"/documents/{other.id}/einvoice.xml").status_code == 404
    assert browser.get(f"/documents/{quote.id}/einvoice.xml").status_code == 404


def test_staff_and_the_api_download_the_same_xml(business, staff, client):
    from app.api.auth import create_token
    from tests.conftest import Api
    invoice = issued(MIXED)
    resp = staff.get(f"/staff/documents/{invoice.id}/einvoice.xml")
    assert resp.status_code == 200 and resp.get_data() == einvoice.xml(invoice)
    page = staff.get(f"/staff/documents/{invoice.id}").get_data(as_text=True)
    assert f"/staff/documents/{invoice.id}/einvoice.xml" in page
    api = Api(client, create_token("ERP")[0])
    resp = api.get(f"/documents/{invoice.id}/einvoice.xml")
    assert resp.status_code == 200 and resp.get_data() == einvoice.xml(invoice)
    two_vat = issued([("Goods", 1000, 1000, 0, [("IVA", 2100), ("Recargo", 520)])])
    assert api.get(f"/documents/{two_vat.id}/einvoice.xml").status_code == 404
    assert api.get("/documents/999999/einvoice.xml").status_code == 404


# --- verify this document ----------------------------------------------------------------------

def qr_link(data):
    """The URI of the link annotation over the QR code on the PDF's first page."""
    import io

    import pikepdf
    with pikepdf.open(io.BytesIO(data)) as doc:
        uris = [str(a.A.URI) for page in doc.pages for a in page.get("/Annots", []) if "/A" in a and "/URI" in a.A]
    return [u for u in uris if "/verify/" in u]


def test_the_qr_on_the_pdf_opens_a_verify_page_with_the_document_and_no_customer_data(app, business, client):
    from app import pdf
    invoice = issued(MIXED)
    assert invoice.apply_payment(5000)
    invoice = Document.get_by_id(invoice.id)
    with app.test_request_context():
        data = pdf.render_document(invoice, "en", business)
    links = qr_link(data)
    assert links and len(set(links)) == 1
    url = links[0]
    code = url.rsplit("/", 1)[1]
    assert url == f"http://portal.test/verify/{code}" and len(code) == 32 and int(code, 16) >= 0
    assert Document.get_by_id(invoice.id).verify_code == code            # kept: the paper stays valid
    with app.test_request_context():
        assert qr_link(pdf.render_document(Document.get_by_id(invoice.id), "en", business)) == links
    resp = client.get(f"/verify/{code}", headers={"Accept-Language": "en"})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    page = soup(resp)
    assert invoice.number in page.find("h1").text
    assert page.find(id="verify-total").text.strip() == "€198.63"
    assert "€148.63" in page.find(id="verify-state").text
    assert page.find(id="verify-iban").text.split() == ["IBAN", "ES91", "2100", "0418", "4502", "0005", "1332"]
    text = resp.get_data(as_text=True)
    for private in ("Cliente", "Rivoli", "FR40303265045", "PO-77", "Consulting"):
        assert private not in text


def test_unknown_forged_and_malformed_codes_say_so_and_guessing_trips_the_limit(app, business, client):
    import secrets
    invoice = issued(MIXED)
    from app import verify
    good = verify.code_for(invoice)
    resp = client.get("/verify/" + "0" * 32)
    assert resp.status_code == 404 and soup(resp).find(id="verify-unknown")
    assert client.get("/verify/not-a-code").status_code == 404
    assert client.get("/verify/" + good.upper()).status_code == 404
    answers = [client.get("/verify/" + secrets.token_hex(16)).status_code for _ in range(100)]
    assert set(answers) <= {404, 429} and answers.count(429) >= 50      # the limit trips well before 100
    assert client.get(f"/verify/{good}").status_code == 429               # and holds for this address


def test_a_quote_and_a_draft_get_no_code(business):
    from app import verify
    assert verify.code_for(make_document(kind="quote", number="P-1")) is None
    assert verify.code_for(make_document(status="draft")) is None


def test_issuing_gives_the_code_with_the_number(business):
    invoice = issued(MIXED)
    assert invoice.verify_code and len(invoice.verify_code) == 32
    from app import verify
    assert verify.code_for(invoice) == invoice.verify_code
    assert verify.find(invoice.verify_code).id == invoice.id
