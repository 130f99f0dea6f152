"""Saved inbox filters: a user keeps a named combination of scope, process, task, due-date
filter, search and sort ("overdue formal reviews") and applies it with one click. Only the
inbox's own parameters are kept, each checked, so a saved filter can never smuggle anything
else into the query; names are unique per user."""
from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import clock
from engine.core.errors import Forbidden, InvalidData, NotFound
from engine.workspace.inbox import InboxQuery
from engine.core.models import Base
from engine.core.principals import Actor

MAX_PER_USER = 30
KEPT = ("scope", "process_key", "task_name", "due", "search", "sort", "descending")


class SavedFilter(Base):
    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("username", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    name: Mapped[str] = mapped_column(String(80))
    params: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]

    def query(self) -> InboxQuery:
        known = {f.name for f in fields(InboxQuery)}
        return InboxQuery(**{k: v for k, v in self.params.items() if k in known})


def save(session: Session, actor: Actor, name: Any, query: InboxQuery) -> SavedFilter:
    label = name.strip() if isinstance(name, str) else ""
    if not label or len(label) > 80:
        raise InvalidData("the filter needs a name", {"name": ["A name of 1-80 characters is required."]})
    checked = query.checked()
    params = {k: v for k, v in asdict(checked).items() if k in KEPT}
    existing = session.scalar(select(SavedFilter).where(SavedFilter.username == actor.username,
                                                        SavedFilter.name == label))
    if existing is not None:
        existing.params = params
        return existing
    count = session.scalar(select(func.count()).select_from(SavedFilter)
                           .where(SavedFilter.username == actor.username)) or 0
    if count >= MAX_PER_USER:
        raise InvalidData("too many saved filters", {"name": [f"At most {MAX_PER_USER}; delete one first."]})
    row = SavedFilter(username=actor.username, name=label, params=params, created_at=clock.now())
    session.add(row)
    session.flush()
    return row


def listed(session: Session, actor: Actor) -> list[SavedFilter]:
    return list(session.scalars(select(SavedFilter).where(SavedFilter.username == actor.username)
                                .order_by(SavedFilter.name)))


def get(session: Session, actor: Actor, filter_id: int) -> SavedFilter:
    row = session.get(SavedFilter, filter_id)
    if row is None:
        raise NotFound(f"saved filter {filter_id} not found")
    if row.username != actor.username:
        raise Forbidden("this saved filter is not yours")
    return row


def delete(session: Session, actor: Actor, filter_id: int) -> None:
    session.delete(get(session, actor, filter_id))
