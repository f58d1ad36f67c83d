"""Configuration read from environment variables; every name is documented in README.md."""
import os
import re
from urllib.parse import urlsplit

# Keys that appear in docs, examples and tutorials: refusing them outside development
# stops a copy-pasted deployment from signing sessions with a public secret.
WELL_KNOWN_KEYS = {"", "dev", "secret", "changeme", "change-me", "development", "supersecret",
                   "your-secret-key", "secret-key", "please-change-me"}

LANGUAGES = ["es", "en", "ca", "fr", "de", "it", "pt"]


def _bool(value, default=False):
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEV_SETTINGS = "settings.env"


def from_env(instance_path):
    """Build the config mapping from os.environ, with the documented defaults. Without PORTAL_ENV
    in the environment, the settings `make run` wrote in the instance folder fill what the
    environment does not say (so the CLI works in a development checkout as printed)."""
    written = {} if "PORTAL_ENV" in os.environ else development_settings(instance_path)

    def env(name, default=None):
        return os.environ.get(name, written.get(name, default))
    portal_env = env("PORTAL_ENV", "production")
    return {
        "PORTAL_ENV": portal_env,
        "SECRET_KEY": env("SECRET_KEY", ""),
        # Fernet keys that encrypt gateway keys and webhook secrets at rest (app/sealed.py);
        # comma-separated, the first encrypts. Empty: a key derived from SECRET_KEY.
        "PORTAL_ENCRYPTION_KEY": env("PORTAL_ENCRYPTION_KEY", ""),
        "DATABASE_URL": env("DATABASE_URL", "sqlite:///" + os.path.join(instance_path, "portal.db")),
        "BASE_URL": env("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "BASE_URL_GIVEN": bool(env("BASE_URL")),
        # Host headers served (comma list); empty: the host of BASE_URL, and localhost for
        # health checks on the machine itself. Others get 400: links are never built from them.
        "TRUSTED_HOSTS_LIST": env("TRUSTED_HOSTS", ""),
        "MAIL_BACKEND": env("MAIL_BACKEND", "console" if portal_env == "development" else "smtp"),
        # A local MaxMind-format city database (GeoLite2-City, DB-IP's IP-to-City Lite): the
        # signed-in devices show an approximate place. Absent: just the IP; never a network lookup.
        "GEOIP_DATABASE": env("GEOIP_DATABASE", os.path.join(instance_path, "geoip.mmdb")),
        "SMTP_HOST": env("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(env("SMTP_PORT", "25")),
        "SMTP_USER": env("SMTP_USER", ""),
        "SMTP_PASSWORD": env("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(env("SMTP_STARTTLS"), False),
        "MAIL_FROM": env("MAIL_FROM", "portal@localhost"),
        "MAIL_DIR": env("MAIL_DIR", os.path.join(instance_path, "mail")),
        "REDIS_URL": env("REDIS_URL", ""),
        "HUEY_IMMEDIATE": _bool(env("HUEY_IMMEDIATE"), False),
        "HUEY_FILE": env("HUEY_FILE", os.path.join(instance_path, "huey.db")),
        "PDF_CACHE_DIR": env("PDF_CACHE_DIR", os.path.join(instance_path, "pdf-cache")),
        "PDF_CACHE_MAX_FILES": int(env("PDF_CACHE_MAX_FILES", "2000")),
        "SMTP_TIMEOUT": int(env("SMTP_TIMEOUT", "30")),
        # Seconds a stopping worker gives its jobs in hand before handing them back; below
        # systemd's TimeoutStopSec (README), above what a mail takes.
        "WORKER_STOP_GRACE": int(env("WORKER_STOP_GRACE", "20")),
        "LOG_LEVEL": env("LOG_LEVEL", "INFO").upper(),
        "LOG_FORMAT": env("LOG_FORMAT", "text").lower(),
        "BABEL_DEFAULT_LOCALE": env("DEFAULT_LANGUAGE", "en"),
        # The country whose usual tax rates and currency a new installation starts with.
        "COUNTRY": env("COUNTRY", "ES").upper(),
        "BABEL_DEFAULT_TIMEZONE": env("TIMEZONE", "Europe/Madrid"),
        "MAX_CONTENT_LENGTH": int(env("MAX_UPLOAD_BYTES", str(4 * 1024 * 1024))),
        "WTF_CSRF_TIME_LIMIT": None,
        # Online payments. Keys are entered in the back-office; these variables, when set,
        # override the stored keys of the gateway's current mode (and <GATEWAY>_MODE its mode).
        # The API bases point the official SDKs elsewhere (a local fake in tests); an empty
        # PayPal or Square base means the provider's sandbox or live host, by mode.
        "STRIPE_API_BASE": env("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/"),
        "PAYPAL_API_BASE": env("PAYPAL_API_BASE", "").rstrip("/"),
        "SQUARE_API_BASE": env("SQUARE_API_BASE", "").rstrip("/"),
        "STRIPE_MODE": env("STRIPE_MODE", ""),
        "STRIPE_SECRET_KEY": env("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": env("STRIPE_WEBHOOK_SECRET", ""),
        "PAYPAL_MODE": env("PAYPAL_MODE", ""),
        "PAYPAL_CLIENT_ID": env("PAYPAL_CLIENT_ID", ""),
        "PAYPAL_CLIENT_SECRET": env("PAYPAL_CLIENT_SECRET", ""),
        "PAYPAL_WEBHOOK_ID": env("PAYPAL_WEBHOOK_ID", ""),
        "SQUARE_MODE": env("SQUARE_MODE", ""),
        "SQUARE_ACCESS_TOKEN": env("SQUARE_ACCESS_TOKEN", ""),
        "SQUARE_LOCATION_ID": env("SQUARE_LOCATION_ID", ""),
        "SQUARE_WEBHOOK_SIGNATURE_KEY": env("SQUARE_WEBHOOK_SIGNATURE_KEY", ""),
        "PAYMENT_TIMEOUT": int(env("PAYMENT_TIMEOUT", "20")),
        # Sessions: an idle session ends; one opened by an access link also ends after
        # Settings.link_session_hours whatever happens.
        "SESSION_IDLE_MINUTES": int(env("SESSION_IDLE_MINUTES", "120")),
        "PERMANENT_SESSION_LIFETIME": int(env("SESSION_MAX_DAYS", "14")) * 86400,
        # The cookie lives SESSION_MAX_DAYS from sign-in and is not signed and sent again on
        # every answer (a fixed cost of every request): idleness is the session row's business.
        "SESSION_REFRESH_EACH_REQUEST": False,
        # Rate limits (Flask-Limiter syntax). Only failed sign-ins count. The per-account-and-IP
        # limit stops guessing from one place; the per-account one is high so that an attacker
        # elsewhere cannot lock the real person out for long.
        "LOGIN_LIMIT_ACCOUNT_IP": env("LOGIN_LIMIT_ACCOUNT_IP", "5 per 5 minutes"),
        "LOGIN_LIMIT_IP": env("LOGIN_LIMIT_IP", "30 per 5 minutes"),
        "LOGIN_LIMIT_ACCOUNT": env("LOGIN_LIMIT_ACCOUNT", "100 per hour"),
        "LINK_REQUEST_LIMIT": env("LINK_REQUEST_LIMIT", "5 per hour"),
        # The back-office's door: the same three limits, its own counters and (tighter) defaults;
        # the second step (two-factor code) counts per staff account. Staff sessions end after
        # STAFF_IDLE_MINUTES without a request.
        "STAFF_LOGIN_LIMIT_ACCOUNT_IP": env("STAFF_LOGIN_LIMIT_ACCOUNT_IP", "5 per 5 minutes"),
        "STAFF_LOGIN_LIMIT_IP": env("STAFF_LOGIN_LIMIT_IP", "20 per 5 minutes"),
        "STAFF_LOGIN_LIMIT_ACCOUNT": env("STAFF_LOGIN_LIMIT_ACCOUNT", "50 per hour"),
        "STAFF_TOTP_LIMIT": env("STAFF_TOTP_LIMIT", "5 per 5 minutes"),
        # The public verify page: plenty for people scanning invoices, too few to guess codes.
        "VERIFY_LIMIT": env("VERIFY_LIMIT", "30 per minute;300 per day"),
        "STAFF_IDLE_MINUTES": int(env("STAFF_IDLE_MINUTES", "60")),
        "TRUSTED_PROXIES": int(env("TRUSTED_PROXIES", "0")),
        # The REST API and outgoing webhooks. Webhooks to private, loopback or link-local
        # addresses are refused unless the operator allows them (an internal receiver).
        "API_RATE_LIMIT": env("API_RATE_LIMIT", "600 per minute"),
        "WEBHOOK_ALLOW_PRIVATE": _bool(env("WEBHOOK_ALLOW_PRIVATE"), False),
        "WEBHOOK_TIMEOUT": int(env("WEBHOOK_TIMEOUT", "10")),
    }


def check(config):
    """Refuse to start with settings that would be unsafe in production."""
    if config["PORTAL_ENV"] != "development" and not config.get("TESTING"):
        if weak_secret(config["SECRET_KEY"]):
            raise RuntimeError(
                "SECRET_KEY is empty, too short, too simple or a well-known value. Set SECRET_KEY to a "
                "long random string (python3 -c 'import secrets; print(secrets.token_hex(32))'), "
                "or PORTAL_ENV=development on a developer machine.")
        if not config.get("BASE_URL_GIVEN"):
            raise RuntimeError("BASE_URL is not set: it is the address in every mail and payment return "
                               "(for example BASE_URL=https://portal.example.com).")
        parts = urlsplit(config["BASE_URL"])
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
                or parts.query or parts.fragment:
            raise RuntimeError(f"BASE_URL must be like https://portal.example.com, not {config['BASE_URL']!r}.")
    if config["LOG_LEVEL"] not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise RuntimeError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {config['LOG_LEVEL']!r}.")
    if config["LOG_FORMAT"] not in ("text", "json"):
        raise RuntimeError(f"LOG_FORMAT must be text or json, not {config['LOG_FORMAT']!r}.")
    config["TRUSTED_HOSTS"] = trusted_hosts(config)


def weak_secret(key):
    """A key a guess or a dictionary could find: short, well known, one character repeated,
    few distinct characters, or a word followed by digits (password2026password)."""
    key = key.strip()
    if len(key) < 16 or key.lower() in WELL_KNOWN_KEYS or len(set(key)) < 8:
        return True
    return bool(re.fullmatch(r"([A-Za-z]+[0-9]*)\1*|[0-9]+[A-Za-z]+", key)) and len(key) < 40


def trusted_hosts(config):
    """The Host headers Flask serves (its TRUSTED_HOSTS); None, any, in tests and development."""
    listed = [h.strip() for h in config.get("TRUSTED_HOSTS_LIST", "").split(",") if h.strip()]
    if listed:
        return listed
    if config["PORTAL_ENV"] == "development" or config.get("TESTING"):
        return None
    return [urlsplit(config["BASE_URL"]).hostname, "localhost", "127.0.0.1"]


def development_settings(instance_path):
    path = os.path.join(instance_path, DEV_SETTINGS)
    if not os.path.exists(path):
        return {}
    from dotenv import dotenv_values
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def write_development_settings(instance_path, port):
    """What `make run` serves with, for the CLI to use as well: development mode and this port."""
    os.makedirs(instance_path, exist_ok=True)
    with open(os.path.join(instance_path, DEV_SETTINGS), "w") as fh:
        fh.write("# Written by `make run` (scripts/serve-dev.sh): development settings the app and the CLI\n"
                 "# read when PORTAL_ENV is not in the environment. Production sets the environment instead.\n"
                 f"PORTAL_ENV=development\nBASE_URL=http://127.0.0.1:{int(port)}\n")


def development_key(instance_path):
    """A random key kept in instance/ so development sessions survive restarts."""
    import secrets
    path = os.path.join(instance_path, "dev-secret-key")
    if not os.path.exists(path):
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as fh:
            fh.write(secrets.token_hex(32))
    with open(path) as fh:
        return fh.read().strip()
