"""/readyz and /metrics, beside /healthz: readiness for load balancers and orchestrators (200
when the database answers and the schema is at the newest migration, 503 with a short reason
otherwise), and Prometheus' text format: requests by endpoint (count and latency) from this
process, and the engine's figures read at each scrape."""
from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from engine.core import commands
from engine.supervision import operations

from web import ROOT, engine_db

monitoring = Blueprint("monitoring", __name__)

# one registry for the process, whatever the number of apps built (the tests build several)
REQUESTS = CollectorRegistry()
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


def _measured(response: Response) -> Response:
    started = g.pop("request_started", None)
    # the endpoint name, not the path: a bounded set of labels whatever the ids in URLs
    endpoint = request.endpoint or "unmatched"
    REQUEST_COUNT.labels(endpoint, request.method, str(response.status_code)).inc()
    if started is not None:
        REQUEST_LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - started)
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
                ("engine_open_tasks", "User tasks open", f.open_tasks),
                ("engine_running_instances", "Process instances running", f.running_instances),
                ("engine_error_instances", "Process instances in error", f.error_instances),
                ("engine_external_tasks_open", "External tasks waiting for a worker", f.external_tasks_open),
                ("engine_external_task_incidents", "External tasks out of retries", f.external_task_incidents),
                ("engine_message_subscriptions", "Message and signal catch events waiting",
                 f.message_subscriptions)):
            yield GaugeMetricFamily(name, help_text, value=value)


@monitoring.get("/metrics")
def metrics():  # type: ignore[no-untyped-def]
    scrape = CollectorRegistry()
    scrape.register(_Figures(commands.query(engine_db(), operations.figures)))
    body = generate_latest(REQUESTS) + generate_latest(scrape)
    return Response(body, mimetype="text/plain; version=0.0.4; charset=utf-8")
