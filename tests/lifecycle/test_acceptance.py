"""acceptance, started on its own for a project whose period is over: apply within 6 months (a
reminder, an overdue mark, failure after 12 months), financial audit, the expert group's review with
its veto items and score, one rectification within 3 months, pass or fail on the credit record."""
from __future__ import annotations

import subprocess
from datetime import date

import pytest

from engine.core import commands
from engine.core.errors import Forbidden, InvalidData, NotFound
from engine.core.principals import Actor
from engine.lifecycle import credit, funds, projects
from engine.workspace import project_documents
from tests.lifecycle.world import (APPLICANT, APPLICATION, AUDITOR, BUREAU, EXPERT, STAFF, SUPERVISOR, UNIT, Driver,
                                   make_project, sh, stage_data)

APPLY = {"acceptance_summary": "全面完成任务书规定的研究内容", "completion_rate_claimed": 100,
         "outputs": "发明专利 2 项，工艺规范 1 套", "funds_spent_total": 118}
AUDIT = {"audit_opinion": "unqualified", "eligible_spending": 118, "audit_findings": "支出合规"}
OPINION = "专家组认真审阅了验收材料，形成意见如下"


def _start(db) -> Driver:  # type: ignore[no-untyped-def]
    # a 12-month project from 5 January 2026: it ended on 4 January 2027
    project_id = make_project(db, start="2026-01-05", months=12, status="awaiting_acceptance")
    d = Driver(db, sh(2027, 1, 5, 9, 0))
    d.start("acceptance", stage_data(project_id), SUPERVISOR)
    return d


def _review(d: Driver, score: float, **veto) -> str:  # type: ignore[no-untyped-def]
    # every member gives an opinion, then the chair concludes for the group; a final conclusion
    # takes effect once the bureau confirms it
    d.members_give_opinions("member_opinion", ["pass"] * 5, [score] * 5)
    row = d.task("acceptance_review")
    d.complete("acceptance_review", EXPERT(row.assignee),
               {"completion_rate": 95, "acceptance_score": score, "acceptance_opinion": OPINION} | veto)
    if "bureau_confirm_acceptance" in d.names():
        d.complete("bureau_confirm_acceptance", BUREAU, {"bureau_acceptance_confirmed": True})
    return row.assignee


def _applied_and_audited(d: Driver, audit: dict | None = None) -> None:  # type: ignore[type-arg]
    d.complete("apply_acceptance", APPLICANT, APPLY)
    d.complete("unit_confirm_acceptance", UNIT, {"unit_acceptance_confirmation": "confirm"})
    d.complete("materials_check", STAFF, {"materials_check": "complete"})
    d.complete("financial_audit", AUDITOR, audit or AUDIT)


def _credit_kinds(db) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(r.subject_type, r.kind) for r in commands.query(db, credit.history, ["张伟"], [APPLICATION["organisation"]])}


def test_a_project_that_scores_80_or_more_passes_and_it_is_on_the_credit_record(world):
    d = _start(world)
    apply = d.task("apply_acceptance")
    assert apply.assignee == APPLICANT.username and apply.due_at == sh(2027, 7, 4, 9, 0)
    _applied_and_audited(d)
    assert len(d.expert_rows("member_opinion")) == 5
    _review(d, 85)
    assert d.data()["status"] == "passed" and d.project()["status"] == "passed" and d.state() == "completed"
    assert _credit_kinds(world) == {("person", "acceptance_passed"), ("organisation", "acceptance_passed")}


@pytest.mark.parametrize("veto, audit, reason", [
    ({"completion_rate": 50}, None, "under 60% of the tasks done"),
    ({"false_data": True}, None, "false data"),
    ({"unauthorised_changes": True}, None, "unauthorised changes"),
    ({}, AUDIT | {"audit_opinion": "adverse"}, "adverse audit opinion"),
])
def test_a_veto_item_fails_the_project_whatever_its_score(world, veto, audit, reason):
    d = _start(world)
    _applied_and_audited(d, audit)
    _review(d, 95, **veto)
    assert d.data()["status"] == "failed" and reason in d.project()["outcome_reason"]
    assert ("person", "acceptance_failed") in _credit_kinds(world)


def test_a_middling_score_is_rectified_once_within_three_months_then_passes(world):
    d = _start(world)
    d.at_time(sh(2027, 2, 1, 10))  # the members' 15 working days run from here
    _applied_and_audited(d)
    chair = _review(d, 72)
    rectify = d.task("acceptance_rectification")
    assert rectify.assignee == APPLICANT.username and rectify.due_at == sh(2027, 5, 1, 10)
    d.complete("acceptance_rectification", APPLICANT, {"acceptance_rectification_measures": "补充了测试报告与用户证明",
                                                       "acceptance_rectification_done": True})
    assert _review(d, 84) == chair  # the same group reviews again
    assert d.data()["status"] == "passed"


