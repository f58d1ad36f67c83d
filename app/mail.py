"""Outgoing mail, rendered in the recipient's language and sent by a job.

`send_mail(to, subject, text, html=None, reply_to=None)` queues a 'mail' job, so a message
takes part in the caller's transaction (a rolled-back change sends nothing) and outlives an
SMTP outage. `render_mail("test", "es", **ctx)` renders mail/test.subject.txt, mail/test.txt
and, if it exists, mail/test.html under flask_babel's force_locale. Links in mails are
absolute and built from BASE_URL, never from a request's Host header: templates call
`external_link("endpoint", **values)`.

`send_template(to, "order_person", "es", order=order, token=token)` queues the same job
without rendering anything: rendering takes milliseconds, and the caller's write transaction
(SQLite's one write lock) should not wait for it. The payload names the template and the
language and keeps the context packed: a row (a model instance, or a list of them) as a
reference that the job reads again just before it renders and sends; every other value (a
string, a number, a date, a token, a link) as it was when queued. So pass as rows only what
does not change once the mail is queued (an order's lines are frozen once placed; a comment,
a decision are never edited), and pass a value itself when the mail must say what it was then.
A row deleted before the job runs fails the job at once (PermanentError), with the reason on
/staff/jobs, instead of retrying. Jobs queued before this change (subject/text/html already
rendered) are delivered as they are.

MAIL_BACKEND=smtp sends through SMTP_HOST/PORT (STARTTLS when SMTP_STARTTLS, login only when
SMTP_USER is set). MAIL_BACKEND=console (development) prints the message and keeps an .eml
copy in MAIL_DIR, so the links in it can be opened.
"""
import datetime
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
from peewee import Model

from . import jobs, models
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


def send_template(to, template_base, language, reply_to=None, attachments=(), **context):
    """Queue a mail that its job renders in `language` just before sending; returns the Job.
    Rows in `context` travel as references, every other value as it is now (module docstring).
    `attachments`: [(kind, {args})], each made when the mail is sent by the maker registered for
    its kind (attachment_maker), so the job row keeps how to make the file, never its bytes."""
    # A misspelt template fails here, in the caller's tests, not in the worker hours later.
    current_app.jinja_env.get_template(f"mail/{template_base}.txt")
    content = {"template": template_base, "language": language,
               "context": {name: _pack(value, name) for name, value in context.items()}}
    if attachments:
        for kind, _args in attachments:
            if kind not in _MAKERS:
                raise ValueError(f"no attachment maker for {kind!r}")
        content["attachments"] = [{"kind": kind, "args": _pack(args, "attachments")} for kind, args in attachments]
    return _enqueue(to, reply_to, content)


# What makes each kind of attachment: maker(**args) -> (file name, content type, bytes).
_MAKERS = {}


def attachment_maker(kind, maker):
    """Register how an attachment of `kind` is made when its mail is sent (app/__init__.py)."""
    _MAKERS[kind] = maker


def _attach(msg, spec):
    maker = _MAKERS.get(spec.get("kind"))
    if maker is None:
        raise jobs.PermanentError(f"this mail asks for an unknown kind of attachment: {spec.get('kind')}")
    name, content_type, data = maker(**_restore(spec.get("args") or {}, {}))
    maintype, _, subtype = content_type.partition("/")
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)


def send_mail(to, subject, text, html=None, reply_to=None):
    """Queue a message in the caller's transaction; returns the Job."""
    return _enqueue(to, reply_to, {
        "subject": " ".join(str(subject).split()),   # a header: one line, no injected headers
        "text": text,
        "html": html,
    })


def _enqueue(to, reply_to, content):
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise ValueError("a mail needs at least one recipient")
    payload = {"to": [_address(a) for a in recipients], **content,
               "reply_to": _address(reply_to) if reply_to else None}
    return jobs.enqueue("mail", payload)


def compose(data):
    """A queued mail's subject, text and html: rendered now from its template and context, or,
    for a job queued before mails were rendered by their job, as it was stored."""
    if "template" not in data:
        return {"subject": data["subject"], "text": data["text"], "html": data.get("html")}
    return render_mail(data["template"], data["language"], **_unpack_context(data["context"]))


SENT_BODY = "[sent; the body is not kept]"


def redact(payload):
    """What a sent mail's job row keeps: who, what subject or template, and which rows it was
    about; not the body nor the context's values, which may hold a single-use access or reset
    link (or its token) that every backup would otherwise carry."""
    if "template" in payload:
        return {**payload, "context": {k: v for k, v in payload["context"].items() if _is_row_ref(v)}}
    return {**payload, "text": SENT_BODY, "html": None}


