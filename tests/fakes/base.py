"""What the PayPal and Square fakes share: a threaded HTTP server on 127.0.0.1, routing, JSON
answers, a log of the requests received, a registry of created objects and a webhook outbox.

A fake never talks to anything but the loopback interface: it listens on 127.0.0.1 and refuses
to deliver a webhook anywhere else. Everything it keeps is bounded, so a runaway test cannot eat
the machine's memory.
"""
import html
import ipaddress
import json
import re
import secrets
import string
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.concurrency import race

MAX_BODY = 1024 * 1024        # bytes a fake accepts in one request
MAX_REQUESTS = 1000           # requests kept in fake.requests
MAX_OBJECTS = 10000           # objects of one kind kept in the registry
MAX_OUTBOX = 1000             # webhook messages kept in fake.outbox


def utc_now():
    """Now as the providers write it: RFC 3339 in UTC, whole seconds, with a Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value):
    """An RFC 3339 timestamp as an aware datetime, or None when it does not parse."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def random_id(length, alphabet=string.ascii_uppercase + string.digits):
    return "".join(secrets.choice(alphabet) for _ in range(length))


def dumps(data):
    """JSON as the fakes send it: compact, key order kept, so a signature covers known bytes."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def add_query(url, **params):
    """`url` with `params` appended to its query string (keeping what is already there)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def is_loopback_url(url):
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Request:
    """One request as the fake received it."""
    method: str
    path: str
    query: dict            # first value of each query parameter
    headers: dict          # names lower-cased
    body: bytes

    def json(self):
        """The body parsed as JSON; ValueError when it is not a JSON object."""
        data = json.loads(self.body or b"null")
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return data

    def form(self):
        return dict(urllib.parse.parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)


def json_response(status, data, headers=None):
    return Response(status, dumps(data), {"Content-Type": "application/json", **(headers or {})})


def html_response(status, title, body_html):
    page = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title></head><body>{body_html}</body></html>")
    return Response(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})


def redirect(location):
    return Response(303, b"", {"Location": location})


@dataclass
class WebhookMessage:
    """A signed webhook: the exact bytes and headers the provider sends, and what came back."""
    event: dict
    body: bytes
    headers: dict
    results: list = field(default_factory=list)   # (status, body) per delivery; status 0: no answer

    @property
    def text(self):
        return self.body.decode()


