"""Copying a whole installation from one database to another (`flask db copy`), typically a trial
on SQLite moved to PostgreSQL: every table of the schema in foreign-key order, row for row through
the tables' own column types (so SQLite's text dates and JSON arrive as PostgreSQL's), in one
transaction on the target, then PostgreSQL's id sequences moved past the copied ids. It refuses,
before writing anything, a target that is not migrated to the source's revision, a target that
already holds rows, and a source with tables the schema does not know (they would be lost)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from sqlalchemy import Table, create_engine, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.schema import MetaData

from engine.core.db import database_url
from engine.core.errors import EngineError

BATCH = 1000
ALEMBIC_TABLE = "alembic_version"


class CopyRefused(EngineError):
    """The copy would lose or mix data; nothing was written."""

    code, status = "copy_refused", 409


@dataclass(frozen=True)
class TableCount:
    table: str
    rows: int


def check(source_url: str, target_url: str, metadata: MetaData) -> list[TableCount]:
    """The rows each table will copy, after refusing a copy that cannot be clean."""
    source, target = _engine(source_url), _engine(target_url)
    try:
        return _check(source, target, metadata)
    finally:
        source.dispose()
        target.dispose()


def copy(source_url: str, target_url: str, metadata: MetaData,
         on_rows: Callable[[int], None] = lambda rows: None) -> list[TableCount]:
    """Copy every table; `on_rows` hears of each batch written (a progress bar)."""
    source, target = _engine(source_url), _engine(target_url)
    try:
        counts = _check(source, target, metadata)
        with source.connect() as reading, target.begin() as writing:
            for table in metadata.sorted_tables:
                for rows in _batches(reading, table):
                    writing.execute(table.insert(), rows)
                    on_rows(len(rows))
            if target.dialect.name == "postgresql":
                _reset_sequences(writing, metadata)
        return counts
    finally:
        source.dispose()
        target.dispose()


def _engine(url: str) -> Engine:
    return create_engine(database_url(url))


def _check(source: Engine, target: Engine, metadata: MetaData) -> list[TableCount]:
    if source.url == target.url:
        raise CopyRefused("the source and the target are the same database")
    source_revision = _revision(source, "source")
    target_revision = _revision(target, "target")
    if not source_revision:
        raise CopyRefused("the source database is not migrated (no alembic_version): nothing to copy")
    if target_revision != source_revision:
        raise CopyRefused(
            f"the target database is at migration {target_revision or 'none (unmigrated)'}, the source at "
            f"{source_revision}: run `DATABASE_URL=<target> flask --app web db upgrade` on the target "
            "(and on the source if it is behind) so both are at the same revision, then copy again")
    unknown = sorted(set(inspect(source).get_table_names()) - set(metadata.tables) - {ALEMBIC_TABLE})
    if unknown:
        raise CopyRefused(f"the source has tables this version does not know: {', '.join(unknown)}")
    with target.connect() as conn:
        filled = [t.name for t in metadata.sorted_tables if conn.scalar(select(func.count()).select_from(t))]
    if filled:
        raise CopyRefused(f"the target database is not empty ({', '.join(filled[:5])} hold rows): "
                          "copy only into a freshly migrated, empty database")
    with source.connect() as conn:
        return [TableCount(t.name, conn.scalar(select(func.count()).select_from(t)) or 0)
                for t in metadata.sorted_tables]


def _revision(engine: Engine, which: str) -> str | None:
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(ALEMBIC_TABLE):
                return None
            return ",".join(sorted(conn.scalars(text(f"SELECT version_num FROM {ALEMBIC_TABLE}"))))
    except SQLAlchemyError as error:
        raise CopyRefused(f"the {which} database does not answer: {error.__class__.__name__}: "
                          f"{str(error.orig if hasattr(error, 'orig') else error).strip()}") from error


def _batches(conn: Connection, table: Table) -> Iterator[list[dict]]:
    # in key order, so rows pointing at earlier rows of their own table (parents) arrive after them
    statement = select(table).order_by(*table.primary_key.columns)
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(statement)
    for partition in result.mappings().partitions(BATCH):
        yield [dict(row) for row in partition]


def _reset_sequences(conn: Connection, metadata: MetaData) -> None:
    """Explicit ids were inserted, so each serial's next value must move past the largest copied."""
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:table, :column)"),
                                   {"table": f'"{table.name}"', "column": column.name})
            if sequence:
                conn.execute(text(f'SELECT setval(:sequence, COALESCE((SELECT MAX("{column.name}") '
                                  f'FROM "{table.name}"), 0) + 1, false)'), {"sequence": sequence})
