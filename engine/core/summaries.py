"""Instance summaries: one small indexed row per process instance with what lists show and
search (the project's title, who started it), so that the inbox and "my applications" never
deserialize a workflow. Rows are kept up to date from the audit events that every command
already writes (`instance_started`, `task_completed`, `instance_retried` carry the submitted
data): the audit log's `before_flush` hook (engine/core/audit.py) hands such an event here
(`follow_audit`), which turns it into an insert or update of the summary in the same
transaction, whichever entry point (web, API, CLI, scheduler) ran the command."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import clock
from engine.core.models import AuditEvent, Base, ProcessInstance

# data keys that name the project, in order of preference
TITLE_KEYS = ("title", "project_title", "project_name", "call_title", "name")  # call_title: a call's batch
TITLE_LENGTH = 300
_TRACKED = {"instance_started", "task_completed", "instance_retried"}


class InstanceSummary(Base):
    __tablename__ = "instance_summaries"
    process_instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH), default="")
    started_by: Mapped[str | None] = mapped_column(String(80), index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]


def title_from(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    for key in TITLE_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:TITLE_LENGTH]
    return None


def get(session: Session, instance_id: int) -> InstanceSummary | None:
    return session.get(InstanceSummary, instance_id)


def titles(session: Session, instance_ids: list[int]) -> dict[int, str]:
    if not instance_ids:
        return {}
    rows = session.execute(select(InstanceSummary.process_instance_id, InstanceSummary.title)
                           .where(InstanceSummary.process_instance_id.in_(instance_ids)))
    return {ident: title for ident, title in rows}


def _apply(session: Session, audit_event: AuditEvent) -> None:
    instance_id = audit_event.process_instance_id
    if instance_id is None:
        return
    title = title_from((audit_event.details or {}).get("data"))
    if audit_event.action != "instance_started" and not title:
        return  # most completions name no project: no lookup at all (this runs on every flush)
    row = session.get(InstanceSummary, instance_id)
    if row is None:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            return
        session.add(InstanceSummary(process_instance_id=instance_id, title=title or "",
                                    started_by=instance.started_by, process_key=instance.process_key,
                                    updated_at=clock.now()))
    elif title and title != row.title:
        row.title, row.updated_at = title, clock.now()


def follow_audit(session: Session, events: list[AuditEvent]) -> None:
    """Called by engine/core/audit.py with the audit events about to be inserted, in order."""
    tracked = [e for e in events if e.action in _TRACKED]
    if not tracked:
        return
    with session.no_autoflush:
        for audit_event in sorted(tracked, key=lambda e: e.at):
            _apply(session, audit_event)
