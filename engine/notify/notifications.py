"""Notifications: what the scheduler tells people, in the app and by e-mail. This module owns the
`notifications` table (one row per user and event, with an unread state for the in-app list and
its unread count), the `mail_outbox` table (e-mails waiting to be delivered, see engine/notify/mailer.py)
and the rule that turns the first into the second.

Every notification is in the app at once. Its e-mail goes out either with the next scheduler
pass (`urgent`: the people who must act on a task) or in the daily digest, at 08:30 bureau time
on the next working day (reports to supervisors, stuck processes). Either way a pass writes ONE
e-mail per user with everything due for them, so a catch-up after downtime or a bad morning
gives each person one message, not a flood; and reports about many tasks are gathered into one
notification per person (see Batch). Users without an e-mail address get the in-app
notification only."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Iterable

from sqlalchemy import (JSON, BigInteger, ForeignKey, Index, Integer, String, Text, func, select,
                        text, update)
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import bulk, clock, leases, tracing
from engine.notify import texts
from engine.core.calendar import BUREAU_TZ, is_working_day
from engine.core.errors import InvalidData, NotFound
from engine.core.models import AuditEvent, Base, Group, Membership, User
from engine.core.principals import Actor

# the daily digest goes out at this bureau time on working days
DIGEST_AT = time(8, 30)

_ID = BigInteger().with_variant(Integer, "sqlite")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_read", "username", "read_at"),
        Index("ix_notifications_user_created", "username", "created_at"),
        Index("ix_notifications_email_after", "email_after",
              postgresql_where=text("email_after IS NOT NULL"),
              sqlite_where=text("email_after IS NOT NULL")),
        Index("ux_notifications_digest_key", "digest_key", unique=True,
              postgresql_where=text("digest_key IS NOT NULL"),
              sqlite_where=text("digest_key IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    task_id: Mapped[str | None] = mapped_column(String(36))
    process_instance_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    # when its e-mail is due (now for urgent ones, the next digest otherwise); NULL once queued
    email_after: Mapped[datetime | None]
    outbox_id: Mapped[int | None] = mapped_column(
        _ID, ForeignKey("mail_outbox.id", ondelete="SET NULL"))
    # a gathered notification (see Batch) while it takes events: "kind|user|e-mail moment",
    # unique, so that concurrent schedulers add to the same row; NULL once its e-mail is written
    digest_key: Mapped[str | None] = mapped_column(String(200))


class OutboxMessage(Base):
    """One e-mail to one user; delivered (and retried) by engine/notify/mailer.py."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index("ix_mail_outbox_next_attempt_at", "next_attempt_at",
              postgresql_where=text("next_attempt_at IS NOT NULL"),
              sqlite_where=text("next_attempt_at IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    notification_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))  # queued, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


QUEUED, SENT, FAILED = "queued", "sent", "failed"


def next_digest(after: datetime) -> datetime:
    """The first digest moment (DIGEST_AT bureau time on a working day) strictly after `after`."""
    local = after.astimezone(BUREAU_TZ)
    day = local.date()
    while True:
        moment = datetime.combine(day, DIGEST_AT, tzinfo=BUREAU_TZ)
        if moment > local and is_working_day(day):
            return moment.astimezone(after.tzinfo)
        day += timedelta(days=1)


class Directory:
    """Who is who, for one batch of scheduler work: active users and group members, each looked
    up once per batch rather than once per task."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._members: dict[str, list[str]] = {}
        self._known: dict[str, bool] = {}
        self._people: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}

    def prefetch(self, usernames: Iterable[str | None], groups: Iterable[str]) -> None:
        """Look up everyone a batch may need in two queries instead of one per task."""
        self.members(groups)
        self.existing(u for u in usernames if u)

    def members(self, groups: Iterable[str]) -> list[str]:
        groups = list(groups)
        missing = [g for g in set(groups) if g not in self._members]
        if missing:
            rows = self.session.execute(
                select(Group.name, User.username).join(Membership, Membership.group_id == Group.id)
                .join(User, User.id == Membership.user_id)
                .where(bulk.among(self.session, Group.name, missing), User.active.is_(True))).all()
            for group in missing:
                self._members[group] = []
            for group, username in rows:
                self._members[group].append(username)
                self._known[username] = True
        return sorted({u for g in groups for u in self._members[g]})

    def people(self, groups: Iterable[str], usernames: Iterable[str]) -> list[str]:
        """Members of the groups and the named users, once per combination in a batch."""
        key = (tuple(groups), tuple(usernames))
        if key not in self._people:
            self._people[key] = sorted(set(self.members(key[0])) | set(self.existing(key[1])))
        return self._people[key]

    def existing(self, usernames: Iterable[str | None]) -> list[str]:
        """The given names that are active users (a BPMN may name someone not registered)."""
        names = {u for u in usernames if u}
        missing = [u for u in names if u not in self._known]
        if missing:
            found = set(self.session.scalars(select(User.username).where(
                bulk.among(self.session, User.username, missing), User.active.is_(True))))
            self._known.update({u: u in found for u in missing})
        return sorted(u for u in names if self._known[u])


@dataclass
class Batch:
    """What one scheduler batch writes besides its claimed rows: the notifications it sends and
    its audit entries, collected and written together at the end (set-wise: a catch-up pass
    may write tens of thousands, and one ORM insert per row would cost most of the pass).

    A notification to a person about their own task is one row per task. Reports to many
    people about many tasks (to supervisors, to a candidate group) are gathered: one row per
    user, kind and e-mail moment, listing the first DIGEST_ITEMS events and counting them all,
    so that a supervisor finds one "37 tasks overdue" rather than 37 notifications, in the app
    as in the e-mail. A gathered row takes further events until its e-mail is written."""

    now: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    gathered: dict[tuple[str, str, datetime], list[dict[str, Any]]] = field(default_factory=dict)
    _digest: datetime | None = None

    def record(self, action: str, actor: str, *, instance_id: int | None = None,
               task_id: str | None = None, **details: Any) -> None:
        """An audit entry, exactly as engine.audit.record writes it."""
        self.audits.append({"at": self.now, "actor": actor, "action": action,
                            "process_instance_id": instance_id, "task_id": task_id,
                            "details": details, "request_id": tracing.current()})

    def add(self, usernames: Iterable[str], kind: str, params: dict[str, Any], *,
            task_id: str | None = None, instance_id: int | None = None, urgent: bool,
            gather: bool = False) -> list[str]:
        """Notify `usernames`; urgent ones are e-mailed by this pass, the others in the next
        daily digest; `gather` puts the event in the user's gathered row of this kind."""
        names = sorted(set(usernames))
        if not urgent and self._digest is None:
            self._digest = next_digest(self.now)
        email_after = self.now if urgent else self._digest
        if gather or not urgent:
            item = {**params, "task_id": task_id, "instance_id": instance_id}
            for name in names:
                self.gathered.setdefault((name, kind, email_after), []).append(item)
            return names
        self.rows += [{"username": u, "kind": kind, "params": params, "task_id": task_id,
                       "process_instance_id": instance_id, "created_at": self.now,
                       "read_at": None, "email_after": email_after} for u in names]
        return names

    def flush(self, session: Session) -> int:
        count = len(self.rows) + sum(len(items) for items in self.gathered.values())
        bulk.insert_rows(session, Notification.__table__, self.rows)
        bulk.insert_rows(session, AuditEvent.__table__, self.audits)
        if self.gathered:
            self._flush_gathered(session)
        self.rows, self.audits, self.gathered = [], [], {}
        return count

    def _flush_gathered(self, session: Session) -> None:
        keys = {f"{kind}|{user}|{moment.isoformat()}": (user, kind, moment)
                for user, kind, moment in self.gathered}
        # rows another batch started and whose e-mail is not written yet (queue_emails clears
        # the key): locked in key order, so that two schedulers cannot deadlock on them
        existing = session.execute(select(Notification.id, Notification.digest_key, Notification.params)
                                   .where(bulk.among(session, Notification.digest_key, list(keys)))
                                   .order_by(Notification.digest_key).with_for_update()).all()
        updates = []
        for row in existing:
            params = _merged(row.params, self.gathered[keys.pop(row.digest_key)])
            updates.append({"id": row.id, "params": params, "created_at": self.now, "read_at": None})
        bulk.update_rows(session, Notification.__table__, "id", updates)
        bulk.insert_rows(session, Notification.__table__, [
            {"username": user, "kind": kind, "params": _merged(None, self.gathered[(user, kind, moment)]),
             "task_id": None, "process_instance_id": None, "created_at": self.now, "read_at": None,
             "email_after": moment, "digest_key": key} for key, (user, kind, moment) in sorted(keys.items())])


DIGEST_ITEMS = 20


def _merged(params: dict[str, Any] | None, items: list[dict[str, Any]]) -> dict[str, Any]:
    old = params or {"count": 0, "items": []}
    return {"count": old["count"] + len(items), "items": (old["items"] + items)[:DIGEST_ITEMS]}


# ---- in-app list ------------------------------------------------------------------------------

def _mine(actor: Actor, unread_only: bool) -> Any:
    where = Notification.username == actor.username
    return where & Notification.read_at.is_(None) if unread_only else where


def unread_count(session: Session, actor: Actor) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(_mine(actor, True))) or 0


