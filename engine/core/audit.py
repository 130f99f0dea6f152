"""The append-only audit log: every command that changes state records who did what, when, to
which instance and task, with before/after details. Rows are only ever inserted."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.models import AuditEvent


def record(session: Session, action: str, actor: str | None, *, instance_id: int | None = None,
           task_id: str | None = None, **details: Any) -> None:
    session.add(AuditEvent(at=clock.now(), actor=actor, action=action,
                           process_instance_id=instance_id, task_id=task_id, details=details))
