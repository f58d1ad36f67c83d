"""The portal's summary, document lists and document page; only one's own documents (the same
404 for anyone else's, on every portal URL with an id: test_portal_scope.py)."""
import datetime

import pytest

from app.models import Activity, Document, Payment, utcnow
from tests.conftest import soup
from tests.factories import PASSWORD, make_contact, make_document, make_person



@pytest.fixture
def person(app):
    return make_person(password=PASSWORD, contact=make_contact(name="Talleres Ruiz"))


@pytest.fixture
def me(auth, person):
    return auth.login(person)


def test_summary_shows_balances_waiting_documents_and_chart(me, person):
    today = datetime.date.today()
    contact = person.contact
    inv = make_document(contact, number="F-1", due_date=today + datetime.timedelta(days=5))          # 121.00
    make_document(contact, number="F-2", due_date=today - datetime.timedelta(days=3))                # 121.00
    make_document(contact, number="F-3", status="paid", amount_paid=12100)
    make_document(contact, number="F-DRAFT", status="draft")
    make_document(contact, kind="quote", number="P-1", valid_until=today + datetime.timedelta(days=9))
    make_document(contact, kind="quote", number="P-OLD", valid_until=today - datetime.timedelta(days=1))
    make_document(contact, kind="order", number="SO-1", status="confirmed")
    Document.update(amount_paid=2100).where(Document.id == inv.id).execute()
    Payment.create(document=inv, gateway="manual", amount=2100, currency="EUR", status="succeeded",
                   idempotency_key="k1", paid_at=datetime.datetime.now())
    make_document(make_contact(), number="F-OTHER")   # someone else's
    page = soup(me.get("/"))
    assert page.select_one("#stat-outstanding .stat-value").get_text(strip=True) == "€221.00"
    assert page.select_one("#stat-overdue .stat-value").get_text(strip=True) == "€121.00"
    assert page.select_one("#stat-quotes .stat-value").get_text(strip=True) == "1"
    assert page.select_one("#stat-orders .stat-value").get_text(strip=True) == "1"
    pending = page.find(id="pending-invoices").get_text()
    assert "F-1" in pending and "F-2" in pending and "F-3" not in pending and "F-DRAFT" not in pending
    quotes = page.find(id="quotes-to-approve").get_text()
    assert "P-1" in quotes and "P-OLD" not in quotes
    assert "SO-1" in page.find(id="recent-orders").get_text()
    assert "F-OTHER" not in page.get_text()
    chart = page.select_one("#chart svg")
    assert chart is not None and len(chart.select("rect.bar-invoiced")) == 12
    heights = [float(r["height"]) for r in chart.select("rect.bar-paid")]
    assert heights[-1] > 0 and all(h == 0 for h in heights[:-1])
    # Issue 17, point 13: the bars carry their values, an axis its scale, and a screen reader
    # reads the same figures from a table (the drawing itself is hidden from it).
    assert chart["aria-hidden"] == "true"
    assert [t.get_text() for t in chart.select("text.chart-value")] == ["€363", "€21"]   # invoiced, paid
    assert [t.get_text() for t in chart.select("text.chart-axis")] == ["€0", "€181.5", "€363"]
    rows = page.select("#chart-table tbody tr")
    assert len(rows) == 12 and [td.get_text() for td in rows[-1].select("td")] == ["€363.00", "€21.00"]


def test_lists_filter_sort_paginate_and_hide_drafts_and_others(me, person):
    contact = person.contact
    for i in range(25):
        make_document(contact, number=f"F-{i:03d}", issue_date=datetime.date(2026, 1, 1) + datetime.timedelta(days=i))
    make_document(contact, number="F-PAID", status="paid")
    make_document(contact, number="F-DRAFT", status="draft")
    make_document(make_contact(), number="F-999")
    page = soup(me.get("/invoices"))
    rows = page.select("#doc-table tbody tr")
    assert len(rows) == 20 and "F-DRAFT" not in page.get_text() and "F-999" not in page.get_text()
    page2 = soup(me.get("/invoices?page=2"))
    assert len(page2.select("#doc-table tbody tr")) == 6
    only_paid = soup(me.get("/invoices?status=paid"))
    assert [a.get_text() for a in only_paid.select("#doc-table tbody a")] == ["F-PAID"]
    search = soup(me.get("/invoices?q=F-01"))
    assert {a.get_text() for a in search.select("#doc-table tbody a")} == {f"F-01{i}" for i in range(10)}
    dated = soup(me.get("/invoices?from=2026-01-03&to=2026-01-05&sort=date_asc"))
    assert [a.get_text() for a in dated.select("#doc-table tbody a")] == ["F-002", "F-003", "F-004"]
    weird = me.get("/invoices?status=bogus&sort=drop&page=-4&from=yesterday")
    assert weird.status_code == 200 and len(soup(weird).select("#doc-table tbody tr")) == 20


