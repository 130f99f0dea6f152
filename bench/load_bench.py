"""Load benchmark: the production shape under N concurrent API clients (issue 19).

Starts gunicorn from the repository's config (deploy/gunicorn.conf.py, through
bench/gunicorn_profile.conf.py which adds an optional cProfile of one worker), PostgreSQL (its
own database, created, emptied and migrated here), two `flask scheduler run` processes, and N
client threads, each with its own user and one keep-alive HTTP connection. A client works its
inbox: it lists the tasks it may claim, claims and completes the first, and when there is none
starts an instance of bench/load_chain.bpmn (5 user tasks, each offered to the initiator). At
the end of a round each client drains its inbox, so every instance it started must end.

Printed per round: completions per second, p50/p95/p99 per call kind (token, start, list,
claim, complete), and the CPU the gunicorn workers (and the database's backends) spent per
completion. CPU per completion is the figure to compare between runs on a shared machine:
wall-clock figures move with whatever else runs there. Then the profile of one worker under 16
clients, and a round at 16 clients where one worker is killed with SIGKILL halfway (gunicorn
starts another; clients retry on a dropped connection). After every round it checks in the
database that nothing was lost or done twice: every instance completed, every task completed
exactly once (one `task_completed` audit row per task), audit counts matching the rows.

Usage: .venv/bin/python bench/load_bench.py [--quick] [--clients 1,4,16,64] [--seconds 20]
       [--workers 2] [--threads 4] [--no-profile] [--no-kill] [--postgres-url URL]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import pstats
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/load_bench"
PROCESS = "load_chain"
STEPS = 5
PASSWORD = "load-bench-password"
KINDS = ("token", "start", "list", "claim", "complete")
VENV_BIN = ROOT / ".venv" / "bin"
TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------
# the database

def prepare_database(url: str, users: int) -> None:
    """Empty database, migrated; the users and the process deployed through the engine."""
    import psycopg
    import flask_migrate
    from engine.core import commands
    from engine.core import users as engine_users
    from engine.definitions import deployment
    from web import create_app

    target = make_url(url)
    params = dict(host=target.host or "127.0.0.1", port=target.port or 5432,
                  user=target.username or "postgres", password=target.password, connect_timeout=3)
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                        (target.database,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{target.database}"')
    with psycopg.connect(dbname=target.database, autocommit=True, **params) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "load-bench"})
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
    db = app.extensions["engine_db"]
    for i in range(users):
        commands.execute(db, engine_users.create_user, user_name(i), PASSWORD, ["loaders"],
                         password_policy=False)
    bpmn = ROOT / "bench" / "load_chain.bpmn"
    commands.execute(db, deployment.deploy, [(bpmn.name, bpmn.read_bytes())], "load-bench")
    db.engine.dispose()
    db.read_engine.dispose()


def user_name(i: int) -> str:
    return f"loader{i:03d}"


def psql(url: str, sql: str) -> list[tuple]:
    import psycopg
    target = make_url(url)
    with psycopg.connect(host=target.host or "127.0.0.1", port=target.port or 5432,
                         user=target.username or "postgres", password=target.password,
                         dbname=target.database, autocommit=True) as conn:
        return list(conn.execute(sql).fetchall())


def check_nothing_lost(url: str, started_before: int) -> list[str]:
    """What went wrong in the database since the round began (instances with id > started_before);
    empty when every instance completed and every task was completed exactly once."""
    after = f"process_instance_id > {started_before}"
    problems = []
    instances = psql(url, f"SELECT state, count(*) FROM process_instances WHERE id > {started_before}"
                          " GROUP BY state")
    counts = dict(instances)
    total = sum(counts.values())
    if set(counts) - {"completed"}:
        problems.append(f"instances not completed: {counts}")
    tasks = dict(psql(url, f"SELECT state, count(*) FROM human_tasks WHERE {after} GROUP BY state"))
    if tasks != ({"completed": total * STEPS} if total else {}):
        problems.append(f"tasks by state {tasks}, expected {total * STEPS} completed")
    twice = psql(url, f"SELECT task_id, count(*) FROM audit_events WHERE action = 'task_completed'"
                      f" AND {after} GROUP BY task_id HAVING count(*) <> 1")
    if twice:
        problems.append(f"{len(twice)} tasks with more than one completion, e.g. {twice[:3]}")
    audit = dict(psql(url, f"SELECT action, count(*) FROM audit_events WHERE {after}"
                           " GROUP BY action"))
    expected = {"instance_started": total, "task_claimed": total * STEPS,
                "task_completed": total * STEPS, "instance_completed": total}
    for action, count in expected.items():
        if audit.get(action, 0) != count:
            problems.append(f"audit {action}: {audit.get(action, 0)}, expected {count}")
    unowned = psql(url, f"SELECT count(*) FROM human_tasks WHERE {after} AND "
                        "(completed_by IS NULL OR completed_by <> assignee)")[0][0]
    if unowned:
        problems.append(f"{unowned} tasks not completed by their claimant")
    return problems


def max_instance_id(url: str) -> int:
    return psql(url, "SELECT coalesce(max(id), 0) FROM process_instances")[0][0]


def backend_pids(url: str) -> list[int]:
    name = make_url(url).database
    return [r[0] for r in psql(url, f"SELECT pid FROM pg_stat_activity WHERE datname = '{name}'"
                                    " AND pid <> pg_backend_pid()")]


# ---------------------------------------------------------------------------------------------
# the processes

def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    """gunicorn and two schedulers, against one database."""
    url: str
    workers: int
    threads: int
    profile_path: str | None = None
    port: int = field(default_factory=free_port)
    procs: list[subprocess.Popen] = field(default_factory=list)
    gunicorn: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ, DATABASE_URL=self.url, SECRET_KEY="load-bench")
        env.pop("LOAD_BENCH_PROFILE", None)
        if self.profile_path:
            env["LOAD_BENCH_PROFILE"] = self.profile_path
        return env

    def start(self) -> None:
        log = open(Path(tempfile.gettempdir()) / "load_bench_gunicorn.log", "ab")
        self.gunicorn = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "bench" / "gunicorn_profile.conf.py"),
             "-b", f"127.0.0.1:{self.port}", "-w", str(self.workers), "--threads", str(self.threads)],
            cwd=ROOT, env=self.env(), stdout=log, stderr=log)
        self.procs.append(self.gunicorn)
        for i in range(2):
            slog = open(Path(tempfile.gettempdir()) / f"load_bench_scheduler{i}.log", "ab")
            self.procs.append(subprocess.Popen(
                [str(VENV_BIN / "flask"), "--app", "web", "scheduler", "run", "--interval", "5"],
                cwd=ROOT, env=self.env(), stdout=slog, stderr=slog))
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200 and len(self.worker_pids()) == self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not come up (see /tmp/load_bench_gunicorn.log)")

    def worker_pids(self) -> list[int]:
        return children(self.gunicorn.pid) if self.gunicorn else []

    def scheduler_pids(self) -> list[int]:
        return [p.pid for p in self.procs[1:]]

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


# ---------------------------------------------------------------------------------------------
# the clients

class Dropped(Exception):
    """The connection broke mid-call (a killed worker): the call may or may not have happened."""


class Client:
    """One user with one keep-alive connection, working its inbox."""

    def __init__(self, port: int, index: int) -> None:
        self.port, self.user, self.deadline = port, user_name(index), 0.0
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.token = ""
        self.times: dict[str, list[float]] = defaultdict(list)
        self.completions = 0
        self.errors: list[str] = []
        self.dropped = 0

    def call(self, kind: str, method: str, path: str, body: Any = None,
             ok: tuple[int, ...] = (200, 201)) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        began = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (http.client.HTTPException, OSError) as error:
            self.conn.close()
            self.dropped += 1
            raise Dropped(str(error)) from error
        self.times[kind].append(time.perf_counter() - began)
        if response.status not in ok:
            self.errors.append(f"{kind} {method} {path}: {response.status} {payload[:200]!r}")
        return response.status, json.loads(payload) if payload else None

    def run(self) -> None:
        try:
            recovering = False
            while True:
                try:
                    if recovering:
                        self.finish_claimed()
                        recovering = False
                    if not self.step():
                        break
                except Dropped:
                    recovering = True  # a claim may have happened: finish what is ours
        except Exception as error:  # noqa: BLE001 - reported, never silent
            self.errors.append(f"client {self.user}: {type(error).__name__}: {error}")

    def sign_in(self) -> None:
        """Before the round's clock starts: a client signs in once, and the password hash
        (scrypt, deliberately slow) would otherwise weigh on the first seconds of every round."""
        for _attempt in range(5):
            try:
                status, body = self.call("token", "POST", "/api/v1/auth/token",
                                         {"username": self.user, "password": PASSWORD}, ok=(201,))
                self.token = body["token"]
                return
            except Dropped:
                time.sleep(0.2)

    def step(self) -> bool:
        """One unit of work; False when the round is over and the inbox is empty."""
        _status, page = self.call("list", "GET", "/api/v1/tasks?scope=candidate")
        if page["items"]:
            task = page["items"][0]["id"]
            status, _ = self.call("claim", "POST", f"/api/v1/tasks/{task}/claim", {})
            if status == 200:
                self.complete(task)
            return True
        if time.monotonic() >= self.deadline:
            self.finish_claimed()
            return False
        self.call("start", "POST", "/api/v1/process-instances", {"process_key": PROCESS, "data": {}})
        return True

    def complete(self, task: str) -> None:
        status, _ = self.call("complete", "POST", f"/api/v1/tasks/{task}/complete", {"data": {}})
        if status == 200:
            self.completions += 1

    def finish_claimed(self) -> None:
        _status, page = self.call("list", "GET", "/api/v1/tasks?scope=assigned&per_page=100")
        for task in page["items"]:
            self.complete(task["id"])


@dataclass
class Round:
    clients: int
    seconds: float
    completions: int
    times: dict[str, list[float]]
    errors: list[str]
    dropped: int
    worker_cpu: float
    db_cpu: float
    problems: list[str]
    killed: bool = False

    @property
    def per_second(self) -> float:
        return self.completions / self.seconds if self.seconds else 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


class CpuMeter:
    """CPU seconds spent by the gunicorn workers and the database's backends during a round.
    Sampled every 0.2 s, keeping each process's last reading, so that a killed worker and the
    backends its connections had still count, and their replacements count from their start."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.start = {"workers": self.read_workers(), "db": self.read_db()}
        self.last = {k: dict(v) for k, v in self.start.items()}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def read_workers(self) -> dict[int, float]:
        return {pid: cpu_seconds([pid]) for pid in self.stack.worker_pids()}

    def read_db(self) -> dict[int, float]:
        return {pid: cpu_seconds([pid]) for pid in backend_pids(self.stack.url)}

    def sample(self) -> None:
        while not self.stopping.wait(0.2):
            for kind, reading in (("workers", self.read_workers()), ("db", self.read_db())):
                for pid, value in reading.items():
                    if value:
                        self.last[kind][pid] = value

    def stop(self) -> tuple[float, float]:
        self.stopping.set()
        self.thread.join()
        return tuple(sum(v - self.start[k].get(pid, 0.0) for pid, v in self.last[k].items())
                     for k in ("workers", "db"))  # type: ignore[return-value]