def test_a_second_middling_score_fails(world):
    d = _start(world)
    _applied_and_audited(d)
    _review(d, 72)
    d.complete("acceptance_rectification", APPLICANT, {"acceptance_rectification_measures": "补充了测试报告与用户证明",
                                                       "acceptance_rectification_done": True})
    _review(d, 75)
    assert d.data()["status"] == "failed" and "score is too low" in d.project()["outcome_reason"]


def test_a_rectification_not_made_within_three_months_fails(world):
    d = _start(world)
    d.at_time(sh(2027, 2, 1, 10))  # the members' 15 working days run from here
    _applied_and_audited(d)
    _review(d, 65)
    d.advance_to(sh(2027, 5, 1, 10, 1))
    assert d.data()["status"] == "failed" and "within 3 months" in d.project()["outcome_reason"]


def test_reminder_overdue_mark_then_failure_when_nobody_applies(world):
    d = _start(world)
    # a reminder a month before the deadline, the task stays open
    d.advance_to(sh(2027, 6, 4, 9, 1))
    assert d.names() == ["apply_acceptance"]
    # overdue after 6 months: marked, and the investigator may not apply for anything new
    d.advance_to(sh(2027, 7, 4, 9, 1))
    events = [e["event"] for e in d.project_history()]
    assert events[-2:] == ["acceptance_reminder", "acceptance_overdue"] and d.names() == ["apply_acceptance"]
    newcomer = Driver(world, sh(2027, 7, 10))
    newcomer.start("project_lifecycle", APPLICATION | {"title": "新的申报"})
    assert newcomer.data()["status"] == "refused" and "acceptance deadline" in newcomer.data()["reason"]
    # six months overdue: failed, on the credit record
    d.advance_to(sh(2028, 1, 4, 9, 1))
    assert d.data()["status"] == "failed" and d.open() == [] and d.state() == "completed"
    assert ("organisation", "acceptance_failed") in _credit_kinds(world)


def test_an_applicant_who_applies_late_is_still_reviewed(world):
    d = _start(world)
    d.advance_to(sh(2027, 8, 1, 10))
    _applied_and_audited(d)
    _review(d, 90)
    assert d.data()["status"] == "passed" and "acceptance_overdue" in [e["event"] for e in d.project_history()]


def test_a_chair_who_misses_the_deadline_hands_over_to_the_next_drawn_expert(world):
    d = _start(world)
    d.at_time(sh(2027, 1, 6, 10))
    _applied_and_audited(d)
    d.members_give_opinions("member_opinion", ["pass"] * 5)
    first = d.task("acceptance_review").assignee
    d.advance_to(sh(2027, 2, 1, 10))  # 15 working days later
    second = d.task("acceptance_review").assignee
    assert second != first
    d.complete("acceptance_review", EXPERT(second), {"completion_rate": 95, "acceptance_score": 88,
                                                     "acceptance_opinion": OPINION})
    d.complete("bureau_confirm_acceptance", BUREAU, {"bureau_acceptance_confirmed": True})
    assert d.data()["status"] == "passed"


def _pdf_text(data: bytes, tmp_path) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "certificate.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_incomplete_materials_go_back_to_the_investigator_before_the_audit(world):
    # given an application the unit confirmed
    d = _start(world)
    d.complete("apply_acceptance", APPLICANT, APPLY)
    d.complete("unit_confirm_acceptance", UNIT, {"unit_acceptance_confirmation": "confirm"})
    row = d.task("materials_check")
    assert row.candidate_groups == ["institution_staff"]
    # when the institution returns the materials, naming what is missing
    d.complete("materials_check", STAFF, {"materials_check": "returned", "materials_check_comment": "缺少用户使用证明"})
    # then the investigator applies again; nothing reached the auditors
    assert d.names() == ["apply_acceptance"]
    d.complete("apply_acceptance", APPLICANT, APPLY)
    d.complete("unit_confirm_acceptance", UNIT, {"unit_acceptance_confirmation": "confirm"})
    d.complete("materials_check", STAFF, {"materials_check": "complete"})
    assert d.names() == ["financial_audit"]


def test_returning_the_materials_without_saying_what_is_missing_is_refused(world):
    d = _start(world)
    d.complete("apply_acceptance", APPLICANT, APPLY)
    d.complete("unit_confirm_acceptance", UNIT, {"unit_acceptance_confirmation": "confirm"})
    with pytest.raises(InvalidData) as refused:
        d.complete("materials_check", STAFF, {"materials_check": "returned"})
    assert "materials_check_comment" in refused.value.fields
    assert d.names() == ["materials_check"]