def list_for(session: Session, actor: Actor, unread_only: bool = False, page: int = 1,
             per_page: int = 20) -> tuple[list[Notification], int, int]:
    """(a page of the actor's notifications, newest first; their total; the unread count)."""
    where = _mine(actor, unread_only)
    total = session.scalar(select(func.count()).select_from(Notification).where(where)) or 0
    rows = session.scalars(select(Notification).where(where)
                           .order_by(Notification.created_at.desc(), Notification.id.desc())
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total, unread_count(session, actor)


def mark_read(session: Session, actor: Actor, notification_id: int) -> Notification:
    row = session.get(Notification, notification_id)
    if row is None or row.username != actor.username:
        # someone else's notification is as good as absent: its existence is not for this user
        raise NotFound(f"notification {notification_id} not found")
    if row.read_at is None:
        row.read_at = clock.now()
    return row


def mark_all_read(session: Session, actor: Actor, ids: list[int] | None = None) -> int:
    """Mark the actor's unread notifications read (only `ids` if given); returns how many."""
    if ids is not None and not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InvalidData("ids must be a list of notification ids", {"ids": ["Must be integers."]})
    where = _mine(actor, True)
    if ids is not None:
        where = where & Notification.id.in_(ids)
    result = session.execute(update(Notification).where(where).values(read_at=clock.now())
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def render(row: Notification, language: str) -> dict[str, Any]:
    """A notification as the reader sees it; a digest also lists the tasks or instances it
    gathers (the first DIGEST_ITEMS of `count`)."""
    subject, body = texts.render(row.kind, row.params, language)
    items = row.params.get("items")
    listed = [{"task_id": i.get("task_id"), "process_instance_id": i.get("instance_id"),
               "title": texts.pick(i.get("title"), texts.language_of(language))
               or None} for i in items] if items is not None else None
    return {"id": row.id, "kind": row.kind, "title": subject, "body": body,
            "task_id": row.task_id, "process_instance_id": row.process_instance_id,
            "count": row.params.get("count", 1), "items": listed,
            "created_at": row.created_at, "read_at": row.read_at, "read": row.read_at is not None}


# ---- e-mail composition ------------------------------------------------------------------------

def queue_emails(session: Session, language: str, app_url: str, limit: int = 200) -> int:
    """One scheduler step: for up to `limit` users with notifications whose e-mail is due, write
    one outbox e-mail each (a digest when there are several) and mark them queued. Returns the
    number of notifications handled (0 when nothing is due)."""
    now = clock.now()
    due = (Notification.email_after.isnot(None)) & (Notification.email_after <= now)
    users = list(session.scalars(select(Notification.username).where(due)
                                 .group_by(Notification.username).limit(limit)))
    if not users:
        return 0
    # plain rows, not ORM objects: a catch-up pass may e-mail tens of thousands of them
    rows = session.execute(leases.claim_rows(session, select(
        Notification.id, Notification.username, Notification.kind, Notification.params).where(
        due, bulk.among(session, Notification.username, users))
        .order_by(Notification.username, Notification.id))).all()
    people = {u.username: u for u in session.execute(
        select(User.username, User.email, User.display_name, User.active)
        .where(bulk.among(session, User.username, users)))}
    by_user: dict[str, list[Any]] = {}
    for row in rows:
        by_user.setdefault(row.username, []).append(row)
    messages: list[tuple[OutboxMessage, list[int]]] = []
    unsent: list[int] = []
    for username, items in by_user.items():
        user = people.get(username)
        if user is not None and user.email and user.active:
            messages.append((_message(user, items, language, app_url, now), [n.id for n in items]))
        else:
            unsent += [n.id for n in items]
    session.add_all(m for m, _ in messages)
    session.flush()
    # a gathered row whose e-mail is written takes no more events: its key is released
    queued = [{"id": i, "email_after": None, "outbox_id": m.id, "digest_key": None}
              for m, ids in messages for i in ids]
    queued += [{"id": i, "email_after": None, "outbox_id": None, "digest_key": None} for i in unsent]
    bulk.update_rows(session, Notification.__table__, "id", queued)
    return len(rows)


def _message(user: Any, items: list[Any], language: str, app_url: str,
             now: datetime) -> OutboxMessage:
    # each item links to the notification centre's /notifications/ID, which marks it read and
    # leads to its task or project as the reader may open it at the time they click
    links = [f"{app_url.rstrip('/')}/notifications/{n.id}" for n in items]
    subject, body = texts.email([(n.kind, n.params) for n in items],
                                user.display_name or user.username, language, app_url, links)
    return OutboxMessage(username=user.username, recipient=user.email, subject=subject[:300],
                         body=body, notification_ids=[n.id for n in items], created_at=now,
                         state=QUEUED, attempts=0, next_attempt_at=now)


def waiting_emails(session: Session, cap: int = 10_000) -> int:
    """E-mails waiting in the outbox, counted up to `cap` (a dev setup without SMTP keeps all)."""
    waiting = select(OutboxMessage.id).where(OutboxMessage.next_attempt_at.isnot(None)).limit(cap)
    return session.scalar(select(func.count()).select_from(waiting.subquery())) or 0
