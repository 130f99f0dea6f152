"""The one way into the engine for state changes, after Camunda's command executor: `execute`
runs a command function in one database transaction and translates storage-level failures
(a concurrent write that lost the optimistic check, a unique-key race) into `Conflict`, so
callers never see a half-done change or a raw database error for a race. It also owns the two
things a command's transaction carries for the layers above: the running command's session
(script services work in it) and the callbacks to run once it has committed (the workflow cache
takes only committed states)."""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Callable, Iterator, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.core.db import Database
from engine.core.errors import Conflict

T = TypeVar("T")

_current: ContextVar[Session | None] = ContextVar("command_session", default=None)


def current_session() -> Session | None:
    """The session of the command running in this context, if any."""
    return _current.get()


@contextlib.contextmanager
def running_in(session: Session) -> Iterator[None]:
    """Make `session` the running command's session while the enclosed code runs."""
    token = _current.set(session)
    try:
        yield
    finally:
        _current.reset(token)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the command of `session` has committed (never after a rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


def execute(db: Database, command: Callable[..., T], *args: object, **kwargs: object) -> T:
    try:
        with db.sessions() as session:
            with session.begin(), running_in(session):
                result = command(session, *args, **kwargs)
            # only now, committed, may the saved workflows serve the next command
            for callback in session.info.pop("after_commit", []):
                callback()
            return result
    except StaleDataError as error:
        raise Conflict("the process instance was changed by someone else meanwhile; "
                       "reload and try again") from error
    except IntegrityError as error:
        # a unique key taken meanwhile (two deploys, two users created) is a race; any other
        # integrity failure is a real database error and stays one
        if "unique" in str(error).lower() or "duplicate key" in str(error).lower():
            raise Conflict("a concurrent change conflicts with this one; reload and try again") from error
        raise
    except OperationalError as error:
        if "could not serialize" in str(error) or "deadlock" in str(error) or "locked" in str(error):
            raise Conflict("the database was busy with a conflicting change; try again") from error
        raise


def query(db: Database, reader: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Read-only access: same session handling, nothing committed."""
    with db.read() as session:
        return reader(session, *args, **kwargs)


__all__ = ["execute", "query", "Session"]
