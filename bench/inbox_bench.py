"""Inbox benchmark: the cost of one inbox page (the group tasks' first page, its total, the
menu counts, the task-name filter choices and the poll fingerprint, as the web page asks for
them) for a user in 1 to 500 groups, before and after 300,000 closed tasks are added. The cost
should follow the tasks the user can claim, not the number of their groups nor the closed tasks
(indexed principal lookups over open rows only).

    .venv/bin/python bench/inbox_bench.py [--open 100000] [--closed 300000] [--database-url URL]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from typing import Any
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GROUPS = 1000


def build(url: str):  # type: ignore[no-untyped-def]
    import flask_migrate

    from engine.core import commands
    from engine.definitions import deployment
    from engine.runtime import instances
    from engine.core.principals import Actor
    from engine.definitions.validation import collect_paths
    from web import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
    db = app.extensions["engine_db"]
    files = collect_paths([str(ROOT / "processes" / "application_formal_review.bpmn")]
                          + [str(ROOT / "forms" / f"{n}.form") for n in
                             ("application_submit", "application_correction", "formal_review")])
    commands.execute(db, deployment.deploy, files, "bench")
    data = {"title": "Bench project", "plan_category": "key_rd", "discipline": "it", "organisation": "Bench",
            "principal_investigator": "Bench", "budget": 10, "period_months": 12, "integrity_pledge": True,
            "abstract": "A project that only exists to fill the inbox of a benchmark."}
    template = commands.execute(db, instances.start, Actor("bench", frozenset({"applicants"})),
                                "application_formal_review", data)
    return db, template


def fill(db, template, open_tasks: int, closed_tasks: int, instances_count: int = 2000) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import insert, select

    from engine.runtime import finished_tasks
    from engine.core.models import HumanTask, ProcessInstance, TaskCandidate
    from engine.core.summaries import InstanceSummary

    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    with db.transaction() as session:
        existing = session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id.desc()).limit(1))
        if template is not None and existing == template.id:
            row = session.get(ProcessInstance, template.id)
            whole = finished_tasks.whole_document(session, row)  # copies get every task inline
            session.execute(insert(ProcessInstance), [dict(
                definition_id=row.definition_id, process_key=row.process_key, version=row.version,
                state="running", revision=1, document=whole, started_by=f"applicant{i}",
                started_at=now, updated_at=now) for i in range(instances_count)])
            ids = list(session.scalars(select(ProcessInstance.id).where(ProcessInstance.id != template.id)))
            session.execute(insert(InstanceSummary), [dict(process_instance_id=i, title=f"Project {i}",
                                                           started_by=f"applicant{i}", process_key=row.process_key,
                                                           updated_at=now) for i in ids])
        ids = list(session.scalars(select(ProcessInstance.id)))
    batch = 20_000
    for start in range(0, open_tasks + closed_tasks, batch):
        tasks, candidates = [], []
        for n in range(start, min(start + batch, open_tasks + closed_tasks)):
            task_id = str(uuid.uuid4())
            is_open = n < open_tasks
            group = f"g{rng.randrange(GROUPS)}"
            tasks.append(dict(id=task_id, process_instance_id=rng.choice(ids), process_key="application_formal_review",
                              name="formal_review", title="形式审查 · Formal review", lane=None,
                              state="open" if is_open else "completed", assignee=None,
                              candidate_groups=[group], candidate_users=[], form_key="formal_review",
                              created_at=now - timedelta(minutes=n), due_at=now + timedelta(days=rng.randrange(-5, 20)),
                              completed_at=None if is_open else now, completed_by=None if is_open else f"u{n % 500}"))
            if is_open:
                candidates.append(dict(task_id=task_id, principal=f"g:{group}", claimed=False,
                                       due_at=tasks[-1]["due_at"], created_at=tasks[-1]["created_at"]))
        with db.transaction() as session:
            session.execute(insert(HumanTask), tasks)
            if candidates:
                session.execute(insert(TaskCandidate), candidates)
    _analyze(db)


def reopen(url: str):  # type: ignore[no-untyped-def]
    """The database of an earlier run, migrated to the head (a new index is built here)."""
    import flask_migrate
    from sqlalchemy import select

    from engine.core.models import ProcessInstance
    from web import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
    db = app.extensions["engine_db"]
    with db.transaction() as session:
        ids = list(session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id).limit(2)))
        if not ids:
            db.engine.dispose()
            return build(url)
        # only the template so far: fill() copies it into the instances the tasks belong to
        template = session.get(ProcessInstance, ids[0]) if len(ids) == 1 else None
    _analyze(db)
    return db, template


def _open_tasks(db) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from engine.core.models import HumanTask
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.state == "open")) or 0


def _drop_closed(db) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import delete

    from engine.core.models import HumanTask
    with db.transaction() as session:
        session.execute(delete(HumanTask).where(HumanTask.state != "open"))
    _analyze(db)


def _analyze(db) -> None:  # type: ignore[no-untyped-def]
    """Fresh planner statistics and visibility map, as autovacuum keeps them on a live
    PostgreSQL (an index-only scan needs the latter; autovacuum runs after bulk inserts too).
    SQLite keeps no statistics unless ANALYZE is run by hand, so it is measured without."""
    from sqlalchemy import text
    if db.is_sqlite:
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def measure(db, groups: frozenset[str], runs: int = 20) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """(p50 ms, p95 ms, claimable) of one inbox page over `runs` runs (the first one warms up
    the caches and is not counted)."""
    from engine.core import commands
    from engine.workspace import inbox
    from engine.core.principals import Actor

    actor = Actor("reviewer", groups)
    times, total = [], 0

    def page(session):  # type: ignore[no-untyped-def]
        result = inbox.search(session, actor, inbox.InboxQuery(scope="group"))
        inbox.counts(session, actor)
        inbox.task_names(session, actor, "group")
        inbox.fingerprint(session, actor, "group")
        return result.total

    commands.query(db, page)
    for _ in range(runs):
        started = time.perf_counter()
        total = commands.query(db, page)
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times) * 1000, times[max(0, -(-len(times) * 95 // 100) - 1)] * 1000, total


def explain(db, groups: frozenset[str]) -> None:  # type: ignore[no-untyped-def]
    """EXPLAIN ANALYZE of every statement one inbox page runs (PostgreSQL only)."""
    from sqlalchemy import event, text

    from engine.core import commands
    from engine.core.principals import Actor
    from engine.workspace import inbox

    seen: list[tuple[str, Any]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    # queries run on the read engine (a separate pool): listen on both
    engines = {db.engine, db.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", remember)
    try:
        actor = Actor("reviewer", groups)
        commands.query(db, lambda session: (inbox.search(session, actor, inbox.InboxQuery(scope="group")),
                                            inbox.counts(session, actor), inbox.task_names(session, actor, "group"),
                                            inbox.fingerprint(session, actor, "group")))
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", remember)
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in seen:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            print("\n" + statement[:300].replace("\n", " ") + (" ..." if len(statement) > 300 else ""))
            for (line,) in cursor.fetchall():
                print("   ", line)
    finally:
        raw.close()


def many_groups(count: int) -> frozenset[str]:
    """g0 (about 100 open tasks) plus count-1 groups with nothing open."""
    return frozenset({"g0"} | {f"quiet{i}" for i in range(count - 1)})


def busy_groups(count: int) -> frozenset[str]:
    """count groups that all have open tasks: the claimable list grows with them."""
    return frozenset(f"g{i}" for i in range(count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--closed", type=int, default=300_000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the open tasks a previous run with the same --database-url left "
                             "(filling 1,000,000 takes minutes); the closed ones are added again")
    parser.add_argument("--explain", action="store_true",
                        help="print PostgreSQL's EXPLAIN ANALYZE of each statement of the busiest case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'inbox_bench.sqlite3'}"
        db, template = build(url) if not args.reuse else reopen(url)
        if not args.reuse or _open_tasks(db) < args.open:
            fill(db, template, args.open, 0)
        else:
            _drop_closed(db)
        cases = [(f"{n} groups, 1 busy", many_groups(n)) for n in (1, 10, 100, 500)] + \
                [(f"{n} busy groups", busy_groups(n)) for n in (10, 100)]
        print(f"one inbox page (group tasks: first page, total, menu counts, filter choices, poll "
              f"fingerprint), {args.open:,} open tasks over {GROUPS} groups, {db.engine.dialect.name}; "
              "ms at p50 / p95", flush=True)
        after = f"after +{args.closed:,} closed"
        print(f"{'user in':>22} {'claimable':>10} {'p50':>8} {'p95':>8} {after + ' p50':>26} {'p95':>8}")
        before = {name: measure(db, groups) for name, groups in cases}
        if args.explain and not db.is_sqlite:
            explain(db, busy_groups(100))
            explain(db, many_groups(500))
        fill(db, template, 0, args.closed)
        for name, groups in cases:
            p50, p95, total = before[name]
            later = measure(db, groups)
            print(f"{name:>22} {total:>10,} {p50:>8.1f} {p95:>8.1f} {later[0]:>26.1f} {later[1]:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
