"""Supervisors' interventions on stuck work: reassign a task, retry a failed instance after
correcting its data (checked against a form), skip a task by completing it on someone's behalf
with supervisor-entered data, suspend, resume and terminate. Every intervention needs a reason,
is refused (403) to anyone who is not a supervisor, and is audited with that reason.

The bulk version of each runs on a selection of instances: a preview says what would happen to
each (nothing written), and the run gives every instance its own transaction, so each one is
changed completely or not at all, reports each failure, and calls a progress callback after
every instance so a page or the CLI can show how far it got. A summary of the run is audited."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import audit, clock, commands
from engine.definitions import elements
from engine.runtime import instances, projection, tasks
from engine.core.db import Database
from engine.definitions.deployment import form_for
from engine.core.errors import Conflict, EngineError, InvalidData
from engine.definitions.forms import FormDefinition, validate_submission
from engine.core.models import AuditEvent, HumanTask, ProcessInstance, User
from engine.core.principals import Actor, require_supervisor, required_reason

log = logging.getLogger(__name__)

ACTIONS = ("suspend", "resume", "terminate", "retry", "reassign", "skip")
MAX_BULK = 10_000


def require(actor: Actor, reason: Any) -> str:
    """403 for non-supervisors; 422 without a reason. Returns the trimmed reason."""
    require_supervisor(actor, "intervene")
    return required_reason(reason)


# ---- single interventions ------------------------------------------------------------------------

def reassign(session: Session, actor: Actor, task_id: str, assignee: Any, reason: Any,
             outside_groups: bool = False) -> HumanTask:
    """tasks.assign with the intervention's reason, audited as an intervention. A task meant for
    groups or named people goes to someone outside them (an institution task to an applicant, a
    slip of the name) only when the supervisor confirms it with `outside_groups`; the reason
    says why, and the audit records the confirmation."""
    reason = require(actor, reason)
    name = assignee.strip() if isinstance(assignee, str) else ""
    if name and tasks.outside_candidates(session, tasks.get(session, task_id), name):
        if not outside_groups:
            raise InvalidData(f"{name} is outside the task's candidates", {"assignee": [
                f"{name} is not among the people or groups this task is for; confirm to assign it anyway."]})
        reason = f"{reason} [outside its groups, confirmed]"
    return tasks.assign(session, actor, task_id, assignee, reason)


def _require_open(row: HumanTask) -> None:
    if row.state != projection.OPEN:
        raise Conflict(f"task {row.id} is no longer open (it is {row.state})")


def skip(session: Session, actor: Actor, task_id: str, data: Any, reason: Any) -> tuple[HumanTask, ProcessInstance]:
    """Complete an open task on behalf of whoever should have done it, with data the
    supervisor enters (checked against the task's form), audited as `task_skipped`."""
    reason = require(actor, reason)
    row = tasks.get(session, task_id)
    _require_open(row)
    instance = instances.get(session, row.process_instance_id)
    if instance.state != instances.RUNNING:
        raise Conflict(f"the process instance is {instance.state}; resume it first")
    cleaned = _checked(form_for(session, instance.definition, row.form_key), data)
    workflow = tasks.run_waiting_task(instance, row, cleaned)
    on_behalf_of = row.assignee
    projection.close(session, row, actor.username, clock.now())
    audit.record(session, "task_skipped", actor.username, instance_id=instance.id, task_id=row.id,
                 name=row.name, data=cleaned, reason=reason, on_behalf_of=on_behalf_of,
                 candidate_groups=row.candidate_groups, candidate_users=row.candidate_users)
    instances.advance(session, instance, workflow, actor)
    return row, instance


def _checked(form: FormDefinition | None, data: Any) -> dict[str, Any]:
    if data is None:
        data = {}
    if form is not None:
        return validate_submission(form, data)
    return plain_data(data)


def plain_data(data: Any) -> dict[str, Any]:
    """Data without a form: an object whose keys are names a script can use."""
    if not isinstance(data, dict):  # unlike a message's data, a supervisor's may not be absent
        raise InvalidData("data must be a JSON object", {"data": ["Must be an object."]})
    return instances.usable_data(data)


def suspend(session: Session, actor: Actor, instance_id: int, reason: Any) -> ProcessInstance:
    return instances.suspend(session, actor, instance_id, require(actor, reason))


def resume(session: Session, actor: Actor, instance_id: int, reason: Any) -> ProcessInstance:
    return instances.resume(session, actor, instance_id, require(actor, reason))


def terminate(session: Session, actor: Actor, instance_id: int, reason: Any) -> ProcessInstance:
    return instances.terminate(session, actor, instance_id, require(actor, reason))


# ---- retry after correcting the data -------------------------------------------------------------

@dataclass(frozen=True)
class RetryForm:
    """What a supervisor needs to correct a failed instance: where and why it failed, the form
    that checks the correction (if any) and the values it would start from."""

    instance_id: int
    element_id: str | None
    element_name: str | None
    message: str | None
    form_key: str | None
    form: dict[str, Any] | None
    values: dict[str, Any]


def retry_form(session: Session, actor: Actor, instance_id: int) -> RetryForm:
    require_supervisor(actor, "intervene")
    instance = instances.get(session, instance_id)
    if instance.state != instances.ERROR:
        raise Conflict(f"instance {instance_id} is {instance.state}, not in error")
    form_key, form = _correction_form(session, instance)
    data = instances.data_of(instance)
    keys = form.keys if form is not None else tuple(data)
    values = {k: data[k] for k in keys if k in data}
    return RetryForm(instance.id, instance.error_element,
                     elements.name_of(instance.definition, instance.error_element),
                     instance.error_message, form_key, form.raw if form is not None else None,
                     _jsonable(values))


def _correction_form(session: Session, instance: ProcessInstance) -> tuple[str | None, FormDefinition | None]:
    """The failing element's own form; else the form of the last user task completed before
    the failure, whose data the failing script or condition most likely read."""
    element = elements.elements(instance.definition).get(instance.error_element or "")
    if element is not None and element.form_key:
        return element.form_key, form_for(session, instance.definition, element.form_key)
    last = session.scalar(
        select(HumanTask.form_key).join(AuditEvent, AuditEvent.task_id == HumanTask.id)
        .where(AuditEvent.process_instance_id == instance.id,
               AuditEvent.action.in_(("task_completed", "task_skipped")),
               HumanTask.form_key.is_not(None))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(1))
    return (last, form_for(session, instance.definition, last)) if last else (None, None)


def retry(session: Session, actor: Actor, instance_id: int, data: Any, reason: Any) -> ProcessInstance:
    """Check the corrected data, merge it into the failing task and run it again. Keys the
    correction form defines are checked by it (together with the values they replace, so
    required fields stay filled); other keys must be usable names."""
    reason = require(actor, reason)
    instance = instances.get(session, instance_id)
    if instance.state != instances.ERROR:
        raise Conflict(f"instance {instance_id} is {instance.state}, not in error")
    correction = plain_data(data if data is not None else {})
    _, form = _correction_form(session, instance)
    if form is not None and correction:
        current = instances.data_of(instance)
        in_form = {k: v for k, v in correction.items() if form.field(k) is not None}
        if in_form:
            start = {k: current[k] for k in form.keys if k in current}
            checked = validate_submission(form, _jsonable({**start, **in_form}))
            correction.update({k: checked[k] for k in in_form if k in checked})
    return instances.retry(session, actor, instance_id, correction, reason)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Dates and decimals that scripts left in the data, as the form's text would show them."""
    import json
    return json.loads(json.dumps(values, default=str))


# ---- bulk ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BulkRequest:
    action: str
    reason: str
    assignee: str | None = None          # reassign
    element: str | None = None           # reassign/skip: only tasks at this element
    data: dict[str, Any] = field(default_factory=dict)   # retry/skip
    outside_groups: bool = False         # reassign: confirmed, also to someone outside a task's groups

    def checked(self, actor: Actor) -> "BulkRequest":
        reason = require(actor, self.reason)
        if self.action not in ACTIONS:
            raise InvalidData("unknown action", {"action": [f"Must be one of: {', '.join(ACTIONS)}."]})
        if self.action == "reassign" and not (self.assignee or "").strip():
            raise InvalidData("assignee is required", {"assignee": ["A user name is required."]})
        if self.action == "skip" and not self.element:
            raise InvalidData("say which task to skip", {"element": ["The BPMN element id of the task."]})
        return BulkRequest(self.action, reason, (self.assignee or "").strip() or None, self.element,
                           dict(self.data or {}), self.outside_groups)


@dataclass(frozen=True)
class Planned:
    instance_id: int
    process_key: str
    state: str
    will: str            # "change" or "refuse"
    description: str


def preview(session: Session, actor: Actor, request: BulkRequest, instance_ids: list[int]) -> list[Planned]:
    """What the run would do to each selected instance; writes nothing."""
    request = request.checked(actor)
    _check_size(instance_ids)
    if request.action == "reassign":
        _existing_active_user(session, request.assignee or "")
    rows = _load(session, instance_ids)
    open_tasks = projection.open_tasks_of(session, instance_ids)
    planned = []
    for instance_id in instance_ids:
        instance = rows.get(instance_id)
        if instance is None:
            planned.append(Planned(instance_id, "", "", "refuse", "no such process instance"))
            continue
        problem, description = _plan(request, instance, open_tasks.get(instance_id, []))
        planned.append(Planned(instance.id, instance.process_key, instance.state,
                               "refuse" if problem else "change", problem or description))
    return planned


def _plan(request: BulkRequest, instance: ProcessInstance, open_tasks: list[HumanTask]) -> tuple[str | None, str]:
    state, action = instance.state, request.action
    if action == "suspend":
        return (None, f"{state} → suspended") if state in ("running", "error") else \
            (f"is {state}; only running or failed instances can be suspended", "")
    if action == "resume":
        back = "error" if instance.error_element else "running"
        return (None, f"suspended → {back}") if state == "suspended" else (f"is {state}, not suspended", "")
    if action == "terminate":
        return (None, f"{state} → terminated") if state not in ("completed", "terminated") else \
            (f"is already {state}", "")
    if action == "retry":
        return (None, f"run '{instance.error_element}' again ({(instance.error_message or '')[:80]})") \
            if state == "error" else (f"is {state}, not in error", "")
    targets = _targets(open_tasks, request.element)
    if not targets:
        return (f"has no open task{' at ' + request.element if request.element else ''}", "")
    if action == "reassign":
        if state not in ("running", "suspended"):
            return (f"is {state}", "")
        return None, "; ".join(f"{t.title}: {t.assignee or '-'} → {request.assignee}" for t in targets)
    if state != "running":
        return (f"is {state}; resume it first", "")
    if len(targets) > 1:
        return (f"has {len(targets)} open tasks at {request.element}; skip them one by one", "")
    return None, f"{targets[0].title}: completed by the supervisor on behalf of {targets[0].assignee or 'its candidates'}"


def _targets(open_tasks: list[HumanTask], element: str | None) -> list[HumanTask]:
    return [t for t in open_tasks if element is None or t.name == element]


@dataclass
class Outcome:
    instance_id: int
    ok: bool
    state: str | None = None
    code: str | None = None
    message: str = ""


@dataclass
class BulkReport:
    action: str
    total: int
    succeeded: int = 0
    failed: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]


