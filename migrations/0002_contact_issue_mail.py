"""Contacts choose whether their people are mailed when a document is issued (on by default)."""
from peewee import *


def up(migrator, db):
    migrator.migrate(migrator.add_column("contact", "issue_mail", BooleanField(default=True)))
