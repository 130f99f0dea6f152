"""User-task commands (claim, unclaim, assign, complete) and the inbox queries. Permission
rules: the assignee works the task; an unassigned task may be claimed (or completed directly)
by its candidates; a claimed task may be released to them (a task assigned directly, with no
candidates, may not: it would belong to nobody); supervisors may reassign. Queries read only the projection.
A completion lays the form's fields that start empty each round (forms.completion_blanks) under the
submitted values; what a completed task's form held is read back from its finished-task record."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import String, bindparam, false, func, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased
from SpiffWorkflow.util.task import TaskState

from engine.core import audit, bulk, clock
from engine.runtime import finished_tasks, instances, projection, store
from engine.runtime.state import restore_data
from engine.definitions import budget_rules
from engine.definitions.deployment import form_for
from engine.core.errors import Conflict, Forbidden, InvalidData, NotFound
from engine.definitions.forms import FormDefinition, completion_blanks, validate_submission
from engine.core.models import HumanTask, ProcessInstance, TaskCandidate, User
from engine.core.principals import Actor, require_supervisor

SCOPES = ("assigned", "candidate", "completed")


def get(session: Session, task_id: str) -> HumanTask:
    row = session.get(HumanTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} not found")
    return row


def is_candidate(row: HumanTask, actor: Actor) -> bool:
    return actor.username in row.candidate_users or bool(actor.groups & set(row.candidate_groups))


def may_see(session: Session, row: HumanTask, actor: Actor) -> bool:
    return (actor.is_supervisor or row.assignee == actor.username or row.completed_by == actor.username
            or is_candidate(row, actor))


def may_release(row: HumanTask) -> bool:
    """Releasing gives a task back to its candidates; one assigned directly (camunda:assignee,
    no candidate user or group) would be left with nobody who could take it."""
    return bool(row.candidate_users or row.candidate_groups)


def outside_candidates(session: Session, row: HumanTask, username: str) -> bool:
    """Is this existing user neither a candidate user of a task that has candidates nor in
    any of its candidate groups? (A task assigned directly has no candidates to be outside of.)"""
    if not may_release(row) or username in row.candidate_users:
        return False
    user = session.scalar(select(User).where(User.username == username))
    return user is not None and not (user.group_names & set(row.candidate_groups))


_OWNER = aliased(HumanTask)
_TASK_AND_INSTANCE = (select(HumanTask, ProcessInstance)
                      .join(ProcessInstance, ProcessInstance.id == HumanTask.process_instance_id)
                      .where(HumanTask.id == bindparam("task_id")))
_OPEN_ROWS_AND_INSTANCE = (
    select(HumanTask, ProcessInstance)
    .join(ProcessInstance, ProcessInstance.id == HumanTask.process_instance_id)
    .where(HumanTask.process_instance_id == select(_OWNER.process_instance_id)
           .where(_OWNER.id == bindparam("task_id")).scalar_subquery(),
           or_(HumanTask.id == bindparam("task_id"), HumanTask.state == projection.OPEN)))


def with_instance(session: Session, task_id: str, open_rows: bool = False) -> HumanTask:
    """`get`, with the task's instance (and its definition) read in the same statement into the
    session, where `instances.get` then finds it: claims and completions need both, and one
    round trip fewer is one statement in six of a claim. With `open_rows` (a completion) the
    same statement reads the instance's other open rows too, and hands them to the projection
    (`projection.known_rows`), which would otherwise read them again before the flush. Both
    statements are built once: SQLAlchemy keeps a statement's cache key on it, and building
    and keying one anew cost as much as running it."""
    if not open_rows:
        found = session.execute(_TASK_AND_INSTANCE, {"task_id": task_id}).first()
        if found is None:
            raise NotFound(f"task {task_id} not found")
        _hold(session, found[1])
        return found[0]
    found_all = session.execute(_OPEN_ROWS_AND_INSTANCE, {"task_id": task_id}).all()
    row = next((task for task, _instance in found_all if task.id == task_id), None)
    if row is None:
        raise NotFound(f"task {task_id} not found")
    _hold(session, found_all[0][1])
    projection.known_rows(session, found_all[0][1], [task for task, _instance in found_all])
    return row


def _hold(session: Session, instance: ProcessInstance) -> None:
    # the session's identity map holds objects weakly: keep the instance alive until the
    # command ends, or it would be collected before `instances.get` asks for it
    session.info.setdefault("held", []).append(instance)


def get_visible(session: Session, actor: Actor, task_id: str, instance_too: bool = False,
                open_rows: bool = False) -> HumanTask:
    row = with_instance(session, task_id, open_rows) if instance_too else get(session, task_id)
    if not may_see(session, row, actor):
        raise Forbidden("this task is not yours")
    return row


def form_of(session: Session, row: HumanTask) -> FormDefinition | None:
    instance = instances.get(session, row.process_instance_id)
    return form_for(session, instance.definition, row.form_key)


def submitted_values(session: Session, row: HumanTask, form: FormDefinition | None) -> dict[str, Any]:
    """What a completed task's form held when it was completed, read from its finished-task
    record (engine/runtime/finished_tasks.py), under the form's keys; {} for any other task.
    Not filtered: callers show it through engine/runtime/access.py."""
    if row.state != projection.COMPLETED or form is None:
        return {}
    encoded = finished_tasks.task_data(session, row.process_instance_id, row.id)
    data = restore_data(encoded) if encoded else {}
    return {f.key: data[f.key] for f in form.fields if f.key in data}


def _require_open(row: HumanTask) -> None:
    if row.state != projection.OPEN:
        raise Conflict(f"task {row.id} is no longer open (it is {row.state})")


def claim(session: Session, actor: Actor, task_id: str) -> HumanTask:
    row = get_visible(session, actor, task_id, instance_too=True)
    _require_open(row)
    if row.assignee == actor.username:
        return row
    if row.assignee is not None:
        raise Conflict(f"task {task_id} is already claimed by {row.assignee}")
    if not is_candidate(row, actor):
        raise Forbidden("you are not a candidate for this task")
    _lock_instance(session, row)
    row.assignee = actor.username
    audit.record(session, "task_claimed", actor.username, instance_id=row.process_instance_id,
                 task_id=row.id)
    return row


def unclaim(session: Session, actor: Actor, task_id: str) -> HumanTask:
    row = get_visible(session, actor, task_id)
    _require_open(row)
    if row.assignee != actor.username and not actor.is_supervisor:
        raise Forbidden("only the assignee (or a supervisor) may release this task")
    if not may_release(row):
        raise Conflict("this task was assigned directly and has no candidates: released, nobody could "
                       "take it; a supervisor may reassign it")
    _lock_instance(session, row)
    before, row.assignee = row.assignee, None
    audit.record(session, "task_unclaimed", actor.username, instance_id=row.process_instance_id,
                 task_id=row.id, before=before)
    return row


def assign(session: Session, actor: Actor, task_id: str, assignee: Any, reason: str | None = None) -> HumanTask:
    """Supervisors give an open task to an active user (the one way of reassigning: the API's
    assign and the console's intervention, which adds its reason, both come here)."""
    require_supervisor(actor, "reassign tasks")
    if not isinstance(assignee, str) or not assignee.strip():
        raise InvalidData("assignee is required", {"assignee": ["A user name is required."]})
    assignee = assignee.strip()
    row = get(session, task_id)
    _require_open(row)
    user = session.scalar(select(User).where(User.username == assignee))
    if user is None:
        raise InvalidData(f"no user named '{assignee}'", {"assignee": ["No such user."]})
    if not user.active:
        raise InvalidData(f"'{assignee}' is deactivated", {"assignee": ["This user is deactivated."]})
    instance = _lock_instance(session, row)
    if instance.state not in (instances.RUNNING, instances.SUSPENDED):
        raise Conflict(f"the process instance is {instance.state}")
    before, row.assignee = row.assignee, assignee
    extra = {"reason": reason, "intervention": True} if reason is not None else {}
    audit.record(session, "task_assigned", actor.username, instance_id=row.process_instance_id,
                 task_id=row.id, before=before, after=assignee, **extra)
    return row


def _lock_instance(session: Session, row: HumanTask) -> ProcessInstance:
    """Bump the instance revision so a concurrent completion or claim loses cleanly."""
    instance = instances.get(session, row.process_instance_id)
    instance.updated_at = clock.now()
    store.keep_cached(session, instance)
    return instance


def complete(session: Session, actor: Actor, task_id: str, data: Any) -> tuple[HumanTask, ProcessInstance]:
    row = get_visible(session, actor, task_id, instance_too=True, open_rows=True)
    _require_open(row)
    if row.assignee not in (None, actor.username):
        raise Forbidden(f"this task is assigned to {row.assignee}")
    if row.assignee is None and not is_candidate(row, actor):
        raise Forbidden("you are not a candidate for this task")
    instance = instances.get(session, row.process_instance_id)
    if instance.state != instances.RUNNING:
        raise Conflict(f"the process instance is {instance.state}; its tasks cannot be completed now")
    form = form_for(session, instance.definition, row.form_key)
    cleaned = _checked_data(form, data)
    if budget_rules.applies(form):
        # the contract's table adds up to the process's approved funding (the award step)
        budget_rules.enforce(session, form, cleaned, _waiting_data(instance, row))
    # a field that starts empty each round is written even when left out (see forms.py)
    blanks = completion_blanks(form) if form is not None else {}
    workflow = run_waiting_task(instance, row, {**blanks, **cleaned})
    now = clock.now()
    projection.close(session, row, actor.username, now)
    audit.record(session, "task_completed", actor.username, instance_id=instance.id, task_id=row.id,
                 name=row.name, data=cleaned)
    instances.advance(session, instance, workflow, actor)
    return row, instance


def run_waiting_task(instance: ProcessInstance, row: HumanTask, cleaned: dict[str, Any]) -> Any:
    """Run the workflow task behind an open task row with already-checked data, and return the
    workflow (not yet advanced). 409 when the workflow no longer waits there, which the
    projection cannot know if a timer or a supervisor moved the instance meanwhile."""
    workflow = store.load(instance)
    task = workflow.get_task_from_id(UUID(row.id))
    if task is None or task.state != TaskState.READY or task.task_spec.bpmn_id != row.name:
        raise Conflict(f"task {row.id} is no longer waiting in the workflow")
    refused = _completion_refusals(workflow, task, cleaned)
    if refused:
        raise InvalidData(f"{len(refused)} field(s) are refused", refused)
    task.data.update(cleaned)
    projection.note_ready(workflow)
    task.run()
    return workflow


def _completion_refusals(workflow: Any, task: Any, cleaned: dict[str, Any]) -> dict[str, list[str]]:
    """A user task's `completionCheck` property: an expression over the task's data with the
    submitted values that yields field errors ({field: [message]}); any makes the completion a 422
    that changes nothing. For rules a form cannot state alone (a list's total within a budget)."""
    properties = (getattr(task.task_spec, "extensions", None) or {}).get("properties", {})
    expression = (properties.get("completionCheck") or "").strip()
    if not expression:
        return {}
    found = workflow.script_engine.environment.evaluate(expression, {**task.data, **cleaned})
    if not isinstance(found, dict):
        return {}
    return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in found.items() if v}
