"""Database connection and the unit of work. `Database` owns the SQLAlchemy engine and session
factory for one DATABASE_URL; `Database.transaction()` is the only way commands touch the
database: one session, one transaction, committed at the end or rolled back on any error;
`Database.read()` gives readers a session of their own (on PostgreSQL read-only connections in
autocommit, on SQLite deferred transactions beside the writer)."""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_SQLITE = Path("instance") / "workflow.sqlite3"


def database_url(explicit: str | None = None) -> str:
    """The configured URL: explicit, else $DATABASE_URL, else an SQLite file under instance/."""
    url = explicit or os.environ.get("DATABASE_URL")
    if url:
        # psycopg 3 is the driver we install; accept the plain postgresql:// spelling too
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE.resolve()}"


def _configure_sqlite(engine: Engine, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # WAL lets readers run beside the single writer; busy_timeout makes writers queue
        # instead of failing at once, and foreign keys are off by default in SQLite.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        # Writers take the write lock at BEGIN: upgrading a read lock late deadlocks two
        # writers, while BEGIN IMMEDIATE serialises them cleanly.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# A pooled connection unused for longer than this is pinged before it is handed out again.
IDLE_PING_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pool_pre_ping, but only for a connection that sat idle in the pool: under
    load every request would otherwise pay one more round trip (a `SELECT 1` per checkout, one
    statement in four of a claim). A connection that breaks while in use (the server restarted
    under load) is still caught: SQLAlchemy sees the disconnect error, invalidates every pooled
    connection opened before it, and the next checkouts open fresh ones."""
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as error:
            # the pool discards this connection and checks out another (up to three times)
            raise exc.DisconnectionError(str(error)) from error


def _read_only(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _session_read_only(dbapi_conn: Any, _record: Any) -> None:
        autocommit, dbapi_conn.autocommit = dbapi_conn.autocommit, True
        dbapi_conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        dbapi_conn.autocommit = autocommit


class Database:
    def __init__(self, url: str | None = None, echo: bool = False) -> None:
        self.url = database_url(url)
        if self.url.startswith("sqlite"):
            self.engine = create_engine(self.url, echo=echo,
                                        connect_args={"check_same_thread": False,
                                                      "isolation_level": None})
            _configure_sqlite(self.engine, immediate=True)
            # readers get their own engine with ordinary deferred transactions: under WAL they
            # never wait for the writer, and never make it wait
            self.read_engine = create_engine(self.url, echo=echo,
                                             connect_args={"check_same_thread": False,
                                                           "isolation_level": None})
            _configure_sqlite(self.read_engine, immediate=False)
        else:
            self.engine = create_engine(self.url, echo=echo, pool_size=10, max_overflow=20)
            _ping_when_idle(self.engine)
            # readers get their own pool of read-only connections in autocommit: PostgreSQL's
            # READ COMMITTED gives every statement its own snapshot anyway, so a reader sees
            # the same data without the BEGIN and ROLLBACK round trips around it (two of the
            # four a one-statement read cost), and a write in a reader fails instead of
            # reaching the database
            self.read_engine = create_engine(self.url, echo=echo, pool_size=10, max_overflow=20,
                                             isolation_level="AUTOCOMMIT")
            _read_only(self.read_engine)
            _ping_when_idle(self.read_engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions() as session:
            with session.begin():
                yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self.read_sessions() as session:
            yield session
