"""Secrets at rest: gateway keys and webhook signing secrets are stored encrypted, so a backup
of the database (a copied SQLite file, a pg_dump) holds no live key.

The key comes from the environment, never from the database: `PORTAL_ENCRYPTION_KEY`, a
comma-separated list of Fernet keys (the first encrypts, every one decrypts: rotation is
"put the new key first, run `flask reseal`, then drop the old one"). Without it, a key is
derived from SECRET_KEY (HKDF-SHA256), so a default install is protected too; changing
SECRET_KEY then needs the old one listed in PORTAL_ENCRYPTION_KEY's place for a `reseal`.

Fernet (the `cryptography` package: AES-128-CBC with HMAC-SHA256, versioned tokens) is the
well-kept, misuse-resistant choice for "encrypt a small value with a symmetric key".
Stored values carry the prefix `sealed:`; a value without it is an older clear one, read as
it is and sealed by `flask migrate` (seal_stored)."""
import base64
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, has_app_context
from peewee import TextField

log = logging.getLogger(__name__)
PREFIX = "sealed:"


class Unreadable(Exception):
    """A sealed value that none of the configured keys opens: the key changed."""


def derived_key(secret_key):
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"customer-portal stored secrets").derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


def keys_from(config):
    """The Fernet keys of this configuration, the one that encrypts first. A malformed key is
    a start-up error (ValueError) rather than a surprise at the first payment."""
    listed = [k.strip() for k in (config.get("PORTAL_ENCRYPTION_KEY") or "").split(",") if k.strip()]
    return [Fernet(k) for k in (listed or [derived_key(config["SECRET_KEY"])])]


_process_keys = None   # the keys of the app made last: for code run outside an app context


def init_app(app):
    global _process_keys
    fernets = keys_from(app.config)
    app.extensions["sealed"] = _process_keys = (MultiFernet(fernets), fernets[0])


def _keys():
    return current_app.extensions["sealed"] if has_app_context() else _process_keys


def _box():
    return _keys()[0]


def seal(text):
    if text is None or text.startswith(PREFIX):
        return text
    return PREFIX + _box().encrypt(text.encode()).decode()


def unseal(stored):
    if stored is None or not stored.startswith(PREFIX):
        return stored
    try:
        return _box().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise Unreadable("a stored secret cannot be decrypted: "
                         "was SECRET_KEY or PORTAL_ENCRYPTION_KEY changed?") from None


class SealedTextField(TextField):
    """A text column stored encrypted; the model reads and writes clear text."""

    def db_value(self, value):
        return seal(value)

    def python_value(self, value):
        try:
            return unseal(value)
        except Unreadable as exc:
            # Read as empty (a gateway "not configured", a webhook that cannot be signed) so
            # that one changed key does not turn every page that loads the row into an error.
            log.error("%s.%s: %s", self.model._meta.table_name, self.column_name, exc)
            return ""


def seal_stored(models):
    """Encrypt what is still in clear, and re-encrypt under the first key what an older key
    sealed (after a rotation). Reads the raw columns; returns how many values changed."""
    from .db import db
    first = _keys()[1]
    changed = 0
    for model in models:
        table = model._meta.table_name
        for field in (f for f in model._meta.sorted_fields if isinstance(f, SealedTextField)):
            rows = db.execute_sql(f'SELECT id, "{field.column_name}" FROM "{table}"').fetchall()
            for row_id, raw in rows:
                if raw is None or _opens(first, raw):
                    continue
                model.update({field: PREFIX + _box().encrypt(unseal(raw).encode()).decode()}).where(
                    model.id == row_id).execute()
                changed += 1
    return changed


def _opens(fernet, raw):
    if not raw.startswith(PREFIX):
        return False
    try:
        fernet.decrypt(raw[len(PREFIX):].encode())
        return True
    except InvalidToken:
        return False
