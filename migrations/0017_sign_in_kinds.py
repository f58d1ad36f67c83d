"""Two guards for issue 21's people, in the database rather than only in code:
- A session opened by a passkey says so (portal_session.via gains 'passkey'): the account's
  signed-in devices and the activity log tell a passkey sign-in from a password one.
- A person's role is one of the four (owner, billing, buyer, viewer); app/people.py already
  reads an unknown value as the least, this keeps one from being written.

The via CHECK changes: PostgreSQL swaps the constraint; SQLite rebuilds the table with foreign
keys off (outside a transaction: `atomic = False`), as 0005 does."""
from peewee import *

atomic = False

OLD_VIA = "via IN ('password', 'link')"
NEW_VIA = "via IN ('password', 'link', 'passkey')"
ROLE = "role IN ('owner', 'billing', 'buyer', 'viewer')"


def up(migrator, db):
    sqlite = isinstance(db, SqliteDatabase)
    if sqlite:
        def rewrite(_name, definition):
            if OLD_VIA not in definition:
                raise RuntimeError(f"portal_session.via: expected {OLD_VIA!r} in {definition!r}")
            return definition.replace(OLD_VIA, NEW_VIA)
        migrator.migrate(migrator._update_column("portal_session", "via", rewrite))
        migrator.migrate(migrator._update_column("person", "role",
                                                 lambda _name, definition: f"{definition} CHECK ({ROLE})"))
        return
    with db.atomic():
        names = db.execute_sql(
            "SELECT c.conname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
            "WHERE t.relname = 'portal_session' AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE %s",
            ("%via%",)).fetchall()
        for (name,) in names:
            db.execute_sql(f'ALTER TABLE "portal_session" DROP CONSTRAINT "{name}"')
        db.execute_sql(f'ALTER TABLE "portal_session" ADD CONSTRAINT "portal_session_via_check" CHECK ({NEW_VIA})')
        db.execute_sql(f'ALTER TABLE "person" ADD CONSTRAINT "person_role_check" CHECK ({ROLE})')
