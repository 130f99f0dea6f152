"""in_process_management, started on its own for a project in execution: yearly reports and the
mid-term check on timers (continue, rectify, suspend funding, terminate), change requests of each
kind and their rules, an extension moving the end of the period, termination with settlement."""
from __future__ import annotations

import pytest

from engine.lifecycle import changes, credit
from engine.core import commands
from tests.lifecycle.world import (APPLICANT, AUDITOR, BUREAU, RECOMMENDER, STAFF, SUPERVISOR, UNIT, Driver, make_project, sh,
                                   stage_data)

REPORT = {"report_progress": "完成了年度计划的全部实验内容", "report_completion": 40, "report_spending": 30}
MIDTERM = {"midterm_progress": "完成中期目标，样件已试制成功", "midterm_completion": 55, "midterm_spending": 60}
RECTIFIED = {"rectification_measures": "补齐实验记录并调整技术路线", "rectification_completed": True}
SETTLEMENT = {"settlement_summary": "完成部分研究内容，剩余经费退回", "funds_spent": 50, "funds_returned": 22}
AUDIT = {"audit_opinion": "unqualified", "eligible_spending": 50, "audit_findings": "支出合规"}


def _start(db, months=36, start="2026-01-05") -> Driver:  # type: ignore[no-untyped-def]
    project_id = make_project(db, start=start, months=months)
    commands.execute(db, lambda s: __import__("engine.lifecycle.projects", fromlist=["x"]).release_funding(s, project_id, 0.6))
    d = Driver(db, sh(*map(int, start.split("-")), 10))
    d.start("in_process_management", stage_data(project_id), SUPERVISOR)
    return d


def _annual(d: Driver) -> None:
    d.complete("annual_report", APPLICANT, REPORT)
    d.complete("unit_confirm_report", UNIT, {"unit_report_confirmation": "confirm"})
    d.complete("annual_review", STAFF, {"report_assessment": "satisfactory", "report_comment": "进展正常"})


def _midterm(d: Driver, conclusion: str) -> None:
    d.complete("midterm_report", APPLICANT, MIDTERM)
    d.complete("midterm_check", STAFF, {"midterm_conclusion": conclusion, "midterm_comment": "中期检查意见"})


def _request(d: Driver, kind: str, **fields) -> None:  # type: ignore[no-untyped-def]
    d.complete("change_request", APPLICANT, {"change_kind": kind, "change_description": "变更说明：" + kind,
                                             "change_reason": "工作需要，确需变更"} | fields)


def _review(d: Driver, task: str, actor, decision: str = "approve") -> None:  # type: ignore[no-untyped-def]
    d.complete(task, actor, {"change_decision": decision, "change_comment": "审核意见"})


def test_yearly_reports_and_the_mid_term_check_come_on_their_dates_then_the_period_ends(world):
    # given a 36-month project from 5 January 2026 (ends 4 January 2029)
    d = _start(world)
    assert d.names() == ["change_request"] and d.task("change_request").due_at == sh(2029, 1, 4, 18)
    # the first yearly report is due on the first anniversary, not before
    assert d.advance_to(sh(2027, 1, 5, 8, 59)) == []
    d.advance_to(sh(2027, 1, 5, 9, 1))
    assert d.task("annual_report").assignee == APPLICANT.username
    _annual(d)
    # the mid-term check at half the period, then the second yearly report
    d.advance_to(sh(2027, 7, 6, 9, 1))
    _midterm(d, "continue")
    assert d.project()["funds_released"] == 120.0  # the rest of the funding after the mid-term check
    d.advance_to(sh(2028, 1, 5, 9, 1))
    _annual(d)
    assert d.project()["reports_done"] == 2 and d.project()["midterm_done"] is True
    # the day after the end date the period is over; the change-request task closes with it
    d.advance_to(sh(2029, 1, 5, 9, 1))
    assert d.data()["status"] == "completed_period" and d.project()["status"] == "awaiting_acceptance"
    assert d.state() == "completed" and d.open() == []


def test_a_twelve_month_project_has_a_mid_term_check_and_no_yearly_report(world):
    # half of 5 January 2026 - 4 January 2027 is 6 July 2026
    d = _start(world, months=12)
    assert d.advance_to(sh(2026, 7, 6, 8, 59)) == []
    d.advance_to(sh(2026, 7, 6, 9, 1))
    assert d.names() == ["change_request", "midterm_report"]


def test_rectification_after_the_mid_term_check_then_continue(world):
    d = _start(world, months=24)
    d.advance_to(sh(2027, 1, 5, 9, 1))
    _midterm(d, "rectify")
    assert d.task("rectification").assignee == APPLICANT.username
    d.complete("rectification", APPLICANT, RECTIFIED)
    d.complete("rectification_check", STAFF, {"rectification_result": "continue", "rectification_comment": "整改到位"})
    assert d.project()["funds_released"] == 120.0 and d.names() == ["change_request"]


def test_suspended_funding_is_resumed_after_a_good_rectification(world):
    d = _start(world, months=24)
    d.advance_to(sh(2027, 1, 5, 9, 1))
    _midterm(d, "suspend_funding")
    assert d.project()["funding_suspended"] is True and d.project()["funds_released"] == 72.0
    d.complete("rectification", APPLICANT, RECTIFIED)
    d.complete("rectification_check", STAFF, {"rectification_result": "continue", "rectification_comment": "整改到位"})
    assert d.project()["funding_suspended"] is False and d.project()["funds_released"] == 120.0


