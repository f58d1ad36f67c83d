"""When the worker was last alive (models.Heartbeat), for /readyz."""
from peewee import *


def up(migrator, db):
    class Heartbeat(Model):
        name = CharField(max_length=40, primary_key=True)
        seen_at = DateTimeField()

        class Meta:
            database = db
            table_name = "heartbeat"
    db.create_tables([Heartbeat])