def test_list_is_a_fragment_for_htmx_and_a_page_otherwise(me, person):
    make_document(person.contact, number="F-1")
    frag = me.get("/invoices", headers={"HX-Request": "true"})
    assert "HX-Request" in frag.headers["Vary"]
    assert frag.get_data(as_text=True).lstrip().startswith('<section id="doc-list"')
    full = me.get("/invoices")
    assert "HX-Request" in full.headers["Vary"] and soup(full).find("html") and soup(full).find(id="doc-list")
    boosted = me.get("/invoices", headers={"HX-Request": "true", "HX-Request-Type": "full"})
    assert soup(boosted).find("html") is not None


def test_document_page_shows_the_document_and_records_the_view(me, person):
    doc = make_document(person.contact, number="F-2026-0042", notes="Pay by transfer <b>please</b>",
                        lines=[("Cable", 2000, 1500, 0, [("IVA", 2100)]),
                               ("Montaje", 1000, 10000, 1000, [("IVA", 2100), ("IRPF", -1500)])])
    page = soup(me.get(f"/documents/{doc.id}"))
    assert page.find(id="sheet-number").get_text() == "F-2026-0042"
    assert len(page.select("#sheet-lines tbody tr")) == 2
    assert page.find(id="total-total").get_text(strip=True) == "€131.70"  # 30.00 + 90.00 + 25.20 - 13.50
    assert "<b>please</b>" in page.find(class_="sheet-notes").get_text()      # shown as text
    assert page.find(id="download-pdf")["href"] == f"/documents/{doc.id}/pdf"
    assert page.find(id="print")["href"] == f"/documents/{doc.id}/print"
    assert Activity.select().where((Activity.document == doc) & (Activity.action == "viewed")).count() == 1
    me.get(f"/documents/{doc.id}")
    assert Activity.select().where((Activity.document == doc) & (Activity.action == "viewed")).count() == 1
    # Eleven minutes later a view counts again (the window compares stored timestamps).
    Activity.update(created_at=Activity.created_at.db_value(utcnow() - datetime.timedelta(minutes=11))).where(
        Activity.document == doc).execute()
    me.get(f"/documents/{doc.id}")
    assert Activity.select().where((Activity.document == doc) & (Activity.action == "viewed")).count() == 2
    me.get(f"/documents/{doc.id}")
    assert Activity.select().where((Activity.document == doc) & (Activity.action == "viewed")).count() == 2


def test_print_view_is_the_document_with_the_print_script(me, person):
    doc = make_document(person.contact, number="F-7")
    page = soup(me.get(f"/documents/{doc.id}/print"))
    assert page.find(id="sheet-number").get_text() == "F-7"
    assert page.find("script", src="/static/js/print.js") is not None
    assert page.find(id="portal-nav") is None


def test_staff_see_views_on_the_document(me, person, staff):
    doc = make_document(person.contact, number="F-55")
    me.get(f"/documents/{doc.id}")
    page = soup(staff.get(f"/staff/documents/{doc.id}"))
    activity = page.find(id="doc-activity").get_text()
    assert "Viewed" in activity and person.name in activity   # the action in words (labels.LOG_LABELS)


def test_document_page_asks_the_same_queries_for_one_line_or_a_hundred(me, person, caplog):
    """The templates ask the database nothing: a line's taxes come with the lines."""
    taxes = [("IVA", 2100), ("IRPF", -1500)]
    short = make_document(person.contact, lines=[("Line", 1000, 1000, 0, taxes)])
    long = make_document(person.contact, lines=[(f"Line {i}", 1000, 1000, 0, taxes) for i in range(100)])

    def queries(doc):
        me.get(f"/documents/{doc.id}")   # the first view is recorded: count a second one
        caplog.clear()
        with caplog.at_level("DEBUG", logger="peewee"):
            assert me.get(f"/documents/{doc.id}").status_code == 200
        return len([r for r in caplog.records if r.name == "peewee"])
    assert queries(short) == queries(long)
