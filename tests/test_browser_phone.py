"""Browser: every page a customer reaches, on a phone (390×844) and a desktop (1366×900), in
Spanish and English, light and dark. On each: nothing wider than the screen, zero WCAG 2.2 A/AA
violations by axe-core (tests/vendor, injected into the page), no console error. A screenshot of
each page and size goes to instance/screenshots/ for people to look at.

Then the checks of issue 17's points that a plain page load does not cover (the pay box's
amount, dates, the language menu, the stacked tables' labels, the quote decision)."""
import datetime
import json
import pathlib

import pytest
from playwright.sync_api import expect

from app import credit_notes, documents, verify
from app.credit_notes import Pick
from app.models import CartItem, Comment, Document, GatewayConfig
from app.rules import By
from tests.browser import portal_sign_in
from tests.factories import (PASSWORD, make_category, make_contact, make_document, make_person,
                             make_product, settings)

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parent.parent
AXE = ROOT / "tests" / "vendor" / "axe-4.14.1.min.js"
AXE_SOURCE = AXE.read_text(encoding="utf-8") + "\n;window.axe = axe; 0;"
SHOTS = ROOT / "instance" / "screenshots"
SIZES = {"phone": (390, 844), "desktop": (1366, 900)}

# WCAG 2.2 A and AA, every impact. Best practices are not asked for.
AXE_RUN = """async () => {
  const r = await axe.run(document, {runOnly: {type: 'tag', values:
    ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']}, resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + n.failureSummary.slice(0, 160))}));
}"""
OVERFLOW = """() => ({scroll: document.documentElement.scrollWidth,
                     client: document.documentElement.clientWidth})"""


def populate(language):
    """A contact with something of every kind: open and paid invoices, a credit note, a quote,
    an order, a catalog with categories, five long-named products in the cart."""
    settings(name="Taller Martínez S.L.", allow_partial_payments=True, min_partial_amount=5000,
             country="ES", iban="ES9121000418450200051332", bic="CAIXESBBXXX")
    GatewayConfig.create(gateway="stripe", mode="test",
                         test_credentials=json.dumps({"secret_key": "sk_test_x", "webhook_secret": "whsec_x"}))
    contact = make_contact(name="Talleres Ruiz Hermanos S.L.", gateways="stripe", catalog_enabled=True)
    person = make_person(contact=contact, password=PASSWORD, name="Ana García Fernández", language=language)
    today = datetime.date.today()
    lines = [("Revisión anual de la instalación eléctrica del taller principal", 2000, 6500, 0, [("IVA", 2100)]),
             ("Sustitución de cuadro eléctrico", 1000, 4105, 1000, [("IVA", 2100)])]
    invoice = make_document(contact, lines=lines, issue_date=today - datetime.timedelta(days=40),
                            due_date=today - datetime.timedelta(days=10))
    make_document(contact, lines=[("Mantenimiento", 1000, 1786, 0, [("IVA", 2100)])], issue_date=today)
    paid = make_document(contact, status="draft", lines=[("Consultoría", 2000, 5000, 0, [("IVA", 2100)])])
    documents.issue(paid, By())
    paid = Document.get_by_id(paid.id)
    documents.record_manual_payment(paid, 2100, today, "Cash", By())
    note = credit_notes.issue(Document.get_by_id(paid.id), [Pick(paid.ordered_lines().get().id, 1000)],
                              "Una unidad devuelta sin usar", By())
    quote = make_document(contact, kind="quote", lines=lines, valid_until=today + datetime.timedelta(days=30))
    order = make_document(contact, kind="order", status="confirmed", lines=lines)
    tools = make_category("Herramientas eléctricas profesionales")
    for name in ("Pinturas", "Fontanería", "Jardinería", "Electricidad", "Ferretería general"):
        make_category(name)
    products = [make_product(f"Taladro percutor inalámbrico profesional de 18 V modelo {n} con maletín",
                             price=12990 + n, stock=8, category=tools) for n in range(5)]
    for product in products:
        CartItem.create(contact=contact, product=product, quantity=2, unit_price_seen=product.price)
    return {"person": person, "invoice": invoice, "paid": paid, "note": note, "quote": quote,
            "order": order, "category": tools, "product": products[0],
            "verify": f"/verify/{verify.code_for(invoice)}"}


def pages(made):
    """(name, path) of every page a signed-in customer reaches."""
    return [("summary", "/"), ("invoices", "/invoices"),
            ("invoices-filtered", "/invoices?status=open&from=2020-01-01&to=2099-12-31"),
            ("quotes", "/quotes"), ("orders", "/orders"),
            ("invoice", f"/documents/{made['invoice'].id}"), ("invoice-paid", f"/documents/{made['paid'].id}"),
            ("credit-note", f"/documents/{made['note'].id}"), ("quote", f"/documents/{made['quote'].id}"),
            ("order", f"/documents/{made['order'].id}"), ("pay-several", "/pay"),
            ("catalog", "/catalog/"), ("category", f"/catalog/?category={made['category'].id}"),
            ("product", f"/catalog/products/{made['product'].id}"), ("cart", "/cart/"),
            ("checkout", "/checkout/"), ("account", "/account/"), ("password", "/account/password")]


SIGNED_OUT = [("sign-in", "/login"), ("sign-in-link", "/login/link")]


