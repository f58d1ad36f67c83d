"""Browser: comments appear in place, staff answer, quotes are accepted and declined in place."""
import datetime

import pytest
from playwright.sync_api import expect

from app.models import Document, QuoteDecision
from tests.browser import portal_sign_in, staff_sign_in
from tests.factories import make_contact, make_document, make_person

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"



def requests_during(page, action):
    """Run action; return the (method, path) of every request the page made meanwhile."""
    seen = []
    handler = lambda req: seen.append((req.method, req.url.split("//", 1)[1].split("/", 1)[1]))  # noqa: E731
    page.on("request", handler)
    action()
    page.wait_for_load_state("networkidle")
    page.remove_listener("request", handler)
    return seen


def test_comment_appears_without_reload_and_staff_answer_reaches_the_person(page, chromium, live_server, staff_user):
    person = make_person(password=PASSWORD, contact=make_contact(name="Talleres Ruiz"), name="Ana García")
    doc = make_document(person.contact, number="F-2026-0042")
    portal_sign_in(page, person)
    page.goto(f"/documents/{doc.id}")

    def send():
        page.fill("#f-body", "¿Podéis enviarlo\nantes del viernes?")
        page.click("#send-comment")
        expect(page.locator("#comment-thread .comment-body")).to_have_text("¿Podéis enviarlo\nantes del viernes?")
    seen = requests_during(page, send)
    assert ("POST", f"documents/{doc.id}/comments") in seen
    assert not any(method == "GET" and path.startswith(f"documents/{doc.id}") for method, path in seen), seen
    expect(page.locator("#f-body")).to_have_value("")

    staff_ctx = chromium.new_context(base_url=live_server.url)
    staff_page = staff_ctx.new_page()
    staff_sign_in(staff_page, staff_user)
    staff_page.goto("/staff/comments")
    staff_page.click(f"text={doc.number}")
    staff_page.fill("#f-body", "Sí, sale mañana.")
    staff_page.click("#send-answer")
    expect(staff_page.locator(".flash-success")).to_be_visible()
    staff_ctx.close()

    page.reload()
    expect(page.locator("#comment-thread .comment-staff .comment-body")).to_have_text("Sí, sale mañana.")


def test_accept_and_decline_quotes_in_place(page, chromium, live_server):
    person = make_person(password=PASSWORD, contact=make_contact(name="Talleres Ruiz"))
    valid = datetime.date.today() + datetime.timedelta(days=10)
    accept_me = make_document(person.contact, kind="quote", number="P-1", valid_until=valid)
    decline_me = make_document(person.contact, kind="quote", number="P-2", valid_until=valid)
    portal_sign_in(page, person)

    page.goto(f"/documents/{accept_me.id}")
    expect(page.locator("#doc-status")).to_contain_text("Awaiting approval")

    def accept():
        page.click("#accept")   # without a name and the terms: a message, nothing saved
        expect(page.locator("#e-signer_name")).to_be_visible()
        page.fill("#f-signer_name", "Ana García")
        page.fill("#f-po_reference", "PO-2026-77")
        page.check("#f-accept_terms")
        page.click("#accept")
        expect(page.locator("#decision-done")).to_contain_text("Ana García")
        expect(page.locator("#doc-status")).to_contain_text("Accepted")
        # The sheet above shows the acceptance in the same answer (issue 17, point 14).
        expect(page.locator("#doc-sheet #sheet-acceptance")).to_contain_text("Ana García")
    seen = requests_during(page, accept)
    assert not any(m == "GET" and p.startswith(f"documents/{accept_me.id}") for m, p in seen), seen
    assert QuoteDecision.get(QuoteDecision.document == accept_me.id).po_reference == "PO-2026-77"

    page.goto(f"/documents/{decline_me.id}")
    page.click(".decline-box summary")
    page.fill("#f-reason", "Hemos encontrado otro proveedor.")
    page.click("#decline")
    expect(page.locator("#decision-done")).to_contain_text("Declined")
    expect(page.locator("#doc-status")).to_contain_text("Declined")
    assert Document.get_by_id(decline_me.id).status == "declined"
    assert QuoteDecision.get(QuoteDecision.document == decline_me.id).reason == "Hemos encontrado otro proveedor."
