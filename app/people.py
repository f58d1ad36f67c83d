"""The customer's people (issue 21): each person's role, the team an owner manages, and the
browsers they are signed in on.

Roles: *owner* (everything, manages the team), *billing* (invoices, credit notes, statements,
payments; no catalog or orders), *buyer* (catalog, cart, orders, quotes; sees invoices but does
not pay), *viewer* (reads). What each role may do is CAN below, by capability; the portal's one
allow-map (app/views/roles.py) names the capability each endpoint needs, and the mails ask
`recipients()`. Existing people were made owners by migration 0015."""
import datetime
import hashlib
import secrets

from flask_babel import gettext as _

from .db import db
from .mail import recipient_language, send_template
from .models import (AccessLink, Activity, KnownBrowser, Passkey, Person, PersonRecoveryCode, PortalSession,
                     Settings, TeamInvite, utcnow)
from .passwords import hash_password, password_problem

OWNER, BILLING, BUYER, VIEWER = "owner", "billing", "buyer", "viewer"
ROLES = (OWNER, BILLING, BUYER, VIEWER)

# capability -> roles that have it
CAN = {
    "read": frozenset(ROLES),                       # documents, statement, payment history, account
    "self": frozenset(ROLES),                       # one's own password, language, devices, sign-out
    "comment": frozenset({OWNER, BILLING, BUYER}),
    "pay": frozenset({OWNER, BILLING}),
    "books": frozenset({OWNER, BILLING}),           # accountant links, yearly packs
    "shop": frozenset({OWNER, BUYER}),              # catalog, cart, checkout, quote decisions
    "trade": frozenset({OWNER, BUYER, VIEWER}),     # read quotes and orders (billing: money only)
    "team": frozenset({OWNER}),
}
PAYERS = CAN["pay"]          # invoice mails, reminders, statements
BUYERS = CAN["shop"]         # quote and order mails

INVITE_DAYS = 7


def role_of(person):
    """The person's role ('owner', 'billing', 'buyer' or 'viewer'); None for nobody."""
    if person is None:
        return None
    return person.role if person.role in ROLES else VIEWER   # an unknown value grants least


def has(person, capability):
    """Whether the person's role grants the capability (a key of CAN)."""
    return role_of(person) in CAN.get(capability, ())


MONEY_KINDS = ("invoice", "credit_note")


def reads_kind(person, kind):
    """Whether the person may read documents of this kind: billing people see the money side
    (invoices, credit notes), everyone else every kind."""
    return has(person, "trade") or kind in MONEY_KINDS


def recipients(contact, kind):
    """Who of the contact's people is mailed about a document of `kind` (or 'reminder',
    'statement'): owners and billing people for money, owners and buyers for quotes and orders."""
    roles = BUYERS if kind in ("quote", "order") else PAYERS
    return Person.active_of(contact, roles=roles).order_by(Person.id)


def role_choices():
    """[(role, its label)] in the order the selects offer them."""
    return [(role, role_label(role)) for role in ROLES]


def role_label(role):
    return {OWNER: _("Owner"), BILLING: _("Billing"), BUYER: _("Buyer"), VIEWER: _("Viewer")}.get(role, role)


# --- the team ---------------------------------------------------------------------------------

class TeamError(ValueError):
    """A refused team change, with a message for the person."""


def team_of(contact):
    return list(Person.select().where(Person.contact == contact).order_by(Person.active.desc(), Person.name))


def pending_invites(contact, now=None):
    now = now or utcnow()
    return list(TeamInvite.select().where((TeamInvite.contact == contact) & TeamInvite.used_at.is_null()
                                          & (TeamInvite.expires_at > now)).order_by(TeamInvite.created_at))


