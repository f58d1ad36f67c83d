"""API errors: one JSON shape for every failure, {"error": {"code", "message", "fields"}}.

Views raise ApiError (or abort with a status); the handlers here turn it, and every other
HTTP error raised on an API URL, into that shape with the right status."""
from flask import jsonify
from flask_babel import force_locale
from werkzeug.exceptions import HTTPException

# Stable machine codes per status, for errors raised without a more specific one.
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
         415: "unsupported_media_type", 422: "validation_failed", 429: "rate_limited",
         500: "server_error", 503: "unavailable"}
MESSAGES = {400: "The request is not valid.", 401: "A valid API token is required.",
            403: "This token may not do that.", 404: "No such resource.",
            405: "This method is not allowed on this URL.", 409: "The request conflicts with the current state.",
            413: "The request body is too large.", 415: "Send a JSON body.",
            422: "Some fields are not valid.", 429: "Too many requests; slow down.",
            500: "Something went wrong on our side.", 503: "The service is briefly unavailable."}


class ApiError(Exception):
    def __init__(self, status, code=None, message=None, fields=None):
        super().__init__(message or MESSAGES.get(status, ""))
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message or MESSAGES.get(status, "")
        self.fields = fields or {}


def not_found(what="resource"):
    return ApiError(404, "not_found", f"No such {what}.")


def conflict(message, code="conflict"):
    return ApiError(409, code, message)


def invalid(fields, message=None):
    return ApiError(422, "validation_failed", message or MESSAGES[422], fields)


def error_response(status, code=None, message=None, fields=None, headers=None):
    body = {"error": {"code": code or CODES.get(status, "error"),
                      "message": message or MESSAGES.get(status, ""), "fields": fields or {}}}
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def from_api_error(exc):
    return error_response(exc.status, exc.code, exc.message, exc.fields)


def from_http_exception(exc):
    status = exc.code or 500
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    if status in (401, 403, 429):
        from flask import request
        import logging
        logging.getLogger("portal.api").info("API %s for %s %s ip=%s", status, request.method,
                                             request.url_rule.rule if request.url_rule else "-", request.remote_addr)
    if status == 429:
        limit = getattr(exc, "limit", None)
        try:
            headers["Retry-After"] = str(int(limit.limit.get_expiry()))
        except AttributeError:
            headers["Retry-After"] = "60"
    return error_response(status, headers=headers)


def from_refusal(exc):
    """A domain refusal as the API's error: a 409 with its code, naming the field it concerns if
    any. 422 stays for a body its schema refuses: what refuses a valid one is the data (an amount
    above what is due), which no schema can say. Messages in English whatever the client's
    Accept-Language, as every other API message."""
    with force_locale("en"):
        message = str(exc.message)
    return ApiError(409, exc.code, message, {exc.field: message} if exc.field else None)


def register(bp):
    bp.register_error_handler(ApiError, from_api_error)
    bp.register_error_handler(HTTPException, from_http_exception)
    # Flask prefers the app's handler for a status code over a blueprint's handler for a class,
    # so each status the app renders as a page is claimed here by code too.
    for status in (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500):
        bp.register_error_handler(status, from_http_exception)

    @bp.errorhandler(Exception)
    def _unexpected(exc):
        from peewee import InterfaceError, OperationalError
        if isinstance(exc, HTTPException):
            return from_http_exception(exc)
        if isinstance(exc, (OperationalError, InterfaceError)):
            return error_response(503)
        import logging
        logging.getLogger("portal.api").exception("API error")
        return error_response(500)
