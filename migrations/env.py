"""Alembic environment: migrates the engine given in the config's attributes (tests), else the
database of the running Flask app (its engine `Database`), else $DATABASE_URL when Alembic is
run on its own."""
from __future__ import annotations

from alembic import context

from engine.core.db import Database
from engine.schema import Base


def _engine():  # type: ignore[no-untyped-def]
    given = context.config.attributes.get("engine")  # a caller without Flask (tests) passes its own
    if given is not None:
        return given
    try:
        from flask import current_app
        return current_app.extensions["engine_db"].engine
    except (RuntimeError, KeyError):
        return Database().engine


def run_migrations_online() -> None:
    with _engine().connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite",
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
