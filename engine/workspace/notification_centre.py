"""The notification centre's view-model: a page of the reader's notifications, newest first, each
with where it leads (its task, else its project's instance page), and the rule that decides that
place, shared by the list, the bell's link and the links in e-mails. A place is offered only
when the reader may open it now, by the same rules as the task and instance pages (a task may
have been reassigned since the notification was written): the task when the reader may see it
(theirs, a candidate's, a supervisor's, or as a substitute), else the instance when access
gives them a part in it, else nothing, and the notification is shown as text only."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import HumanTask, ProcessInstance
from engine.core.principals import Actor
from engine.notify import notifications
from engine.runtime import access, tasks
from engine.workspace import substitutes

TASK, INSTANCE = "task", "instance"


@dataclass(frozen=True)
class Place:
    """Where a notification (or one item of a gathered one) leads: a task or an instance."""

    kind: str
    target: str | int


@dataclass
class Item:
    title: str
    place: Place | None


@dataclass
class Entry:
    id: int
    title: str
    body: str
    created_at: datetime
    read: bool
    place: Place | None
    count: int = 1
    items: list[Item] = field(default_factory=list)


@dataclass
class CentreView:
    entries: list[Entry]
    total: int
    unread: int
    page: int
    per_page: int


class _Places:
    """Checks each task and instance once per page (a digest may name the same one twice)."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session, self.actor = session, actor
        self._tasks: dict[str, bool] = {}
        self._instances: dict[int, bool] = {}

    def of(self, task_id: str | None, instance_id: int | None) -> Place | None:
        if task_id and self._task(task_id):
            return Place(TASK, task_id)
        if instance_id is None and task_id:
            instance_id = self.session.scalar(select(HumanTask.process_instance_id).where(HumanTask.id == task_id))
        if instance_id is not None and self._instance(int(instance_id)):
            return Place(INSTANCE, int(instance_id))
        return None

    def _task(self, task_id: str) -> bool:
        if task_id not in self._tasks:
            row = self.session.get(HumanTask, task_id)
            self._tasks[task_id] = row is not None and (
                tasks.may_see(self.session, row, self.actor)
                or (row.state == "open" and substitutes.covered_for(self.session, self.actor, row) is not None))
        return self._tasks[task_id]

    def _instance(self, instance_id: int) -> bool:
        if instance_id not in self._instances:
            instance = self.session.get(ProcessInstance, instance_id)
            self._instances[instance_id] = instance is not None and access.may_see_instance(
                self.session, self.actor, instance)
        return self._instances[instance_id]


def centre_view(session: Session, actor: Actor, language: str, page: int = 1,
                per_page: int = 20) -> CentreView:
    """A page of the actor's notifications in `language`, each with the place it may lead to."""
    rows, total, unread = notifications.list_for(session, actor, False, page, per_page)
    places = _Places(session, actor)
    entries = []
    for row in rows:
        shown = notifications.render(row, language)
        items = [Item(i["title"] or "-", places.of(i["task_id"], i["process_instance_id"]))
                 for i in shown["items"] or []]
        entries.append(Entry(row.id, shown["title"], shown["body"], row.created_at, shown["read"],
                             _place_of(places, row), shown["count"], items))
    return CentreView(entries, total, unread, page, per_page)


def open_notification(session: Session, actor: Actor, notification_id: int) -> Place | None:
    """Opening one of the actor's notifications (from the list or an e-mail) marks it read and
    answers where it leads now; someone else's is NotFound, as in the API."""
    row = notifications.mark_read(session, actor, notification_id)
    return _place_of(_Places(session, actor), row)


def _place_of(places: _Places, row: notifications.Notification) -> Place | None:
    if row.task_id or row.process_instance_id:
        return places.of(row.task_id, row.process_instance_id)
    items = row.params.get("items") or []
    if row.params.get("count", 1) == 1 and items:  # a gathered row of one event leads where it does
        return places.of(items[0].get("task_id"), items[0].get("instance_id"))
    return None


def unread_count(session: Session, actor: Actor) -> int:
    return notifications.unread_count(session, actor)