def test_the_conclusion_waits_for_the_bureau_and_a_pass_gets_a_certificate(world, tmp_path):
    # given a group's pass
    d = _start(world)
    _applied_and_audited(d)
    d.members_give_opinions("member_opinion", ["pass"] * 5, [88] * 5)
    row = d.task("acceptance_review")
    d.complete("acceptance_review", EXPERT(row.assignee),
               {"completion_rate": 96, "acceptance_score": 88, "acceptance_opinion": OPINION})
    # then nothing is final until the bureau confirms: no certificate yet
    assert d.names() == ["bureau_confirm_acceptance"] and d.project()["status"] == "awaiting_acceptance"
    assert d.task("bureau_confirm_acceptance").candidate_groups == ["bureau_staff"]
    assert commands.query(world, project_documents.available, APPLICANT, d.instance_id)["certificate"] is False
    with pytest.raises(NotFound):
        commands.query(world, project_documents.certificate, APPLICANT, d.instance_id)
    # when the bureau confirms
    d.at_time(sh(2027, 3, 1, 10))
    d.complete("bureau_confirm_acceptance", BUREAU, {"bureau_acceptance_confirmed": True})
    # then the project passed and its people and the staff may download the certificate
    assert d.project()["status"] == "passed" and d.state() == "completed"
    assert commands.query(world, project_documents.available, APPLICANT, d.instance_id)["certificate"] is True
    pdf = commands.query(world, project_documents.certificate, APPLICANT, d.instance_id)
    assert pdf.filename.endswith(".pdf") and pdf.content.startswith(b"%PDF")
    text = _pdf_text(pdf.content, tmp_path)
    for expected in ("科技计划项目验收证书", "高熵合金激光增材制造工艺研究", "杭州先进材料研究院", "张伟",
                     "验收通过", "120.00", "118.00", "2027-03-01"):
        assert expected in text, expected
    assert commands.query(world, project_documents.certificate, STAFF, d.instance_id).content.startswith(b"%PDF")
    # an unrelated applicant may not
    with pytest.raises(Forbidden):
        commands.query(world, project_documents.certificate, Actor("li.na", frozenset({"applicants"})), d.instance_id)


def test_tasks_partly_met_without_fraud_close_the_project_out_with_a_certificate(world, tmp_path):
    # given 70% of the tasks done, no veto item
    d = _start(world)
    _applied_and_audited(d)
    _review(d, 85, completion_rate=70)
    # then the project is closed out (结题): not a failure, nobody is barred
    assert d.data()["status"] == "closed_out" and d.project()["status"] == "closed_out"
    assert "closed out" in d.project()["outcome_reason"]
    kinds = _credit_kinds(world)
    assert ("person", "acceptance_closed_out") in kinds and ("person", "acceptance_failed") not in kinds
    assert commands.query(world, lambda s: credit.restrictions(s, "person", "张伟", date(2027, 6, 1))) == []
    text = _pdf_text(commands.query(world, project_documents.certificate, APPLICANT, d.instance_id).content, tmp_path)
    assert "结题" in text and "高熵合金激光增材制造工艺研究" in text


def test_a_failed_acceptance_recovers_the_funds_to_repayment_and_bars_the_investigator(world):
    # given 72 of 120 released, 60 spent, an adverse audit that found 50 eligible
    d = _start(world)
    project_id = d.data()["project_id"]
    commands.execute(world, projects.release_funding, project_id, 0.6)
    d.complete("apply_acceptance", APPLICANT, APPLY | {"funds_spent_total": 60})
    d.complete("unit_confirm_acceptance", UNIT, {"unit_acceptance_confirmation": "confirm"})
    d.complete("materials_check", STAFF, {"materials_check": "complete"})
    d.complete("financial_audit", AUDITOR, {"audit_opinion": "adverse", "eligible_spending": 50,
                                            "audit_findings": "10 万元支出不合规"})
    # when the group concludes and the bureau confirms the fail
    _review(d, 90)
    # then 22 is to be recovered (72 - 50), tracked until it is repaid, and the investigator is barred
    assert d.project()["status"] == "failed" and "adverse audit opinion" in d.project()["outcome_reason"]
    summary = commands.query(world, funds.summary, project_id)
    assert summary["recovery_due"] == 22.0 and summary["to_recover"] == 22.0
    assert d.names() == ["record_acceptance_repayment"] and d.state() == "running"
    assert commands.query(world, project_documents.available, APPLICANT, d.instance_id)["recovery_notice"] is True
    assert commands.query(world, project_documents.available, APPLICANT, d.instance_id)["certificate"] is False
    restrictions = commands.query(world, lambda s: credit.restrictions(s, "person", "张伟", date(2027, 6, 1)))
    assert [r.kind for r in restrictions] == ["acceptance_failed"]
    d.complete("record_acceptance_repayment", STAFF, {"repaid_amount": 22, "repaid_on": "2027-04-01",
                                                      "repayment_reference": "HK-9"})
    assert d.state() == "completed" and commands.query(world, funds.summary, project_id)["to_recover"] == 0.0