def _waiting_data(instance: ProcessInstance, row: HumanTask) -> dict[str, Any]:
    task = store.load(instance).get_task_from_id(UUID(row.id))
    return dict(task.data) if task is not None else {}


def _checked_data(form: FormDefinition | None, data: Any) -> dict[str, Any]:
    if data is None:
        data = {}
    if form is not None:
        return validate_submission(form, data)
    if not isinstance(data, dict):
        raise InvalidData("data must be a JSON object", {"data": ["Must be an object."]})
    return data


@dataclass(frozen=True)
class Page:
    items: list[HumanTask]
    total: int
    page: int
    per_page: int


def list_tasks(session: Session, actor: Actor, scope: str, page: int = 1, per_page: int = 20) -> Page:
    if scope == "assigned":
        where = (HumanTask.assignee == actor.username) & (HumanTask.state == projection.OPEN)
        order = (HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at)
    elif scope == "candidate":
        principals = set(actor.principals)
        rows = claimable_rows(session, principals, (page - 1) * per_page, per_page)
        if 0 < len(rows) < per_page or (page == 1 and not rows):
            return Page(rows, (page - 1) * per_page + len(rows), page, per_page)
        return Page(rows, claimable_summary(session, principals).count, page, per_page)
    elif scope == "completed":
        where = (HumanTask.completed_by == actor.username) & (HumanTask.state == projection.COMPLETED)
        order = (HumanTask.completed_at.desc(),)
    else:
        raise InvalidData("unknown scope", {"scope": [f"Must be one of: {', '.join(SCOPES)}."]})
    rows = list(session.scalars(select(HumanTask).where(where).order_by(*order, HumanTask.id)
                                .offset((page - 1) * per_page).limit(per_page)))
    if 0 < len(rows) < per_page or (page == 1 and not rows):
        # a short page is the last one: its rows give the total without counting them again
        return Page(rows, (page - 1) * per_page + len(rows), page, per_page)
    total = session.scalar(select(func.count()).select_from(HumanTask).where(where)) or 0
    return Page(rows, total, page, per_page)


