"""Process-instance commands: start, fire due timers, suspend, resume, terminate and retry.
Each takes an open session (one transaction, see engine/core/commands.py), an `Actor` and plain data;
each loads the workflow, changes it, saves it, re-projects the human tasks and audits."""
from __future__ import annotations

import keyword
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from engine.core import audit, clock, commands
from engine.runtime import engine_steps, projection, store, stuck_instances, subscriptions, worker_tasks
from engine.runtime.subscriptions import MESSAGE
from engine.runtime.state import dump_data, load_data
from engine.definitions import budget_rules
from engine.definitions.deployment import form_for, latest_definition
from engine.core.errors import BadRequest, Conflict, Forbidden, InvalidData, NotFound
from engine.definitions.forms import validate_submission
from engine.core.models import ProcessInstance
from engine.core.principals import Actor, require_supervisor, required_reason

RUNNING, COMPLETED, SUSPENDED, TERMINATED, ERROR = "running", "completed", "suspended", "terminated", "error"


def may_start(actor: Actor, meta: dict[str, Any]) -> bool:
    if not meta.get("restricted_start"):
        return True
    return actor.username in meta.get("starter_users", []) or \
        bool(actor.groups & set(meta.get("starter_groups", [])))


MAX_BUSINESS_KEY = 200