# --- the context a queued mail keeps --------------------------------------------------------
# A row is {"$row": [model name, id]}; dates are tagged so that they come back as dates (the
# templates format them). Anything else JSON cannot hold faithfully is refused when queued.

class RowGone(jobs.PermanentError):
    """A row the mail is about was deleted before the mail was sent: nothing sensible to say."""


def _pack(value, name):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Model):
        if value._pk is None or _model(type(value).__name__) is not type(value):
            raise TypeError(f"mail context {name!r}: an unsaved or unknown {type(value).__name__}")
        return {"$row": [type(value).__name__, value._pk]}
    if isinstance(value, datetime.datetime):   # before date: a datetime is also a date
        return {"$datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [_pack(v, name) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) and not k.startswith("$") for k in value):
        return {k: _pack(v, name) for k, v in value.items()}
    # The type only, never the value: it may be a secret, and this message may reach a log.
    raise TypeError(f"mail context {name!r}: a {type(value).__name__} cannot be queued")


def _is_row_ref(value):
    if isinstance(value, list):
        return bool(value) and all(_is_row_ref(v) for v in value)
    return isinstance(value, dict) and list(value) == ["$row"]


def _model(name):
    found = getattr(models, name, None)
    return found if isinstance(found, type) and issubclass(found, models.BaseModel) else None


def _unpack_context(context):
    """The context with every row read again: one query per model, whatever the rows' number."""
    wanted = {}
    _collect(context, wanted)
    rows = {}
    for name, ids in wanted.items():
        model = _model(name)
        if model is None:
            raise jobs.PermanentError(f"this mail refers to an unknown kind of row: {name}")
        if model is models.Settings:   # the business's one row, without its logo's bytes
            found = {row.id: row for row in [models.Settings.get_solo()]}
        else:
            found = {row._pk: row for row in model.select().where(model._meta.primary_key.in_(list(ids)))}
        missing = sorted(set(ids) - set(found))
        if missing:
            raise RowGone(f"{name} {', '.join(map(str, missing))} no longer exists: the mail is not sent")
        rows[name] = found
    return {key: _restore(value, rows) for key, value in context.items()}


def _collect(value, wanted):
    if isinstance(value, list):
        for item in value:
            _collect(item, wanted)
    elif isinstance(value, dict):
        if list(value) == ["$row"]:
            name, pk = value["$row"]
            wanted.setdefault(name, set()).add(pk)
        else:
            for item in value.values():
                _collect(item, wanted)


def _restore(value, rows):
    if isinstance(value, list):
        return [_restore(v, rows) for v in value]
    if not isinstance(value, dict):
        return value
    if list(value) == ["$row"]:
        name, pk = value["$row"]
        return rows[name][pk]
    if list(value) == ["$datetime"]:
        return datetime.datetime.fromisoformat(value["$datetime"])
    if list(value) == ["$date"]:
        return datetime.date.fromisoformat(value["$date"])
    return {k: _restore(v, rows) for k, v in value.items()}


def _address(value):
    value = str(value).strip()
    _, addr = email.utils.parseaddr(value)
    if ("\n" in value or "\r" in value or len(value) > 320 or "@" not in addr
            or any(c.isspace() for c in addr)):
        raise ValueError(f"not an email address: {value!r}")
    return value


def build_message(job):
    """The EmailMessage for a mail job, composed now. Its Message-ID is derived from the job,
    so a retry after an uncertain delivery carries the same id and receivers can tell it is a
    duplicate."""
    data, config = job.data, current_app.config
    content = compose(data)
    domain = email.utils.parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    msg = EmailMessage()
    msg["From"] = config["MAIL_FROM"]
    msg["To"] = ", ".join(data["to"])
    msg["Subject"] = content["subject"]
    if data.get("reply_to"):
        msg["Reply-To"] = data["reply_to"]
    msg["Date"] = email.utils.formatdate(usegmt=True)
    msg["Message-ID"] = f"<job-{job.id}.{job.created_at:%Y%m%d%H%M%S%f}@{domain}>"
    msg.set_content(content["text"])
    if content.get("html"):
        msg.add_alternative(content["html"], subtype="html")
    for spec in data.get("attachments") or ():
        _attach(msg, spec)
    return msg


# --- delivering ---------------------------------------------------------------------------

def deliver(job):
    """Render a queued mail (outside any transaction: this runs in the job) and send it
    through the configured backend."""
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
