"""One scheduler pass (`tick`) and the long-running loop. A pass fires the BPMN timers that are
due at the engine clock's now, found through the indexed `next_timer_at` column so it costs what
is due, not what exists. Each instance is handled in its own transaction; a failure on one is
reported and does not stop the others. Reminders and escalations build on this pass."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from . import clock, commands, instances
from .db import Database
from .errors import EngineError

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    at: str
    fired: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"tick at {self.at}: fired timers of {len(self.fired)} instance(s)"]
        out += [f"  fired timers of instance {i}" for i in self.fired]
        out += [f"  instance {i}: {message}" for i, message in self.failed]
        return out


def tick(db: Database) -> TickReport:
    report = TickReport(at=clock.now().isoformat())
    seen: set[int] = set()
    while True:
        due = [i for i in commands.query(db, instances.due_timer_instances) if i not in seen]
        if not due:
            return report
        for instance_id in due:
            seen.add(instance_id)
            try:
                if commands.execute(db, instances.fire_timers, instance_id):
                    report.fired.append(instance_id)
            except EngineError as error:
                report.failed.append((instance_id, error.message))


def run_forever(db: Database, interval: int, echo: Callable[[str], None] = print) -> None:
    """Development and single-node scheduler: a pass every `interval` seconds until stopped."""
    echo(f"scheduler running, a pass every {interval} s (Ctrl+C to stop)")
    try:
        while True:
            report = tick(db)
            if report.fired or report.failed:
                for line in report.lines():
                    echo(line)
            time.sleep(interval)
    except KeyboardInterrupt:
        echo("scheduler stopped")