def usable_data(data: Any) -> dict[str, Any]:
    """Data another system merges into an instance: an object whose keys scripts can use
    (422 naming each bad key otherwise)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidData("data must be a JSON object", {"data": ["Must be an object."]})
    bad = {str(k): ["Not a usable name: letters, digits and _, not starting with a digit or _."]
           for k in data if not isinstance(k, str) or not k.isidentifier() or k.startswith("_")
           or keyword.iskeyword(k)}
    if bad:
        raise InvalidData("some data keys are not usable names", bad)
    return dict(data)


def start(session: Session, actor: Actor, process_key: str, data: Any, business_key: str | None = None,
          run: bool = True) -> ProcessInstance:
    """`run=False` leaves the new workflow unrun (in `session.info`) for a message start."""
    definition = latest_definition(session, process_key)
    if not may_start(actor, definition.meta):
        raise Forbidden(f"you may not start '{process_key}' (candidate starters only)")
    business_key = _free_business_key(session, definition.key, business_key)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidData("data must be a JSON object", {"data": ["Must be an object."]})
    form = form_for(session, definition, definition.meta.get("start_form_key"))
    if form is not None:
        data = validate_submission(form, data)
        budget_rules.enforce(session, form, data)
    initiator = definition.meta.get("initiator")
    if initiator:
        data = {**data, initiator: actor.username}
    now = clock.now()
    instance = ProcessInstance(definition_id=definition.id, definition=definition,
                               process_key=definition.key, version=definition.version,
                               state=RUNNING, document="", started_by=actor.username,
                               started_at=now, updated_at=now, business_key=business_key)
    session.add(instance)
    session.flush()
    workflow = store.create(definition)
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    audit.record(session, "instance_started", actor.username, instance_id=instance.id,
                 process_key=definition.key, version=definition.version, data=data,
                 **({"business_key": business_key} if business_key else {}))
    if not run:
        session.info.setdefault("unrun_workflows", {})[instance.id] = workflow
        stuck_instances.watch(session, instance)
        return instance
    advance(session, instance, workflow, actor)
    stuck_instances.watch(session, instance)
    return instance


def _free_business_key(session: Session, process_key: str, business_key: Any) -> str | None:
    """409 when a running instance of the process has this key already (the partial unique
    index catches the race between two starts)."""
    if business_key is None:
        return None
    if not isinstance(business_key, str) or not business_key.strip() or len(business_key) > MAX_BUSINESS_KEY:
        raise InvalidData("the business key is invalid",
                          {"business_key": [f"A non-empty text of at most {MAX_BUSINESS_KEY} characters."]})
    taken = session.scalar(select(ProcessInstance.id).where(
        ProcessInstance.process_key == process_key, ProcessInstance.business_key == business_key,
        ProcessInstance.ended_at.is_(None)).limit(1))
    if taken is not None:
        raise Conflict(f"a running instance of '{process_key}' already has the business key '{business_key}'")
    return business_key


def advance(session: Session, instance: ProcessInstance, workflow: Any, actor: Actor) -> None:
    """Run engine steps, then persist: a BPMN failure marks the instance `error`, keeping what
    was done before it (the user's completion is never lost). Messages and signals the workflow
    threw and did not catch itself go on to the instances waiting for them."""
    failure = engine_steps.run(workflow)
    live = engine_steps.live_tasks(workflow)
    failure = failure or engine_steps.depth_guard(live)
    before = instance.state
    if failure is not None:
        instance.state, instance.error_element, instance.error_message = ERROR, failure.element_id, failure.message
        audit.record(session, "instance_error", actor.username, instance_id=instance.id,
                     element_id=failure.element_id, message=failure.message)
    elif workflow.is_completed():
        instance.state, instance.ended_at = COMPLETED, clock.now()
        instance.error_element = instance.error_message = None
    elif instance.state == ERROR:
        instance.state, instance.error_element, instance.error_message = RUNNING, None, None
    if instance.state != before and instance.state != ERROR:
        audit.record(session, f"instance_{instance.state}", actor.username, instance_id=instance.id)
    thrown = _take_thrown(workflow)
    save(session, instance, workflow, actor, live)
    for event in thrown:
        _forward(session, instance, event, actor)


MAX_FORWARD_DEPTH = 20  # a message answered by a message answered by ...: refuse a loop


def _take_thrown(workflow: Any) -> list[Any]:
    """The message and signal events thrown and not caught inside; other kinds stay where
    SpiffWorkflow left them."""
    thrown = [e for e in workflow.bpmn_events if subscriptions.kind_of(e.event_definition)]
    workflow.bpmn_events = [e for e in workflow.bpmn_events if e not in thrown]
    return thrown


def _forward(session: Session, sender: ProcessInstance, event: Any, actor: Actor) -> None:
    """A thrown signal reaches every other waiting instance; a thrown message the one waiting
    instance (if several wait, the one with the sender's business key). Either is audited; a
    message nobody waits for is audited as undelivered rather than lost silently."""
    depth = session.info.get("forward_depth", 0)
    if depth >= MAX_FORWARD_DEPTH:
        raise Conflict("messages and signals between instances went around in a loop")
    kind = subscriptions.kind_of(event.event_definition)
    name = event.event_definition.name
    waiting = [i for i in subscriptions.instances_waiting(session, kind, name) if i != sender.id]
    targets = list(session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.id.in_(waiting), ProcessInstance.state == RUNNING).order_by(ProcessInstance.id))) if waiting else []
    payload = _payload_data(event.payload)
    if kind == MESSAGE:
        # like POST /messages: a `correlation` in the sender's data names the one waiting instance
        # by its data (a call's decision goes to each project's lifecycle by `project_id`), and a
        # `message_data` is all it carries then (not the sender's whole data)
        correlation = payload.pop("correlation", None)
        if isinstance(payload.get("message_data"), dict):
            payload = dict(payload["message_data"])
        if isinstance(correlation, dict) and correlation:
            targets = [t for t in targets if _data_agrees(get(session, t), correlation)]
        targets = _message_targets(session, targets, sender.business_key)
    session.info["forward_depth"] = depth + 1
    try:
        for target in targets:
            deliver(session, get(session, target), kind, name, payload, actor)
    finally:
        session.info["forward_depth"] = depth
    audit.record(session, f"{kind}_thrown", actor.username, instance_id=sender.id, name=name,
                 delivered_to=targets)


def _data_agrees(instance: ProcessInstance, correlation: dict[str, Any]) -> bool:
    data = load_data(instance.data)
    return all(name in data and data[name] == value for name, value in correlation.items())


def _message_targets(session: Session, waiting: list[int], business_key: str | None) -> list[int]:
    if len(waiting) > 1 and business_key:
        waiting = list(session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.id.in_(waiting), ProcessInstance.business_key == business_key)))
    return waiting[:1] if len(waiting) == 1 else []


def _payload_data(payload: Any) -> dict[str, Any]:
    """The data a thrown event carries: Camunda's message wraps it as {payload, result_var}."""
    if isinstance(payload, dict) and "result_var" in payload:
        payload = payload.get("payload")
    return dict(payload) if isinstance(payload, dict) else {}


def deliver(session: Session, instance: ProcessInstance, kind: str, name: str, data: dict[str, Any],
            actor: Actor) -> bool:
    """Fire this instance's waiting catch events of `kind` and `name` with `data` merged into
    the process data, run on, save; False when it waits for none (nothing changes)."""
    unrun = session.info.get("unrun_workflows", {}).pop(instance.id, None)
    workflow = unrun if unrun is not None else store.load(instance)
    if unrun is not None:  # a message start: run up to the start event first
        engine_steps.run(workflow)
    tasks = [t for t in workflow.event_manager.tasks.values()
             if subscriptions.kind_of(getattr(t.task_spec, "event_definition", None)) == kind
             and t.task_spec.event_definition.name == name]
    if not tasks:
        return False
    for task in tasks:
        task.data.update(data)
    definition = tasks[0].task_spec.event_definition
    workflow.catch(BpmnEvent(definition, payload=_catch_payload(definition, tasks[0], data)))
    for task in tasks:  # a waiting task made ready inherits its parent's data again: the message's wins
        task.data.update(data)
    audit.record(session, f"{kind}_delivered", actor.username, instance_id=instance.id, name=name,
                 elements=sorted({t.task_spec.bpmn_id for t in tasks}), data=data)
    advance(session, instance, workflow, actor)
    return True


def _catch_payload(definition: Any, task: Any, data: dict[str, Any]) -> Any:
    """What SpiffWorkflow writes into the catching tasks. The data is merged already; Camunda's
    message writes `payload` into the variable `result_var`, so it is given a variable the tasks
    hold with that very value (a no-op), rather than a new variable in the process data."""
    if not hasattr(definition, "result_var"):
        return {}
    if data:
        variable = next(iter(data))
    elif task.data:
        variable = next(iter(task.data))
    else:
        return {"payload": True, "result_var": f"{definition.name}_received"}
    return {"payload": task.data[variable], "result_var": variable}


def save(session: Session, instance: ProcessInstance, workflow: Any, actor: Actor,
         live: list[Any] | None = None) -> None:
    live = engine_steps.live_tasks(workflow) if live is None else live
    store.save(instance, workflow)
    instance.data = dump_data(_current_data(workflow, live))
    instance.updated_at = clock.now()
    ready = [t for t in live if t.state == TaskState.READY and t.task_spec.manual]
    projection.sync(session, instance, workflow, actor.username, ready)
    subscriptions.sync(session, instance, workflow)
    worker_tasks.sync(session, instance, workflow, actor.username)
    session.flush()  # the optimistic revision check happens here: a lost race raises now
    commands.after_commit(session, lambda: store.remember(instance, workflow))


def get(session: Session, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"process instance {instance_id} not found")
    return instance


def data_of(instance: ProcessInstance) -> dict[str, Any]:
    """The process data as of the last command, without loading the workflow."""
    return load_data(instance.data)


def _current_data(workflow: Any, live: list[Any]) -> dict[str, Any]:
    """Workflow data plus the data of the newest current task (or of the last finished one)."""
    task = live[-1] if live else (workflow.last_task or workflow.task_tree)
    return {**workflow.data, **(task.data if task is not None else {})}


def fire_timers(session: Session, instance_id: int) -> bool:
    """Fire whatever timers of one instance are due at the engine clock's `now`."""
    instance = get(session, instance_id)
    if instance.state != RUNNING:
        return False
    workflow = store.load(instance)
    workflow.refresh_timers()
    advance(session, instance, workflow, Actor("scheduler"))
    audit.record(session, "timers_fired", "scheduler", instance_id=instance.id, at=clock.now().isoformat())
    return True


def due_timer_instances(session: Session, limit: int = 500) -> list[int]:
    return list(session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.next_timer_at <= clock.now(), ProcessInstance.state == RUNNING)
        .order_by(ProcessInstance.next_timer_at).limit(limit)))


