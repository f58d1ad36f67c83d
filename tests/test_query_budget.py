"""How many queries each portal page asks (issue 18): at most BUDGET for a signed-in person's second
view of every GET page and fragment of the portal, with a contact who has a bit of everything, and
the same number for a document of one line or a hundred (no query per line, row or payment).

Counted in-process: every statement peewee runs is logged on the "peewee" logger at DEBUG.
"""
import datetime
import json
import re

import pytest
from flask import url_for

from app import credit_notes, documents, refunds
from app.credit_notes import Pick
from app.db import db, is_sqlite
from app.models import (CartItem, Comment, Document, GatewayConfig, Payment, PaymentAllocation, ProductImage,
                        QuoteDecision, Refund, YearlyPack)
from app.rules import By
from tests.factories import (PASSWORD, make_category, make_contact, make_document, make_person, make_product,
                             make_staff, png_bytes, settings)
from tests.portal_routes import behind_portal_factory, portal_rules

BUDGET = 8
# Pages of an accountant's read-only session alone (a person gets 404): tests/test_accountant.py
# counts the accountant's queries.
ACCOUNTANT_ONLY = {"accountant.home"}
TAXES = [("IVA", 2100), ("IRPF", -1500)]
HX = {"HX-Request": "true"}


def queries(browser, caplog, url, headers=None):
    """The statements a second GET of `url` runs (the first may record a view or fill a cache)."""
    first = browser.get(url, headers=headers)
    assert first.status_code in (200, 302, 303), f"{url}: {first.status_code}"
    caplog.clear()
    with caplog.at_level("DEBUG", logger="peewee"):
        second = browser.get(url, headers=headers)
    assert second.status_code == first.status_code, url
    return [short(r.msg[0] if isinstance(r.msg, tuple) else r.getMessage())
            for r in caplog.records if r.name == "peewee"]


def short(sql):
    """A statement without its column list, to read in a failure."""
    return re.sub(r"^SELECT (.{60}).*? FROM ", r"SELECT \1… FROM ", sql)[:240]


def issued(contact, lines=None, kind="invoice"):
    doc = make_document(contact, kind=kind, status="draft", lines=lines or [("Consulting", 2000, 5000, 0, TAXES)])
    documents.issue(doc, By())
    return Document.get_by_id(doc.id)


def paid(doc, amount, key, status="succeeded", checkout_url=""):
    with db.atomic():
        payment = Payment.create(document=doc, gateway="stripe", amount=amount, currency="EUR", status=status,
                                 idempotency_key=key, provider_ref=f"cs_{key}", provider_payment_ref=f"pi_{key}",
                                 mode="test", checkout_url=checkout_url,
                                 paid_at=datetime.datetime.now() if status == "succeeded" else None)
        PaymentAllocation.create(payment=payment, document=doc, amount=amount,
                                 applied=amount if status == "succeeded" else 0)
        if status == "succeeded":
            assert doc.apply_payment(amount)
    return payment


