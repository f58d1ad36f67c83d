"""Browser-test fixtures: the app served on a loopback port, and a Chromium page driven by
Playwright. Debian's Chromium is used (never a downloaded browser)."""
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A 4xx answer (a validation message, a throttled form) is logged by Chromium too: expected.
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and not
            msg.text.startswith("Failed to load resource: the server responded with a status of 4") else None)
    page.set_default_timeout(10_000)
    yield page
    context.close()
    # A Content-Security-Policy violation or a script error is a failure of the page.
    assert not errors, errors


def _sign_in(page, path, form_id, email, password, landing):
    page.goto(path)
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click(f"#{form_id} button[type=submit]")
    page.wait_for_url(landing)


def staff_sign_in(page, user, password="correct horse battery"):
    """Sign a staff user in through the real back-office form."""
    _sign_in(page, "/staff/login", "staff-login", user.email, password, "**/staff/contacts/")


def portal_sign_in(page, person, password="correct horse battery"):
    """Sign a contact's person in through the real portal form."""
    _sign_in(page, "/login", "login-form", person.email, password, "**/")
