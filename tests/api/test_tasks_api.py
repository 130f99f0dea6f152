"""The task API as reviewers use it: start, find in the inbox, claim, complete; and every
refusal the contract names (401, 403, 404, 409, 422) leaving nothing changed."""
from __future__ import annotations

import pytest

SIMPLE = ("bpmn/simple_review.bpmn", "forms/simple_decision.form")


@pytest.fixture
def started(api, deploy):  # type: ignore[no-untyped-def]
    """Given a deployed simple review and an instance started by an applicant."""
    deploy(*SIMPLE)
    applicant = api("applicant")
    status, instance = applicant.post("/process-instances", {"process_key": "simple_review", "data": {"title": "Solar"}})
    assert status == 201, instance
    return applicant, instance


def test_starting_returns_the_instance_with_its_open_user_task(started):
    _, instance = started
    assert instance["state"] == "running" and instance["version"] == 1
    [task] = instance["tasks"]
    assert task["name"] == "review" and task["title"] == "Review the application"
    assert task["candidate_groups"] == ["reviewers"] and task["assignee"] is None
    assert task["form_key"] == "simple_decision" and task["state"] == "open"
    assert task["due_at"] is not None
    assert instance["data"]["initiator"] == "applicant" and instance["data"]["title"] == "Solar"


def test_a_candidate_claims_and_completes_and_the_instance_finishes(started, api):
    _, instance = started
    reviewer = api("rita", ["reviewers"])
    status, page = reviewer.get("/tasks?scope=candidate")
    assert status == 200 and page["total"] == 1
    task_id = page["items"][0]["id"]
    status, claimed = reviewer.post(f"/tasks/{task_id}/claim")
    assert status == 200 and claimed["assignee"] == "rita"
    assert reviewer.get("/tasks?scope=candidate")[1]["total"] == 0
    assert reviewer.get("/tasks?scope=assigned")[1]["items"][0]["id"] == task_id
    status, detail = reviewer.get(f"/tasks/{task_id}")
    assert status == 200 and detail["form"]["id"] == "simple_decision"
    status, done = reviewer.post(f"/tasks/{task_id}/complete", {"data": {"decision": "approve", "score": "88"}})
    assert status == 200, done
    assert done["task"]["state"] == "completed" and done["task"]["completed_by"] == "rita"
    assert done["process_instance"]["state"] == "completed"
    assert done["process_instance"]["data"]["recorded"] == "approve-recorded"
    assert done["process_instance"]["data"]["score"] == 88
    assert reviewer.get("/tasks?scope=completed")[1]["items"][0]["id"] == task_id


