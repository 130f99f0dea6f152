"""performance_evaluation, started on its own for a project that passed acceptance: self-evaluation,
then an expert group or a third party; each rating band, written on the investigator's and the
organisation's credit record and shown to the reviewers of their next application."""
from __future__ import annotations

import pytest

from engine.core import commands
from engine.lifecycle import credit
from tests.lifecycle.world import (APPLICANT, APPLICATION, EVALUATOR, EXPERT, SUPERVISOR, Driver, make_project, sh, stage_data)

SELF = {"self_score": 88, "self_summary": "绩效目标全部完成，成果已在企业应用"}


def _start(db, funding=120.0) -> Driver:  # type: ignore[no-untyped-def]
    project_id = make_project(db, start="2025-01-06", months=12, status="passed", funding=funding)
    d = Driver(db, sh(2026, 3, 2))
    d.start("performance_evaluation", stage_data(project_id, approved_funding=funding), SUPERVISOR)
    return d


def _evaluate(d: Driver, score: float) -> None:
    # the three members evaluate on their own, then the chair concludes for the group
    d.members_give_opinions("eval_member_opinion", ["good"] * 3, [score] * 3)
    row = d.task("expert_evaluation")
    d.complete("expert_evaluation", EXPERT(row.assignee), {"evaluation_score": score,
                                                            "evaluation_report": "评价意见：目标完成情况良好"})


@pytest.mark.parametrize("score, rating", [(95, "excellent"), (90, "excellent"), (85, "good"), (80, "good"),
                                           (70, "pass"), (60, "pass"), (59.9, "fail")])
def test_each_score_gets_its_rating_on_both_credit_records(world, score, rating):
    d = _start(world)
    d.complete("self_evaluation", APPLICANT, SELF)
    _evaluate(d, score)
    assert d.data()["rating"] == rating and d.project()["rating"] == rating and d.data()["status"] == "evaluated"
    records = commands.query(world, credit.history, ["张伟"], [APPLICATION["organisation"]])
    assert {(r.subject_type, r.kind, r.outcome, r.score) for r in records} == {
        ("person", "rating", rating, score), ("organisation", "rating", rating, score)}


def test_large_projects_are_evaluated_by_a_third_party(world):
    d = _start(world, funding=300.0)
    d.complete("self_evaluation", APPLICANT, SELF)
    assert d.task("third_party_evaluation").candidate_groups == ["evaluators"]
    d.complete("third_party_evaluation", EVALUATOR, {"evaluation_score": 82, "evaluation_report": "第三方评价报告：良好"})
    assert d.data()["rating"] == "good" and d.state() == "completed"


def test_an_expert_group_chair_who_misses_the_deadline_hands_over(world):
    d = _start(world)
    d.complete("self_evaluation", APPLICANT, SELF)
    d.members_give_opinions("eval_member_opinion", ["good"] * 3)
    first = d.task("expert_evaluation").assignee
    d.advance_to(sh(2026, 3, 24, 10, 1))  # 15 working days after 2 March 2026
    assert d.task("expert_evaluation").assignee != first


def test_a_rating_is_shown_to_the_reviewer_of_the_next_application(world):
    d = _start(world)
    d.complete("self_evaluation", APPLICANT, SELF)
    _evaluate(d, 92)
    later = Driver(world, sh(2026, 4, 1))
    later.start("project_lifecycle", APPLICATION | {"title": "后续研究：高熵合金构件服役性能"})
    later.endorse()
    credit_seen = later.data()["credit"]
    assert credit_seen["count"] == 2 and {r["outcome"] for r in credit_seen["records"]} == {"excellent"}
