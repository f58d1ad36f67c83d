"""Payment reminders (issue 19): the business's schedule and switch, a per-contact opt-out, and
the reminders sent. A `reminder` row is unique per (invoice, step), and a scheduled
`reminder_mail` per (contact, day): the database itself keeps two workers from sending a step
twice. Reminders start switched off: an upgrade must not start mailing customers on its own."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("settings", "reminders_enabled", BooleanField(default=False)),
        migrator.add_column("settings", "reminder_steps", CharField(max_length=60, default="-3,0,7,21")),
        migrator.add_column("settings", "reminders_run_on", DateField(null=True)),
        migrator.add_column("contact", "no_reminders", BooleanField(default=False)),
    )

    class Contact(Model):
        class Meta:
            database = db
            table_name = "contact"

    class StaffUser(Model):
        class Meta:
            database = db
            table_name = "staff_user"

    class Document(Model):
        class Meta:
            database = db
            table_name = "document"

    class ReminderMail(Model):
        contact = ForeignKeyField(Contact, on_delete="CASCADE")
        day = DateField()
        auto_day = DateField(null=True)
        staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
        recipients = TextField(default="")
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "reminder_mail"
            indexes = ((("contact", "auto_day"), True), (("contact", "created_at"), False))

    class Reminder(Model):
        document = ForeignKeyField(Document, on_delete="CASCADE")
        mail = ForeignKeyField(ReminderMail, on_delete="CASCADE")
        cause = CharField(max_length=8, constraints=[SQL("CHECK (cause IN ('step', 'listed', 'manual'))")])
        step = IntegerField(null=True)
        days_overdue = IntegerField()
        amount_due = BigIntegerField()
        currency = CharField(max_length=3)

        class Meta:
            database = db
            table_name = "reminder"
            indexes = ((("document", "step"), True),)

    db.create_tables([ReminderMail, Reminder])
