"""Screenshots of the portal for reviewing the look: `python scripts/screenshots.py OUTDIR`.

Starts the app on a throwaway SQLite database, fills it with a few contacts and documents,
signs in through the real staff form and saves desktop (1280 px) and phone (390 px) PNGs of
the main pages of the back-office and the portal. Drives Debian's Chromium
(/usr/bin/chromium); never downloads a browser."""
import argparse
import datetime
import logging
import os
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.cli import migrate_database  # noqa: E402
from app.db import db  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORD = "correct horse battery"
VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}

def build_app(tmp):
    app = create_app({
        "SECRET_KEY": "screenshots-only-secret-key-0123456789",
        "DATABASE_URL": "sqlite:///" + os.path.join(tmp, "portal.db"),
        "BASE_URL": "http://127.0.0.1",
        "MAIL_DIR": os.path.join(tmp, "mail"),
        "HUEY_FILE": os.path.join(tmp, "huey.db"),
        "PORTAL_ENV": "development",
        "RATELIMIT_ENABLED": False,
    })
    migrate_database()
    return app


def seed():
    """A staff user, a few contacts and documents in every interesting state; returns ids."""
    from tests.factories import (make_category, make_contact, make_document, make_person, make_product,
                                 make_staff, make_tax)
    with db.connection_context():
        staff = make_staff(email="staff@example.com", name="Marta Vidal", password=PASSWORD)
        make_tax("IVA", 2100)
        make_tax("IVA reducido", 1000)
        make_tax("IRPF", -1500)
        acme = make_contact("Acme Supplies S.L.", tax_id="B12345678", email="billing@acme.example",
                            phone="+34 600 123 456", billing_address="Calle Mayor 12\n28013 Madrid\nSpain",
                            gateways="stripe,paypal", catalog_enabled=True)
        make_person(acme, name="Ana García", email="ana@acme.example", password=PASSWORD)
        make_person(acme, name="Luis Romero", email="luis@acme.example")
        others = [make_contact(n, email=e, tax_id=t, portal_enabled=p) for n, e, t, p in [
            ("Bodegas del Norte", "admin@bodegas.example", "B87654321", True),
            ("Carmen Ruiz", "carmen@example.com", "", False),
            ("Delta Logistics Ltd", "ap@delta.example", "GB123456789", True),
            ("Estudio Fábrica", "hola@fabrica.example", "B11223344", True)]]
        today = datetime.date.today()
        lines = [("Website redesign: discovery and wireframes", 1000, 180000, 0, [("IVA", 2100)]),
                 ("Front-end development\n40 hours at the agreed rate", 40000, 6500, 1000,
                  [("IVA", 2100), ("IRPF", -1500)]),
                 ("Hosting, 12 months", 12000, 2500, 0, [("IVA", 2100)])]
        invoice = make_document(acme, "invoice", "open", lines, number="F-2025-0042",
                                due_date=today + datetime.timedelta(days=30), reference="PO-7781",
                                notes="Thank you for your business.\nPayment by bank transfer to ES12 3456 7890.")
        make_document(acme, "invoice", "draft", lines[:1], number="F-2025-0043")
        make_document(acme, "quote", "open", lines[1:], number="P-2025-0007",
                      valid_until=today + datetime.timedelta(days=15))
        make_document(others[0], "invoice", "open", lines[2:], number="F-2025-0031",
                      issue_date=today - datetime.timedelta(days=60), due_date=today - datetime.timedelta(days=30))
        make_document(others[0], "quote", "accepted", lines[:2], number="P-2025-0005")
        make_document(others[2], "order", "shipped", lines[2:], number="O-2025-0012")
        make_document(others[3], "quote", "declined", lines[:1], number="P-2025-0004")
        make_document(others[3], "invoice", "void", lines[:1], number="F-2025-0029")
        tools = make_category("Tools")
        power = make_category("Power tools", parent=tools)
        make_category("Safety")
        drill = make_product("Cordless drill 18 V", price=12900, stock=7, category=power,
                             description="Two batteries and a charger.")
        make_product("Claw hammer", price=1850, stock=42, category=tools)
        make_product("Safety gloves, 10 pairs", price=2400, stock=0, category=None, visible=False)
        from app.models import Job
        Job.create(kind="mail", payload="{}", status="failed", attempts=8,
                   last_error="SMTPRecipientsRefused: {'ana@acme.example': (550, b'No such user')}")
        Job.create(kind="webhook", payload="{}", status="pending", attempts=2)
        return {"staff": staff.email, "acme": acme.id, "invoice": invoice.id, "product": drill.id,
                "person": "ana@acme.example"}


