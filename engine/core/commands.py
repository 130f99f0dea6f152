"""The one way into the engine for state changes, after Camunda's command executor: `execute`
runs a command function in one database transaction and translates storage-level failures
(a concurrent write that lost the optimistic check, a unique-key race) into `Conflict`, so
callers never see a half-done change or a raw database error for a race; it counts each command
by name and outcome, and each conflict by cause (engine/core/meters.py). It also owns the two
things a command's transaction carries for the layers above: the running command's session
(script services work in it) and the callbacks to run once it has committed (the workflow cache
takes only committed states)."""
from __future__ import annotations

import contextlib
import time
from contextvars import ContextVar
from typing import Callable, Iterator, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.core import meters
from engine.core.db import Database
from engine.core.errors import Conflict, EngineError

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
    name = meters.command_name(command)
    started = time.perf_counter()
    outcome = "error"
    try:
        result = _execute(db, command, *args, **kwargs)
        outcome = "ok"
        return result
    except Conflict as conflict:
        outcome = "conflict"
        meters.CONFLICTS.labels(name, getattr(conflict, "cause", "state")).inc()
        raise
    except EngineError as error:
        outcome = "rejected" if error.status < 500 else "error"
        raise
    finally:
        meters.COMMANDS.labels(name, outcome).inc()
        meters.DURATION.labels(name).observe(time.perf_counter() - started)


def _execute(db: Database, command: Callable[..., T], *args: object, **kwargs: object) -> T:
    try:
        with db.sessions() as session:
            with session.begin(), running_in(session):
                result = command(session, *args, **kwargs)
            # only now, committed, may the saved workflows serve the next command
            for callback in session.info.pop("after_commit", []):
                callback()
            return result
    except StaleDataError as error:
        raise _conflict("revision", "the process instance was changed by someone else meanwhile; "
                                    "reload and try again") from error
    except IntegrityError as error:
        # a unique key taken meanwhile (two deploys, two users created) is a race; any other
        # integrity failure is a real database error and stays one
        if "unique" in str(error).lower() or "duplicate key" in str(error).lower():
            raise _conflict("unique_key", "a concurrent change conflicts with this one; "
                                          "reload and try again") from error
        raise
    except OperationalError as error:
        if "could not serialize" in str(error) or "deadlock" in str(error) or "locked" in str(error):
            raise _conflict("database_busy", "the database was busy with a conflicting change; "
                                             "try again") from error
        raise


def _conflict(cause: str, message: str) -> Conflict:
    """A Conflict that says which storage-level race it was (the conflicts metric's cause)."""
    conflict = Conflict(message)
    conflict.cause = cause  # type: ignore[attr-defined]
    return conflict


def query(db: Database, reader: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Read-only access: same session handling, nothing committed."""
    with db.read() as session:
        return reader(session, *args, **kwargs)


__all__ = ["execute", "query", "Session"]
