"""Comments on documents (seed item 5): the thread, posting, and telling the other side.

A comment is text only, kept as typed and always shown escaped. A person's comment mails the
business's notification address; a staff answer mails the contact's people, each in their own
language. The mail names the document by its number and links to it; nothing else of it."""

from . import webhooks
from .db import db
from .mail import recipient_language, send_template
from .models import Activity, Comment, Person, Settings

MAX_LENGTH = 5000


def thread(doc):
    """The document's comments, oldest first."""
    return list(Comment.select().where(Comment.document == doc).order_by(Comment.created_at, Comment.id))


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


def post_by_business(doc, body, staff=None, author_name=None):
    """Save the business's comment (a staff user's, or an API token's under its name) and
    queue a mail to each of the contact's people in their language. A draft is not theirs to
    see yet: its comments are the business's own notes, and nobody is mailed a link to it."""
    with db.atomic():
        comment = Comment.create(document=doc, staff=staff, author_name=author_name or staff.name, body=body)
        Activity.record("comment", staff=staff, contact=doc.contact_id, document=doc,
                        detail="" if staff else "API")
        if doc.status != "draft" and doc.contact.portal_enabled:
            settings = Settings.get_solo()
            for person in Person.active_of(doc.contact_id):
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
