"""Drafts of applications: an applicant fills the start form of a process over several
sittings. A draft keeps what was typed, unvalidated (half-filled is the point), but only under
the start form's own keys and within a size limit; only its owner sees it. Submitting a draft
starts the process with the full start-form check and deletes the draft in the same
transaction, so an application is never both a draft and submitted, nor lost in between. For a
process that declares the bureau's submission rules (lifecycle.eligibility), an ineligible
application is refused here with the rules' reasons on the fields they concern, and nothing
starts (the BPMN gate stays, for starts through the API)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import audit, clock
from engine.runtime import instances
from engine.definitions.deployment import form_for, latest_definition
from engine.definitions.forms import validate_submission
from engine.lifecycle import eligibility
from engine.core.errors import Forbidden, InvalidData, NotFound
from engine.core.models import Base, ProcessInstance
from engine.core.principals import Actor
from engine.core.summaries import title_from

MAX_BYTES = 256 * 1024
MAX_PER_USER = 50


class Draft(Base):
    __tablename__ = "application_drafts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300), default="")
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


def _allowed_keys(session: Session, process_key: str, actor: Actor) -> set[str] | None:
    definition = latest_definition(session, process_key)
    if not instances.may_start(actor, definition.meta):
        raise Forbidden(f"you may not start '{process_key}'")
    form = form_for(session, definition, definition.meta.get("start_form_key"))
    return set(form.keys) if form is not None else None


def _checked(session: Session, actor: Actor, process_key: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidData("data must be an object", {"data": ["Must be an object."]})
    allowed = _allowed_keys(session, process_key, actor)
    unknown = sorted(set(data) - allowed) if allowed is not None else []
    if unknown:
        raise InvalidData("unknown fields", {k: ["Unknown field."] for k in unknown})
    if len(json.dumps(data, default=str)) > MAX_BYTES:
        raise InvalidData("the draft is too large", {"data": ["The draft is too large to save."]})
    return data


def save(session: Session, actor: Actor, process_key: str, data: Any, draft_id: int | None = None) -> Draft:
    data = _checked(session, actor, process_key, data)
    now = clock.now()
    if draft_id is not None:
        draft = get(session, actor, draft_id)
        draft.data, draft.title, draft.updated_at = data, title_from(data) or "", now
        return draft
    count = session.scalar(select(func.count()).select_from(Draft).where(Draft.username == actor.username))
    if (count or 0) >= MAX_PER_USER:
        raise InvalidData("too many drafts", {"data": [f"At most {MAX_PER_USER} drafts; delete some first."]})
    draft = Draft(username=actor.username, process_key=process_key, title=title_from(data) or "",
                  data=data, created_at=now, updated_at=now)
    session.add(draft)
    session.flush()
    audit.record(session, "draft_saved", actor.username, draft_id=draft.id, process_key=process_key)
    return draft


def get(session: Session, actor: Actor, draft_id: int) -> Draft:
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise NotFound(f"draft {draft_id} not found")
    if draft.username != actor.username:
        raise Forbidden("this draft is not yours")
    return draft


def listed(session: Session, actor: Actor) -> list[Draft]:
    return list(session.scalars(select(Draft).where(Draft.username == actor.username)
                                .order_by(Draft.updated_at.desc(), Draft.id.desc())))


def delete(session: Session, actor: Actor, draft_id: int) -> None:
    session.delete(get(session, actor, draft_id))
    audit.record(session, "draft_deleted", actor.username, draft_id=draft_id)


def submit(session: Session, actor: Actor, process_key: str, data: Any,
           draft_id: int | None = None) -> ProcessInstance:
    """Start the process from the (fully checked) data; the draft goes in the same transaction."""
    draft = get(session, actor, draft_id) if draft_id is not None else None
    if draft is not None and draft.process_key != process_key:
        raise InvalidData("the draft belongs to another process", {"process_key": ["Does not match the draft."]})
    _check_eligibility(session, process_key, data)
    instance = instances.start(session, actor, process_key, data)
    if draft is not None:
        session.delete(draft)
    return instance


def _check_eligibility(session: Session, process_key: str, data: Any) -> None:
    """The submission rules, after the form's own check (a half-filled form hears of its fields first)."""
    definition = latest_definition(session, process_key)
    if not eligibility.applies(definition.meta) or not isinstance(data, dict):
        return
    form = form_for(session, definition, definition.meta.get("start_form_key"))
    checked = validate_submission(form, data) if form is not None else data
    result = eligibility.check(session, str(checked.get(eligibility.ORGANISATION) or ""),
                               str(checked.get(eligibility.INVESTIGATOR) or ""))
    if not result.allowed:
        raise InvalidData("this application may not be submitted now", result.by_field())