def check(page, name, size, tag, errors):
    """The three checks on the page shown; returns what failed (empty when all is well)."""
    page.wait_for_load_state("load")
    problems = []
    found = page.evaluate(OVERFLOW)
    if found["scroll"] > found["client"]:
        problems.append(f"scrolls sideways by {found['scroll'] - found['client']} px")
    # The page's CSP refuses inline scripts (add_script_tag): evaluated through the
    # DevTools protocol instead, which the policy does not govern.
    page.evaluate(AXE_SOURCE)
    violations = page.evaluate(AXE_RUN)
    if violations:
        problems.append(f"axe: {violations}")
    if errors:
        problems.append(f"console: {errors[:]}")
        errors.clear()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{size}-{tag}.png"), full_page=True)
    return [f"{name} ({size}, {tag}): {p}" for p in problems]


def open_context(chromium, live_server, size, language, theme):
    width, height = SIZES[size]
    context = chromium.new_context(base_url=live_server.url, viewport={"width": width, "height": height},
                                   locale="es-ES" if language == "es" else "en-GB", color_scheme=theme,
                                   is_mobile=size == "phone", has_touch=size == "phone",
                                   device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return context, page, errors


# Every page at both sizes in Spanish light and English dark: four runs of twenty pages.
@pytest.mark.parametrize("language, theme", [("es", "light"), ("en", "dark")])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_every_page_fits_and_passes_axe(app, chromium, live_server, size, language, theme):
    with app.app_context():
        made = populate(language)
    context, page, errors = open_context(chromium, live_server, size, language, theme)
    tag = f"{language}-{theme}"
    problems = []
    try:
        for name, path in SIGNED_OUT + [("verify", made["verify"])]:
            page.goto(path)
            problems += check(page, name, size, tag, errors)
        portal_sign_in(page, made["person"])
        for name, path in pages(made):
            page.goto(path)
            problems += check(page, name, size, tag, errors)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def phone(chromium, live_server):
    """A phone in Spanish (light), signed out; the console errors are checked at the end."""
    context, page, errors = open_context(chromium, live_server, "phone", "es", "light")
    yield page
    context.close()
    assert not errors, errors


def test_phone_shows_every_amount_and_action(app, phone, live_server):
    """Points 1–6: the menu's sections, the cart's columns, the lists' amounts, the document
    before its sidebar, the catalog's search before its categories, all inside 390 px."""
    with app.app_context():
        made = populate("es")
    portal_sign_in(phone, made["person"])

    def inside(locator):
        box = locator.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (locator, box)

    # 4, 1: every section of the menu is on screen, the cart with its count.
    for link in ("Resumen", "Facturas", "Presupuestos", "Pedidos", "Catálogo"):
        inside(phone.locator("#portal-nav").get_by_role("link", name=link, exact=True))
    inside(phone.locator("#cart-link"))
    expect(phone.locator("#cart-count")).to_have_text("10")

    # 2: the cart's price, quantity, amount and Remove of each line; checkout beside the total.
    phone.goto("/cart/")
    item = phone.locator("#cart-table tbody tr").first
    for cell in item.locator("td").all():
        if cell.is_visible():
            inside(cell)
    inside(item.get_by_role("button", name="Quitar"))
    inside(phone.locator("#checkout-link"))

    # 3: the summary's amounts and the lists' status, total and amount due, with their labels.
    phone.goto("/")
    for amount in phone.locator("#pending-invoices td.num").all():
        inside(amount)
        assert "€" in amount.inner_text()
    phone.goto("/invoices")
    row = phone.locator(f"#row-{made['invoice'].id}")
    for cell in row.locator("td").all():
        if cell.inner_text().strip():
            inside(cell)
    expect(row.locator("td").nth(5)).to_have_attribute("data-label", "Importe pendiente")

    # 5: the document comes first, its lines show every column; the pay bar stays in view.
    phone.goto(f"/documents/{made['invoice'].id}")
    sheet = phone.locator(".doc-main").bounding_box()
    sidebar = phone.locator("#doc-sidebar").bounding_box()
    assert sheet["y"] < sidebar["y"]
    for cell in phone.locator(".doc-lines tbody tr").first.locator("td").all():
        inside(cell)
    bar = phone.locator("#doc-bar")
    expect(bar).to_be_visible()
    assert bar.bounding_box()["y"] + bar.bounding_box()["height"] <= 844

    # 6: the catalog's search comes before its categories.
    phone.goto("/catalog/")
    assert phone.locator("#catalog-search").bounding_box()["y"] < phone.locator("#category-nav").bounding_box()["y"]


def test_desktop_filters_in_one_row_and_comments_wide_enough(app, chromium, live_server):
    """Points 7 and 10: the invoice filters' date fields sit in the row with their labels beside
    them; a comment's name and time take one line, on a desktop and on a phone."""
    with app.app_context():
        made = populate("es")
        Comment.create(document=made["invoice"], author_name="Ana García Fernández", body="¿Incluye el IVA?")
    for size in ("desktop", "phone"):
        context, page, errors = open_context(chromium, live_server, size, "es", "light")
        portal_sign_in(page, made["person"])
        if size == "desktop":
            page.goto("/invoices")
            boxes = [page.locator(s).bounding_box() for s in ("#f-q", "#f-status", "#f-from", "#f-to", "#f-sort")]
            assert len({round(b["y"] + b["height"] / 2) for b in boxes}) == 1, boxes
            for field in ("from", "to"):
                label = page.locator(f"label[for=f-{field}]").bounding_box()
                field_box = page.locator(f"#f-{field}").bounding_box()
                assert label["x"] + label["width"] <= field_box["x"] and field_box["width"] < 220
        page.goto(f"/documents/{made['invoice'].id}")
        meta = page.locator(".comment-meta").first
        line = float(meta.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
        assert meta.bounding_box()["height"] < line * 1.5, (size, meta.bounding_box())
        assert meta.locator("time").inner_text().count(",") == 1   # "4 dic 2026, 14:51"
        context.close()
        assert not errors, errors