def _claimable(principals: set[str]) -> Any:
    return (TaskCandidate.principal.in_(sorted(principals))) & (TaskCandidate.claimed == false())


def _claimable_order(table: Any) -> list[Any]:
    # due date first, undated last, then oldest first: the inbox's default order, and the order
    # of the candidate index after (principal, claimed), nulls last as PostgreSQL keeps them
    return [table.c.due_at.asc().nulls_last(), table.c.created_at, table.c.task_id]


def _asked(principals: tuple[str, ...]) -> Any:
    """The principals as a table, `unnest(:array) AS asked(principal)`: one array parameter, so
    the statement is compiled once whatever their number (a VALUES list of 500 rows cost more
    to compile than the query to run)."""
    array = bindparam("principals", list(principals), type_=ARRAY(String))
    return func.unnest(array).table_valued("principal").render_derived(name="asked")


def claimable_page(session: Session, principals: set[str], offset: int, limit: int) -> list[str]:
    """Ids of the open unclaimed tasks these principals may claim, in the inbox's default order
    (due date, undated last, then creation), read from the candidate index alone. On PostgreSQL
    each principal gives at most its first `offset + limit` rows (a LATERAL subquery, which
    stops in the index at that many), and those are merged: a task among the first n of all is
    among the first n of each of its principals. So the cost follows the groups and the page,
    not the claimable tasks (an IN over all principals would sort every one of them). SQLite
    (no LATERAL) sorts the principals' rows as they come."""
    if not principals:
        return []
    return [row[0] for row in session.execute(_claimable_page_statement(session, principals, offset, limit))]


