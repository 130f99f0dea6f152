"""An applicant's applications: the instances they started, newest first, each with its
project title, its stage (the process's name), its state and what it waits for (the open tasks
and who has them). Two indexed queries per page: the summaries by `started_by`, then the open
tasks of those instances; no workflow is loaded. Also which processes a user may start."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload

from engine.runtime import access, instances, projection
from engine.definitions import deployment, stages
from engine.core.errors import InvalidData
from engine.core.models import HumanTask, ProcessDefinition, ProcessInstance
from engine.core.principals import Actor
from engine.core.summaries import InstanceSummary

STATES = ("running", "completed", "suspended", "terminated", "error")


@dataclass(frozen=True)
class Application:
    id: int
    title: str
    process_key: str
    stage: str
    state: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    open_tasks: list[access.TaskLine]


def mine(session: Session, actor: Actor, state: str = "", page: int = 1,
         per_page: int = 20) -> tuple[list[Application], int]:
    if state and state not in STATES:
        raise InvalidData("unknown state", {"state": [f"Must be one of: {', '.join(STATES)}."]})
    page, per_page = max(1, page), min(max(1, per_page), 100)
    where = [InstanceSummary.started_by == actor.username]
    if state:
        where.append(ProcessInstance.state == state)
    # the definition's spec is large: only its name and content hash come along
    base = select(ProcessInstance, InstanceSummary.title, ProcessDefinition.name, ProcessDefinition.content_hash) \
        .options(lazyload(ProcessInstance.definition)) \
        .join(InstanceSummary, InstanceSummary.process_instance_id == ProcessInstance.id) \
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id).where(*where)
    total = session.scalar(select(func.count()).select_from(InstanceSummary)
                           .join(ProcessInstance, ProcessInstance.id == InstanceSummary.process_instance_id)
                           .where(*where)) or 0
    rows = session.execute(base.order_by(ProcessInstance.updated_at.desc(), ProcessInstance.id.desc())
                           .offset((page - 1) * per_page).limit(per_page)).all()
    waiting = open_tasks_of(session, [row[0].id for row in rows])
    # what of the open tasks the applicant may see (no other people's expert tasks): engine/runtime/access.py
    return [Application(i.id, title or "", i.process_key,
                        current_stage(session, i, content_hash, waiting.get(i.id, []), name),
                        i.state, i.started_at, i.updated_at, i.ended_at,
                        access.starter_task_lines(session, actor, i, waiting.get(i.id, [])))
            for i, title, name, content_hash in rows], total


def current_stage(session: Session, instance: ProcessInstance, content_hash: str, open_tasks: list[HumanTask],
                  name: str | None) -> str:
    """Where the application stands: the stage of its first open task, else its process."""
    first = open_tasks[0].name if open_tasks else None
    return stages.stage_of(session, instance.definition_id, content_hash, first, name or instance.process_key)


def open_tasks_of(session: Session, instance_ids: list[int]) -> dict[int, list[HumanTask]]:
    if not instance_ids:
        return {}
    result: dict[int, list[HumanTask]] = {}
    for row in session.scalars(select(HumanTask).where(
            HumanTask.process_instance_id.in_(instance_ids), HumanTask.state == projection.OPEN)
            .order_by(HumanTask.created_at)):
        result.setdefault(row.process_instance_id, []).append(row)
    return result


def startable(session: Session, actor: Actor) -> list[ProcessDefinition]:
    """Latest versions the actor may start that have a start form (the ones an applicant fills)."""
    return [d for d in deployment.latest_definitions(session)
            if instances.may_start(actor, d.meta) and d.meta.get("start_form_key")]
