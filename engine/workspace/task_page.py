"""What the task page shows (the page's view-model): the task, its form and the values it holds,
the project's key facts and earlier decisions, files, comments, the follow-up date, and what the
viewer may do (work, claim, release, upload), all as engine/runtime/access.py lets this viewer see
them; and who may see or work a task at all, the task rules or standing in as a substitute."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.core import names, summaries
from engine.core.errors import Forbidden
from engine.core.models import HumanTask, ProcessInstance
from engine.core.principals import Actor
from engine.definitions import stages
from engine.definitions.deployment import form_for
from engine.definitions.forms import FormDefinition, offered_values
from engine.runtime import access, instances, projection, tasks
from engine.workspace import attachments, comments, follow_up, history, substitutes


def visible_task(session: Session, actor: Actor, task_id: str) -> tuple[HumanTask, str | None]:
    """The task and, when the actor sees it only as a substitute, whom they cover for."""
    row = tasks.get(session, task_id)
    if tasks.may_see(session, row, actor):
        return row, None
    absent = substitutes.covered_for(session, actor, row) if row.state == projection.OPEN else None
    if absent is None:
        raise Forbidden("this task is not yours")
    return row, absent


@dataclass
class TaskView:
    task: HumanTask
    instance: ProcessInstance
    project: str
    stage: str
    form: FormDefinition | None
    values: dict[str, Any]
    facts: list[history.Shown]
    decisions: list[history.Entry]
    files: list[Any]
    notes: list[Any]
    follow_up_on: Any
    on_behalf_of: str | None
    may_work: bool
    may_claim: bool
    may_release: bool
    may_upload: bool
    staff: bool = False
    is_applicant: bool = False
    names: names.Names | None = None


def task_view(session: Session, actor: Actor, task_id: str) -> TaskView:
    """Everything the task page shows, as this actor may see it."""
    row, absent = visible_task(session, actor, task_id)
    instance = instances.get(session, row.process_instance_id)
    seen = access.view_of(session, actor, instance, row)  # what of the instance this viewer may see
    is_open = row.state == projection.OPEN and instance.state == instances.RUNNING
    data = seen.data(instances.data_of(instance)) if row.state == projection.OPEN else {}
    form = form_for(session, instance.definition, row.form_key)
    summary = summaries.get(session, instance.id)
    values = _form_values(session, seen, row, form, data)
    view = TaskView(
        task=row, instance=instance, project=summary.title if summary else "",
        stage=stages.stage_of(session, instance.definition_id, instance.definition.content_hash, row.name,
                              instance.definition.name or instance.process_key), form=form,
        values=values,
        facts=history.key_facts(session, instance, data, seen), decisions=history.decisions(session, seen, instance),
        files=attachments.visible_to(session, seen), notes=comments.for_task(session, seen, row.id),
        follow_up_on=follow_up.dates_for(session, actor.username, [row.id]).get(row.id),
        on_behalf_of=absent,
        may_work=is_open and row.assignee == actor.username,
        may_claim=is_open and row.assignee is None and absent is None and tasks.is_candidate(row, actor),
        may_release=is_open and row.assignee == actor.username and tasks.may_release(row),
        may_upload=absent is None and attachments.may_upload(session, actor, instance, row), staff=seen.staff,
        is_applicant=seen.role == access.APPLICANT)
    view.names = names.of_tasks(session, [row], [instance.started_by, absent, *(d.actor for d in view.decisions),
                                                *(c.author for c in view.notes)])
    return view


def _form_values(session: Session, seen: access.View, row: HumanTask, form: FormDefinition | None,
                 data: dict[str, Any]) -> dict[str, Any]:
    """An open task's form offers the current data (not the fields that start empty each round);
    a completed one shows what was submitted, from its finished-task record, as access allows."""
    if form is None:
        return {}
    if row.state == projection.OPEN:
        return offered_values(form, data)
    return seen.submitted_values(row, tasks.submitted_values(session, row, form))


def sees_or_covers(actor: Actor):  # type: ignore[no-untyped-def]
    """The check follow-ups and comments use: the task rules, or covering as a substitute."""
    def check(session: Session, row: HumanTask) -> bool:
        return tasks.may_see(session, row, actor) or (
            row.state == projection.OPEN and substitutes.covered_for(session, actor, row) is not None)
    return check


@dataclass
class TaskDetail:
    """A task as the API shows it to this caller: its line (assignees hidden where access says
    so), its form and the data it shows: an open task's visible data without the fields that
    start empty each round; a completed task's submitted values."""
    task: Any
    row: HumanTask
    form: FormDefinition | None
    data: dict[str, Any]


def task_detail(session: Session, actor: Actor, task_id: str) -> TaskDetail:
    row = tasks.get_visible(session, actor, task_id)
    instance = instances.get(session, row.process_instance_id)
    seen = access.view_of(session, actor, instance, row)
    form = tasks.form_of(session, row)
    if row.state == projection.OPEN:
        fresh = {f.key for f in form.fields if f.starts_empty} if form else set()
        data = {k: v for k, v in seen.data(instances.data_of(instance)).items() if k not in fresh}
    else:
        data = _form_values(session, seen, row, form, {})
    return TaskDetail(seen.task_line(row) or row, row, form, data)
