"""Passkeys (WebAuthn) for the portal's people and for staff users: registration and sign-in
ceremonies checked by the `webauthn` package, the credentials kept as rows (id, COSE public key,
the last signature counter). The views (app/views/keys.py, app/views/staff/) hand in the
challenge they kept in the session and the relying party (host name and origin); nothing here
reads the request.

A passkey belongs to its `owner`, a Person or a StaffUser: each kind has its own column in the
passkey table and its own user handle ("p12", "s12"), and each door signs in only its own kind,
so a person's passkey never opens the back-office nor a staff passkey the portal.

A passkey signs in alone (a discoverable credential names its owner through its user handle),
and counts as the second factor a business may require: the authenticator verified its user.
A counter that does not grow (a cloned authenticator replaying an older state) is refused."""
import json

import webauthn
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.structs import (AuthenticatorSelectionCriteria, PublicKeyCredentialDescriptor,
                                      ResidentKeyRequirement, UserVerificationRequirement)

from . import people
from .db import db
from .models import Activity, Passkey, Person, Settings, StaffUser, utcnow
from .rules import Refused

MAX_PASSKEYS = 20
NAME_LENGTH = 100


def _is_staff(owner):
    return isinstance(owner, StaffUser)


def _column(kind):
    """The passkey table's column for owners of this kind (Person or StaffUser)."""
    return Passkey.staff if kind is StaffUser else Passkey.person


def _owned(owner):
    return Passkey.select().where(_column(type(owner)) == owner.id)


def _record(action, owner, detail=""):
    if _is_staff(owner):
        Activity.record(action, staff=owner, detail=detail)
    else:
        Activity.record(action, person=owner, contact=owner.contact_id, detail=detail)


def user_handle(owner):
    """The WebAuthn user id of a person or a staff user: opaque, no email in it, never the same
    for the two kinds (a person and a staff user may share a row id)."""
    return f"{'s' if _is_staff(owner) else 'p'}{owner.id}".encode()


def registration_options(owner, rp_id):
    """(options as JSON for navigator.credentials.create, the challenge to keep)."""
    options = webauthn.generate_registration_options(
        rp_id=rp_id, rp_name=Settings.get_solo().name or "Customer portal", user_name=owner.email,
        user_id=user_handle(owner), user_display_name=owner.name or owner.email,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id))
                             for key in _owned(owner)])
    return webauthn.options_to_json(options), options.challenge


def register(owner, credential, challenge, rp_id, origin, name):
    """Check the authenticator's answer and keep the new passkey; Refused if it does not hold."""
    name = " ".join((name or "").split())[:NAME_LENGTH]
    if not challenge:
        raise Refused("no_challenge", "no registration under way")
    if _owned(owner).count() >= MAX_PASSKEYS:
        raise Refused("too_many", "too many passkeys")
    try:
        verified = webauthn.verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, require_user_verification=True)
    except Exception as exc:   # the library raises several kinds for a bad answer
        raise Refused("invalid_credential", str(exc)) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    with db.atomic():
        if Passkey.get_or_none(Passkey.credential_id == credential_id) is not None:
            raise Refused("known_credential", "this passkey is already registered")
        owned_by = {"staff": owner} if _is_staff(owner) else {"person": owner}
        key = Passkey.create(**owned_by, credential_id=credential_id,
                             public_key=verified.credential_public_key, sign_count=verified.sign_count,
                             name=name or "Passkey", transports=_transports(credential))
        _record("passkey_added", owner, f"passkey={key.id}")
        if not _is_staff(owner):
            people.tell_security_change(owner, "passkey_added")
    return key


def _transports(credential):
    try:
        data = json.loads(credential) if isinstance(credential, str) else credential
        found = data.get("response", {}).get("transports") or []
        return ",".join(t for t in found if isinstance(t, str) and t.isalnum())[:100]
    except (ValueError, AttributeError):
        return ""


