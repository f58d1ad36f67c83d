"""Portal access: sign-in, access and reset links, sessions that end, throttling, safe redirects."""
import datetime
import re

import pytest

from app import jobs
from app.models import AccessLink, Contact, Person, PortalSession, utcnow
from tests.conftest import Browser, soup
from tests.factories import make_contact, make_person

PASSWORD = "correct horse battery"
LINK_RE = re.compile(r"http://portal\.test(/(?:access|reset)/[\w-]+)")


@pytest.fixture
def mailbox(app, smtp_server):  # noqa: F811
    app.config["SMTP_PORT"] = smtp_server.port

    def deliver():
        with app.app_context():
            jobs.run_due()
        return smtp_server.messages
    return deliver


def last_link(messages):
    return LINK_RE.search(messages[-1].text).group(1)


def sign_in(browser, email, password=PASSWORD, **kw):
    browser.get("/login")
    return browser.post("/login", {"email": email, "password": password}, **kw)


def signed_in(browser):
    resp = browser.client.get("/")
    return resp.status_code == 200


# --- password sign-in ----------------------------------------------------------------------

def test_sign_in_with_password_and_out(browser):
    person = make_person(password=PASSWORD)
    assert not signed_in(browser)
    resp = sign_in(browser, person.email.upper())
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    assert signed_in(browser)
    browser.get("/")
    browser.post("/logout")
    assert not signed_in(browser)


def test_wrong_password_unknown_email_and_disabled_portal_get_the_same_answer(browser):
    person = make_person(password=PASSWORD)
    off = make_person(contact=make_contact(portal_enabled=False), password=PASSWORD)
    answers = []
    for email, password in ((person.email, "wrong password 1"), ("nobody@example.com", "wrong password 1"),
                            (off.email, PASSWORD)):
        resp = sign_in(browser, email, password)
        page = soup(resp)
        answers.append((resp.status_code, page.find(id="e-password").get_text()))
    assert len(set(answers)) == 1 and answers[0][0] == 422
    assert not signed_in(browser)


def test_password_is_never_echoed_back(browser):
    person = make_person(password=PASSWORD)
    resp = sign_in(browser, person.email, "my secret guess 123")
    assert "my secret guess 123" not in resp.get_data(as_text=True)


# --- access links ---------------------------------------------------------------------------

def test_staff_sends_access_link_get_confirms_post_signs_in_once(app, staff, client, mailbox):
    person = make_person(name="Ana García", language="es")
    staff.get(f"/staff/contacts/{person.contact_id}")
    resp = staff.post(f"/staff/contacts/{person.contact_id}/people/{person.id}/send-link")
    assert resp.status_code == 303
    [mail] = mailbox()
    assert mail.rcpt_tos == [person.email] and "Ana García" in mail.text
    path = last_link([mail])
    assert AccessLink.get().token_hash not in mail.text   # only the hash is stored
    visitor = Browser(app.test_client())
    page = visitor.get(path)                              # a mail scanner's GET uses nothing up
    assert page.status_code == 200 and soup(page).find(id="access-form")
    assert AccessLink.get().used_at is None and not signed_in(visitor)
    resp = visitor.post(path)
    assert resp.status_code == 303 and resp.headers["Location"] == "/account/password"
    assert signed_in(visitor)
    assert PortalSession.get().via == "link" and PortalSession.get().expires_at is not None
    again = Browser(app.test_client())
    again.get("/login")
    resp = again.post(path)
    assert resp.status_code == 410 and soup(resp).find(id="link-invalid") and not signed_in(again)


def test_expired_used_and_superseded_links_fail_with_a_clear_page(app, mailbox):
    from app import tokens
    person = make_person()
    old, _ = tokens.issue(person, "access")
    new, _ = tokens.issue(person, "access")               # supersedes `old`
    expired, link = tokens.issue(make_person(), "access")
    AccessLink.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).where(AccessLink.id == link.id).execute()
    for token, words in ((old, "already been used"), (expired, "expired"), ("x" * 43, "not valid")):
        visitor = Browser(app.test_client())
        page = visitor.get(f"/access/{token}")
        assert page.status_code == 410 and words in soup(page).find(id="link-invalid").get_text()
        visitor.get("/login")
        assert visitor.post(f"/access/{token}").status_code == 410
        assert not signed_in(visitor)
    assert PortalSession.select().count() == 0
    visitor = Browser(app.test_client())
    visitor.get(f"/access/{new}")
    assert visitor.post(f"/access/{new}").status_code == 303


def test_link_session_is_time_limited(app):
    from app import tokens
    person = make_person()
    token, _ = tokens.issue(person, "access")
    visitor = Browser(app.test_client())
    visitor.get(f"/access/{token}")
    visitor.post(f"/access/{token}")
    assert signed_in(visitor)
    PortalSession.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).execute()
    assert not signed_in(visitor)


