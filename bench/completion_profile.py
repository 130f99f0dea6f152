"""What one engine completion costs, statement by statement and function by function: completes
tasks of the 16-task chain (engine_bench's fixture, no forms) through `commands.execute(db,
tasks.complete, ...)` and prints the wall and CPU milliseconds per completion (the next task's id
is looked up outside the timing), the SQL statements of the last completion and, with
`--profile`, cProfile's top functions. CPU time is the steadier figure on a shared machine: the
SQLite commit's fsync and other processes' load show in the wall time only.

    .venv/bin/python bench/completion_profile.py [-n 300] [--url URL] [--profile] [--sort tottime]

A PostgreSQL URL's database is emptied first (its public schema dropped), as engine_bench does."""
from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import engine_bench as eb  # noqa: E402
from sqlalchemy import event  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300, help="completions timed (after 50 unmeasured)")
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed completions")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/profile.db"
    if url.startswith("postgresql"):
        problem, _version = eb.prepare_postgres(url)  # an empty schema: this drops what it held
        if problem:
            sys.exit(f"PostgreSQL is not usable: {problem}")
    driver = eb.EngineDriver(url, False)
    handle = driver.start(eb.CHAIN)

    def next_task() -> str:
        nonlocal handle
        task = driver.next_task(handle)
        if task is None:
            handle = driver.start(eb.CHAIN)
            task = driver.next_task(handle)
        assert task is not None
        return task

    for _ in range(50):
        driver.complete(handle, next_task())
    statements: list[str] = []

    def note(_conn, _cursor, statement, _params, _context, many):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split())[:110] + (" [executemany]" if many else ""))

    event.listen(driver.db.engine, "before_cursor_execute", note)
    profiler = cProfile.Profile()
    wall, cpu = [], []
    for _ in range(args.n):
        task = next_task()
        statements.clear()
        if args.profile:
            profiler.enable()
        w0, c0 = time.perf_counter(), time.process_time()
        driver.complete(handle, task)
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        if args.profile:
            profiler.disable()
    print(f"{args.n} completions on {driver.db.engine.dialect.name}: wall median {statistics.median(wall):.2f} ms, "
          f"CPU median {statistics.median(cpu):.2f} ms, CPU mean {statistics.fmean(cpu):.2f} ms")
    print(f"statements of the last completion ({len(statements)}):")
    for statement in statements:
        print("  " + statement)
    if args.profile:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
