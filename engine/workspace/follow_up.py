"""Follow-up dates: a personal "remind me on" date that a user puts on a task beside its due
date (Camunda's follow-up date, but per user, since a group task is looked at by many). Only the
user sees their own; the inbox shows it and can filter on "follow-up due". Setting one needs no
more than being allowed to see the task; it changes nothing in the process."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import clock
from engine.runtime import tasks
from engine.core.errors import InvalidData
from engine.core.models import Base
from engine.core.principals import Actor

FURTHEST = timedelta(days=3 * 366)


class FollowUp(Base):
    __tablename__ = "follow_ups"
    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    follow_up_on: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime]


def set_date(session: Session, actor: Actor, task_id: str, value: Any,
             may_see: Any = None) -> FollowUp | None:
    """Set (or clear, with an empty value) the actor's follow-up date on a task. `may_see`
    lets a caller widen visibility (a substitute); by default the task rules apply."""
    row = tasks.get(session, task_id)
    if not (may_see(session, row) if may_see else tasks.may_see(session, row, actor)):
        tasks.get_visible(session, actor, task_id)  # raises the usual Forbidden
    existing = session.get(FollowUp, (actor.username, task_id))
    if value in (None, ""):
        if existing is not None:
            session.delete(existing)
        return None
    day = _parse(value)
    if existing is None:
        existing = FollowUp(username=actor.username, task_id=task_id, follow_up_on=day,
                            updated_at=clock.now())
        session.add(existing)
    else:
        existing.follow_up_on, existing.updated_at = day, clock.now()
    return existing


def _parse(value: Any) -> date:
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidData("not a date", {"follow_up_on": ["A date (YYYY-MM-DD) is required."]}) from None
    if day > clock.now().date() + FURTHEST:
        raise InvalidData("too far ahead", {"follow_up_on": ["At most three years ahead."]})
    return day


def dates_for(session: Session, username: str, task_ids: list[str]) -> dict[str, date]:
    if not task_ids:
        return {}
    rows = session.execute(select(FollowUp.task_id, FollowUp.follow_up_on).where(
        FollowUp.username == username, FollowUp.task_id.in_(task_ids)))
    return {task_id: day for task_id, day in rows}
