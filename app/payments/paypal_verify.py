"""PayPal webhook signatures checked offline, on the bytes received.

PayPal signs "<transmission id>|<transmission time>|<webhook id>|<CRC32 of the body, unsigned
decimal>" with SHA256withRSA and sends the signature (base64) with the URL of its certificate
(developer.paypal.com/api/rest/webhooks/rest/, "Verify the signature": the same steps its SDKs
take). Re-serialising the event, as a call to verify-webhook-signature with `json=` does, changes
the bytes (a payer's accented name becomes \\u escapes) and the check fails.

The certificate is fetched only over https from a PayPal host (or from the configured API base,
which tests point at a local PayPal), must be valid now and issued for PayPal, and is cached by
URL; a forged post names another URL, or carries a signature that does not verify: 400 either
way, with at most one short fetch per new certificate URL."""
import base64
import datetime
import logging
import threading
import zlib
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

HEADERS = ("PAYPAL-TRANSMISSION-ID", "PAYPAL-TRANSMISSION-TIME", "PAYPAL-TRANSMISSION-SIG", "PAYPAL-CERT-URL",
           "PAYPAL-AUTH-ALGO")
PAYPAL_HOSTS = ("api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com", "api-m.sandbox.paypal.com")
FETCH_TIMEOUT = 3           # seconds, for the one fetch of a certificate
CACHE_SIZE = 16

_certs = {}                 # cert URL -> public key, for certificates that checked out
_lock = threading.Lock()


def verified(body, headers, webhook_id, api_base, timeout=FETCH_TIMEOUT):
    """True when PayPal signed exactly these bytes for this webhook id."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    values = [headers.get(name, "") for name in HEADERS]
    if not all(values) or not webhook_id:
        return False
    transmission_id, transmission_time, signature, cert_url, algo = values
    if algo != "SHA256withRSA" or not _trusted_url(cert_url, api_base):
        return False
    try:
        signature = base64.b64decode(signature, validate=True)
    except ValueError:
        return False
    key = _key(cert_url, timeout)
    if key is None:
        return False
    message = f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _trusted_url(url, api_base):
    parts, base = urlsplit(url), urlsplit(api_base or "")
    if parts.scheme == "https" and parts.hostname in PAYPAL_HOSTS:
        return True
    # The configured API base (a local PayPal in tests): same scheme, host and port.
    return bool(base.hostname) and (parts.scheme, parts.hostname, parts.port) == (base.scheme, base.hostname,
                                                                                   base.port)


def _key(url, timeout):
    with _lock:
        if url in _certs:
            return _certs[url]
    import requests
    from cryptography import x509
    try:
        answer = requests.get(url, timeout=timeout, allow_redirects=False)
        answer.raise_for_status()
        cert = x509.load_pem_x509_certificate(answer.content)
    except (requests.RequestException, ValueError) as exc:
        log.info("PayPal certificate %s not usable: %s", url[:200], type(exc).__name__)
        return None
    now = datetime.datetime.now(datetime.timezone.utc)
    names = [a.value for a in cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc \
            or not any(str(n).endswith(".paypal.com") for n in names):
        log.info("PayPal certificate %s refused: expired or not issued to PayPal", url[:200])
        return None
    with _lock:
        if len(_certs) >= CACHE_SIZE:
            _certs.clear()
        _certs[url] = cert.public_key()
    return _certs[url]