def test_idle_session_ends(app, browser):
    person = make_person(password=PASSWORD)
    sign_in(browser, person.email)
    idle = datetime.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    PortalSession.update(last_seen_at=utcnow() - idle).execute()
    assert not signed_in(browser)


def test_link_request_answers_the_same_for_known_and_unknown_emails(app, mailbox):
    person = make_person()
    bodies = []
    for email in (person.email, "stranger@example.com"):
        visitor = Browser(app.test_client())
        visitor.get("/login/link")
        resp = visitor.post("/login/link", {"email": email, "purpose": "access"})
        bodies.append((resp.status_code, soup(resp).find(id="link-sent").get_text().replace(email, "EMAIL")))
    assert bodies[0] == bodies[1] and bodies[0][0] == 200
    messages = mailbox()
    assert [m.rcpt_tos for m in messages] == [[person.email]]


# --- sessions end everywhere -----------------------------------------------------------------

def _copied_cookie_after(app, action):
    """Sign in, copy the session cookie, do `action`, and replay the copy in a new client."""
    person = make_person(password=PASSWORD)
    browser = Browser(app.test_client())
    sign_in(browser, person.email)
    cookie = browser.client.get_cookie("session").value
    action(browser, person)
    thief = app.test_client()
    thief.set_cookie("session", cookie, domain="localhost")
    return thief.get("/")


def test_copied_cookie_is_refused_after_sign_out(app):
    def logout(browser, person):
        browser.get("/")
        browser.post("/logout")
    assert _copied_cookie_after(app, logout).status_code == 302


def test_copied_cookie_is_refused_after_password_change(app):
    def change(browser, person):
        browser.get("/account/password")
        resp = browser.post("/account/password", {"current_password": PASSWORD,
                                                   "new_password": "a brand new passphrase",
                                                   "confirm": "a brand new passphrase"})
        assert resp.status_code == 303
        assert signed_in(browser)   # this device stays signed in
    assert _copied_cookie_after(app, change).status_code == 302


@pytest.mark.parametrize("action", ["force-reset", "sign-out"])
def test_copied_cookie_is_refused_after_staff_reset_or_sign_out(app, staff, action, mailbox):
    def staff_acts(browser, person):
        staff.get(f"/staff/contacts/{person.contact_id}")
        assert staff.post(f"/staff/contacts/{person.contact_id}/people/{person.id}/{action}").status_code == 303
        assert not signed_in(browser)
    assert _copied_cookie_after(app, staff_acts).status_code == 302


def test_force_reset_clears_password_and_mails_a_reset_link(app, staff, mailbox):
    person = make_person(password=PASSWORD)
    staff.get(f"/staff/contacts/{person.contact_id}")
    staff.post(f"/staff/contacts/{person.contact_id}/people/{person.id}/force-reset")
    assert Person.get_by_id(person.id).password_hash is None
    path = last_link(mailbox())
    assert path.startswith("/reset/")
    visitor = Browser(app.test_client())
    assert sign_in(visitor, person.email).status_code == 422   # the old password is gone
    visitor.get(path)
    resp = visitor.post(path, {"new_password": "a completely new one", "confirm": "a completely new one"})
    assert resp.status_code == 303 and signed_in(visitor)
    assert visitor.get(path).status_code == 410


def test_copied_cookie_is_refused_after_portal_access_revoked(app, staff):
    def revoke(browser, person):
        staff.get(f"/staff/contacts/{person.contact_id}")
        staff.post(f"/staff/contacts/{person.contact_id}/portal/off")
        assert not signed_in(browser)
    assert _copied_cookie_after(app, revoke).status_code == 302



@pytest.mark.parametrize("how", ["portal switch", "contact form"])
def test_access_off_then_on_leaves_old_sessions_and_links_dead(app, staff, mailbox, how):
    """Off means off: switching it back on does not revive a copied cookie or an unused link."""
    person = make_person(password=PASSWORD)
    browser = Browser(app.test_client())
    sign_in(browser, person.email)
    cookie = browser.client.get_cookie("session").value
    staff.get(f"/staff/contacts/{person.contact_id}")
    assert staff.post(f"/staff/contacts/{person.contact_id}/people/{person.id}/send-link").status_code == 303
    link = last_link(mailbox())
    if how == "portal switch":
        for state in ("off", "on"):
            assert staff.post(f"/staff/contacts/{person.contact_id}/portal/{state}").status_code == 303
    else:
        for enabled in (False, True):
            data = {"kind": "company", "name": person.contact.name, **({"portal_enabled": "on"} if enabled else {})}
            assert staff.post(f"/staff/contacts/{person.contact_id}/edit", data).status_code == 303
    assert Contact.get_by_id(person.contact_id).portal_enabled
    thief = app.test_client()
    thief.set_cookie("session", cookie, domain="localhost")
    assert thief.get("/").status_code == 302
    assert Browser(app.test_client()).get(link).status_code == 410
    assert not signed_in(browser)
    assert sign_in(Browser(app.test_client()), person.email).status_code == 303   # access is on again