@pytest.fixture
def rich(app):
    """A contact with open, part-paid and paid invoices (payments, a refund, a credit note), a
    quote (decided and open), an order, comments, a catalog in categories, a cart."""
    settings(name="Taller Martínez S.L.", default_language="en", allow_partial_payments=True, logo=png_bytes(),
             tax_id="B98123458", country="ES", iban="ES9121000418450200051332", team_self_service=True)
    GatewayConfig.create(gateway="stripe", mode="test",
                         test_credentials=json.dumps({"secret_key": "sk_test_local", "webhook_secret": "whsec_x"}))
    with app.test_request_context():   # the services build links and webhooks as in a request
        contact = make_contact(name="Talleres Ruiz", gateways="stripe", catalog_enabled=True)
        person = make_person(contact=contact, password=PASSWORD, name="Ana García")
        open_invoice = issued(contact)
        part_paid = issued(contact)
        partial = paid(part_paid, 5000, "part")
        settled = issued(contact)
        full = paid(settled, settled.total, "full")
        credit_notes.issue(Document.get_by_id(settled.id),
                           [Pick(settled.ordered_lines().get().id, 1000)], "One returned", By(staff=make_staff()))
        refund = Refund.create(payment=full, gateway="stripe", amount=1000, currency="EUR",
                               idempotency_key="refund-1", provider_ref="re_1", origin="gateway")
        with db.atomic():
            assert refunds.apply(refund, By(gateway="stripe")) == "applied"
        pending = paid(Document.get_by_id(open_invoice.id), 1000, "pending", status="pending",
                       checkout_url="https://checkout.example/cs_pending")
        note = Document.get(Document.kind == "credit_note")
        quote = issued(contact, kind="quote")
        decided = issued(contact, kind="quote")
        QuoteDecision.create(document=decided, decision="accepted", person=person, signer_name="Ana",
                             document_version=decided.version, document_hash=decided.content_hash())
        order = make_document(contact, kind="order", status="confirmed")
        for doc in (open_invoice, quote, order):
            Comment.create(document=doc, person=person, author_name="Ana García", body="A question")
            Comment.create(document=doc, author_name="Taller", body="An answer")
        # Three levels: a trail or a subtree read a category at a time would show.
        tools = make_category("Tools")
        hammers = make_category("Hammers", parent=tools)
        claw = make_category("Claw hammers", parent=hammers)
        make_category("Saws", parent=tools)
        products = [make_product(f"Hammer {i}", category=claw if i % 2 == 0 else hammers) for i in range(5)]
        image = ProductImage.create(product=products[0], content_type="image/png", data=png_bytes())
        for product in products[:3]:
            CartItem.create(contact=contact, product=product, quantity=2, unit_price_seen=product.price)
        pack = YearlyPack.create(contact=contact, year=2025, email=person.email, status="ready", data=b"PK",
                                 expires_at=datetime.datetime.now() + datetime.timedelta(days=1))
    docs = {"open": open_invoice, "part_paid": part_paid, "paid": settled, "credit_note": note, "quote": quote,
            "decided": decided, "order": order}
    return {"person": person, "docs": docs, "payments": {"part": partial, "full": full, "pending": pending},
            "product": products[0], "image": image, "pack": pack}


def urls(app, rich):
    """{endpoint: [(url, headers)]}: each GET page and fragment of the portal, for the rich contact."""
    docs, pays = rich["docs"], rich["payments"]
    with app.test_request_context():
        found = {
            "portal.home": [(url_for("portal.home"), None)],
            "documents.index": [(url_for("documents.index", kinds=kinds, **args), headers)
                                for kinds in ("invoices", "quotes", "orders") for headers in (None, HX)
                                for args in ({}, {"status": "open", "q": "T", "sort": "total"})],
            "documents.show": [(url_for("documents.show", doc_id=doc.id), None) for doc in docs.values()],
            "documents.print_view": [(url_for("documents.print_view", doc_id=doc.id), None) for doc in docs.values()],
            "pdf.document": [(url_for("pdf.document", doc_id=doc.id), None) for doc in docs.values()],
            "pdf.acceptance": [(url_for("pdf.acceptance", doc_id=docs["decided"].id), None)],
            "pdf.einvoice": [(url_for("pdf.einvoice", doc_id=docs[name].id), None)
                             for name in ("open", "part_paid", "paid", "credit_note")],
            "payments.panel": [(url_for("payments.panel", doc_id=docs[name].id), headers)
                               for name in ("open", "part_paid") for headers in (None, HX)],
            "payments.choose": [(url_for("payments.choose"), None),
                                (url_for("payments.choose", documents=[docs["open"].id]), None)],
            "payments.go": [(url_for("payments.go", payment_id=pays["pending"].id), None)],
            "payments.returned": [(url_for("payments.returned", payment_id=pays["full"].id), None)],
            "payments.cancelled": [(url_for("payments.cancelled", payment_id=pays["part"].id), None)],
            "payments.receipt": [(url_for("payments.receipt", payment_id=p.id), None)
                                 for p in (pays["part"], pays["full"])],
            "profile.index": [(url_for("profile.index"), None)],
            "team.index": [(url_for("team.index"), None)],
            "profile.password": [(url_for("profile.password"), None)],
            "keys.index": [(url_for("keys.index"), None)],
            "cart.show": [(url_for("cart.show"), headers) for headers in (None, HX)],
            "checkout.show": [(url_for("checkout.show"), None)],
            "catalog.index": [(url_for("catalog.index", **args), headers) for headers in (None, HX)
                              for args in ({}, {"q": "Hammer"}, {"category": rich["product"].category_id},
                                           {"category": rich["product"].category.parent_id})],
            "catalog.product": [(url_for("catalog.product", product_id=rich["product"].id), None)],
            "catalog.image": [(url_for("catalog.image", image_id=rich["image"].id), None)],
            "statement.show": [(url_for("statement.show", **args), headers) for headers in (None, HX)
                               for args in ({}, {"period": "last_12_months"},
                                            {"from": "2021-01-01", "to": "2030-12-31"})],
            "statement.pdf": [(url_for("statement.pdf"), None), (url_for("statement.pdf", period="last_year"), None)],
            "payment_history.index": [(url_for("payment_history.index", **args), headers) for headers in (None, HX)
                                      for args in ({}, {"page": 2})],
            "packs.download": [(url_for("packs.download", pack_id=rich["pack"].id), None)],
        }
    return found


