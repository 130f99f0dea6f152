"""Which process instances a supervisor's bulk intervention acts on: either explicit ids, or a
filter (process, state, the element an instance waits or failed at, start and last-change
dates, project title, or a kind of the attention list), resolved in the database into an id
list of at most `MAX_SELECTED` instances, oldest first. The same filter serves the preview and
the run, so what is previewed is what is changed (ids are resolved once and passed on)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from engine.supervision import attention
from engine.runtime import projection
from engine.core.errors import InvalidData
from engine.core.models import HumanTask, ProcessInstance
from engine.core.principals import Actor
from engine.core.summaries import InstanceSummary
from engine.core.principals import require_supervisor

STATES = ("running", "suspended", "error", "completed", "terminated")
MAX_SELECTED = 10_000


@dataclass(frozen=True)
class InstanceFilter:
    ids: tuple[int, ...] = ()
    process_key: str | None = None
    version: int | None = None
    states: tuple[str, ...] = ()
    element: str | None = None          # an open task there, or failed there
    started_after: datetime | None = None
    started_before: datetime | None = None
    updated_before: datetime | None = None
    q: str | None = None                # part of the project title
    attention_kind: str | None = None   # only instances with an item of this kind

    def is_empty(self) -> bool:
        return not any((self.ids, self.process_key, self.version, self.states, self.element,
                        self.started_after, self.started_before, self.updated_before, self.q,
                        self.attention_kind))


def _check(selection: InstanceFilter) -> None:
    problems: dict[str, list[str]] = {}
    if selection.is_empty():
        problems["selection"] = ["Give instance ids or at least one filter."]
    bad = [s for s in selection.states if s not in STATES]
    if bad:
        problems["states"] = [f"Must be some of: {', '.join(STATES)}."]
    if selection.attention_kind and selection.attention_kind not in attention.KINDS:
        problems["attention_kind"] = [f"Must be one of: {', '.join(attention.KINDS)}."]
    if len(selection.ids) > MAX_SELECTED:
        problems["ids"] = [f"At most {MAX_SELECTED} at once."]
    if problems:
        raise InvalidData("the selection is invalid", problems)


def resolve(session: Session, actor: Actor, selection: InstanceFilter) -> list[int]:
    require_supervisor(actor, "see this")
    _check(selection)
    stmt = select(ProcessInstance.id).where(*_conditions(selection))
    if selection.q:
        stmt = stmt.join(InstanceSummary, InstanceSummary.process_instance_id == ProcessInstance.id) \
            .where(InstanceSummary.title.icontains(selection.q.strip(), autoescape=True))
    ids = list(session.scalars(stmt.order_by(ProcessInstance.started_at, ProcessInstance.id)
                               .limit(MAX_SELECTED + 1)))
    if selection.ids:
        wanted = set(selection.ids)
        ids = [i for i in ids if i in wanted]
    if selection.attention_kind:
        flagged = set(attention.instance_ids(session, actor, attention.Filters(
            kinds=(selection.attention_kind,), process_key=selection.process_key)))
        ids = [i for i in ids if i in flagged]
    if len(ids) > MAX_SELECTED:
        raise InvalidData("the selection is too large",
                          {"selection": [f"More than {MAX_SELECTED} instances; narrow the filter."]})
    return ids


def _conditions(selection: InstanceFilter) -> list[Any]:
    where: list[Any] = []
    if selection.ids:
        where.append(ProcessInstance.id.in_(selection.ids))
    if selection.process_key:
        where.append(ProcessInstance.process_key == selection.process_key)
    if selection.version is not None:
        where.append(ProcessInstance.version == selection.version)
    if selection.states:
        where.append(ProcessInstance.state.in_(selection.states))
    if selection.element:
        at_task = exists().where(HumanTask.process_instance_id == ProcessInstance.id,
                                 HumanTask.state == projection.OPEN, HumanTask.name == selection.element)
        where.append(or_(at_task, ProcessInstance.error_element == selection.element))
    if selection.started_after:
        where.append(ProcessInstance.started_at >= selection.started_after)
    if selection.started_before:
        where.append(ProcessInstance.started_at < selection.started_before)
    if selection.updated_before:
        where.append(ProcessInstance.updated_at < selection.updated_before)
    return where
