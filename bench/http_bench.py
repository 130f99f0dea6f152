"""Benchmark: what the web layer adds to one task completion, in one process, on SQLite.

The same completion of a chain task (bench/fixtures/bench_chain.bpmn) two ways, interleaved:
POST /api/v1/tasks/{id}/complete through the Flask app's WSGI callable (werkzeug's test client:
no socket, no server thread), and the engine command alone
(`commands.execute(db, tasks.complete, actor, id, {})`, engine_bench's row (b)); and an API call
refused before the database (GET /api/v1/tasks without a token: 401), which is Flask, werkzeug
and our hooks alone; and an inbox page of 20 tasks (GET /api/v1/tasks?scope=assigned), the call
every client polls. For each: the median CPU time of the calling thread, and Python function
calls per request counted by cProfile. CPU time moves with whatever else runs on a shared
machine; function calls do not, so they are the figure to compare between two commits there.
The HTTP completion's calls are also split by what the view does besides the command (token
lookup, the answer's task and instance, the body's schema).

Usage: .venv/bin/python bench/http_bench.py [--count 150]
"""
from __future__ import annotations

import argparse
import cProfile
import functools
import io
import logging
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import engine_bench  # noqa: E402

from engine.core import commands  # noqa: E402
from engine.runtime import tasks  # noqa: E402


def calls_of(action: Callable[[], object]) -> int:
    profiler = cProfile.Profile()
    profiler.enable()
    action()
    profiler.disable()
    return int(pstats.Stats(profiler, stream=io.StringIO()).total_calls)  # type: ignore[attr-defined]


class Parts:
    """Counts the function calls inside some of the completion view's helpers."""

    def __init__(self, module: Any, names: tuple[str, ...]) -> None:
        self.calls: dict[str, list[int]] = {name: [] for name in names}
        for name in names:
            setattr(module, name, self._counted(name, getattr(module, name)))

    def _counted(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def counted(*args: Any, **kwargs: Any) -> Any:
            profiler = cProfile.Profile()
            profiler.enable()
            try:
                return function(*args, **kwargs)
            finally:
                profiler.disable()
                self.calls[name].append(pstats.Stats(profiler, stream=io.StringIO()).total_calls)  # type: ignore[attr-defined]
        return counted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=150, help="timed completions of each kind")
    args = parser.parse_args(argv)

    url = f"sqlite:///{tempfile.mkdtemp()}/http_bench.sqlite3"
    engine = engine_bench.EngineDriver(url, fast_forward=True)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    client = engine.app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": engine_bench.USER,
                                                     "password": engine_bench.PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    handle = [engine.start(engine_bench.CHAIN)]

    def next_task() -> str:
        task = engine.next_task(handle[0])
        while task is None:
            handle[0] = engine.start(engine_bench.CHAIN)
            task = engine.next_task(handle[0])
        return task

    def over_http(task: str) -> None:
        response = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {}}, headers=headers)
        assert response.status_code == 200, response.data

    def by_command(task: str) -> None:
        commands.execute(engine.db, tasks.complete, engine.actor, task, {})

    def refused() -> None:
        assert client.get("/api/v1/tasks").status_code == 401

    # the request log line is part of the cost, but not of this report
    stderr, sys.stderr = sys.stderr, io.StringIO()
    try:
        for _ in range(20):
            over_http(next_task())
            by_command(next_task())
            refused()
        cpu: dict[str, list[int]] = {"http": [], "engine": [], "refused": []}
        for _ in range(args.count):
            for name, action in (("http", over_http), ("engine", by_command)):
                task = next_task()
                started = time.thread_time_ns()
                action(task)
                cpu[name].append(time.thread_time_ns() - started)
            started = time.thread_time_ns()
            refused()
            cpu["refused"].append(time.thread_time_ns() - started)
            sys.stderr.seek(0)
            sys.stderr.truncate()
        calls = {"http": [calls_of(functools.partial(over_http, next_task())) for _ in range(20)],
                 "engine": [calls_of(functools.partial(by_command, next_task())) for _ in range(20)],
                 "refused": [calls_of(refused) for _ in range(20)]}
        for _ in range(20):  # every chain instance's first task is its initiator's
            engine.start(engine_bench.CHAIN)

        def inbox() -> None:
            response = client.get("/api/v1/tasks?scope=assigned&per_page=20", headers=headers)
            assert response.status_code == 200 and len(response.get_json()["items"]) == 20

        for _ in range(10):
            inbox()
        cpu["inbox"] = []
        for _ in range(args.count):
            started = time.thread_time_ns()
            inbox()
            cpu["inbox"].append(time.thread_time_ns() - started)
            sys.stderr.seek(0)
            sys.stderr.truncate()
        calls["inbox"] = [calls_of(inbox) for _ in range(20)]
        # last: the helpers' own profilers would hide the calls of the outer one
        from web.api import tasks as api_tasks
        parts = Parts(api_tasks, ("actor_in", "load_body", "task_dict", "instance_dict", "jsonify"))
        for _ in range(20):
            over_http(next_task())
    finally:
        sys.stderr = stderr
        engine.close()

    print(f"web layer benchmark, in-process WSGI on SQLite ({args.count} of each, medians)")
    print(f"  {'':34s} {'CPU ms':>8s} {'calls':>8s}")
    for name, label in (("http", "complete through the API"), ("engine", "the engine command alone"),
                        ("refused", "API call refused (401, no database)"),
                        ("inbox", "an inbox page of 20 tasks")):
        print(f"  {label:34s} {statistics.median(cpu[name]) / 1e6:8.3f} {statistics.median(calls[name]):8.0f}")
    extra_cpu = (statistics.median(cpu["http"]) - statistics.median(cpu["engine"])) / 1e6
    extra_calls = statistics.median(calls["http"]) - statistics.median(calls["engine"])
    print(f"  {'what the API adds':34s} {extra_cpu:8.3f} {extra_calls:8.0f}")
    print("  of which, calls inside the view's helpers:")
    for name, counted in parts.calls.items():
        print(f"    {name:32s} {statistics.median(counted):8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
