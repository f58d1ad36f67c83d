"""Idempotency keys on creating requests: a retry gets the first answer, not a second object.

`@idempotent` runs the view and, when the request carries an `Idempotency-Key` header, stores
the response (2xx only) in the same transaction as the view's own writes. Retrying with the same
key and the same request replays the stored status and body (with `Idempotent-Replayed: true`);
the same key with a different method, path or body is refused with 422. Two identical requests
racing: the unique (token, key) index lets one commit; the other's writes roll back and it
replays the winner's answer. Failed requests are not stored, so fixing the body and retrying
with the same key works. Keys are kept for 24 hours."""
import datetime
import functools
import hashlib

from flask import make_response, request
from peewee import IntegrityError
from werkzeug.exceptions import HTTPException

from ..db import db
from ..models import IdempotencyRecord, utcnow
from .auth import current_token
from .errors import ApiError, from_api_error, from_http_exception

HEADER = "Idempotency-Key"
KEEP = datetime.timedelta(hours=24)


def _fingerprint():
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.get_data(cache=True)):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _replay(record):
    response = make_response(record.body, record.status_code)
    response.mimetype = "application/json"
    response.headers["Idempotent-Replayed"] = "true"
    if record.location:
        response.headers["Location"] = record.location
    return response


def _find(token, key):
    return IdempotencyRecord.get_or_none((IdempotencyRecord.token == token)
                                         & (IdempotencyRecord.key == key))


def _answer_from(record, fingerprint):
    if record.fingerprint != fingerprint:
        raise ApiError(422, "idempotency_key_reused",
                       "This Idempotency-Key was used with a different request.",
                       {HEADER: "Use a new key for a different request."})
    return _replay(record)


def _run(view, args, kwargs):
    try:
        return make_response(view(*args, **kwargs))
    except ApiError as exc:
        return from_api_error(exc)
    except HTTPException as exc:
        return from_http_exception(exc)


class _NotStored(Exception):
    """Carries a failed response out of the transaction so that its writes roll back."""

    def __init__(self, response):
        self.response = response


def read_key():
    """The request's Idempotency-Key, or None; 400 when it is not 1 to 255 printable ASCII."""
    key = request.headers.get(HEADER)
    if key is not None and (not 1 <= len(key) <= 255 or any(ord(c) < 33 or ord(c) > 126 for c in key)):
        raise ApiError(400, "invalid_idempotency_key",
                       "An Idempotency-Key is 1 to 255 printable ASCII characters.",
                       {HEADER: "Use 1 to 255 printable ASCII characters, like a UUID."})
    return key


def idempotent(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = read_key()
        if key is None:
            return view(*args, **kwargs)
        token, fingerprint = current_token(), _fingerprint()
        IdempotencyRecord.delete().where((IdempotencyRecord.token == token)
                                         & (IdempotencyRecord.key == key)
                                         & (IdempotencyRecord.created_at < utcnow() - KEEP)).execute()
        record = _find(token, key)
        if record is not None:
            return _answer_from(record, fingerprint)
        try:
            with db.atomic():
                response = _run(view, args, kwargs)
                if not 200 <= response.status_code < 300:
                    raise _NotStored(response)
                IdempotencyRecord.create(token=token, key=key, fingerprint=fingerprint,
                                         status_code=response.status_code,
                                         body=response.get_data(as_text=True),
                                         location=response.headers.get("Location", "")[:500])
        except _NotStored as exc:
            return exc.response
        except IntegrityError:
            # A request with the same key committed first: our writes are gone; answer as it did.
            record = _find(token, key)
            if record is None:
                raise
            return _answer_from(record, fingerprint)
        forget_old()
        return response
    return wrapper


def forget_old():
    """Drop records past their 24 hours (run now and then; lookups ignore them anyway)."""
    return IdempotencyRecord.delete().where(IdempotencyRecord.created_at < utcnow() - KEEP).execute()
