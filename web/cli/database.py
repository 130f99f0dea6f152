"""`flask db copy --from URL --to URL`, added to Flask-Migrate's `db` group: moves a trial
installation (SQLite) with everything in it to a migrated, empty PostgreSQL database, with a
progress bar; the copy itself and its refusals are engine.core.db_copy's."""
from __future__ import annotations

import sys

import click
from flask import Flask

from engine import schema
from engine.core import db_copy


def register(app: Flask) -> None:
    app.cli.commands["db"].add_command(copy_database)  # type: ignore[attr-defined]


@click.command("copy")
@click.option("--from", "source", required=True, metavar="URL", help="the database to copy, e.g. sqlite:///instance/workflow.sqlite3")
@click.option("--to", "target", required=True, metavar="URL",
              help="a migrated, empty database, e.g. postgresql://workflow@dbhost/workflow")
def copy_database(source: str, target: str) -> None:
    """Copy every table from one database into another, migrated and empty, one."""
    try:
        counts = db_copy.check(source, target, schema.Base.metadata)
        total = sum(c.rows for c in counts)
        with click.progressbar(length=total, label=f"copying {total} rows", file=sys.stderr) as bar:
            db_copy.copy(source, target, schema.Base.metadata, on_rows=bar.update)
    except db_copy.CopyRefused as refusal:
        click.echo(f"error: {refusal.message}; nothing was copied", err=True)
        sys.exit(1)
    for count in counts:
        if count.rows:
            click.echo(f"{count.table}: {count.rows}")
    click.echo(f"copied {total} rows in {len(counts)} tables")
