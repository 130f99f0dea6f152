"""The supervisors' attention list: everything that waits on a supervisor, in one list of
items of five kinds, each with its age, its stage (process and BPMN element), the project's
title, and who or what it waits for.

- `error`: an instance stopped by a failing script, expression or gateway (message, element);
- `overdue`: an open task past its due date;
- `unassignable`: an open task nobody can take: no active user is its assignee, a candidate
  user, or a member of a candidate group;
- `quiet`: a running instance without any change for N working days (default 10) that is not
  simply waiting for a timer in the future;
- `timer`: a timer that should have fired more than a grace period ago (the scheduler is down
  or failing).

Each kind is one indexed query over the instance rows and the task projection (no workflow is
restored; timer elements are read from the stored document); the items are then filtered,
sorted and paged in memory, which is bounded by `MAX_PER_KIND`."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from sqlalchemy import Index, and_, exists, literal, select
from sqlalchemy.orm import Session

from engine.core import clock, names
from engine.definitions import elements, escalation_policy, stages
from engine.runtime import projection
from engine.core.calendar import quiet_cutoff, working_days_between
from engine.core.errors import InvalidData
from engine.core.models import Group, HumanTask, Membership, ProcessInstance, TaskCandidate, User
from engine.core.principals import Actor
from engine.core.summaries import InstanceSummary
from engine.core.principals import require_supervisor

KINDS = ("error", "overdue", "unassignable", "quiet", "timer")
SORTS = ("age", "-age", "kind", "process", "title", "element", "instance")
MAX_PER_KIND = 5000
QUIET_DAYS_DEFAULT = escalation_policy.STUCK_AFTER_DEFAULT
TIMER_GRACE_MINUTES_DEFAULT = 60
SCHEDULER, SUPERVISORS = "scheduler", "group:supervisors"

# quiet instances are found by state and last change
Index("ix_process_instances_state_updated_at", ProcessInstance.state, ProcessInstance.updated_at)


@dataclass(frozen=True)
class Filters:
    kinds: tuple[str, ...] = KINDS
    process_key: str | None = None
    element: str | None = None
    waiting_for: str | None = None     # a user name or a group name
    q: str | None = None               # part of the project title, an instance id or a business key
    min_age_days: int = 0              # working days
    quiet_days: int = QUIET_DAYS_DEFAULT
    timer_grace_minutes: int = TIMER_GRACE_MINUTES_DEFAULT
    sort: str = "-age"

    def checked(self) -> "Filters":
        problems: dict[str, list[str]] = {}
        bad = [k for k in self.kinds if k not in KINDS]
        if bad or not self.kinds:
            problems["kinds"] = [f"Must be some of: {', '.join(KINDS)}."]
        if self.sort not in SORTS:
            problems["sort"] = [f"Must be one of: {', '.join(SORTS)}."]
        if not 1 <= self.quiet_days <= 365:
            problems["quiet_days"] = ["Must be between 1 and 365 working days."]
        if not 0 <= self.timer_grace_minutes <= 7 * 24 * 60:
            problems["timer_grace_minutes"] = ["Must be between 0 and 10080 minutes."]
        if not 0 <= self.min_age_days <= 3650:
            problems["min_age_days"] = ["Must be between 0 and 3650 working days."]
        if problems:
            raise InvalidData("the filters are invalid", problems)
        return self


@dataclass
class Item:
    kind: str
    instance_id: int
    process_key: str
    process_name: str
    version: int
    state: str
    title: str
    element: str | None
    element_name: str | None
    task_id: str | None
    since: datetime
    waiting_for: list[str]
    message: str = ""
    stage: str = ""             # the stage process the element sits in (the process when flat)
    age_days: int = 0           # whole working days since `since`
    age_hours: float = 0.0
    business_key: str | None = None  # another system's name for the instance (searchable by q)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AttentionPage:
    items: list[Item]
    total: int
    page: int
    per_page: int
    counts: dict[str, int] = field(default_factory=dict)


def attention(session: Session, actor: Actor, filters: Filters = Filters(), page: int = 1,
              per_page: int = 50) -> AttentionPage:
    items, counts = collect(session, actor, filters)
    start = (page - 1) * per_page
    return AttentionPage(items[start:start + per_page], len(items), page, per_page, counts)


def collect(session: Session, actor: Actor, filters: Filters = Filters()) -> tuple[list[Item], dict[str, int]]:
    """All matching items, sorted, and the count per kind (with every filter but the kind)."""
    require_supervisor(actor, "see this")
    filters = filters.checked()
    now = clock.now()
    everything: list[Item] = []
    for kind, finder in FINDERS.items():
        everything.extend(finder(session, filters, now))
    _fill_titles(session, everything)
    for item in everything:
        item.age_days = max(0, working_days_between(item.since, now))
        item.age_hours = round(max(0.0, (now - item.since).total_seconds() / 3600), 1)
    kept = [i for i in everything if _matches(i, filters)]
    counts = {kind: sum(1 for i in kept if i.kind == kind) for kind in KINDS}
    chosen = [i for i in kept if i.kind in filters.kinds]
    return sort_items(chosen, filters.sort), counts


def instance_ids(session: Session, actor: Actor, filters: Filters) -> list[int]:
    """The distinct instances of the matching items, in list order (a bulk selection)."""
    items, _ = collect(session, actor, filters)
    return list(dict.fromkeys(i.instance_id for i in items))


def _matches(item: Item, filters: Filters) -> bool:
    if filters.element and item.element != filters.element:
        return False
    if filters.waiting_for:
        wanted = filters.waiting_for.strip()
        if wanted not in item.waiting_for and f"group:{wanted}" not in item.waiting_for:
            return False
    if filters.q:
        needle = filters.q.strip().lower()
        if needle not in item.title.lower() and needle != str(item.instance_id) and \
                needle != (item.business_key or "").lower():
            return False
    return item.age_days >= filters.min_age_days


_SORT_KEYS: dict[str, Callable[[Item], Any]] = {
    "age": lambda i: (-i.since.timestamp(), i.instance_id),
    "-age": lambda i: (i.since.timestamp(), i.instance_id),
    "kind": lambda i: (KINDS.index(i.kind), i.since.timestamp(), i.instance_id),
    "process": lambda i: (i.process_key, i.element or "", i.since.timestamp(), i.instance_id),
    "title": lambda i: (i.title or "\uffff", i.instance_id),
    "element": lambda i: (i.element or "", i.since.timestamp(), i.instance_id),
    "instance": lambda i: (i.instance_id, KINDS.index(i.kind)),
}


def attention_page(session: Session, actor: Actor, *args: Any, **kwargs: Any) -> tuple[AttentionPage, names.Names]:
    """The attention list and the names of the people and groups its items wait for."""
    result = attention(session, actor, *args, **kwargs)
    keys = [k for item in result.items for k in item.waiting_for if k != "scheduler"]
    return result, names.lookup(session, [k for k in keys if not k.startswith("group:")],
                                [k[6:] for k in keys if k.startswith("group:")])


def sort_items(items: list[Item], sort: str) -> list[Item]:
    """`-age` (the default) puts the oldest first; `age` the newest."""
    return sorted(items, key=_SORT_KEYS[sort])


# ---- the five kinds ------------------------------------------------------------------------------

def _instances(session: Session, filters: Filters, *where: Any) -> list[ProcessInstance]:
    stmt = select(ProcessInstance).where(*where)
    if filters.process_key:
        stmt = stmt.where(ProcessInstance.process_key == filters.process_key)
    return list(session.scalars(stmt.order_by(ProcessInstance.id).limit(MAX_PER_KIND)))


def _tasks(session: Session, filters: Filters, *where: Any) -> list[tuple[HumanTask, ProcessInstance]]:
    stmt = (select(HumanTask, ProcessInstance)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.process_instance_id)
            .where(HumanTask.state == projection.OPEN, ProcessInstance.state == "running", *where))
    if filters.process_key:
        stmt = stmt.where(ProcessInstance.process_key == filters.process_key)
    return [(t, i) for t, i in session.execute(stmt.order_by(HumanTask.created_at, HumanTask.id)
                                               .limit(MAX_PER_KIND))]


def _base(kind: str, instance: ProcessInstance, element: str | None, since: datetime,
          waiting_for: list[str], message: str = "", task: HumanTask | None = None) -> Item:
    definition = instance.definition
    element_name = task.title if task is not None else elements.name_of(definition, element)
    process_name = definition.name or instance.process_key
    own, stage_names = stages.stage_map(definition)
    return Item(kind=kind, instance_id=instance.id, process_key=instance.process_key,
                process_name=process_name, version=instance.version,
                state=instance.state, title="", element=element, element_name=element_name,
                task_id=task.id if task is not None else None, since=since,
                waiting_for=waiting_for, message=message,
                stage=stage_names.get(element or "", own or process_name))


def holders(task: HumanTask) -> list[str]:
    """Who a task waits for: its assignee, else its candidates (groups as `group:NAME`)."""
    if task.assignee:
        return [task.assignee]
    return list(task.candidate_users) + [f"group:{g}" for g in task.candidate_groups]


def _errors(session: Session, filters: Filters, now: datetime) -> list[Item]:
    return [_base("error", i, i.error_element, i.updated_at, [SUPERVISORS], i.error_message or "")
            for i in _instances(session, filters, ProcessInstance.state == "error")]


def _overdue(session: Session, filters: Filters, now: datetime) -> list[Item]:
    return [_base("overdue", i, t.name, t.due_at, holders(t), task=t)  # type: ignore[arg-type]
            for t, i in _tasks(session, filters, HumanTask.due_at < now)]


def nobody_can_take() -> Any:
    """SQL condition on HumanTask: no active user is its assignee, one of its candidate users,
    or a member of one of its candidate groups."""
    active_assignee = exists().where(User.username == HumanTask.assignee, User.active.is_(True))
    active_candidate = exists().where(
        TaskCandidate.task_id == HumanTask.id,
        TaskCandidate.principal == literal("u:") + User.username, User.active.is_(True))
    staffed_group = exists().where(
        TaskCandidate.task_id == HumanTask.id,
        TaskCandidate.principal == literal("g:") + Group.name,
        Membership.group_id == Group.id, User.id == Membership.user_id, User.active.is_(True))
    return ~active_assignee & ~active_candidate & ~staffed_group


def _unassignable(session: Session, filters: Filters, now: datetime) -> list[Item]:
    items = []
    for task, instance in _tasks(session, filters, nobody_can_take()):
        who = holders(task)
        message = ("nobody is named to do it" if not who else
                   "no active user is its assignee, a candidate, or in a candidate group")
        items.append(_base("unassignable", instance, task.name, task.created_at, who, message, task))
    return items


def _quiet(session: Session, filters: Filters, now: datetime) -> list[Item]:
    has_open_task = exists().where(HumanTask.process_instance_id == ProcessInstance.id,
                                   HumanTask.state == projection.OPEN)
    only_a_future_timer = and_(ProcessInstance.next_timer_at > now, ~has_open_task)
    rows = _instances(session, filters, ProcessInstance.state == "running",
                      ProcessInstance.updated_at < quiet_cutoff(now, filters.quiet_days),
                      ~only_a_future_timer)
    open_tasks = projection.open_tasks_of(session, [r.id for r in rows])
    items = []
    for instance in rows:
        waiting = open_tasks.get(instance.id, [])
        who = list(dict.fromkeys(h for t in waiting for h in holders(t))) or [SUPERVISORS]
        element = waiting[0].name if waiting else None
        days = working_days_between(instance.updated_at, now)
        items.append(_base("quiet", instance, element, instance.updated_at, who,
                           f"no progress for {days} working days", waiting[0] if waiting else None))
    return items


def _timers(session: Session, filters: Filters, now: datetime) -> list[Item]:
    late = now - timedelta(minutes=filters.timer_grace_minutes)
    items = []
    for instance in _instances(session, filters, ProcessInstance.state == "running",
                               ProcessInstance.next_timer_at < late):
        waiting = elements.waiting_timers(instance.definition, instance.document)
        items.append(_base("timer", instance, waiting[0] if waiting else None,
                           instance.next_timer_at, [SCHEDULER],  # type: ignore[arg-type]
                           "the timer was due but has not fired: is the scheduler running?"))
    return items


FINDERS: dict[str, Callable[[Session, Filters, datetime], list[Item]]] = {
    "error": _errors, "overdue": _overdue, "unassignable": _unassignable, "quiet": _quiet,
    "timer": _timers,
}


def _fill_titles(session: Session, items: list[Item]) -> None:
    ids = sorted({i.instance_id for i in items})
    titles: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        titles.update(session.execute(select(InstanceSummary.process_instance_id, InstanceSummary.title)
                                      .where(InstanceSummary.process_instance_id.in_(ids[start:start + 500]))).all())
    keys: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        keys.update(session.execute(select(ProcessInstance.id, ProcessInstance.business_key).where(
            ProcessInstance.id.in_(ids[start:start + 500]), ProcessInstance.business_key.is_not(None))).all())
    for item in items:
        item.title = titles.get(item.instance_id, "")
        item.business_key = keys.get(item.instance_id)


def with_kinds(filters: Filters, kinds: Iterable[str]) -> Filters:
    return replace(filters, kinds=tuple(kinds))
