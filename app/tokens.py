"""Access and reset links, and API tokens: 256-bit tokens from `secrets`, stored only as SHA-256 hashes.

A link is used up by a conditional UPDATE (used_at IS NULL), so two clicks cannot both win;
issuing a new link of the same purpose supersedes the person's older unused ones."""
import datetime
import hashlib
import hmac
import secrets

from .db import db
from .mail import recipient_language, send_template
from .models import AccessLink, Person, PortalSession, Settings, utcnow


API_PREFIX = "portal_"


def api_token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(name, can_write=True, staff=None):
    """An API token for the business's other software; returns (token in clear, row). The
    clear token is shown once and never stored."""
    from .models import ApiToken
    token = API_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.create(name=name, token_hash=api_token_hash(token), prefix=token[:len(API_PREFIX) + 6],
                          can_write=can_write, created_by=staff)
    return token, row


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def issue(person, purpose="access", hours=48, staff=None):
    """Create a link for the person; returns (token, link row). Older links stop working."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with db.atomic():
        (AccessLink.update(used_at=now)
         .where((AccessLink.person == person) & (AccessLink.purpose == purpose)
                & AccessLink.used_at.is_null()).execute())
        link = AccessLink.create(person=person, purpose=purpose, token_hash=_hash(token),
                                 expires_at=now + datetime.timedelta(hours=hours), created_by=staff)
    return token, link


def send_link(person, purpose, staff=None):
    """Issue a link and queue its mail in the person's language, in one transaction.
    Returns (token, link row); the token is in the mail and nowhere else we keep."""
    settings = Settings.get_solo()
    hours = settings.access_link_hours if purpose == "access" else 2
    with db.atomic():
        token, link = issue(person, purpose, hours=hours, staff=staff)
        endpoint = "auth.access" if purpose == "access" else "auth.reset"
        send_template(person.email, f"{purpose}_link", recipient_language(person), person=person,
                      business=settings, url_endpoint=endpoint, token=token, expires_at=link.expires_at)
    return token, link


def find(token, purpose):
    """The link for a token, with why it cannot be used ('ok', 'unknown', 'used', 'expired')."""
    if not token or len(token) > 100:
        return None, "unknown"
    digest = _hash(token)
    link = AccessLink.get_or_none((AccessLink.token_hash == digest) & (AccessLink.purpose == purpose))
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        return None, "unknown"
    if link.used_at is not None:
        return link, "used"
    if link.expires_at <= utcnow():
        return link, "expired"
    person = link.person
    if not person.active or not person.contact.portal_enabled:
        return link, "disabled"
    return link, "ok"


def consume(link):
    """Use the link up; True only for the one request that did."""
    return bool(AccessLink.update(used_at=utcnow())
                .where((AccessLink.id == link.id) & AccessLink.used_at.is_null()
                       & (AccessLink.expires_at > utcnow())).execute())


def revoke_all(person):
    """Cancel unused links and end every session of the person."""
    AccessLink.update(used_at=utcnow()).where((AccessLink.person == person)
                                              & AccessLink.used_at.is_null()).execute()
    Person.update(session_version=Person.session_version + 1).where(Person.id == person.id).execute()
    PortalSession.end_all(person)
