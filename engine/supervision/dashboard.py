"""The supervisors' dashboard: figures about how the programme runs, computed from the audit log
(what happened in a period) and the task projection (what waits now). The definitions, which
the tests recompute from the audit log:

- instances per stage (now): live instances per process and state, and running instances per
  element they wait at (an open task there; none: waiting for a timer or a message);
- throughput per week (bureau weeks, Monday first) in the period: `instance_started`,
  `instance_completed`, and task closures (`task_completed` and `task_skipped`);
- cycle time per activity: for each task closed in the period, the working days from its
  `task_created` event to its closing event (`working_days_between`), per process and element:
  count, median and 90th percentile (linear interpolation between ranks, like numpy's default);
- SLA compliance: of the tasks closed in the period that had a due date (`due_at` of their
  `task_created` event), those closed at or before it are on time; per stage (process and
  element, skips included) and per reviewer (who completed it; skips are not the reviewer's);
- backlog (now): open tasks per assignee, and unclaimed ones per candidate group, with how many
  are overdue and the oldest;
- heatmap of one process: per BPMN element, how many instances wait there now (open tasks,
  timers, failures) and for how long (mean and max working days), with the period's closures.

The period's events are read through the indexes on `audit_events.at` and `.task_id`."""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable

from sqlalchemy import Index, case, func, select
from sqlalchemy.orm import Session

from engine.core import clock, names
from engine.lifecycle import calls
from engine.supervision import operations
from engine.definitions import elements, stages
from engine.runtime import projection
from engine.core.calendar import BUREAU_TZ, working_days_between
from engine.definitions.deployment import latest_definition
from engine.core.errors import InvalidData, NotFound
from engine.core.models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance
from engine.core.principals import Actor
from engine.core.principals import require_supervisor

# the dashboard joins completions to their creation by task id, and reads a period by action
Index("ix_audit_events_task_id", AuditEvent.task_id)
Index("ix_audit_events_action_at", AuditEvent.action, AuditEvent.at)

CLOSED = ("task_completed", "task_skipped")
DEFAULT_WEEKS = 12
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    @classmethod
    def of(cls, since: datetime | None, until: datetime | None) -> "Period":
        until = until or clock.now()
        since = since or week_start(until) - timedelta(weeks=DEFAULT_WEEKS - 1)
        if since >= until:
            raise InvalidData("the period is empty", {"since": ["Must be before 'until'."]})
        if (until - since).days > MAX_DAYS:
            raise InvalidData("the period is too long", {"since": ["At most three years."]})
        return cls(since, until)


def week_start(moment: datetime) -> datetime:
    local = moment.astimezone(BUREAU_TZ).date()
    monday = local - timedelta(days=local.weekday())
    return datetime.combine(monday, time.min, BUREAU_TZ)


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-quantile with linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def dashboard(session: Session, actor: Actor, since: datetime | None = None,
              until: datetime | None = None, process_key: str | None = None) -> dict[str, Any]:
    require_supervisor(actor, "see this")
    period = Period.of(since, until)
    closures = _closures(session, period, process_key)
    return {
        "since": period.since, "until": period.until, "process_key": process_key,
        "instances_per_stage": instances_per_stage(session, process_key),
        "throughput": throughput(session, period, process_key),
        "cycle_times": cycle_times(session, closures),
        "sla": sla(closures),
        "backlog": backlog(session, process_key),
    }


def dashboard_page(session: Session, actor: Actor, since: datetime | None = None, until: datetime | None = None,
                   process_key: str | None = None) -> tuple[dict[str, Any], names.Names]:
    """The dashboard's figures, with the schedulers' health, and the names of the people and
    groups its backlog lists."""
    figures = dashboard(session, actor, since, until, process_key)
    figures["schedulers"] = operations.scheduler_health(session, actor)
    figures["calls"] = calls_overview(session)
    backlog = figures["backlog"]
    return figures, names.lookup(session, [r["reviewer"] for r in backlog.get("reviewers", [])],
                                 [r["group"] for r in backlog.get("groups", [])])