def _require_supervisor(actor: Actor, reason: Any) -> str:
    require_supervisor(actor)
    return required_reason(reason)


def suspend(session: Session, actor: Actor, instance_id: int, reason: Any) -> ProcessInstance:
    reason = _require_supervisor(actor, reason)
    instance = get(session, instance_id)
    if instance.state not in (RUNNING, ERROR):
        raise Conflict(f"instance {instance_id} is {instance.state}; only running instances can be suspended")
    audit.record(session, "instance_suspended", actor.username, instance_id=instance.id,
                 reason=reason, before=instance.state)
    instance.state = SUSPENDED
    instance.updated_at = clock.now()
    return instance


def resume(session: Session, actor: Actor, instance_id: int, reason: Any) -> ProcessInstance:
    reason = _require_supervisor(actor, reason)
    instance = get(session, instance_id)
    if instance.state != SUSPENDED:
        raise Conflict(f"instance {instance_id} is {instance.state}, not suspended")
    instance.state = ERROR if instance.error_element else RUNNING
    instance.updated_at = clock.now()
    audit.record(session, "instance_resumed", actor.username, instance_id=instance.id, reason=reason)
    return instance


def terminate(session: Session, actor: Actor, instance_id: int, reason: Any) -> ProcessInstance:
    reason = _require_supervisor(actor, reason)
    instance = get(session, instance_id)
    if instance.state in (COMPLETED, TERMINATED):
        raise Conflict(f"instance {instance_id} is already {instance.state}")
    workflow = store.load(instance)
    workflow.cancel()
    audit.record(session, "instance_terminated", actor.username, instance_id=instance.id,
                 reason=reason, before=instance.state)
    instance.state, instance.ended_at = TERMINATED, clock.now()
    save(session, instance, workflow, actor)
    return instance