class FakeServer:
    """A provider on 127.0.0.1. Subclasses set `routes` [(METHOD, regex, method name)] and the
    hooks `authorize`, `not_found`, `sign_message`, `clear`."""

    routes = []

    def __init__(self):
        self.lock = threading.RLock()
        self.requests = deque(maxlen=MAX_REQUESTS)
        self.outbox = deque(maxlen=MAX_OUTBOX)
        self.objects = {}
        self.webhook_url = None     # where events are POSTed; None: only kept in the outbox
        self.webhook_sync = False   # True: POST before answering the call that caused the event
        self._delivery_threads = []
        self._server = None
        self._thread = None
        self._compiled = [(m, re.compile(p + r"\Z"), name) for m, p, name in self.routes]

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self):
        fake = self

        class Handler(_Handler):
            pass
        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.flush()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = self._thread = None

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def url(self, path):
        return self.base_url + path

    def reset(self):
        """Forget every object, request and webhook (settings such as keys and URLs stay)."""
        self.flush()
        with self.lock:
            self.requests.clear()
            self.outbox.clear()
            self.objects.clear()
            self.clear()

    def clear(self):
        """Subclass hook: forget provider-specific state."""

    # -- registry ----------------------------------------------------------------------------
    def registry(self, kind):
        """The dict of `kind` objects by id (insertion-ordered)."""
        with self.lock:
            return self.objects.setdefault(kind, {})

    def store(self, kind, obj, key=None):
        with self.lock:
            objects = self.registry(kind)
            if len(objects) >= MAX_OBJECTS:
                objects.pop(next(iter(objects)))
            objects[key or obj["id"]] = obj
            return obj

    # -- webhooks ----------------------------------------------------------------------------
    def sign_message(self, event, body):
        """Subclass hook: the signature headers for `body`."""
        raise NotImplementedError

    def message(self, event, body=None, headers=None):
        """A signed WebhookMessage for `event` (not sent). `body` replaces the serialized event
        and `headers` are merged over the signature: both for tampering in tests."""
        body = dumps(event) if body is None else body
        signed = {"Content-Type": "application/json", **self.sign_message(event, body)}
        return WebhookMessage(event, body, {**signed, **(headers or {})})

    def emit(self, event):
        """Record a provider event and send it as the provider would (see webhook_sync)."""
        msg = self.message(event)
        with self.lock:
            self.outbox.append(msg)
            url = self.webhook_url
        if url is None:
            return msg
        if self.webhook_sync:
            self.deliver(msg)
        else:
            thread = threading.Thread(target=self.deliver, args=(msg,), daemon=True)
            with self.lock:
                self._delivery_threads = [t for t in self._delivery_threads if t.is_alive()] + [thread]
            thread.start()
        return msg

    def deliver(self, msg, times=1, concurrent=False, url=None):
        """POST a WebhookMessage (or an event dict, signed now) to `url` or fake.webhook_url,
        `times` times, all at once when `concurrent`. Returns [(status, body bytes)]."""
        if isinstance(msg, dict):
            msg = self.message(msg)
        url = url or self.webhook_url
        if not url or not is_loopback_url(url):
            raise ValueError(f"webhooks go to a loopback URL only, not {url!r}")
        if not concurrent:
            return [self._post(url, msg) for _ in range(times)]
        return race(*[lambda: self._post(url, msg)] * times, timeout=30)

    def _post(self, url, msg):
        request = urllib.request.Request(url, data=msg.body, headers=msg.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                result = (resp.status, resp.read())
        except urllib.error.HTTPError as err:
            result = (err.code, err.read())
        except OSError as err:
            result = (0, str(err).encode())
        with self.lock:
            msg.results.append(result)
        return result

    def flush(self, timeout=10):
        """Wait for webhooks being sent in the background."""
        deadline = time.monotonic() + timeout
        with self.lock:
            threads = list(self._delivery_threads)
        for thread in threads:
            thread.join(max(0, deadline - time.monotonic()))

    # -- helpers for tests -------------------------------------------------------------------
    def post_form(self, path, fields):
        """POST a form to the fake itself without following the redirect: (status, Location)."""
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(self.url(path), data=data, method="POST")
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=10) as resp:
                return resp.status, resp.headers.get("Location")
        except urllib.error.HTTPError as err:
            return err.code, err.headers.get("Location")

    # -- dispatch ----------------------------------------------------------------------------
    def authorize(self, request):
        """Subclass hook: a Response refusing the request, or None to go on."""
        return None

    def not_found(self, request):
        return json_response(404, {"message": "no such route in the fake"})

    def handle(self, request):
        with self.lock:
            self.requests.append(request)
        for method, pattern, name in self._compiled:
            match = pattern.match(request.path)
            if match and method == request.method:
                handler = getattr(self, name)
                refusal = None if getattr(handler, "public", False) else self.authorize(request)
                return refusal or handler(request, *match.groups())
        return self.not_found(request)


def public(handler):
    """Mark a route that needs no API credentials (the buyer's pages, certificates)."""
    handler.public = True
    return handler


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class _Handler(BaseHTTPRequestHandler):
    fake = None
    server_version = "fake-provider"

    def log_message(self, format, *args):   # quiet: pytest shows failures, not access logs
        pass

    def _serve(self):
        parts = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(Response(413, b"request too large"))
            return
        body = self.rfile.read(length) if length else b""
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(self.command, parts.path, query, headers, body)
        try:
            response = self.fake.handle(request)
        except Exception as err:   # a bug in the fake: say so to the client instead of hanging
            response = json_response(500, {"message": f"fake error: {err!r}"})
        self._send(response)

    def _send(self, response):
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
