"""Webhook signing secrets are stored encrypted (app/sealed.py): the column becomes TEXT, as a
sealed value is longer than the 80 characters it had. `flask migrate` then seals the secrets
and gateway keys still in clear (app.sealed.seal_stored), which needs the app's key and so
runs after the migrations, not in one."""
from peewee import *


def up(migrator, db):
    if not isinstance(db, SqliteDatabase):   # SQLite does not enforce VARCHAR lengths
        db.execute_sql('ALTER TABLE webhook_endpoint ALTER COLUMN secret TYPE TEXT')
