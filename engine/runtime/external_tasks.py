"""External tasks, after Camunda 7's fetch-and-lock: a worker (a member of `integrations`)
locks open tasks of its topics for a while, then completes them, reports a failure (retried
after a timeout; with no retries left the instance shows an incident until a supervisor retries
it) or throws a BPMN error at the task's boundary event. A lock that expires makes the task
fetchable by any worker again, so a worker that dies loses nothing. Locking reads the
projection (engine/runtime/worker_tasks.py), never a workflow; each lock is a conditional
UPDATE, and PostgreSQL skips rows another fetch holds (FOR UPDATE SKIP LOCKED)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from engine.core import audit, clock
from engine.core.bulk import is_postgresql
from engine.core.errors import Conflict, InvalidData, NotFound
from engine.core.models import ProcessInstance
from engine.core.principals import Actor, require_integration, require_supervisor, required_reason
from engine.runtime import access, instances, store
from engine.runtime.worker_tasks import COMPLETED, OPEN, ExternalTaskRow


def fetch_and_lock(session: Session, actor: Actor, worker_id: str, max_tasks: int,
                   topics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lock up to `max_tasks` fetchable tasks of the topics (oldest first) for this worker."""
    require_integration(actor, "work external tasks")
    durations = {t["name"]: int(t["lock_duration"]) for t in topics}
    wanted = {t["name"]: t.get("variables") for t in topics}
    now = clock.now()
    fetchable = _fetchable(now)
    query = select(ExternalTaskRow).join(ProcessInstance, ProcessInstance.id == ExternalTaskRow.process_instance_id) \
        .where(ExternalTaskRow.topic.in_(list(durations)), ProcessInstance.state == instances.RUNNING, *fetchable) \
        .order_by(ExternalTaskRow.created_at, ExternalTaskRow.id).limit(max_tasks)
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True, of=ExternalTaskRow)
    locked = []
    for row in session.scalars(query).all():
        expires = now + timedelta(milliseconds=durations[row.topic])
        # the guard: of two fetches that read the same row, only one UPDATE still matches it
        won = session.execute(update(ExternalTaskRow).where(ExternalTaskRow.id == row.id, *fetchable)
                              .values(worker_id=worker_id, lock_expires_at=expires)
                              .execution_options(synchronize_session=False)).rowcount
        if won == 1:
            session.refresh(row)
            locked.append(row)
    return [_fetched(session, actor, row, wanted[row.topic]) for row in locked]


def _fetchable(now: Any) -> list[Any]:
    return [ExternalTaskRow.state == OPEN,
            or_(ExternalTaskRow.retries.is_(None), ExternalTaskRow.retries > 0),
            or_(ExternalTaskRow.retry_at.is_(None), ExternalTaskRow.retry_at <= now),
            or_(ExternalTaskRow.lock_expires_at.is_(None), ExternalTaskRow.lock_expires_at <= now)]


def _fetched(session: Session, actor: Actor, row: ExternalTaskRow,
             variables: list[str] | None) -> dict[str, Any]:
    instance = instances.get(session, row.process_instance_id)
    data = access.worker_view(session, actor, instance).data(instances.data_of(instance))
    if variables is not None:
        data = {key: value for key, value in data.items() if key in variables}
    audit.record(session, "external_task_locked", actor.username, instance_id=instance.id, task_id=row.id,
                 topic=row.topic, worker_id=row.worker_id, lock_expires_at=row.lock_expires_at.isoformat())
    return {"id": row.id, "topic": row.topic, "process_instance_id": instance.id,
            "business_key": instance.business_key, "data": data,
            "lock_expires_at": row.lock_expires_at}


def complete(session: Session, actor: Actor, task_id: str, worker_id: str,
             data: dict[str, Any] | None = None) -> ExternalTaskRow:
    data = instances.usable_data(data)
    row, instance = _locked_by(session, actor, task_id, worker_id)
    workflow = store.load(instance)
    task = _task_in(workflow, row)
    task.data.update(data)
    task.complete()
    row.state, row.completed_at, row.lock_expires_at = COMPLETED, clock.now(), None
    audit.record(session, "external_task_completed", actor.username, instance_id=instance.id, task_id=row.id,
                 topic=row.topic, worker_id=worker_id, data=data or {})
    instances.advance(session, instance, workflow, actor)
    return row