def self_service(contact):
    """Whether the contact's owners may manage their team (the business's switch)."""
    return Settings.get_solo().team_self_service


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def invite(contact, email, role, name="", by=None, staff=None, now=None):
    """Invite a colleague by email; returns (token, invite). The mail carries the token."""
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise TeamError(_("Enter a valid email address."))
    if role not in ROLES:
        raise TeamError(_("Choose a role."))
    if not _invitable(contact, Person.by_email(email)):
        raise TeamError(_("Someone with this email already has portal access."))
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with db.atomic():
        row = TeamInvite.create(contact=contact, email=email, name=(name or "").strip()[:200], role=role,
                                token_hash=_hash(token), invited_by=by, invited_by_staff=staff,
                                created_at=now, expires_at=now + datetime.timedelta(days=INVITE_DAYS))
        Activity.record("team_invited", contact=contact, person=by, staff=staff, detail=f"{email} ({role})")
        settings = Settings.get_solo()
        send_template(email, "team_invite", recipient_language(contact=contact), invite=row, token=token,
                      business=settings, contact=contact, inviter=by.name if by else settings.name)
        _tell_owners(contact, "invited", by, email=email, role=role)
    return token, row


def _invitable(contact, existing):
    """Nobody has the email yet, or it is someone removed from this same contact: a person who
    comes back is invited again (another contact's person, active or not, is the business's call)."""
    return existing is None or (not existing.active and existing.contact_id == contact.id)


def find_invite(token, now=None):
    """(invite, state): state 'ok', 'used', 'expired' or 'unknown'."""
    row = TeamInvite.get_or_none(TeamInvite.token_hash == _hash(token or ""))
    if row is None:
        return None, "unknown"
    if row.used_at is not None:
        return row, "used"
    if (now or utcnow()) > row.expires_at:
        return row, "expired"
    return row, "ok"


def accept(token, name, password, now=None):
    """Accept an invitation: the person is created with its role. Returns the person."""
    row, state = find_invite(token, now)
    if state != "ok":
        raise TeamError(_("This invitation has been used or has expired. Ask for a new one."))
    name = (name or "").strip()
    if not name:
        raise TeamError(_("Enter your name."))
    if not password or password_problem(password):
        raise TeamError(_("Choose a stronger password."))
    with db.atomic():
        taken = TeamInvite.update(used_at=now or utcnow()).where(
            (TeamInvite.id == row.id) & TeamInvite.used_at.is_null()).execute()
        existing = Person.by_email(row.email)
        if not taken or not _invitable(row.contact, existing):
            raise TeamError(_("This invitation has been used or has expired. Ask for a new one."))
        if existing is None:
            person = Person.create(contact=row.contact_id, name=name[:200], email=row.email, role=row.role,
                                   password_hash=hash_password(password))
        else:
            person = _come_back(existing, row, name, password)
        Activity.record("team_joined", contact=row.contact_id, person=person, detail=f"{row.email} ({row.role})")
    return person


def _come_back(person, row, name, password):
    """A removed person joins again: access on with the invitation's role and a new password,
    and nothing of the sign-in keys they had before (passkeys, authenticator app, recovery codes,
    known browsers): they were taken out of the team, so they start as a newcomer would."""
    Passkey.delete().where(Passkey.person == person.id).execute()
    PersonRecoveryCode.delete().where(PersonRecoveryCode.person == person.id).execute()
    KnownBrowser.delete().where(KnownBrowser.person == person.id).execute()
    Person.update(active=True, name=name[:200], role=row.role, password_hash=hash_password(password),
                  totp_secret=None, totp_enabled=False, totp_last_step=0,
                  session_version=Person.session_version + 1).where(Person.id == person.id).execute()
    return Person.get_by_id(person.id)


def set_role(target, role, by=None, staff=None, api_token=None):
    """Change a person's role (by an owner, staff or the API). The contact keeps an active owner."""
    if role not in ROLES:
        raise TeamError(_("Choose a role."))
    if target.role == role:
        return target
    if target.role == OWNER and role != OWNER and _other_owners(target) == 0:
        raise TeamError(_("The team needs at least one owner."))
    with db.atomic():
        old = target.role
        Person.update(role=role).where(Person.id == target.id).execute()
        target.role = role
        Activity.record("team_role", contact=target.contact_id, person=by, staff=staff, api_token=api_token,
                        detail=f"{target.email}: {old} -> {role}")
        _tell_owners(target.contact, "role", by, email=target.email, role=role)
    return target


