"""The undertaking unit (承担单位) as an actor: it reviews its own applications before the
recommending unit (approve within its yearly quota, return, refuse), signs the task contract
after the investigator, confirms annual reports, and an approved change of organisation moves
the project's later requests to the new unit."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.core import commands
from engine.core.errors import Forbidden, InvalidData
from engine.core.principals import Actor
from engine.lifecycle import organisations
from tests.lifecycle.world import (APPLICANT, APPLICATION, STAFF, SUPERVISOR, UNIT, Driver, make_project, sh,
                                   stage_data)

CORRECTION = {"title": "高熵合金激光增材制造工艺规范研究", "budget": 100, "correction_note": "按单位意见补充了合作协议",
              "abstract": "研究高熵合金激光增材制造的组织调控与性能优化，并附合作协议。"}


def _submit(db, data=None, when=sh(2026, 3, 2)) -> Driver:  # type: ignore[no-untyped-def]
    driver = Driver(db, when)
    driver.start("project_lifecycle", data or APPLICATION)
    return driver


def _set_quota(db, quota: int) -> None:  # type: ignore[no-untyped-def]
    def set_it(session):  # type: ignore[no-untyped-def]
        organisations.by_name(session, APPLICATION["organisation"]).yearly_quota = quota
    commands.execute(db, set_it)


def test_the_unit_reviews_an_application_before_the_recommending_unit_sees_it(world):
    # given a submitted application, then the unit's research office has it and nobody else
    d = _submit(world)
    review = d.task("unit_review")
    assert d.names() == ["unit_review"] and review.candidate_groups == ["unit.hzam"]
    # when the unit approves it, then it goes on to the recommending unit, counted as forwarded
    d.unit_review("approve")
    assert d.names() == ["endorse"]
    assert [e["event"] for e in d.project_history()].count("unit_forwarded") == 1


def test_a_return_by_the_unit_goes_to_the_applicant_and_comes_back_to_the_unit(world):
    d = _submit(world)
    d.unit_review("return", "请补充合作协议 · attach the partnership agreement")
    correction = d.task("correct_application")
    assert correction.assignee == APPLICANT.username and d.data()["corrections"] == 1
    assert "partnership agreement" in d.data()["reason"]
    d.complete("correct_application", APPLICANT, CORRECTION)
    assert d.names() == ["unit_review"]
    d.unit_review("approve")
    assert d.names() == ["endorse"]


def test_a_refusal_by_the_unit_ends_the_application_with_its_reason(world):
    d = _submit(world)
    d.unit_review("refuse", "与本单位主责方向不符 · outside the institute's remit")
    data = d.data()
    assert data["status"] == "not_accepted" and d.state() == "completed"
    assert "outside the institute's remit" in d.project()["outcome_reason"]
    assert "承担单位不同意申报" in data["reason"]


def test_a_unit_over_its_yearly_quota_cannot_forward_and_is_told_the_figures(world):
    # given a unit that may forward one application a year, and one already forwarded
    _set_quota(world, 1)
    first = _submit(world)
    first.unit_review("approve")
    assert first.names() == ["endorse"]
    # when it approves a second one in the same year
    second = _submit(world, APPLICATION | {"title": "另一项申报", "principal_investigator": "王五"})
    second.unit_review("approve")
    # then it is refused with the quota and the count, and never reaches the recommending unit
    data = second.data()
    assert data["status"] == "not_accepted" and second.open() == []
    assert "quota for 2026 (1 applications) is used up: 1 already forwarded" in data["reason"]
    assert "限额 1 项" in data["reason"]


def test_the_quota_counts_each_calendar_year_afresh(world):
    _set_quota(world, 1)
    _submit(world, when=sh(2025, 12, 1)).unit_review("approve")
    later = _submit(world, APPLICATION | {"principal_investigator": "王五", "title": "新年度申报"}, when=sh(2026, 1, 5))
    later.unit_review("approve")
    assert later.names() == ["endorse"]


# --- the task contract: the unit signs after the investigator, before the institution's check -----

DRAFT = {"contract_no": "HZKJ-2026-001", "contract_targets": "完成工艺规范与样件试制", "assessment_indicators": "发明专利 2 项"}


def _establishment(db, when=sh(2026, 4, 1, 10)) -> Driver:  # type: ignore[no-untyped-def]
    project_id = make_project(db, status="established")
    d = Driver(db, when)
    d.start("establishment", stage_data(project_id), SUPERVISOR)
    d.complete("draft_contract", STAFF, DRAFT)
    return d


def test_the_unit_signs_the_contract_after_the_investigator_and_before_the_institutions_check(world):
    d = _establishment(world)
    # given the investigator's signature, then the unit's office signs next and the institution waits
    assert d.names() == ["sign_contract"]
    d.complete("sign_contract", APPLICANT, {"contract_signed": True, "signatory": "张伟"})
    assert d.names() == ["unit_sign_contract"]
    assert d.task("unit_sign_contract").candidate_groups == ["unit.hzam"]
    # when the unit signs, then the institution checks it
    d.complete("unit_sign_contract", UNIT, {"unit_sign_decision": "sign", "unit_signatory": "周处长"})
    assert d.names() == ["check_contract"] and d.data()["unit_signatory"] == "周处长"


def test_a_unit_returning_the_contract_sends_it_back_to_the_investigator_with_a_fresh_deadline(world):
    d = _establishment(world)
    d.at_time(sh(2026, 4, 14, 10)).complete("sign_contract", APPLICANT, {"contract_signed": True, "signatory": "张伟"})
    # a return needs its reason
    with pytest.raises(InvalidData) as refused:
        d.complete("unit_sign_contract", UNIT, {"unit_sign_decision": "return"})
    assert "unit_sign_comment" in refused.value.fields
    d.at_time(sh(2026, 4, 15, 10)).complete("unit_sign_contract", UNIT, {"unit_sign_decision": "return",
                                                                         "unit_sign_comment": "签字页缺页 · a page is missing"})
    # 10 working days from 15 April: 29 April, not the first deadline of 16 April
    assert d.task("sign_contract").due_at == sh(2026, 4, 29, 10)
    assert d.advance_to(sh(2026, 4, 16, 10, 1)) == [] and d.names() == ["sign_contract"]


def test_someone_outside_the_unit_cannot_sign_for_it(world):
    d = _establishment(world)
    d.complete("sign_contract", APPLICANT, {"contract_signed": True, "signatory": "张伟"})
    with pytest.raises(Forbidden):
        d.complete("unit_sign_contract", Actor("other.unit", frozenset({"unit.zjut"})),
                   {"unit_sign_decision": "sign", "unit_signatory": "他人"})
    assert d.names() == ["unit_sign_contract"]


# --- in execution: annual reports, the overdue report, the change of unit --------------------------

REPORT = {"report_progress": "完成了年度计划的全部实验内容", "report_completion": 40, "report_spending": 30}
PARTNER_UNIT = Actor("qian.unit", frozenset({"unit.zjut"}))
PARTNER_RECOMMENDER = Actor("sun.rec", frozenset({"recommender.zjut"}))


def _in_execution(db, months: int = 36) -> Driver:  # type: ignore[no-untyped-def]
    project_id = make_project(db, start="2026-01-05", months=months)
    d = Driver(db, sh(2026, 1, 5, 10))
    d.start("in_process_management", stage_data(project_id), SUPERVISOR)
    return d


def test_the_unit_confirms_the_annual_report_before_the_institution_sees_it(world):
    # given the first anniversary's report, filed by the investigator
    d = _in_execution(world)
    d.advance_to(sh(2027, 1, 5, 9, 1))
    d.complete("annual_report", APPLICANT, REPORT)
    # then the unit's office has it, not the institution
    assert d.task("unit_confirm_report").candidate_groups == ["unit.hzam"]
    assert "annual_review" not in d.names()
    # when the unit returns it with a reason, then it is the investigator's again
    d.complete("unit_confirm_report", UNIT, {"unit_report_confirmation": "return",
                                             "unit_report_comment": "经费支出数据需与财务账核对 · reconcile the spending"})
    assert d.task("annual_report").assignee == APPLICANT.username
    # and once filed again and confirmed, the institution reviews it
    d.complete("annual_report", APPLICANT, REPORT)
    d.complete("unit_confirm_report", UNIT, {"unit_report_confirmation": "confirm"})
    assert d.task("annual_review").candidate_groups == ["institution_staff"]


def test_an_overdue_annual_report_is_reminded_then_escalated_then_counts_on_the_credit_record(world):
    from engine.core.calendar import add_working_days
    from engine.lifecycle import credit
    d = _in_execution(world)
    d.advance_to(sh(2027, 1, 5, 9, 1))
    report = d.task("annual_report")
    opened, due = report.created_at, report.due_at
    assert due == add_working_days(opened, 15)
    # a reminder three working days before the due date
    d.advance_to(add_working_days(due, -3) + timedelta(minutes=1))
    assert _audited(world, "task_reminded", report.id)
    # five working days overdue: escalated to the supervisors, the investigator may still file it
    d.advance_to(add_working_days(due, 5) + timedelta(minutes=1))
    escalated = d.task("annual_report")
    assert escalated.escalation_level == 2 and "supervisors" in escalated.candidate_groups
    assert _audited(world, "task_escalated", report.id)
    assert commands.query(world, credit.history, ["张伟"], []) == []
    # twenty working days overdue: on the investigator's and the organisation's credit records
    d.advance_to(add_working_days(opened, 35) + timedelta(minutes=1))
    records = commands.query(world, credit.history, ["张伟"], [APPLICATION["organisation"]])
    assert {(r.subject_type, r.kind) for r in records} == {("person", "annual_report_overdue"),
                                                         ("organisation", "annual_report_overdue")}
    assert "2027-01-05" in records[0].note
    # and the report is still open for the investigator
    assert "annual_report" in d.names()
    d.complete("annual_report", APPLICANT, REPORT)
    assert "unit_confirm_report" in d.names()


def _audited(db, action: str, task_id: str) -> bool:  # type: ignore[no-untyped-def]
    """Did the scheduler take this reminder or escalation step on the task (its history)?"""
    from engine.core.models import HumanTask
    from engine.scheduling import escalation
    steps = commands.query(db, lambda s: escalation.history(s, s.get(HumanTask, task_id)))["history"]
    return action in [step["action"] for step in steps]


def _change(d: Driver, kind: str, **fields) -> None:  # type: ignore[no-untyped-def]
    d.complete("change_request", APPLICANT, {"change_kind": kind, "change_description": "变更说明：" + kind,
                                             "change_reason": "工作需要，确需变更"} | fields)


def _approve(d: Driver, task: str, actor: Actor) -> None:
    d.complete(task, actor, {"change_decision": "approve", "change_comment": "同意"})


def test_an_approved_change_of_unit_routes_what_follows_to_the_new_unit(world):
    from tests.lifecycle.world import BUREAU, PARTNER, RECOMMENDER
    d = _in_execution(world)
    # given a change of undertaking unit, reviewed by the old recommending unit, the institution and the bureau
    _change(d, "organisation", change_value=PARTNER)
    _approve(d, "change_recommender_review", RECOMMENDER)
    _approve(d, "change_institution_review", STAFF)
    _approve(d, "change_bureau_decision", BUREAU)
    assert d.project()["organisation"] == PARTNER
    # then a later general change goes to the new unit's office
    _change(d, "team_members", change_value="增加成员赵六")
    assert d.task("change_unit_review").candidate_groups == ["unit.zjut"]
    _approve(d, "change_unit_review", PARTNER_UNIT)
    # and a later major change to the new unit's recommending unit
    _change(d, "targets")
    assert d.task("change_recommender_review").candidate_groups == ["recommender.zjut"]
    _approve(d, "change_recommender_review", PARTNER_RECOMMENDER)
    # and the next annual report is confirmed by the new unit, not the old one
    d.advance_to(sh(2027, 1, 5, 9, 1))
    d.complete("annual_report", APPLICANT, REPORT)
    assert d.task("unit_confirm_report").candidate_groups == ["unit.zjut"]
    with pytest.raises(Forbidden):
        d.complete("unit_confirm_report", UNIT, {"unit_report_confirmation": "confirm"})
    d.complete("unit_confirm_report", PARTNER_UNIT, {"unit_report_confirmation": "confirm"})
    assert d.data()["unit_group"] == "unit.zjut" and d.data()["recommender_group"] == "recommender.zjut"


def test_a_change_to_an_unregistered_unit_is_refused_at_once(world):
    d = _in_execution(world)
    _change(d, "organisation", change_value="未注册的公司")
    assert d.names() == ["change_request"] and d.project()["organisation"] == APPLICATION["organisation"]


def test_the_unit_confirms_the_acceptance_application_before_the_audit(world):
    project_id = make_project(world, start="2025-07-07", months=12, status="awaiting_acceptance")
    d = Driver(world, sh(2026, 7, 10))
    d.start("acceptance", stage_data(project_id), SUPERVISOR)
    apply = {"acceptance_summary": "全面完成任务书规定的研究内容", "completion_rate_claimed": 100, "outputs": "专利 2 项",
             "funds_spent_total": 110}
    d.complete("apply_acceptance", APPLICANT, apply)
    # then the unit's office confirms it first; a return sends it back to the investigator
    assert d.names() == ["unit_confirm_acceptance"]
    assert d.task("unit_confirm_acceptance").candidate_groups == ["unit.hzam"]
    d.complete("unit_confirm_acceptance", UNIT, {"unit_acceptance_confirmation": "return",
                                                 "unit_acceptance_comment": "成果清单需附证明 · attach the proofs"})
    assert d.names() == ["apply_acceptance"]
    d.complete("apply_acceptance", APPLICANT, apply)
    d.complete("unit_confirm_acceptance", UNIT, {"unit_acceptance_confirmation": "confirm"})
    # then the institution's formal check of the materials, then the audit
    d.complete("materials_check", STAFF, {"materials_check": "complete"})
    assert d.task("financial_audit").candidate_groups == ["auditors"]


def test_the_bureau_sets_a_units_quota_from_the_command_line(world, runner):
    # when the bureau gives the institute a quota of 1, then the second approval of the year is refused
    result = runner.invoke(args=["organisations", "quota", "hzam", "1"])
    assert result.exit_code == 0 and "hzam (杭州先进材料研究院): 1 a year" in result.output
    _submit(world).unit_review("approve")
    second = _submit(world, APPLICATION | {"principal_investigator": "王五"})
    second.unit_review("approve")
    assert second.data()["status"] == "not_accepted"
    # and lifting it lets the unit forward again; a bad quota or an unknown unit is refused
    assert "no limit" in runner.invoke(args=["organisations", "quota", "hzam", "none"]).output
    third = _submit(world, APPLICATION | {"principal_investigator": "赵六"})
    third.unit_review("approve")
    assert third.names() == ["endorse"]
    assert runner.invoke(args=["organisations", "quota", "hzam", "-3"]).exit_code != 0
    assert runner.invoke(args=["organisations", "quota", "nowhere", "5"]).exit_code != 0