def failure(session: Session, actor: Actor, task_id: str, worker_id: str, error_message: str,
            retries: int, retry_timeout: int) -> ExternalTaskRow:
    """Record a failure: fetchable again after `retry_timeout` ms while retries are left; with
    none left, an incident: the instance is in error at the task until a supervisor retries."""
    row, instance = _locked_by(session, actor, task_id, worker_id)
    now = clock.now()
    row.retries, row.error_message = retries, error_message
    row.retry_at = now + timedelta(milliseconds=retry_timeout) if retries > 0 else None
    row.worker_id, row.lock_expires_at = None, None
    audit.record(session, "external_task_failed", actor.username, instance_id=instance.id, task_id=row.id,
                 topic=row.topic, worker_id=worker_id, error_message=error_message, retries=retries)
    if retries == 0:
        instance.state, instance.error_element = instances.ERROR, row.element_id
        instance.error_message = f"external task '{row.topic}' failed: {error_message}"
        instance.updated_at = now
        audit.record(session, "instance_error", actor.username, instance_id=instance.id, worker_id=worker_id,
                     element_id=row.element_id, message=instance.error_message)
    return row


def bpmn_error(session: Session, actor: Actor, task_id: str, worker_id: str, error_code: str,
               data: dict[str, Any] | None = None) -> ExternalTaskRow:
    """Throw the BPMN error at the task: its error boundary event (or an enclosing one) takes
    over; 409 when nothing catches this code, and nothing changes."""
    data = instances.usable_data(data)
    row, instance = _locked_by(session, actor, task_id, worker_id)
    workflow = store.load(instance)
    task = _task_in(workflow, row)
    task.data.update(data)
    uncaught = len(workflow.bpmn_events)
    event = BpmnEvent(ErrorEventDefinition(error_code, code=error_code), payload=dict(data or {}),
                      target=task.workflow)
    workflow.catch(event)
    if len(workflow.bpmn_events) > uncaught:
        raise Conflict(f"no error boundary event catches the error '{error_code}' at '{row.element_id}'")
    audit.record(session, "external_task_bpmn_error", actor.username, instance_id=instance.id, task_id=row.id,
                 topic=row.topic, worker_id=worker_id, error_code=error_code, data=data or {})
    instances.advance(session, instance, workflow, actor)
    return row


def retry(session: Session, actor: Actor, task_id: str, retries: int, reason: Any) -> ExternalTaskRow:
    """Supervisors: give an incident's task retries again; it is fetchable at once."""
    require_supervisor(actor, "retry external tasks")
    reason = required_reason(reason)
    if not isinstance(retries, int) or retries < 1:
        raise InvalidData("retries must be at least 1", {"retries": ["Must be greater than or equal to 1."]})
    row = _row(session, task_id)
    if row.state != OPEN or row.retries != 0:
        raise Conflict(f"external task {task_id} has no incident to retry")
    instance = instances.get(session, row.process_instance_id)
    row.retries, row.retry_at = retries, None
    if instance.state == instances.ERROR and instance.error_element == row.element_id:
        instance.state, instance.error_element, instance.error_message = instances.RUNNING, None, None
        instance.updated_at = clock.now()
    audit.record(session, "external_task_retried", actor.username, instance_id=instance.id, task_id=row.id,
                 reason=reason, retries=retries)
    return row


def instance_of(session: Session, actor: Actor, task_id: str) -> int:
    """Supervisors: the instance an external task belongs to (404 when there is none)."""
    require_supervisor(actor, "see external tasks")
    return _row(session, task_id).process_instance_id


def _row(session: Session, task_id: str) -> ExternalTaskRow:
    row = session.get(ExternalTaskRow, task_id)
    if row is None:
        raise NotFound(f"external task {task_id} not found")
    return row


def _locked_by(session: Session, actor: Actor, task_id: str, worker_id: str) -> tuple[ExternalTaskRow, ProcessInstance]:
    """The task, which this worker must hold an unexpired lock on (409 otherwise)."""
    require_integration(actor, "work external tasks")
    row = _row(session, task_id)
    if row.state != OPEN:
        raise Conflict(f"external task {task_id} is {row.state}")
    if row.worker_id != worker_id or row.lock_expires_at is None:
        raise Conflict(f"external task {task_id} is not locked by worker '{worker_id}'")
    if row.lock_expires_at <= clock.now():
        raise Conflict(f"the lock of worker '{worker_id}' on external task {task_id} has expired")
    instance = instances.get(session, row.process_instance_id)
    if instance.state != instances.RUNNING:
        raise Conflict(f"instance {instance.id} is {instance.state}")
    return row, instance


def _task_in(workflow: Any, row: ExternalTaskRow) -> Any:
    try:
        task = workflow.get_task_from_id(UUID(row.id))
    except TaskNotFoundException:
        task = None
    if task is None or not task.has_state(TaskState.STARTED):
        raise Conflict(f"external task {row.id} is no longer waiting")
    return task

