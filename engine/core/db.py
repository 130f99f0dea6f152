"""Database connection and the unit of work. `Database` owns the SQLAlchemy engine and session
factory for one DATABASE_URL; `Database.transaction()` is the only way commands touch the
database: one session, one transaction, committed at the end or rolled back on any error."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
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
            self.engine = create_engine(self.url, echo=echo, pool_size=10, max_overflow=20,
                                        pool_pre_ping=True)
            self.read_engine = self.engine
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
