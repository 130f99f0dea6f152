"""What the instance page shows (the page's view-model): the project's header and stage, what it
waits for or, once ended, how and why it ended
(runtime.outcome), the diagram's markers, the timeline, key facts, files and comments, each as
engine/runtime/access.py lets this viewer see them, and the diagram's source for those who may
see the instance."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.core import names, summaries
from engine.core.errors import Forbidden
from engine.core.models import ProcessInstance
from engine.core.principals import Actor
from engine.runtime import access, instances, outcome as outcomes
from engine.workspace import applications, attachments, comments, history, progress


@dataclass
class InstanceView:
    instance: ProcessInstance
    project: str
    stage: str
    staff: bool
    open_tasks: list[access.TaskLine]
    markers: dict[str, list[str]]
    timeline: list[history.Entry]
    facts: list[history.Shown]
    files: list[Any]
    notes: list[Any]
    may_upload: bool
    task: None = None
    is_applicant: bool = False
    outcome: outcomes.Outcome | None = None
    names: names.Names | None = None


def visible_instance(session: Session, actor: Actor, instance_id: int) -> ProcessInstance:
    return seen_instance(session, actor, instance_id).instance


def seen_instance(session: Session, actor: Actor, instance_id: int) -> access.View:
    try:
        return access.view_of(session, actor, instances.get(session, instance_id))
    except Forbidden:
        raise Forbidden("this application is not yours to see") from None


def instance_view(session: Session, actor: Actor, instance_id: int) -> InstanceView:
    """Everything the instance page shows, as this actor may see it."""
    seen = seen_instance(session, actor, instance_id)
    instance = seen.instance
    summary = summaries.get(session, instance.id)
    data = instances.data_of(instance) if instance.state in (instances.RUNNING, instances.ERROR,
                                                              instances.SUSPENDED) else {}
    open_tasks = applications.open_tasks_of(session, [instance.id]).get(instance.id, [])
    view = InstanceView(
        instance=instance, project=summary.title if summary else "",
        stage=applications.current_stage(session, instance, instance.definition.content_hash, open_tasks,
                                         instance.definition.name),
        staff=seen.staff, open_tasks=seen.task_lines(open_tasks),
        markers=progress.markers(session, instance).as_dict(),
        timeline=history.timeline(session, seen, instance), facts=history.key_facts(session, instance, data, seen),
        files=attachments.visible_to(session, seen),
        notes=comments.for_instance(session, actor, instance.id) if seen.staff else [],
        may_upload=attachments.may_upload(session, actor, instance, None), is_applicant=seen.role == access.APPLICANT,
        outcome=outcomes.of_view(session, seen))
    keys = [k for e in view.timeline for k in e.who]
    view.names = names.of_tasks(session, view.open_tasks, [instance.started_by, *(e.actor for e in view.timeline),
                                                           *(c.author for c, _ in view.notes),
                                                           *(k[2:] for k in keys if k.startswith("u:"))])
    names.lookup(session, groups=[k[2:] for k in keys if k.startswith("g:")])
    return view


def diagram_source(session: Session, actor: Actor, instance_id: int, language: str | None = None) -> bytes:
    """The BPMN XML of the instance's process, for whoever may see the instance (its lanes
    named in `language`, when given)."""
    return progress.diagram_source(session, visible_instance(session, actor, instance_id), language)
