"""`flask demo`: the promised data, totals that add up, --if-empty, and a working staff sign-in."""
from collections import Counter

from app import money, people
from app.models import (Category, Comment, Contact, Document, LineTax, Payment, Person, Product,
                        QuoteDecision, Settings, StaffUser, TaxRate)
from tests.conftest import soup
from tests.factories import make_contact

STAFF_EMAIL, STAFF_PASSWORD = "demo@example.com", "demo-password-123"

EXPECTED_STATES = {
    ("invoice", "draft"), ("invoice", "open"), ("invoice", "overdue"), ("invoice", "partly paid"),
    ("invoice", "paid"), ("invoice", "void"),
    ("quote", "draft"), ("quote", "open"), ("quote", "expired"), ("quote", "accepted"),
    ("quote", "declined"),
    ("order", "open"), ("order", "confirmed"), ("order", "shipped"), ("order", "delivered"),
    ("order", "cancelled"),
}


def load(runner, *args):
    result = runner.invoke(args=["demo", *args])
    assert result.exit_code == 0, result.output
    return result


def state(doc):
    """What a person would call the document's state, with the date-derived ones."""
    if doc.is_overdue:
        return "overdue"
    if doc.is_expired:
        return "expired"
    if doc.kind == "invoice" and doc.status == "open" and 0 < doc.amount_paid < doc.total:
        return "partly paid"
    return doc.status


def counts():
    return {model.__name__: model.select().count()
            for model in (StaffUser, Contact, Person, Product, Category, Document, Payment, Comment)}


def test_demo_loads_documents_of_every_kind_and_state(runner):
    result = load(runner)
    docs = list(Document.select())
    assert len(docs) >= 30
    states = Counter((d.kind, state(d)) for d in docs)
    assert set(states) == EXPECTED_STATES
    # Numbers are PREFIX-YEAR-NNNN of the issue year, given out in issue-date order.
    for kind, prefix in (("invoice", "F"), ("quote", "P"), ("order", "SO")):
        dated = sorted((d.issue_date, d.number) for d in docs if d.kind == kind and d.status != "draft")
        assert all(n.startswith(f"{prefix}-{day.year}-") for day, n in dated)
        assert [n for _, n in dated] == sorted(n for _, n in dated)
    assert all(d.issued_at is None and d.number == "" for d in docs if d.status == "draft")
    assert all(d.issued_at is not None for d in docs if d.status != "draft")
    assert "Demo data loaded" in result.output


def test_demo_business_contacts_and_people(runner):
    result = load(runner)
    settings = Settings.get_solo()
    assert settings.name == "Taller Martínez S.L." and "Valencia" in settings.address
    assert settings.language_list == ["es", "en", "ca", "fr", "de", "it", "pt"]
    assert (settings.invoice_prefix, settings.quote_prefix, settings.order_prefix) == ("F", "P", "SO")
    assert settings.quote_to_order and settings.stock_display == "level" and settings.default_terms
    rates = {(t.name, t.rate_bp) for t in TaxRate.select()}
    assert {("IVA", 2100), ("IVA", 1000), ("IVA", 400), ("IRPF", -1500)} <= rates

    contacts = list(Contact.select())
    assert len(contacts) >= 3
    assert {c.kind for c in contacts} == {"company", "person"}
    for contact in contacts:
        people = list(contact.people)
        assert 1 <= len(people) <= 2
        assert all(p.email.endswith("@demo.example") for p in people)
        assert people[0].email in result.output
    assert sum(c.portal_enabled for c in contacts) > len(contacts) / 2
    assert sum(c.catalog_enabled for c in contacts) > len(contacts) / 2
    assert any(c.gateway_list for c in contacts) and not all(c.gateway_list for c in contacts)
    # A Spanish company whose invoices withhold IRPF.
    withheld = {t.line.document.contact.name for t in LineTax.select().where(LineTax.rate_bp < 0)}
    assert "Construcciones Levante S.A." in withheld
    assert "portal sign-in: see README" in result.output


def test_demo_catalog(runner):
    load(runner)
    products = list(Product.select())
    assert len(products) >= 40
    assert Category.select().count() == 6
    assert Category.select().where(Category.parent.is_null(False)).count() >= 1
    assert len({p.category_id for p in products}) == 6
    assert len({p.sku for p in products}) == len(products)
    assert sum(p.stock == 0 for p in products) >= 3
    assert [p.active for p in products].count(False) == 1
    assert [p.visible for p in products].count(False) == 1
    assert all(p.price > 0 and list(p.product_taxes) for p in products)


