"""The customer's people (issue 21, part "people"):
- Each person's role: owner (everything, manages the team), billing, buyer, viewer. Everybody
  who exists today becomes an owner, so nothing changes for current users.
- The business's switch letting a contact's owners manage their own team (off by default).
- Each signed-in browser's user agent and IP (the account page's "signed-in devices").
- Team invitations (single-use, expiring; only the token's hash is stored) and the browsers a
  person has signed in from (a mail on sign-in from a new one)."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("person", "role", CharField(max_length=8, default="owner")),
        migrator.add_column("settings", "team_self_service", BooleanField(default=False)),
        migrator.add_column("portal_session", "user_agent", CharField(max_length=300, default="")),
        migrator.add_column("portal_session", "ip", CharField(max_length=45, default="")),
    )

    class Contact(Model):
        class Meta:
            database = db
            table_name = "contact"

    class Person(Model):
        class Meta:
            database = db
            table_name = "person"

    class StaffUser(Model):
        class Meta:
            database = db
            table_name = "staff_user"

    class TeamInvite(Model):
        contact = ForeignKeyField(Contact, on_delete="CASCADE")
        email = CharField(max_length=254)
        name = CharField(max_length=200, default="")
        role = CharField(max_length=8, default="viewer")
        token_hash = CharField(max_length=64, unique=True)
        invited_by = ForeignKeyField(Person, null=True, on_delete="SET NULL")
        invited_by_staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
        created_at = DateTimeField()
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "team_invite"
            indexes = ((("contact", "created_at"), False),)

    class KnownBrowser(Model):
        person = ForeignKeyField(Person, on_delete="CASCADE")
        token_hash = CharField(max_length=64)
        user_agent = CharField(max_length=300, default="")
        first_seen_at = DateTimeField()

        class Meta:
            database = db
            table_name = "known_browser"
            indexes = ((("person", "token_hash"), True),)

    db.create_tables([TeamInvite, KnownBrowser])
