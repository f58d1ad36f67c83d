"""Staff accounts: sessions kept as rows, invitation and reset links, roles, and two-factor:
TOTP with recovery codes, or passkeys (app/passkeys.py). The back-office views (app/views/staff/) only adapt to these.

Everything secret is stored as a hash (session ids, link tokens, recovery codes) or sealed (the
TOTP secret, app/sealed.py), so a database backup opens no staff account."""
import datetime
import hashlib
import hmac
import secrets

import pyotp

from . import passkeys
from .db import db
from .mail import recipient_language, send_template
from .models import (STAFF_ROLES, Activity, Passkey, Settings, StaffLink, StaffRecoveryCode, StaffSession, StaffUser,
                     utcnow)
from .passwords import hash_password
from .rules import Refused

LINK_HOURS = {"invite": 72, "reset": 2}
RECOVERY_CODES = 10
ISSUER = "Customer portal"


def digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


# --- sessions ----------------------------------------------------------------------------------

def start_session(staff, idle_minutes):
    """A new session row for the staff user; returns the random id for the cookie. The user's
    sessions left idle past the limit (a browser closed without signing out) go now."""
    sid = secrets.token_urlsafe(32)
    stale = utcnow() - datetime.timedelta(minutes=idle_minutes)
    StaffSession.delete().where((StaffSession.staff == staff.id) & (StaffSession.last_seen_at < stale)).execute()
    StaffSession.create(staff=staff, sid_hash=digest(sid))
    StaffUser.update(last_login_at=utcnow()).where(StaffUser.id == staff.id).execute()
    return sid


def session_user(sid, idle_minutes):
    """The active staff user a cookie's session id belongs to, or None (no row, idle too long,
    user deactivated). Touches last_seen_at at most once a minute."""
    if not isinstance(sid, str) or len(sid) > 100:
        return None
    row = (StaffSession.select(StaffSession, StaffUser).join(StaffUser)
           .where(StaffSession.sid_hash == digest(sid)).first())
    if row is None:
        return None
    now = utcnow()
    if not row.staff.active or now - row.last_seen_at > datetime.timedelta(minutes=idle_minutes):
        StaffSession.delete().where(StaffSession.id == row.id).execute()
        return None
    if now - row.last_seen_at > datetime.timedelta(minutes=1):
        StaffSession.update(last_seen_at=now).where(StaffSession.id == row.id).execute()
    return row.staff


def end_session(sid):
    if isinstance(sid, str):
        StaffSession.delete().where(StaffSession.sid_hash == digest(sid)).execute()


# --- links -------------------------------------------------------------------------------------

def issue_link(staff, purpose, by=None):
    """A new link (older unused ones of the purpose stop working); returns (token, row)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with db.atomic():
        (StaffLink.update(used_at=now).where((StaffLink.staff == staff) & (StaffLink.purpose == purpose)
                                             & StaffLink.used_at.is_null()).execute())
        link = StaffLink.create(staff=staff, purpose=purpose, token_hash=digest(token), created_by=by,
                                expires_at=now + datetime.timedelta(hours=LINK_HOURS[purpose]))
    return token, link


def send_link(staff, purpose, by=None):
    """Issue a link and queue its mail in the staff user's language (one transaction)."""
    with db.atomic():
        token, link = issue_link(staff, purpose, by)
        send_template(staff.email, f"staff_{purpose}", recipient_language(staff), staff=staff, inviter=by,
                      business=Settings.get_solo(), url_endpoint="staff.auth.link", token=token,
                      purpose=purpose, expires_at=link.expires_at)
    return token, link


