"""deploy/gunicorn.conf.py as systemd runs it: gunicorn started with that file alone (the app
factory, workers and threads from the environment) serves /healthz and /readyz on a migrated
database, over one keep-alive connection, and stops cleanly on SIGTERM."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time

from tests.conftest import ROOT

CONFIG = ROOT / "deploy" / "gunicorn.conf.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else "gunicorn exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not listen within 60 s")


def test_gunicorn_with_the_repositorys_config_serves_health_and_readiness_and_stops_cleanly(sqlite_database, tmp_path):
    # given the configuration's settings from the environment, as the EnvironmentFile gives them
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": sqlite_database.url, "SECRET_KEY": "test-secret",
           "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2",
           "GUNICORN_GRACEFUL_TIMEOUT": "10"}
    # when gunicorn starts from anywhere with only the config file
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(CONFIG)], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_until_up(port, process)
        # then health and readiness answer 200, both over the same keep-alive connection
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        answers = []
        for path in ("/healthz", "/readyz"):
            conn.request("GET", path)
            response = conn.getresponse()
            answers.append((path, response.status, response.read()))
            assert response.getheader("Connection", "").lower() != "close"
        conn.close()
        assert [(p, s) for p, s, _ in answers] == [("/healthz", 200), ("/readyz", 200)], answers
        # and SIGTERM stops the master and its workers cleanly
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert "Booting worker" in output and output.count("Booting worker") >= 2
        assert "Shutting down: Master" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
