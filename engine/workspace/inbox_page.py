"""What the inbox page shows (its view-model): the page of tasks for the query, the task names and
processes its filters offer, the fingerprint the page polls to see new tasks, the user's saved
filters, whom they stand in for, and the menu's counts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.core import names
from engine.core.principals import Actor
from engine.workspace import inbox, saved_filters, substitutes


@dataclass
class InboxView:
    result: inbox.InboxPage
    task_names: Any
    process_names: Any
    fingerprint: str
    saved: list[Any]
    covering: list[Any]
    counts: Any
    names: names.Names | None = None


def inbox_view(session: Session, actor: Actor, query: inbox.InboxQuery) -> InboxView:
    view = InboxView(
        result=inbox.search(session, actor, query), task_names=inbox.task_names(session, actor, query.scope),
        process_names=inbox.process_names(session),
        fingerprint=inbox.fingerprint(session, actor, query.scope) if query.scope != "completed" else "",
        saved=saved_filters.listed(session, actor), covering=substitutes.covering(session, actor),
        counts=inbox.counts(session, actor))
    view.names = names.of_tasks(session, [r.task for r in view.result.rows],
                                [*(r.on_behalf_of for r in view.result.rows), *(c.username for c in view.covering)])
    return view
