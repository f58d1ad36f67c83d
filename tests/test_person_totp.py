"""A second factor for the portal's people (issue 21): TOTP enrolment with ten recovery codes
shown once, sign-in with a code (a replayed code refused), a recovery code that works once, and
the business's "require a second factor" that neither a password, an access link nor a reset link
gets around (the session opens only after the second factor)."""
import datetime
import pyotp
import pytest

from app import person_totp, tokens
from app.models import Person, PersonRecoveryCode, PortalSession, Settings
from tests.conftest import Browser, soup
from tests.factories import make_person

PASSWORD = "correct horse battery"


def signed_in(browser):
    return browser.client.get("/").status_code == 200


def enrol(browser):
    """Turn the app on from the account page; returns (secret, recovery codes, the step used)."""
    browser.get("/account/security/")
    page = soup(browser.post("/account/security/totp/start"))
    secret = page.find(id="totp-secret").get_text()
    assert page.find("svg") is not None   # the QR code, inline
    wrong = browser.post("/account/security/totp/enable", {"code": "12345"})
    assert wrong.status_code == 422 and not Person.get_by_id(browser.person.id).totp_enabled
    totp = pyotp.TOTP(secret)
    code = totp.now()
    page = soup(browser.post("/account/security/totp/enable", {"code": code}))
    codes = [li.get_text() for li in page.find(id="recovery-codes").find_all("li")]
    return secret, codes, code


def password_sign_in(app, person):
    browser = Browser(app.test_client())
    browser.get("/login")
    resp = browser.post("/login", {"email": person.email, "password": PASSWORD})
    return browser, resp


def test_enrol_then_sign_in_with_a_code_and_a_reused_code_is_refused(auth, app):
    browser = auth.login_new_person()
    person = browser.person
    secret, codes, used = enrol(browser)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = Person.get_by_id(person.id)
    assert stored.totp_enabled and PersonRecoveryCode.select().count() == 10
    assert all(c not in {r.code_hash for r in PersonRecoveryCode.select()} for c in codes)   # stored hashed
    browser.post("/logout")

    other, resp = password_sign_in(app, person)
    assert resp.status_code == 303 and resp.headers["Location"] == "/login/second-factor"
    assert not signed_in(other) and PortalSession.select().where(PortalSession.person == person.id).count() == 0
    other.get("/login/second-factor")
    refused = other.post("/login/second-factor", {"code": used})   # the code that turned the app on
    assert refused.status_code == 422 and not signed_in(other)
    next_code = pyotp.TOTP(secret).at(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30))
    ok = other.post("/login/second-factor", {"code": next_code})
    assert ok.status_code == 303 and ok.headers["Location"] == "/"
    assert signed_in(other)
    again, _resp = password_sign_in(app, person)
    again.get("/login/second-factor")
    assert again.post("/login/second-factor", {"code": next_code}).status_code == 422   # replayed
    assert not signed_in(again)


def test_a_recovery_code_works_once(auth, app):
    browser = auth.login_new_person()
    person = browser.person
    _secret, codes, _used = enrol(browser)
    browser.post("/logout")
    first, _resp = password_sign_in(app, person)
    first.get("/login/second-factor")
    assert first.post("/login/second-factor", {"code": codes[3].upper()}).status_code == 303
    assert signed_in(first)
    second, _resp = password_sign_in(app, person)
    second.get("/login/second-factor")
    assert second.post("/login/second-factor", {"code": codes[3]}).status_code == 422
    assert not signed_in(second)
    assert person_totp.recovery_codes_left(person) == 9


def test_turning_the_app_off_needs_a_code(auth):
    browser = auth.login_new_person()
    secret, codes, _used = enrol(browser)
    browser.get("/account/security/")
    assert browser.post("/account/security/totp/disable", {"code": "nonsense"}).status_code == 422
    assert Person.get_by_id(browser.person.id).totp_enabled
    assert browser.post("/account/security/totp/disable", {"code": codes[0]}).status_code == 303
    stored = Person.get_by_id(browser.person.id)
    assert not stored.totp_enabled and stored.totp_secret is None and PersonRecoveryCode.select().count() == 0