@pytest.mark.parametrize("change", [{"portal_enabled": False}, {"archived": True}])
def test_access_closed_through_the_api_ends_sessions_and_links(app, change):
    from app.api.auth import create_token
    person = make_person(password=PASSWORD)
    browser = Browser(app.test_client())
    sign_in(browser, person.email)
    link = AccessLink.select().count()
    token, _row = create_token("ERP")
    with app.app_context():
        from app import tokens
        tokens.issue(person)
    assert AccessLink.select().where(AccessLink.used_at.is_null()).count() == link + 1
    answer = app.test_client().patch(f"/api/v1/contacts/{person.contact_id}", json=change,
                                     headers={"Authorization": "Bearer " + token})
    assert answer.status_code == 200, answer.get_json()
    assert not signed_in(browser)
    assert AccessLink.select().where(AccessLink.used_at.is_null()).count() == 0


def test_sign_in_starts_a_new_session_id(app, browser):
    person = make_person(password=PASSWORD)
    browser.get("/login")
    before = browser.client.get_cookie("session").value
    sign_in(browser, person.email)
    browser.get("/")
    browser.post("/logout")
    sign_in(browser, person.email)
    assert browser.client.get_cookie("session").value != before
    assert PortalSession.select().count() == 1


# --- abuse ------------------------------------------------------------------------------------

