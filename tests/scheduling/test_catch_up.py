"""After downtime the scheduler catches up: every missed step is taken once, in order, and the
passes that follow (however many) repeat none of them."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import select, update

from engine.core import commands
from engine.core.calendar import BUREAU_TZ
from engine.core.models import AuditEvent, HumanTask, TaskCandidate
from engine.notify.notifications import Notification

from .support import start, tick

SLA = {"dueWorkingDays": "2", "reminderWorkingDays": "1", "escalateAfterWorkingDays": "2",
       "escalationAction": "escalate"}
STEPS = ("task_reminded", "task_overdue", "task_escalated")


def _audit_counts(db) -> Counter:
    return commands.query(db, lambda s: Counter(
        (e.task_id, e.action) for e in s.scalars(select(AuditEvent).where(AuditEvent.action.in_(STEPS)))))


def _notifications(db) -> Counter:
    return commands.query(db, lambda s: Counter(
        (n.username, n.task_id or n.process_instance_id, n.kind) for n in s.scalars(select(Notification))))


def test_a_week_of_downtime_sends_each_escalation_once(db, deploy_process, person, smtp):
    box, mail = smtp
    # given five reviews due on 2025-10-09 (after National Day), one expert each
    deploy_process("sla_review", SLA)
    person("sam", ("supervisors",))
    task_ids = []
    for n in range(5):
        person(f"expert{n}", ("experts",))
        task_ids.append(start(db, "sla_review", "2025-09-29 10:00", {"expert": f"expert{n}"})[1])
    # when the scheduler was down from before the reminders until a week after the escalation
    report = tick(db, "2025-10-17 10:00", mail)
    # then the one pass took every missed step: the late reminders are dropped, the overdue
    # notices and the escalations are sent
    assert sorted(t for t, _ in report.overdue) == sorted(task_ids)
    assert sorted(t for t, _ in report.escalated) == sorted(task_ids)
    assert report.reminded == []
    # and the escalated tasks wait, unclaimed, in the supervisors' inbox: their candidate rows
    # (rewritten set-wise by the scheduler) carry the tasks' due dates and creation moments
    candidates = commands.query(db, lambda s: [(c.task_id, c.principal, c.claimed, c.due_at == t.due_at,
                                                c.created_at == t.created_at) for c, t in s.execute(
        select(TaskCandidate, HumanTask).join(HumanTask, HumanTask.id == TaskCandidate.task_id))])
    assert sorted(c[0] for c in candidates if c[1] == "g:supervisors") == sorted(task_ids)
    assert all(c[2:] == (False, True, True) for c in candidates)
    # and passes every few hours for the next days repeat nothing
    for day in ("2025-10-17", "2025-10-18", "2025-10-20", "2025-10-21"):
        for hour in (8, 9, 12, 18):
            later = tick(db, f"{day} {hour:02d}:30", mail)
            assert not (later.reminded or later.overdue or later.escalated), (day, hour)

    counts = _audit_counts(db)
    assert all(counts[(t, "task_overdue")] == 1 and counts[(t, "task_escalated")] == 1 for t in task_ids)
    assert all(counts[(t, "task_reminded")] == 0 for t in task_ids)
    notes = _notifications(db)
    assert set(notes.values()) == {1}
    assert sum(1 for (user, _, kind) in notes if kind == "task_overdue") == 5
    # each expert got one e-mail (overdue and handed over, together); the supervisor one with
    # the five escalations at once, then the daily digests: Monday 08:30 with the five overdue
    # tasks, Tuesday 08:30 with the five instances found stuck on Monday (10 working days)
    for n in range(5):
        [message] = box.to(f"expert{n}@bureau.example")
        assert message["Subject"] == "Workflow notifications (2)"
    supervisor = box.to("sam@bureau.example")
    assert [m["Subject"] for m in supervisor] == \
        ["5 overdue tasks escalated to you", "5 tasks overdue", "5 processes stuck"]
    assert [m["Date"].datetime.astimezone(BUREAU_TZ).strftime("%a %H:%M") for m in supervisor] == \
        ["Fri 10:00", "Mon 08:30", "Tue 08:30"]
    assert supervisor[0].get_content().count("is more than 2 working day(s) overdue") == 5
    assert supervisor[1].get_content().count("overdue since 2025-10-09 10:00") == 5
    assert supervisor[2].get_content().count("has made no progress for 10 working days") == 5
    # and no notification was e-mailed twice
    mentioned = box.notification_ids()
    assert len(mentioned) == len(set(mentioned)) == sum(notes.values())


def test_one_broken_task_is_reported_and_does_not_stop_the_others(db, deploy_process, person):
    # given two overdue reviews, one of which carries a corrupted policy
    deploy_process("sla_review", SLA)
    person("erin", ("experts",))
    _, good = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    _, broken = start(db, "sla_review", "2025-09-29 11:00", {"expert": "erin"})
    with db.engine.begin() as conn:
        conn.execute(update(HumanTask).where(HumanTask.id == broken)
                     .values(escalation_policy={"escalate_after_working_days": "two"}))
    # when the scheduler passes
    report = tick(db, "2025-10-09 12:00", batch_size=10)
    # then the good task got its overdue notice, the broken one is named as a problem and is
    # still due (it will be tried again), and nothing else was held up
    assert [t for t, _ in report.overdue] == [good]
    [problem] = report.problems
    assert problem.startswith(f"escalation: {broken}: TypeError")
    assert any(f"problem: escalation: {broken}" in line for line in report.lines())
    again = tick(db, "2025-10-09 13:00")
    assert again.overdue == [] and len(again.problems) == 1
    assert _audit_counts(db)[(good, "task_overdue")] == 1
