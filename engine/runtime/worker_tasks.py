"""The external-task projection: after every save, the external service tasks an instance waits
on (engine/definitions/service_tasks.py) are mirrored into `external_tasks`, where workers fetch
and lock them (engine/runtime/external_tasks.py) without loading any workflow. A row keeps the
worker's lock, the retries left and the last failure; a task that stops waiting (completed,
cancelled by a boundary event, the instance ended) loses its row's `open` state."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.core import audit, clock
from engine.core.models import Base, ProcessInstance
from engine.definitions.service_tasks import ExternalTask

OPEN, COMPLETED, CANCELLED = "open", "completed", "cancelled"


class ExternalTaskRow(Base):
    __tablename__ = "external_tasks"
    __table_args__ = (Index("ix_external_tasks_topic_state", "topic", "state"),
                      Index("ix_external_tasks_instance_state", "process_instance_id", "state"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instances.id", ondelete="CASCADE"))
    process_key: Mapped[str] = mapped_column(String(200))
    element_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    worker_id: Mapped[str | None] = mapped_column(String(200))
    lock_expires_at: Mapped[datetime | None]
    # None until a worker reports a failure; 0 is an incident (no worker may fetch it)
    retries: Mapped[int | None] = mapped_column(Integer)
    retry_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


def waiting_tasks(workflow: BpmnWorkflow) -> dict[str, Any]:
    return {str(task.id): task for flow in (workflow, *workflow.subprocesses.values())
            for task in flow.tasks.values()
            if task.state == TaskState.STARTED and isinstance(task.task_spec, ExternalTask)}


_SPECS_WITH_EXTERNAL: dict[int, tuple[Any, bool]] = {}


def has_external_tasks(workflow: BpmnWorkflow) -> bool:
    """Whether the workflow's specs have an external task at all, once per (immutable) spec."""
    spec = workflow.spec
    known = _SPECS_WITH_EXTERNAL.get(id(spec))
    if known is None or known[0] is not spec:
        specs = [spec, *workflow.subprocess_specs.values()]
        found = any(isinstance(ts, ExternalTask) for s in specs for ts in s.task_specs.values())
        known = _SPECS_WITH_EXTERNAL[id(spec)] = (spec, found)
    return known[1]


def sync(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, actor: str | None) -> None:
    """Rows for the external tasks waiting now; a process without any never asks."""
    if not has_external_tasks(workflow):
        return
    wanted = waiting_tasks(workflow) if instance.ended_at is None else {}
    with session.no_autoflush:
        rows = session.scalars(select(ExternalTaskRow).where(
            ExternalTaskRow.process_instance_id == instance.id, ExternalTaskRow.state == OPEN)).all()
        known = {row.id for row in rows}
        for task_id in set(wanted) - known:  # a task made to wait again (a retry) keeps its row
            row = session.get(ExternalTaskRow, task_id)
            if row is not None:
                row.state, row.completed_at = OPEN, None
                known.add(task_id)
    for row in rows:
        if row.id not in wanted and row.state == OPEN:  # not one closed by this command
            row.state, row.completed_at, row.worker_id, row.lock_expires_at = CANCELLED, clock.now(), None, None
    for task_id, task in wanted.items():
        if task_id in known:
            continue
        session.add(ExternalTaskRow(id=task_id, process_instance_id=instance.id,
                                    process_key=instance.process_key, element_id=task.task_spec.bpmn_id,
                                    topic=task.task_spec.topic, state=OPEN, created_at=clock.now()))
        audit.record(session, "external_task_created", actor, instance_id=instance.id, task_id=task_id,
                     topic=task.task_spec.topic, element_id=task.task_spec.bpmn_id)


def open_of(session: Session, instance_id: int) -> list[ExternalTaskRow]:
    """The instance's external tasks waiting for a worker, oldest first."""
    return list(session.scalars(select(ExternalTaskRow).where(
        ExternalTaskRow.process_instance_id == instance_id, ExternalTaskRow.state == OPEN)
        .order_by(ExternalTaskRow.created_at, ExternalTaskRow.id)))


def incidents_of(session: Session, instance_id: int) -> list[ExternalTaskRow]:
    return list(session.scalars(select(ExternalTaskRow).where(
        ExternalTaskRow.process_instance_id == instance_id, ExternalTaskRow.state == OPEN,
        ExternalTaskRow.retries == 0)))