def find_link(token):
    """(link, state): state is 'ok', 'unknown', 'used', 'expired' or 'disabled'."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None, "unknown"
    wanted = digest(token)
    link = StaffLink.get_or_none(StaffLink.token_hash == wanted)
    if link is None or not hmac.compare_digest(link.token_hash, wanted):
        return None, "unknown"
    if link.used_at is not None:
        return link, "used"
    if link.expires_at <= utcnow():
        return link, "expired"
    if not link.staff.active:
        return link, "disabled"
    return link, "ok"


def use_link(link, password):
    """Set the password chosen through a link, if the link is still unused (one winner);
    every session of the user ends. Returns the user or None."""
    with db.atomic():
        used = (StaffLink.update(used_at=utcnow())
                .where((StaffLink.id == link.id) & StaffLink.used_at.is_null()
                       & (StaffLink.expires_at > utcnow())).execute())
        if not used:
            return None
        set_password(link.staff, password)
    return StaffUser.get_by_id(link.staff_id)


def set_password(staff, password):
    """A new password ends every session of the user (the caller starts a new one)."""
    (StaffUser.update(password_hash=hash_password(password), session_version=StaffUser.session_version + 1)
     .where(StaffUser.id == staff.id).execute())
    StaffSession.end_all(staff)


# --- the team ----------------------------------------------------------------------------------

def invite(email, name, role, language, by):
    """A new staff user with no password yet, and the mailed link to choose one."""
    if role not in STAFF_ROLES:
        raise Refused("invalid_role", "unknown role", field="role")
    with db.atomic():
        if StaffUser.get_or_none(StaffUser.email == email) is not None:
            raise Refused("email_taken", "taken", field="email")
        user = StaffUser.create(email=email, name=name, role=role, language=language, password_hash="")
        send_link(user, "invite", by)
        Activity.record("staff_invited", staff=by, detail=f"staff={user.id} role={role}")
    return user


def _guard_last_owner(user):
    """Refuse a change that would leave the business without an active owner."""
    others = StaffUser.active_owners().where(StaffUser.id != user.id).count()
    if user.active and user.role == "owner" and others == 0:
        raise Refused("last_owner", "last owner")


def deactivate(user, by):
    with db.atomic():
        _guard_last_owner(user)
        (StaffUser.update(active=False, session_version=StaffUser.session_version + 1)
         .where(StaffUser.id == user.id).execute())
        StaffSession.end_all(user)
        StaffLink.update(used_at=utcnow()).where((StaffLink.staff == user) & StaffLink.used_at.is_null()).execute()
        Activity.record("staff_deactivated", staff=by, detail=f"staff={user.id}")


def reactivate(user, by):
    StaffUser.update(active=True).where(StaffUser.id == user.id).execute()
    Activity.record("staff_reactivated", staff=by, detail=f"staff={user.id}")


def set_role(user, role, by):
    if role not in STAFF_ROLES:
        raise Refused("invalid_role", "unknown role", field="role")
    with db.atomic():
        if role != "owner":
            _guard_last_owner(user)
        StaffUser.update(role=role).where(StaffUser.id == user.id).execute()
        Activity.record("staff_role", staff=by, detail=f"staff={user.id} role={role}")


def force_reset(user, by):
    """Mail a reset link; the old password stops working and every session ends at once."""
    with db.atomic():
        (StaffUser.update(password_hash="", session_version=StaffUser.session_version + 1)
         .where(StaffUser.id == user.id).execute())
        StaffSession.end_all(user)
        send_link(user, "reset", by)
        Activity.record("staff_reset", staff=by, detail=f"staff={user.id}")


# --- TOTP two-factor ---------------------------------------------------------------------------

def start_totp(staff):
    """A new secret to enrol (not yet required at sign-in); returns its otpauth:// URI."""
    secret = pyotp.random_base32()
    StaffUser.update(totp_secret=secret, totp_enabled=False).where(StaffUser.id == staff.id).execute()
    return totp_uri(secret, staff.email)


def totp_uri(secret, email):
    issuer = Settings.get_solo().name or ISSUER
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def check_totp(staff, code):
    """True when `code` is the current code (or the one before or after, for clock drift) and
    newer than the last one accepted: a code seen once cannot be replayed."""
    code = "".join((code or "").split())
    if not staff.totp_secret or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(staff.totp_secret)
    now_step = totp.timecode(datetime.datetime.now(datetime.timezone.utc))
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return bool(StaffUser.update(totp_last_step=step)
                        .where((StaffUser.id == staff.id) & (StaffUser.totp_last_step < step)).execute())
    return False


