"""The escalation policy: BPMN extension properties on the task override those on the process,
which override the engine's defaults; bad values are named clearly."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core import commands
from engine.runtime import tasks
from engine.core.errors import DefinitionInvalid
from engine.core.models import ProcessDefinition
from engine.definitions.escalation_policy import Policy, check_properties, resolve, stuck_after

from .support import start


def test_defaults_remind_one_day_ahead_and_escalate_to_supervisors_two_days_late():
    policy = resolve({}, {})
    assert policy == Policy(reminder_working_days=1, overdue_notify=("assignee", "supervisors"),
                            escalate_after_working_days=2, escalation_action="escalate",
                            reassign_to=None, supervisor_groups=("supervisors",), supervisor_users=())
    assert stuck_after({}) == 10


def test_task_properties_override_process_properties_which_override_defaults():
    process = {"escalationAction": "notify", "supervisorGroups": "stage_leads, bureau_leaders",
               "reminderWorkingDays": "3"}
    task = {"escalationAction": "reassign", "reassignTo": "deputy", "overdueNotify": "assignee"}
    policy = resolve(task, process)
    assert policy.escalation_action == "reassign" and policy.reassign_to == "deputy"
    assert policy.supervisor_groups == ("stage_leads", "bureau_leaders")
    assert policy.reminder_working_days == 3 and policy.overdue_notify == ("assignee",)
    assert resolve({"overdueNotify": "none"}, {}).overdue_notify == ()


def test_a_bad_value_is_named_and_the_default_kept_at_runtime():
    bad = {"reminderWorkingDays": "tomorrow", "escalationAction": "fire", "overdueNotify": "boss",
           "escalateAfterWorkingDays": "-1", "dueWorkingDays": "5", "unrelated": "x"}
    problems = check_properties(bad)
    assert problems == [
        "reminderWorkingDays must be a whole number of working days (0-365), not 'tomorrow'",
        "overdueNotify names boss; use assignee, supervisors (comma-separated) or none",
        "escalateAfterWorkingDays must be a whole number of working days (0-365), not '-1'",
        "escalationAction must be one of escalate, reassign, notify, none, not 'fire'",
    ]
    assert check_properties({"stuckAfterWorkingDays": "soon"}) == []
    assert check_properties({"stuckAfterWorkingDays": "soon"}, process_level=True) == [
        "stuckAfterWorkingDays must be a whole number of working days (0-365), not 'soon'"]
    assert resolve(bad, {}) == Policy()


def test_the_policy_is_resolved_when_the_task_is_created_and_kept_with_it(db, deploy_process, person):
    # given a process whose stage supervisors and action are set on the process element
    deploy_process("sla_review", {"dueWorkingDays": "3", "escalateAfterWorkingDays": "1"},
                   {"supervisorGroups": "stage_leads", "escalationAction": "notify"})
    person("erin", ("experts",))
    _, task_id = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    policy = Policy.from_dict(commands.query(db, tasks.get, task_id).escalation_policy)
    assert policy.supervisor_groups == ("stage_leads",) and policy.escalation_action == "notify"
    assert policy.escalate_after_working_days == 1


def test_a_bad_escalation_property_refuses_the_deployment_naming_the_element(db, deploy_process):
    # given a task whose escalation action is misspelt and a process with a bad stuck setting
    # when it is deployed, then the deployment is refused with both elements named
    with pytest.raises(DefinitionInvalid) as refused:
        deploy_process("sla_typo", {"dueWorkingDays": "3", "escalationAction": "fire"},
                       {"stuckAfterWorkingDays": "soon"})
    messages = [(p.element_id, p.message) for p in refused.value.problems]
    assert ("sla_typo", "stuckAfterWorkingDays must be a whole number of working days (0-365), not 'soon'") in messages
    assert any(m == "escalationAction must be one of escalate, reassign, notify, none, not 'fire'"
               for _, m in messages)
    # and nothing was deployed
    assert commands.query(db, lambda s: s.scalars(select(ProcessDefinition)).all()) == []
