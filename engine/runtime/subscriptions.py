"""The event-subscription projection: after every save, the message and signal catch events an
instance waits for (intermediate catch events, receive tasks, boundary events, a waiting message
start event) are mirrored into `event_subscriptions`, one row per waiting task, so that a
message or a signal finds its instances through an index instead of loading every workflow.
Like the human-task projection (engine/runtime/projection.py), the workflow stays the truth."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.core import bulk
from engine.core.models import Base, ProcessInstance

MESSAGE, SIGNAL = "message", "signal"


class EventSubscription(Base):
    __tablename__ = "event_subscriptions"
    __table_args__ = (Index("ix_event_subscriptions_kind_name", "kind", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))


def kind_of(event_definition: Any) -> str | None:
    if isinstance(event_definition, MessageEventDefinition):
        return MESSAGE
    if isinstance(event_definition, SignalEventDefinition):
        return SIGNAL
    return None


def waiting(workflow: BpmnWorkflow) -> dict[str, tuple[str, str, str]]:
    """task id -> (kind, name, element id) of every message or signal catch that waits now."""
    found = {}
    for task in workflow.event_manager.tasks.values():
        definition = getattr(task.task_spec, "event_definition", None)
        kind = kind_of(definition)
        if kind is not None and definition.name:
            found[str(task.id)] = (kind, definition.name, task.task_spec.bpmn_id)
    return found


_SPECS_WITH_CATCHES: dict[int, tuple[Any, bool]] = {}


def may_wait(workflow: BpmnWorkflow) -> bool:
    """Whether the workflow's specs have any message or signal catch at all, once per spec
    (specs are immutable and shared): most processes have none, and then a save asks nothing."""
    spec = workflow.spec
    known = _SPECS_WITH_CATCHES.get(id(spec))
    if known is None or known[0] is not spec:
        specs = [spec, *workflow.subprocess_specs.values()]
        found = any(kind_of(getattr(ts, "event_definition", None)) is not None
                    for s in specs for ts in s.task_specs.values())
        known = _SPECS_WITH_CATCHES[id(spec)] = (spec, found)
    return known[1]


def sync(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow) -> None:
    """Rows for what waits now; none once the instance has ended. A process whose specs catch
    no message or signal never has rows (a migration to such a version keeps none either: the
    messages API checks the workflow before delivering)."""
    if not may_wait(workflow):
        return
    wanted = waiting(workflow) if instance.ended_at is None else {}
    with session.no_autoflush:
        rows = session.scalars(select(EventSubscription).where(
            EventSubscription.process_instance_id == instance.id)).all() if instance.id else []
    have = {row.task_id: row for row in rows}
    gone = [row.id for task_id, row in have.items() if task_id not in wanted]
    if gone:
        session.execute(delete(EventSubscription).where(bulk.among(session, EventSubscription.id, gone))
                        .execution_options(synchronize_session=False))
    session.add_all(EventSubscription(process_instance_id=instance.id, kind=kind, name=name,
                                      task_id=task_id, element_id=element)
                    for task_id, (kind, name, element) in wanted.items() if task_id not in have)


def instances_waiting(session: Session, kind: str, name: str) -> list[int]:
    """The instances with a catch event of this kind and name waiting now, oldest first."""
    session.flush()
    return list(session.scalars(select(EventSubscription.process_instance_id).where(
        EventSubscription.kind == kind, EventSubscription.name == name).distinct()
        .order_by(EventSubscription.process_instance_id)))
