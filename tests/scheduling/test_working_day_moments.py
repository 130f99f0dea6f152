"""Reminders, overdue notices, escalations and reassignments happen at the right working-day
moment: whole working days at the same time of day, skipping statutory holidays (National Day
2025, Spring Festival 2026) and counting make-up working days (Saturday 2025-10-11, Saturday
2026-02-14)."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.core import commands
from engine.runtime import tasks
from engine.core.models import AuditEvent, HumanTask, TaskCandidate
from engine.notify.notifications import Notification

from .support import bureau, gathered, start, tick

SLA = {"dueWorkingDays": "2", "reminderWorkingDays": "1", "escalateAfterWorkingDays": "2"}


def _task(db, task_id: str) -> HumanTask:
    return commands.query(db, tasks.get, task_id)


def _notes(db, task_id: str) -> list[tuple[str, str]]:
    return commands.query(db, lambda s: [(n.username, n.kind) for n in s.scalars(
        select(Notification).where(Notification.task_id == task_id).order_by(Notification.id))])


def _audits(db, task_id: str, action: str) -> int:
    return commands.query(db, lambda s: s.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.task_id == task_id, AuditEvent.action == action)))


def test_moments_are_whole_working_days_across_national_day(db, deploy_process, person):
    # given a review due in 2 working days, created the Monday before National Day 2025
    deploy_process("sla_review", {**SLA, "escalationAction": "escalate"})
    person("erin", ("experts",))
    person("sam", ("supervisors",))
    _, task_id = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    task = _task(db, task_id)
    # then it is due on the first day back, and reminded one working day before, same time
    assert task.due_at == bureau("2025-10-09 10:00")
    assert task.next_reminder_at == bureau("2025-09-30 10:00")
    assert task.next_escalation_at == bureau("2025-10-09 10:00")

    # when the scheduler runs through the holiday
    assert not tick(db, "2025-09-30 09:59").reminded
    assert [t for t, _ in tick(db, "2025-09-30 10:00").reminded] == [task_id]
    for day in ("2025-10-01", "2025-10-03", "2025-10-06", "2025-10-08"):
        report = tick(db, f"{day} 10:00")
        assert not (report.reminded or report.overdue or report.escalated), day
    assert not tick(db, "2025-10-09 09:59").overdue
    # then the overdue notice comes when it is due, to the expert and to the supervisor
    assert [t for t, _ in tick(db, "2025-10-09 10:00").overdue] == [task_id]
    # and the escalation 2 working days later: Friday, then the make-up Saturday 2025-10-11
    assert not tick(db, "2025-10-10 10:00").escalated
    assert not tick(db, "2025-10-11 09:59").escalated
    assert [t for t, _ in tick(db, "2025-10-11 10:00").escalated] == [task_id]
    assert not tick(db, "2025-10-20 10:00").escalated

    assert _notes(db, task_id) == [("erin", "task_due_soon"), ("erin", "task_overdue"),
                                   ("erin", "task_taken_away")]
    # the supervisor's reports gather the tasks: overdue (for the digest), then escalated
    assert gathered(db, "sam", "task_overdue_report") == [task_id]
    assert gathered(db, "sam", "task_escalated") == [task_id]
    for action in ("task_reminded", "task_overdue", "task_escalated"):
        assert _audits(db, task_id, action) == 1


def test_escalation_moves_the_task_to_the_supervisors_inbox(db, deploy_process, person):
    # given an overdue review held by erin, escalated to the stage supervisors
    deploy_process("sla_review", {**SLA, "escalationAction": "escalate"},
                   {"supervisorGroups": "stage_leads"})
    person("erin", ("experts",))
    person("lead", ("stage_leads",))
    person("sam", ("supervisors",))
    _, task_id = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    # when the scheduler catches up after the escalation moment
    tick(db, "2025-10-11 10:00")
    # then nobody holds it, the stage leads may claim it, erin may still take it back
    task = _task(db, task_id)
    assert task.assignee is None and task.escalation_level == 2
    assert "stage_leads" in task.candidate_groups and "erin" in task.candidate_users
    principals = commands.query(db, lambda s: set(s.scalars(
        select(TaskCandidate.principal).where(TaskCandidate.task_id == task_id))))
    assert {"g:stage_leads", "u:erin", "g:experts"} <= principals
    # and only the process's stage supervisors were told, not the bureau-wide group
    assert gathered(db, "lead", "task_escalated") == [task_id]
    assert gathered(db, "sam", "task_escalated") == []


def test_reassignment_back_to_the_group_across_spring_festival(db, deploy_process, person):
    # given a task due on the make-up Saturday before Spring Festival 2026
    deploy_process("sla_review", {**SLA, "escalationAction": "reassign"})
    for name in ("erin", "eddie"):
        person(name, ("experts",))
    _, task_id = start(db, "sla_review", "2026-02-12 15:00", {"expert": "erin"})
    assert _task(db, task_id).due_at == bureau("2026-02-14 15:00")
    tick(db, "2026-02-14 15:00")
    # when two working days pass: none during the nine-day holiday, then 24 and 25 February
    assert not tick(db, "2026-02-23 15:00").escalated
    assert not tick(db, "2026-02-24 15:00").escalated
    assert [t for t, _ in tick(db, "2026-02-25 15:00").escalated] == [task_id]
    # then it went back to the experts' pool, and the other expert was told he may claim it
    task = _task(db, task_id)
    assert task.assignee is None and task.candidate_groups == ["experts"]
    assert gathered(db, "eddie", "task_returned_to_group") == [task_id]
    assert gathered(db, "erin", "task_returned_to_group") == []
    assert ("erin", "task_taken_away") in _notes(db, task_id)
    assert _audits(db, task_id, "task_reassigned") == 1


def test_reassignment_to_a_named_user(db, deploy_process, person):
    deploy_process("sla_review", {**SLA, "escalationAction": "reassign", "reassignTo": "deputy"})
    person("erin", ("experts",))
    person("deputy")
    _, task_id = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    tick(db, "2025-10-11 10:00")
    assert _task(db, task_id).assignee == "deputy"
    assert ("deputy", "task_reassigned_to_you") in _notes(db, task_id)


def test_a_completed_task_is_neither_reminded_nor_escalated(db, deploy_process, person):
    from engine.core.principals import Actor
    from engine.core import clock
    deploy_process("sla_review", SLA)
    person("erin", ("experts",))
    _, task_id = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    # when erin completes it before the reminder
    with clock.frozen_at(bureau("2025-09-29 16:00")):
        commands.execute(db, tasks.complete, Actor("erin", frozenset({"experts"})), task_id, {})
    # then nothing is due any more
    task = _task(db, task_id)
    assert task.next_reminder_at is None and task.next_escalation_at is None
    report = tick(db, "2025-10-20 10:00")
    assert not (report.reminded or report.overdue or report.escalated)
    assert _notes(db, task_id) == []


def test_a_suspended_instance_waits_and_catches_up_when_resumed(db, deploy_process, person):
    from engine.runtime import instances
    from engine.core.principals import Actor
    deploy_process("sla_review", SLA)
    person("erin", ("experts",))
    instance_id, task_id = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    boss = Actor("boss", frozenset({"supervisors"}))
    commands.execute(db, instances.suspend, boss, instance_id, "waiting for the ethics board")
    # while suspended, an overdue task is left alone
    assert not tick(db, "2025-10-09 11:00").overdue
    commands.execute(db, instances.resume, boss, instance_id, "approved")
    # once resumed, the next pass takes the missed step
    assert [t for t, _ in tick(db, "2025-10-09 12:00").overdue] == [task_id]


def test_a_task_created_inside_its_reminder_window_gets_no_reminder(db, deploy_process, person):
    # given a task due the next working day: the reminder moment is its creation
    deploy_process("sla_review", {"dueWorkingDays": "1"})
    person("erin", ("experts",))
    _, task_id = start(db, "sla_review", "2025-09-30 10:00", {"expert": "erin"})
    task = _task(db, task_id)
    assert task.due_at == bureau("2025-10-09 10:00")
    assert task.next_reminder_at is None and task.next_escalation_at == task.due_at


def test_without_a_due_date_nothing_is_scheduled(db, deploy_process, person):
    deploy_process("sla_review", {"escalationAction": "escalate"})
    person("erin", ("experts",))
    _, task_id = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    task = _task(db, task_id)
    assert task.next_reminder_at is None and task.next_escalation_at is None


def test_an_unclaimed_task_reminds_its_candidates(db, deploy_process, person):
    deploy_process("sla_review", SLA, assignment='camunda:candidateGroups="experts"')
    person("erin", ("experts",))
    person("eddie", ("experts",))
    person("outsider", ("applicants",))
    _, task_id = start(db, "sla_review", "2025-09-29 10:00")
    tick(db, "2025-09-30 10:00")
    assert _notes(db, task_id) == [("eddie", "task_due_soon"), ("erin", "task_due_soon")]


def test_notify_tells_the_supervisors_again_and_leaves_the_task_where_it_is(db, deploy_process, person):
    deploy_process("sla_review", {**SLA, "escalationAction": "notify"})
    person("erin", ("experts",))
    person("sam", ("supervisors",))
    _, task_id = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    assert [t for t, _ in tick(db, "2025-10-11 10:00").escalated] == [task_id]
    task = _task(db, task_id)
    assert task.assignee == "erin" and task.escalation_level == 2 and task.next_escalation_at is None
    assert gathered(db, "sam", "task_still_overdue") == [task_id]
    assert _audits(db, task_id, "task_escalated") == 1


def test_reassigning_to_someone_unknown_falls_back_to_the_group(db, deploy_process, person):
    deploy_process("sla_review", {**SLA, "escalationAction": "reassign", "reassignTo": "nobody.here"})
    person("erin", ("experts",))
    person("eddie", ("experts",))
    _, task_id = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    tick(db, "2025-10-11 10:00")
    assert _task(db, task_id).assignee is None
    assert gathered(db, "eddie", "task_returned_to_group") == [task_id]


def test_a_supervisor_claims_an_escalated_task_and_completes_it(db, deploy_process, person):
    from engine.core import clock
    from engine.core.principals import Actor
    deploy_process("sla_review", SLA)
    person("erin", ("experts",))
    person("sam", ("supervisors",))
    _, task_id = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    tick(db, "2025-10-11 10:00")
    sam = Actor("sam", frozenset({"supervisors"}))
    page = commands.query(db, tasks.list_tasks, sam, "candidate")
    assert [t.id for t in page.items] == [task_id]
    with clock.frozen_at(bureau("2025-10-13 09:00")):
        commands.execute(db, tasks.claim, sam, task_id)
        commands.execute(db, tasks.complete, sam, task_id, {})
    assert _task(db, task_id).state == "completed"