def authentication_options(rp_id, owner=None):
    """(options as JSON for navigator.credentials.get, the challenge to keep). Without an owner
    the browser offers any discoverable passkey of this site; with one (the email-first way, or
    the second step after a password) only theirs."""
    allow = None
    if owner is not None:
        allow = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id)) for key in _owned(owner)]
    options = webauthn.generate_authentication_options(
        rp_id=rp_id, allow_credentials=allow, user_verification=UserVerificationRequirement.REQUIRED)
    return webauthn.options_to_json(options), options.challenge


def authenticate(credential, challenge, rp_id, origin, person=None):
    """The person a passkey assertion signs in to the portal (see `_authenticate`)."""
    return _authenticate(credential, challenge, rp_id, origin, Person, person)


def authenticate_staff(credential, challenge, rp_id, origin, staff=None):
    """The staff user a passkey assertion signs in to the back-office (see `_authenticate`)."""
    return _authenticate(credential, challenge, rp_id, origin, StaffUser, staff)


def _authenticate(credential, challenge, rp_id, origin, kind, owner):
    """The owner of kind `kind` (Person or StaffUser) a passkey assertion signs in, after checking
    its signature, user verification and counter; Refused otherwise. A passkey of the other kind
    is unknown here. `owner` (email-first, or a second factor after a password) must be the
    passkey's owner."""
    if not challenge:
        raise Refused("no_challenge", "no sign-in under way")
    try:
        data = json.loads(credential) if isinstance(credential, str) else credential
        raw_id = data["rawId"] if isinstance(data, dict) else None
    except (ValueError, KeyError, TypeError):
        raw_id = None
    if not isinstance(raw_id, str) or len(raw_id) > 400:
        raise Refused("invalid_credential", "malformed answer")
    column = _column(kind)
    # The inner join on the door's own column: another kind's passkey finds no row.
    key = (Passkey.select(Passkey, kind).join(kind, on=(column == kind.id))
           .where(Passkey.credential_id == raw_id).first())
    found = (key.staff if kind is StaffUser else key.person) if key is not None else None
    if found is None or (owner is not None and found.id != owner.id):
        raise Refused("unknown_credential", "no such passkey")
    handle = (data.get("response") or {}).get("userHandle")
    if handle and handle != bytes_to_base64url(user_handle(found)):
        raise Refused("unknown_credential", "the passkey names someone else")
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin,
            credential_public_key=bytes(key.public_key), credential_current_sign_count=key.sign_count,
            require_user_verification=True)
    except Exception as exc:   # a bad signature, origin, challenge, or a counter gone backwards
        _record("passkey_refused", found, f"passkey={key.id}")
        raise Refused("invalid_assertion", str(exc)) from None
    new_count = verified.new_sign_count
    # One winner: a counter must grow (unless the authenticator keeps none: 0 and 0).
    grows = (Passkey.sign_count < new_count) if new_count else (Passkey.sign_count == 0)
    if not Passkey.update(sign_count=new_count, last_used_at=utcnow()).where((Passkey.id == key.id) & grows).execute():
        raise Refused("invalid_assertion", "stale signature counter")
    if not (found.active if kind is StaffUser else found.can_sign_in()):
        raise Refused("no_access", "no access")
    return found


def listed(owner):
    return _owned(owner).order_by(Passkey.created_at, Passkey.id)


def has_passkey(owner):
    return _owned(owner).exists()


def owns(owner, passkey_id):
    return _owned(owner).where(Passkey.id == passkey_id).exists()


def remove(owner, passkey_id):
    """Remove one of the owner's own passkeys; False if there is no such passkey of theirs."""
    with db.atomic():
        gone = Passkey.delete().where((Passkey.id == passkey_id) & (_column(type(owner)) == owner.id)).execute()
        if gone:
            _record("passkey_removed", owner, f"passkey={passkey_id}")
            if not _is_staff(owner):
                people.tell_security_change(owner, "passkey_removed")
    return bool(gone)
