"""The accountant's read-only door and the yearly pack (issue 19, item 4): links a person gives
their accountant, every use of them, the packs the job queue builds, and the business's switch
for the feature. Needs only 0011: nothing here touches what 0012 adds."""
from peewee import *


def up(migrator, db):
    migrator.migrate(migrator.add_column("settings", "accountant_links_enabled", BooleanField(default=True)))

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

    class AccountantLink(Model):
        contact = ForeignKeyField(Contact, on_delete="CASCADE")
        person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
        email = CharField(max_length=254)
        label = CharField(max_length=80, default="")
        token_hash = CharField(max_length=64, unique=True)
        created_at = DateTimeField()
        expires_at = DateTimeField()
        revoked_at = DateTimeField(null=True)
        revoked_by_staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")

        class Meta:
            database = db
            table_name = "accountant_link"
            indexes = ((("contact", "created_at"), False),)

    class AccountantUse(Model):
        link = ForeignKeyField(AccountantLink, on_delete="CASCADE")
        at = DateTimeField()
        ip = CharField(max_length=45, default="")
        method = CharField(max_length=8, default="GET")
        path = CharField(max_length=300, default="")
        status = IntegerField(default=200)

        class Meta:
            database = db
            table_name = "accountant_use"
            indexes = ((("link", "at"), False),)

    class YearlyPack(Model):
        contact = ForeignKeyField(Contact, on_delete="CASCADE")
        year = IntegerField()
        email = CharField(max_length=254)
        language = CharField(max_length=5, default="")
        person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
        link = ForeignKeyField(AccountantLink, null=True, on_delete="SET NULL")
        status = CharField(max_length=8, default="queued",
                           constraints=[SQL("CHECK (status IN ('queued', 'ready', 'failed'))")])
        created_at = DateTimeField()
        ready_at = DateTimeField(null=True)
        expires_at = DateTimeField()
        files = IntegerField(default=0)
        size = IntegerField(default=0)
        data = BlobField(null=True)

        class Meta:
            database = db
            table_name = "yearly_pack"
            indexes = ((("contact", "created_at"), False),)

    db.create_tables([AccountantLink, AccountantUse, YearlyPack])
