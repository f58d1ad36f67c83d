"""Operator commands: `flask --app wsgi migrate | create-staff | demo | backup | ...`."""
import os

import click
from flask import current_app
from flask.cli import AppGroup
from playhouse.migrations import Runner

from ..db import db
from ..passwords import hash_password

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "migrations")


def migrate_database():
    """Apply pending migrations; returns their names."""
    with db.connection_context():
        return Runner(db.obj, MIGRATIONS).up()


def seal_secrets():
    """Encrypt stored secrets still in clear (or sealed with an older key); needs the app."""
    from .. import sealed
    from ..models import GatewayConfig, WebhookEndpoint
    with db.connection_context(), db.atomic():
        return sealed.seal_stored([GatewayConfig, WebhookEndpoint])


def init_app(app):
    @app.cli.command("migrate")
    def migrate_command():
        """Apply pending database migrations."""
        applied = migrate_database()
        click.echo("applied: " + ", ".join(applied) if applied else "database is up to date.")
        from .first_install import set_up
        done = set_up(current_app.config)
        if done:
            click.echo(done)
        if seal_secrets():
            click.echo("stored gateway keys and webhook secrets are now encrypted.")

    @app.cli.command("reseal")
    def reseal_command():
        """Encrypt stored secrets again with the first key of PORTAL_ENCRYPTION_KEY (after a rotation)."""
        click.echo(f"sealed {seal_secrets()} stored secret(s) with the first key.")

    @app.cli.command("create-staff")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--two-factor-off", is_flag=True,
                  help="Also turn off the user's two-factor sign-in: app and passkeys (a lost phone or key).")
    @click.password_option()
    def create_staff(email, name, two_factor_off, password):
        """Create an owner of the back-office, or reset an existing staff user's password (and
        reactivate them; they keep their role, unless no active owner is left: then they become
        one, the way back in)."""
        from .. import staff_accounts
        from ..models import StaffSession, StaffUser
        if len(password) < 10:
            raise click.BadParameter("use at least 10 characters", param_hint="password")
        email = email.strip().lower()
        with db.connection_context(), db.atomic():
            user = StaffUser.get_or_none(StaffUser.email == email)
            if user:
                changes = {"password_hash": hash_password(password), "name": name, "active": True,
                           "session_version": StaffUser.session_version + 1}
                if not StaffUser.active_owners().where(StaffUser.id != user.id).exists():
                    changes["role"] = "owner"
                StaffUser.update(changes).where(StaffUser.id == user.id).execute()
                if two_factor_off:   # the app, its recovery codes and every passkey: a lost phone or key
                    staff_accounts.clear_second_factors(user, by=None)
                StaffSession.end_all(user)
                click.echo(f"updated staff user {email} ({StaffUser.get_by_id(user.id).role})")
            else:
                StaffUser.create(email=email, name=name, password_hash=hash_password(password), role="owner")
                click.echo(f"created staff user {email} (owner)")

    @app.cli.command("access-link")
    @click.argument("email")
    @click.option("--send", is_flag=True, help="Also mail it to the person.")
    def access_link(email, send):
        """Print a time-limited, single-use portal access link for a contact's person."""
        from .. import tokens
        from ..models import Person, Settings
        from ..links import external_url
        db.connect(reuse_if_open=True)
        person = Person.by_email(email)
        if person is None or not person.can_sign_in():
            raise click.ClickException(f"{email}: no person with portal access has this email")
        with app.test_request_context():
            if send:
                from ..tokens import send_link
                token, link = send_link(person, "access")
            else:
                token, link = tokens.issue(person, "access", hours=Settings.get_solo().access_link_hours)
            from flask import url_for
            click.echo(external_url(url_for("auth.access", token=token)))
        click.echo(f"expires {link.expires_at:%Y-%m-%d %H:%M} UTC; it works once", err=True)

    api_tokens = AppGroup("api-token", help="Tokens for the REST API (/api/v1).")

    @api_tokens.command("create")
    @click.argument("name")
    @click.option("--read-only", is_flag=True, help="The token can only read.")
    def api_token_create(name, read_only):
        """Create an API token and print it (this once: only its hash is kept)."""
        from ..tokens import create_api_token as create_token
        name = name.strip()
        if not name or len(name) > 100 or any(ord(c) < 32 for c in name):
            raise click.BadParameter("use 1 to 100 printable characters", param_hint="NAME")
        with db.connection_context():
            token, _row = create_token(name, can_write=not read_only)
        click.echo(token)
        click.echo("Shown once: store it now. Revoke it at /staff/api/tokens.", err=True)

    app.cli.add_command(api_tokens)

    figures_group = AppGroup("figures", help="The contacts' summary figures, kept by the database.")

    @figures_group.command("check")
    @click.option("--repair", is_flag=True, help="Rewrite the figures from the documents when they differ.")
    def figures_check(repair):
        """Recompute every contact's figures from its documents and payments and compare them with
        the stored rows; exit 1 when they differ (and were not repaired)."""
        from .. import figures
        with db.connection_context():
            wrong = figures.differences()
            for key, have, want in wrong[:20]:
                click.echo(f"contact {key[0]} {key[1]} {key[2]} {key[3]}: stored {have}, from the documents {want}")
            if not wrong:
                click.echo("figures agree with the documents.")
                return
            if repair:
                figures.repair()
                click.echo(f"{len(wrong)} figure(s) rewritten from the documents.")
                return
        raise SystemExit(1)

    app.cli.add_command(figures_group)

    from .. import jobs
    from . import demo
    jobs.register_cli(app)
    demo.register_cli(app)