Progress = Callable[[int, int, Outcome], None]


def run_bulk(db: Database, actor: Actor, request: BulkRequest, instance_ids: list[int],
             progress: Progress | None = None) -> BulkReport:
    """Apply the action to each instance in its own transaction; a failure of one instance
    leaves that instance exactly as it was and does not stop the others."""
    request = request.checked(actor)
    _check_size(instance_ids)
    if request.action == "reassign":
        commands.query(db, _existing_active_user, request.assignee or "")
    ids = list(dict.fromkeys(instance_ids))
    report = BulkReport(request.action, len(ids))
    for done, instance_id in enumerate(ids, start=1):
        outcome = _run_one(db, actor, request, instance_id)
        report.outcomes.append(outcome)
        if outcome.ok:
            report.succeeded += 1
        else:
            report.failed += 1
        if progress is not None:
            progress(done, len(ids), outcome)
    commands.execute(db, _audit_run, actor, request, report)
    return report


def _run_one(db: Database, actor: Actor, request: BulkRequest, instance_id: int) -> Outcome:
    try:
        state = commands.execute(db, _one, actor, request, instance_id)
    except EngineError as error:
        return Outcome(instance_id, False, code=error.code, message=error.message)
    except Exception as error:  # a bug or a database failure: report it and go on
        log.exception("bulk %s failed on instance %s", request.action, instance_id)
        return Outcome(instance_id, False, code="internal_error", message=f"{type(error).__name__}: {error}")
    return Outcome(instance_id, True, state=state)


