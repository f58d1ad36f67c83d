"""Response headers every answer carries (pages, fragments, errors), safe redirects, and the
WebAuthn relying party of a request."""
from urllib.parse import unquote, urlsplit

from flask import request

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
       "object-src 'none'; frame-ancestors 'none'")


def init_app(app):
    https = app.config["BASE_URL"].startswith("https://")
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=https, REMEMBER_COOKIE_HTTPONLY=True,
                      REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=https)
    if https:
        # The __Host- prefix makes browsers refuse the cookie unless it is Secure, for "/" and
        # for this exact host: a sibling subdomain cannot plant or overwrite a session.
        app.config.update(SESSION_COOKIE_NAME="__Host-portal", SESSION_COOKIE_PATH="/",
                          SESSION_COOKIE_DOMAIN=None)

    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if https:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" and "Cache-Control" not in h:
            # Pages show a customer's private data: no cache keeps them, not even the
            # browser's (the back button after signing out on a shared computer). Answers that
            # may be kept say so themselves (the logo by its hash, a PDF by its ETag).
            h["Cache-Control"] = "no-store"
        return response


def safe_next(target, default):
    """A redirect target only if it is a path on this site (no scheme, host or //)."""
    if not target or not isinstance(target, str):
        return default
    target = target.strip()
    # Judge the decoded form too: "/%2F/evil.example" and "/%0a/..." are tricks, not pages.
    for form in (target, unquote(target)):
        parts = urlsplit(form)
        if (parts.scheme or parts.netloc or not form.startswith("/") or form.startswith("//")
                or "\\" in form or any(ord(c) < 32 or ord(c) == 127 for c in form)):
            return default
    return target


def relying_party():
    """(rp id, origin) of this request for WebAuthn: the host the browser shows (the app checks
    Host headers). Shared by the portal's and the back-office's passkeys."""
    origin = f"{request.scheme}://{request.host}"
    return urlsplit(origin).hostname, origin
