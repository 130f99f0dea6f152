"""Fetch-and-lock under concurrency: workers fetching at the same moment never lock the same
external task twice (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, the conditional UPDATE
guard everywhere), and every waiting task is locked by exactly one of them."""
from __future__ import annotations

import threading
from collections import Counter

from engine.core import commands
from engine.core.errors import Conflict
from engine.core.principals import Actor
from engine.runtime import external_tasks, instances

ALICE = Actor("alice")
FINANCE = Actor("finance", frozenset({"integrations"}))
TOPICS = [{"name": "finance-payment", "lock_duration": 60_000}]


def test_eight_workers_fetching_at_once_lock_each_task_exactly_once(db, deploy):
    deploy("bpmn/external_payment.bpmn")
    for _ in range(5):
        commands.execute(db, instances.start, ALICE, "external_payment", {})
    barrier, locked, lost = threading.Barrier(8), [], []

    def worker(n: int) -> None:
        barrier.wait()
        try:
            got = commands.execute(db, external_tasks.fetch_and_lock, FINANCE, f"w{n}", 2, TOPICS)
            locked.extend((task["id"], f"w{n}") for task in got)
        except Conflict:  # a writer that lost the race on the database is a clean 409
            lost.append(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    times_locked = Counter(task_id for task_id, _worker in locked)
    assert all(count == 1 for count in times_locked.values()), times_locked
    # whatever lost a race finds the rest on its next fetch
    rest = commands.execute(db, external_tasks.fetch_and_lock, FINANCE, "late", 10, TOPICS)
    assert len(times_locked) + len(rest) == 5
    assert not set(times_locked) & {t["id"] for t in rest}
