"""Gunicorn's configuration for the web app and API in production:
`gunicorn -c deploy/gunicorn.conf.py` (systemd's workflow-web.service runs exactly that).

Every figure comes from the environment (the EnvironmentFile, /etc/workflow/workflow.env), so an
operator tunes a machine without editing this file:

  GUNICORN_BIND              where to listen (127.0.0.1:8000: nginx in front)
  WEB_CONCURRENCY            worker processes (2 x cores + 1, at most 8)
  GUNICORN_THREADS           threads per worker (4): requests mostly wait on the database
  GUNICORN_TIMEOUT           a request running longer than this (s) gets its worker restarted (60)
  GUNICORN_GRACEFUL_TIMEOUT  on stop or reload, how long (s) running requests may finish (30)
  GUNICORN_KEEPALIVE         how long (s) an idle keep-alive connection from nginx stays open (5)
  GUNICORN_MAX_REQUESTS      restart a worker after this many requests, 0 = never (0)
  GUNICORN_LOG_LEVEL         info
  GUNICORN_ACCESSLOG         gunicorn's own access log ("-": stderr; unset: none, the app's
                             JSON line per request, web/structured_logs.py, says the same)
"""
from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# the app factory; chdir so `web` is importable and relative paths (instance/) are the repository's
wsgi_app = "web:create_app()"
chdir = str(ROOT)

bind = [os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000"]
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8))
# gthread: a worker holds several requests at once (each thread its own database connection),
# and keep-alive connections do not pin a worker as they would with the sync worker
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# longer than nothing so nginx's upstream keepalive reuses connections; nginx must close first
# (its keepalive_timeout to the upstream is shorter), or it may send on a closing socket
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10

# each worker builds its own app (and its own database pool): connections never cross a fork
preload_app = False
# behind nginx: trust X-Forwarded-* only from it (the app's PROXY_FIX does the rest)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1"

# the app already writes one JSON line per request (method, path, route, status, duration,
# user, request id); gunicorn's access line said it again, at about 65 us of a worker's CPU each
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL") or "info"
proc_name = "workflow-web"


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A dead worker's Prometheus figures leave the shared directory (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
