"""`flask backup PATH`: a consistent copy of the SQLite database, taken while the app runs."""
import os
import sqlite3

import click

from .db import db, is_sqlite


class BackupError(Exception):
    """A backup that could not be made: the message is for the operator."""


def register_cli(app):
    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False))
    def backup_command(path):
        """Copy the SQLite database to PATH (a new file) while the app keeps running."""
        if not is_sqlite():
            raise click.ClickException(
                "flask backup copies the SQLite database, and this database is PostgreSQL: "
                "back it up with pg_dump (for example: pg_dump -Fc \"$DATABASE_URL\" > portal.dump).")
        try:
            size = backup_sqlite(db.obj.database, path)
        except (BackupError, sqlite3.Error, OSError) as exc:
            raise click.ClickException(f"backup failed: {exc}") from None
        click.echo(f"Backed up {db.obj.database} to {path} ({size} bytes, integrity check ok).")


def backup_sqlite(source_path, dest_path):
    """Copy the database file at source_path to a new file dest_path; returns its size.

    The copy is one snapshot: SQLite's backup API copies every page in a single step inside
    one read transaction, and in WAL mode that read neither blocks the app's writers nor sees
    their later commits. The copy is written beside the target and renamed only once it
    passes an integrity check, so PATH is either a complete backup or absent."""
    dest_path = os.path.abspath(dest_path)
    if os.path.exists(dest_path):
        raise BackupError(f"{dest_path} already exists; choose a new file name.")
    if not os.path.isdir(os.path.dirname(dest_path)):
        raise BackupError(f"the folder {os.path.dirname(dest_path)} does not exist.")
    if not os.path.isfile(source_path):
        raise BackupError(f"the database {source_path} does not exist.")
    partial = f"{dest_path}.partial-{os.getpid()}"
    try:
        source = sqlite3.connect(source_path, timeout=30)
        try:
            target = sqlite3.connect(partial)
            try:
                source.backup(target, pages=-1)
                # The copy inherits WAL mode; a rollback journal makes it one self-contained file.
                target.execute("PRAGMA journal_mode=DELETE")
                result = target.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                target.close()
        finally:
            source.close()
        if result != "ok":
            raise BackupError(f"the copy failed its integrity check: {result}")
        os.link(partial, dest_path)   # unlike a rename, refuses to replace a file made meanwhile
    finally:
        for leftover in (partial, partial + "-journal", partial + "-wal", partial + "-shm"):
            if os.path.exists(leftover):
                os.remove(leftover)
    return os.path.getsize(dest_path)
