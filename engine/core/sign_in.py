"""Signing in with a user name and password, for the web sign-in and the API token alike, and the
throttle in front of it. Every failed attempt is a row (user name, client address, time) in the
database, so all server processes share the count. Two brakes, both an exponentially growing wait
rather than a lock: per (user name, address) after a few failures, and per address over all names
after a larger budget. A user whose name is being guessed from elsewhere still signs in from their
own address. The attempt does the same work whether or not the name exists (a password hash is
checked against a dummy hash for unknown or inactive users, and the failure is recorded alike)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash

from engine.core import clock, passwords
from engine.core.errors import TooManyAttempts, Unauthorized
from engine.core.models import Base, User


@dataclass(frozen=True)
class Brake:
    """`free` failures within `window` cost nothing; each further one doubles the wait after the
    latest failure, starting at one second, up to `longest`."""

    free: int
    window: timedelta
    longest: timedelta

    def wait(self, failures: int) -> timedelta:
        if failures < self.free:
            return timedelta(0)
        return min(timedelta(seconds=2 ** min(failures - self.free, 30)), self.longest)


PER_NAME_AND_ADDRESS = Brake(free=3, window=timedelta(hours=24), longest=timedelta(minutes=15))
PER_ADDRESS = Brake(free=20, window=timedelta(hours=1), longest=timedelta(minutes=15))
NAME_LENGTH = 80
ADDRESS_LENGTH = 64


class SignInFailure(Base):
    __tablename__ = "sign_in_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(NAME_LENGTH))
    address: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    failed_at: Mapped[datetime]

    __table_args__ = (Index("ix_sign_in_failures_address", "address", "failed_at"),
                      Index("ix_sign_in_failures_username", "username", "address"))


def _name_key(username: str) -> str:
    return username.strip().lower()[:NAME_LENGTH]


def _address_key(address: str | None) -> str:
    return (address or "unknown")[:ADDRESS_LENGTH]


def _wait(session: Session, brake: Brake, now: datetime, *where: object) -> float:
    count, latest = session.execute(
        select(func.count(), func.max(SignInFailure.failed_at))
        .where(SignInFailure.failed_at > now - brake.window, *where)).one()
    if not count or latest is None:
        return 0.0
    if latest.tzinfo is None:  # an aggregate skips the column type on some backends
        from datetime import timezone
        latest = latest.replace(tzinfo=timezone.utc)
    return ((latest + brake.wait(count)) - now).total_seconds()


def retry_after(session: Session, username: str, address: str | None) -> int:
    """Seconds until this name may be tried again from this address (0: now)."""
    now = clock.now()
    name, addr = _name_key(username), _address_key(address)
    wait = max(_wait(session, PER_NAME_AND_ADDRESS, now, SignInFailure.username == name,
                     SignInFailure.address == addr),
               _wait(session, PER_ADDRESS, now, SignInFailure.address == addr))
    return math.ceil(wait) if wait > 0 else 0


@dataclass(frozen=True)
class Attempt:
    user: User | None
    retry_after: int = 0

    def user_or_raise(self) -> User:
        if self.retry_after:
            raise TooManyAttempts("too many failed sign-ins; wait before trying again", self.retry_after)
        if self.user is None:
            raise Unauthorized("wrong user name or password")
        return self.user


def attempt(session: Session, username: str, password: str, address: str | None) -> Attempt:
    """Checks the password unless the throttle says wait. A failure is recorded (and committed
    with this command), so callers turn the result into an error only after the command:
    `commands.execute(db, attempt, ...).user_or_raise()`."""
    wait = retry_after(session, username, address)
    if wait:
        return Attempt(None, wait)
    name = username if isinstance(username, str) else ""
    user = session.scalar(select(User).where(User.username == name)) if name else None
    known = user is not None and user.active
    matches = check_password_hash(user.password_hash if known else passwords.dummy_hash(), password or "")
    now = clock.now()
    if known and matches:
        session.execute(delete(SignInFailure).where(SignInFailure.username == _name_key(name),
                                                    SignInFailure.address == _address_key(address)))
        return Attempt(user)
    session.add(SignInFailure(username=_name_key(name), address=_address_key(address), failed_at=now))
    _forget_old(session, now)
    return Attempt(None)


def _forget_old(session: Session, now: datetime) -> None:
    longest = max(PER_NAME_AND_ADDRESS.window, PER_ADDRESS.window)
    session.execute(delete(SignInFailure).where(SignInFailure.failed_at < now - longest))
