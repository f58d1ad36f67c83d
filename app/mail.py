"""Outgoing mail, rendered in the recipient's language and sent by a job.

`send_mail(to, subject, text, html=None, reply_to=None)` queues a 'mail' job, so a message
takes part in the caller's transaction (a rolled-back change sends nothing) and outlives an
SMTP outage. `render_mail("test", "es", **ctx)` renders mail/test.subject.txt, mail/test.txt
and, if it exists, mail/test.html under flask_babel's force_locale; `send_template()` does
both. Links in mails are absolute and built from BASE_URL, never from a request's Host
header: templates call `external_link("endpoint", **values)`.

MAIL_BACKEND=smtp sends through SMTP_HOST/PORT (STARTTLS when SMTP_STARTTLS, login only when
SMTP_USER is set). MAIL_BACKEND=console (development) prints the message and keeps an .eml
copy in MAIL_DIR, so the links in it can be opened.
"""
import email.utils
import logging
import os
import smtplib
import ssl
import sys
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from jinja2 import TemplateNotFound

from . import jobs
from .config import LANGUAGES
from .models import utcnow
from .links import external_link

log = logging.getLogger(__name__)


def init_app(app):
    app.jinja_env.globals["external_link"] = external_link


# --- composing ----------------------------------------------------------------------------

def recipient_language(person=None, contact=None):
    """The language to write to someone in: theirs, their contact's, then the business's."""
    from .models import Settings
    contact = contact or getattr(person, "contact", None)
    for code in (getattr(person, "language", ""), getattr(contact, "language", ""),
                 Settings.get_solo().default_language):
        if code in LANGUAGES:
            return code
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def render_mail(template_base, language, **context):
    """Render a mail's subject, text and optional HTML in `language`; returns a dict."""
    if language not in LANGUAGES:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(language):
        subject = " ".join(render_template(f"mail/{template_base}.subject.txt", **context).split())
        text = render_template(f"mail/{template_base}.txt", **context)
        try:
            html = render_template(f"mail/{template_base}.html", **context)
        except TemplateNotFound:
            html = None
    return {"subject": subject, "text": text, "html": html}


def send_template(to, template_base, language, reply_to=None, **context):
    """Render a mail in `language` and queue it; returns the Job."""
    return send_mail(to, reply_to=reply_to, **render_mail(template_base, language, **context))


def send_mail(to, subject, text, html=None, reply_to=None):
    """Queue a message in the caller's transaction; returns the Job."""
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise ValueError("a mail needs at least one recipient")
    payload = {
        "to": [_address(a) for a in recipients],
        "subject": " ".join(str(subject).split()),   # a header: one line, no injected headers
        "text": text,
        "html": html,
        "reply_to": _address(reply_to) if reply_to else None,
    }
    return jobs.enqueue("mail", payload)


SENT_BODY = "[sent; the body is not kept]"


def redact(payload):
    """What a sent mail's job row keeps: who, what subject; not the body, which may hold a
    single-use access or reset link that every backup would otherwise carry."""
    return {**payload, "text": SENT_BODY, "html": None}


def _address(value):
    value = str(value).strip()
    _, addr = email.utils.parseaddr(value)
    if ("\n" in value or "\r" in value or len(value) > 320 or "@" not in addr
            or any(c.isspace() for c in addr)):
        raise ValueError(f"not an email address: {value!r}")
    return value


def build_message(job):
    """The EmailMessage for a mail job. Its Message-ID is derived from the job, so a retry
    after an uncertain delivery carries the same id and receivers can tell it is a duplicate."""
    data, config = job.data, current_app.config
    domain = email.utils.parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    msg = EmailMessage()
    msg["From"] = config["MAIL_FROM"]
    msg["To"] = ", ".join(data["to"])
    msg["Subject"] = data["subject"]
    if data.get("reply_to"):
        msg["Reply-To"] = data["reply_to"]
    msg["Date"] = email.utils.formatdate(usegmt=True)
    msg["Message-ID"] = f"<job-{job.id}.{job.created_at:%Y%m%d%H%M%S%f}@{domain}>"
    msg.set_content(data["text"])
    if data.get("html"):
        msg.add_alternative(data["html"], subtype="html")
    return msg


# --- delivering ---------------------------------------------------------------------------

def deliver(job):
    """Send a queued mail through the configured backend."""
    msg = build_message(job)
    if current_app.config["MAIL_BACKEND"] == "console":
        _to_console(msg, job)
    else:
        _to_smtp(msg)


def _to_smtp(msg):
    config = current_app.config
    helo = urlsplit(config["BASE_URL"]).hostname or "localhost"  # getfqdn() can hang on bad DNS
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], local_hostname=helo,
                          timeout=config["SMTP_TIMEOUT"]) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        raise jobs.PermanentError("every recipient was refused: " + _refusals(exc.recipients)) from exc
    except smtplib.SMTPDataError as exc:
        if exc.smtp_code >= 500:   # the server will refuse this message every time
            raise jobs.PermanentError(f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}") from exc
        raise
    if refused:
        log.warning("mail %s: some recipients were refused: %s", msg["Message-ID"], _refusals(refused))


def _refusals(recipients):
    return "; ".join(f"{addr} ({code} {_text(reply)})" for addr, (code, reply) in recipients.items())


def _text(reply):
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _to_console(msg, job):
    folder = current_app.config["MAIL_DIR"]
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{utcnow():%Y%m%d-%H%M%S}-job{job.id}.eml")
    with open(path, "wb") as fh:
        fh.write(msg.as_bytes())
    body = msg.get_body(("plain",))
    sys.stdout.write(
        f"----- mail (job {job.id}) -----\nFrom: {msg['From']}\nTo: {msg['To']}\n"
        f"Subject: {msg['Subject']}\n\n{body.get_content() if body else ''}\n"
        f"----- saved to {path} -----\n")
    sys.stdout.flush()
