"""Page-time benchmark: the server time of the pages people open most (the inbox, a task page,
an instance page, the supervisor's dashboard) on the demo data of `make run`, through the real
Flask app and its test client (no socket, no browser: what the server spends per request).

The database is built like the Makefile's `db` target (migrate, deploy processes/ and forms/,
`demo load`) into a temporary SQLite file, or into `--database PATH`, kept and reused when it
exists (building plays the demo projects forward, about a minute). Each page is requested
`--repeat` times after one warm-up request (whose time is printed as `first`); the median and
p90 wall time and the median CPU time of this process are printed in ms (on a busy machine the
CPU time is the steadier figure).

    .venv/bin/python bench/page_bench.py [--repeat 30] [--database /tmp/page_bench.db] [--profile PAGE]

`--profile inbox` (or task, instance, dashboard) prints cProfile's top functions for that page.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "demo1234"


def build(path: Path) -> Any:
    import flask_migrate

    from engine.core import commands
    from engine.definitions import deployment
    from engine.definitions.validation import collect_paths
    from engine.demo import demo_data
    from web import create_app

    fresh = not path.exists()
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    if fresh:
        print(f"building the demo database in {path} (once) ...", flush=True)
        with app.app_context():
            flask_migrate.upgrade(directory=str(ROOT / "migrations"))
        db = app.extensions["engine_db"]
        files = collect_paths([str(ROOT / "processes"), str(ROOT / "forms")])
        commands.execute(db, deployment.deploy, files, "bench")
        demo_data.load(db)
    return app


def sign_in(app: Any, username: str) -> Any:
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code in (302, 303), f"{username} could not sign in"
    return client


def pick_urls(app: Any) -> list[tuple[str, str, str]]:
    """(page, user, url): the demo users who open each page, each on a task they work."""
    from sqlalchemy import select

    from engine.core import commands
    from engine.core.models import HumanTask

    db = app.extensions["engine_db"]

    def _task(session: Any, where: Any) -> tuple[str, int]:
        row = session.execute(select(HumanTask.id, HumanTask.process_instance_id).where(
            HumanTask.state == "open", where).order_by(HumanTask.created_at).limit(1)).first()
        return row.id, row.process_instance_id

    staff = commands.query(db, _task, HumanTask.candidate_groups.contains("institution_staff"))
    expert = commands.query(db, _task, HumanTask.assignee.like("expert.%"))
    applicant = commands.query(db, _task, HumanTask.assignee == "zhang.wei")
    expert_user = commands.query(db, lambda s: s.scalar(select(HumanTask.assignee).where(HumanTask.id == expert[0])))
    urls = [("inbox", "wang.fang", "/inbox?scope=assigned"), ("inbox (group)", "wang.fang", "/inbox?scope=group"),
            ("inbox", expert_user, "/inbox?scope=assigned"), ("my applications", "zhang.wei", "/applications")]
    for user, (task_id, instance_id) in (("wang.fang", staff), (expert_user, expert), ("zhang.wei", applicant),
                                         ("zhao.min", staff)):
        urls += [("task page", user, f"/tasks/{task_id}"), ("instance page", user, f"/instances/{instance_id}")]
    return urls + [("dashboard", "zhao.min", "/supervisor/dashboard"), ("notifications", "zhao.min", "/notifications")]


def timed(call: Callable[[], Any], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per request: on a shared machine the wall time follows the
    neighbours' load, the CPU time (this process's) much less, so both are printed."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = call()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, response.status_code
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database", default=str(Path(tempfile.gettempdir()) / "page_bench.db"))
    parser.add_argument("--profile", default="", help="a page name to profile: inbox, task, instance, dashboard")
    args = parser.parse_args()
    app = build(Path(args.database))
    clients: dict[str, Any] = {}
    print(f"{'page':<16} {'user':<22} {'first ms':>9} {'median ms':>10} {'p90 ms':>8} {'cpu ms':>7}  url")
    for page, user, url in pick_urls(app):
        client = clients.get(user) or clients.setdefault(user, sign_in(app, user))
        start = time.perf_counter()
        response = client.get(url)  # warm-up: caches the engine keeps in production fill here
        first = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            print(f"{page:<16} {user:<22} {'-':>9} {'-':>10} {'-':>8} {'-':>7}  {url} answered {response.status_code}")
            continue
        if args.profile and page.startswith(args.profile):
            profiler = cProfile.Profile()
            profiler.enable()
            timed(lambda: client.get(url), 10)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        wall, cpu = timed(lambda: client.get(url), args.repeat)
        times = sorted(wall)
        p90 = times[int(len(times) * 0.9) - 1]
        print(f"{page:<16} {user:<22} {first:>9.1f} {statistics.median(times):>10.1f} {p90:>8.1f} "
              f"{statistics.median(cpu):>7.1f}  {url}", flush=True)


if __name__ == "__main__":
    main()
