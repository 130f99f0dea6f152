"""Benchmark: what running scripts in a worker process (engine/scripting/script_worker.py) costs.

Per script run, in the worker (`script_engine.RestrictedEnvironment`, what the engine uses) against
in-process (`sandbox.LocalEnvironment`, what ran before and what runs inside the worker), median
µs and the ratio, and the CPU the server process itself spends per run in the worker case (the
rest of the wall time it waits in poll(), without the GIL, so other requests run):

  script, small data    `total = price * qty` over task data of ~1 KB (an application form)
  script, 100 KB data   the same over task data of ~100 KB (a form plus 1,000 table rows)
  script + service      a script calling one engine function (a call back into the server)
  expression, call      `len(items) > 2` (has a call: goes to the worker)
  expression, bounded   `amount > 1000 and category == 'key'` (runs in the server either way)

Per completion, on bench/fixtures/bench_loop.bpmn (each completion of the user task runs one
script task and one gateway condition): `commands.execute(tasks.complete)` on SQLite with the
worker, and with scripts patched to run in-process, and the difference, which is the cost the
worker adds to one completion of a process with a script task.

Usage: .venv/bin/python bench/script_bench.py [--quick]"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine.scripting import sandbox, script_worker  # noqa: E402
from engine.scripting.sandbox import LocalEnvironment  # noqa: E402
from engine.scripting.script_engine import RestrictedEnvironment  # noqa: E402

SMALL = {"application": {"title": "茶园土壤湿度传感网络", "abstract": "印刷电容式传感器用于山地茶园灌溉调度。" * 10,
                         "organisation": "某研究所", "principal_investigator": "王五", "budget": 80,
                         "period_months": 24},
         "price": 2.5, "qty": 4, "decision": "approve", "initiator": "wang.wu"}
LARGE = {**SMALL, "rows": [{"item": f"设备{i}", "amount": i * 10.5, "note": "购置" * 10} for i in range(1000)]}


def median_us(action: Callable[[], object], reps: int, warmup: int = 20) -> tuple[float, float]:
    """(median wall µs, mean CPU µs of this process per run: what the server itself spends)."""
    for _ in range(warmup):
        action()
    samples = []
    cpu = time.process_time()
    for _ in range(reps):
        started = time.perf_counter_ns()
        action()
        samples.append(time.perf_counter_ns() - started)
    return statistics.median(samples) / 1000, (time.process_time() - cpu) / reps * 1e6


def per_run(reps: int) -> list[tuple[str, tuple[float, float], tuple[float, float]]]:
    services = {"double": lambda v: v * 2}
    worker, local = RestrictedEnvironment(services), LocalEnvironment(services)

    def script(env: Any, source: str, data: dict[str, Any]) -> Callable[[], object]:
        return lambda: env.execute(source, dict(data))

    def expression(env: Any, source: str, data: dict[str, Any]) -> Callable[[], object]:
        return lambda: env.evaluate(source, data)

    cases = [
        ("script, small data", script, "total = price * qty", SMALL),
        ("script, 100 KB data", script, "total = price * qty", LARGE),
        ("script + service", script, "total = double(price)", SMALL),
        ("expression, call", expression, "len(application) > 2", SMALL),
        ("expression, bounded", expression, "price > 1000 and decision == 'approve'", SMALL),
    ]
    rows = []
    for name, kind, source, data in cases:
        isolated = median_us(kind(worker, source, data), reps)
        in_process = median_us(kind(local, source, data), reps)
        rows.append((name, isolated, in_process))
    return rows


class _InProcess:
    """Scripts and expressions of the engine run in-process while active (the old way)."""

    def __enter__(self) -> None:
        self.saved = (RestrictedEnvironment.execute, RestrictedEnvironment.evaluate)
        RestrictedEnvironment.execute = LocalEnvironment.execute  # type: ignore[method-assign]
        RestrictedEnvironment.evaluate = LocalEnvironment.evaluate  # type: ignore[method-assign]

    def __exit__(self, *exc: object) -> None:
        RestrictedEnvironment.execute, RestrictedEnvironment.evaluate = self.saved  # type: ignore[method-assign]


def per_completion(reps: int) -> tuple[float, float]:
    from engine_bench import EngineDriver  # the same setup as the engine benchmark
    with tempfile.TemporaryDirectory() as folder:
        driver = EngineDriver(f"sqlite:///{folder}/script_bench.sqlite3", fast_forward=True)
        try:
            # worker and in-process completions alternate, so that the load of a shared
            # machine drifts over both alike
            samples: dict[bool, list[int]] = {True: [], False: []}
            instance = driver.start("bench_loop")
            for n in range(20 + 2 * reps):
                if n and n % 50 == 0:  # keep the history short and the tree shallow
                    instance = driver.start("bench_loop")
                task = driver.next_task(instance)
                isolated = n % 2 == 0
                with (contextlib.nullcontext() if isolated else _InProcess()):
                    started = time.perf_counter_ns()
                    driver.complete(instance, task)
                    took = time.perf_counter_ns() - started
                if n >= 20:  # after warming caches and the worker pool
                    samples[isolated].append(took)
            return (statistics.median(samples[True]) / 1e6, statistics.median(samples[False]) / 1e6)
        finally:
            driver.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    print(f"time limit {sandbox.TIME_LIMIT_SECONDS:g} s, memory limit "
          f"{script_worker.MEMORY_LIMIT_MB} MB, result cap {script_worker.MAX_RESULT_BYTES // 2**20} MB")
    started = time.perf_counter()
    RestrictedEnvironment().execute("x = 1", {})
    print(f"first script (starts a worker): {(time.perf_counter() - started) * 1000:.0f} ms\n")
    print(f"{'per run (median)':<22}{'worker µs':>11}{'in-process µs':>15}{'ratio':>8}"
          f"{'added µs':>10}{'server CPU µs':>15}")
    for name, (isolated, cpu), (in_process, _) in per_run(200 if quick else 1000):
        print(f"{name:<22}{isolated:>11.0f}{in_process:>15.0f}{isolated / in_process:>8.1f}"
              f"{isolated - in_process:>10.0f}{cpu:>15.0f}")
    print("(server CPU: this process's CPU per run in the worker case; the rest of the wall time "
          "it waits without the GIL)")
    isolated_ms, in_process_ms = per_completion(60 if quick else 200)
    print(f"\none completion with a script task and a gateway (bench_loop, SQLite): worker "
          f"{isolated_ms:.2f} ms, in-process {in_process_ms:.2f} ms, added "
          f"{(isolated_ms - in_process_ms) * 1000:.0f} µs ({isolated_ms / in_process_ms:.2f}x)")


if __name__ == "__main__":
    main()
