"""Operator commands: `flask --app wsgi migrate | create-staff | demo | backup | ...`."""
import os

import click
from flask import current_app
from playhouse.migrations import Runner

from .db import db
from .passwords import hash_password

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


def migrate_database():
    """Apply pending migrations; returns their names."""
    with db.connection_context():
        return Runner(db.obj, MIGRATIONS).up()


def init_app(app):
    @app.cli.command("migrate")
    def migrate_command():
        """Apply pending database migrations."""
        applied = migrate_database()
        click.echo("applied: " + ", ".join(applied) if applied else "database is up to date.")

    @app.cli.command("create-staff")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.password_option()
    def create_staff(email, name, password):
        """Create a staff user (or reset the password of an existing one)."""
        from .models import StaffUser
        if len(password) < 10:
            raise click.BadParameter("use at least 10 characters", param_hint="password")
        email = email.strip().lower()
        with db.connection_context(), db.atomic():
            user = StaffUser.get_or_none(StaffUser.email == email)
            if user:
                StaffUser.update(password_hash=hash_password(password), name=name,
                                 session_version=StaffUser.session_version + 1
                                 ).where(StaffUser.id == user.id).execute()
                click.echo(f"updated staff user {email}")
            else:
                StaffUser.create(email=email, name=name, password_hash=hash_password(password))
                click.echo(f"created staff user {email}")

    from . import demo, jobs
    jobs.register_cli(app)
    demo.register_cli(app)