CALLS_SHOWN = 6


def calls_overview(session: Session) -> list[dict[str, Any]]:
    """The latest published or closed calls for proposals, each with how many applied, what they
    requested, the funding approved so far and the budget (yuan): where each call's batch stands."""
    rows = session.scalars(select(calls.Call).where(calls.Call.status.in_(("published", "closed")))
                           .order_by(calls.Call.closes_at.desc()).limit(CALLS_SHOWN)).all()
    overview = []
    for call in rows:
        standing = calls.standing(session, call.key)
        totals = {k: sum(c[k] for c in standing["categories"]) for k in ("requested", "funded", "budget")}
        overview.append({"key": call.key, "title": call.title, "status": call.status,
                         "status_label": calls.STATUSES.get(call.status, call.status),
                         "closes_at": call.closes_at, "applied": standing["applied"], **totals})
    return overview


# ---- now: instances per stage, backlog ------------------------------------------------------------

def _names(session: Session) -> dict[str, ProcessDefinition]:
    newest: dict[str, ProcessDefinition] = {}
    for row in session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.version)):
        newest[row.key] = row
    return newest


def instances_per_stage(session: Session, process_key: str | None = None) -> dict[str, Any]:
    definitions = _names(session)
    states = select(ProcessInstance.process_key, ProcessInstance.state, func.count()) \
        .group_by(ProcessInstance.process_key, ProcessInstance.state)
    if process_key:
        states = states.where(ProcessInstance.process_key == process_key)
    by_process: dict[str, dict[str, Any]] = {}
    for key, state, count in session.execute(states):
        row = by_process.setdefault(key, {"process_key": key, "process_name": _process_name(definitions, key),
                                          "running": 0, "suspended": 0, "error": 0, "completed": 0,
                                          "terminated": 0})
        row[state] = row.get(state, 0) + count
    return {"by_process": sorted(by_process.values(), key=lambda r: r["process_key"]),
            "by_element": _running_by_element(session, definitions, process_key)}


def _process_name(definitions: dict[str, ProcessDefinition], key: str) -> str:
    definition = definitions.get(key)
    return (definition.name if definition else "") or key


def _running_by_element(session: Session, definitions: dict[str, ProcessDefinition],
                        process_key: str | None) -> list[dict[str, Any]]:
    waiting = select(HumanTask.process_key, HumanTask.name, func.min(HumanTask.title),
                     func.count(func.distinct(HumanTask.process_instance_id))) \
        .join(ProcessInstance, ProcessInstance.id == HumanTask.process_instance_id) \
        .where(HumanTask.state == projection.OPEN, ProcessInstance.state == "running") \
        .group_by(HumanTask.process_key, HumanTask.name)
    has_task = select(HumanTask.process_instance_id).where(HumanTask.state == projection.OPEN)
    elsewhere = select(ProcessInstance.process_key, func.count()) \
        .where(ProcessInstance.state == "running", ProcessInstance.id.not_in(has_task)) \
        .group_by(ProcessInstance.process_key)
    if process_key:
        waiting = waiting.where(HumanTask.process_key == process_key)
        elsewhere = elsewhere.where(ProcessInstance.process_key == process_key)
    rows = [{"process_key": key, "process_name": _process_name(definitions, key), "element": name,
             "element_name": title or name, "instances": count}
            for key, name, title, count in session.execute(waiting)]
    rows += [{"process_key": key, "process_name": _process_name(definitions, key), "element": None,
              "element_name": None, "instances": count} for key, count in session.execute(elsewhere)]
    return sorted(rows, key=lambda r: (r["process_key"], r["element"] is None, -r["instances"], r["element"] or ""))


