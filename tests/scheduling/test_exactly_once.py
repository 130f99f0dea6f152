"""Two schedulers running at the same time never duplicate a reminder, an escalation step or an
e-mail: on PostgreSQL through `FOR UPDATE SKIP LOCKED` row claims and mail leases, on SQLite
through the single-writer lock. Counted where it matters: in the audit log, in the
notifications, and in the e-mails a real SMTP server received."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from engine.core import clock, commands
from engine.scheduling import scheduler
from engine.core.db import Database
from engine.core.models import AuditEvent
from engine.notify.notifications import Notification, OutboxMessage

from .support import bureau, start

ROOT = Path(__file__).resolve().parents[2]
SLA = {"dueWorkingDays": "2", "reminderWorkingDays": "1", "escalateAfterWorkingDays": "2",
       "escalationAction": "escalate"}
EXPERTS, TASKS_EACH = 10, 6  # few users: creating one hashes a password (~0.2 s)


def _many_overdue_tasks(db, deploy_process, person) -> list[str]:
    """60 reviews due 2025-10-09 10:00, six per expert; all steps due by 2025-10-13."""
    deploy_process("sla_review", SLA)
    person("sam", ("supervisors",))
    task_ids = []
    for n in range(EXPERTS):
        person(f"expert{n}", ("experts",))
        for _ in range(TASKS_EACH):
            task_ids.append(start(db, "sla_review", "2025-09-29 10:00", {"expert": f"expert{n}"})[1])
    return task_ids


def _assert_each_step_once(db, task_ids: list[str], box) -> None:
    actions = commands.query(db, lambda s: Counter(
        (e.task_id, e.action) for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action.in_(("task_overdue", "task_escalated", "task_reminded"))))))
    assert {actions[(t, "task_overdue")] for t in task_ids} == {1}
    assert {actions[(t, "task_escalated")] for t in task_ids} == {1}
    notes = commands.query(db, lambda s: Counter(
        (n.username, n.task_id, n.kind) for n in s.scalars(select(Notification))))
    assert set(notes.values()) == {1}
    # every notification that has its e-mail by now was received exactly once
    emailed = commands.query(db, lambda s: s.scalar(select(func.count()).select_from(Notification)
                                                    .where(Notification.outbox_id.isnot(None))))
    mentioned = box.notification_ids()
    assert len(mentioned) == len(set(mentioned)) == emailed
    # 60 overdue notices + 60 "handed over" to the experts; the 60 escalations gathered for the
    # supervisor (in one or more notifications, as the two schedulers' batches fell), each once
    experts = commands.query(db, lambda s: s.scalar(select(func.count()).select_from(Notification)
                                                    .where(Notification.username != "sam")))
    assert experts == len(task_ids) * 2
    escalated = commands.query(db, lambda s: [n.params["count"] for n in s.scalars(select(Notification).where(
        Notification.username == "sam", Notification.kind == "task_escalated"))])
    assert sum(escalated) == len(task_ids) and emailed == experts + len(escalated)
    sent = commands.query(db, lambda s: s.scalar(select(func.count()).select_from(OutboxMessage)
                                                 .where(OutboxMessage.state == "sent")))
    assert sent == len(box.messages)


def test_two_scheduler_threads_racing_never_duplicate(db, database_url, deploy_process, person, smtp):
    box, mail = smtp
    task_ids = _many_overdue_tasks(db, deploy_process, person)
    # two schedulers with their own connection pools, as two processes would have
    databases = [Database(database_url), Database(database_url)]
    barrier, reports, errors = threading.Barrier(2), [], []

    def run(database: Database) -> None:
        try:
            barrier.wait()
            with clock.frozen_at(bureau("2025-10-13 10:00")):
                reports.append(scheduler.tick(database, mail, batch_size=4))
        except Exception as error:  # surfaced below; a thread cannot fail the test itself
            errors.append(error)

    threads = [threading.Thread(target=run, args=(d,)) for d in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for database in databases:
        database.engine.dispose()
    assert errors == [] and len(reports) == 2
    # between them they did each task's two steps once; neither reported a problem
    assert sorted(t for r in reports for t, _ in r.overdue) == sorted(task_ids)
    assert sorted(t for r in reports for t, _ in r.escalated) == sorted(task_ids)
    assert [p for r in reports for p in r.problems] == []
    _assert_each_step_once(db, task_ids, box)


def test_two_scheduler_processes_racing_never_duplicate(db, database_url, deploy_process, person, smtp):
    box, mail = smtp
    task_ids = _many_overdue_tasks(db, deploy_process, person)
    env = {**os.environ, "DATABASE_URL": database_url, "SMTP_HOST": mail.host,
           "SMTP_PORT": str(mail.port), "MAIL_LANGUAGE": "en", "PYTHONPATH": str(ROOT)}
    flask = Path(sys.executable).with_name("flask")
    command = [str(flask), "--app", "web", "scheduler", "tick", "--now", "2025-10-13T10:00:00+08:00",
               "--batch-size", "3"]
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert all("problem" not in out for out, _ in outputs), outputs
    _assert_each_step_once(db, task_ids, box)


def test_an_instance_a_user_is_working_on_is_skipped_not_waited_for(db, deploy_process, person):
    """PostgreSQL: a user's command holds the instance row; the scheduler, holding the task,
    must neither wait for it (the two could deadlock) nor act without it."""
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: there is no concurrent holder to skip")
    deploy_process("sla_review", SLA)
    person("erin", ("experts",))
    instance_id, task_id = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    with clock.frozen_at(bureau("2025-10-09 10:00")):
        scheduler.tick(db)  # the overdue notice: needs no instance lock
    with db.engine.connect() as user:
        user.execute(text("SELECT id FROM process_instances WHERE id = :i FOR UPDATE"), {"i": instance_id})
        with clock.frozen_at(bureau("2025-10-11 10:00")):
            held_back = scheduler.tick(db)
        user.rollback()
    assert held_back.escalated == [] and held_back.problems == []
    with clock.frozen_at(bureau("2025-10-11 10:01")):
        assert [t for t, _ in scheduler.tick(db).escalated] == [task_id]