def _one(session: Session, actor: Actor, request: BulkRequest, instance_id: int) -> str:
    action, reason = request.action, request.reason
    if action in ("suspend", "resume", "terminate"):
        command = {"suspend": suspend, "resume": resume, "terminate": terminate}[action]
        return command(session, actor, instance_id, reason).state
    if action == "retry":
        return retry(session, actor, instance_id, request.data, reason).state
    instance = instances.get(session, instance_id)
    targets = _targets(tasks.open_tasks(session, instance_id), request.element)
    if not targets:
        raise Conflict(f"instance {instance_id} has no open task"
                       + (f" at {request.element}" if request.element else ""))
    if action == "reassign":
        for row in targets:
            reassign(session, actor, row.id, request.assignee, reason, request.outside_groups)
        return instance.state
    if len(targets) > 1:
        raise Conflict(f"instance {instance_id} has {len(targets)} open tasks at {request.element}")
    return skip(session, actor, targets[0].id, request.data, reason)[1].state


def _audit_run(session: Session, actor: Actor, request: BulkRequest, report: BulkReport) -> None:
    audit.record(session, "bulk_intervention", actor.username, operation=request.action,
                 reason=request.reason, total=report.total, succeeded=report.succeeded,
                 failed=[{"instance_id": o.instance_id, "code": o.code, "message": o.message}
                         for o in report.failures[:1000]])


def _check_size(instance_ids: list[int]) -> None:
    if not instance_ids:
        raise InvalidData("nothing is selected", {"selection": ["Select at least one instance."]})
    if len(instance_ids) > MAX_BULK:
        raise InvalidData("too many instances", {"selection": [f"At most {MAX_BULK} at once."]})


def _existing_active_user(session: Session, username: str) -> None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise InvalidData(f"no active user named '{username}'", {"assignee": ["No such active user."]})


def _load(session: Session, ids: list[int]) -> dict[int, ProcessInstance]:
    found: dict[int, ProcessInstance] = {}
    for start in range(0, len(ids), 500):
        for row in session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids[start:start + 500]))):
            found[row.id] = row
    return found


