"""The human-task projection: after every command, the READY user tasks of the workflow are
mirrored into `human_tasks` (with resolved assignment and due date) and `task_candidates`
(one row per candidate principal, so inbox queries are indexed lookups). Tasks that are no
longer ready and were not completed by a user become `cancelled`. A candidate row repeats
whether its task is claimed, its due date, its creation and its kind (what the inbox filters,
orders and offers as choices by); a `before_flush` hook keeps them in step with every change of
a task made through the session, and the scheduler's set-wise rewrite writes them itself."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import bindparam, delete, event, inspect, or_, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.runtime import assignment
from engine.core import audit, bulk, clock
from engine.definitions import duedates, escalation_policy
from engine.core.models import HumanTask, ProcessInstance, TaskCandidate

OPEN, COMPLETED, CANCELLED = "open", "completed", "cancelled"


def ready_user_tasks(workflow: BpmnWorkflow) -> list[Any]:
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def sync(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow,
         actor: str | None, ready_tasks: list[Any] | None = None) -> list[HumanTask]:
    """Bring the projection in line with the workflow; returns the instance's open tasks.
    `ready_tasks` saves a walk over the task tree when the caller already has them."""
    if ready_tasks is None:
        ready_tasks = ready_user_tasks(workflow)
    ready = {str(t.id): t for t in ready_tasks} if instance.state == "running" else {}
    rows = _rows_of(session, instance, workflow, ready)
    open_rows, known = [], {row.id for row in rows}
    for row in rows:
        if row.id in ready:
            if row.state == OPEN:
                open_rows.append(row)
            continue
        if row.state != OPEN:
            continue
        row.state = CANCELLED
        row.completed_at = clock.now()
        escalation_policy.stop(row)
        _drop_candidates(session, row)
        audit.record(session, "task_cancelled", actor, instance_id=instance.id, task_id=row.id,
                     name=row.name)
    for task_id, task in ready.items():
        if task_id not in known:
            open_rows.append(_create(session, instance, workflow, task, actor))
    return open_rows


def known_rows(session: Session, instance: ProcessInstance, rows: list[HumanTask]) -> None:
    """The command has read all of the instance's open rows (a completion reads them with its
    task): the next `sync` of this instance takes them instead of reading them again."""
    session.info.setdefault("known_rows", {})[instance.id] = rows


def note_ready(workflow: BpmnWorkflow) -> None:
    """Before a completion runs the workflow on: the tasks that are ready now. Only such a task
    can have a row that is not open (an instance's error cancels its rows, its tasks stay
    ready); one that becomes ready during the command has none, so the projection need not
    look for it."""
    ready = TaskState.READY
    workflow.__dict__["_engine_ready_before"] = {
        task_id for flow in (workflow, *workflow.subprocesses.values())
        for task_id, task in flow.tasks.items() if task._state & ready}


def _rows_of(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow,
             ready: dict[str, Any]) -> list[HumanTask]:
    """The instance's open rows and any earlier row of a ready task (one that a supervisor or a
    migration made ready again keeps its row), in one query, or none when the command read the
    open rows already (`known_rows`) and no ready task without a row among them was ready
    before the command (`note_ready`). No autoflush, so that the command's changes reach the database in one
    flush at the end: rows changed in this session keep their in-memory state (a row closed
    just now is not open any more), and rows added in this session, not yet in the database,
    are taken from the session."""
    ready_before = workflow.__dict__.pop("_engine_ready_before", None)
    known = session.info.get("known_rows", {}).pop(instance.id, None)
    if known is not None:
        found = {row.id: row for row in known}
        unsure = [task_id for task_id, task in ready.items() if task_id not in found
                  and (ready_before is None or task.id in ready_before)]
        if unsure:
            with session.no_autoflush:
                found.update((row.id, row) for row in session.scalars(
                    select(HumanTask).where(HumanTask.id.in_(unsure))))
    else:
        with session.no_autoflush:
            found = {row.id: row for row in session.scalars(select(HumanTask).where(
                HumanTask.process_instance_id == instance.id,
                or_(HumanTask.state == OPEN, HumanTask.id.in_(list(ready)))))}
    for pending in session.new:
        if isinstance(pending, HumanTask) and pending.process_instance_id == instance.id:
            found.setdefault(pending.id, pending)
    return list(found.values())


def _create(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, task: Any,
            actor: str | None) -> HumanTask:
    spec = task.task_spec
    evaluate = _evaluator(workflow, task)
    who = assignment.resolve(spec, evaluate)
    extensions = getattr(spec, "extensions", None) or {}
    attributes = extensions.get("attributes", {})
    properties = extensions.get("properties", {})
    created = clock.now()
    due = duedates.due_at(attributes.get("dueDate"), properties.get("dueWorkingDays"), created, evaluate)
    form = getattr(spec, "form", None)
    form_key = form.key.rsplit(":", 1)[-1] if form is not None and form.key else None
    row = HumanTask(id=str(task.id), process_instance_id=instance.id, process_key=instance.process_key,
                    name=spec.bpmn_id, title=_title(spec, properties, evaluate), lane=spec.lane,
                    state=OPEN, assignee=who.assignee, candidate_groups=who.candidate_groups,
                    candidate_users=who.candidate_users, form_key=form_key, created_at=created,
                    due_at=due)
    escalation_policy.schedule(row, escalation_policy.policy_for(session, instance, properties, spec.bpmn_id))
    _insert(session, row)
    candidates = _candidate_values(row)
    if candidates:
        session.connection().execute(_CANDIDATES.insert(), candidates)
    audit.record(session, "task_created", actor, instance_id=instance.id, task_id=row.id,
                 name=row.name, assignee=row.assignee, candidate_groups=row.candidate_groups,
                 candidate_users=row.candidate_users, due_at=due.isoformat() if due else None)
    return row


def reroute(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, row: HumanTask,
            task: Any) -> None:
    """Resolve an open task's routing again from its (new) spec, as after a version migration:
    title, lane, form and assignment follow the spec; a claim is released."""
    spec = task.task_spec
    evaluate = _evaluator(workflow, task)
    who = assignment.resolve(spec, evaluate)
    form = getattr(spec, "form", None)
    row.title = _title(spec, (getattr(spec, "extensions", None) or {}).get("properties", {}), evaluate)
    row.lane = spec.lane
    row.form_key = form.key.rsplit(":", 1)[-1] if form is not None and form.key else None
    row.assignee, row.candidate_groups, row.candidate_users = who.assignee, who.candidate_groups, who.candidate_users
    set_candidates(session, row)


def _insert(session: Session, row: HumanTask) -> None:
    """A new task row written at once as one Core INSERT and put in the session as persistent
    and unchanged, so that the command's flush has nothing to do for it (the unit of work cost
    more than the INSERT). Every column is set on the object first: one left unset would be
    expired, and read back with a SELECT when first used."""
    values = {}
    for key, column in _COLUMNS:
        if key not in row.__dict__:
            setattr(row, key, _default(column))
        values[column.name] = row.__dict__[key]
    session.connection().execute(_TASKS.insert(), values)
    make_transient_to_detached(row)
    session.add(row)


def set_candidates(session: Session, row: HumanTask, new: bool = False) -> None:
    """Index rows for "open tasks I may claim"; the assignee is indexed on the task itself."""
    if not new:
        _drop_candidates(session, row)
    session.add_all(TaskCandidate(task_id=row.id, principal=p, **_sort_keys(row)) for p in principals_of(row))


def set_candidates_of_many(session: Session, rows: list[Any]) -> None:
    """`set_candidates` for a whole batch (the scheduler's escalation steps rewrite thousands after
    downtime): one DELETE, one bulk insert. Rows are anything with an id, candidate lists, an
    assignee and a due date; the creation moment, which the scheduler's rows do not carry, is
    copied from the tasks."""
    ids = [r.id for r in rows]
    session.execute(delete(TaskCandidate).where(bulk.among(session, TaskCandidate.task_id, ids))
                    .execution_options(synchronize_session=False))
    bulk.insert_rows(session, TaskCandidate.__table__, [values for r in rows for values in _candidate_values(r)])
    if rows and getattr(rows[0], "created_at", None) is None:
        created = select(HumanTask.created_at).where(HumanTask.id == TaskCandidate.task_id).scalar_subquery()
        session.execute(update(TaskCandidate).where(bulk.among(session, TaskCandidate.task_id, ids))
                        .values(created_at=created).execution_options(synchronize_session=False))


def _sort_keys(row: Any) -> dict[str, Any]:
    """What a candidate row repeats of its task (see TaskCandidate); the scheduler's rows carry
    no creation moment (set_candidates_of_many copies it from the tasks)."""
    return {"claimed": bool(row.assignee), "due_at": row.due_at, "created_at": getattr(row, "created_at", None),
            "kind": kind_of(row.process_key, row.name, row.title)}


def _candidate_values(row: Any) -> list[dict[str, Any]]:
    """A task's candidate rows as values for a Core INSERT."""
    keys = _sort_keys(row)
    return [{"task_id": row.id, "principal": p, **keys} for p in principals_of(row)]