def _claimable_page_statement(session: Session, principals: set[str], offset: int, limit: int) -> Any:
    candidates = TaskCandidate.__table__
    if bulk.is_postgresql(session):
        asked = _asked(tuple(sorted(principals)))
        first = (select(candidates.c.task_id, candidates.c.due_at, candidates.c.created_at)
                 .where(candidates.c.principal == asked.c.principal, candidates.c.claimed == false())
                 .order_by(*_claimable_order(candidates)).limit(offset + limit).lateral("first"))
        rows = select(first.c.task_id, first.c.due_at, first.c.created_at).select_from(asked).join(first, true())
        ordered = _claimable_order(first)
    else:
        rows = select(candidates.c.task_id, candidates.c.due_at, candidates.c.created_at).where(_claimable(principals))
        ordered = _claimable_order(candidates)
    return rows.distinct().order_by(*ordered).offset(offset).limit(limit)


def claimable_rows(session: Session, principals: set[str], offset: int, limit: int) -> list[HumanTask]:
    """`claimable_page`'s tasks as rows, read in the same statement as their ids (the API's
    list: one round trip where ids then rows took two)."""
    if not principals:
        return []
    page = _claimable_page_statement(session, principals, offset, limit).subquery("page")
    return list(session.scalars(select(HumanTask).join(page, HumanTask.id == page.c.task_id)
                                .order_by(*_claimable_order(page))))


@dataclass(frozen=True)
class Claimable:
    """What the inbox asks of a user's claimable tasks besides the page: how many, the newest
    creation (the poll's fingerprint), and one task id per kind (the task filter's choices)."""

    count: int
    newest: Any
    samples: list[str]


def claimable_summary(session: Session, principals: set[str]) -> Claimable:
    """The open unclaimed tasks these principals may claim, summed up by kind in one pass over
    the candidate index alone (a task offered to two of them counts once: all its rows have its
    kind). On PostgreSQL each principal is read by its own index range (LATERAL): given the
    whole list, the planner estimates its unknown principals at a thousand rows each and scans
    the table for a user in 500 groups. Remembered for the session: the page's count, the menu,
    the poll and the filter's choices all ask it."""
    memo = session.info.setdefault("claimable_summary", {})
    key = tuple(sorted(principals))
    if key in memo:
        return memo[key]  # type: ignore[no-any-return]
    if not principals:
        memo[key] = Claimable(0, None, [])
        return memo[key]  # type: ignore[no-any-return]
    candidates = TaskCandidate.__table__
    columns = (candidates.c.task_id, candidates.c.created_at, candidates.c.kind)
    if bulk.is_postgresql(session):
        asked = _asked(key)
        # OFFSET 0 keeps the subquery a LATERAL one: without it PostgreSQL flattens it into a
        # plain join, and hashes the principals against a scan of every candidate row
        rows = (select(*columns).where(candidates.c.principal == asked.c.principal, candidates.c.claimed == false())
                .offset(0).lateral("rows"))
        source = select(rows).select_from(asked).join(rows, true()).subquery("claimable")
    else:
        source = select(*columns).where(_claimable(principals)).subquery("claimable")
    # a task's rows (one per principal) first become one, by hashing, then the kinds are summed:
    # count(DISTINCT) per kind would sort all the rows instead
    tasks_ = (select(source.c.task_id, func.max(source.c.created_at).label("created_at"), source.c.kind)
              .group_by(source.c.kind, source.c.task_id).subquery("tasks"))
    found = session.execute(select(func.count(), func.max(tasks_.c.created_at), func.min(tasks_.c.task_id))
                            .group_by(tasks_.c.kind)).all()
    newest = [row[1] for row in found if row[1] is not None]
    memo[key] = Claimable(sum(row[0] for row in found), max(newest) if newest else None, [row[2] for row in found])
    return memo[key]  # type: ignore[no-any-return]
_OPEN_TASKS = (select(HumanTask).where(HumanTask.process_instance_id == bindparam("instance_id"),
                                       HumanTask.state == projection.OPEN)
               .order_by(HumanTask.created_at, HumanTask.id))


def open_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    return list(session.scalars(_OPEN_TASKS, {"instance_id": instance_id}))
