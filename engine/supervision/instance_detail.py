"""What the supervisor's page of one instance shows (its view-model): the header and error, the
open tasks with their forms, how and why it ended (runtime.outcome), the external tasks waiting
for other systems (with their incidents), the retry form when it is in error, the full timeline,
the data's
history and the path its tokens took."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from engine.core import summaries
from engine.core.models import HumanTask, ProcessInstance
from engine.core.principals import Actor
from engine.definitions import elements
from engine.definitions.forms import FormDefinition
from engine.runtime import access, instances, outcome as outcomes, tasks, worker_tasks
from engine.supervision import inspection, interventions


@dataclass
class TaskBox:
    """An open task with its form; the page fills `nodes` and `errors` when it renders it."""
    task: HumanTask
    form: FormDefinition | None
    nodes: list[Any] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ExternalTaskLine:
    """An external task waiting for another system, with its element's name."""
    row: Any
    name: str


@dataclass
class InstanceDetail:
    instance: ProcessInstance
    title: str
    tasks: list[TaskBox]
    retry: interventions.RetryForm | None
    events: list[Any]
    events_total: int
    history: dict[str, Any]
    path: dict[str, Any]
    outcome: outcomes.Outcome | None = None
    external_tasks: list[Any] = field(default_factory=list)


def instance_detail(session: Session, actor: Actor, instance_id: int) -> InstanceDetail:
    """Everything the supervisor's page of one instance shows (supervisors only: the inspection
    and the retry form refuse anyone else)."""
    instance = instances.get(session, instance_id)
    summary = summaries.get(session, instance_id)
    boxes = [TaskBox(t, tasks.form_of(session, t)) for t in tasks.open_tasks(session, instance_id)]
    retry = interventions.retry_form(session, actor, instance_id) if instance.state == instances.ERROR else None
    events, total = inspection.timeline(session, actor, instance_id)
    return InstanceDetail(instance, summary.title if summary else "", boxes, retry, events, total,
                          inspection.data_history(session, actor, instance_id),
                          inspection.token_path(session, actor, instance_id),
                          outcomes.of_view(session, access.view_of(session, actor, instance)),
                          [ExternalTaskLine(row, elements.name_of(instance.definition, row.element_id) or row.element_id)
                           for row in worker_tasks.open_of(session, instance_id)])
