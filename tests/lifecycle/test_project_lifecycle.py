"""project_lifecycle: one application from submission to its performance rating, every stage a
call activity, with time travel through every timer; and where the lifecycle stops early."""
from __future__ import annotations

import pytest

from engine.core import commands
from engine.lifecycle import credit, expert_pool
from engine.workspace import project_documents
from tests.lifecycle.world import (APPLICANT, APPLICATION, BUREAU, EXPERT, STAFF, Driver, sh)


def test_an_application_goes_through_every_stage_to_its_rating(world):
    d = Driver(world, sh(2026, 3, 2))
    d.start("project_lifecycle", APPLICATION)
    d.endorse()
    d.formal_review()
    d.experts_accept_and_score()
    d.propose_and_decide()
    d.advance_to(sh(2026, 3, 10, 10, 1))  # the public notice is over
    assert d.project()["status"] == "established"
    d.advance_to(sh(2026, 3, 11, 10))
    d.sign_contract()
    project = d.project()
    assert (project["status"], project["start_date"], project["end_date"]) == ("in_progress", "2026-03-11", "2028-03-10")
    # half of the 24 months, then the end of the period
    d.advance_to(sh(2027, 3, 11, 9, 1))
    d.complete("midterm_report", APPLICANT, {"midterm_progress": "按计划完成中期目标，样件试制成功",
                                             "midterm_completion": 55, "midterm_spending": 60})
    d.complete("midterm_check", STAFF, {"midterm_conclusion": "continue", "midterm_comment": "进展良好"})
    d.advance_to(sh(2028, 3, 11, 9, 1))
    assert d.project()["status"] == "awaiting_acceptance" and d.names() == ["apply_acceptance"]
    d.apply_for_acceptance()
    d.members_give_opinions("member_opinion", ["pass"] * 5, [88] * 5)
    chair = d.task("acceptance_review").assignee
    d.complete("acceptance_review", EXPERT(chair), {"completion_rate": 100, "acceptance_score": 88,
                                                    "acceptance_opinion": "完成全部任务，同意通过验收"})
    d.complete("bureau_confirm_acceptance", BUREAU, {"bureau_acceptance_confirmed": True})
    d.complete("self_evaluation", APPLICANT, {"self_score": 90, "self_summary": "绩效目标全部实现，成果已转化应用"})
    d.members_give_opinions("eval_member_opinion", ["excellent"] * 3, [91] * 3)
    chair = d.task("expert_evaluation").assignee
    d.complete("expert_evaluation", EXPERT(chair), {"evaluation_score": 91, "evaluation_report": "绩效突出，成果转化良好"})
    # then the lifecycle is complete, the register and the credit records say so
    assert d.state() == "completed" and d.data()["rating"] == "excellent"
    assert d.project()["status"] == "evaluated" and d.project()["funds_released"] == 120.0
    kinds = {r.kind for r in commands.query(world, credit.history, ["张伟"], [])}
    assert kinds == {"acceptance_passed", "rating"}
    # and the acceptance certificate stays on the application's page after the evaluation
    assert commands.query(world, project_documents.available, APPLICANT, d.instance_id)["certificate"] is True
    # and every draw of the project reproduces from its seed
    draws = commands.query(world, lambda s: [d.id for d in s.query(expert_pool.ExpertDraw).all()])
    assert len(draws) == 3 and all(commands.query(world, expert_pool.verify, i) for i in draws)


@pytest.mark.parametrize("decision, end", [("reserve", "reserved"), ("reject", "not_established")])
def test_the_lifecycle_ends_where_a_stage_ends_it(world, decision, end):
    d = Driver(world, sh(2026, 3, 2))
    d.start("project_lifecycle", APPLICATION)
    d.endorse()
    d.formal_review()
    d.experts_accept_and_score()
    d.propose_and_decide("reserve", decision)
    assert d.state() == "completed" and d.data()["status"] == end and d.open() == []
