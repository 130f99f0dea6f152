"""Panels where every member acts (acceptance and performance evaluation): each drawn member gets
a task of their own, blind to the others; panel_validity.dmn judges the opinions (at least 3 valid,
2/3 agreeing on the conclusion); a valid panel's chair concludes seeing every member's opinion and
score; an invalid one is drawn again or goes to the institution with the reason."""
from __future__ import annotations

from engine.core import commands
from engine.lifecycle import expert_pool
from engine.runtime import access, instances, tasks
from engine.workspace import task_page
from tests.lifecycle.world import (APPLICANT, AUDITOR, BUREAU, EXPERT, STAFF, SUPERVISOR, UNIT, Driver, make_project, sh,
                                   stage_data)

APPLY = {"acceptance_summary": "全面完成任务书规定的研究内容", "completion_rate_claimed": 100,
         "outputs": "发明专利 2 项，工艺规范 1 套", "funds_spent_total": 118}
AUDIT = {"audit_opinion": "unqualified", "eligible_spending": 118, "audit_findings": "支出合规"}
CHAIR = {"completion_rate": 95, "acceptance_score": 86, "acceptance_opinion": "专家组认真审阅了验收材料，同意通过验收"}


def _acceptance(db) -> Driver:  # type: ignore[no-untyped-def]
    project_id = make_project(db, start="2026-01-05", months=12, status="awaiting_acceptance")
    d = Driver(db, sh(2027, 1, 5, 9, 0))
    d.start("acceptance", stage_data(project_id), SUPERVISOR)
    d.complete("apply_acceptance", APPLICANT, APPLY)
    d.complete("unit_confirm_acceptance", UNIT, {"unit_acceptance_confirmation": "confirm"})
    d.complete("materials_check", STAFF, {"materials_check": "complete"})
    d.complete("financial_audit", AUDITOR, AUDIT)
    return d


def _evaluation(db) -> Driver:  # type: ignore[no-untyped-def]
    project_id = make_project(db, start="2025-01-06", months=12, status="passed", funding=120.0)
    d = Driver(db, sh(2026, 3, 2))
    d.start("performance_evaluation", stage_data(project_id, approved_funding=120.0), SUPERVISOR)
    d.complete("self_evaluation", APPLICANT, {"self_score": 88, "self_summary": "绩效目标全部完成，成果已在企业应用"})
    return d


def _seated(d: Driver) -> list[str]:
    draw_id = d.data()["draw_id"]
    return commands.query(d.db, lambda s: [seat["expert"] for seat in expert_pool.seats(s, draw_id)])


def _view(d: Driver, username: str):  # type: ignore[no-untyped-def]
    def see(session):  # type: ignore[no-untyped-def]
        instance = instances.get(session, d.instance_id)
        view = access.view_of(session, EXPERT(username), instance)
        rows = tasks.open_tasks(session, d.instance_id) + [
            r for r in session.query(tasks.HumanTask).filter_by(process_instance_id=d.instance_id, state="completed")]
        return view.data(instances.data_of(instance)), {r.id: view.task_line(r) for r in rows}
    return commands.query(d.db, see)


def test_an_acceptance_panel_of_5_gives_each_member_a_task_and_the_chair_concludes_seeing_all(world):
    # given a project through its financial audit: a group of 5 is drawn
    d = _acceptance(world)
    rows = d.expert_rows("member_opinion")
    # then each of the 5 drawn members has a task of their own, and the chair has none yet
    assert len(rows) == 5 and sorted(r.assignee for r in rows) == sorted(_seated(d))
    assert {r.lane for r in rows} == {"experts"} and "acceptance_review" not in d.names()
    # when all 5 give an opinion (4 pass, 1 rectify: 4/5 agree), the chair's task opens
    d.members_give_opinions("member_opinion", ["pass", "pass", "rectify", "pass", "pass"], [88, 84, 70, 90, 86])
    chair = d.task("acceptance_review")
    assert chair.assignee == _seated(d)[0]
    # and the chair's form shows every member's score, proposed conclusion and opinion, without names
    shown = commands.query(world, lambda s: task_page.task_view(s, EXPERT(chair.assignee), chair.id).values)
    opinions = shown["panel_opinions"]
    assert sorted(o["score"] for o in opinions) == [70, 84, 86, 88, 90] and len(opinions) == 5
    assert all(o["opinion"] for o in opinions) and sorted(o["member"] for o in opinions) == [1, 2, 3, 4, 5]
    assert not any(name in str(opinions) for name in _seated(d))
    # when the chair concludes, the lifecycle's outputs are as before
    d.complete("acceptance_review", EXPERT(chair.assignee), CHAIR)
    d.complete("bureau_confirm_acceptance", BUREAU, {"bureau_acceptance_confirmed": True})
    assert d.data()["status"] == "passed" and d.data()["panel_valid"] is True


