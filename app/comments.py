"""Comments on documents (seed item 5): the thread, posting, and telling the other side.

A comment is text only, kept as typed and always shown escaped. A person's comment mails the
business's notification address; a staff answer mails the contact's people, each in their own
language. The mail names the document by its number and links to it; nothing else of it."""
from flask_babel import gettext as _

from . import webhooks
from .db import db
from .web.forms import Form
from .mail import recipient_language, send_template
from .models import Activity, Comment, Person, Settings

MAX_LENGTH = 5000


def thread(doc):
    """The document's comments, oldest first."""
    return list(Comment.select().where(Comment.document == doc).order_by(Comment.created_at, Comment.id))


def fragment_context(doc, form=None):
    """What the comments fragment needs: for the page and every response that re-renders it."""
    from flask import url_for
    return {"comments": thread(doc), "comment_form": form or Form(),
            "comment_url": url_for("comments.create", doc_id=doc.id)}


def read_body(data):
    """Validate the comment field; returns (form, body or None)."""
    form = Form(data)
    if not form.raw("body").strip():
        form.error("body", _("Write a comment before sending."))
        return form, None
    body = form.text("body", max_length=MAX_LENGTH, multiline=True)
    return form, (body if form.ok else None)


def post_by_person(doc, person, body):
    """Save a person's comment and queue the mail to the business, in one transaction."""
    with db.atomic():
        comment = Comment.create(document=doc, person=person, author_name=person.name, body=body)
        Activity.record("comment", person=person, contact=doc.contact_id, document=doc)
        settings = Settings.get_solo()
        to = settings.notify_email or settings.email
        if to:
            send_template(to, "comment_staff", settings.default_language, doc=doc, comment=comment,
                          business=settings)
        _emit(comment)
    return comment


def post_by_staff(doc, staff, body):
    """Save a staff answer and queue a mail to each of the contact's people in their language."""
    with db.atomic():
        comment = Comment.create(document=doc, staff=staff, author_name=staff.name, body=body)
        Activity.record("comment", staff=staff, contact=doc.contact_id, document=doc)
        settings = Settings.get_solo()
        people = Person.select().where((Person.contact == doc.contact_id) & (Person.active == True))
        if doc.contact.portal_enabled:
            for person in people:
                send_template(person.email, "comment_contact", recipient_language(person), doc=doc,
                              comment=comment, person=person, business=settings)
        _emit(comment)
    return comment


def _emit(comment):
    """Tell the business's other software (outgoing webhooks), in the same transaction."""
    webhooks.emit("comment.created", webhooks.comment_data(comment))


def unanswered():
    """Documents whose latest comment is from the customer's side, newest first."""
    from peewee import fn
    latest = (Comment.select(Comment.document, fn.MAX(Comment.id).alias("last_id"))
              .group_by(Comment.document).alias("latest"))
    return (Comment.select(Comment)
            .join(latest, on=(Comment.id == latest.c.last_id))
            .where(Comment.person.is_null(False))
            .order_by(Comment.created_at.desc()))