def backlog(session: Session, process_key: str | None = None) -> dict[str, Any]:
    now = clock.now()
    stmt = select(HumanTask).join(ProcessInstance, ProcessInstance.id == HumanTask.process_instance_id) \
        .where(HumanTask.state == projection.OPEN, ProcessInstance.state == "running")
    if process_key:
        stmt = stmt.where(HumanTask.process_key == process_key)
    reviewers: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Any]] = {}
    for task in session.scalars(stmt):
        overdue = task.due_at is not None and task.due_at < now
        targets = [reviewers.setdefault(task.assignee, {"reviewer": task.assignee})] if task.assignee else \
            [groups.setdefault(g, {"group": g}) for g in task.candidate_groups]
        for row in targets:
            row["open"] = row.get("open", 0) + 1
            row["overdue"] = row.get("overdue", 0) + overdue
            oldest = row.get("oldest_created_at")
            row["oldest_created_at"] = task.created_at if oldest is None else min(oldest, task.created_at)
    for row in list(reviewers.values()) + list(groups.values()):
        row["oldest_age_days"] = working_days_between(row["oldest_created_at"], now)
    return {"reviewers": sorted(reviewers.values(), key=lambda r: (-r["open"], r["reviewer"])),
            "groups": sorted(groups.values(), key=lambda r: (-r["open"], r["group"]))}


# ---- the period: throughput, cycle times, SLA --------------------------------------------------------

def _events(session: Session, period: Period, actions: tuple[str, ...], process_key: str | None) -> list[Any]:
    """The events' columns and their element name, not their details: a completion's details
    hold the submitted data, and reading every one cost most of the dashboard's time."""
    stmt = select(AuditEvent.id, AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.task_id,
                  AuditEvent.process_instance_id, AuditEvent.details["name"].as_string().label("name")).where(
        AuditEvent.action.in_(actions), AuditEvent.at >= period.since, AuditEvent.at < period.until)
    if process_key:
        stmt = stmt.join(ProcessInstance, ProcessInstance.id == AuditEvent.process_instance_id) \
            .where(ProcessInstance.process_key == process_key)
    return list(session.execute(stmt.order_by(AuditEvent.at, AuditEvent.id)))


def throughput(session: Session, period: Period, process_key: str | None = None) -> list[dict[str, Any]]:
    weeks: dict[date, dict[str, Any]] = {}
    start = week_start(period.since)
    while start < period.until:
        monday = start.date()
        iso = monday.isocalendar()
        weeks[monday] = {"week": f"{iso.year}-W{iso.week:02d}", "week_start": monday,
                         "started": 0, "completed": 0, "tasks_closed": 0}
        start = datetime.combine(monday + timedelta(weeks=1), time.min, BUREAU_TZ)
    column = {"instance_started": "started", "instance_completed": "completed",
              "task_completed": "tasks_closed", "task_skipped": "tasks_closed"}
    for event in _events(session, period, tuple(column), process_key):
        monday = week_start(event.at).date()
        if monday in weeks:
            weeks[monday][column[event.action]] += 1
    return list(weeks.values())


@dataclass(frozen=True)
class Closure:
    task_id: str
    process_key: str
    element: str
    element_name: str
    closed_by: str | None
    skipped: bool
    created_at: datetime
    closed_at: datetime
    due_at: datetime | None

    @property
    def working_days(self) -> int:
        return working_days_between(self.created_at, self.closed_at)

    @property
    def on_time(self) -> bool:
        return self.due_at is not None and self.closed_at <= self.due_at


