"""Benchmark: what one user-task completion costs, from raw SpiffWorkflow up to the HTTP API.

Per completion, on a chain of 16 user tasks (bench/fixtures/bench_chain.bpmn, small history):

  (a)      raw SpiffWorkflow in memory: set the data, `task.run()`, `workflow.do_engine_steps()`
           on a `BpmnWorkflow` built from `engine.parser.EngineParser` specs with the engine's
           script engine; nothing is saved.
  (b)      the engine on SQLite: `commands.execute(db, tasks.complete, actor, task_id, {})`,
           i.e. permission checks, load, step, serialization, projection, audit, commit.
  (b-cold) the same with the per-process workflow cache (engine/runtime/store.py) emptied before each
           completion, so every command also deserializes the instance document.
  (c)      the engine on PostgreSQL (skipped when it is not reachable or with --no-postgres).
  (d)      POST /api/v1/tasks/{id}/complete to the real Flask app (werkzeug server in a thread,
           same SQLite database as (b), bearer token), timed at an http.client client. Werkzeug
           3 answers every request with `Connection: close`, so the client reconnects each time
           and the figure includes a loopback TCP connect and a server thread start.

History growth, on one user task repeated as a sequential multi-instance
(bench/fixtures/bench_mi.bpmn: every completion adds a task to the tree without deepening it):
the cost of one completion after 5 and after 500 earlier completions of the same instance, raw
(a) against the engine on SQLite (b), plus (b) with a cold cache for reference. The 5-point
uses a fresh instance per repetition; the 500-point drives one instance to 500 completions and
then times consecutive completions (history 500, 501, ...), raw and engine alike; the cold
column follows on the same instance (history 500 + reps onwards).

Loop history, on a user task in a gateway loop (bench/fixtures/bench_loop.bpmn: a round finishes
a user task, a script task and a gateway, as the lifecycle's correction rounds do, and deepens
the tree by three levels): one completion after 5 and after 150 rounds, raw against the engine,
with the growth of SpiffWorkflow's step and of what the engine adds to it.

Only the completion itself is timed; finding the next task id and starting instances are not.
Nothing the engine keeps in production (workflow and spec caches) is cleared between samples,
except in the cold rows and when switching to another database. Medians and p90 in ms; ratios
are against (a) of the same run. Targets are printed as PASS/MISS and never change the exit
status: (d) median <= 5 ms; (b) within 3x of (a) after 5 and after 500 steps.

Usage: .venv/bin/python bench/engine_bench.py [--quick] [--no-postgres] [--json PATH] [--profile]
--quick takes fewer samples and reaches the 500-step history in one transaction (the same
SpiffWorkflow state, saved once) instead of 500 commands; the whole run stays under 30 s.
--profile runs cProfile over engine completions at >= 500 steps and prints the top functions.
"""
from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import logging
import math
import os
import platform
import pstats
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/engine_bench.py` must find engine/ and web/

from sqlalchemy.engine import make_url  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine.core import clock, commands, users
from engine.definitions import deployment
from engine.runtime import finished_tasks, instances, projection, store, tasks
from engine.definitions.parser import EngineParser
from engine.runtime.state import new_workflow
from engine.core.principals import Actor  # noqa: E402

FIXTURES = ROOT / "bench" / "fixtures"
MIGRATIONS = ROOT / "migrations"
CHAIN, MULTI, LOOP = "bench_chain", "bench_mi", "bench_loop"
USER, PASSWORD = "bench", "bench-password"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
HTTP_TARGET_MS = 5.0
RATIO_TARGET = 3.0


# ---------------------------------------------------------------------------------------------
# plan and statistics

@dataclass(frozen=True)
class Plan:
    chain: int          # timed completions per engine row of the per-completion table
    raw_factor: int     # raw completions are ~100x cheaper: take more of them for a stable median
    warmup: int         # untimed completions first (SQLAlchemy statement cache, spec cache)
    early: int          # the "after 5 steps" point
    early_reps: int     # fresh instances timed at the early point
    late: int           # the "after 500 steps" point
    late_reps: int      # consecutive completions timed from the late point on
    fast_forward: bool  # reach the late point in one transaction instead of `late` commands
    loop_late: int      # rounds of the gateway loop before its late point (depth 3 per round)
    profile_reps: int   # completions under cProfile (--profile)


QUICK = Plan(chain=100, raw_factor=5, warmup=10, early=5, early_reps=25, late=500, late_reps=15,
             fast_forward=True, loop_late=150, profile_reps=10)
FULL = Plan(chain=500, raw_factor=5, warmup=20, early=5, early_reps=120, late=500, late_reps=40,
            fast_forward=False, loop_late=150, profile_reps=30)


@dataclass(frozen=True)
class Stats:
    n: int
    median_ms: float
    p90_ms: float


def summarize(samples_ns: list[int]) -> Stats:
    ordered = sorted(samples_ns)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]  # nearest rank
    return Stats(len(ordered), statistics.median(ordered) / 1e6, p90 / 1e6)


def timed(action: Callable[[], object]) -> int:
    started = time.perf_counter_ns()
    action()
    return time.perf_counter_ns() - started


# ---------------------------------------------------------------------------------------------
# the things being timed: one protocol, three implementations

class Driver(Protocol):
    def start(self, key: str) -> Any: ...
    def next_task(self, handle: Any) -> Any | None: ...
    def complete(self, handle: Any, task: Any) -> None: ...
    def advance(self, handle: Any, steps: int) -> None: ...


class RawDriver:
    """SpiffWorkflow alone, with the engine's parser and script engine; a handle is a workflow."""

    def __init__(self) -> None:
        parser = EngineParser()
        for path in sorted(FIXTURES.glob("*.bpmn")):
            parser.add_bpmn_file(str(path))
        self.specs = {key: (parser.get_spec(key), parser.get_subprocess_specs(key))
                      for key in (CHAIN, MULTI, LOOP)}

    def start(self, key: str) -> Any:
        workflow = new_workflow(*self.specs[key])
        workflow.get_tasks(state=TaskState.READY)[0].data.update({"initiator": USER})
        workflow.do_engine_steps()
        return workflow

    def next_task(self, handle: Any) -> Any | None:
        ready = handle.get_tasks(state=TaskState.READY, manual=True)
        return ready[0] if ready else None

    def complete(self, handle: Any, task: Any) -> None:
        task.data.update({})
        task.run()
        handle.do_engine_steps()

    def advance(self, handle: Any, steps: int) -> None:
        for _ in range(steps):
            self.complete(handle, self.next_task(handle))


def _fast_forward(session: Any, actor: Actor, instance_id: int, steps: int) -> None:
    """Bench-only command for --quick: the same SpiffWorkflow state as `steps` completions,
    reached in memory and saved once (fewer audit and task rows than 500 real commands)."""
    instance = instances.get(session, instance_id)
    workflow = store.load(instance)
    for _ in range(steps):
        projection.ready_user_tasks(workflow)[0].run()
        workflow.do_engine_steps()
    for row in tasks.open_tasks(session, instance_id):
        projection.close(session, row, actor.username, clock.now())
    instances.advance(session, instance, workflow, actor)


class EngineDriver:
    """The engine's commands on one database; a handle is a process instance id."""

    def __init__(self, url: str, fast_forward: bool) -> None:
        import flask_migrate

        from web import create_app
        self.app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
        with self.app.app_context():
            flask_migrate.upgrade(directory=str(MIGRATIONS))
        self.db = self.app.extensions["engine_db"]
        self.actor = Actor(USER)
        self.fast_forward = fast_forward
        files = [(p.name, p.read_bytes()) for p in sorted(FIXTURES.glob("*.bpmn"))]
        commands.execute(self.db, users.create_user, USER, PASSWORD, [], password_policy=False)
        commands.execute(self.db, deployment.deploy, files, "bench")

    def start(self, key: str) -> int:
        return commands.execute(self.db, instances.start, self.actor, key, {}).id

    def next_task(self, handle: int) -> str | None:
        rows = commands.query(self.db, tasks.open_tasks, handle)
        return rows[0].id if rows else None

    def complete(self, handle: int, task: str) -> None:
        commands.execute(self.db, tasks.complete, self.actor, task, {})

    def advance(self, handle: int, steps: int) -> None:
        if self.fast_forward:
            commands.execute(self.db, _fast_forward, self.actor, handle, steps)
            return
        for _ in range(steps):
            self.complete(handle, self.next_task(handle))

    def document_size(self, handle: int) -> tuple[int, int]:
        """Bytes of the instance document, and of its finished tasks stored apart."""
        def sizes(session: Any) -> tuple[int, int]:
            document, stored = finished_tasks.read_state(session, handle)
            return len(document), sum(len(b) for _w, _t, b in stored)
        return commands.query(self.db, sizes)

    def close(self) -> None:
        self.db.engine.dispose()
        self.db.read_engine.dispose()


class HttpDriver(EngineDriver):
    """(d): completions go through the HTTP API; setup and task lookup stay on the engine."""

    def __init__(self, engine: EngineDriver) -> None:
        from werkzeug.serving import make_server
        self.__dict__.update(engine.__dict__)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        # http.client reopens the connection by itself after werkzeug's `Connection: close`
        self.conn = http.client.HTTPConnection("127.0.0.1", self.server.server_port, timeout=30)
        self.token = self._post("/api/v1/auth/token", {"username": USER, "password": PASSWORD},
                                expect=201)["token"]

    def _post(self, path: str, body: dict[str, Any], expect: int = 200) -> Any:
        headers = {"Content-Type": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f"Bearer {self.token}"
        self.conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
        response = self.conn.getresponse()
        payload = response.read()  # read it all, or the keep-alive connection cannot be reused
        if response.status != expect:
            raise RuntimeError(f"POST {path}: {response.status} {payload[:300]!r}")
        return json.loads(payload)

    def complete(self, handle: int, task: str) -> None:
        self._post(f"/api/v1/tasks/{task}/complete", {"data": {}})

    def close(self) -> None:
        self.conn.close()
        self.server.shutdown()


# ---------------------------------------------------------------------------------------------
# measurements

def per_completion(driver: Driver, count: int, warmup: int,
                   before_each: Callable[[], None] | None = None) -> list[int]:
    """`count` completions on the chain, starting a new instance whenever one ends."""
    samples: list[int] = []
    handle = driver.start(CHAIN)
    while len(samples) < count + warmup:
        task = driver.next_task(handle)
        if task is None:
            handle = driver.start(CHAIN)
            continue
        if before_each:
            before_each()
        samples.append(timed(lambda: driver.complete(handle, task)))
    return samples[warmup:]


def after_early(driver: Driver, steps: int, reps: int,
                before_each: Callable[[], None] | None = None, key: str = MULTI) -> list[int]:
    """One completion after `steps` earlier ones, on a fresh instance per repetition."""
    samples = []
    for _ in range(reps):
        handle = driver.start(key)
        driver.advance(handle, steps)
        task = driver.next_task(handle)
        if before_each:
            before_each()
        samples.append(timed(lambda: driver.complete(handle, task)))
    return samples


def consecutive(driver: Driver, handle: Any, reps: int,
                before_each: Callable[[], None] | None = None) -> list[int]:
    """`reps` completions in a row on an instance that is already far along."""
    samples = []
    for _ in range(reps):
        task = driver.next_task(handle)
        if before_each:
            before_each()
        samples.append(timed(lambda: driver.complete(handle, task)))
    return samples


def profile_late(engine: EngineDriver, handle: int, reps: int, top: int = 20) -> str:
    """cProfile over `reps` engine completions on the far-along instance; top by cumulative."""
    profiler = cProfile.Profile()
    for _ in range(reps):
        task = engine.next_task(handle)
        profiler.enable()
        engine.complete(handle, task)
        profiler.disable()
    out = _StringSink()
    stats = pstats.Stats(profiler, stream=out)  # type: ignore[arg-type]
    stats.sort_stats("cumulative").print_stats(top)
    # the engine's own functions only: which of its steps the time goes to
    stats.print_stats(re.escape(str(ROOT / "engine")) + "/", top)
    stats.sort_stats("tottime").print_stats(top // 2)
    return _short_paths(out.text())


def _short_paths(text: str) -> str:
    # keep the package part of each path (SpiffWorkflow/workflow.py, engine/runtime/store.py): bare file
    # names are ambiguous, full paths make every line wrap
    import site
    import sysconfig
    prefixes = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"],
                *site.getsitepackages(), str(ROOT)}
    for prefix in sorted(prefixes, key=len, reverse=True):
        text = text.replace(prefix.rstrip("/") + "/", "")
    return text


class _StringSink:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def text(self) -> str:
        return "".join(self.parts)


def prepare_postgres(url: str) -> tuple[str | None, str]:
    """Create the database if missing and start from an empty schema. Returns (the reason it
    is unusable or None, the server version)."""
    import psycopg
    target = make_url(url)
    params = dict(host=target.host or "127.0.0.1", port=target.port or 5432,
                  user=target.username or "postgres", password=target.password, connect_timeout=3)
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (target.database,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{target.database}"')
        with psycopg.connect(dbname=target.database, autocommit=True, **params) as conn:
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
            return None, str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0], ""


# ---------------------------------------------------------------------------------------------
# the run

@dataclass
class Results:
    mode: str
    environment: dict[str, str]
    rows: dict[str, Stats | None]
    skipped: dict[str, str]
    history: dict[str, dict[str, Stats]]
    document_bytes: dict[str, tuple[int, int]]
    late_reached_by: str
    seconds: float = 0.0
    profile: str = ""
    loop_history: dict[str, dict[str, Stats]] = field(default_factory=dict)
    loop_document_bytes: dict[str, tuple[int, int]] = field(default_factory=dict)


def run_small_history(plan: Plan, raw: RawDriver, sqlite_url: str, pg_url: str | None,
                      results: Results) -> EngineDriver:
    results.rows["a"] = summarize(per_completion(raw, plan.chain * plan.raw_factor, plan.warmup))
    engine = EngineDriver(sqlite_url, plan.fast_forward)
    results.rows["b"] = summarize(per_completion(engine, plan.chain, plan.warmup))
    results.rows["b-cold"] = summarize(per_completion(engine, plan.chain, plan.warmup,
                                                      before_each=store.CACHE.clear))
    http_driver = HttpDriver(engine)
    results.rows["d"] = summarize(per_completion(http_driver, plan.chain, plan.warmup))
    http_driver.close()
    results.rows["c"] = run_postgres(plan, pg_url, results)
    return engine


def run_postgres(plan: Plan, pg_url: str | None, results: Results) -> Stats | None:
    if pg_url is None:
        results.skipped["c"] = "skipped: --no-postgres"
        return None
    reason, server_version = prepare_postgres(pg_url)
    if reason is not None:
        results.skipped["c"] = f"skipped: PostgreSQL not reachable ({reason})"
        return None
    results.environment["postgresql"] = server_version
    # instance ids restart per database; a production process never sees two databases
    store.CACHE.clear()
    engine = EngineDriver(pg_url, plan.fast_forward)
    try:
        return summarize(per_completion(engine, plan.chain, plan.warmup))
    finally:
        store.CACHE.clear()
        engine.close()


def run_history(plan: Plan, raw: RawDriver, engine: EngineDriver, results: Results,
                profile: bool) -> None:
    early, late = str(plan.early), str(plan.late)
    results.history[early] = {
        "raw": summarize(after_early(raw, plan.early, plan.early_reps * plan.raw_factor)),
        "engine": summarize(after_early(engine, plan.early, plan.early_reps)),
        "engine_cold": summarize(after_early(engine, plan.early, plan.early_reps,
                                             before_each=store.CACHE.clear))}
    workflow = raw.start(MULTI)
    raw.advance(workflow, plan.late)
    handle = engine.start(MULTI)
    engine.advance(handle, plan.late)
    results.document_bytes[late] = engine.document_size(handle)
    results.history[late] = {
        "raw": summarize(consecutive(raw, workflow, plan.late_reps)),
        "engine": summarize(consecutive(engine, handle, plan.late_reps)),
        "engine_cold": summarize(consecutive(engine, handle, plan.late_reps,
                                             before_each=store.CACHE.clear))}
    early_handle = engine.start(MULTI)
    engine.advance(early_handle, plan.early)
    results.document_bytes[early] = engine.document_size(early_handle)
    if profile:
        results.profile = profile_late(engine, handle, plan.profile_reps)


def run_loop_history(plan: Plan, raw: RawDriver, engine: EngineDriver, results: Results) -> None:
    """The lifecycle's shape of history: rounds of a gateway loop (bench/fixtures/bench_loop.bpmn)."""
    early, late = str(plan.early), str(plan.loop_late)
    results.loop_history[early] = {
        "raw": summarize(after_early(raw, plan.early, plan.early_reps * plan.raw_factor, key=LOOP)),
        "engine": summarize(after_early(engine, plan.early, plan.early_reps, key=LOOP))}
    workflow = raw.start(LOOP)
    raw.advance(workflow, plan.loop_late)
    handle = engine.start(LOOP)
    engine.advance(handle, plan.loop_late)
    results.loop_document_bytes[late] = engine.document_size(handle)
    results.loop_history[late] = {"raw": summarize(consecutive(raw, workflow, plan.late_reps)),
                                  "engine": summarize(consecutive(engine, handle, plan.late_reps))}
    early_handle = engine.start(LOOP)
    engine.advance(early_handle, plan.early)
    results.loop_document_bytes[early] = engine.document_size(early_handle)


def environment() -> dict[str, str]:
    from importlib.metadata import version
    return {"python": platform.python_version(), "SpiffWorkflow": version("SpiffWorkflow"),
            "SQLAlchemy": version("SQLAlchemy"), "Flask": version("Flask"),
            "sqlite": sqlite3.sqlite_version, "cpus": str(os.cpu_count()),
            "machine": platform.machine()}


def run(quick: bool, pg_url: str | None, profile: bool) -> Results:
    plan = QUICK if quick else FULL
    started = time.perf_counter()
    results = Results("quick" if quick else "full", environment(), {}, {}, {}, {},
                      "one in-memory transaction (--quick)" if plan.fast_forward else
                      f"{plan.late} engine commands")
    raw = RawDriver()
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as folder:
        sqlite_url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        engine = run_small_history(plan, raw, sqlite_url, pg_url, results)
        run_history(plan, raw, engine, results, profile)
        run_loop_history(plan, raw, engine, results)
        engine.close()
    results.seconds = time.perf_counter() - started
    return results


# ---------------------------------------------------------------------------------------------
# report

ROW_LABELS = {"a": "(a) raw SpiffWorkflow, in memory",
              "b": "(b) engine, SQLite",
              "b-cold": "(b-cold) engine, SQLite, cold cache",
              "c": "(c) engine, PostgreSQL",
              "d": "(d) HTTP API, SQLite"}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_report(results: Results) -> None:
    env = ", ".join(f"{k} {v}" for k, v in results.environment.items())
    print(f"engine benchmark ({results.mode} run; {env})\n")
    print_completion_table(results)
    print()
    print_history_table(results)
    print()
    print_loop_table(results)
    print()
    print_targets(results)
    if results.profile:
        print(f"\ncProfile of (b) at >= {max(int(k) for k in results.history)} steps:")
        print(results.profile)
    print(f"\nwhole run: {results.seconds:.1f} s")


def print_completion_table(results: Results) -> None:
    raw = results.rows["a"]
    print("One user-task completion, chain of 16 user tasks (history <= 16 steps)")
    print(f"{'':38} {'n':>5} {'median ms':>10} {'p90 ms':>9} {'x (a)':>8}")
    for key, label in ROW_LABELS.items():
        stats = results.rows.get(key)
        if stats is None:
            print(f"{label:38} {results.skipped.get(key, 'skipped')}")
            continue
        ratio = stats.median_ms / raw.median_ms if raw else float("nan")
        print(f"{label:38} {stats.n:5d} {stats.median_ms:10.3f} {stats.p90_ms:9.3f} {ratio:8.1f}")


def print_history_table(results: Results) -> None:
    print("One completion after N earlier completions of the same instance "
          f"(sequential multi-instance user task; N={max(int(k) for k in results.history)} "
          f"reached by {results.late_reached_by})")
    print(f"{'N':>4} {'raw med':>9} {'raw p90':>9} {'engine med':>11} {'engine p90':>11} "
          f"{'x raw':>7} {'cold med':>9} {'document':>10} {'stored apart':>13}")
    for point, figures in results.history.items():
        raw, engine, cold = figures["raw"], figures["engine"], figures["engine_cold"]
        size, apart = results.document_bytes.get(point, (0, 0))
        print(f"{point:>4} {raw.median_ms:9.3f} {raw.p90_ms:9.3f} {engine.median_ms:11.3f} "
              f"{engine.p90_ms:11.3f} {engine.median_ms / raw.median_ms:7.1f} "
              f"{cold.median_ms:9.3f} {size / 1024:8.1f}KB {apart / 1024:11.1f}KB")
    early, late = (results.history[k] for k in sorted(results.history, key=int))
    raw_growth = late["raw"].median_ms - early["raw"].median_ms
    engine_growth = late["engine"].median_ms - early["engine"].median_ms
    print(f"growth from {min(results.history, key=int)} to {max(results.history, key=int)} steps: "
          f"raw +{raw_growth:.3f} ms, engine +{engine_growth:.3f} ms "
          f"({engine_growth / raw_growth:.1f}x the raw growth)" if raw_growth > 0 else "")


def print_loop_table(results: Results) -> None:
    print("One completion after N earlier rounds of a gateway loop (user task, script task, "
          "gateway per round: the lifecycle's kind of history)")
    print(f"{'N':>4} {'raw med':>9} {'engine med':>11} {'x raw':>7} {'document':>10} {'stored apart':>13}")
    for point, figures in results.loop_history.items():
        raw, engine = figures["raw"], figures["engine"]
        size, apart = results.loop_document_bytes.get(point, (0, 0))
        print(f"{point:>4} {raw.median_ms:9.3f} {engine.median_ms:11.3f} "
              f"{engine.median_ms / raw.median_ms:7.1f} {size / 1024:8.1f}KB {apart / 1024:11.1f}KB")
    early, late = (results.loop_history[k] for k in sorted(results.loop_history, key=int))
    raw_growth = late["raw"].median_ms - early["raw"].median_ms
    added_growth = (late["engine"].median_ms - late["raw"].median_ms) \
        - (early["engine"].median_ms - early["raw"].median_ms)
    print(f"growth: SpiffWorkflow's step +{raw_growth:.3f} ms; what the engine adds to it "
          f"{added_growth:+.3f} ms")


def targets(results: Results) -> list[tuple[str, bool | None, str]]:
    found: list[tuple[str, bool | None, str]] = []
    http = results.rows.get("d")
    found.append((f"(d) HTTP median <= {HTTP_TARGET_MS:g} ms",
                  http.median_ms <= HTTP_TARGET_MS if http else None,
                  f"{http.median_ms:.2f} ms" if http else "not measured"))
    for point in sorted(results.history, key=int):
        figures = results.history[point]
        ratio = figures["engine"].median_ms / figures["raw"].median_ms
        found.append((f"(b) within {RATIO_TARGET:g}x of (a) after {point} steps",
                      ratio <= RATIO_TARGET, f"{ratio:.1f}x"))
    return found


def print_targets(results: Results) -> None:
    print("Targets")
    for name, ok, figure in targets(results):
        mark = "n/a " if ok is None else verdict(ok)
        print(f"  {mark}  {name:40} {figure}")


def write_json(results: Results, path: Path) -> None:
    payload = asdict(results)
    payload["targets"] = [{"target": name, "met": ok, "figure": figure}
                          for name, ok, figure in targets(results)]
    raw = results.rows["a"]
    for key, stats in results.rows.items():
        if stats is not None and raw is not None:
            payload["rows"][key]["ratio_to_a"] = stats.median_ms / raw.median_ms
    path.write_text(json.dumps(payload, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples; under 30 s")
    parser.add_argument("--no-postgres", action="store_true", help="skip (c)")
    parser.add_argument("--postgres-url", default=PG_URL, help=f"default {PG_URL}")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile (b) at the late point and print the top functions")
    args = parser.parse_args(argv)
    results = run(args.quick, None if args.no_postgres else args.postgres_url, args.profile)
    print_report(results)
    if args.json:
        write_json(results, args.json)
    return 0  # targets are reported, never enforced


if __name__ == "__main__":
    sys.exit(main())
