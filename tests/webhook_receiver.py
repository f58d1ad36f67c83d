"""A webhook receiver on the loopback interface, for tests of the webhooks the portal sends.

The `receiver` fixture is a started Receiver, stopped after the test (conftest registers this
module as a plugin); `assert_signed` checks a received request against the endpoint's secret."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app import webhooks


class Receiver:
    """A webhook receiver on 127.0.0.1 that records each POST (headers and body).

    `status` is what it answers; `hold` makes it wait before answering (a slow receiver, or one
    whose sender dies meanwhile); stop()/start() take it down and up on the same port."""

    def __init__(self, port=0):
        self.requests = []
        self.status = 200
        self.hold = None               # a threading.Event to wait on before answering
        self.arrived = threading.Event()
        self.port = port
        self.server = None

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass   # the sender is gone

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks/portal"

    def events(self):
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    if r.hold is not None:
        r.hold.set()
    r.stop()


def assert_signed(request, secret):
    header = request["headers"]["Portal-Signature"]
    assert webhooks.verify(secret, header, request["body"])
    assert not webhooks.verify(secret, header, request["body"] + " ")
    assert not webhooks.verify("whsec_other", header, request["body"])