def _closures(session: Session, period: Period, process_key: str | None) -> list[Closure]:
    closed = _events(session, period, CLOSED, process_key)
    ids = [e.task_id for e in closed if e.task_id]
    created: dict[str, Any] = {}
    for start in range(0, len(ids), 500):
        for event in session.execute(select(
                AuditEvent.task_id, AuditEvent.at, AuditEvent.details["name"].as_string().label("name"),
                AuditEvent.details["due_at"].as_string().label("due_at")).where(
                AuditEvent.action == "task_created", AuditEvent.task_id.in_(ids[start:start + 500]))):
            created[event.task_id] = event
    keys = _process_keys(session, {e.process_instance_id for e in closed if e.process_instance_id})
    titles = _task_titles(session, ids)
    result = []
    for event in closed:
        origin = created.get(event.task_id or "")
        if origin is None:
            continue  # created before the audit log began (or archived): no cycle to measure
        element = event.name or origin.name or ""
        due = origin.due_at
        result.append(Closure(task_id=event.task_id or "", element=element,
                              process_key=keys.get(event.process_instance_id or 0, ""),
                              element_name=titles.get(event.task_id or "", element),
                              closed_by=event.actor, skipped=event.action == "task_skipped",
                              created_at=origin.at, closed_at=event.at,
                              due_at=datetime.fromisoformat(due) if due else None))
    return result


def _process_keys(session: Session, instance_ids: set[int]) -> dict[int, str]:
    ids, found = sorted(instance_ids), {}
    for start in range(0, len(ids), 500):
        found.update(session.execute(select(ProcessInstance.id, ProcessInstance.process_key)
                                     .where(ProcessInstance.id.in_(ids[start:start + 500]))).all())
    return found


def _task_titles(session: Session, task_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(task_ids), 500):
        found.update(session.execute(select(HumanTask.id, HumanTask.title)
                                     .where(HumanTask.id.in_(task_ids[start:start + 500]))).all())
    return found


def cycle_times(session: Session, closures: list[Closure]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[Closure]] = defaultdict(list)
    for closure in closures:
        groups[(closure.process_key, closure.element)].append(closure)
    rows = []
    for (key, element), items in sorted(groups.items()):
        days = [c.working_days for c in items]
        rows.append({"process_key": key, "element": element, "element_name": items[-1].element_name,
                     "count": len(days), "median_days": statistics.median(days),
                     "p90_days": percentile(days, 0.9), "max_days": max(days)})
    return rows


def sla(closures: list[Closure]) -> dict[str, list[dict[str, Any]]]:
    with_due = [c for c in closures if c.due_at is not None]
    stages: dict[tuple[str, str], list[Closure]] = defaultdict(list)
    reviewers: dict[str, list[Closure]] = defaultdict(list)
    for closure in with_due:
        stages[(closure.process_key, closure.element)].append(closure)
        if not closure.skipped and closure.closed_by:
            reviewers[closure.closed_by].append(closure)
    return {
        "stages": [{"process_key": key, "element": element, "element_name": items[-1].element_name,
                    **_compliance(items)} for (key, element), items in sorted(stages.items())],
        "reviewers": [{"reviewer": name, **_compliance(items)} for name, items in sorted(reviewers.items())],
    }


def _compliance(items: list[Closure]) -> dict[str, Any]:
    on_time = sum(1 for c in items if c.on_time)
    return {"with_due_date": len(items), "on_time": on_time, "late": len(items) - on_time,
            "rate": round(on_time / len(items), 4) if items else None}


# ---- the heatmap ---------------------------------------------------------------------------------

def busiest_process(session: Session, actor: Actor, keys: Iterable[str]) -> str | None:
    """The process the heatmap opens on when none is chosen: of these (deployed) keys, the one
    with the most running instances, then the most instances; the first key when none has any,
    so the page never opens on an empty diagram while another has data."""
    require_supervisor(actor, "see this")
    keys = list(keys)
    if not keys:
        return None
    running = func.sum(case((ProcessInstance.state == "running", 1), else_=0))
    row = session.execute(select(ProcessInstance.process_key).where(ProcessInstance.process_key.in_(keys))
                          .group_by(ProcessInstance.process_key)
                          .order_by(running.desc(), func.count().desc(), ProcessInstance.process_key)
                          .limit(1)).first()
    return row[0] if row else keys[0]


