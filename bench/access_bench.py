"""Access benchmark: what engine/runtime/access.py adds to reading an instance, on the real lifecycle in
the middle of its expert review (five experts drawn, one has scored). For each role it times
`GET /process-instances/{id}`'s engine work (the instance's data and open tasks) with the access
view (`access.view_of` + the filtered data and tasks) against the bare answer without it, and one
timeline. Prints medians in ms.

    .venv/bin/python bench/access_bench.py [--rounds 200] [--database-url URL]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(url: str):  # type: ignore[no-untyped-def]
    import flask_migrate

    from engine.core import commands, users
    from tests.lifecycle.world import (APPLICANT, APPLICATION, EXPERT, GOOD_SCORES, STAFF, SUPERVISOR, Driver,
                                       build_world, sh)
    from web import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
    db = app.extensions["engine_db"]
    build_world(db, experts_per_discipline=8)
    d = Driver(db, sh(2026, 3, 2))
    d.start("project_lifecycle", APPLICATION)
    d.endorse()
    d.formal_review()
    for row in d.expert_rows("invitation"):
        d.complete_row(row, EXPERT(row.assignee), {"participation": "accept"})
    first, *rest = d.expert_rows("scoring")
    d.complete_row(first, EXPERT(first.assignee), GOOD_SCORES | {"expert_opinion": "创新性强，方案可行 · innovative"})
    for actor in (APPLICANT, STAFF, SUPERVISOR):
        commands.execute(db, users.create_user, actor.username, "pw-bench", sorted(actor.groups))
    roles = {"applicant": APPLICANT, "expert": EXPERT(rest[0].assignee), "institution": STAFF,
             "supervisor": SUPERVISOR}
    return db, d.instance_id, roles


def median_ms(fn, rounds: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/access_bench.sqlite3"

    from engine.runtime import access, instances, tasks
    from engine.core import commands
    from engine.workspace import history

    db, instance_id, roles = build(url)

    def bare(session):  # type: ignore[no-untyped-def]
        instance = instances.get(session, instance_id)
        return instances.data_of(instance), tasks.open_tasks(session, instance_id)

    def seen(actor):  # type: ignore[no-untyped-def]
        def read(session):  # type: ignore[no-untyped-def]
            instance = instances.get(session, instance_id)
            view = access.view_of(session, actor, instance)
            return view.data(instances.data_of(instance)), view.task_lines(tasks.open_tasks(session, instance_id))
        return read

    def timeline(actor):  # type: ignore[no-untyped-def]
        return lambda session: history.timeline(session, actor, instances.get(session, instance_id))

    base = median_ms(lambda: commands.query(db, bare), args.rounds)
    print(f"instance answer without access: {base:.2f} ms (median of {args.rounds})")
    for name, actor in roles.items():
        with_view = median_ms(lambda: commands.query(db, seen(actor)), args.rounds)
        line = median_ms(lambda: commands.query(db, timeline(actor)), max(20, args.rounds // 4))
        print(f"{name:12s} with access: {with_view:.2f} ms (+{with_view - base:.2f}); timeline {line:.2f} ms")


if __name__ == "__main__":
    main()