def test_a_member_cannot_see_another_members_opinion_before_or_after_submitting(world):
    d = _acceptance(world)
    first, second = d.expert_rows("member_opinion")[:2]
    # when the first member submits
    d.complete_row(first, EXPERT(first.assignee), {"member_score": 91, "member_conclusion": "pass",
                                                   "member_opinion": "非常好的验收材料 · excellent material"})
    # then the second, still working, sees neither the first's task nor its opinion and score
    data, lines = _view(d, second.assignee)
    assert lines[first.id] is None
    assert not {"member_score", "member_opinion", "seats", "seat", "panel"} & set(data)
    assert data.get("panel_opinions") in (None, [])
    # and the first, having submitted, does not see the second's work either
    d.complete_row(second, EXPERT(second.assignee), {"member_score": 60, "member_conclusion": "rectify",
                                                     "member_opinion": "需要补充测试报告 · a test report is missing"})
    data, lines = _view(d, first.assignee)
    assert lines[second.id] is None and "非常好" not in str(data) and "补充测试" not in str(data)


def test_the_gathered_opinions_reach_the_chair_alone_among_experts_and_never_the_applicant(world):
    d = _acceptance(world)
    d.members_give_opinions("member_opinion", ["pass"] * 5)
    chair = d.task("acceptance_review").assignee
    member = next(name for name in _seated(d) if name != chair)
    assert len(_view(d, chair)[0]["panel_opinions"]) == 5
    assert "panel_opinions" not in _view(d, member)[0]
    applicant_sees = commands.query(world, lambda s: access.view_of(
        s, APPLICANT, instances.get(s, d.instance_id)).data(instances.data_of(instances.get(s, d.instance_id))))
    assert "panel_opinions" not in applicant_sees and "member_opinion" not in applicant_sees


def test_a_divided_panel_goes_to_the_institution_with_the_reason_and_may_be_drawn_again(world):
    d = _acceptance(world)
    first_round = set(_seated(d))
    # when the members are divided: 2 pass, 2 fail, 1 rectify (2/5 agree, under 2/3)
    d.members_give_opinions("member_opinion", ["pass", "pass", "fail", "fail", "rectify"])
    # then the panel is not valid: institution staff get a task with the reason; no chair's task
    assert d.names() == ["panel_invalid"] and d.data()["panel_valid"] is False
    assert "two thirds" in d.data()["panel_reason"]
    task = d.task("panel_invalid")
    assert task.candidate_groups == ["institution_staff"]
    # when they decide to draw again, 5 fresh members get tasks
    d.complete("panel_invalid", STAFF, {"panel_decision": "redraw", "panel_decision_note": "意见分歧，重新抽取"})
    again = d.expert_rows("member_opinion")
    assert len(again) == 5 and not {r.assignee for r in again} & first_round and d.data()["panel_round"] == 2


def test_too_few_valid_opinions_draws_again_then_goes_to_the_institution(world):
    d = _acceptance(world)
    first_round = {r.assignee for r in d.expert_rows("member_opinion")}
    # when nobody answers: every seat times out, the 2 backups step in and time out too
    d.advance_to(sh(2027, 1, 27, 9, 1))
    assert len(d.expert_rows("member_opinion")) == 2
    d.advance_to(sh(2027, 2, 18, 9, 1))
    # then with no valid opinion the DMN draws again (round 2), fresh experts
    second_round = {r.assignee for r in d.expert_rows("member_opinion")}
    assert d.data()["panel_round"] == 2 and len(second_round) == 5 and not second_round & first_round
    # when only 2 of them answer and the rest time out, it goes to the institution with the reason
    d.members_give_opinions("member_opinion", ["pass", "pass"])
    d.advance_to(sh(2027, 3, 12, 9, 1))
    d.advance_to(sh(2027, 4, 5, 9, 1))
    assert d.names() == ["panel_invalid"] and "fewer than 3 valid opinions" in d.data()["panel_reason"]
    # and the institution may let the chair conclude from the opinions there are
    d.complete("panel_invalid", STAFF, {"panel_decision": "chair", "panel_decision_note": "两位专家意见一致"})
    chair = d.task("acceptance_review")
    d.complete("acceptance_review", EXPERT(chair.assignee), CHAIR)
    d.complete("bureau_confirm_acceptance", BUREAU, {"bureau_acceptance_confirmed": True})
    assert d.data()["status"] == "passed"


def test_a_performance_evaluation_group_of_3_evaluates_member_by_member_and_the_chair_concludes(world):
    d = _evaluation(world)
    rows = d.expert_rows("eval_member_opinion")
    assert len(rows) == 3 and sorted(r.assignee for r in rows) == sorted(_seated(d))
    d.members_give_opinions("eval_member_opinion", ["good", "good", "excellent"], [84, 86, 91])
    chair = d.task("expert_evaluation")
    shown = commands.query(world, lambda s: task_page.task_view(s, EXPERT(chair.assignee), chair.id).values)
    assert sorted(o["score"] for o in shown["panel_opinions"]) == [84, 86, 91]
    d.complete("expert_evaluation", EXPERT(chair.assignee), {"evaluation_score": 86,
                                                             "evaluation_report": "评价意见：目标完成情况良好"})
    assert d.data()["rating"] == "good" and d.data()["status"] == "evaluated"


def test_a_divided_performance_group_goes_to_the_institution(world):
    d = _evaluation(world)
    d.members_give_opinions("eval_member_opinion", ["excellent", "good", "fail"])
    assert d.names() == ["group_invalid"] and "two thirds" in d.data()["panel_reason"]
    d.complete("group_invalid", STAFF, {"panel_decision": "chair", "panel_decision_note": "召开会议后由组长汇总"})
    assert d.names() == ["expert_evaluation"]
