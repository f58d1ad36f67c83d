"""TOTP as a second factor for the portal's people, and the business's rule that requires one.

The same scheme as staff (app/staff_accounts.py): the secret sealed, a code accepted once (the
last step is kept, a replay is refused), ten single-use recovery codes shown once and stored as
SHA-256. A person's second factor is a TOTP app or a passkey (app/passkeys.py)."""
import datetime
import hmac
import secrets

import pyotp
import segno
from peewee import fn

from . import people
from .db import db
from .models import Activity, Passkey, Person, PersonRecoveryCode, Settings, utcnow
from .passkeys import has_passkey
from .staff_accounts import RECOVERY_CODES, digest, totp_uri, typed_code_digest


def start(person):
    """A new secret to enrol (not yet asked at sign-in); returns its otpauth:// URI."""
    secret = pyotp.random_base32()
    (Person.update(totp_secret=secret, totp_enabled=False, totp_last_step=0)
     .where(Person.id == person.id).execute())
    return totp_uri(secret, person.email)


def qr_svg(uri):
    """The enrolment QR code as an inline SVG (no JavaScript, no request elsewhere)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def secret_of(person):
    return Person.get_by_id(person.id).totp_secret


def check(person, code, now=None):
    """True when `code` is the current code (or the one either side, for clock drift) and newer
    than the last one accepted: a code seen once cannot be replayed."""
    code = "".join((code or "").split())
    secret = secret_of(person)
    if not secret or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(secret)
    step_now = totp.timecode(now or datetime.datetime.now(datetime.timezone.utc))
    for step in (step_now - 1, step_now, step_now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return bool(Person.update(totp_last_step=step)
                        .where((Person.id == person.id) & (Person.totp_last_step < step)).execute())
    return False


def enable(person, code, now=None):
    """Confirm enrolment with a code from the app; returns the recovery codes in clear (shown
    once), or None when the code is wrong."""
    if Person.get_by_id(person.id).totp_enabled or not check(person, code, now):
        return None
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
    with db.atomic():
        Person.update(totp_enabled=True).where(Person.id == person.id).execute()
        PersonRecoveryCode.delete().where(PersonRecoveryCode.person == person.id).execute()
        PersonRecoveryCode.insert_many([{"person": person.id, "code_hash": digest(c)} for c in codes]).execute()
        Activity.record("totp_on", person=person, contact=person.contact_id)
        people.tell_security_change(person, "totp_on")
    return codes


def disable(person):
    with db.atomic():
        (Person.update(totp_enabled=False, totp_secret=None, totp_last_step=0)
         .where(Person.id == person.id).execute())
        PersonRecoveryCode.delete().where(PersonRecoveryCode.person == person.id).execute()
        Activity.record("totp_off", person=person, contact=person.contact_id)
        people.tell_security_change(person, "totp_off")


def clear_second_factors(person, staff):
    """The business's help after a lost phone or key: the app, its recovery codes and every
    passkey of the person go, and every session and unused link ends (a stolen phone may be
    signed in). The next sign-in is by password or link; a required second factor is set up anew."""
    from . import tokens
    with db.atomic():
        (Person.update(totp_enabled=False, totp_secret=None, totp_last_step=0)
         .where(Person.id == person.id).execute())
        PersonRecoveryCode.delete().where(PersonRecoveryCode.person == person.id).execute()
        gone = Passkey.delete().where(Passkey.person == person.id).execute()
        tokens.revoke_all(person)
        Activity.record("second_factor_cleared", staff=staff, person=person, contact=person.contact_id,
                        detail=f"passkeys={gone}")
        people.tell_security_change(person, "factors_cleared")


def factors_of(people_rows):
    """{person id: (passkeys, app on)} for the back-office's list of a contact's people (one query)."""
    counts = dict(Passkey.select(Passkey.person, fn.COUNT(Passkey.id))
                  .where(Passkey.person.in_([p.id for p in people_rows])).group_by(Passkey.person).tuples())
    return {p.id: (counts.get(p.id, 0), bool(p.totp_enabled)) for p in people_rows}


def use_recovery_code(person, code):
    """Spend one recovery code (conditional UPDATE: one winner); True if it was unused."""
    code_hash = typed_code_digest(code)
    if code_hash is None:
        return False
    return bool(PersonRecoveryCode.update(used_at=utcnow())
                .where((PersonRecoveryCode.person == person.id) & (PersonRecoveryCode.code_hash == code_hash)
                       & PersonRecoveryCode.used_at.is_null()).execute())


def recovery_codes_left(person):
    return (PersonRecoveryCode.select().where((PersonRecoveryCode.person == person.id)
                                              & PersonRecoveryCode.used_at.is_null()).count())


def second_factor_ok(person, code, now=None):
    """A TOTP code or, failing that, a recovery code."""
    return check(person, code, now) or use_recovery_code(person, code)


# --- who must give a second factor ---------------------------------------------------------------

REQUIREMENTS = ("", "all", "billing")


def is_billing(person):
    """Whether the person pays for the contact (owners and billing people): the 'billing' rule's
    people, by the same capability the portal's allow-map uses for paying."""
    return people.has(person, "pay")


def required(person, settings=None):
    """Whether the business requires a second factor of this person."""
    rule = (settings or Settings.get_solo()).require_second_factor
    return rule == "all" or (rule == "billing" and is_billing(person))


def has_second_factor(person):
    return bool(Person.get_by_id(person.id).totp_enabled) or has_passkey(person)


def must_verify(person, settings=None):
    """After a password or a link: ask for a second factor? Yes when the person has TOTP on
    (they chose it), or when the business requires one (if they have none yet, they enrol
    before the session opens)."""
    return bool(Person.get_by_id(person.id).totp_enabled) or required(person, settings)


def set_requirement(rule, staff):
    if rule not in REQUIREMENTS:
        from .rules import Refused
        raise Refused("invalid_requirement", "unknown rule", field="require_second_factor")
    with db.atomic():
        Settings.save_values({"require_second_factor": rule})
        Activity.record("second_factor_rule", staff=staff, detail=f"rule={rule or 'off'}")