def heatmap(session: Session, actor: Actor, process_key: str, version: int | None = None,
            since: datetime | None = None, until: datetime | None = None,
            stage: str | None = None) -> dict[str, Any]:
    """Per BPMN element of one process: who waits there now and for how long, and the
    period's closures; with the diagram of the version shown (the newest by default).

    For a process that calls one process per stage (the lifecycle), what waits inside a stage is
    counted on the root's call activity of that stage, so the root's diagram shows where the
    programme stands; with `stage` (a called process key) the heatmap is that stage's own
    diagram, counting the root process's instances that wait inside it."""
    require_supervisor(actor, "see this")
    definition = _definition(session, process_key, version)
    calls = stages.stage_calls(definition)
    shown = definition
    if stage is not None:
        if stage not in {key for _, key in calls.values()}:
            raise NotFound(f"process '{process_key}' has no stage '{stage}'")
        shown = latest_definition(session, stage) or definition

    def place(element: str) -> str | None:
        call = calls.get(element)
        if stage is None:
            return call[0] if call else element
        return element if call is not None and call[1] == stage else None

    period = Period.of(since, until)
    now = clock.now()
    waits: dict[str, list[float]] = defaultdict(list)
    overdue: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    timers: dict[str, int] = defaultdict(int)
    live = [ProcessInstance.process_key == process_key]
    if version is not None:
        live.append(ProcessInstance.version == version)
    tasks = select(HumanTask.name, HumanTask.created_at, HumanTask.due_at) \
        .join(ProcessInstance, ProcessInstance.id == HumanTask.process_instance_id) \
        .where(HumanTask.state == projection.OPEN, ProcessInstance.state == "running", *live)
    for name, created_at, due_at in session.execute(tasks):
        if (at := place(name)) is not None:
            waits[at].append(working_days_between(created_at, now))
            overdue[at] += due_at is not None and due_at < now
    for element, updated_at in session.execute(select(ProcessInstance.error_element, ProcessInstance.updated_at)
                                               .where(ProcessInstance.state == "error", *live)):
        if element and (at := place(element)) is not None:
            waits[at].append(working_days_between(updated_at, now))
            failed[at] += 1
    timer_rows = session.scalars(select(ProcessInstance).where(
        ProcessInstance.state == "running", ProcessInstance.next_timer_at.is_not(None), *live).limit(5000))
    for instance in timer_rows:
        for element in elements.waiting_timers(instance.definition, instance.document):
            if (at := place(element)) is not None:
                waits[at].append(working_days_between(instance.updated_at, now))
                timers[at] += 1
    done: dict[str, list[int]] = defaultdict(list)
    for closure in _closures(session, period, process_key):
        if (at := place(closure.element)) is not None:
            done[at].append(closure.working_days)
    known = elements.elements(shown)
    rows = []
    for element in sorted(set(waits) | set(done)):
        days = waits.get(element, [])
        rows.append({"element": element, "name": known[element].name if element in known else element,
                     "waiting": len(days), "overdue": overdue.get(element, 0),
                     "failed": failed.get(element, 0), "timers": timers.get(element, 0),
                     "mean_wait_days": round(sum(days) / len(days), 2) if days else None,
                     "max_wait_days": max(days) if days else None,
                     "closed": len(done.get(element, [])),
                     "median_cycle_days": statistics.median(done[element]) if done.get(element) else None})
    root_elements = elements.elements(definition)
    stage_list = [{"key": key, "element": call, "name": root_elements[call].name if call in root_elements else key}
                  for call, key in dict.fromkeys(calls.values())]
    return {"process_key": definition.key, "version": definition.version, "name": definition.name,
            "since": period.since, "until": period.until, "elements": rows,
            "stage": stage, "stage_name": shown.name if stage else None, "stages": stage_list,
            "diagram": elements.diagram(session, shown).decode("utf-8")}


def _definition(session: Session, process_key: str, version: int | None) -> ProcessDefinition:
    if version is None:
        return latest_definition(session, process_key)  # type: ignore[return-value]
    definition = session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.key == process_key, ProcessDefinition.version == version))
    if definition is None:
        raise NotFound(f"no version {version} of process '{process_key}'")
    return definition
