"""Helpers for the supervisor console's tests. The processes (fixtures/) make real stuck work: a
grant whose budget script divides by the years entered on the planning task's form, and whose
approval goes to a group named in the data (so it can name a group nobody is in); a public
notice that waits on a two-day timer; and the divide fixture. Instances are started and moved on
at given engine times."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.core import clock, commands
from engine.runtime import instances, tasks
from engine.core.models import AuditEvent
from engine.core.principals import Actor

HERE = Path(__file__).resolve().parent / "fixtures"
ROOT_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

APPLICANT = Actor("ada", frozenset({"applicants"}))
OFFICER = Actor("olga", frozenset({"officers"}))
BOSS = Actor("boss", frozenset({"supervisors"}))
# a Monday in a normal working week (no holidays nearby), 10:00 in Beijing
MONDAY = datetime(2025, 3, 3, 2, 0, tzinfo=timezone.utc)


def start(db, key: str, data: dict[str, Any] | None = None, at: datetime = MONDAY,
          actor: Actor = APPLICANT) -> int:
    with clock.frozen_at(at):
        return commands.execute(db, instances.start, actor, key, data or {}).id


def open_task(db, instance_id: int, name: str | None = None):  # type: ignore[no-untyped-def]
    rows = commands.query(db, tasks.open_tasks, instance_id)
    rows = [r for r in rows if name is None or r.name == name]
    assert rows, f"instance {instance_id} has no open task {name or ''}"
    return rows[0]


def complete(db, instance_id: int, data: dict[str, Any], at: datetime, actor: Actor = OFFICER,
             name: str | None = None):  # type: ignore[no-untyped-def]
    task = open_task(db, instance_id, name)
    with clock.frozen_at(at):
        return commands.execute(db, tasks.complete, actor, task.id, data)


def plan(title: str = "Quantum sensors", budget: int = 100, years: int = 2,
         approvers: str = "approvers") -> dict[str, Any]:
    return {"title": title, "budget": budget, "years": years, "approvers": approvers}


def audit_of(db, instance_id: int | None = None, action: str | None = None) -> list[AuditEvent]:
    from sqlalchemy import select

    def read(session):  # type: ignore[no-untyped-def]
        stmt = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)
        if instance_id is not None:
            stmt = stmt.where(AuditEvent.process_instance_id == instance_id)
        if action is not None:
            stmt = stmt.where(AuditEvent.action == action)
        return list(session.scalars(stmt))

    return commands.query(db, read)


def state_of(db, instance_id: int) -> str:
    return commands.query(db, lambda s: instances.get(s, instance_id).state)


class FailingTrigger:
    """A real database failure: a trigger that aborts inserts into `table` that match `when`
    (SQL over NEW), with the message 'disk full'. Dropped by `drop()`."""

    def __init__(self, db, name: str, table: str, when: str) -> None:  # type: ignore[no-untyped-def]
        from sqlalchemy import text
        self.db, self.name, self.table = db, name, table
        with db.engine.begin() as conn:
            if db.is_sqlite:
                conn.execute(text(f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN {when} "
                                  "BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
            else:
                conn.execute(text(f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN IF {when} "
                                  "THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
                conn.execute(text(f"CREATE TRIGGER {name} BEFORE INSERT ON {table} "
                                  f"FOR EACH ROW EXECUTE FUNCTION {name}()"))

    def drop(self) -> None:
        from sqlalchemy import text
        with self.db.engine.begin() as conn:
            if self.db.is_sqlite:
                conn.execute(text(f"DROP TRIGGER IF EXISTS {self.name}"))
            else:
                conn.execute(text(f"DROP TRIGGER IF EXISTS {self.name} ON {self.table}"))
                conn.execute(text(f"DROP FUNCTION IF EXISTS {self.name}()"))