def test_calls_without_a_valid_token_get_401(client):
    assert client.get("/api/v1/tasks").status_code == 401
    response = client.get("/api/v1/tasks", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_a_wrong_password_gets_401(client, make_user):
    make_user("alice")
    response = client.post("/api/v1/auth/token", json={"username": "alice", "password": "wrong"})
    assert response.status_code == 401


def test_someone_who_is_not_a_candidate_gets_403_and_the_task_stays_open(started, api):
    _, instance = started
    task_id = instance["tasks"][0]["id"]
    stranger = api("sam", ["experts"])
    assert stranger.get(f"/tasks/{task_id}")[0] == 403
    assert stranger.post(f"/tasks/{task_id}/claim")[0] == 403
    status, body = stranger.post(f"/tasks/{task_id}/complete", {"data": {"decision": "approve"}})
    assert status == 403 and body["error"]["code"] == "forbidden"
    reviewer = api("rita", ["reviewers"])
    assert reviewer.get(f"/tasks/{task_id}")[1]["state"] == "open"


def test_a_task_claimed_by_another_cannot_be_claimed_or_completed(started, api):
    _, instance = started
    task_id = instance["tasks"][0]["id"]
    rita, rob = api("rita", ["reviewers"]), api("rob", ["reviewers"])
    assert rita.post(f"/tasks/{task_id}/claim")[0] == 200
    status, body = rob.post(f"/tasks/{task_id}/claim")
    assert status == 409 and "rita" in body["error"]["message"]
    assert rob.post(f"/tasks/{task_id}/complete", {"data": {"decision": "approve"}})[0] == 403


def test_unknown_task_and_instance_give_404(api):
    user = api("alice")
    assert user.get("/tasks/00000000-0000-0000-0000-000000000000")[0] == 404
    assert user.get("/process-instances/999999")[0] == 404
    assert user.post("/process-instances", {"process_key": "nope"})[0] == 404


def test_completing_twice_gives_409_the_second_time(started, api):
    _, instance = started
    task_id = instance["tasks"][0]["id"]
    rita = api("rita", ["reviewers"])
    assert rita.post(f"/tasks/{task_id}/complete", {"data": {"decision": "reject"}})[0] == 200
    status, body = rita.post(f"/tasks/{task_id}/complete", {"data": {"decision": "approve"}})
    assert status == 409 and body["error"]["code"] == "conflict"


def test_bad_form_data_gets_422_naming_every_bad_field_and_changes_nothing(started, api, db):
    _, instance = started
    task_id = instance["tasks"][0]["id"]
    rita = api("rita", ["reviewers"])
    status, body = rita.post(f"/tasks/{task_id}/complete",
                             {"data": {"decision": "maybe", "score": 101, "comment": "x" * 21, "hack": 1}})
    assert status == 422
    assert set(body["error"]["fields"]) == {"decision", "score", "comment", "hack"}
    status, detail = rita.get(f"/tasks/{task_id}")
    assert detail["state"] == "open" and "hack" not in detail["data"]


def test_a_missing_required_field_is_named(started, api):
    _, instance = started
    rita = api("rita", ["reviewers"])
    status, body = rita.post(f"/tasks/{instance['tasks'][0]['id']}/complete", {"data": {}})
    assert status == 422 and "decision" in body["error"]["fields"]


def test_a_malformed_body_gets_400(started, api, client):
    _, instance = started
    rita = api("rita", ["reviewers"])
    response = client.post(f"/api/v1/tasks/{instance['tasks'][0]['id']}/complete",
                           headers={"Authorization": f"Bearer {rita.token}", "Content-Type": "application/json"},
                           data="{not json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_unknown_top_level_keys_in_a_request_are_refused(started, api):
    _, instance = started
    rita = api("rita", ["reviewers"])
    status, body = rita.post(f"/tasks/{instance['tasks'][0]['id']}/complete", {"data": {"decision": "approve"}, "extra": 1})
    assert status == 422 and "extra" in body["error"]["fields"]


def test_only_supervisors_reassign_and_the_new_assignee_sees_the_task(started, api):
    _, instance = started
    task_id = instance["tasks"][0]["id"]
    rita = api("rita", ["reviewers"])
    assert rita.post(f"/tasks/{task_id}/assign", {"assignee": "rita"})[0] == 403
    boss = api("boss", ["supervisors"])
    api("eve", ["experts"])
    status, task = boss.post(f"/tasks/{task_id}/assign", {"assignee": "eve"})
    assert status == 200 and task["assignee"] == "eve"
    assert boss.post(f"/tasks/{task_id}/assign", {"assignee": "nobody"})[0] == 422


def test_the_assignee_can_release_a_claimed_task(started, api):
    _, instance = started
    task_id = instance["tasks"][0]["id"]
    rita = api("rita", ["reviewers"])
    rita.post(f"/tasks/{task_id}/claim")
    status, task = rita.post(f"/tasks/{task_id}/unclaim")
    assert status == 200 and task["assignee"] is None


def test_task_lists_paginate(api, deploy):
    deploy(*SIMPLE)
    applicant = api("applicant")
    for n in range(5):
        applicant.post("/process-instances", {"process_key": "simple_review", "data": {"n": n}})
    rita = api("rita", ["reviewers"])
    status, page = rita.get("/tasks?scope=candidate&page=2&per_page=2")
    assert status == 200 and page["total"] == 5 and len(page["items"]) == 2 and page["page"] == 2
    assert rita.get("/tasks?scope=bogus")[0] == 422


def test_the_openapi_document_describes_the_contract(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/v1/tasks", "/v1/tasks/{id}/complete", "/v1/process-instances", "/v1/process-definitions"):
        assert path in spec["paths"]
    assert "TaskOut" in spec["components"]["schemas"]


def test_supervisors_see_overdue_tasks_and_stuck_instances_and_others_get_403(api, deploy, db):
    from datetime import datetime, timedelta, timezone

    from engine.core import clock
    deploy(*SIMPLE, "bpmn/script_error.bpmn")
    applicant = api("applicant")
    start = datetime.now(timezone.utc) - timedelta(days=30)
    with clock.frozen_at(start):
        _, late = applicant.post("/process-instances", {"process_key": "simple_review"})
    _, broken = applicant.post("/process-instances", {"process_key": "divide"})
    applicant.post(f"/tasks/{broken['tasks'][0]['id']}/complete", {"data": {"divisor": 0}})
    boss = api("boss", ["supervisors"])
    status, overdue = boss.get("/supervisor/overdue")
    assert status == 200 and [t["process_instance_id"] for t in overdue["items"]] == [late["id"]]
    status, stuck = boss.get("/supervisor/stuck")
    by_id = {i["id"]: i for i in stuck["items"]}
    assert by_id[broken["id"]]["state"] == "error" and by_id[broken["id"]]["error"]["element_id"] == "compute"
    assert late["id"] in by_id  # no progress for 30 days
    assert applicant.get("/supervisor/overdue")[0] == 403
    assert applicant.get("/supervisor/stuck")[0] == 403


def test_stuck_means_ten_working_days_without_progress_counted_across_national_day(api, deploy):
    # given two instances that last moved on either side of the cut-off for 2026-10-16: the ten
    # working days before it are Oct 16, 15, 14, 13, 12, the make-up Saturday Oct 10, Oct 9, 8,
    # Sep 30 and 29 (the National Day week Oct 1-7 is not counted)
    from datetime import datetime

    from engine.core import clock
    from engine.core.calendar import BUREAU_TZ
    deploy(*SIMPLE)
    applicant = api("applicant")
    with clock.frozen_at(datetime(2026, 9, 28, 23, 0, tzinfo=BUREAU_TZ)):
        _, quiet_long_enough = applicant.post("/process-instances", {"process_key": "simple_review"})
    with clock.frozen_at(datetime(2026, 9, 29, 8, 0, tzinfo=BUREAU_TZ)):
        _, one_day_short = applicant.post("/process-instances", {"process_key": "simple_review"})
    # when a supervisor asks on Friday Oct 16 which instances are stuck
    with clock.frozen_at(datetime(2026, 10, 16, 10, 0, tzinfo=BUREAU_TZ)):
        status, stuck = api("boss", ["supervisors"]).get("/supervisor/stuck")
    # then only the one quiet for ten whole working days is listed
    assert status == 200
    assert [i["id"] for i in stuck["items"]] == [quiet_long_enough["id"]]
    assert one_day_short["id"] != quiet_long_enough["id"]


def test_supervisors_suspend_resume_and_terminate_with_a_reason(started, api):
    _, instance = started
    boss, rita = api("boss", ["supervisors"]), api("rita", ["reviewers"])
    assert rita.post(f"/process-instances/{instance['id']}/suspend", {"reason": "x"})[0] == 403
    assert boss.post(f"/process-instances/{instance['id']}/suspend", {})[0] == 422
    status, body = boss.post(f"/process-instances/{instance['id']}/suspend", {"reason": "audit"})
    assert status == 200 and body["state"] == "suspended"
    task_id = instance["tasks"][0]["id"]
    assert rita.post(f"/tasks/{task_id}/complete", {"data": {"decision": "approve"}})[0] == 409
    assert boss.post(f"/process-instances/{instance['id']}/resume", {"reason": "done"})[1]["state"] == "running"
    status, body = boss.post(f"/process-instances/{instance['id']}/terminate", {"reason": "withdrawn"})
    assert status == 200 and body["state"] == "terminated" and body["tasks"] == []
    assert boss.post(f"/process-instances/{instance['id']}/terminate", {"reason": "again"})[0] == 409