def _all_do(actions: list[Any]) -> None:
    threads = [threading.Thread(target=action, daemon=True) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_round(stack: Stack, clients: int, seconds: float, kill_halfway: bool = False) -> Round:
    first = max_instance_id(stack.url)
    team = [Client(stack.port, i) for i in range(clients)]
    _all_do([c.sign_in for c in team])
    meter = CpuMeter(stack)
    began = time.monotonic()
    for client in team:
        client.deadline = began + seconds
    threads = [threading.Thread(target=c.run, daemon=True) for c in team]
    for thread in threads:
        thread.start()
    if kill_halfway:
        time.sleep(seconds / 2)
        os.kill(stack.worker_pids()[0], signal.SIGKILL)
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    worker_cpu, db_cpu = meter.stop()
    times: dict[str, list[float]] = defaultdict(list)
    for client in team:
        for kind, values in client.times.items():
            times[kind].extend(values)
    return Round(clients, elapsed, sum(c.completions for c in team), times,
                 [e for c in team for e in c.errors], sum(c.dropped for c in team),
                 worker_cpu, db_cpu, check_nothing_lost(stack.url, first), kill_halfway)


# ---------------------------------------------------------------------------------------------
# the report

def print_round(r: Round) -> None:
    label = f"{r.clients} clients" + (", one worker SIGKILLed halfway" if r.killed else "")
    per = r.completions or 1
    print(f"\n{label}: {r.completions} completions in {r.seconds:.1f} s = {r.per_second:.1f}/s;"
          f" CPU per completion: workers {r.worker_cpu / per * 1000:.1f} ms,"
          f" database {r.db_cpu / per * 1000:.1f} ms")
    print(f"  {'call':<9} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind in KINDS:
        values = r.times.get(kind, [])
        print(f"  {kind:<9} {len(values):>6} {percentile(values, .5):>8.1f} "
              f"{percentile(values, .95):>8.1f} {percentile(values, .99):>8.1f}")
    if r.dropped:
        print(f"  dropped connections (retried): {r.dropped}")
    print(f"  client errors: {len(r.errors)}" + "".join(f"\n    {e}" for e in r.errors[:5]))
    print("  nothing lost or done twice: " + ("yes" if not r.problems else "NO"))
    for problem in r.problems:
        print(f"    {problem}")


def print_summary(rounds: list[Round]) -> None:
    print("\nsummary (CPU ms per completion is the comparable figure on a shared machine)")
    print(f"  {'clients':<22} {'compl/s':>8} {'worker CPU ms':>14} {'db CPU ms':>10}"
          f" {'complete p50':>13} {'p95':>7} {'ok':>4}")
    for r in rounds:
        per = r.completions or 1
        label = f"{r.clients}" + (" (worker killed)" if r.killed else "")
        done = r.times.get("complete", [])
        print(f"  {label:<22} {r.per_second:>8.1f} {r.worker_cpu / per * 1000:>14.1f}"
              f" {r.db_cpu / per * 1000:>10.1f} {percentile(done, .5):>13.1f}"
              f" {percentile(done, .95):>7.1f} {'yes' if not r.problems and not r.errors else 'NO':>4}")


def print_profile(path: str, completions: int, top: int) -> None:
    dumps = sorted(Path(path).parent.glob(Path(path).name + ".*"))
    if not dumps:
        print("\n(no profile written)")
        return
    print(f"\nprofile of the workers under 16 clients (their threads' CPU time; sign-ins left out;"
          f" {completions} completions; top {top} by own time, then cumulative)")
    for key in ("tottime", "cumulative"):
        stats = pstats.Stats(*map(str, dumps), stream=sys.stdout)
        stats.strip_dirs().sort_stats(key).print_stats(top)


# ---------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1, 4 and 16 clients, 6 s each")
    parser.add_argument("--clients", default=None, help="comma-separated client counts")
    parser.add_argument("--seconds", type=float, default=None, help="length of a round")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--postgres-url", default=PG_URL)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-kill", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    sizes = [int(c) for c in (args.clients or ("1,4,16" if args.quick else "1,4,16,64")).split(",")]
    seconds = args.seconds or (6.0 if args.quick else 20.0)
    print(f"load bench: gunicorn {args.workers} workers x {args.threads} threads, 2 schedulers,"
          f" PostgreSQL {make_url(args.postgres_url).database}; {os.cpu_count()} cores (shared:"
          " compare CPU per completion and ratios of one run, not wall-clock across runs)")
    prepare_database(args.postgres_url, max(sizes + [16]))
    rounds = []
    stack = Stack(args.postgres_url, args.workers, args.threads)
    stack.start()
    try:
        for size in sizes:
            rounds.append(run_round(stack, size, seconds))
            print_round(rounds[-1])
        if not args.no_kill:
            rounds.append(run_round(stack, 16, seconds, kill_halfway=True))
            print_round(rounds[-1])
    finally:
        stack.stop()
    print_summary(rounds)
    if not args.no_profile:
        profile_path = str(Path(tempfile.gettempdir()) / f"load_bench_{os.getpid()}.prof")
        stack = Stack(args.postgres_url, args.workers, args.threads, profile_path=profile_path)
        stack.start()
        try:
            profiled = run_round(stack, 16, seconds)
        finally:
            stack.stop()
        print_profile(profile_path, profiled.completions, args.top)
    failed = any(r.problems or r.errors for r in rounds)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    random.seed(1)
    main()