def serve(app):
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # keep stdout to the list of PNGs
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def shoot(page, outdir, name, full=True):
    path = os.path.join(outdir, name + ".png")
    page.screenshot(path=path, full_page=full)
    print(path)


def submit(page, selector):
    """Click a submit button and wait for the page the form leads to."""
    with page.expect_navigation():
        page.click(selector)


def visit(page, url, outdir, name, full=True):
    """Open url and save it; a page that errors is still saved, and said so."""
    resp = page.goto(url)
    if resp is not None and resp.status >= 400:
        print(f"warning: {url} answered {resp.status}", file=sys.stderr)
    shoot(page, outdir, name, full)


def take_all(page, base, ids, outdir, suffix, desktop):
    """Every page worth looking at, as staff and then as a customer."""
    visit(page, base + "/staff/login", outdir, f"login-{suffix}", full=False)
    page.fill("#f-email", ids["staff"])
    page.fill("#f-password", PASSWORD)
    submit(page, "#staff-login button[type=submit]")
    shoot(page, outdir, f"contacts-{suffix}")
    visit(page, f"{base}/staff/contacts/{ids['acme']}", outdir, f"contact-{suffix}")
    visit(page, f"{base}/staff/contacts/new", outdir, f"contact-form-{suffix}")
    visit(page, f"{base}/staff/documents/", outdir, f"documents-{suffix}")
    page.goto(f"{base}/staff/documents/{ids['invoice']}")
    if desktop and page.locator("#payment-form").count():
        page.fill("#f-amount", "500")
        page.fill("#f-note", "Bank transfer")
        submit(page, "#payment-form button[type=submit]")
    shoot(page, outdir, f"invoice-{suffix}")
    page.goto(f"{base}/staff/documents/new/invoice?contact={ids['acme']}")
    page.fill("#f-currency", "")   # a required field left empty: the editor's messages
    submit(page, "#save-doc")
    shoot(page, outdir, f"editor-errors-{suffix}")
    visit(page, f"{base}/staff/catalog/", outdir, f"products-{suffix}")
    visit(page, f"{base}/staff/catalog/products/{ids['product']}", outdir, f"product-{suffix}")
    visit(page, f"{base}/staff/catalog/categories/", outdir, f"categories-{suffix}")
    visit(page, f"{base}/staff/catalog/taxes/", outdir, f"taxes-{suffix}")
    visit(page, f"{base}/staff/settings/", outdir, f"settings-{suffix}")
    visit(page, f"{base}/staff/jobs/?status=failed", outdir, f"jobs-{suffix}")
    page.goto(base + "/staff/contacts/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    shoot(page, outdir, f"focus-{suffix}", full=False)

    page.context.clear_cookies()
    visit(page, base + "/login", outdir, f"portal-login-{suffix}", full=False)
    if page.locator("#login-form").count():
        page.fill("#f-email", ids["person"])
        page.fill("#f-password", PASSWORD)
        submit(page, "#login-form button[type=submit]")
        shoot(page, outdir, f"portal-home-{suffix}")
        for path, name in (("/account/", "profile"), ("/account/security/", "security"), ("/invoices", "invoices"),
                           ("/statement", "statement"), ("/payments", "payments")):
            visit(page, base + path, outdir, f"portal-{name}-{suffix}")


def run(outdir, color_scheme="light"):
    os.makedirs(outdir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(tmp)
        ids = seed()
        server, base = serve(app)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                for label, viewport in VIEWPORTS.items():
                    ctx = browser.new_context(viewport=viewport, color_scheme=color_scheme)
                    page = ctx.new_page()
                    suffix = label if color_scheme == "light" else f"{label}-{color_scheme}"
                    take_all(page, base, ids, outdir, suffix, desktop=label == "desktop")
                    ctx.close()
                browser.close()
        finally:
            server.shutdown()
            db.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", help="folder for the PNG files")
    parser.add_argument("--dark", action="store_true", help="also take the dark colour scheme")
    args = parser.parse_args()
    run(args.outdir)
    if args.dark:
        run(args.outdir, "dark")


if __name__ == "__main__":
    main()