def test_the_list_covers_every_get_page_of_the_portal(app, rich):
    """A new portal page gets a budget here, or this test fails."""
    endpoints = {rule.endpoint for rule in portal_rules(app)
                 if "GET" in rule.methods and behind_portal_factory(app, rule.endpoint)}
    assert endpoints - ACCOUNTANT_ONLY == set(urls(app, rich))


def test_every_portal_page_runs_at_most_the_budget_of_queries(app, auth, rich, caplog):
    me = auth.login(rich["person"])
    over = []
    for endpoint, cases in urls(app, rich).items():
        for url, headers in cases:
            ran = queries(me, caplog, url, headers)
            if len(ran) > BUDGET:
                over.append(f"{endpoint} {url} {'(HTMX)' if headers else ''}: {len(ran)} queries\n  "
                            + "\n  ".join(q[:300] for q in ran))
    assert not over, "\n".join(over)


# --- the same number of queries for one or many ------------------------------------------------

def many_lines(n):
    return [(f"Line {i}", 1000, 1000, 0, TAXES) for i in range(n)]


@pytest.fixture
def me(app, auth):
    settings(default_language="en")
    GatewayConfig.create(gateway="stripe", mode="test",
                         test_credentials=json.dumps({"secret_key": "sk_test_local", "webhook_secret": "whsec_x"}))
    contact = make_contact(gateways="stripe", catalog_enabled=True)
    return auth.login(make_person(contact=contact, password=PASSWORD))


@pytest.mark.parametrize("kind", ["invoice", "quote"])
def test_a_hundred_lines_ask_what_one_line_asks(app, me, caplog, kind):
    """Issued (read from the snapshot) and not (read from the lines): no query per line."""
    with app.test_request_context():
        short, long = issued(me.person.contact, many_lines(1), kind), issued(me.person.contact, many_lines(100), kind)
    drafts = [make_document(me.person.contact, kind=kind, lines=many_lines(n)) for n in (1, 100)]
    for one, hundred in ((short, long), drafts):
        assert (len(queries(me, caplog, f"/documents/{one.id}"))
                == len(queries(me, caplog, f"/documents/{hundred.id}")))
        assert (len(queries(me, caplog, f"/documents/{one.id}/print"))
                == len(queries(me, caplog, f"/documents/{hundred.id}/print")))


def test_the_statement_asks_the_same_queries_for_a_short_or_a_long_history(app, auth, caplog):
    """Three queries of its own (documents, payments with their shares, refunds), whatever the
    number of invoices, credit notes, payments and refunds."""
    settings(default_language="en")
    counts = []
    for n in (1, 40):
        with app.test_request_context():
            contact = make_contact(gateways="stripe")
            for i in range(n):
                doc = issued(contact, many_lines(1))
                card = paid(doc, 500, f"h{n}-{i}")
                if i % 3 == 0:
                    credit_notes.issue(Document.get_by_id(doc.id), [Pick(doc.ordered_lines().get().id, 100)],
                                       "Returned", By())
                    refund = Refund.create(payment=card, gateway="stripe", amount=100, currency="EUR",
                                           idempotency_key=f"r{n}-{i}", provider_ref=f"re_{n}_{i}", origin="gateway")
                    with db.atomic():
                        refunds.apply(refund, By(gateway="stripe"))
                documents.record_manual_payment(Document.get_by_id(doc.id), 100, datetime.date.today(), "", By())
        me = auth.login(make_person(contact=contact, password=PASSWORD))
        for url, headers in (("/statement", None), ("/statement?period=last_12_months", HX), ("/payments", None)):
            counts.append((n, url, len(queries(me, caplog, url, headers))))
    short, long = counts[:3], counts[3:]
    assert [c for _n, _u, c in short] == [c for _n, _u, c in long], counts
    assert all(c <= BUDGET for _n, _u, c in counts), counts


