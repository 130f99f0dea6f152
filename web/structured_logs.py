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
_ENVIRON_KEY = "HTTP_X_REQUEST_ID"  # where WSGI puts HEADER
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
    here = g._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, not three
    # the environ, not request.headers: Headers.get of an absent header (most requests) raises
    # and catches a KeyError
    here.request_id = tracing.accepted(request.environ.get(_ENVIRON_KEY)) or tracing.new_id()
    here.request_id_token = tracing.bind(here.request_id)
    here.log_started = time.perf_counter()


def _answer(response: Response) -> Response:
    here, current = g._get_current_object(), request._get_current_object()  # type: ignore[attr-defined]
    request_id = here.get("request_id")
    if request_id:
        response.headers[HEADER] = request_id
    started = here.get("log_started")
    duration = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    rule = current.url_rule
    level = logging.DEBUG if current.endpoint in QUIET_ENDPOINTS else logging.INFO
    if not requests_log.isEnabledFor(level):
        return response
    method, status = current.method, response.status_code
    # the record made here, not through Logger.log: that one walks the stack to find its
    # caller (which is always this function) on every request
    record = requests_log.makeRecord(
        requests_log.name, level, __file__, _ANSWER_LINE, "%s %s %s", (method, current.path, status), None,
        "_answer", extra={"user": _user(here), "route": rule.rule if rule is not None else None,
                          "method": method, "status": status, "duration_ms": duration})
    requests_log.handle(record)
    return response


_ANSWER_LINE = _answer.__code__.co_firstlineno


def _end(error: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        tracing.unbind(token)


def _user(here: Any) -> str | None:
    """The signed-in caller, if this request has already looked them up (never a lookup of its
    own just for the log)."""
    actor = here.get("actor")
    if actor is not None:
        return getattr(actor, "username", None)
    user = here.get("_login_user")
    return getattr(user, "username", None)
