"""Comments on tasks: short notes reviewers leave for each other on a task ("called the
applicant, the approval follows on Monday"). A comment is on whoever may see its task
(assignee, candidates, whoever completed it, supervisors) and carries a visibility, `applicant`
or `internal`, chosen when written: non-staff see only shared ones and their own
(engine/runtime/access.py). Comments are never edited or deleted: they are part of the record, and audited."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.runtime import access, instances, tasks
from engine.core import audit, clock
from engine.core.errors import Forbidden, InvalidData
from engine.core.models import Base, HumanTask
from engine.core.principals import Actor

MAX_LENGTH = 2000


class Comment(Base):
    __tablename__ = "task_comments"
    __table_args__ = (Index("ix_task_comments_instance", "process_instance_id", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instances.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    # `applicant` or `internal` (engine/runtime/access.py decides who sees which)
    visibility: Mapped[str] = mapped_column(String(16), default="internal", server_default="internal")


def add(session: Session, actor: Actor, task_id: str, body: object,
        may_see: Callable[[Session, HumanTask], bool] | None = None, visibility: str | None = None) -> Comment:
    row = tasks.get(session, task_id)
    if not (may_see(session, row) if may_see else tasks.may_see(session, row, actor)):
        tasks.get_visible(session, actor, task_id)  # raises the usual Forbidden
    chosen = access.check_item_visibility(visibility, _view(session, actor, row))
    text = body.strip() if isinstance(body, str) else ""
    if not text:
        raise InvalidData("the comment is empty", {"body": ["Write something first."]})
    if len(text) > MAX_LENGTH:
        raise InvalidData("the comment is too long", {"body": [f"At most {MAX_LENGTH} characters."]})
    comment = Comment(process_instance_id=row.process_instance_id, task_id=row.id,
                      author=actor.username, body=text, created_at=clock.now(), visibility=chosen)
    session.add(comment)
    session.flush()
    audit.record(session, "comment_added", actor.username, instance_id=row.process_instance_id,
                 task_id=row.id, comment_id=comment.id, visibility=chosen)
    return comment


def _view(session: Session, actor: Actor, row: HumanTask) -> "access.View | None":
    """The actor's view of the task's instance; None for a substitute with no part in it yet."""
    try:
        return access.view_of(session, actor, instances.get(session, row.process_instance_id))
    except Forbidden:
        return None


def for_task(session: Session, view: "access.View | None", task_id: str) -> list[Comment]:
    """The task's comments this viewer may see (a substitute without a view of their own sees
    the internal ones of the colleague they cover for: they share that colleague's work)."""
    rows = session.scalars(select(Comment).where(Comment.task_id == task_id).order_by(Comment.created_at, Comment.id))
    return [c for c in rows if view is None or view.sees_item(c.visibility, c.author)]


def for_instance(session: Session, actor: Actor, instance_id: int) -> list[tuple[Comment, HumanTask]]:
    """Comments on the instance's tasks that the actor may see, oldest first."""
    try:
        view = access.view_of(session, actor, instances.get(session, instance_id))
    except Forbidden:
        return []
    rows = session.execute(select(Comment, HumanTask).join(HumanTask, HumanTask.id == Comment.task_id)
                           .where(Comment.process_instance_id == instance_id)
                           .order_by(Comment.created_at, Comment.id)).all()
    return [(c, t) for c, t in rows if tasks.may_see(session, t, view.actor)
            and view.sees_item(c.visibility, c.author)]