def kind_of(process_key: str, name: str, title: str) -> str:
    """The inbox task filter's choice a task falls under, (process key, element id, title), as
    16 hex digits of their MD5: short enough to sit in the candidate index, so the choices of a
    user's thousands of claimable tasks come from the index alone, one task fetched per kind.
    Migration 0024 computes the same digest (PostgreSQL's md5() over the same UTF-8 text)."""
    return hashlib.md5(f"{process_key}\x1f{name}\x1f{title}".encode()).hexdigest()[:16]


_SORT_SOURCES = ("assignee", "due_at", "created_at", "process_key", "name", "title")


@event.listens_for(Session, "before_flush")
def _candidates_follow_tasks(session: Session, _context: Any, _instances: Any) -> None:
    """Claims, releases, reassignments and due-date changes reach the candidate rows in the same
    flush, whichever command made them: rows already stored are updated, rows still pending
    take the task's values as they are now."""
    tasks = {row.id: row for row in (*session.new, *session.dirty) if isinstance(row, HumanTask)}
    if not tasks:
        return
    with session.no_autoflush:
        for pending in session.new:
            if isinstance(pending, TaskCandidate) and pending.task_id in tasks:
                for key, value in _sort_keys(tasks[pending.task_id]).items():
                    setattr(pending, key, value)
        for row in tasks.values():
            if row in session.new or row.state != OPEN:
                continue
            state = inspect(row)
            if any(state.attrs[name].history.has_changes() for name in _SORT_SOURCES):
                session.execute(update(TaskCandidate).where(TaskCandidate.task_id == row.id)
                                .values(**_sort_keys(row)).execution_options(synchronize_session=False))


