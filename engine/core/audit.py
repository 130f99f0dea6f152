"""The append-only audit log: every command that changes state records who did what, when, to
which instance and task, with before/after details, and the request id of the work that did it
(engine/core/tracing.py), so that a line in the logs leads to the change it made. Rows are only
ever inserted: with one Core executemany per flush (`_insert_pending`), not through the ORM's
unit of work, since nothing reads an event back in the command that wrote it."""
from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from engine.core import clock, summaries, tracing
from engine.core.models import AuditEvent

_TABLE = AuditEvent.__table__


def record(session: Session, action: str, actor: str | None, *, instance_id: int | None = None,
           task_id: str | None = None, **details: Any) -> None:
    session.add(AuditEvent(at=clock.now(), actor=actor, action=action,
                           process_instance_id=instance_id, task_id=task_id, details=details,
                           request_id=tracing.current()))


@event.listens_for(Session, "before_flush")
def _insert_pending(session: Session, _context: Any, _instances: Any) -> None:
    """The events recorded since the last flush go in as one executemany, in the order they
    were recorded, and leave the session (the ORM would insert them one RETURNING at a time to
    learn ids nobody asks for). Instance summaries follow them first (engine/core/summaries.py)."""
    pending = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if not pending:
        return
    pending.sort(key=lambda e: inspect(e).insert_order)
    summaries.follow_audit(session, pending)
    for audit_event in pending:
        session.expunge(audit_event)
    session.connection().execute(_TABLE.insert(), [
        {"at": e.at, "actor": e.actor, "action": e.action, "process_instance_id": e.process_instance_id,
         "task_id": e.task_id, "details": e.details, "request_id": e.request_id} for e in pending])
