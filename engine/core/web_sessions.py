"""Signed-in browser sessions, kept server-side: each sign-in gets a random id that the session
cookie carries; only its SHA-256 digest is stored, with the user, when it began, when it was last
used and when it ended. Every page request resumes the record, so a session ends for real when the
user signs out, when it passes the absolute limit or the idle limit, when the password changes or
the account is deactivated; a copied cookie of an ended session signs nobody in."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, delete, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import clock
from engine.core.models import Base, User

ABSOLUTE_LIMIT = timedelta(hours=10)
IDLE_LIMIT = timedelta(minutes=60)
# last_seen_at is rewritten at most this often, so that reading a page rarely writes
TOUCH_EVERY = timedelta(seconds=60)


class WebSession(Base):
    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_because: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (Index("ix_web_sessions_user_id", "user_id"),)


@dataclass(frozen=True)
class Limits:
    absolute: timedelta = ABSOLUTE_LIMIT
    idle: timedelta = IDLE_LIMIT


@dataclass(frozen=True)
class Resumed:
    """The outcome of resuming a session: the user, or why there is none ("unknown", "ended",
    "expired", "inactive")."""

    user: User | None
    refused_because: str | None = None


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def begin(session: Session, user: User) -> str:
    """A new session for `user`; returns the id for the cookie. The user's ended records, and
    anyone's long past the absolute limit, are dropped on the way."""
    now = clock.now()
    session.execute(delete(WebSession).where(or_(
        (WebSession.user_id == user.id) & WebSession.ended_at.is_not(None),
        WebSession.created_at < now - 2 * ABSOLUTE_LIMIT)))
    session_id = secrets.token_urlsafe(32)
    session.add(WebSession(id_hash=_digest(session_id), user_id=user.id, created_at=now,
                           last_seen_at=now))
    return session_id


def resume(session: Session, session_id: str, limits: Limits = Limits(), touch: bool = True) -> Resumed:
    """The session's user if the session is still in force; a session past a limit is ended
    here. `touch=False` (a background poll) does not count as the user being active."""
    record = session.get(WebSession, _digest(session_id)) if session_id else None
    if record is None:
        return Resumed(None, "unknown")
    if record.ended_at is not None:
        return Resumed(None, "ended")
    now = clock.now()
    if now - record.created_at > limits.absolute or now - record.last_seen_at > limits.idle:
        record.ended_at, record.ended_because = now, "expired"
        return Resumed(None, "expired")
    user = session.get(User, record.user_id)
    if user is None or not user.active:
        record.ended_at, record.ended_because = now, "inactive"
        return Resumed(None, "inactive")
    if touch and now - record.last_seen_at >= TOUCH_EVERY:
        record.last_seen_at = now
    return Resumed(user)


def end(session: Session, session_id: str, because: str = "signed_out") -> None:
    session.execute(update(WebSession)
                    .where(WebSession.id_hash == _digest(session_id), WebSession.ended_at.is_(None))
                    .values(ended_at=clock.now(), ended_because=because))


def end_all(session: Session, user_id: int, because: str) -> int:
    """Ends every open session of the user (password changed, account deactivated)."""
    result = session.execute(update(WebSession)
                             .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
                             .values(ended_at=clock.now(), ended_because=because))
    return result.rowcount or 0


def open_sessions(session: Session, user_id: int) -> list[WebSession]:
    return list(session.scalars(select(WebSession).where(WebSession.user_id == user_id,
                                                         WebSession.ended_at.is_(None))))
