"""Decisions through the API, on the real formal review of processes/: a return or a refusal
without a comment is 422 naming the field and changes nothing; the second round's task shows
no decision of the first; a completed task answers with what was submitted on it."""
from __future__ import annotations

import pytest

from engine.core import commands
from engine.definitions import deployment
from engine.definitions.validation import collect_paths
from tests.conftest import ROOT
from tests.lifecycle.test_formal_review import APPLICATION, CORRECTION


@pytest.fixture
def review(api, db):  # type: ignore[no-untyped-def]
    """Given an application waiting for its formal review, and a reviewer who claimed it."""
    commands.execute(db, deployment.deploy, collect_paths([str(ROOT / "processes"), str(ROOT / "forms")]), "t")
    applicant, reviewer = api("zhang", ["applicants"]), api("wang", ["institution_staff"])
    status, instance = applicant.post("/process-instances", {"process_key": "application_formal_review",
                                                             "data": APPLICATION})
    assert status == 201, instance
    [task] = instance["tasks"]
    assert reviewer.post(f"/tasks/{task['id']}/claim")[0] == 200
    return applicant, reviewer, instance["id"], task["id"]


@pytest.mark.parametrize("decision", ["return", "reject"])
def test_a_return_or_refusal_without_a_comment_is_422_naming_the_comment(review, decision):
    _, reviewer, instance_id, task_id = review
    status, body = reviewer.post(f"/tasks/{task_id}/complete", {"data": {"decision": decision, "review_comment": ""}})
    assert status == 422, body
    assert body["error"]["code"] and list(body["error"]["fields"]) == ["review_comment"]
    assert "Required when" in body["error"]["fields"]["review_comment"][0]
    # and nothing changed: the task is still open and assigned
    status, task = reviewer.get(f"/tasks/{task_id}")
    assert status == 200 and task["state"] == "open" and task["assignee"] == "wang"


def test_the_next_round_shows_no_earlier_decision_and_the_finished_one_shows_its_own(review):
    applicant, reviewer, instance_id, task_id = review
    returned = {"decision": "return", "review_comment": "请补充伦理审查批件"}
    assert reviewer.post(f"/tasks/{task_id}/complete", {"data": returned})[0] == 200
    [correction] = applicant.get(f"/process-instances/{instance_id}")[1]["tasks"]
    assert applicant.post(f"/tasks/{correction['id']}/complete", {"data": CORRECTION})[0] == 200
    [second] = reviewer.get(f"/process-instances/{instance_id}")[1]["tasks"]
    status, detail = reviewer.get(f"/tasks/{second['id']}")
    assert status == 200 and "decision" not in detail["data"] and "review_comment" not in detail["data"]
    status, done = reviewer.get(f"/tasks/{task_id}")
    assert status == 200 and done["state"] == "completed" and done["data"] == {**returned, "checks_passed": []}  # left out: recorded empty