def test_every_stored_total_matches_a_fresh_recompute(runner):
    load(runner)
    docs = list(Document.select())
    rates = set()
    for doc in docs:
        stored = (doc.subtotal, doc.tax_total, doc.total)
        doc.recompute()
        assert (doc.subtotal, doc.tax_total, doc.total) == stored, doc.number
        assert doc.total > 0
        for line in doc.ordered_lines():
            assert line.net == money.line_net(line.qty_milli, line.unit_price, line.discount_bp)
            rates.update(t.rate_bp for t in line.line_taxes)
    assert {2100, 1000, 400, -1500} <= rates
    assert any(line.discount_bp for doc in docs for line in doc.ordered_lines())
    assert any(line.product_id is None for doc in docs for line in doc.ordered_lines())


def test_payments_decisions_and_comments_are_consistent(runner):
    load(runner)
    for doc in Document.select():
        paid = sum(p.amount for p in doc.payments if p.status == "succeeded")
        assert doc.amount_paid == paid, doc.number
        assert all(p.currency == doc.currency for p in doc.payments)
        if doc.status == "paid":
            assert paid == doc.total
    assert {p.gateway for p in Payment.select()} >= {"manual", "stripe"}

    accepted = Document.get((Document.kind == "quote") & (Document.status == "accepted"))
    decision = QuoteDecision.get(QuoteDecision.document == accepted)
    assert decision.decision == "accepted"
    assert decision.document_hash == accepted.content_hash()
    assert decision.document_version == accepted.version
    assert decision.person.contact_id == accepted.contact_id
    assert Document.get(Document.source == accepted).kind == "order"

    comments = list(Comment.select())
    assert any(c.person_id for c in comments) and any(c.staff_id for c in comments)
    assert all(c.person is None or c.person.contact_id == c.document.contact_id for c in comments)


def test_if_empty_twice_loads_once(runner):
    load(runner, "--if-empty")
    first = counts()
    result = load(runner, "--if-empty")
    assert counts() == first
    assert "not loaded" in result.output
    assert first["Document"] >= 30


def test_if_empty_does_nothing_when_a_contact_exists(runner):
    make_contact(name="A real customer")
    result = load(runner, "--if-empty")
    assert "not loaded" in result.output
    assert Contact.select().count() == 1 and Document.select().count() == 0
    assert Settings.get_solo().name != "Taller Martínez S.L."


def test_plain_demo_refuses_to_load_twice(runner):
    load(runner)
    before = counts()
    result = runner.invoke(args=["demo"])
    assert result.exit_code != 0
    assert "already loaded" in result.output
    assert counts() == before


def test_demo_staff_signs_in_through_the_login_form(runner, browser):
    result = load(runner)
    assert "/staff/login" in result.output
    assert STAFF_EMAIL in result.output and STAFF_PASSWORD in result.output
    page = soup(browser.get("/staff/login"))
    assert page.find("input", attrs={"name": "email"}) is not None

    wrong = browser.post("/staff/login", {"email": STAFF_EMAIL, "password": "not-the-password"})
    assert wrong.status_code == 422

    resp = browser.post("/staff/login", {"email": STAFF_EMAIL, "password": STAFF_PASSWORD})
    assert resp.status_code == 303
    contacts = soup(browser.get(resp.headers["Location"]))
    names = [a.get_text(strip=True) for a in contacts.select("#contacts tbody a")]
    assert "Construcciones Levante S.A." in names and "Jordi Puig i Vidal" in names


def test_demo_people_have_roles_and_manage_their_team(runner):
    load(runner)
    assert Settings.get_solo().team_self_service
    roles = {p.email: p.role for p in Person.select()}
    assert roles["miguel@demo.example"] == "buyer" and roles["tom@demo.example"] == "billing"
    assert roles["ana@demo.example"] == "owner"
    # Every contact keeps an owner, and nobody comments on a document their role does not read.
    for contact in Contact.select():
        assert any(p.role == "owner" for p in contact.people), contact.name
    for comment in Comment.select().where(Comment.person.is_null(False)):
        assert people.reads_kind(comment.person, comment.document.kind), comment.person.email
