"""Contacts' people in the portal: who is signed in, and for how long.

The cookie holds flask-login's "person_id:session_version" and a random session id whose
SHA-256 is a PortalSession row. The loader refuses the cookie when its row is gone (signed
out, password changed elsewhere, signed out everywhere by staff), when the version moved on,
when the person or the contact lost portal access, when the session sat idle too long, or
when a session opened by an access link ran past its limit. Each takes effect on the next
request, on every device, even for a copied cookie."""
import datetime
import hashlib
import secrets

from flask import after_this_request, current_app, g, request, session
from flask_login import LoginManager, current_user, login_user, logout_user

from .db import compiled
from .models import Contact, Person, PortalSession, Settings, utcnow

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None   # the sign-in page says enough
login_manager.session_protection = None  # our own session rows do this job


def init_app(app):
    login_manager.init_app(app)

    @app.before_request
    def _person():
        g.person = current_user._get_current_object() if current_user.is_authenticated else None


def _sid_hash(sid):
    return hashlib.sha256(sid.encode()).hexdigest()


# One query for the session, the person and their contact (every page needs all three).
_session_row = compiled(lambda sid_hash, person_id: (
    PortalSession.select(PortalSession, Person, Contact).join(Person).join(Contact)
    .where((PortalSession.sid_hash == sid_hash) & (Person.id == person_id)).limit(1)))


@login_manager.user_loader
def load_person(user_id):
    try:
        person_id, version = (int(part) for part in user_id.split(":"))
    except (ValueError, AttributeError):
        return None
    sid = session.get("sid")
    if not isinstance(sid, str):
        return None
    row = _session_row.first(_sid_hash(sid), person_id)
    if row is None:
        return None
    person, now = row.person, utcnow()
    idle = datetime.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    if (person.session_version != version or not person.can_sign_in()
            or now - row.last_seen_at > idle or (row.expires_at and now > row.expires_at)):
        PortalSession.delete().where(PortalSession.id == row.id).execute()
        return None
    if now - row.last_seen_at > datetime.timedelta(minutes=1):   # one write a minute at most
        PortalSession.update(last_seen_at=now).where(PortalSession.id == row.id).execute()
    return person


def sign_in(person, via):
    """Start a fresh session for the person; `via` is 'password', 'link' or 'passkey'."""
    session.clear()   # nothing from before sign-in carries over (no fixation)
    sid = secrets.token_urlsafe(32)
    expires = None
    if via == "link":
        expires = utcnow() + datetime.timedelta(hours=Settings.get_solo().link_session_hours)
    user_agent = (request.headers.get("User-Agent") or "")[:300]
    ip = (request.remote_addr or "")[:45]
    PortalSession.create(person=person, sid_hash=_sid_hash(sid), via=via, expires_at=expires,
                         user_agent=user_agent, ip=ip)
    session["sid"] = sid
    session.permanent = True
    login_user(person)
    Person.update(last_login_at=utcnow()).where(Person.id == person.id).execute()
    _note_browser(person, user_agent, ip)


BROWSER_COOKIE = "portal_browser"


def _note_browser(person, user_agent, ip):
    """A long-lived random cookie names the browser; a sign-in from one the person has not
    used before is mailed to them (app/people.py)."""
    from . import people
    token = request.cookies.get(BROWSER_COOKIE)
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        token = secrets.token_urlsafe(32)

        @after_this_request
        def _set(response):
            response.set_cookie(BROWSER_COOKIE, token, max_age=400 * 86400, httponly=True, samesite="Lax",
                                secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
            return response
    from . import geoip
    from .mail import recipient_language
    place = geoip.place(ip, current_app.config.get("GEOIP_DATABASE", ""), recipient_language(person))
    people.note_browser(person, token, user_agent, ip, place=place)


def end_other_sessions(person):
    """After a password change: this session stays (with no link time limit), others end."""
    sid_hash = _sid_hash(session.get("sid", ""))
    PortalSession.delete().where((PortalSession.person == person.id)
                                 & (PortalSession.sid_hash != sid_hash)).execute()
    PortalSession.update(via="password", expires_at=None).where(PortalSession.sid_hash == sid_hash).execute()
    login_user(Person.get_by_id(person.id))   # the cookie carries the new session version


def sign_out():
    sid = session.get("sid")
    if isinstance(sid, str):
        PortalSession.delete().where(PortalSession.sid_hash == _sid_hash(sid)).execute()
    logout_user()
    session.clear()
