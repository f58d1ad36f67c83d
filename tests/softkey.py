"""A software authenticator for the server-side passkey tests: it answers WebAuthn ceremonies
with an ECDSA P-256 key and "none" attestation, as a phone or security key would, so the real
`webauthn` package checks real signatures. A clone (`SoftKey.clone`) shares the key and the
counter state at the time it was cloned: the way a copied credential shows is its lagging counter."""
import copy
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

UP, UV, AT = 0x01, 0x04, 0x40


class SoftKey:
    def __init__(self, rp_id="localhost", origin="http://localhost"):
        self.rp_id, self.origin = rp_id, origin
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.counter = 0
        self.user_handle = None

    def clone(self):
        twin = copy.copy(self)   # the same key and id; its own counter from now on
        return twin

    @property
    def id(self):
        return bytes_to_base64url(self.credential_id)

    def _cose(self):
        numbers = self.private.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _client_data(self, kind, challenge, origin=None):
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def create(self, options, origin=None):
        """The answer to navigator.credentials.create(options) (options as the server's JSON)."""
        self.user_handle = options["user"]["id"]
        rp_hash = hashlib.sha256(options["rp"].get("id", self.rp_id).encode()).digest()
        auth_data = (rp_hash + bytes([UP | UV | AT]) + struct.pack(">I", self.counter) + bytes(16)
                     + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose())
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": self.id, "rawId": self.id, "type": "public-key",
                "response": {"clientDataJSON": bytes_to_base64url(self._client_data(
                    "webauthn.create", options["challenge"], origin)),
                    "attestationObject": bytes_to_base64url(attestation), "transports": ["internal"]},
                "clientExtensionResults": {}}

    def get(self, options, origin=None, counter_step=1, user_handle=True):
        """The answer to navigator.credentials.get(options); the counter moves on by `counter_step`."""
        self.counter += counter_step
        rp_hash = hashlib.sha256(options.get("rpId", self.rp_id).encode()).digest()
        auth_data = rp_hash + bytes([UP | UV]) + struct.pack(">I", self.counter)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.private.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        response = {"clientDataJSON": bytes_to_base64url(client_data),
                    "authenticatorData": bytes_to_base64url(auth_data), "signature": bytes_to_base64url(signature)}
        if user_handle and self.user_handle:
            response["userHandle"] = self.user_handle
        return {"id": self.id, "rawId": self.id, "type": "public-key", "response": response,
                "clientExtensionResults": {}}


def challenge_of(options):
    return base64url_to_bytes(options["challenge"])
