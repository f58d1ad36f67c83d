"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) that records what it receives.

Use it in a test module with `from tests.smtp import smtp_server  # noqa: F401`, then point
the app at it:

    def test_sends(app, smtp_server):
        app.config["SMTP_PORT"] = smtp_server.port
        ...
        jobs.run_due()
        [got] = smtp_server.messages
        assert got.message["Subject"] == "Hello" and "body" in got.text

`smtp_server.stop()` / `.start()` take it down and up again on the same port (connections are
then refused, as with a mail server that is down). `refuse("x@example.com")` makes it reject a
recipient with 550. `SMTPServer(users={"u": "p"})` offers AUTH (without TLS) and checks the login.
"""
import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list
    message: email.message.EmailMessage

    @property
    def text(self):
        """The text/plain body (the whole body for a single-part message)."""
        return self._part("plain")

    @property
    def html(self):
        return self._part("html")

    def _part(self, subtype):
        part = self.message.get_body((subtype,))
        # What travels is CRLF; compare with what the app wrote.
        return part.get_content().replace("\r\n", "\n") if part else ""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SMTPServer:
    def __init__(self, port=None, users=None, echo_credentials=False):
        self.port = port or free_port()
        self.users = users            # {login: password}; None: no AUTH offered or needed
        self.echo_credentials = echo_credentials   # a careless server: repeats what it got
        self.messages = []
        self.refused = set()
        self._controller = None
        self._lock = threading.Lock()

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self._lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode()
        password = auth_data.password.decode()
        if self.users.get(login) == password:
            return AuthResult(success=True)
        message = "535 5.7.8 Authentication credentials invalid"
        if self.echo_credentials:
            message += f" (user {login}, password {password})"
        return AuthResult(success=False, handled=False, message=message)

    def refuse(self, address):
        self.refused.add(address.lower())

    def start(self):
        kwargs = {}
        if self.users is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count, timeout=10.0):
        """Wait until `count` messages have arrived; returns them (fewer on timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)


@pytest.fixture
def smtp_server():
    server = SMTPServer().start()
    yield server
    server.stop()