def test_check_uses_the_clock_it_is_given(app):
    person = make_person()
    secret = pyotp.parse_uri(person_totp.start(person)).secret
    noon = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.timezone.utc)
    with app.app_context():   # as in a view: turning the app on queues a mail to the person
        codes = person_totp.enable(person, pyotp.TOTP(secret).at(noon), now=noon)
    assert codes and len(codes) == 10
    later = noon + datetime.timedelta(minutes=5)
    assert not person_totp.check(person, pyotp.TOTP(secret).at(noon), now=later)   # too old
    assert person_totp.check(person, pyotp.TOTP(secret).at(later), now=later)


# --- the business requires a second factor ----------------------------------------------------------

@pytest.fixture
def required(app):
    Settings.get_solo()
    Settings.save_values({"require_second_factor": "all"})


def test_required_second_factor_makes_a_password_sign_in_enrol_first(app, required):
    person = make_person(password=PASSWORD)
    browser, resp = password_sign_in(app, person)
    assert resp.headers["Location"] == "/login/second-factor"
    assert not signed_in(browser)
    page = soup(browser.get("/login/second-factor"))
    secret = page.find(id="totp-secret").get_text()
    done = browser.post("/login/second-factor", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = soup(done).find(id="recovery-codes").find_all("li")
    assert len(codes) == 10 and signed_in(browser)
    assert Person.get_by_id(person.id).totp_enabled


def test_required_second_factor_is_not_bypassed_by_an_access_link(app, required):
    person = make_person(password=PASSWORD)
    secret = pyotp.parse_uri(person_totp.start(person)).secret
    with app.app_context():
        assert person_totp.enable(person, pyotp.TOTP(secret).now())
    token, _link = tokens.issue(person, "access")
    browser = Browser(app.test_client())
    browser.get(f"/access/{token}")
    resp = browser.post(f"/access/{token}")
    assert resp.status_code == 303 and resp.headers["Location"] == "/login/second-factor"
    assert not signed_in(browser) and PortalSession.select().count() == 0
    # The link is used up: it cannot be spent again to skip the step.
    assert Browser(app.test_client()).post(f"/access/{token}", token=False).status_code in (400, 410)
    browser.get("/login/second-factor")
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30)
    assert browser.post("/login/second-factor", {"code": pyotp.TOTP(secret).at(soon)}).status_code == 303
    assert signed_in(browser)
    session = PortalSession.get(PortalSession.person == person.id)
    assert session.via == "link" and session.expires_at is not None   # the link's own limit stays


def test_required_second_factor_is_not_bypassed_by_a_reset_link(app, required):
    person = make_person(password=PASSWORD)
    token, _link = tokens.issue(person, "reset")
    browser = Browser(app.test_client())
    browser.get(f"/reset/{token}")
    new = "a brand new passphrase"
    resp = browser.post(f"/reset/{token}", {"new_password": new, "confirm": new})
    assert resp.status_code == 303 and resp.headers["Location"] == "/login/second-factor"
    assert not signed_in(browser)


def test_without_the_requirement_a_person_with_no_factor_signs_in_directly(app):
    person = make_person(password=PASSWORD)
    browser, resp = password_sign_in(app, person)
    assert resp.headers["Location"] == "/" and signed_in(browser)


def test_the_pending_step_expires(app, required):
    person = make_person(password=PASSWORD)
    browser, _resp = password_sign_in(app, person)
    Person.update(session_version=Person.session_version + 1).where(Person.id == person.id).execute()
    resp = browser.client.get("/login/second-factor")
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"


def test_staff_owner_sets_the_customers_rule(app, staff):
    page = staff.get("/staff/team/")
    assert page.status_code == 200 and soup(page).find(id="customers-second-factor") is not None
    assert staff.post("/staff/team/customers-second-factor", {"require_second_factor": "billing"}).status_code == 303
    assert Settings.get_solo().require_second_factor == "billing"
    assert staff.post("/staff/team/customers-second-factor", {"require_second_factor": "nobody"}).status_code == 400
    assert Settings.get_solo().require_second_factor == "billing"
    person = make_person(password=PASSWORD)   # an owner: owners pay
    _browser, resp = password_sign_in(app, person)
    assert resp.headers["Location"] == "/login/second-factor"
    for role, asked in (("billing", True), ("buyer", False), ("viewer", False)):
        other = make_person(password=PASSWORD, role=role)
        location = password_sign_in(app, other)[1].headers["Location"]
        assert (location == "/login/second-factor") is asked, role
    assert staff.post("/staff/team/customers-second-factor", {"require_second_factor": ""}).status_code == 303
    assert password_sign_in(app, person)[1].headers["Location"] == "/"
