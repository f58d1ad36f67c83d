"""Passkeys (WebAuthn) for the portal's people: registration and sign-in ceremonies checked by
the `webauthn` package, the credentials kept as rows (id, COSE public key, the last signature
counter). The views (app/views/keys.py) hand in the challenge they kept in the session and the
relying party (host name and origin); nothing here reads the request.

A passkey signs in alone (a discoverable credential names its person through its user handle),
and counts as the second factor a business may require: the authenticator verified its user.
A counter that does not grow (a cloned authenticator replaying an older state) is refused."""
import json

import webauthn
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.structs import (AuthenticatorSelectionCriteria, PublicKeyCredentialDescriptor,
                                      ResidentKeyRequirement, UserVerificationRequirement)

from .db import db
from .models import Activity, Passkey, Person, Settings, utcnow
from .rules import Refused

MAX_PASSKEYS = 20
NAME_LENGTH = 100


def user_handle(person):
    """The WebAuthn user id of a person: opaque, no email in it."""
    return f"p{person.id}".encode()


def registration_options(person, rp_id):
    """(options as JSON for navigator.credentials.create, the challenge to keep)."""
    options = webauthn.generate_registration_options(
        rp_id=rp_id, rp_name=Settings.get_solo().name or "Customer portal", user_name=person.email,
        user_id=user_handle(person), user_display_name=person.name or person.email,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id))
                             for key in Passkey.select().where(Passkey.person == person.id)])
    return webauthn.options_to_json(options), options.challenge


def register(person, credential, challenge, rp_id, origin, name):
    """Check the authenticator's answer and keep the new passkey; Refused if it does not hold."""
    name = " ".join((name or "").split())[:NAME_LENGTH]
    if not challenge:
        raise Refused("no_challenge", "no registration under way")
    if Passkey.select().where(Passkey.person == person.id).count() >= MAX_PASSKEYS:
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
        key = Passkey.create(person=person, credential_id=credential_id,
                             public_key=verified.credential_public_key, sign_count=verified.sign_count,
                             name=name or "Passkey", transports=_transports(credential))
        Activity.record("passkey_added", person=person, contact=person.contact_id, detail=f"passkey={key.id}")
    return key


def _transports(credential):
    try:
        data = json.loads(credential) if isinstance(credential, str) else credential
        found = data.get("response", {}).get("transports") or []
        return ",".join(t for t in found if isinstance(t, str) and t.isalnum())[:100]
    except (ValueError, AttributeError):
        return ""


def authentication_options(rp_id, person=None):
    """(options as JSON for navigator.credentials.get, the challenge to keep). Without a person
    the browser offers any discoverable passkey of this site; with one (the email-first way)
    only theirs."""
    allow = None
    if person is not None:
        allow = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id))
                 for key in Passkey.select().where(Passkey.person == person.id)]
    options = webauthn.generate_authentication_options(
        rp_id=rp_id, allow_credentials=allow, user_verification=UserVerificationRequirement.REQUIRED)
    return webauthn.options_to_json(options), options.challenge


def authenticate(credential, challenge, rp_id, origin, person=None):
    """The person a passkey assertion signs in, after checking its signature, user verification
    and counter; Refused otherwise. `person` (email-first, or a second factor after a password)
    must be the passkey's owner."""
    if not challenge:
        raise Refused("no_challenge", "no sign-in under way")
    try:
        data = json.loads(credential) if isinstance(credential, str) else credential
        raw_id = data["rawId"] if isinstance(data, dict) else None
    except (ValueError, KeyError, TypeError):
        raw_id = None
    if not isinstance(raw_id, str) or len(raw_id) > 400:
        raise Refused("invalid_credential", "malformed answer")
    key = (Passkey.select(Passkey, Person).join(Person)
           .where(Passkey.credential_id == raw_id).first())
    if key is None or (person is not None and key.person_id != person.id):
        raise Refused("unknown_credential", "no such passkey")
    handle = (data.get("response") or {}).get("userHandle")
    if handle and handle != bytes_to_base64url(user_handle(key.person)):
        raise Refused("unknown_credential", "the passkey names another person")
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin,
            credential_public_key=bytes(key.public_key), credential_current_sign_count=key.sign_count,
            require_user_verification=True)
    except Exception as exc:   # a bad signature, origin, challenge, or a counter gone backwards
        Activity.record("passkey_refused", person=key.person, contact=key.person.contact_id,
                        detail=f"passkey={key.id}")
        raise Refused("invalid_assertion", str(exc)) from None
    new_count = verified.new_sign_count
    # One winner: a counter must grow (unless the authenticator keeps none: 0 and 0).
    grows = (Passkey.sign_count < new_count) if new_count else (Passkey.sign_count == 0)
    if not Passkey.update(sign_count=new_count, last_used_at=utcnow()).where((Passkey.id == key.id) & grows).execute():
        raise Refused("invalid_assertion", "stale signature counter")
    if not key.person.can_sign_in():
        raise Refused("no_access", "no portal access")
    return key.person


def listed(person):
    return Passkey.select().where(Passkey.person == person.id).order_by(Passkey.created_at, Passkey.id)


def has_passkey(person):
    return Passkey.select().where(Passkey.person == person.id).exists()


def remove(person, passkey_id):
    """Remove one of the person's own passkeys; False if there is no such passkey of theirs."""
    with db.atomic():
        gone = Passkey.delete().where((Passkey.id == passkey_id) & (Passkey.person == person.id)).execute()
        if gone:
            Activity.record("passkey_removed", person=person, contact=person.contact_id, detail=f"passkey={passkey_id}")
    return bool(gone)
