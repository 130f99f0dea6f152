"""gunicorn settings for the production shape (README.md, "Production"): threaded workers in
front of PostgreSQL. Minimal on purpose; the deployment files may say more. Override any of
these on the command line or by environment (GUNICORN_CMD_ARGS)."""
import os

wsgi_app = "web:create_app()"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# API clients keep their connections open between calls
keepalive = 30
timeout = 60
graceful_timeout = 20
