"""Benchmark: what a scheduler pass costs on PostgreSQL when much exists and little is due.

Builds (in the database `h_sched_bench`, dropped and created by this script) 1,000,000 running
instances with one open user task each, of which 10,000 are overdue; 1,000 experts who hold them
and 3 supervisors. The rows are bulk-loaded with COPY, shaped as the engine writes them (policy,
due-dated columns, one stuck-instance watch per instance); workflow documents are minimal, since
no step of a pass reads them. Then, at one frozen engine time:

  pass 1      the 10,000 overdue tasks get their overdue notice: 10,000 audit rows, 10,000
              notifications to the experts and one digest report per supervisor (listing the
              first 20 tasks, counting all), the experts' e-mails composed (one per expert), the
              supervisors' digests left for 08:30 the next working day;
  idle pass   the same time again: nothing is due; median of 20 passes;
  pass 2      two working days later, the escalation action on the same 10,000 tasks (moved to
              the supervisors' inbox: assignment, candidate rows, instance revision);
  mail        the outbox delivered to a local aiosmtpd server over SMTP.

Targets (printed as PASS/MISS, never the exit status): pass 1 under 5 s, idle pass under 50 ms.

Usage: .venv/bin/python bench/scheduler_bench.py [--quick] [--url URL] [--tasks N] [--overdue N]
--quick loads 100,000 tasks (10,000 overdue, so pass 1 does the same work on a tenth of the data).
URL is the server's admin URL (default postgresql://postgres@127.0.0.1:5432/postgres); the bench
database is created next to it.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/scheduler_bench.py` must find engine/ and web/

import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from engine.core import clock, commands
from engine.definitions import deployment
from engine.notify import mailer
from engine.scheduling import scheduler  # noqa: E402
from engine.core.calendar import BUREAU_TZ, add_working_days  # noqa: E402
from engine.core.db import Database  # noqa: E402
from engine.notify.mailer import MailSettings  # noqa: E402

DB_NAME = "h_sched_bench"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=BUREAU_TZ)  # a Monday
EXPERTS, SUPERVISORS = 1000, 3
PASS_TARGET_S, IDLE_TARGET_MS = 5.0, 50.0
KEY = "bench_sla"
PROCESS = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_bench" targetNamespace="http://scitech.example/bench">
  <bpmn:process id="{KEY}" name="专家评审 · Expert review" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="专家评审 · Expert review" camunda:assignee="${{expert}}" camunda:candidateGroups="experts">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="dueWorkingDays" value="10" />
      </camunda:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def say(text: str) -> None:
    print(text, flush=True)


@contextmanager
def timed(label: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    say(f"  {label}: {time.perf_counter() - started:.1f} s")


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(admin_url: str) -> str:
    with psycopg.connect(libpq(admin_url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    return make_url(admin_url).set(drivername="postgresql+psycopg", database=DB_NAME) \
        .render_as_string(hide_password=False)


def migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config
    os.environ["DATABASE_URL"] = url  # migrations/env.py migrates $DATABASE_URL outside Flask
    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    logging.disable(logging.INFO)
    command.upgrade(config, "head")
    logging.disable(logging.NOTSET)


def load_people(conn: psycopg.Connection) -> None:
    from werkzeug.security import generate_password_hash
    password = generate_password_hash("bench-password")  # one hash: hashing is not what we measure
    people = [(f"expert{n:04d}", "experts") for n in range(EXPERTS)] + \
             [(f"supervisor{n}", "supervisors") for n in range(SUPERVISORS)]
    with conn.cursor() as cur:
        cur.execute("INSERT INTO groups (name) VALUES ('experts'), ('supervisors')")
        with cur.copy("COPY users (username, password_hash, display_name, email, active, created_at) FROM STDIN") as copy:
            for name, _ in people:
                copy.write_row((name, password, name, f"{name}@bureau.example", True, NOW))
        cur.execute("INSERT INTO memberships (user_id, group_id) SELECT u.id, g.id FROM users u "
                    "JOIN groups g ON g.name = CASE WHEN u.username LIKE 'expert%%' THEN 'experts' ELSE 'supervisors' END")


def load_work(conn: psycopg.Connection, definition_id: int, total: int, overdue: int) -> None:
    """`total` instances with one open task each; every (total // overdue)-th task is overdue."""
    policy = None  # the default policy, stored as nothing (engine.escalation_policy.Policy.stored)
    every = max(1, total // overdue)
    created = NOW - timedelta(days=14)
    with conn.cursor() as cur:
        with cur.copy("COPY process_instances (id, definition_id, process_key, version, state, revision, "
                      "document, data, started_by, started_at, updated_at) FROM STDIN") as copy:
            for i in range(1, total + 1):
                copy.write_row((i, definition_id, KEY, 1, "running", 1, "{}", "{}", "applicant", created, created))
        cur.execute("SELECT setval('process_instances_id_seq', %s)", (total,))
        with cur.copy("COPY human_tasks (id, process_instance_id, process_key, name, title, state, assignee, "
                      "candidate_groups, candidate_users, created_at, due_at, escalation_policy, "
                      "escalation_level, next_reminder_at, next_escalation_at) FROM STDIN") as copy:
            for i in range(1, total + 1):
                if i % every == 0 and i // every <= overdue:
                    # overdue since this morning, spread over all the experts
                    due, reminder, expert = NOW - timedelta(hours=2), None, (i // every) % EXPERTS
                else:
                    # due 15 to 60 days ahead: no reminder falls in the benchmark's window
                    due = NOW + timedelta(days=15 + i % 46, minutes=i % 600)
                    reminder, expert = due - timedelta(days=1), i % EXPERTS
                copy.write_row((str(uuid.UUID(int=i)), i, KEY, "review", "专家评审 · Expert review", "open",
                                f"expert{expert:04d}", '["experts"]', "[]", created, due, policy, 0,
                                reminder, due))
        with cur.copy("COPY instance_watches (instance_id, stuck_after, check_at) FROM STDIN") as copy:
            for i in range(1, total + 1):
                copy.write_row((i, 10, NOW + timedelta(days=5, minutes=i % 5000)))
    conn.commit()


def counts(db: Database) -> dict[str, int]:
    from sqlalchemy import text
    with db.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("notifications", "mail_outbox", "audit_events")}


def timed_pass(db: Database, at: datetime, mail: MailSettings | None = None) -> tuple[float, scheduler.TickReport]:
    with clock.frozen_at(at):
        started = time.perf_counter()
        report = scheduler.tick(db, mail)
        return time.perf_counter() - started, report


def steps(report: scheduler.TickReport) -> str:
    return ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in report.timings.items())


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def deliver(db: Database) -> tuple[int, float]:
    """Deliver the outbox to a local aiosmtpd server (its own process, accepting everything)."""
    import socket
    import subprocess
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                               "-c", "aiosmtpd.handlers.Sink"])
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        with clock.frozen_at(NOW):
            started = time.perf_counter()
            report = mailer.deliver_due(db, MailSettings(host="127.0.0.1", port=port))
            return report.sent, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 tasks instead of 1,000,000")
    parser.add_argument("--url", default=ADMIN_URL, help="PostgreSQL admin URL")
    parser.add_argument("--tasks", type=int, default=None)
    parser.add_argument("--overdue", type=int, default=10_000)
    args = parser.parse_args()
    total = args.tasks or (100_000 if args.quick else 1_000_000)
    overdue = min(args.overdue, total)

    say(f"scheduler bench: {total:,} open tasks, {overdue:,} overdue, PostgreSQL database {DB_NAME}, "
        f"{os.cpu_count()} cores")
    build_started = time.perf_counter()
    with timed("create and migrate the database"):
        url = create_database(args.url)
        migrate(url)
    db = Database(url)
    with clock.frozen_at(NOW - timedelta(days=15)):
        commands.execute(db, deployment.deploy, [("bench_sla.bpmn", PROCESS)], "bench")
        definition_id = commands.query(db, deployment.latest_definition, KEY).id
    with psycopg.connect(libpq(url)) as conn:
        with timed(f"load {EXPERTS + SUPERVISORS:,} users"):
            load_people(conn)
        with timed(f"load {total:,} instances, tasks and watches (COPY), VACUUM ANALYZE"):
            load_work(conn, definition_id, total, overdue)
            # the steady state of a live database (hint bits set, statistics), not a fresh load
            with psycopg.connect(libpq(url), autocommit=True) as vacuum:
                vacuum.execute("VACUUM (ANALYZE)")
    build = time.perf_counter() - build_started
    say(f"  data built in {build:.0f} s")

    first, report = timed_pass(db, NOW)
    after = counts(db)
    say(f"pass 1 ({len(report.overdue):,} overdue notices, {after['notifications']:,} notifications, "
        f"{after['mail_outbox']:,} e-mails composed): {first:.2f} s  "
        f"[target < {PASS_TARGET_S:.0f} s: {verdict(first < PASS_TARGET_S)}]")
    say(f"  steps: {steps(report)}")
    idle = []
    for _ in range(20):
        seconds, quiet = timed_pass(db, NOW)
        assert not (quiet.overdue or quiet.escalated or quiet.reminded), "an idle pass found work"
        idle.append(seconds * 1000)
    idle.sort()
    median = statistics.median(idle)
    say(f"idle pass (nothing due): median {median:.1f} ms, p90 {idle[int(len(idle) * 0.9) - 1]:.1f} ms, "
        f"max {idle[-1]:.1f} ms  [target < {IDLE_TARGET_MS:.0f} ms: {verdict(median < IDLE_TARGET_MS)}]")
    later = add_working_days(NOW, 2)
    second, report = timed_pass(db, later)
    say(f"pass 2 at {later.isoformat()} ({len(report.escalated):,} tasks moved to the supervisors' inbox, "
        f"{len(report.reminded):,} reminders): {second:.2f} s")
    say(f"  steps: {steps(report)}")
    sent, seconds = deliver(db)
    rate = sent / seconds if seconds else 0.0
    say(f"mail: {sent:,} e-mails delivered to a local aiosmtpd in {seconds:.2f} s ({rate:,.0f} per s)")
    db.engine.dispose()


if __name__ == "__main__":
    main()
