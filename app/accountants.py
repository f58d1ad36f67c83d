"""The accountant's read-only door (issue 19): a person gives their accountant a link to the
contact's documents, statement and payments, for up to 90 days, revocable at any time.

The token is 256 bits from `secrets`, mailed once and stored only as its SHA-256. Unlike an
access link it is used any number of times until it expires or is revoked; every request made
through it is logged (AccountantUse) for the person and for staff. The business can turn the
feature off (Settings.accountant_links_enabled): then nothing can be created and every existing
link stops working, until it is turned on again. What the door opens is decided by the web side
(app/views/accountant.py's allow-list); this module decides whether a link opens at all."""
import datetime
import hashlib
import hmac
import secrets

from peewee import JOIN, fn
from flask_babel import lazy_gettext as _l

from .db import db
from .mail import recipient_language, send_template
from .models import AccountantLink, AccountantUse, Activity, Contact, Settings, utcnow
from .rules import Refused

MAX_DAYS = 90
DEFAULT_DAYS = 30
USES_SHOWN = 20


def enabled():
    return bool(Settings.get_solo().accountant_links_enabled)


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def create(person, email, days=DEFAULT_DAYS, label="", language=None, now=None):
    """Create a link to the person's contact for `email`, valid `days` days, and queue its mail
    (in one transaction). Returns (token, link); the token is in the mail and nowhere we keep."""
    if not enabled():
        raise Refused("disabled", _l("The business does not offer links for accountants."))
    if not 1 <= days <= MAX_DAYS:
        raise Refused("days", _l("Choose from 1 to %(days)s days.", days=MAX_DAYS), field="days")
    token = secrets.token_urlsafe(32)
    now = now or utcnow()
    with db.atomic():
        link = AccountantLink.create(contact=person.contact_id, person=person, email=email, label=label[:80],
                                     token_hash=_hash(token), created_at=now,
                                     expires_at=now + datetime.timedelta(days=days))
        Activity.record("accountant_link_given", person=person, contact=person.contact_id, detail=email[:400])
        # In the person's language: the accountant most likely reads it too (a person may choose).
        send_template(email, "accountant_link", language or recipient_language(person),
                      person_name=person.name, contact_name=person.contact.name,
                      business_name=Settings.get_solo().name, token=token, expires_at=link.expires_at,
                      label=link.label)
    return token, link


def state(link, now=None):
    """Why a link does or does not open: 'ok', 'revoked', 'expired', 'disabled' (the business
    turned the feature off, or the contact lost portal access)."""
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= (now or utcnow()):
        return "expired"
    if not enabled() or not link.contact.portal_enabled:
        return "disabled"
    return "ok"


def find(token, now=None):
    """(link or None, state) for a token from a URL; 'unknown' when no link has it."""
    if not token or len(token) > 100:
        return None, "unknown"
    digest = _hash(token)
    link = AccountantLink.get_or_none(AccountantLink.token_hash == digest)
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        return None, "unknown"
    return link, state(link, now)


def load(link_id, now=None):
    """The link behind an accountant's session, if it still opens; else (None or link, state)."""
    link = None
    if isinstance(link_id, int):   # the link and its contact in one query: every request asks
        link = (AccountantLink.select(AccountantLink, Contact).join(Contact)
                .where(AccountantLink.id == link_id).first())
    if link is None:
        return None, "unknown"
    return link, state(link, now)


def revoke(link, staff=None, person=None):
    """Revoke the link (the next request through it is refused); True if this call did. The
    contact's activity says who did."""
    with db.atomic():
        done = bool(AccountantLink.update(revoked_at=utcnow(), revoked_by_staff=staff)
                    .where((AccountantLink.id == link.id) & AccountantLink.revoked_at.is_null()).execute())
        if done:
            Activity.record("accountant_link_revoked", contact=link.contact_id, staff=staff, person=person,
                            detail=link.email[:400])
    return done


def for_contact(contact, link_id):
    """The contact's link `link_id`, or None (another contact's and unknown alike)."""
    return AccountantLink.get_or_none((AccountantLink.id == link_id) & (AccountantLink.contact == contact))


def record_use(link, ip, method, path, status=200):
    AccountantUse.create(link=link, ip=(ip or "")[:45], method=method[:8], path=path[:300], status=status)


def links_of(contact):
    """The contact's links, newest first, each with `use_count` and `recent_uses` (the last
    USES_SHOWN), in two queries."""
    links = list(AccountantLink.select(AccountantLink, fn.COUNT(AccountantUse.id).alias("use_count"))
                 .join(AccountantUse, JOIN.LEFT_OUTER).switch(AccountantLink)
                 .where(AccountantLink.contact == contact)
                 .group_by(AccountantLink).order_by(AccountantLink.created_at.desc(), AccountantLink.id.desc()))
    if not links:
        return []
    ranked = {}
    for use in (AccountantUse.select().where(AccountantUse.link.in_([x.id for x in links]))
                .order_by(AccountantUse.at.desc(), AccountantUse.id.desc()).limit(USES_SHOWN * len(links))):
        ranked.setdefault(use.link_id, [])
        if len(ranked[use.link_id]) < USES_SHOWN:
            ranked[use.link_id].append(use)
    now = utcnow()
    for link in links:
        link.recent_uses = ranked.get(link.id, [])
        link.current_state = state(link, now)
    return links
