"""Where an instance stands, for drawing it: the BPMN file it runs on (the deployed source, so
the diagram is exactly the version the instance is pinned to) and the element ids to mark as
completed, current (waiting), overdue and failed. This is the one read that loads a workflow:
it serves the instance page, one instance at a time, never a list."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.util.task import TaskState

from engine.core import clock
from engine.definitions import elements
from engine.runtime import projection, store
from engine.core.models import HumanTask, ProcessInstance


@dataclass(frozen=True)
class Markers:
    completed: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"completed": self.completed, "current": self.current, "overdue": self.overdue,
                "failed": self.failed}


def diagram_source(session: Session, instance: ProcessInstance) -> bytes:
    """The BPMN file the instance runs on (its own version's, never the latest)."""
    return elements.diagram(session, instance.definition)


def markers(session: Session, instance: ProcessInstance) -> Markers:
    workflow = store.load(instance)
    store.remember(instance, workflow)  # reading changed nothing; keep it warm
    completed, current = [], []
    for task in workflow.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.state == TaskState.COMPLETED:
            completed.append(bpmn_id)
        elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED, TaskState.ERROR):
            current.append(bpmn_id)
    now = clock.now()
    overdue = list(session.scalars(select(HumanTask.name).where(
        HumanTask.process_instance_id == instance.id, HumanTask.state == projection.OPEN,
        HumanTask.due_at < now)))
    failed = [instance.error_element] if instance.error_element else []
    current_set = set(current)
    return Markers(completed=sorted(set(completed) - current_set), current=sorted(current_set),
                   overdue=sorted(set(overdue)), failed=failed)
