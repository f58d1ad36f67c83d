"""Password hashing (argon2id, the library's defaults) for staff and contacts' people."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verifying against this when the account does not exist keeps the answer's timing the same.
_DUMMY = _hasher.hash("an unused password to spend the same time")


def hash_password(password):
    return _hasher.hash(password)


def verify_password(stored_hash, password):
    try:
        return _hasher.verify(stored_hash or _DUMMY, password) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


# --- the contacts' password policy -------------------------------------------------------------
# Length and a list of the 10,000 most common passwords, no composition rules (NIST 800-63B).
# The list is the head of Django's common-passwords.txt.gz (from Royce Williams' 2018 list).
MIN_LENGTH = 10
MAX_LENGTH = 1024   # far past any passphrase; stops a megabyte from being hashed
_COMMON = None


def _common():
    global _COMMON
    if _COMMON is None:
        import gzip
        import os
        path = os.path.join(os.path.dirname(__file__), "data", "common-passwords.txt.gz")
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            _COMMON = {line.strip().lower() for line in fh if line.strip()}
    return _COMMON


def password_problem(password):
    """The reason a new password is refused, as a key for the message, or None."""
    if len(password) < MIN_LENGTH:
        return "short"
    if len(password) > MAX_LENGTH:
        return "long"
    if password.lower() in _common() or password.strip().lower() in _common():
        return "common"
    return None
