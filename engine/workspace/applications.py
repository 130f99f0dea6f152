"""An applicant's applications: the instances they started, newest first, each with its
project title, its stage (the process's name), its state and what it waits for (the open tasks
and who has them). Two indexed queries per page: the summaries by `started_by`, then the open
tasks of those instances; no workflow is loaded. Also which processes a user may start."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload

from engine.runtime import access, instances, outcome as outcomes, projection
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
    outcome: outcomes.Outcome | None = None


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
                        access.starter_task_lines(session, actor, i, waiting.get(i.id, [])),
                        outcomes.for_starter(session, actor, i))
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


BUILDING_BLOCK = "buildingBlock"


def is_building_block(definition: ProcessDefinition, called: set[str]) -> bool:
    """A process other processes are made of: declared so, or called by another process."""
    declared = str((definition.meta.get("properties") or {}).get(BUILDING_BLOCK) or "").strip().lower()
    return declared in ("true", "yes", "1") or definition.key in called


def startable(session: Session, actor: Actor) -> list[ProcessDefinition]:
    """Latest versions the actor may start as an application: with a start form (the one an
    applicant fills), and not a building block."""
    latest = deployment.latest_definitions(session)
    called = {key for d in latest for key in d.meta.get("calls") or []}
    return [d for d in latest if instances.may_start(actor, d.meta) and d.meta.get("start_form_key")
            and not is_building_block(d, called)]
