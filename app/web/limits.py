"""Rate limits (Flask-Limiter): in memory on one server, in Redis when REDIS_URL is set."""
from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)


def init_app(app):
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "portal")
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"], x_proto=1)
    limiter.init_app(app)


def posted_email():
    return (request.form.get("email") or "").strip().lower()[:254]


def account_key():
    return "acct:" + posted_email()


def account_ip_key():
    return "acct-ip:" + posted_email() + "|" + get_remote_address()


def failed(response):
    """Only failed attempts count towards sign-in limits (a success answers 303)."""
    return response.status_code != 303


def refused(response):
    """For the JSON passkey steps, whose success answers 200: only refusals count."""
    return response.status_code >= 400


def config_limit(name):
    return lambda: current_app.config[name]
