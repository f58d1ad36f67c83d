"""Back-office settings: the business's details, logo, currency, languages and portal options."""
import hashlib
import io

import pytest
from playhouse.shortcuts import model_to_dict

from app.models import Settings
from tests.conftest import error_text, soup
from tests.factories import GIF, JPEG, WEBP, png_bytes


def snapshot():
    return dict(model_to_dict(Settings.get_solo()), logo=Settings.get_logo())


def good_data(**changes):
    data = {
        "name": "Ferretería Pérez", "tax_id": "B12345678", "address": "Calle Mayor 1\n28001 Madrid",
        "email": "hola@example.com", "phone": "+34 910 000 000", "website": "ferreteria.example",
        "notify_email": "avisos@example.com", "default_currency": "usd", "languages": ["es", "ca", "en"],
        "default_language": "ca", "invoice_prefix": "FAC", "quote_prefix": "PRE/2", "order_prefix": "PED-A",
        "credit_note_prefix": "REC", "payment_terms_days": "15", "quote_validity_days": "60",
        "default_terms": "Pago a 15 días.",
        "quote_to_order": "1", "allow_partial_payments": "1", "min_partial_amount": "50,25",
        "stock_display": "exact", "low_stock_threshold": "3", "sell_out_of_stock": "1",
        "access_link_hours": "720", "link_session_hours": "168",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("method, path", [
    ("get", "/staff/settings/"), ("post", "/staff/settings/"), ("post", "/staff/settings/logo"),
    ("post", "/staff/settings/logo/delete"),
])
def test_settings_require_staff(browser, method, path):
    before = snapshot()
    resp = getattr(browser, method)(path, **({"data": good_data()} if method == "post" else {}))
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/staff/login")
    assert snapshot() == before


def test_settings_page_shows_the_current_values(staff):
    Settings.update(name="Acme", default_currency="GBP", languages="en,fr", default_language="fr",
                    min_partial_amount=1050, access_link_hours=24).execute()
    page = soup(staff.get("/staff/settings/"))
    assert page.find(id="f-name")["value"] == "Acme"
    assert page.find(id="f-default_currency")["value"] == "GBP"
    assert page.find(id="f-min_partial_amount")["value"] == "10.50"
    assert page.find(id="f-access_link_hours")["value"] == "24"
    assert page.select_one("#f-default_language option[selected]")["value"] == "fr"
    assert {i["value"] for i in page.select("#languages input[checked]")} == {"en", "fr"}
    for section in ("business", "money-languages", "documents", "portal", "stock-options"):
        assert page.find("fieldset", id=section) is not None


def test_good_settings_are_saved_and_shown(staff):
    resp = staff.post("/staff/settings/", good_data())
    assert resp.status_code == 303
    s = Settings.get_solo()
    assert ((s.name, s.tax_id, s.email, s.notify_email)
            == ("Ferretería Pérez", "B12345678", "hola@example.com", "avisos@example.com"))
    assert s.address == "Calle Mayor 1\n28001 Madrid"
    assert s.website == "https://ferreteria.example"
    assert (s.default_currency, s.languages, s.default_language) == ("USD", "es,en,ca", "ca")
    assert (s.invoice_prefix, s.quote_prefix, s.order_prefix) == ("FAC", "PRE/2", "PED-A")
    assert s.credit_note_prefix == "REC"
    assert (s.payment_terms_days, s.quote_validity_days, s.default_terms) == (15, 60, "Pago a 15 días.")
    assert s.quote_to_order and s.allow_partial_payments and s.sell_out_of_stock
    assert (s.min_partial_amount, s.stock_display, s.low_stock_threshold) == (5025, "exact", 3)
    assert (s.access_link_hours, s.link_session_hours) == (720, 168)
    page = soup(staff.get(resp.headers["Location"]))
    assert page.find(id="f-name")["value"] == "Ferretería Pérez"
    assert page.find(id="f-website")["value"] == "https://ferreteria.example"
    # Unticked boxes are saved as off.
    staff.post("/staff/settings/", good_data(quote_to_order="", allow_partial_payments="", sell_out_of_stock=""))
    s = Settings.get_solo()
    assert not (s.quote_to_order or s.allow_partial_payments or s.sell_out_of_stock)


@pytest.mark.parametrize("field, value", [
    ("name", ""), ("name", "  "), ("name", "n" * 201), ("name", "x" * 1_000_000), ("tax_id", "t" * 41),
    ("email", "not-an-email"), ("notify_email", "a@b"), ("phone", "1" * 41),
    ("address", "a" * 1001), ("website", "javascript:alert(1)"), ("website", "ftp://example.com"),
    ("website", "localhost"), ("default_currency", "XYZ"), ("default_currency", "EURO"),
    ("default_currency", ""), ("languages", []), ("languages", ["es", "xx"]),
    ("default_language", "xx"), ("default_language", "fr"), ("country", "XX"), ("country", "Spain"),
    ("invoice_prefix", ""), ("invoice_prefix", "F 1"), ("quote_prefix", "P" * 21), ("order_prefix", "<b>"),
    ("credit_note_prefix", ""), ("credit_note_prefix", "R 1"),
    ("payment_terms_days", "-1"), ("payment_terms_days", "soon"), ("payment_terms_days", ""),
    ("quote_validity_days", "0"), ("quote_validity_days", "1.5"), ("default_terms", "t" * 5001),
    ("min_partial_amount", "-5"), ("min_partial_amount", "abc"), ("min_partial_amount", "1.001"),
    ("min_partial_amount", "9" * 1_000_000),
    ("stock_display", "bogus"), ("low_stock_threshold", "-1"), ("low_stock_threshold", "x"),
    ("access_link_hours", "0"), ("access_link_hours", "721"), ("link_session_hours", "0"),
    ("link_session_hours", "169"), ("link_session_hours", "9" * 1_000_000),
])
def test_bad_settings_are_refused_next_to_the_field(staff, field, value):
    before = snapshot()
    resp = staff.post("/staff/settings/", good_data(**{field: value}))
    assert resp.status_code == 422
    assert error_text(resp, field)
    assert snapshot() == before
    if field != "tax_id":   # the other values are kept
        assert soup(resp).find(id="f-tax_id")["value"] == "B12345678"


def test_default_language_must_be_enabled(staff):
    resp = staff.post("/staff/settings/", good_data(languages=["es", "en"], default_language="de"))
    assert resp.status_code == 422
    assert "enabled" in error_text(resp, "default_language")


def test_partial_minimum_is_typed_in_the_new_currency(staff):
    resp = staff.post("/staff/settings/", good_data(default_currency="JPY", min_partial_amount="500"))
    assert resp.status_code == 303
    assert Settings.get_solo().min_partial_amount == 500
    resp = staff.post("/staff/settings/", good_data(default_currency="JPY", min_partial_amount="5.5"))
    assert resp.status_code == 422 and error_text(resp, "min_partial_amount")


# --- the logo -----------------------------------------------------------------------------

def upload_logo(staff, data, name):
    return staff.post("/staff/settings/logo", {"logo": (io.BytesIO(data), name)}, content_type="multipart/form-data")


@pytest.mark.parametrize("data, content_type", [(png_bytes(), "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")])
def test_logo_is_saved_and_served_publicly(staff, client, data, content_type):
    resp = upload_logo(staff, data, "logo.bin")
    assert resp.status_code == 303
    assert Settings.get_solo().logo_type == content_type
    assert Settings.get_solo().logo_hash == hashlib.sha256(data).hexdigest()   # the PDF cache key's part
    page = soup(staff.get("/staff/settings/"))
    assert page.find(id="current-logo")["src"] == "/logo"
    served = client.get("/logo")   # anyone: the portal's sign-in page shows it
    assert served.status_code == 200
    assert served.mimetype == content_type and served.data == data
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in served.headers["Content-Security-Policy"]
    again = client.get("/logo", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("data, name", [
    (b"hello, I am text", "logo.png"),
    (GIF, "logo.gif"),                                    # an image, but not a type logos may be
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", "logo.svg"),
    (png_bytes(1024 * 1024 + 1), "big.png"),
])
def test_bad_logo_is_refused_and_nothing_is_saved(staff, data, name):
    upload_logo(staff, png_bytes(), "old.png")
    before = snapshot()
    resp = upload_logo(staff, data, name)
    assert resp.status_code == 422
    assert name in error_text(resp, "logo")
    assert snapshot() == before


def test_logo_upload_without_a_file_asks_for_one(staff):
    resp = staff.post("/staff/settings/logo", {}, content_type="multipart/form-data")
    assert resp.status_code == 422 and error_text(resp, "logo")


def test_logo_can_be_removed(staff, client):
    upload_logo(staff, png_bytes(), "logo.png")
    assert staff.post("/staff/settings/logo/delete").status_code == 303
    assert Settings.get_logo() is None and Settings.get_solo().logo_hash == ""
    assert client.get("/logo").status_code == 404
    assert soup(staff.get("/staff/settings/")).find(id="current-logo") is None


def test_no_logo_is_404(client):
    assert client.get("/logo").status_code == 404