def test_twenty_wrong_passwords_are_throttled_but_the_person_gets_in(app):
    app.config["LOGIN_LIMIT_ACCOUNT_IP"] = "5 per 8 seconds"
    person = make_person(password=PASSWORD)
    attacker = Browser(app.test_client())
    statuses = [sign_in(attacker, person.email, f"guess number {i}",
                        environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code
                for i in range(20)]
    assert statuses[:5] == [422] * 5 and set(statuses[5:]) == {429}
    # Even the right password is refused from the attacker's address while throttled...
    assert sign_in(attacker, person.email, PASSWORD, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 429
    # ...but the real person, from their own address, gets in at once,
    owner = Browser(app.test_client())
    assert sign_in(owner, person.email, PASSWORD, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 303
    # and from the throttled address once the short window has passed.
    import time
    time.sleep(8.2)
    assert sign_in(attacker, person.email, PASSWORD, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 303


def test_throttled_page_is_clear(app):
    app.config["LOGIN_LIMIT_ACCOUNT_IP"] = "1 per minute"
    browser = Browser(app.test_client())
    sign_in(browser, "a@example.com", "wrong one 1")
    resp = sign_in(browser, "a@example.com", "wrong one 2")
    assert resp.status_code == 429 and "Too many attempts" in soup(resp).find(id="error-page").get_text()
    assert "Content-Security-Policy" in resp.headers


def test_cross_site_post_without_token_is_refused(browser):
    person = make_person(password=PASSWORD)
    resp = browser.post("/login", {"email": person.email, "password": PASSWORD}, token=False,
                        headers={"Origin": "https://evil.example"})
    assert resp.status_code == 400 and not signed_in(browser)


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example",
                                    "\\\\evil.example", "http:evil.example", " //evil.example",
                                    "/%0a/evil.example", "/%2F/evil.example", "javascript:alert(1)",
                                    "////evil.example"])
def test_next_only_goes_to_same_site_paths(browser, target):
    person = make_person(password=PASSWORD)
    browser.get("/login")
    resp = browser.post("/login", {"email": person.email, "password": PASSWORD, "next": target})
    assert resp.status_code == 303 and resp.headers["Location"] == "/"


def test_next_keeps_a_same_site_path(browser):
    person = make_person(password=PASSWORD)
    browser.get("/login")
    resp = browser.post("/login", {"email": person.email, "password": PASSWORD, "next": "/account/"})
    assert resp.headers["Location"] == "/account/"


# --- password and language forms ---------------------------------------------------------------

@pytest.mark.parametrize("data,field", [
    ({"current_password": PASSWORD, "new_password": "long enough pass", "confirm": "long enough pasz"}, "confirm"),
    ({"current_password": PASSWORD, "new_password": "1234567890", "confirm": "1234567890"}, "new_password"),
    ({"current_password": PASSWORD, "new_password": "short", "confirm": "short"}, "new_password"),
    ({"current_password": "not it at all", "new_password": "long enough pass", "confirm": "long enough pass"},
     "current_password"),
    ({"current_password": "", "new_password": "long enough pass", "confirm": "long enough pass"}, "current_password"),
    ({"current_password": PASSWORD, "new_password": "", "confirm": ""}, "new_password"),
])
def test_bad_password_change_gets_a_message_and_changes_nothing(browser, data, field):
    person = make_person(password=PASSWORD)
    sign_in(browser, person.email)
    browser.get("/account/password")
    resp = browser.post("/account/password", data)
    assert resp.status_code == 422 and soup(resp).find(id=f"e-{field}")
    assert Person.get_by_id(person.id).password_hash == person.password_hash


def test_long_unicode_passphrase_works_untruncated(browser):
    person = make_person(password=PASSWORD)
    sign_in(browser, person.email)
    phrase = "ñandú con acentos y espacios " * 4 + "🙂 終わり"
    browser.get("/account/password")
    assert browser.post("/account/password", {"current_password": PASSWORD, "new_password": phrase,
                                              "confirm": phrase}).status_code == 303
    other = Browser(browser.client.application.test_client())
    assert sign_in(other, person.email, phrase[:-1]).status_code == 422
    assert sign_in(other, person.email, phrase).status_code == 303


def test_link_session_can_set_first_password_without_current(app):
    from app import tokens
    person = make_person()
    token, _ = tokens.issue(person, "access")
    visitor = Browser(app.test_client())
    visitor.get(f"/access/{token}")
    visitor.post(f"/access/{token}")
    page = soup(visitor.get("/account/password"))
    assert page.find(id="f-current_password") is None
    resp = visitor.post("/account/password", {"new_password": "my first passphrase", "confirm": "my first passphrase"})
    assert resp.status_code == 303
    assert PortalSession.get().via == "password" and PortalSession.get().expires_at is None


def test_language_choice_is_saved_and_validated(browser):
    person = make_person(password=PASSWORD)
    sign_in(browser, person.email)
    browser.get("/account/")
    assert browser.post("/account/language", {"language": "xx"}).status_code == 422
    assert Person.get_by_id(person.id).language == ""
    assert browser.post("/account/language", {"language": "de"}).status_code == 303
    assert Person.get_by_id(person.id).language == "de"
    assert soup(browser.get("/")).find("html")["lang"] == "de"


def test_locale_follows_person_then_contact_then_browser(app, browser):
    person = make_person(password=PASSWORD, contact=make_contact(language="fr"))
    browser.get("/login", headers={"Accept-Language": "it"})
    assert soup(browser.get("/login", headers={"Accept-Language": "it"})).find("html")["lang"] == "it"
    sign_in(browser, person.email)
    assert soup(browser.get("/")).find("html")["lang"] == "fr"
    Person.update(language="pt").execute()
    assert soup(browser.get("/")).find("html")["lang"] == "pt"


def test_portal_pages_require_sign_in(client):
    for url in ("/", "/account/", "/account/password"):
        resp = client.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_cli_access_link_prints_a_working_link(app, runner):
    person = make_person()
    result = runner.invoke(args=["access-link", person.email.upper()])
    assert result.exit_code == 0, result.output
    url = result.stdout.strip().splitlines()[0]
    assert url.startswith("http://portal.test/access/")
    visitor = Browser(app.test_client())
    path = url[len("http://portal.test"):]
    visitor.get(path)
    assert visitor.post(path).status_code == 303 and signed_in(visitor)
    assert runner.invoke(args=["access-link", "nobody@example.com"]).exit_code != 0


@pytest.mark.parametrize("language,data,field,words", [
    ("es", {"current_password": PASSWORD, "new_password": "long enough pass", "confirm": "different pass"},
     "confirm", "Las dos contraseñas no coinciden."),
    ("de", {"current_password": "not it at all", "new_password": "long enough pass", "confirm": "long enough pass"},
     "current_password", "Das ist nicht Ihr aktuelles Passwort."),
    ("fr", {"current_password": PASSWORD, "new_password": "1234567890", "confirm": "1234567890"},
     "new_password", "Ce mot de passe fait partie des plus courants."),
    ("it", {"current_password": PASSWORD, "new_password": "", "confirm": ""},
     "new_password", "Inserisci una nuova password."),
])
def test_password_messages_come_in_the_persons_language(browser, language, data, field, words):
    person = make_person(password=PASSWORD, language=language)
    sign_in(browser, person.email)
    browser.get("/account/password")
    resp = browser.post("/account/password", data)
    assert resp.status_code == 422
    assert words in " ".join(soup(resp).find(id=f"e-{field}").get_text().split())
    assert Person.get_by_id(person.id).password_hash == person.password_hash
