"""A supervisor reassigning a task to someone outside the groups and people it is for (an
officer's task to an applicant) is refused with a field error that says so, unless they confirm
it; the confirmation is in the audit log beside the reason. The same through the API."""
from __future__ import annotations

import pytest

from engine.core import clock, commands
from engine.core.errors import InvalidData
from engine.supervision import interventions

from .helpers import BOSS, MONDAY, audit_of, open_task, start


def test_reassigning_outside_the_groups_needs_a_confirmation(processes):
    instance = start(processes, "grant", {"title": "T"})
    task = open_task(processes, instance)
    assert task.candidate_groups == ["officers"]
    with clock.frozen_at(MONDAY):
        # when the supervisor gives the officers' task to ada, an applicant, without confirming
        with pytest.raises(InvalidData) as caught:
            commands.execute(processes, interventions.reassign, BOSS, task.id, "ada", "she asked")
        # then it is refused naming the assignee field, and nothing changed
        assert "not among the people or groups" in caught.value.fields["assignee"][0]
        assert open_task(processes, instance).assignee is None
        # when they confirm, it is done and the audit log says it was confirmed
        row = commands.execute(processes, interventions.reassign, BOSS, task.id, "ada", "she asked", True)
    assert row.assignee == "ada"
    [event] = audit_of(processes, instance, "task_assigned")
    assert event.details["reason"] == "she asked [outside its groups, confirmed]"


def test_the_api_refuses_an_unconfirmed_outsider_with_422(processes, api):
    instance = start(processes, "grant", {"title": "T"})
    task = open_task(processes, instance)
    boss = api("boss2", ["supervisors"])
    status, body = boss.post(f"/supervisor/tasks/{task.id}/reassign", {"assignee": "ada", "reason": "hers"})
    assert status == 422 and list(body["error"]["fields"]) == ["assignee"]
    status, body = boss.post(f"/supervisor/tasks/{task.id}/reassign",
                             {"assignee": "ada", "reason": "hers", "outside_groups": True})
    assert status == 200 and body["assignee"] == "ada"
    # a member of its group needs no confirmation
    status, body = boss.post(f"/supervisor/tasks/{task.id}/reassign", {"assignee": "olga", "reason": "back"})
    assert status == 200 and body["assignee"] == "olga"
