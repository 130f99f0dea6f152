"""Databases of their own for the deployment tests: a PostgreSQL database created and dropped
around a test (skipped when no PostgreSQL server answers), and a migrated SQLite file."""
from __future__ import annotations

import os
from typing import Callable, Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from engine.core.db import Database
from tests.conftest import migrate


def _server_url() -> str:
    """The PostgreSQL server of $DATABASE_URL when it is one (CI), else the local one."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        return make_url(url).set(drivername="postgresql", database="postgres").render_as_string(False)
    return "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin(sql: str) -> None:
    with psycopg.connect(_server_url(), autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


@pytest.fixture
def postgres_database() -> Iterator[Callable[[str], str]]:
    """Creates a fresh database named after `name` and this process, gives its URL; drops every one made at the end."""
    try:
        _admin("SELECT 1")
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable: {error}")
    made: list[str] = []

    def _create(name: str) -> str:
        name = f"{name}_{os.getpid()}"  # two runs at once (CI beside a developer) never meet
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin(f'CREATE DATABASE "{name}"')
        made.append(name)
        return make_url(_server_url()).set(drivername="postgresql+psycopg", database=name) \
            .render_as_string(False)

    yield _create
    for name in made:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_database(tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'trial.sqlite3'}")
    migrate(database)
    yield database
    database.engine.dispose()
