"""The one way into the engine for state changes, after Camunda's command executor: `execute`
runs a command function in one database transaction and translates storage-level failures
(a concurrent write that lost the optimistic check, a unique-key race) into `Conflict`, so
callers never see a half-done change or a raw database error for a race."""
from __future__ import annotations

from typing import Callable, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import script_services, store
from .db import Database
from .errors import Conflict

T = TypeVar("T")


def execute(db: Database, command: Callable[..., T], *args: object, **kwargs: object) -> T:
    try:
        with db.sessions() as session:
            # script services (engine/script_services.py) work in this command's transaction
            with session.begin(), script_services.bound(session):
                result = command(session, *args, **kwargs)
            # only now, committed, may the saved workflows serve the next command
            for instance, workflow in session.info.pop("after_commit", []):
                store.remember(instance, workflow)
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
