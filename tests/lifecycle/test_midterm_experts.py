"""The mid-term check of a large project (approved funding at or above in_process_management's
`midterm_expert_threshold`, 200 = 2 million CNY): a drawn expert reviews the mid-term report on
their own, blind to the applicant, then the institution concludes as for any project; a smaller
project's report goes to the institution directly."""
from __future__ import annotations

from engine.core import commands
from engine.lifecycle import projects
from engine.runtime import access, instances
from tests.lifecycle.test_in_process_management import MIDTERM
from tests.lifecycle.world import APPLICANT, EXPERT, STAFF, SUPERVISOR, UNIT, Driver, make_project, sh, stage_data

OPINION = {"midterm_expert_score": 82, "midterm_expert_conclusion": "continue",
           "midterm_expert_opinion": "进展符合任务书要求，建议继续执行"}


def _at_midterm(db, funding: float) -> Driver:  # type: ignore[no-untyped-def]
    # given a 24-month project from 5 January 2026 in execution, at its mid-term (5 January 2027)
    project_id = make_project(db, start="2026-01-05", months=24, funding=funding)
    commands.execute(db, projects.release_funding, project_id, 0.6)
    d = Driver(db, sh(2026, 1, 5, 10))
    d.start("in_process_management", stage_data(project_id, approved_funding=funding), SUPERVISOR)
    d.advance_to(sh(2027, 1, 5, 9, 1))
    if "annual_report" in d.names():  # the first yearly report falls on the same day
        d.complete("annual_report", APPLICANT, {"report_progress": "完成年度计划", "report_completion": 50,
                                                "report_spending": 60})
        d.complete("unit_confirm_report", UNIT, {"unit_report_confirmation": "confirm"})
        d.complete("annual_review", STAFF, {"report_assessment": "satisfactory", "report_comment": "进展正常"})
    return d


def test_a_large_projects_mid_term_report_is_reviewed_by_a_drawn_expert_before_the_institution_concludes(world):
    d = _at_midterm(world, 250)
    # when the investigator hands in the mid-term report
    d.complete("midterm_report", APPLICANT, MIDTERM)
    # then a drawn expert has it, in the experts' lane, and the institution has nothing yet
    row = d.task("midterm_expert_review")
    assert row.assignee and row.lane == "experts" and "midterm_check" not in d.names()
    # and the applicant never learns who the expert is
    seen = commands.query(world, lambda s: access.view_of(s, APPLICANT, instances.get(s, d.instance_id))
                          .data(instances.data_of(instances.get(s, d.instance_id))))
    assert "midterm_expert" not in seen and "midterm_panel" not in seen
    # when the expert gives the opinion, the institution concludes as for any project
    d.complete("midterm_expert_review", EXPERT(row.assignee), OPINION)
    d.complete("midterm_check", STAFF, {"midterm_conclusion": "continue", "midterm_comment": "同意专家意见"})
    assert d.project()["midterm_done"] is True and d.project()["funds_released"] == 250.0


def test_a_project_below_the_threshold_goes_straight_to_the_institution(world):
    d = _at_midterm(world, 120)
    d.complete("midterm_report", APPLICANT, MIDTERM)
    assert "midterm_check" in d.names() and "midterm_expert_review" not in d.names()