def test_the_first_pdf_render_asks_the_same_queries_for_one_line_or_a_hundred(app, me, caplog, tmp_path):
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "pdf-cache")
    settings(logo=png_bytes())
    one, hundred = (make_document(me.person.contact, lines=many_lines(n)) for n in (1, 100))

    def first_render(doc):
        caplog.clear()
        with caplog.at_level("DEBUG", logger="peewee"):
            assert me.get(f"/documents/{doc.id}/pdf").data.startswith(b"%PDF-")
        return len([r for r in caplog.records if r.name == "peewee"])
    assert first_render(one) == first_render(hundred) <= BUDGET + 1   # + the download's log row


def test_payments_refunds_and_comments_add_no_query_each(app, me, caplog):
    """A document with one payment (refunded), one comment, one credit note; another with five."""
    contact = me.person.contact
    pages = []
    with app.test_request_context():
        for n in (1, 5):
            doc = issued(contact, [("Consulting", 1000 * n * 2, 5000, 0, TAXES)])
            for i in range(n):
                payment = paid(Document.get_by_id(doc.id), 1000, f"{n}-{i}")
                refund = Refund.create(payment=payment, gateway="stripe", amount=500, currency="EUR",
                                       idempotency_key=f"refund-{n}-{i}", provider_ref=f"re_{n}_{i}", origin="gateway")
                with db.atomic():
                    assert refunds.apply(refund, By(gateway="stripe")) == "applied"
                Comment.create(document=doc, author_name="Taller", body=f"Answer {i}")
                credit_notes.issue(Document.get_by_id(doc.id), [Pick(doc.ordered_lines().get().id, 1000)],
                                   "One returned", By(staff=make_staff(email=f"s{n}{i}@example.com")))
            pages.append(doc)
        issued(contact)   # another invoice waits: the page offers to pay several
    one, five = (len(queries(me, caplog, f"/documents/{doc.id}")) for doc in pages)
    assert one == five <= BUDGET


def test_lists_ask_the_same_queries_for_one_row_or_a_page(app, me, caplog):
    contact = me.person.contact
    make_document(contact)
    product = make_product("Saw", category=make_category("Tools"))
    CartItem.create(contact=contact, product=product, quantity=1, unit_price_seen=product.price)
    pages = ("/", "/invoices", "/catalog/", "/cart/", "/checkout/", "/pay")
    one = {url: len(queries(me, caplog, url)) for url in pages}
    for i in range(25):
        make_document(contact)
        product = make_product(f"Saw {i}", category=make_category(f"Tools {i}", parent=product.category))
        CartItem.create(contact=contact, product=product, quantity=1, unit_price_seen=product.price)
    many = {url: len(queries(me, caplog, url)) for url in one}
    assert one == many
    deep = product.category   # 26 levels: its trail and its subtree
    flat = make_category("Flat")
    make_product("Flat saw", category=flat)   # a category with products too: only the depth differs
    assert (len(queries(me, caplog, f"/catalog/?category={deep.id}"))
            == len(queries(me, caplog, f"/catalog/?category={flat.id}")))
    assert (len(queries(me, caplog, f"/catalog/products/{product.id}"))
            == len(queries(me, caplog, f"/catalog/products/{make_product('Flat', category=make_category('Root')).id}")))


def test_the_invoices_list_reads_its_page_in_order_without_sorting_the_history(app, me, caplog):
    """Invoices and credit notes listed together: the page must come in date order from an index.
    Sorting every invoice of the contact made the 10,000-document contact's list 5× slower than
    the 10-document one's (bench, 5 Dec); the query count could not see it, the plan does."""
    if not is_sqlite():
        pytest.skip("only on SQLite: PostgreSQL chooses its plan from table statistics, not the schema")
    make_document(me.person.contact)
    sql = [r.msg for r in _logged(me, caplog, "/invoices?page=3") if "ORDER BY" in r.msg[0]]
    assert len(sql) == 1, sql
    plan = " | ".join(row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql[0][0], sql[0][1]))
    assert "TEMP B-TREE" not in plan, plan
    assert "document_contact_id_issue_date_id_kind_status" in plan, plan


def _logged(browser, caplog, url):
    caplog.clear()
    with caplog.at_level("DEBUG", logger="peewee"):
        assert browser.get(url).status_code == 200
    return [r for r in caplog.records if r.name == "peewee" and isinstance(r.msg, tuple)]
