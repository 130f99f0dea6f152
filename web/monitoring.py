"""/readyz and /metrics, beside /healthz: readiness for load balancers and orchestrators (200
when the database answers and the schema is at the newest migration, 503 with a short reason
otherwise), and Prometheus' text format: requests by endpoint (count and latency) and the
engine's commands and conflicts (engine/core/meters.py), counted where they happen, and the
engine's figures read from the database at each scrape (tasks open and overdue per process,
instances in error, the outbox's backlog, each scheduler's last pass, lag and silence).

Under gunicorn each worker counts on its own; with PROMETHEUS_MULTIPROC_DIR set (an empty folder,
emptied at every start, before the workers fork) prometheus-client keeps every process's counts
in files there and the scrape adds them up, whichever worker answers it."""
from __future__ import annotations

import os
import time
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from engine.core import commands, meters
from engine.supervision import operations

from web import ROOT, engine_db

monitoring = Blueprint("monitoring", __name__)

# the engine's registry for the process, whatever the number of apps built (the tests build several)
REQUESTS = meters.REGISTRY
REQUEST_COUNT = Counter("http_requests", "HTTP requests answered, by endpoint, method and status",
                        ["endpoint", "method", "status"], registry=REQUESTS)
REQUEST_LATENCY = Histogram("http_request_duration_seconds", "Time to answer, by endpoint",
                            ["endpoint", "method"], registry=REQUESTS)


def register(app: Flask) -> None:
    app.register_blueprint(monitoring)
    app.before_request(_started)
    app.after_request(_measured)


def _started() -> None:
    g.request_started = time.perf_counter()


# the labelled children, looked up once per label set: `labels()` takes a lock and checks its
# arguments on every call (the sets are bounded, as the labels are)
_counts: dict[tuple[str, str, int], Any] = {}
_latencies: dict[tuple[str, str], Any] = {}


def _measured(response: Response) -> Response:
    started = g.pop("request_started", None)
    current = request._get_current_object()  # type: ignore[attr-defined]
    # the endpoint name, not the path: a bounded set of labels whatever the ids in URLs
    endpoint, method, status = current.endpoint or "unmatched", current.method, response.status_code
    count = _counts.get((endpoint, method, status))
    if count is None:
        count = _counts[(endpoint, method, status)] = REQUEST_COUNT.labels(endpoint, method, str(status))
    count.inc()
    if started is not None:
        latency = _latencies.get((endpoint, method))
        if latency is None:
            latency = _latencies[(endpoint, method)] = REQUEST_LATENCY.labels(endpoint, method)
        latency.observe(time.perf_counter() - started)
    return response


@monitoring.get("/readyz")
def readyz():  # type: ignore[no-untyped-def]
    found = operations.readiness(engine_db(), ROOT / "migrations")
    return jsonify({"status": "ready" if found.ready else "not ready", "reason": found.reason}), \
        200 if found.ready else 503


class _Figures:
    def __init__(self, figures: operations.Figures) -> None:
        self.figures = figures

    def collect(self) -> Any:
        f = self.figures
        for name, help_text, value in (
                ("engine_running_instances", "Process instances running", f.running_instances),
                ("engine_error_instances", "Process instances in error", f.error_instances),
                ("engine_external_tasks_open", "External tasks waiting for a worker", f.external_tasks_open),
                ("engine_external_task_incidents", "External tasks out of retries", f.external_task_incidents),
                ("engine_message_subscriptions", "Message and signal catch events waiting",
                 f.message_subscriptions),
                ("engine_outbox_backlog", "E-mails in the outbox not sent yet", f.outbox_backlog),
                ("engine_schedulers_silent", "Schedulers without a heartbeat for more than 3 intervals",
                 sum(1 for s in f.schedulers if s.silent))):
            yield GaugeMetricFamily(name, help_text, value=value)
        yield from _per_process(f)
        yield from _schedulers(f.schedulers)


def _per_process(f: operations.Figures) -> Any:
    open_tasks = GaugeMetricFamily("engine_open_tasks", "User tasks open, by process", labels=["process"])
    overdue = GaugeMetricFamily("engine_overdue_tasks", "Open user tasks past their due date, by process",
                                labels=["process"])
    for key, count in sorted(f.open_tasks_by_process.items()):
        open_tasks.add_metric([key], count)
        overdue.add_metric([key], f.overdue_tasks_by_process.get(key, 0))
    return open_tasks, overdue


def _schedulers(states: list[Any]) -> Any:
    """Each scheduler's heartbeat row as gauges (and its pass totals as counters), labelled by
    its id: the scheduler runs in a process of its own, so its figures come through the database."""
    gauges = {
        "engine_scheduler_last_pass_seconds": ("Duration of the scheduler's last pass", "pass_seconds"),
        "engine_scheduler_lag_seconds": ("How long the oldest due work had waited when the last pass "
                                         "began", "lag_seconds"),
        "engine_scheduler_heartbeat_age_seconds": ("Seconds since the scheduler's last heartbeat",
                                                   "silent_seconds")}
    for name, (help_text, attribute) in gauges.items():
        family = GaugeMetricFamily(name, help_text, labels=["scheduler"])
        for state in states:
            if getattr(state, attribute) is not None:
                family.add_metric([state.id], getattr(state, attribute))
        yield family
    passes = CounterMetricFamily("engine_scheduler_passes", "Scheduler passes done", labels=["scheduler"])
    busy = CounterMetricFamily("engine_scheduler_pass_seconds", "Time spent in scheduler passes",
                               labels=["scheduler"])
    for state in states:
        passes.add_metric([state.id], state.passes)
        busy.add_metric([state.id], state.busy_seconds)
    yield passes
    yield busy


def _counted() -> bytes:
    """What this process counted, or with PROMETHEUS_MULTIPROC_DIR what every process counted."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(REQUESTS)
    gathered = CollectorRegistry()
    multiprocess.MultiProcessCollector(gathered)
    return generate_latest(gathered)


@monitoring.get("/metrics")
def metrics():  # type: ignore[no-untyped-def]
    scrape = CollectorRegistry()
    scrape.register(_Figures(commands.query(engine_db(), operations.figures)))
    body = _counted() + generate_latest(scrape)
    return Response(body, mimetype="text/plain; version=0.0.4; charset=utf-8")


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's `child_exit` hook (in the gunicorn config): a dead worker's live figures leave
    the multiprocess files (its counters stay in the sums, as they should)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
