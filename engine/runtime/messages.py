"""Messages and signals from other systems (`POST /messages`, `POST /signals`). A message goes
to the one instance waiting for it that matches the business key, the instance id and the
correlation variables given, or, when none waits and nothing narrows it to an instance, starts
an instance at a message start event of that name; none waiting is `no_match` (404) and
several a conflict (409), so a message that comes too early is an error, never lost. A signal
fires every waiting catch event of its name. The waiting instances come from the subscription
projection (engine/runtime/subscriptions.py); delivery itself is `instances.deliver`."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from engine.core import audit
from engine.core.errors import Conflict, NoMatch
from engine.core.models import ProcessInstance
from engine.core.principals import Actor, require_integration
from engine.definitions.deployment import SPECS, latest_definitions
from engine.runtime import instances, subscriptions
from engine.runtime.state import load_data
from engine.runtime.subscriptions import MESSAGE, SIGNAL


def correlate(session: Session, actor: Actor, name: str, business_key: str | None = None,
              process_instance_id: int | None = None, correlation: dict[str, Any] | None = None,
              data: dict[str, Any] | None = None) -> ProcessInstance:
    """Deliver one message; returns the instance that received it."""
    require_integration(actor, "send messages", admins_too=True)
    data, correlation = instances.usable_data(data), correlation or {}
    waiting = _matching(session, subscriptions.instances_waiting(session, MESSAGE, name),
                        business_key, process_instance_id, correlation)
    if len(waiting) > 1:
        raise Conflict(f"{len(waiting)} instances wait for the message '{name}' and match; say which "
                       "(business_key, process_instance_id or correlation)")
    if waiting:
        instance = waiting[0]
    elif process_instance_id is None and not correlation:
        instance = _start_by_message(session, actor, name, business_key, data)
    else:
        instance = None
    if instance is None:
        raise NoMatch(f"no instance waits for the message '{name}' with these keys")
    if not instances.deliver(session, instance, MESSAGE, name, data, actor):
        raise NoMatch(f"instance {instance.id} no longer waits for the message '{name}'")
    return instance


def broadcast(session: Session, actor: Actor, name: str, data: dict[str, Any] | None = None) -> int:
    """Fire every waiting catch event of the signal; returns how many instances it reached."""
    require_integration(actor, "send signals", admins_too=True)
    data = instances.usable_data(data)
    delivered = 0
    for instance_id in subscriptions.instances_waiting(session, SIGNAL, name):
        instance = instances.get(session, instance_id)
        if instance.state == instances.RUNNING and \
                instances.deliver(session, instance, SIGNAL, name, data, actor):
            delivered += 1
    audit.record(session, "signal_sent", actor.username, name=name, delivered=delivered)
    return delivered


def _matching(session: Session, waiting: list[int], business_key: str | None,
              process_instance_id: int | None, correlation: dict[str, Any]) -> list[ProcessInstance]:
    if process_instance_id is not None:
        waiting = [i for i in waiting if i == process_instance_id]
    if not waiting:
        return []
    query = select(ProcessInstance).where(ProcessInstance.id.in_(waiting),
                                          ProcessInstance.state == instances.RUNNING)
    if business_key is not None:
        query = query.where(ProcessInstance.business_key == business_key)
    found = session.scalars(query.order_by(ProcessInstance.id)).all()
    return [i for i in found if _correlates(load_data(i.data), correlation)]


def _correlates(data: dict[str, Any], correlation: dict[str, Any]) -> bool:
    return all(variable in data and data[variable] == value for variable, value in correlation.items())


def _start_by_message(session: Session, actor: Actor, name: str, business_key: str | None,
                      data: dict[str, Any]) -> ProcessInstance | None:
    """The instance a message start event begins: started as any start is (who may start,
    the start form checks the message's data), then the message is delivered to it."""
    keys = [d.key for d in latest_definitions(session) if name in message_starts(d)]
    if len(keys) > 1:
        raise Conflict(f"processes {', '.join(keys)} all start with the message '{name}'")
    if not keys:
        return None
    return instances.start(session, actor, keys[0], data, business_key, run=False)


def message_starts(definition: Any) -> set[str]:
    """The names of the messages that start this process (its message start events)."""
    spec, _subprocesses = SPECS.get(definition)
    return {ts.event_definition.name for ts in spec.task_specs.values()
            if isinstance(ts, StartEvent) and subscriptions.kind_of(getattr(ts, "event_definition", None)) == MESSAGE}
