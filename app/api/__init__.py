"""The REST API under /api/v1 for the business's other software: JSON in and out, bearer
tokens, one error shape, idempotency keys on creating requests, a rate limit per token, and an
OpenAPI 3.1 description at /api/v1/openapi.json that a test keeps equal to the routes.

Modules: auth (tokens), errors, idempotency, fields and schemas (what each request may carry,
declared once with pydantic for both validation and the description), validation (reading
bodies and query strings with them, cursor pagination), responses and openapi (the
description), and one module per resource group (contacts, documents, corrections, catalog,
activity)."""
from flask import Blueprint, current_app, jsonify, request

from ..web.limits import limiter
from . import auth, errors

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)
bp.before_request(auth.require_token)
errors.register(bp)
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=auth.rate_key)(bp)


@bp.get("/openapi.json")
def openapi():
    """Serve the OpenAPI 3.1 description of this API."""
    from .openapi import spec
    return jsonify(spec())


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app):
    """Register the API: routes, JSON errors for unknown API URLs, no CSRF (bearer tokens are
    not sent by browsers on their own, so there is no cross-site request to forge)."""
    from .. import csrf
    from . import activity, catalog, contacts, corrections, documents, statements  # noqa: F401  (their routes)
    csrf.exempt(bp)
    app.register_blueprint(bp)

    @app.before_request
    def _api_routing_errors():
        # An unknown URL or method never reaches the blueprint, whose handlers speak JSON.
        exc = request.routing_exception
        if exc is not None and getattr(exc, "code", 0) in (404, 405) and (
                request.path == PREFIX or request.path.startswith(PREFIX + "/")):
            return errors.from_http_exception(exc)
        return None
