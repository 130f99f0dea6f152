"""An instance that made no progress for N working days (`stuckAfterWorkingDays`, default 10) is
marked stuck once per quiet spell: audited, and reported to the supervisors in their digest."""
from __future__ import annotations

from sqlalchemy import select

from engine.core import clock, commands
from engine.runtime import instances
from engine.core.models import AuditEvent
from engine.notify.notifications import Notification
from engine.core.principals import Actor
from engine.runtime.stuck_instances import InstanceWatch

from .support import bureau, start, tick

QUIET = {"stuckAfterWorkingDays": "3"}


def _stuck_events(db, instance_id: int) -> list[dict]:
    return commands.query(db, lambda s: [e.details for e in s.scalars(select(AuditEvent).where(
        AuditEvent.process_instance_id == instance_id, AuditEvent.action == "instance_stuck"))])


def test_a_quiet_instance_is_marked_stuck_after_n_working_days_once(db, deploy_process, person):
    # given a process that counts 3 working days of silence as stuck, started before National Day
    deploy_process("sla_review", {}, QUIET)
    person("sam", ("supervisors",))
    instance_id, _ = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    # then 3 working days later (30 Sep, 9 Oct, 10 Oct) and not before, it is marked stuck
    assert not tick(db, "2025-10-08 10:00").stuck
    assert not tick(db, "2025-10-10 09:59").stuck
    assert [i for i, _ in tick(db, "2025-10-10 10:00").stuck] == [instance_id]
    # and once only, however long it stays quiet
    for day in ("2025-10-13", "2025-10-15", "2025-10-20", "2025-10-27"):
        assert not tick(db, f"{day} 11:00").stuck
    [event] = _stuck_events(db, instance_id)
    assert event["working_days"] == 3 and event["notified"] == ["sam"]
    kinds = commands.query(db, lambda s: [n.kind for n in s.scalars(select(Notification))])
    assert kinds == ["instance_stuck"]


def test_progress_restarts_the_count_and_a_new_quiet_spell_is_reported_again(db, deploy_process, person):
    deploy_process("sla_review", {}, QUIET)
    person("sam", ("supervisors",))
    instance_id, _ = start(db, "sla_review", "2025-10-09 10:00", {"expert": "erin"})
    # a supervisor suspends and resumes it on the second working day: that is a change
    boss = Actor("boss", frozenset({"supervisors"}))
    with clock.frozen_at(bureau("2025-10-10 16:00")):
        commands.execute(db, instances.suspend, boss, instance_id, "check")
        commands.execute(db, instances.resume, boss, instance_id, "ok")
    # so it is not stuck three working days after its start (13 Oct, counting the make-up
    # Saturday), but three after the change
    assert not tick(db, "2025-10-13 10:00").stuck
    assert not tick(db, "2025-10-14 15:59").stuck
    assert [i for i, _ in tick(db, "2025-10-14 16:00").stuck] == [instance_id]
    with clock.frozen_at(bureau("2025-10-16 09:00")):
        commands.execute(db, instances.suspend, boss, instance_id, "again")
        commands.execute(db, instances.resume, boss, instance_id, "ok")
    assert not tick(db, "2025-10-20 10:00").stuck
    assert [i for i, _ in tick(db, "2025-10-21 09:00").stuck] == [instance_id]
    assert len(_stuck_events(db, instance_id)) == 2


def test_an_ended_instance_is_no_longer_watched(db, deploy_process, person):
    deploy_process("sla_review", {}, QUIET)
    instance_id, _ = start(db, "sla_review", "2025-10-09 10:00", {"expert": "erin"})
    boss = Actor("boss", frozenset({"supervisors"}))
    commands.execute(db, instances.terminate, boss, instance_id, "withdrawn")
    assert not tick(db, "2025-10-20 10:00").stuck
    assert commands.query(db, lambda s: s.get(InstanceWatch, instance_id)) is None


def test_zero_working_days_switches_the_watch_off(db, deploy_process):
    deploy_process("sla_review", {}, {"stuckAfterWorkingDays": "0"})
    instance_id, _ = start(db, "sla_review", "2025-10-09 10:00", {"expert": "erin"})
    assert not tick(db, "2026-06-01 10:00").stuck
    assert commands.query(db, lambda s: s.get(InstanceWatch, instance_id).check_at) is None
