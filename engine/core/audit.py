"""The append-only audit log: every command that changes state records who did what, when, to
which instance and task, with before/after details, and the request id of the work that did it
(engine/core/tracing.py), so that a line in the logs leads to the change it made. Rows are only
ever inserted."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.core import clock, tracing
from engine.core.models import AuditEvent


def record(session: Session, action: str, actor: str | None, *, instance_id: int | None = None,
           task_id: str | None = None, **details: Any) -> None:
    session.add(AuditEvent(at=clock.now(), actor=actor, action=action,
                           process_instance_id=instance_id, task_id=task_id, details=details,
                           request_id=tracing.current()))
