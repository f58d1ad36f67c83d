"""The back-office door (issue 16): staff roles (everyone already there stays an owner, as they
were all full administrators), server-side staff sessions, invitation and reset links, TOTP
two-factor with recovery codes, and the owner's "two-factor for everyone" setting."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("staff_user", "role", CharField(
            max_length=12, default="owner", constraints=[SQL("CHECK (role IN ('owner', 'accountant', 'sales'))")])),
        migrator.add_column("staff_user", "language", CharField(max_length=5, default="")),
        migrator.add_column("staff_user", "totp_secret", TextField(null=True)),
        migrator.add_column("staff_user", "totp_enabled", BooleanField(default=False)),
        migrator.add_column("staff_user", "totp_last_step", BigIntegerField(default=0)),
        migrator.add_column("settings", "staff_require_totp", BooleanField(default=False)),
    )

    class StaffUser(Model):
        class Meta:
            database = db
            table_name = "staff_user"

    class StaffSession(Model):
        staff = ForeignKeyField(StaffUser, on_delete="CASCADE")
        sid_hash = CharField(max_length=64, unique=True)
        created_at = DateTimeField()
        last_seen_at = DateTimeField()

        class Meta:
            database = db
            table_name = "staff_session"

    class StaffLink(Model):
        staff = ForeignKeyField(StaffUser, on_delete="CASCADE")
        purpose = CharField(max_length=10, constraints=[SQL("CHECK (purpose IN ('invite', 'reset'))")])
        token_hash = CharField(max_length=64, unique=True)
        created_at = DateTimeField()
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)
        created_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL", backref="+")

        class Meta:
            database = db
            table_name = "staff_link"

    class StaffRecoveryCode(Model):
        staff = ForeignKeyField(StaffUser, on_delete="CASCADE")
        code_hash = CharField(max_length=64)
        used_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "staff_recovery_code"

    db.create_tables([StaffSession, StaffLink, StaffRecoveryCode])