def principals_of(row: Any) -> list[str]:
    """The `task_candidates` keys of a task: u:USER for candidate users, g:GROUP for groups."""
    return sorted({f"u:{u}" for u in row.candidate_users} | {f"g:{g}" for g in row.candidate_groups})


def close(session: Session, row: HumanTask, by: str, at: datetime) -> None:
    """The task completed by `by`: written at once as one Core UPDATE (with nothing left to remind
    or escalate, see escalation_policy.stop) and set on the row object as its committed state, so
    that the command's flush has nothing to do for it."""
    values = {"state": COMPLETED, "completed_at": at, "completed_by": by,
              "next_reminder_at": None, "next_escalation_at": None}
    connection = session.connection()
    parameters = {"task_id": row.id, **{"v_" + k: v for k, v in values.items()}}
    if connection.dialect.name == "postgresql":
        # the candidates' DELETE rides in the same statement (a data-modifying CTE): one round
        # trip fewer, and a completion on PostgreSQL is mostly round trips
        connection.execute(_CLOSE_AND_DROP, parameters)
    else:
        connection.execute(_CLOSE, parameters)
        _drop_candidates(session, row)
    for key, value in values.items():
        set_committed_value(row, key, value)


def _default(column: Any) -> Any:
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


# statements built once (SQLAlchemy keeps a statement's cache key on it)
_CANDIDATES = TaskCandidate.__table__
_DROP_CANDIDATES = delete(_CANDIDATES).where(_CANDIDATES.c.task_id == bindparam("task_id"))
_TASKS = HumanTask.__table__
_COLUMNS = [(attribute.key, attribute.columns[0]) for attribute in inspect(HumanTask).column_attrs]
_CLOSE = (_TASKS.update().where(_TASKS.c.id == bindparam("task_id"))
          .values({column: bindparam("v_" + column) for column in
                   ("state", "completed_at", "completed_by", "next_reminder_at", "next_escalation_at")}))
_CLOSE_AND_DROP = _CLOSE.add_cte(_DROP_CANDIDATES.cte("dropped"))


def _drop_candidates(session: Session, row: HumanTask) -> None:
    # a Core statement built once, on the connection: no autoflush (the pending changes go to
    # the database in the command's one flush) and none of the ORM's bulk-delete machinery,
    # which cost more than the DELETE itself
    session.connection().execute(_DROP_CANDIDATES, {"task_id": row.id})


def _title(spec: Any, properties: dict[str, Any], evaluate: Any) -> str:
    """The task's name, and what the extension property `titleDetail` (an expression over the
    task's data) says it is about, for tasks that differ only by their data (one scoring task
    per project of a batch): "专家评分 · Score — <project title>"."""
    title = spec.bpmn_name or spec.bpmn_id
    expression = properties.get("titleDetail")
    if expression:
        detail = evaluate(expression)
        if isinstance(detail, str) and detail.strip():
            title = f"{title} — {detail.strip()}"
    return title[:255]


def _evaluator(workflow: BpmnWorkflow, task: Any):  # type: ignore[no-untyped-def]
    environment = workflow.script_engine.environment
    return lambda expression: environment.evaluate(expression, task.data)


def open_tasks_of(session: Session, instance_ids: Iterable[int]) -> dict[int, list[HumanTask]]:
    """The open task rows of many instances, oldest first per instance; the ids go in chunks
    so that a long list stays under the database's bound-parameter limit."""
    ids = list(instance_ids)
    found: dict[int, list[HumanTask]] = {}
    for start in range(0, len(ids), 500):
        rows = session.scalars(select(HumanTask).where(
            HumanTask.process_instance_id.in_(ids[start:start + 500]), HumanTask.state == OPEN)
            .order_by(HumanTask.created_at, HumanTask.id))
        for row in rows:
            found.setdefault(row.process_instance_id, []).append(row)
    return found
