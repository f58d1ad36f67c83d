"""The contact's own team (issue 21): invitations, roles, removal, staff override; and the
signed-in devices with the mail on a sign-in from a new browser."""
import datetime
import re

import pyotp

from flask_babel import force_locale, gettext

from app import geoip, people, person_totp
from app.mail import render_mail
from app.models import AccessLink, Activity, KnownBrowser, Passkey, Person, PortalSession, TeamInvite, utcnow
from tests.conftest import Browser, soup
from tests.factories import make_contact, make_person, settings

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"


def login(app, person, agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", client=None):
    browser = Browser(client or app.test_client())
    browser.client.environ_base["HTTP_USER_AGENT"] = agent
    browser.get("/login")
    resp = browser.post("/login", {"email": person.email, "password": PASSWORD})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    browser.get("/account/")
    return browser


def team(portal_enabled=True):
    contact = make_contact(name="Talleres Ruiz", portal_enabled=portal_enabled)
    owner = make_person(contact=contact, email="owner@example.com", password=PASSWORD, name="Olga Owner")
    colleague = make_person(contact=contact, email="colleague@example.com", password=PASSWORD,
                            name="Carl Colleague", role="billing")
    return contact, owner, colleague


def mails_to(sent, address):
    return [m for m in sent if address in m.rcpt_tos]


def invite_link(text):
    return re.search(r"https?://[^/\s]+(/team/join/[\w-]+)", text).group(1)


def test_without_the_business_switch_the_team_pages_do_not_exist(app):
    _contact, owner, _colleague = team()
    browser = login(app, owner)
    assert browser.get("/account/team/").status_code == 404
    assert browser.post("/account/team/invite", {"email": "new@example.com", "role": "buyer"}).status_code == 404
    assert soup(browser.get("/account/")).select_one("#team-link") is None
    assert not TeamInvite.select().exists()


def test_an_owner_invites_a_colleague_who_joins_once_with_the_role_given(app, outbox):
    contact, owner, _colleague = team()
    settings(team_self_service=True)
    browser = login(app, owner)
    assert soup(browser.get("/account/")).select_one("#team-link a")["href"] == "/account/team/"
    resp = browser.post("/account/team/invite", {"email": "New@Example.com", "name": "Nina", "role": "buyer"})
    assert resp.status_code == 303
    sent = outbox()
    [invitation] = mails_to(sent, "new@example.com")
    assert "Olga Owner" in invitation.message["Subject"]
    told = mails_to(sent, "owner@example.com")
    assert told and "new@example.com" in told[-1].text and "Buyer" in told[-1].text
    assert not mails_to(sent, "colleague@example.com")   # only owners hear of team changes
    assert Activity.get(Activity.action == "team_invited").detail == "new@example.com (buyer)"
    assert "new@example.com" in browser.get("/account/team/").get_data(as_text=True)   # pending

    path = invite_link(invitation.text)
    guest = Browser(app.test_client())
    page = soup(guest.get(path))
    assert page.select_one("#join-form") is not None and "Buyer" in page.get_text()
    resp = guest.post(path, {"name": "", "new_password": "short", "confirm": "short"})
    assert resp.status_code == 422 and not Person.by_email("new@example.com")
    resp = guest.post(path, {"name": "Nina Nueva", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 303
    joined = Person.by_email("new@example.com")
    assert joined.role == "buyer" and joined.contact_id == contact.id and joined.name == "Nina Nueva"
    assert guest.get("/").status_code == 200   # signed in
    assert guest.post("/documents/1/pay", {}).status_code == 403   # a buyer does not pay

    again = Browser(app.test_client())
    assert again.get(path).status_code == 410                        # single-use
    resp = again.post(path, {"name": "Eve", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 410 and Person.select().where(Person.contact == contact).count() == 3


def test_an_invitation_expires(app, outbox):
    contact, owner, _colleague = team()
    settings(team_self_service=True)
    with app.test_request_context():
        token, row = people.invite(contact, "late@example.com", "viewer", by=owner,
                                   now=utcnow() - datetime.timedelta(days=people.INVITE_DAYS, minutes=1))
    guest = Browser(app.test_client())
    assert guest.get(f"/team/join/{token}").status_code == 410
    resp = guest.post(f"/team/join/{token}", {"name": "Late", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 410 and Person.by_email("late@example.com") is None
    assert guest.get("/team/join/not-a-token").status_code == 410


def test_an_invitation_for_someone_who_already_signs_in_is_refused(app, outbox):
    _contact, owner, _colleague = team()
    settings(team_self_service=True)
    browser = login(app, owner)
    resp = browser.post("/account/team/invite", {"email": "colleague@example.com", "role": "viewer"})
    assert resp.status_code == 422 and "already has portal access" in resp.get_data(as_text=True)
    resp = browser.post("/account/team/invite", {"email": "x@example.com", "role": "emperor"})
    assert resp.status_code == 422
    assert not TeamInvite.select().exists()


def test_roles_change_and_the_team_keeps_an_owner(app, outbox):
    _contact, owner, colleague = team()
    settings(team_self_service=True)
    browser = login(app, owner)
    assert browser.post(f"/account/team/{colleague.id}/role", {"role": "viewer"}).status_code == 303
    assert Person.get_by_id(colleague.id).role == "viewer"
    assert Activity.get(Activity.action == "team_role").detail == "colleague@example.com: billing -> viewer"
    browser.post(f"/account/team/{owner.id}/role", {"role": "viewer"})      # the only owner
    assert Person.get_by_id(owner.id).role == "owner"
    assert "at least one owner" in browser.get("/account/team/").get_data(as_text=True)
    assert browser.post(f"/account/team/{colleague.id}/role", {"role": "king"}).status_code == 303
    assert Person.get_by_id(colleague.id).role == "viewer"
    told = mails_to(outbox(), "owner@example.com")
    assert len(told) == 1 and "colleague@example.com is now Viewer" in told[0].text


def test_removing_a_person_ends_their_sessions_and_links_at_their_next_request(app, outbox):
    _contact, owner, colleague = team()
    settings(team_self_service=True)
    theirs = login(app, colleague)
    on_phone = login(app, colleague, agent="Mozilla/5.0 (iPhone) Safari/604.1")
    AccessLink.create(person=colleague, token_hash="e" * 64, expires_at=utcnow() + datetime.timedelta(hours=4))
    assert theirs.get("/").status_code == 200
    browser = login(app, owner)
    assert browser.post(f"/account/team/{colleague.id}/remove").status_code == 303
    for device in (theirs, on_phone):
        resp = device.get("/")
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert not PortalSession.select().where(PortalSession.person == colleague.id).exists()
    assert not AccessLink.select().where(AccessLink.person == colleague.id).exists()
    assert Person.get_by_id(colleague.id).active is False
    resp = Browser(app.test_client()).post("/login", {"email": colleague.email, "password": PASSWORD}, token=False)
    assert resp.status_code != 303
    assert Activity.get(Activity.action == "team_removed").person_id == owner.id
    assert "colleague@example.com was removed" in mails_to(outbox(), "owner@example.com")[-1].text


def test_a_non_owner_cannot_manage_the_team(app):
    _contact, _owner, colleague = team()
    settings(team_self_service=True)
    browser = login(app, colleague)
    assert browser.get("/account/team/").status_code == 403
    assert browser.post(f"/account/team/{colleague.id}/role", {"role": "owner"}).status_code == 403
    assert Person.get_by_id(colleague.id).role == "billing"


def test_staff_see_roles_and_override_them_even_with_the_switch_off(app, staff, outbox):
    contact, owner, colleague = team()
    page = soup(staff.get(f"/staff/contacts/{contact.id}"))
    assert page.select_one(f"#role-of-{colleague.id}").get_text(strip=True) == "Billing"
    assert staff.post(f"/staff/contacts/{contact.id}/people/{colleague.id}/role", {"role": "owner"}).status_code == 303
    assert Person.get_by_id(colleague.id).role == "owner"
    row = Activity.get(Activity.action == "team_role")
    assert row.staff_id is not None and row.person_id is None
    theirs = login(app, owner)
    assert staff.post(f"/staff/contacts/{contact.id}/people/{owner.id}/remove").status_code == 303
    assert theirs.get("/").status_code == 302
    other = make_person(contact=make_contact(name="Other"), password=PASSWORD)
    assert staff.post(f"/staff/contacts/{contact.id}/people/{other.id}/remove").status_code == 404
    assert Person.get_by_id(other.id).active
    sent = outbox()
    assert [m for m in mails_to(sent, "colleague@example.com") if "owner@example.com was removed" in m.text]


# --- signed-in devices ------------------------------------------------------------------------

def test_the_account_page_lists_devices_and_signs_out_one_or_every_other(app, outbox):
    _contact, owner, _colleague = team()
    laptop = login(app, owner)
    phone = login(app, owner, agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1")
    tablet = login(app, owner, agent="Mozilla/5.0 (Linux; Android 14) Chrome/120.0")
    page = soup(laptop.get("/account/"))
    devices = page.select("#devices li.device")
    assert len(devices) == 3
    text = page.select_one("#devices").get_text(" ", strip=True)
    assert "Firefox · Linux" in text and "Safari · iPhone" in text and "Chrome · Android" in text
    assert "127.0.0.1" in text
    [current] = [d for d in devices if "This device" in d.get_text()]
    assert "Firefox" in current.get_text() and current.select_one("form") is None   # no sign-out of itself here
    phone_row = PortalSession.get((PortalSession.person == owner.id) & PortalSession.user_agent.contains("iPhone"))
    assert laptop.post(f"/account/devices/{phone_row.id}/end").status_code == 303
    assert phone.get("/").status_code == 302
    assert tablet.get("/").status_code == 200
    assert laptop.post("/account/devices/end-others").status_code == 303
    assert tablet.get("/").status_code == 302
    assert laptop.get("/").status_code == 200
    assert PortalSession.select().where(PortalSession.person == owner.id).count() == 1


def test_a_device_of_someone_else_is_not_found(app):
    _contact, owner, colleague = team()
    theirs = login(app, colleague)
    browser = login(app, owner)
    row = PortalSession.get(PortalSession.person == colleague.id)
    assert browser.post(f"/account/devices/{row.id}/end").status_code == 404
    assert theirs.get("/").status_code == 200


def test_a_sign_in_from_a_new_browser_is_mailed(app, outbox):
    _contact, owner, _colleague = team()
    first = app.test_client()
    login(app, owner, client=first)                        # the first browser ever: no news
    assert not mails_to(outbox(), owner.email)
    login(app, owner, client=first)                        # the same browser again
    assert not mails_to(outbox(), owner.email)
    login(app, owner, agent="Mozilla/5.0 (iPhone) Safari/604.1")   # a new one
    [mail] = mails_to(outbox(), owner.email)
    assert "Safari · iPhone" in mail.text and "127.0.0.1" in mail.text
    assert KnownBrowser.select().where(KnownBrowser.person == owner.id).count() == 2


def test_a_removed_colleague_can_be_invited_again_and_starts_afresh(app, outbox):
    contact, owner, colleague = team()
    settings(team_self_service=True)
    Passkey.create(person=colleague, credential_id="old-credential", public_key=b"k", name="Old phone")
    Person.update(totp_enabled=True, totp_secret="JBSWY3DPEHPK3PXP").where(Person.id == colleague.id).execute()
    browser = login(app, owner)
    assert browser.post(f"/account/team/{colleague.id}/remove").status_code == 303
    resp = browser.post("/account/team/invite", {"email": colleague.email, "role": "viewer"})
    assert resp.status_code == 303
    path = invite_link(mails_to(outbox(), colleague.email)[-1].text)
    guest = Browser(app.test_client())
    guest.get(path)
    resp = guest.post(path, {"name": "Carl Again", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 303 and guest.get("/").status_code == 200
    back = Person.get_by_id(colleague.id)   # the same row: their history stays theirs
    assert (back.active, back.role, back.name, back.totp_enabled) == (True, "viewer", "Carl Again", False)
    assert not Passkey.select().where(Passkey.person == colleague.id).exists()
    assert Person.select().where(Person.contact == contact).count() == 2
    # Someone removed from another contact is not invited here.
    other = make_person(contact=make_contact(name="Other"), email="gone@example.com", active=False)
    resp = browser.post("/account/team/invite", {"email": other.email, "role": "viewer"})
    assert resp.status_code == 422 and not TeamInvite.select().where(TeamInvite.email == other.email).exists()


def write_city_database(path):
    """A small city database in MaxMind's format, written with mmdb-writer (the record shape is
    GeoLite2-City's: city/country with names by language)."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City", languages=["en", "es"])
    writer.insert_network(IPSet(["81.32.0.0/16"]), {"city": {"names": {"en": "Seville", "es": "Sevilla"}},
                                                    "country": {"names": {"en": "Spain", "es": "España"}}})
    writer.insert_network(IPSet(["2a02:9000::/32"]), {"country": {"names": {"en": "Spain", "es": "España"}}})
    writer.to_db_file(str(path))


def test_devices_show_an_approximate_place_only_with_a_local_database(app, tmp_path):
    _contact, owner, _colleague = team()
    browser = login(app, owner)
    PortalSession.create(person=owner, sid_hash="9" * 64, via="password", ip="81.32.10.20", user_agent="Firefox/1")
    PortalSession.create(person=owner, sid_hash="8" * 64, via="password", ip="2a02:9000::1", user_agent="Edg/1")
    PortalSession.create(person=owner, sid_hash="7" * 64, via="password", ip="8.8.8.8", user_agent="Chrome/1")
    app.config["GEOIP_DATABASE"] = str(tmp_path / "missing.mmdb")
    text = soup(browser.get("/account/")).select_one("#devices").get_text(" ", strip=True)
    assert "81.32.10.20" in text and "Near" not in text   # no database: just the IP

    app.config["GEOIP_DATABASE"] = str(tmp_path / "city.mmdb")
    write_city_database(tmp_path / "city.mmdb")
    places = [p.get_text() for p in soup(browser.get("/account/")).select("#devices [data-place]")]
    assert sorted(places) == ["Near Seville, Spain", "Near Spain"]   # 8.8.8.8 and 127.0.0.1 unknown
    assert place_of("81.32.10.20", tmp_path / "city.mmdb", "es") == "Sevilla, España"
    assert place_of("10.0.0.1", tmp_path / "city.mmdb") == ""          # private: never looked up
    assert place_of("not an ip", tmp_path / "city.mmdb") == ""
    (tmp_path / "broken.mmdb").write_bytes(b"not a database")
    assert place_of("81.32.10.20", tmp_path / "broken.mmdb") == ""


def place_of(ip, path, language="en"):
    return geoip.place(ip, str(path), language)


def test_the_new_browser_mail_names_the_place_when_a_local_database_knows_it(app, outbox, tmp_path):
    _contact, owner, _colleague = team()
    Person.update(language="es").where(Person.id == owner.id).execute()
    write_city_database(tmp_path / "city.mmdb")
    app.config["GEOIP_DATABASE"] = str(tmp_path / "city.mmdb")
    login(app, owner)   # the first browser: no mail
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "81.32.10.20"
    login(app, owner, agent="Mozilla/5.0 (iPhone) Safari/604.1", client=client)
    [mail] = mails_to(outbox(), owner.email)
    assert "81.32.10.20" in mail.text and "Sevilla, España" in mail.text   # in the person's language


def test_joining_does_not_bypass_a_required_second_factor(app, outbox):
    contact, owner, _colleague = team()
    settings(team_self_service=True, require_second_factor="all")
    with app.test_request_context():
        token, _row = people.invite(contact, "new@example.com", "viewer", by=owner)
    guest = Browser(app.test_client())
    guest.get(f"/team/join/{token}")
    resp = guest.post(f"/team/join/{token}", {"name": "Nina", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 303 and resp.headers["Location"] == "/login/second-factor"
    joined = Person.by_email("new@example.com")
    assert joined is not None and not PortalSession.select().where(PortalSession.person == joined.id).exists()
    assert guest.get("/").status_code == 302   # no session until the second factor is set up
    page = soup(guest.get("/login/second-factor"))
    assert page.find("svg") is not None   # the QR code to enrol an authenticator app


def test_staff_add_a_person_with_a_role(app, staff):
    contact = make_contact(name="Talleres Ruiz")
    page = soup(staff.get(f"/staff/contacts/{contact.id}"))
    assert page.select_one("#person-form #f-role option[selected]")["value"] == "owner"
    resp = staff.post(f"/staff/contacts/{contact.id}/people", {"name": "Bea", "email": "bea@example.com",
                                                               "role": "billing"})
    assert resp.status_code == 303 and Person.by_email("bea@example.com").role == "billing"
    resp = staff.post(f"/staff/contacts/{contact.id}/people", {"name": "Eve", "email": "eve@example.com",
                                                               "role": "admin"})
    assert resp.status_code == 422 and Person.by_email("eve@example.com") is None
    assert soup(resp).select_one("#person-form #e-role") is not None


def test_staff_read_the_contacts_activity_in_words(app, staff, outbox):
    contact, owner, colleague = team()
    login(app, owner)
    assert staff.post(f"/staff/contacts/{contact.id}/people/{colleague.id}/role", {"role": "buyer"}).status_code == 303
    text = soup(staff.get(f"/staff/contacts/{contact.id}")).select_one("#contact-activity").get_text(" ", strip=True)
    assert "Signed in" in text and "Role changed colleague@example.com: billing -> buyer" in text
    assert "team_role" not in text and " login " not in f" {text} "


def test_staff_turn_off_a_persons_second_factor_after_a_lost_phone(app, staff, outbox):
    contact, owner, colleague = team()
    Passkey.create(person=owner, credential_id="lost-phone", public_key=b"k", name="Lost phone")
    Person.update(totp_enabled=True, totp_secret="JBSWY3DPEHPK3PXP").where(Person.id == owner.id).execute()
    theirs = login(app, owner)
    page = soup(staff.get(f"/staff/contacts/{contact.id}"))
    assert page.select_one(f"#factors-of-{owner.id}").get_text(strip=True) == "1 passkey, authenticator app"
    assert page.select_one(f"#second-factor-off-{colleague.id}") is None   # nothing to turn off
    other = make_person(contact=make_contact(name="Other"))
    assert staff.post(f"/staff/contacts/{contact.id}/people/{other.id}/second-factor-off").status_code == 404
    assert staff.post(f"/staff/contacts/{contact.id}/people/{owner.id}/second-factor-off").status_code == 303
    row = Person.get_by_id(owner.id)
    assert not row.totp_enabled and row.totp_secret is None
    assert not Passkey.select().where(Passkey.person == owner.id).exists()
    assert theirs.get("/").status_code == 302   # a stolen phone may be signed in: it is not any more
    text = soup(staff.get(f"/staff/contacts/{contact.id}")).select_one("#contact-activity").get_text(" ", strip=True)
    assert "Second factor turned off by staff" in text and "passkeys=1" in text
    assert soup(staff.get(f"/staff/contacts/{contact.id}")).select_one(f"#factors-of-{owner.id}") is None


def test_team_mails_are_written_in_each_owners_language(app, outbox):
    contact, owner, colleague = team()
    settings(team_self_service=True)
    Person.update(language="es").where(Person.id == owner.id).execute()
    german = make_person(contact=contact, email="greta@example.com", name="Greta", role="owner", language="de")
    browser = login(app, owner)   # the Spanish owner acts: her request is in Spanish
    assert browser.post(f"/account/team/{colleague.id}/role", {"role": "buyer"}).status_code == 303
    with app.test_request_context(), force_locale("de"):
        expected = gettext("%(email)s is now %(role)s.", email=colleague.email, role=gettext("Buyer"))
    with app.test_request_context(), force_locale("es"):
        spanish = gettext("%(email)s is now %(role)s.", email=colleague.email, role=gettext("Buyer"))
    assert expected != spanish
    [mail] = mails_to(outbox(), german.email)
    assert expected in mail.text and spanish not in mail.text


def test_the_sentences_written_by_text_partials_are_escaped_in_html_mails(app):
    business = settings(name="Acme <b>Tools</b>")
    person = make_person(name="Ana")
    at = datetime.datetime(2026, 12, 6, 10, 0)
    with app.test_request_context():
        team = render_mail("team_changed", "en", person=person, change="removed", email="a<i>@example.com",
                           role="", by="Olga", business=business)
        keys = render_mail("security_changed", "en", person=person, change="factors_cleared", at=at,
                           business=business)
    assert "a&lt;i&gt;@example.com" in team["html"] and "<i>" not in team["html"]
    assert "Acme &lt;b&gt;Tools&lt;/b&gt; turned off your second factor" in keys["html"]
    assert "<b>Tools" not in keys["html"] and "Acme <b>Tools</b> turned off" in keys["text"]


def test_a_person_is_mailed_when_their_sign_in_keys_change(app, staff, outbox):
    contact, owner, _colleague = team()
    settings(name="Taller Martínez")
    browser = login(app, owner)
    with app.test_request_context():
        uri = person_totp.start(owner)
    assert browser.post("/account/security/totp/enable", {"code": pyotp.parse_uri(uri).now()}).status_code == 200
    assert staff.post(f"/staff/contacts/{contact.id}/people/{owner.id}/second-factor-off").status_code == 303
    sent = [m for m in mails_to(outbox(), owner.email) if m.message["Subject"] == "Your sign-in security changed"]
    assert len(sent) == 2
    assert "The authenticator app was turned on for your portal account" in sent[0].text
    assert "Taller Martínez turned off your second factor" in sent[1].text
    assert "tell Taller Martínez" in sent[1].text

