"""API tokens: `Authorization: Bearer portal_...`, stored only as SHA-256 like access links.

Staff create and revoke tokens in the back-office (or the operator with `flask api-token
create NAME`); the token is shown once. A revoked token stops working on its next request.
A read-only token may use GET only (403 otherwise)."""
import hmac

from flask import g, request

from ..models import ApiToken, utcnow
from ..tokens import api_token_hash as _hash
from ..tokens import create_api_token as create_token  # noqa: F401  (tests and the CLI name it so)
from .errors import ApiError


def bearer_token():
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 200:
        return None
    return value


def current_token():
    """The request's valid token row, or None; looked up once per request."""
    if "api_token" not in g:
        token = bearer_token()
        row = None
        if token:
            digest = _hash(token)
            row = ApiToken.by_hash(digest)
            if row is not None and not hmac.compare_digest(row.token_hash, digest):
                row = None
        g.api_token = row
    return g.api_token


def require_token():
    """before_request of the API: a valid token, allowed to do this."""
    if request.endpoint == "api.openapi":
        return None
    token = current_token()
    if token is None:
        raise ApiError(401)
    if request.method not in ("GET", "HEAD", "OPTIONS") and not token.can_write:
        raise ApiError(403, "read_only_token", "This token can only read.")
    token.touch(utcnow())
    return None


def rate_key():
    """Rate limits count per token; requests without a valid one count per address."""
    from flask_limiter.util import get_remote_address
    token = current_token()
    return f"api-token:{token.id}" if token else "api-ip:" + get_remote_address()