@pytest.mark.parametrize("route", ["midterm", "rectification"])
def test_termination_goes_through_settlement_and_the_bureau_and_is_on_the_credit_record(world, route):
    d = _start(world, months=24)
    d.advance_to(sh(2027, 1, 5, 9, 1))
    if route == "midterm":
        _midterm(d, "terminate")
    else:
        _midterm(d, "rectify")
        d.complete("rectification", APPLICANT, RECTIFIED)
        d.complete("rectification_check", STAFF, {"rectification_result": "terminate", "rectification_comment": "未整改到位"})
    d.complete("settlement", APPLICANT, SETTLEMENT)
    d.complete("audit_settlement", AUDITOR, AUDIT)
    d.complete("confirm_termination", BUREAU, {"termination_confirmed": True, "termination_cause": "investigator_breach",
                                               "termination_comment": "中期检查不合格，终止"})
    assert d.data()["status"] == "terminated" and d.project()["status"] == "terminated"
    assert d.open() == [] and d.state() == "completed"  # the change-request branch ended too
    kinds = {r.kind for r in commands.query(world, credit.history, ["张伟"], [])}
    assert kinds == {"terminated"}


def test_a_general_change_is_approved_by_the_unit_and_filed_without_the_bureau(world):
    d = _start(world)
    _request(d, "team_members", change_value="增加成员王五")
    assert d.task("change_unit_review").candidate_groups == ["unit.hzam"]
    _review(d, "change_unit_review", UNIT)
    [change] = commands.query(world, changes.changes_of, d.data()["project_id"])
    assert change.status == "approved" and not change.major and [r["level"] for r in change.reviews] == ["unit"]
    assert d.names() == ["change_request"]


def test_a_major_change_goes_through_the_recommending_unit_and_the_institution_to_the_bureau(world):
    d = _start(world)
    _request(d, "investigator", change_value="李强")
    assert d.task("change_recommender_review").candidate_groups == ["recommender.binjiang"]
    _review(d, "change_recommender_review", RECOMMENDER)
    assert d.task("change_institution_review").candidate_groups == ["institution_staff"]
    _review(d, "change_institution_review", STAFF)
    _review(d, "change_bureau_decision", BUREAU)
    assert d.project()["investigator"] == "李强"
    [change] = commands.query(world, changes.changes_of, d.data()["project_id"])
    assert [r["level"] for r in change.reviews] == ["recommender", "institution", "bureau"] and change.status == "approved"


def test_a_major_change_rejected_by_the_recommending_unit_never_reaches_the_bureau(world):
    d = _start(world)
    _request(d, "budget_total", new_budget=200)
    _review(d, "change_recommender_review", RECOMMENDER, "reject")
    assert d.names() == ["change_request"] and d.project()["budget"] == 120.0
    assert commands.query(world, changes.changes_of, d.data()["project_id"])[0].status == "rejected"


def test_an_approved_extension_moves_the_end_of_the_period(world):
    # given a 12-month project (ends 4 January 2027) extended by 6 months
    d = _start(world, months=12)
    _request(d, "period", extension_months=6)
    _review(d, "change_recommender_review", RECOMMENDER)
    _review(d, "change_institution_review", STAFF)
    _review(d, "change_bureau_decision", BUREAU)
    assert d.project()["end_date"] == "2027-07-04" and d.project()["period_changes"] == 1
    # then the mid-term check moves to half the new period (4 October 2026), not 6 July
    assert d.advance_to(sh(2026, 7, 6, 9, 1)) == [d.instance_id] and d.names() == ["change_request"]
    d.advance_to(sh(2026, 10, 4, 9, 1))
    _midterm(d, "continue")
    # and the old end date passes without ending anything: the longer period now has a first
    # anniversary before its end, so a yearly report is due instead
    d.advance_to(sh(2027, 1, 5, 9, 1))
    assert d.project()["status"] == "in_progress" and d.names() == ["annual_report", "change_request"]
    _annual(d)
    d.advance_to(sh(2027, 7, 5, 9, 1))
    assert d.data()["status"] == "completed_period" and d.project()["acceptance_due"] == "2028-01-04"


def _changes(d: Driver) -> list:  # type: ignore[type-arg]
    return commands.query(d.db, changes.changes_of, d.project()["project_id"])


def test_a_second_extension_is_refused_with_the_rule(world):
    d = _start(world)
    _request(d, "period", extension_months=6)
    _review(d, "change_recommender_review", RECOMMENDER)
    _review(d, "change_institution_review", STAFF)
    _review(d, "change_bureau_decision", BUREAU)
    _request(d, "period", extension_months=3)
    refused = _changes(d)[-1]
    assert refused.status == "refused" and any("only once" in r for r in refused.refusals)
    assert d.names() == ["change_request"] and d.project()["end_date"] == "2029-07-04"


def test_an_extension_asked_less_than_sixty_days_before_the_end_is_refused(world):
    d = _start(world, months=12)
    d.advance_to(sh(2026, 7, 6, 9, 1))
    _midterm(d, "continue")
    d.at_time(sh(2026, 11, 20))
    _request(d, "period", extension_months=3)
    assert any("60 days before the end date" in r for r in _changes(d)[-1].refusals)
    assert d.project()["end_date"] == "2027-01-04"


def test_an_approved_termination_request_ends_the_project_after_settlement(world):
    d = _start(world)
    _request(d, "termination")
    _review(d, "change_recommender_review", RECOMMENDER)
    _review(d, "change_institution_review", STAFF)
    _review(d, "change_bureau_decision", BUREAU)
    assert d.names() == ["settlement"]  # no new change request while terminating
    d.complete("settlement", APPLICANT, SETTLEMENT)
    d.complete("audit_settlement", AUDITOR, AUDIT)
    d.complete("confirm_termination", BUREAU, {"termination_confirmed": True, "termination_cause": "force_majeure",
                                               "termination_comment": "同意终止"})
    assert d.data()["status"] == "terminated" and d.open() == [] and d.state() == "completed"
