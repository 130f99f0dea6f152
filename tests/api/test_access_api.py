"""The API keeps to what engine/runtime/access.py allows, as the roles that found the leaks: the
applicant reading their own application and task, an expert reading their own scoring task and
the instance, midway through the real lifecycle's expert review."""
from __future__ import annotations

import json

from tests.access.conftest import (APPLICANT, EXPERT, SECRET_OPINION, STAFF, api_token,  # noqa: F401
                                   review)
from tests.lifecycle.world import GOOD_SCORES, sh

PANEL_KEYS = {"seats", "seat", "opinions", "draw_id", "result"}
SCORE_KEYS = {"innovation", "feasibility", "team_capability", "budget_reasonableness", "expected_benefits",
              "expert_opinion"}


def get(client, path: str, who: str):  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1{path}", headers=api_token(client, who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_applicants_own_instance_holds_no_panel_names_scores_or_scoring_assignees(client, review):  # noqa: F811
    answer = get(client, f"/process-instances/{review.instance_id}", APPLICANT.username)
    text = json.dumps(answer, ensure_ascii=False)
    assert not (PANEL_KEYS | SCORE_KEYS) & set(answer["data"])
    for expert in review.panel:
        assert expert not in text
    assert "材料专家" not in text and "研究所" not in text and SECRET_OPINION not in text
    # the open scoring tasks are not listed with their people, nor at all
    assert all(task["assignee"] in (None, APPLICANT.username) for task in answer["tasks"])
    assert not [t for t in answer["tasks"] if t["name"] == "scoring"]
    # what they submitted and the decision addressed to them are there
    assert answer["data"]["title"] == "高熵合金激光增材制造工艺研究" and answer["data"]["budget"] == 120
    assert answer["data"]["decision"] == "accept" and "review_comment" in answer["data"]
    # the contract's shape is kept
    assert set(answer) >= {"id", "process_key", "version", "state", "data", "tasks"}


def test_the_applicants_own_task_after_the_review_holds_no_panel_but_the_decision_for_them(client, review):  # noqa: F811
    # given the review is over, the bureau funded the project and the contract waits for the applicant
    d = review.driver
    for expert in review.scoring:
        d.complete_row(review.task_of(expert), EXPERT(expert), GOOD_SCORES | {"expert_opinion": "同意立项 · fund it"})
    d.propose_and_decide("fund", "fund", 100.0)
    d.advance_to(sh(2026, 3, 10, 10, 1))
    d.complete("draft_contract", STAFF, {"contract_no": "HZKJ-2026-001", "contract_targets": "完成工艺规范与样件试制",
                                         "assessment_indicators": "发明专利 2 项"})
    assert {"seats", "opinions", "result"} <= set(d.data())  # the panel is in the process data
    task = d.task("sign_contract")
    # when the applicant reads their own task through the API
    answer = get(client, f"/tasks/{task.id}", APPLICANT.username)
    text = json.dumps(answer, ensure_ascii=False)
    # then no panel, names, scores or opinions
    assert not (PANEL_KEYS | SCORE_KEYS | {"ranking", "proposal", "proposal_comment"}) & set(answer["data"])
    for expert in review.panel:
        assert expert not in text
    assert "材料专家" not in text and SECRET_OPINION not in text and "fund it" not in text
    # but the decision addressed to them and their own submission
    assert answer["data"]["bureau_decision"] == "fund" and answer["data"]["approved_funding"] == 100.0
    assert answer["data"]["decision_comment"] and answer["data"]["title"] and answer["data"]["budget"] == 120
    assert answer["assignee"] == APPLICANT.username and answer["form"]["id"] == "contract_sign"
    # and the instance's answer likewise
    instance = get(client, f"/process-instances/{review.instance_id}", APPLICANT.username)
    assert not (PANEL_KEYS | SCORE_KEYS) & set(instance["data"]) and instance["data"]["bureau_decision"] == "fund"


def test_an_expert_reading_their_own_scoring_task_sees_the_materials_and_no_other_expert(client, review):  # noqa: F811
    me = review.scoring[0]
    task = review.task_of(me)
    answer = get(client, f"/tasks/{task.id}", me)
    text = json.dumps(answer, ensure_ascii=False)
    assert answer["assignee"] == me and answer["form"]["id"] == "expert_scoring"
    assert not PANEL_KEYS & set(answer["data"])
    for other in review.panel:
        if other != me:
            assert other not in text
    assert SECRET_OPINION not in text and "材料专家" not in text
    assert answer["data"]["title"] == "高熵合金激光增材制造工艺研究" and "abstract" in answer["data"]
    # and the instance, read by the same expert
    instance = get(client, f"/process-instances/{review.instance_id}", me)
    text = json.dumps(instance, ensure_ascii=False)
    for other in review.panel:
        if other != me:
            assert other not in text
    assert SECRET_OPINION not in text and not PANEL_KEYS & set(instance["data"])
    assert [t["assignee"] for t in instance["tasks"]] == [me]


def test_the_institution_still_reads_the_whole_instance(client, review):  # noqa: F811
    answer = get(client, f"/process-instances/{review.instance_id}", STAFF.username)
    assert {"seats", "draw_id"} <= set(answer["data"])
    assert sorted(t["assignee"] for t in answer["tasks"]) == sorted(review.scoring)
