"""Decisions belong to their round, on the real formal review of processes/ (a loop: review,
return, correct, review again): the second review is offered with its decision fields empty,
a completion that leaves a comment out does not keep the earlier round's, and a completed task
shows what was submitted on it, read from its finished-task record, as access allows."""
from __future__ import annotations

import pytest

from engine.core import commands
from engine.core.errors import InvalidData
from engine.core.principals import Actor
from engine.definitions import deployment
from engine.definitions.validation import collect_paths
from engine.runtime import instances, tasks
from engine.workspace import task_page
from tests.conftest import ROOT
from tests.lifecycle.test_formal_review import APPLICANT, APPLICATION, CORRECTION, STAFF

RETURNED = {"decision": "return", "review_comment": "请补充伦理审查批件", "checks_passed": ["complete"]}


@pytest.fixture
def returned_once(db):  # type: ignore[no-untyped-def]
    """Given an application the formal review returned once and the applicant corrected."""
    commands.execute(db, deployment.deploy, collect_paths([str(ROOT / "processes"), str(ROOT / "forms")]), "t")
    instance_id = commands.execute(db, instances.start, APPLICANT, "application_formal_review", APPLICATION).id
    first = _open(db, instance_id)
    commands.execute(db, tasks.claim, STAFF, first.id)
    commands.execute(db, tasks.complete, STAFF, first.id, RETURNED)
    commands.execute(db, tasks.complete, APPLICANT, _open(db, instance_id).id, CORRECTION)
    return instance_id, first.id


def _open(db, instance_id):  # type: ignore[no-untyped-def]
    [row] = commands.query(db, tasks.open_tasks, instance_id)
    return row


def _data(db, instance_id):  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: instances.data_of(instances.get(s, instance_id)))


def test_the_second_review_is_offered_with_its_decision_fields_empty(db, returned_once):
    instance_id, _ = returned_once
    second = _open(db, instance_id)
    assert second.name == "formal_review" and _data(db, instance_id)["decision"] == "return"
    commands.execute(db, tasks.claim, STAFF, second.id)
    view = commands.query(db, task_page.task_view, STAFF, second.id)
    assert view.may_work and view.values == {}
    detail = commands.query(db, task_page.task_detail, STAFF, second.id)
    assert not {"decision", "review_comment", "checks_passed"} & set(detail.data)
    assert detail.data["title"] == CORRECTION["title"]  # the application itself still shows


def test_an_acceptance_without_a_comment_leaves_no_earlier_comment_in_the_data(db, returned_once):
    instance_id, _ = returned_once
    commands.execute(db, tasks.complete, STAFF, _open(db, instance_id).id, {"decision": "accept"})
    data = _data(db, instance_id)
    assert data["decision"] == "accept" and data["review_comment"] is None and data["checks_passed"] == []


def test_a_return_without_a_comment_is_refused_and_changes_nothing(db, returned_once):
    instance_id, _ = returned_once
    second = _open(db, instance_id)
    with pytest.raises(InvalidData) as caught:
        commands.execute(db, tasks.complete, STAFF, second.id, {"decision": "return", "review_comment": " "})
    assert list(caught.value.fields) == ["review_comment"]
    assert _open(db, instance_id).id == second.id


def test_a_completed_task_shows_what_was_submitted_read_only(db, returned_once):
    _, first_id = returned_once
    view = commands.query(db, task_page.task_view, STAFF, first_id)
    assert view.task.state == "completed" and not view.may_work
    assert view.values == RETURNED
    assert commands.query(db, task_page.task_detail, STAFF, first_id).data == RETURNED


def test_a_completed_task_shows_a_party_of_the_project_only_the_fields_meant_for_applicants(db, returned_once):
    # given a colleague of the review group who is also the application's starter (a party)
    _, first_id = returned_once
    party = Actor(APPLICANT.username, frozenset({"applicants", "institution_staff"}))
    view = commands.query(db, task_page.task_view, party, first_id)
    # then the decision and its comment show, the internal checklist does not
    assert view.values == {"decision": "return", "review_comment": "请补充伦理审查批件"}
