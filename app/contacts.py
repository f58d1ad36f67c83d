"""Contacts: creating and changing them, with the rule that one tax id names one contact.

A second contact with a tax id already in use is refused with the existing contact's name,
unless the caller confirms it is meant (a branch billed apart, a data import): duplicates are
how a customer ends up with two balances that never meet."""
import re

from flask_babel import lazy_gettext as _l
from peewee import fn

from . import tokens
from .models import Contact, Person
from .rules import Refused

_SEPARATORS = re.compile(r"[\s.\-/]")


def normalized_tax_id(value):
    """"b-12.345 678" and "B12345678" are the same tax id."""
    return _SEPARATORS.sub("", value or "").upper()


def same_tax_id(tax_id, exclude=None):
    """The first contact whose tax id is this one (separators and case aside), or None."""
    wanted = normalized_tax_id(tax_id)
    if not wanted:
        return None
    column = Contact.tax_id
    for separator in (" ", ".", "-", "/", "\t"):
        column = fn.REPLACE(column, separator, "")
    query = Contact.select().where(fn.UPPER(column) == wanted)
    if exclude is not None:
        query = query.where(Contact.id != exclude.id)
    return query.order_by(Contact.id).first()


def _check_tax_id(values, contact=None, allow_duplicate=False):
    if allow_duplicate or not values.get("tax_id"):
        return
    if contact is not None and normalized_tax_id(contact.tax_id) == normalized_tax_id(values["tax_id"]):
        return   # unchanged: an existing duplicate is not this edit's doing
    existing = same_tax_id(values["tax_id"], exclude=contact)
    if existing is not None:
        raise Refused("duplicate_tax_id",
                      _l("%(name)s already has this tax id.", name=existing.name), field="tax_id")


def create(values, allow_duplicate_tax_id=False):
    """A new contact; Refused('duplicate_tax_id') unless the duplicate is confirmed."""
    _check_tax_id(values, allow_duplicate=allow_duplicate_tax_id)
    return Contact.create(**values)


def update(contact, values, allow_duplicate_tax_id=False):
    """Change a contact's fields; the same tax id rule as create(). Access turned off or the
    contact archived closes its people's access (close_access)."""
    _check_tax_id(values, contact, allow_duplicate=allow_duplicate_tax_id)
    closing = ((values.get("portal_enabled") is False and contact.portal_enabled)
               or (values.get("archived") is True and not contact.archived))
    Contact.update(values).where(Contact.id == contact.id).execute()
    if closing:
        close_access(contact)
    for key, value in values.items():
        setattr(contact, key, value)
    return contact


def set_portal_access(contact, on):
    """Turn the contact's portal access on or off; off closes its people's access."""
    Contact.update(portal_enabled=on).where(Contact.id == contact.id).execute()
    if not on:
        close_access(contact)


def close_access(contact):
    """Off means off: every person of the contact is signed out on every device and their
    unused links are cancelled, so turning access on again later revives none of them."""
    for person in Person.select().where(Person.contact == contact.id):
        tokens.revoke_all(person)
