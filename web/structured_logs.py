"""Structured logs: every log record of the process as one JSON object per line on stderr (time,
level, logger, message, and the request's request_id, user, route, status and duration_ms where
there is a request), and the request id itself: taken from an incoming `X-Request-Id` when it is a
plain token, else made here, bound for the request (engine/core/tracing.py: the command's audit
events carry it) and echoed in the response's `X-Request-Id`. One line per request is written by
the logger `web.requests` (the probes /healthz, /readyz and /metrics and static files at DEBUG, so
a scrape every few seconds does not fill the log). `LOG_FORMAT=text` keeps Python's plain lines;
`LOG_LEVEL` sets the level of our own loggers, `web.*` and `engine.*` (INFO); other libraries
log their warnings only."""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Response, g, request

from engine.core import tracing

HEADER = "X-Request-Id"
OWN_LOGGERS = ("web", "engine")
QUIET_ENDPOINTS = {"home.healthz", "monitoring.readyz", "monitoring.metrics", "static"}
requests_log = logging.getLogger("web.requests")

# the attributes every LogRecord has; anything else on a record came through `extra=`
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record; the request's fields from the running request if the record
    does not carry them; extra fields as they are."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "request_id": tracing.current()}
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (a test's capture, a redirected stream)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure(app: Flask) -> None:
    """JSON lines for the whole process (once, however many apps are built), and the request
    id and the request's line for this app."""
    _install(os.environ.get("LOG_FORMAT", "json"), os.environ.get("LOG_LEVEL", "INFO"))
    app.before_request(_begin)
    app.after_request(_answer)
    app.teardown_request(_end)


def _install(form: str, level: str) -> None:
    root = logging.getLogger()
    if any(isinstance(h, _Stderr) for h in root.handlers):
        return
    handler = _Stderr()
    handler.setFormatter(JsonFormatter() if form != "text" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    # LOG_LEVEL is for our own loggers; libraries stay at WARNING (SpiffWorkflow logs every task
    # state change at INFO, with the instance's data: too costly and not for the log)
    root.setLevel(logging.WARNING)
    for ours in OWN_LOGGERS:
        logging.getLogger(ours).setLevel(getattr(logging, level.upper(), logging.INFO))


def _begin() -> None:
    g.request_id = tracing.accepted(request.headers.get(HEADER)) or tracing.new_id()
    g.request_id_token = tracing.bind(g.request_id)
    g.log_started = time.perf_counter()


def _answer(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[HEADER] = request_id
    started = g.get("log_started")
    duration = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    route = request.url_rule.rule if request.url_rule is not None else None
    level = logging.DEBUG if request.endpoint in QUIET_ENDPOINTS else logging.INFO
    requests_log.log(level, "%s %s %s", request.method, request.path, response.status_code, extra={
        "user": _user(), "route": route, "method": request.method, "status": response.status_code,
        "duration_ms": duration})
    return response


def _end(error: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        tracing.unbind(token)


def _user() -> str | None:
    """The signed-in caller, if this request has already looked them up (never a lookup of its
    own just for the log)."""
    actor = g.get("actor")
    if actor is not None:
        return getattr(actor, "username", None)
    user = g.get("_login_user")
    return getattr(user, "username", None)
