"""The engine's own Prometheus instruments, counted where the work happens: commands run, by
command and outcome, with their duration, and the conflicts among them by cause (`revision`:
the instance's optimistic revision check lost to a concurrent write; `unique_key` and
`database_busy`: a race the database caught; `state`: the command itself found the thing
changed, such as a task no longer open). They live in one registry, `REGISTRY`, which /metrics
serves; under gunicorn with PROMETHEUS_MULTIPROC_DIR set, prometheus-client writes every
process's values to files in that folder instead, and /metrics adds them up (web/monitoring.py)."""
from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry()

COMMANDS = Counter("engine_commands", "Engine commands run, by command and outcome "
                   "(ok, conflict, rejected: a refusal such as 403/404/422, error)",
                   ["command", "outcome"], registry=REGISTRY)
CONFLICTS = Counter("engine_command_conflicts", "Commands that ended in a conflict (HTTP 409), by "
                    "command and cause (revision: optimistic lock lost; unique_key; database_busy; "
                    "state: found changed by the command itself)",
                    ["command", "cause"], registry=REGISTRY)
DURATION = Histogram("engine_command_duration_seconds", "Time a command's transaction took, by command",
                     ["command"], registry=REGISTRY,
                     buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10))


def command_name(command: Callable[..., object]) -> str:
    """A bounded, readable label for a command function: its module without the top package, and
    its name; a closure is named by the function that made it (a view's `_complete` inside
    `complete_task` counts as `api.tasks.complete_task`)."""
    module = getattr(command, "__module__", None) or "?"
    module = module.split(".", 1)[1] if module.startswith(("engine.", "web.")) else module
    name = getattr(command, "__qualname__", None) or type(command).__name__
    return f"{module}.{name.split('.<locals>')[0]}"
