"""The database's connection pools on PostgreSQL (engine/core/db.py): a connection that the server
ended while it sat idle in the pool is replaced before a command gets it, without the `SELECT 1`
on every checkout that pool_pre_ping cost; readers run on read-only connections, so a write
slipped into a reader never reaches the database."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from engine.core import commands, db as db_module
from engine.core.db import Database


@pytest.fixture
def postgres(database_url: str):  # type: ignore[no-untyped-def]
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's pools only (SQLite has no server to end a connection)")
    database = Database(database_url)
    yield database
    database.engine.dispose()
    database.read_engine.dispose()


def _backend(session) -> int:  # type: ignore[no-untyped-def]
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _end_backend(url: str, pid: int) -> None:
    """What a server restart or an idle timeout does to a pooled connection (from a connection
    outside the pools, which would otherwise hand out the very connection to be ended)."""
    outside = create_engine(url, poolclass=NullPool)
    with outside.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    outside.dispose()


@pytest.mark.parametrize("run", ["execute", "query"])
def test_a_connection_ended_while_idle_in_the_pool_is_replaced_before_use(postgres, monkeypatch, run):
    run_on = getattr(commands, run)
    # given a pooled connection whose server process was ended while it sat idle
    first = run_on(postgres, _backend)
    _end_backend(postgres.url, first)
    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # "idle long enough" is now
    # when the next command runs
    second = run_on(postgres, _backend)
    # then it ran, on a fresh connection
    assert second != first


def test_a_write_slipped_into_a_reader_never_reaches_the_database(postgres):
    # given a table, and a reader that tries to write to it
    with postgres.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS pool_probe (x int)"))
        conn.execute(text("DELETE FROM pool_probe"))
    try:
        def sneaky(session):  # type: ignore[no-untyped-def]
            session.execute(text("INSERT INTO pool_probe VALUES (1)"))

        # when it runs as a query, then it is refused and nothing is stored
        with pytest.raises(Exception, match="read-only"):
            commands.query(postgres, sneaky)
        with postgres.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM pool_probe")).scalar_one() == 0
    finally:
        with postgres.engine.begin() as conn:
            conn.execute(text("DROP TABLE pool_probe"))
