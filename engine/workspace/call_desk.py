"""What institution staff and applicants do with calls for proposals beyond the call's own
record (engine/lifecycle/calls.py): publishing a call starts its process `call_for_proposals`
(business key: the call key, data as issue 16's interface says); extending its deadline or
closing it early wakes that process with the message `call_changed`, so it reads the deadline
again; an application under a call is checked against the call's rules before the lifecycle
starts (nothing starts when they refuse it) and, once registered, carries the call's key in the
project register (quota, formal-review progress and the batch all read it from there). Who may
manage or read calls is engine/runtime/access.py's rule."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.errors import Forbidden, InvalidData
from engine.core.models import ProcessInstance
from engine.core.principals import Actor
from engine.definitions.deployment import form_for, latest_definition
from engine.definitions.forms import validate_submission
from engine.lifecycle import calls
from engine.runtime import access, instances
from engine.runtime.subscriptions import MESSAGE
from engine.workspace import application_drafts

LIFECYCLE = "project_lifecycle"
CHANGED = "call_changed"


def may_manage(actor: Actor) -> bool:
    return access.may_manage_calls(actor)


def may_read(actor: Actor) -> bool:
    return access.may_read_calls(actor)


def _require_staff(actor: Actor) -> None:
    if not may_manage(actor):
        raise Forbidden("only the institution's staff manage calls for proposals")


def create(session: Session, actor: Actor, data: Any, template_key: str | None = None) -> calls.Call:
    _require_staff(actor)
    return calls.create(session, actor.username, data, template_key or None)


def update(session: Session, actor: Actor, key: str, data: Any) -> calls.Call:
    _require_staff(actor)
    return calls.update_draft(session, key, actor.username, data)


def call_instance(session: Session, key: str) -> ProcessInstance | None:
    return session.scalar(select(ProcessInstance).where(
        ProcessInstance.process_key == calls.PROCESS_KEY, ProcessInstance.business_key == key,
        ProcessInstance.state == instances.RUNNING).order_by(ProcessInstance.id.desc()).limit(1))


def publish(session: Session, actor: Actor, key: str) -> calls.Call:
    """Publish the draft and start its process, in one transaction (one without the other never)."""
    _require_staff(actor)
    call = calls.publish(session, key, actor.username)
    instances.start(session, actor, calls.PROCESS_KEY, calls.process_data(call), business_key=call.key)
    return call


def _wake(session: Session, actor: Actor, key: str) -> None:
    instance = call_instance(session, key)
    if instance is not None:
        instances.deliver(session, instance, MESSAGE, CHANGED, {}, actor)


def extend(session: Session, actor: Actor, key: str, closes_at: datetime, reason: str) -> calls.Call:
    _require_staff(actor)
    call = calls.extend(session, key, actor.username, closes_at, reason)
    _wake(session, actor, key)
    return call


def close(session: Session, actor: Actor, key: str) -> calls.Call:
    _require_staff(actor)
    call = calls.close(session, key, actor.username)
    _wake(session, actor, key)
    return call


def check_start(session: Session, key: str, investigator: str) -> list[str]:
    """Before the form is offered: the call's refusals that depend only on the call and the
    applicant (closed, not open yet, too many open projects)."""
    found = calls.refusals(session, key, {"principal_investigator": investigator}, at_submission=False)
    return [text for texts in found.values() for text in texts]


def submit(session: Session, actor: Actor, key: str, data: Any, topic: str | None = None,
           draft_id: int | None = None) -> ProcessInstance:
    """Submit an application under the call: refused with the fields named when the call's rules
    say no (closed, category, topic, budget, quota, ...), and nothing starts then."""
    application = {**(data if isinstance(data, dict) else {}), "call_topic": topic or ""}
    found = calls.refusals(session, key, application)
    if found:
        # the form's own errors too, so that one answer names every field to correct
        definition = latest_definition(session, LIFECYCLE)
        form = form_for(session, definition, definition.meta.get("start_form_key"))
        try:
            if form is not None:
                validate_submission(form, data)
        except InvalidData as error:
            found = {**error.fields, **found}
        raise InvalidData("the call does not admit this application", found)
    instance = application_drafts.submit(session, actor, LIFECYCLE, data, draft_id)
    project_id = instances.data_of(instance).get("project_id")
    if isinstance(project_id, int):  # registered (the general gate refuses before registering)
        calls.attach(session, project_id, key, topic)
    return instance
