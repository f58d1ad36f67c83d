"""Browser: the staff exports page (issue 19, point 5) on a phone (390 px) and a desktop: nothing
wider than the screen, zero axe violations, with and without a message; the file downloads."""
import csv
import datetime
import io

import pytest

from app import documents
from app.rules import By
from tests.browser import staff_sign_in
from tests.factories import make_contact
from tests.test_browser_phone import check, open_context

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_exports_page_fits_passes_axe_and_downloads(app, chromium, live_server, staff_user, size):
    with app.test_request_context():
        contact = make_contact(name="Ferretería López Hermanos S.L.", tax_id="B12345678")
        documents.create("invoice", {"contact": contact.id, "issue_date": datetime.date.today(), "currency": "EUR"},
                         [documents.Line("Taladro", 2000, 10000, 0, None, [("IVA", 2100), ("IRPF", -1500)])],
                         By(), issue_now=True)
    context, page, errors = open_context(chromium, live_server, size, "en", "light")
    problems = []
    try:
        staff_sign_in(page, staff_user)
        page.goto("/staff/exports/")
        problems += check(page, "staff-exports", size, "en-light", errors)
        # A period that ends before it starts: the same page, with the message by the field.
        page.fill("#f-from", "2026-12-31")
        page.fill("#f-to", "2026-01-01")
        page.click("#download")
        page.wait_for_selector("#e-to")
        errors[:] = [e for e in errors if "status of 422" not in e]   # the answer's status, expected
        problems += check(page, "staff-exports-error", size, "en-light", errors)
        today = datetime.date.today()
        page.fill("#f-from", today.replace(month=1, day=1).isoformat())
        page.fill("#f-to", today.isoformat())
        page.select_option("#f-what", "tax_book")
        with page.expect_download() as info:
            page.click("#download")
        download = info.value
        assert download.suggested_filename == f"tax-book-{today.year}-01-01-{today.isoformat()}.csv"
        with open(download.path(), encoding="utf-8-sig") as f:
            rows = list(csv.reader(io.StringIO(f.read())))
        assert [r[2:5] + r[9:11] for r in rows[1:]] == [["IVA", "21.00", "tax", "200.00", "42.00"],
                                                       ["IRPF", "-15.00", "withholding", "200.00", "-30.00"],
                                                       ["", "", "total", "200.00", "12.00"]]
    finally:
        context.close()
    assert not problems, "\n".join(problems)
