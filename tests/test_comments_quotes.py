"""Comments on documents and quote approval: fragments, validation, escaping, races, mail."""
import datetime
from functools import partial

import pytest

from app.models import Comment, Document, QuoteDecision
from tests.conftest import soup
from tests.concurrency import race
from tests.factories import PASSWORD, make_contact, make_document, make_person, settings

HOSTILE = ('<script>alert(1)</script> <img src=x onerror="alert(2)"> '
           '<a href="javascript:alert(3)">x</a> <div hx-get="/logout" hx-trigger="load">y</div>')


@pytest.fixture
def person(app):
    return make_person(password=PASSWORD, name="Ana García", contact=make_contact(name="Talleres Ruiz"))


@pytest.fixture
def me(auth, person):
    return auth.login(person)


# --- comments ---------------------------------------------------------------------------------

def test_comment_htmx_returns_the_fragment_with_the_new_comment(me, person, outbox):
    doc = make_document(person.contact)
    me.get(f"/documents/{doc.id}")
    resp = me.post(f"/documents/{doc.id}/comments", {"body": "Line one\nLine two"}, headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "HX-Request" in resp.headers["Vary"]
    html = resp.get_data(as_text=True)
    assert html.lstrip().startswith('<section class="card comments" id="comments"')
    assert "<html" not in html
    body = soup(resp).select_one("#comment-thread .comment-body")
    assert body.get_text() == "Line one\nLine two"
    assert Comment.get().person_id == person.id and Comment.get().author_name == "Ana García"
    [mail] = outbox()
    assert mail.rcpt_tos == ["office@business.example"] and doc.number in mail.message["Subject"]


def test_comment_without_htmx_redirects_to_the_page(me, person):
    doc = make_document(person.contact)
    me.get(f"/documents/{doc.id}")
    resp = me.post(f"/documents/{doc.id}/comments", {"body": "Hello"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/documents/{doc.id}#comments")
    page = soup(me.get(f"/documents/{doc.id}"))
    assert page.select_one("#comment-thread .comment-body").get_text() == "Hello"


@pytest.mark.parametrize("body,words", [("", "Write a comment"), ("   \n  ", "Write a comment"),
                                        ("x" * 5001, "at most 5000")])
@pytest.mark.parametrize("htmx", [True, False])
def test_empty_or_long_comment_gets_a_message_and_nothing_is_saved(me, person, body, words, htmx):
    doc = make_document(person.contact)
    me.get(f"/documents/{doc.id}")
    headers = {"HX-Request": "true"} if htmx else {}
    resp = me.post(f"/documents/{doc.id}/comments", {"body": body}, headers=headers)
    assert resp.status_code == 422 and "HX-Request" in resp.headers["Vary"]
    page = soup(resp)
    assert words in page.find(id="e-body").get_text()
    assert (page.find("html") is None) == htmx
    assert Comment.select().count() == 0


def test_hostile_comment_is_inert_in_page_fragment_and_mail(me, person, outbox):
    doc = make_document(person.contact)
    me.get(f"/documents/{doc.id}")
    frag = me.post(f"/documents/{doc.id}/comments", {"body": HOSTILE}, headers={"HX-Request": "true"})
    for resp in (frag, me.get(f"/documents/{doc.id}")):
        page = soup(resp)
        thread = page.find(id="comment-thread")
        assert thread.find("script") is None and thread.find("img") is None and thread.find("a") is None
        assert not thread.select("[hx-get]") and not thread.select("[onerror]")
        assert thread.select_one(".comment-body").get_text() == HOSTILE
    [mail] = outbox()
    assert HOSTILE in mail.text
    html = soup_html(mail.html)
    assert html.find("script") is None and html.find("img") is None and not html.select("[hx-get]")


def soup_html(text):
    from bs4 import BeautifulSoup
    return BeautifulSoup(text, "html.parser")


def test_staff_answer_mails_the_people_in_their_language_and_shows_in_portal(me, person, staff, outbox):
    make_person(contact=person.contact, name="Jordi", language="ca", email="jordi@ruiz.example")
    doc = make_document(person.contact)
    me.get(f"/documents/{doc.id}")
    me.post(f"/documents/{doc.id}/comments", {"body": "When will it ship?"})
    unanswered = soup(staff.get("/staff/comments"))
    assert doc.number in unanswered.find(id="unanswered").get_text()
    staff.get(f"/staff/documents/{doc.id}")
    assert staff.post(f"/staff/documents/{doc.id}/comments", {"body": "Tomorrow morning."}).status_code == 303
    assert doc.number not in soup(staff.get("/staff/comments")).find(id="unanswered").get_text()
    bodies = [c.get_text() for c in soup(me.get(f"/documents/{doc.id}")).select("#comment-thread .comment-body")]
    assert bodies == ["When will it ship?", "Tomorrow morning."]
    messages = outbox()
    to_people = {m.rcpt_tos[0]: m for m in messages if m.rcpt_tos[0] != "office@business.example"}
    assert set(to_people) == {person.email, "jordi@ruiz.example"}
    assert f"/documents/{doc.id}" in to_people[person.email].text
    assert "Tomorrow morning." in to_people[person.email].text


def test_comment_on_someone_elses_document_is_404_and_saves_nothing(me):
    theirs = make_document(make_contact())
    me.get("/")
    assert me.post(f"/documents/{theirs.id}/comments", {"body": "hi"}).status_code == 404
    assert me.post(f"/documents/{theirs.id}/decision", {"decision": "decline"}).status_code == 404
    assert Comment.select().count() == 0 and QuoteDecision.select().count() == 0


# --- quotes ------------------------------------------------------------------------------------

def _quote(person, **fields):
    fields.setdefault("valid_until", datetime.date.today() + datetime.timedelta(days=10))
    return make_document(person.contact, kind="quote", status="open", **fields)


def test_accept_with_name_and_reference_records_everything_in_place(me, person, outbox):
    quote = _quote(person, number="P-2026-0001")
    expected_hash = quote.content_hash()
    me.get(f"/documents/{quote.id}")
    resp = me.post(f"/documents/{quote.id}/decision",
                   {"decision": "accept", "signer_name": "Ana García", "po_reference": "PO-77", "accept_terms": "1"},
                   headers={"HX-Request": "true", "User-Agent": "TestBrowser/1.0"},
                   environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert resp.status_code == 200 and "HX-Request" in resp.headers["Vary"]
    page = soup(resp)
    assert "Ana García" in page.find(id="decision-done").get_text()
    assert page.find(id="doc-status", attrs={"hx-swap-oob": "true"}) is not None
    # The sheet above changes in the same answer: it shows the acceptance (issue 17, point 14).
    sheet = page.find(id="doc-sheet", attrs={"hx-swap-oob": "true"})
    assert sheet is not None and "Ana García" in sheet.find(id="sheet-acceptance").get_text()
    decision = QuoteDecision.get()
    assert (decision.decision, decision.signer_name, decision.po_reference, decision.ip) == \
        ("accepted", "Ana García", "PO-77", "203.0.113.9")
    assert decision.user_agent == "TestBrowser/1.0" and decision.document_hash == expected_hash
    assert Document.get_by_id(quote.id).status == "accepted"
    [mail] = outbox()
    assert "P-2026-0001" in mail.message["Subject"] and "accepted" in mail.message["Subject"]


def test_decline_with_reason_without_javascript(me, person):
    quote = _quote(person)
    me.get(f"/documents/{quote.id}")
    resp = me.post(f"/documents/{quote.id}/decision", {"decision": "decline", "reason": "Too expensive"})
    assert resp.status_code == 303
    page = soup(me.get(f"/documents/{quote.id}"))
    assert "Declined" in page.find(id="decision-done").get_text()
    assert "Too expensive" in page.find(id="quote-decision").get_text()
    assert Document.get_by_id(quote.id).status == "declined"


@pytest.mark.parametrize("data,field", [
    ({"decision": "accept", "signer_name": "", "accept_terms": "1"}, "signer_name"),
    ({"decision": "accept", "signer_name": "Ana"}, "accept_terms"),
    ({"decision": "accept", "signer_name": "A" * 201, "accept_terms": "1"}, "signer_name"),
    ({"decision": "accept", "signer_name": "Ana", "po_reference": "x" * 81, "accept_terms": "1"}, "po_reference"),
    ({"decision": "decline", "reason": "r" * 2001}, "reason"),
])
def test_bad_decision_input_changes_nothing(me, person, data, field):
    quote = _quote(person)
    me.get(f"/documents/{quote.id}")
    resp = me.post(f"/documents/{quote.id}/decision", data, headers={"HX-Request": "true"})
    assert resp.status_code == 422 and soup(resp).find(id=f"e-{field}")
    assert QuoteDecision.select().count() == 0 and Document.get_by_id(quote.id).status == "open"


def test_tampered_decision_value_changes_nothing(me, person):
    quote = _quote(person)
    me.get(f"/documents/{quote.id}")
    assert me.post(f"/documents/{quote.id}/decision", {"decision": "approve-all"}).status_code == 422
    assert Document.get_by_id(quote.id).status == "open"


@pytest.mark.parametrize("setup", ["expired", "decided", "void", "invoice"])
def test_undecidable_quotes_change_nothing(me, person, setup):
    if setup == "expired":
        doc = _quote(person, valid_until=datetime.date.today() - datetime.timedelta(days=1))
    elif setup == "decided":
        doc = _quote(person)
        Document.update(status="declined").where(Document.id == doc.id).execute()
    elif setup == "void":
        doc = make_document(person.contact, kind="quote", status="void")
    else:
        doc = make_document(person.contact, kind="invoice")
    before = Document.get_by_id(doc.id).status
    me.get(f"/documents/{doc.id}")
    resp = me.post(f"/documents/{doc.id}/decision", {"decision": "accept", "signer_name": "Ana", "accept_terms": "1"},
                   headers={"HX-Request": "true"})
    assert resp.status_code == 409 and soup(resp).find(id="decision-problem")
    assert QuoteDecision.select().count() == 0 and Document.get_by_id(doc.id).status == before


def test_two_simultaneous_accepts_record_one_decision(auth, person):
    quote = _quote(person)
    browsers = [auth.login(person) for _ in range(2)]
    for b in browsers:
        b.get(f"/documents/{quote.id}")

    def accept(b):
        return b.post(f"/documents/{quote.id}/decision",
                      {"decision": "accept", "signer_name": "Ana", "accept_terms": "1"}).status_code
    statuses = race(*(partial(accept, b) for b in browsers), timeout=10)
    assert sorted(statuses) == [303, 409]
    assert QuoteDecision.select().count() == 1


def test_accepted_quote_becomes_an_order_when_the_business_wants(me, person):
    settings(quote_to_order=True)
    quote = _quote(person, lines=[("Obra", 2000, 5000, 0, [("IVA", 2100)])])
    me.get(f"/documents/{quote.id}")
    me.post(f"/documents/{quote.id}/decision",
            {"decision": "accept", "signer_name": "Ana", "po_reference": "PO-1", "accept_terms": "1"})
    order = Document.get(Document.kind == "order")
    assert order.source_id == quote.id and order.total == quote.total and order.reference == "PO-1"
    assert order.status == "open" and [l.description for l in order.ordered_lines()] == ["Obra"]


def test_no_order_when_the_business_did_not_turn_it_on(me, person):
    quote = _quote(person)
    me.get(f"/documents/{quote.id}")
    me.post(f"/documents/{quote.id}/decision", {"decision": "accept", "signer_name": "Ana", "accept_terms": "1"})
    assert Document.select().where(Document.kind == "order").count() == 0


def test_staff_see_the_decision(me, person, staff):
    quote = _quote(person)
    me.get(f"/documents/{quote.id}")
    me.post(f"/documents/{quote.id}/decision",
            {"decision": "accept", "signer_name": "Ana García", "po_reference": "PO-9", "accept_terms": "1"})
    page = soup(staff.get(f"/staff/documents/{quote.id}")).find(id="doc-decision").get_text()
    assert "Ana García" in page and "PO-9" in page


def test_accepted_quote_sheet_shows_the_acceptance(me, person):
    quote = _quote(person)
    me.get(f"/documents/{quote.id}")
    me.post(f"/documents/{quote.id}/decision",
            {"decision": "accept", "signer_name": "Ana García", "po_reference": "PO-9", "accept_terms": "1"})
    sheet = soup(me.get(f"/documents/{quote.id}/print")).find(id="sheet-acceptance").get_text()
    assert "Ana García" in sheet and "PO-9" in sheet


def test_status_goes_out_of_band_only_to_a_fragment(me, person):
    quote = _quote(person)
    me.get(f"/documents/{quote.id}")
    assert me.post(f"/documents/{quote.id}/decision", {"decision": "decline"}).status_code == 303
    again = {"decision": "accept", "signer_name": "Ana", "accept_terms": "1"}
    frag = me.post(f"/documents/{quote.id}/decision", again, headers={"HX-Request": "true"})
    assert frag.status_code == 409 and soup(frag).find(id="doc-status", attrs={"hx-swap-oob": "true"})
    # A boosted post gets the page, whose title already shows the status: once, not out of band.
    page = me.post(f"/documents/{quote.id}/decision", again, headers={"HX-Request": "true", "HX-Request-Type": "full"})
    statuses = soup(page).find_all(id="doc-status")
    assert page.status_code == 409 and len(statuses) == 1 and not statuses[0].has_attr("hx-swap-oob")