def enable_totp(staff, code):
    """Confirm enrolment with a code from the app; returns the recovery codes in clear (shown
    once), or None when the code is wrong."""
    if staff.totp_enabled or not check_totp(staff, code):
        return None
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
    with db.atomic():
        StaffUser.update(totp_enabled=True).where(StaffUser.id == staff.id).execute()
        StaffRecoveryCode.delete().where(StaffRecoveryCode.staff == staff.id).execute()
        StaffRecoveryCode.insert_many([{"staff": staff.id, "code_hash": digest(c)} for c in codes]).execute()
        Activity.record("staff_totp_on", staff=staff)
    return codes


def disable_totp(staff, by):
    with db.atomic():
        (StaffUser.update(totp_enabled=False, totp_secret=None, totp_last_step=0)
         .where(StaffUser.id == staff.id).execute())
        StaffRecoveryCode.delete().where(StaffRecoveryCode.staff == staff.id).execute()
        Activity.record("staff_totp_off", staff=by, detail=f"staff={staff.id}")


def clear_second_factors(staff, by):
    """An owner's help for a lost phone or key: TOTP off and every passkey of the user gone, so
    that the password alone signs in again (and, when required, the user sets one up anew)."""
    with db.atomic():
        disable_totp(staff, by)
        gone = Passkey.delete().where(Passkey.staff == staff.id).execute()
        if gone:
            Activity.record("passkey_removed", staff=by, detail=f"staff={staff.id} passkeys={gone}")


def with_passkeys():
    """The ids of the staff users who have a passkey (one query for the team page)."""
    return {row.staff_id for row in Passkey.select(Passkey.staff).where(Passkey.staff.is_null(False)).distinct()}


def typed_code_digest(code):
    """The digest of a typed recovery code (spaces, dashes and case ignored), or None when what
    was typed cannot be one. Staff and portal people's codes are written and read the same way."""
    code = "".join((code or "").split()).lower().replace("-", "")
    return digest(code) if code and len(code) <= 40 else None


def use_recovery_code(staff, code):
    """Spend one recovery code (conditional UPDATE: one winner); True if it was unused."""
    code_hash = typed_code_digest(code)
    if code_hash is None:
        return False
    return bool(StaffRecoveryCode.update(used_at=utcnow())
                .where((StaffRecoveryCode.staff == staff.id) & (StaffRecoveryCode.code_hash == code_hash)
                       & StaffRecoveryCode.used_at.is_null()).execute())


def recovery_codes_left(staff):
    return (StaffRecoveryCode.select().where((StaffRecoveryCode.staff == staff.id)
                                             & StaffRecoveryCode.used_at.is_null()).count())


def second_factor_ok(staff, code):
    """A TOTP code or, failing that, a recovery code."""
    return check_totp(staff, code) or use_recovery_code(staff, code)


def second_factor_count(staff):
    """How many second factors the staff user has: TOTP (if on) and each passkey."""
    totp = 1 if StaffUser.get_by_id(staff.id).totp_enabled else 0
    return totp + passkeys.listed(staff).count()


def has_second_factor(staff):
    """TOTP on, or a passkey: either meets the owner's two-factor requirement (a passkey's
    authenticator verified its user, which is a second factor of its own)."""
    return bool(StaffUser.get_by_id(staff.id).totp_enabled) or passkeys.has_passkey(staff)


def must_verify(staff):
    """After the password: ask for a second factor? When TOTP is on (they chose it), or when
    the owner requires two-factor and the user has a passkey to give (a user with neither is
    sent to set one up once signed in)."""
    return bool(staff.totp_enabled) or (Settings.get_solo().staff_require_totp and passkeys.has_passkey(staff))
