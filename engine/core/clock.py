"""The engine's single source of time. Every command reads `now()`; tests, the scheduler's
`tick --now` and simulations travel in time with `frozen_at(...)`.

SpiffWorkflow's timer event definitions call `datetime.now(timezone.utc)` directly, so at
import we point that module's `datetime` name at a subclass whose `now()` asks this clock. The
override is per context (a ContextVar), so concurrent web threads keep their own time."""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Iterator

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

_frozen: ContextVar[datetime | None] = ContextVar("engine_clock_frozen", default=None)


def now() -> datetime:
    """The current engine time, timezone-aware UTC."""
    frozen = _frozen.get()
    return frozen if frozen is not None else datetime.now(timezone.utc)


@contextlib.contextmanager
def frozen_at(moment: datetime) -> Iterator[datetime]:
    """Run the enclosed block as if the time were `moment` (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    token = _frozen.set(moment.astimezone(timezone.utc))
    try:
        yield moment
    finally:
        _frozen.reset(token)


class _EngineDatetime(datetime):
    """datetime whose now() is the engine clock; only SpiffWorkflow's timer module sees it."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        current = now()
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


_spiff_timer.datetime = _EngineDatetime
