"""acceptance, started on its own for a project whose period is over: apply within 6 months (a
reminder, an overdue mark, failure after 12 months), financial audit, the expert group's review with
its veto items and score, one rectification within 3 months, pass or fail on the credit record."""
from __future__ import annotations

import pytest

from engine.core import commands
from engine.lifecycle import credit
from tests.lifecycle.world import (APPLICANT, APPLICATION, AUDITOR, EXPERT, SUPERVISOR, UNIT, Driver, make_project, sh,
                                   stage_data)

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
    # every member gives an opinion, then the chair concludes for the group
    d.members_give_opinions("member_opinion", ["pass"] * 5, [score] * 5)
    row = d.task("acceptance_review")
    d.complete("acceptance_review", EXPERT(row.assignee),
               {"completion_rate": 95, "acceptance_score": score, "acceptance_opinion": OPINION} | veto)
    return row.assignee


def _applied_and_audited(d: Driver, audit: dict | None = None) -> None:  # type: ignore[type-arg]
    d.complete("apply_acceptance", APPLICANT, APPLY)
    d.complete("unit_confirm_acceptance", UNIT, {"unit_acceptance_confirmation": "confirm"})
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
    ({"completion_rate": 70}, None, "under 80% of the tasks done"),
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
    assert d.data()["status"] == "passed"
