"""The real formal-review process of processes/: every path an application can take."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.core import clock, commands
from engine.definitions import deployment
from engine.runtime import instances, tasks
from engine.scheduling import scheduler
from engine.core.principals import Actor
from engine.definitions.validation import collect_paths
from tests.conftest import ROOT

APPLICANT = Actor("zhang", frozenset({"applicants"}))
STAFF = Actor("wang", frozenset({"institution_staff"}))
APPLICATION = {"title": "Printed soil sensors", "plan_category": "natural_science", "discipline": "agriculture",
               "organisation": "Institute", "principal_investigator": "Zhang", "budget": 35.5,
               "period_months": 18, "abstract": "Printed capacitive sensors for hill tea gardens.",
               "integrity_pledge": True}
CORRECTION = {"title": "Printed soil sensors v2", "budget": 30, "abstract": "Now with the ethics approval attached.",
              "correction_note": "attached the approval"}


@pytest.fixture
def submitted(db):  # type: ignore[no-untyped-def]
    commands.execute(db, deployment.deploy, collect_paths([str(ROOT / "processes"), str(ROOT / "forms")]), "t")
    return commands.execute(db, instances.start, APPLICANT, "application_formal_review", APPLICATION).id


def _only_task(db, instance_id):  # type: ignore[no-untyped-def]
    [task] = commands.query(db, tasks.open_tasks, instance_id)
    return task


def _review(db, instance_id, decision):  # type: ignore[no-untyped-def]
    task = _only_task(db, instance_id)
    assert task.name == "formal_review" and task.candidate_groups == ["institution_staff"]
    commands.execute(db, tasks.complete, STAFF, task.id, {"decision": decision, "review_comment": "ok"})


def _state(db, instance_id):  # type: ignore[no-untyped-def]
    instance = commands.query(db, instances.get, instance_id)
    return instance.state, commands.query(db, lambda s: instances.data_of(instances.get(s, instance_id)))


def test_an_accepted_application_ends_accepted(db, submitted):
    _review(db, submitted, "accept")
    state, data = _state(db, submitted)
    assert state == "completed" and data["status"] == "accepted" and data["applicant"] == "zhang"


def test_the_formal_review_is_due_in_five_working_days(db, submitted):
    task = _only_task(db, submitted)
    from engine.core.calendar import working_days_between
    assert working_days_between(task.created_at, task.due_at) == 5


def test_a_rejected_application_ends_not_accepted_with_the_reviewers_comment_as_its_reason(db, submitted):
    _review(db, submitted, "reject")
    state, data = _state(db, submitted)
    assert state == "completed" and data["status"] == "not_accepted" and data["decision"] == "reject"
    assert data["reason"] == "形式审查不予受理：ok · rejected at the formal review: ok"


def test_a_returned_application_goes_to_the_applicant_and_back_to_review(db, submitted):
    _review(db, submitted, "return")
    correction = _only_task(db, submitted)
    assert correction.name == "correct_application" and correction.assignee == "zhang"
    commands.execute(db, tasks.complete, APPLICANT, correction.id, CORRECTION)
    _review(db, submitted, "accept")
    state, data = _state(db, submitted)
    assert state == "completed" and data["title"] == "Printed soil sensors v2" and data["corrections"] == 1


def test_a_third_return_exceeds_the_correction_limit_and_rejects(db, submitted):
    for _ in range(2):
        _review(db, submitted, "return")
        commands.execute(db, tasks.complete, APPLICANT, _only_task(db, submitted).id, CORRECTION)
    _review(db, submitted, "return")
    state, data = _state(db, submitted)
    assert state == "completed" and data["corrections"] == 3
    assert data["status"] == "not_accepted" and "returned more than 2 times" in data["reason"]
    assert commands.query(db, tasks.open_tasks, submitted) == []


def test_a_correction_not_made_within_ten_days_lapses(db):
    commands.execute(db, deployment.deploy, collect_paths([str(ROOT / "processes"), str(ROOT / "forms")]), "t")
    t0 = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
    with clock.frozen_at(t0):
        instance_id = commands.execute(db, instances.start, APPLICANT, "application_formal_review", APPLICATION).id
        _review(db, instance_id, "return")
    correction = _only_task(db, instance_id)
    assert correction.due_at == t0 + timedelta(days=10)
    with clock.frozen_at(t0 + timedelta(days=9)):
        assert scheduler.tick(db).fired == []
    with clock.frozen_at(t0 + timedelta(days=10, minutes=1)):
        assert scheduler.tick(db).fired == [instance_id]
    state, data = _state(db, instance_id)
    assert state == "completed" and data["status"] == "lapsed" and "not made in time" in data["reason"]
    assert commands.query(db, tasks.get, correction.id).state == "cancelled"

