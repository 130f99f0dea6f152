"""Set-wise statements for the scheduler, whose passes touch thousands of rows at once: inserting
many rows (COPY on PostgreSQL) and matching a column against many values (one array parameter on
PostgreSQL instead of an IN list with one placeholder per value, which the driver and the server
would parse anew for every batch). On SQLite both are the plain forms, which are cheap in-process."""
from __future__ import annotations

import json
from typing import Any, Iterable

from sqlalchemy import JSON, any_, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values`, as `column = ANY(:array)` on PostgreSQL."""
    values = list(values)
    if is_postgresql(session):
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def insert_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many rows (all with the same keys) in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    encoded: dict[int, str] = {}  # rows often share one value (a notification's params)

    def value(row: dict[str, Any], column: str) -> Any:
        item = row[column]
        if column not in json_columns or item is None:
            return item
        if id(item) not in encoded:
            encoded[id(item)] = json.dumps(item, ensure_ascii=False)
        return encoded[id(item)]

    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([value(row, c) for c in columns])


def update_rows(session: Session, table: Any, key: str, rows: list[dict[str, Any]]) -> None:
    """Set each row's values (all rows with the same keys) on the row whose `key` matches: one
    `UPDATE ... FROM unnest(arrays)` on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != key]
    if not is_postgresql(session):
        stmt = table.update().where(table.c[key] == bindparam("k_" + key, type_=table.c[key].type)) \
            .values({c: bindparam("v_" + c, type_=table.c[c].type) for c in columns})
        session.execute(stmt, [{"k_" + key: r[key], **{"v_" + c: r[c] for c in columns}} for r in rows])
        return
    dialect = session.get_bind().dialect
    names = [key, *columns]
    arrays, casts = {}, []
    for n, name in enumerate(names):
        column_type = table.c[name].type
        is_json = isinstance(column_type, JSON)
        arrays[f"a{n}"] = [json.dumps(r[name], ensure_ascii=False) if is_json and r[name] is not None
                           else r[name] for r in rows]
        sql_type = "json" if is_json else column_type.compile(dialect=dialect)
        casts.append(f"CAST(:a{n} AS {sql_type}[])")
    session.execute(text(
        f"UPDATE {table.name} AS t SET {', '.join(f'{c} = v.{c}' for c in columns)} "
        f"FROM unnest({', '.join(casts)}) AS v({', '.join(names)}) WHERE t.{key} = v.{key}"), arrays)
