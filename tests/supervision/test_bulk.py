"""Bulk interventions on a filtered selection: a preview that says what would happen to each
instance and writes nothing; a run where each instance is changed completely or not at all,
every failure is reported, and progress is called after each instance."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.core import clock, commands
from engine.runtime import instances
from engine.supervision import interventions, selection
from engine.core.errors import Forbidden, InvalidData
from engine.core.models import AuditEvent

from .helpers import APPLICANT, BOSS, MONDAY, OFFICER, FailingTrigger, audit_of, complete, plan, start, state_of

SUSPEND = interventions.BulkRequest("suspend", "yearly audit of the programme")


@pytest.fixture
def failing_audit(db):  # type: ignore[no-untyped-def]
    """A real database failure: the audit row of suspending the chosen instances is refused,
    so their transaction aborts in the middle of the suspension."""
    triggers: list[FailingTrigger] = []

    def install(instance_ids: list[int]) -> None:
        ids = ", ".join(str(i) for i in instance_ids)
        triggers.append(FailingTrigger(db, "fail_suspend", "audit_events",
                                       f"NEW.action = 'instance_suspended' AND NEW.process_instance_id IN ({ids})"))

    yield install
    for trigger in triggers:
        trigger.drop()


def _start_many(db, count: int) -> list[int]:
    def many(session):  # type: ignore[no-untyped-def]
        return [instances.start(session, APPLICANT, "grant", {"title": f"Project {n}"}).id
                for n in range(count)]
    with clock.frozen_at(MONDAY):
        return commands.execute(db, many)


def _run(db, request, ids, seen=None):  # type: ignore[no-untyped-def]
    progress = (lambda done, total, outcome: seen.append((done, total, outcome.ok))) if seen is not None else None
    with clock.frozen_at(MONDAY + timedelta(days=1)):
        return interventions.run_bulk(db, BOSS, request, ids, progress)


def _suspend_and_check(db, failing_audit, count: int) -> None:
    # given running instances, two of them already suspended and one terminated ...
    ids = _start_many(db, count)
    for instance_id in ids[:2]:
        commands.execute(db, instances.suspend, BOSS, instance_id, "earlier")
    commands.execute(db, instances.terminate, BOSS, ids[2], "earlier")
    # ... and two whose suspension fails in the database half-way
    failing_audit([ids[3], ids[-1]])
    audited_before = len(audit_of(db, action="instance_suspended"))
    # when all are suspended in bulk
    seen: list[tuple[int, int, bool]] = []
    report = _run(db, SUSPEND, ids, seen)
    # then every other instance is suspended, each failure is reported with its reason
    failures = {o.instance_id: o for o in report.failures}
    assert set(failures) == {ids[0], ids[1], ids[2], ids[3], ids[-1]}
    assert failures[ids[0]].code == "conflict" and "suspended" in failures[ids[0]].message
    assert failures[ids[2]].code == "conflict" and "terminated" in failures[ids[2]].message
    assert "disk full" in failures[ids[3]].message
    assert report.succeeded == count - 5 and report.failed == 5
    # and a failed instance was left exactly as it was: running, nothing audited
    assert state_of(db, ids[3]) == "running" and state_of(db, ids[-1]) == "running"
    assert not [e for e in audit_of(db, ids[3]) if e.action == "instance_suspended"]
    states = commands.query(db, lambda s: dict(s.execute(select(
        instances.ProcessInstance.state, func.count()).group_by(instances.ProcessInstance.state)).all()))
    assert states == {"suspended": count - 3, "running": 2, "terminated": 1}
    assert len(audit_of(db, action="instance_suspended")) == audited_before + count - 5
    # progress was reported after every instance, in order
    assert [d for d, _, _ in seen] == list(range(1, count + 1)) and {t for _, t, _ in seen} == {count}
    # and the run itself is audited with its failures
    [summary] = audit_of(db, action="bulk_intervention")
    assert summary.details["total"] == count and len(summary.details["failed"]) == 5


def test_bulk_suspend_is_all_or_nothing_per_instance_and_reports_each_failure(processes, failing_audit):
    _suspend_and_check(processes, failing_audit, 12)


@pytest.mark.slow
def test_bulk_suspend_of_a_thousand_instances(processes, failing_audit):
    _suspend_and_check(processes, failing_audit, 1000)


def test_the_preview_says_what_would_happen_to_each_and_changes_nothing(processes):
    ids = _start_many(processes, 3)
    commands.execute(processes, instances.suspend, BOSS, ids[0], "earlier")
    audited = len(audit_of(processes))
    planned = commands.query(processes, interventions.preview, BOSS, SUSPEND, ids + [999])
    assert [(p.instance_id, p.will) for p in planned] == [
        (ids[0], "refuse"), (ids[1], "change"), (ids[2], "change"), (999, "refuse")]
    assert planned[1].description == "running → suspended"
    assert "no such" in planned[3].description
    assert state_of(processes, ids[1]) == "running" and len(audit_of(processes)) == audited


def test_bulk_reassign_and_skip_at_an_element(processes, make_user):
    make_user("olga2", ["officers"])
    ids = _start_many(processes, 3)
    complete(processes, ids[2], plan(), MONDAY)  # this one has moved past the planning task
    reassign = interventions.BulkRequest("reassign", "olga is on leave", assignee="olga2",
                                         element="plan_budget")
    planned = commands.query(processes, interventions.preview, BOSS, reassign, ids)
    assert [p.will for p in planned] == ["change", "change", "refuse"]
    assert planned[0].description == "Plan the budget: - → olga2"
    report = _run(processes, reassign, ids)
    assert report.succeeded == 2 and report.failures[0].instance_id == ids[2]
    skip = interventions.BulkRequest("skip", "decided by the panel", element="plan_budget",
                                     data=plan(years=3))
    report = _run(processes, skip, ids[:2])
    assert report.succeeded == 2
    assert len(audit_of(processes, action="task_skipped")) == 2


def test_a_selection_by_filter_resolves_to_the_matching_instances(processes):
    ids = _start_many(processes, 3)
    broken = start(processes, "grant", {"title": "Broken budget"})
    complete(processes, broken, plan("Broken budget", years=0), MONDAY)
    chosen = commands.query(processes, selection.resolve, BOSS,
                            selection.InstanceFilter(process_key="grant", states=("running",)))
    assert chosen == ids
    by_element = commands.query(processes, selection.resolve, BOSS,
                                selection.InstanceFilter(element="per_year"))
    assert by_element == [broken]
    by_title = commands.query(processes, selection.resolve, BOSS, selection.InstanceFilter(q="broken"))
    assert by_title == [broken]
    with clock.frozen_at(MONDAY + timedelta(days=1)):
        flagged = commands.query(processes, selection.resolve, BOSS,
                                 selection.InstanceFilter(attention_kind="error"))
    assert flagged == [broken]
    with pytest.raises(InvalidData):
        commands.query(processes, selection.resolve, BOSS, selection.InstanceFilter())


def test_bulk_operations_need_a_supervisor_and_a_reason(processes):
    ids = _start_many(processes, 1)
    with pytest.raises(Forbidden):
        interventions.run_bulk(processes, OFFICER, SUSPEND, ids)
    with pytest.raises(InvalidData):
        interventions.run_bulk(processes, BOSS, interventions.BulkRequest("suspend", ""), ids)
    with pytest.raises(InvalidData):
        interventions.run_bulk(processes, BOSS, interventions.BulkRequest("explode", "why"), ids)
    assert state_of(processes, ids[0]) == "running"
    assert not commands.query(processes, lambda s: s.scalar(select(func.count()).select_from(AuditEvent)
                                                            .where(AuditEvent.action == "bulk_intervention")))
