"""Interventions: each moves the instance on, needs a reason, is refused to non-supervisors, and
is in the audit log with its reason."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.core import clock, commands
from engine.supervision import interventions
from engine.core.errors import Conflict, Forbidden, InvalidData

from .helpers import BOSS, MONDAY, OFFICER, audit_of, complete, open_task, plan, start, state_of

LATER = MONDAY + timedelta(days=1)


def _as_boss(db, command, *args):  # type: ignore[no-untyped-def]
    with clock.frozen_at(LATER):
        return commands.execute(db, command, BOSS, *args)


def test_reassign_gives_the_task_to_an_active_user_and_audits_the_reason(processes, make_user):
    instance = start(processes, "grant", {"title": "T"})
    task = open_task(processes, instance)
    # a reason and an existing active user are required
    with pytest.raises(InvalidData):
        _as_boss(processes, interventions.reassign, task.id, "olga", " ")
    with pytest.raises(InvalidData):
        _as_boss(processes, interventions.reassign, task.id, "nobody", "on leave")
    # when the supervisor reassigns it to olga
    row = _as_boss(processes, interventions.reassign, task.id, "olga", "Zhang is on leave")
    # then olga has it and the audit log says who, why, before and after
    assert row.assignee == "olga"
    [event] = audit_of(processes, instance, "task_assigned")
    assert event.actor == "boss" and event.details["reason"] == "Zhang is on leave"
    assert event.details["before"] is None and event.details["after"] == "olga"
    # and olga can complete it: the instance moves on
    complete(processes, instance, plan(), LATER)
    assert open_task(processes, instance).name == "approve"


def test_retry_checks_the_correction_against_the_form_and_moves_the_instance_on(processes):
    # given a grant whose budget script failed on zero years entered in the planning form
    instance = start(processes, "grant", {"title": "T"})
    complete(processes, instance, plan(years=0), MONDAY)
    assert state_of(processes, instance) == "error"
    # the correction form is the planning form, starting from the values entered
    form = commands.query(processes, interventions.retry_form, BOSS, instance)
    assert form.element_id == "per_year" and form.form_key == "budget_plan"
    assert form.values["years"] == 0 and "division by zero" in (form.message or "")
    # a correction the form refuses changes nothing
    with pytest.raises(InvalidData) as error:
        _as_boss(processes, interventions.retry, instance, {"years": 9}, "fix years")
    assert "years" in error.value.fields
    assert state_of(processes, instance) == "error"
    # a valid correction runs the script again: the instance waits for the approval now
    _as_boss(processes, interventions.retry, instance, {"years": 4}, "the applicant meant 4 years")
    assert state_of(processes, instance) == "running"
    assert open_task(processes, instance).name == "approve"
    [event] = audit_of(processes, instance, "instance_retried")
    assert event.details["reason"] == "the applicant meant 4 years" and event.details["data"] == {"years": 4}


def test_retry_without_a_form_accepts_only_usable_names(processes):
    # given the divide process, which fails on a zero divisor entered without a form
    instance = start(processes, "divide", actor=OFFICER)
    complete(processes, instance, {"divisor": 0}, MONDAY)
    with pytest.raises(InvalidData) as error:
        _as_boss(processes, interventions.retry, instance, {"__class__": 1, "for": 2}, "fix")
    assert set(error.value.fields) == {"__class__", "for"}
    _as_boss(processes, interventions.retry, instance, {"divisor": 4}, "the divisor is 4")
    assert open_task(processes, instance).name == "confirm"


def test_skip_completes_a_task_on_someones_behalf_with_checked_data(processes):
    instance = start(processes, "grant", {"title": "T"})
    task = open_task(processes, instance)
    # the data is checked against the task's form
    with pytest.raises(InvalidData):
        _as_boss(processes, interventions.skip, task.id, {"budget": 5}, "the officer left")
    # when the supervisor skips it with complete data
    _as_boss(processes, interventions.skip, task.id, plan(years=2), "the officer left")
    # then the instance moves on, and the skip is audited with reason and data
    assert open_task(processes, instance).name == "approve"
    [event] = audit_of(processes, instance, "task_skipped")
    assert event.actor == "boss" and event.details["reason"] == "the officer left"
    assert event.details["data"]["years"] == 2 and event.details["name"] == "plan_budget"
    # and a skipped task cannot be skipped again
    with pytest.raises(Conflict):
        _as_boss(processes, interventions.skip, task.id, plan(), "again")


def test_suspend_resume_and_terminate_move_the_instance_and_are_audited(processes):
    instance = start(processes, "grant", {"title": "T"})
    _as_boss(processes, interventions.suspend, instance, "audit of the unit")
    assert state_of(processes, instance) == "suspended"
    _as_boss(processes, interventions.resume, instance, "audit finished")
    assert state_of(processes, instance) == "running"
    _as_boss(processes, interventions.terminate, instance, "withdrawn by the applicant")
    assert state_of(processes, instance) == "terminated"
    reasons = {e.action: e.details.get("reason") for e in audit_of(processes, instance)}
    assert reasons["instance_suspended"] == "audit of the unit"
    assert reasons["instance_resumed"] == "audit finished"
    assert reasons["instance_terminated"] == "withdrawn by the applicant"


@pytest.mark.parametrize("command,args", [
    (interventions.suspend, ()), (interventions.resume, ()), (interventions.terminate, ()),
    (interventions.retry, ({},)),
])
def test_only_supervisors_intervene_on_instances(processes, command, args):
    instance = start(processes, "grant", {"title": "T"})
    with pytest.raises(Forbidden):
        commands.execute(processes, command, OFFICER, instance, *args, "because")


def test_only_supervisors_reassign_or_skip(processes):
    task = open_task(processes, start(processes, "grant", {"title": "T"}))
    with pytest.raises(Forbidden):
        commands.execute(processes, interventions.reassign, OFFICER, task.id, "olga", "because")
    with pytest.raises(Forbidden):
        commands.execute(processes, interventions.skip, OFFICER, task.id, plan(), "because")
