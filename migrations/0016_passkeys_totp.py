"""Passkeys and a second factor for the portal's people (issue 21).
- `passkey`: a person's WebAuthn credentials (id, COSE public key, the last sign-in counter,
  a name and the last use); a staff column is there for staff passkeys, one of the two is set.
- A person's TOTP (sealed secret, on/off, the last accepted step so a code is never replayed)
  and ten single-use recovery codes, stored hashed, as staff have since 0009.
- The business's "require a second factor": '' (no), 'all' people, or 'billing' people only."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("person", "totp_secret", TextField(null=True)),
        migrator.add_column("person", "totp_enabled", BooleanField(default=False)),
        migrator.add_column("person", "totp_last_step", BigIntegerField(default=0)),
        migrator.add_column("settings", "require_second_factor", CharField(
            max_length=10, default="", constraints=[SQL("CHECK (require_second_factor IN ('', 'all', 'billing'))")])),
    )

    class Person(Model):
        class Meta:
            database = db
            table_name = "person"

    class StaffUser(Model):
        class Meta:
            database = db
            table_name = "staff_user"

    class Passkey(Model):
        person = ForeignKeyField(Person, null=True, on_delete="CASCADE")
        staff = ForeignKeyField(StaffUser, null=True, on_delete="CASCADE")
        credential_id = CharField(max_length=400, unique=True)
        public_key = BlobField()
        sign_count = BigIntegerField(default=0)
        name = CharField(max_length=100)
        transports = CharField(max_length=100, default="")
        created_at = DateTimeField()
        last_used_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "passkey"

    class PersonRecoveryCode(Model):
        person = ForeignKeyField(Person, on_delete="CASCADE")
        code_hash = CharField(max_length=64)
        used_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "person_recovery_code"

    db.create_tables([Passkey, PersonRecoveryCode])
