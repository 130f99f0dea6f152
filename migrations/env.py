"""Alembic environment: migrates the database of the running Flask app (its engine `Database`),
or of $DATABASE_URL when Alembic is run on its own."""
from __future__ import annotations

from alembic import context

from engine.core.db import Database
from engine.schema import Base


def _engine():  # type: ignore[no-untyped-def]
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