def retry(session: Session, actor: Actor, instance_id: int, data: Any, reason: Any) -> ProcessInstance:
    """Merge corrected data into the failing task and run it again."""
    reason = _require_supervisor(actor, reason)
    if data is not None and not isinstance(data, dict):
        raise InvalidData("data must be a JSON object", {"data": ["Must be an object."]})
    instance = get(session, instance_id)
    if instance.state != ERROR:
        raise Conflict(f"instance {instance_id} is {instance.state}, not in error")
    workflow = store.load(instance)
    failing = _failing_task(workflow, instance.error_element)
    if failing is None:
        raise BadRequest(f"the failing task '{instance.error_element}' can no longer be found")
    failing.data.update(data or {})
    failing._set_state(TaskState.READY)
    for row in worker_tasks.incidents_of(session, instance.id):  # an external task's incident
        row.retries, row.retry_at = 1, None
    audit.record(session, "instance_retried", actor.username, instance_id=instance.id,
                 reason=reason, element_id=instance.error_element, data=data or {})
    advance(session, instance, workflow, actor)
    return instance


def _failing_task(workflow: Any, element_id: str | None) -> Any:
    errored = workflow.get_tasks(state=TaskState.ERROR)
    if errored:
        return errored[0]
    candidates = [t for t in workflow.get_tasks(state=TaskState.READY | TaskState.STARTED)
                  if t.task_spec.bpmn_id == element_id]
    return candidates[0] if candidates else None