def remove(target, by=None, staff=None):
    """Remove a person from the team: access off, every session and sign-in link ended at once."""
    if target.active and target.role == OWNER and _other_owners(target) == 0:
        raise TeamError(_("The team needs at least one owner."))
    with db.atomic():
        Person.update(active=False, session_version=Person.session_version + 1).where(Person.id == target.id).execute()
        PortalSession.end_all(target)
        AccessLink.delete().where(AccessLink.person == target.id).execute()
        target.active = False
        Activity.record("team_removed", contact=target.contact_id, person=by, staff=staff, detail=target.email)
        _tell_owners(target.contact, "removed", by, email=target.email)


def _other_owners(target):
    return (Person.select().where((Person.contact == target.contact_id) & (Person.id != target.id)
                                  & (Person.role == OWNER) & (Person.active == True)).count())


def _tell_owners(contact, change, by, email, role=""):
    """Mail the contact's owners what changed ('invited', 'role', 'removed'): the sentence is
    written by the mail's template, in each owner's language (mail/_team_change.txt)."""
    settings = Settings.get_solo()
    for owner in Person.active_of(contact, roles=(OWNER,)):
        send_template(owner.email, "team_changed", recipient_language(owner), person=owner, change=change,
                      email=email, role=role, by=by.name if by else settings.name, business=settings)


# --- sign-in keys -------------------------------------------------------------------------------

SECURITY_CHANGES = ("passkey_added", "passkey_removed", "totp_on", "totp_off", "factors_cleared")


def tell_security_change(person, change):
    """Mail the person when their sign-in keys change (one of SECURITY_CHANGES): a change they
    did not make is how a stolen session or a tricked business shows."""
    if change not in SECURITY_CHANGES:
        raise ValueError(change)
    send_template(person.email, "security_changed", recipient_language(person), person=person, change=change,
                  at=utcnow(), business=Settings.get_solo())


# --- signed-in devices ------------------------------------------------------------------------

def devices(person):
    """The person's signed-in browsers, newest use first."""
    return list(PortalSession.select().where(PortalSession.person == person.id)
                .order_by(PortalSession.last_seen_at.desc(), PortalSession.id.desc()))


def end_device(person, session_id):
    """Sign one of the person's own sessions out; False if it is not theirs."""
    return bool(PortalSession.delete().where((PortalSession.id == session_id)
                                             & (PortalSession.person == person.id)).execute())


def browser_name(user_agent):
    """A short, human name for a user agent string ("Firefox on Linux")."""
    ua = user_agent or ""
    browser = next((name for key, name in (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
                                           ("Chrome/", "Chrome"), ("Chromium/", "Chromium"),
                                           ("Safari/", "Safari")) if key in ua), "")
    system = next((name for key, name in (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
                                          ("Windows", "Windows"), ("Mac OS", "macOS"), ("Linux", "Linux"))
                   if key in ua), "")
    if browser and system:
        return f"{browser} · {system}"
    return browser or system or (ua[:40] if ua else "?")


def note_browser(person, token, user_agent, ip, now=None, place=""):
    """At sign-in: remember the browser (its cookie token); a new one is mailed to the person
    (with its approximate place when app/geoip.py found one). Returns True when it was new."""
    token_hash = _hash(token)
    if KnownBrowser.select().where((KnownBrowser.person == person.id)
                                   & (KnownBrowser.token_hash == token_hash)).exists():
        return False
    first = not KnownBrowser.select().where(KnownBrowser.person == person.id).exists()
    KnownBrowser.create(person=person, token_hash=token_hash, user_agent=(user_agent or "")[:300],
                        first_seen_at=now or utcnow())
    if not first:   # the very first sign-in is not news
        send_template(person.email, "new_browser", recipient_language(person), person=person,
                      browser=browser_name(user_agent), ip=ip or "", at=now or utcnow(), place=place,
                      business=Settings.get_solo())
    return True
