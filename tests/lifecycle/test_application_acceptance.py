"""application_acceptance, driven through project_lifecycle: the submission gate, the recommending
unit, the formal review with integrity, credit and duplicates in view, corrections and their limit
and deadline (across National Day 2025), acceptance and rejection with a reason."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.core import commands
from engine.lifecycle import credit, integrity, projects
from engine.core.calendar import working_days_between
from engine.core.errors import InvalidData
from tests.lifecycle.world import (APPLICANT, APPLICATION, ORG, RECOMMENDER, Driver, make_project, sh)

CORRECTION = {"title": "高熵合金激光增材制造工艺规范研究", "budget": 100, "correction_note": "补充了伦理审查材料",
              "abstract": "研究高熵合金激光增材制造的组织调控与性能优化，并补充伦理与安全审查。"}


def _submit(db, when=sh(2026, 3, 2), data=None) -> Driver:  # type: ignore[no-untyped-def]
    driver = Driver(db, when)
    driver.start("project_lifecycle", data or APPLICATION)
    return driver


def _registered(db) -> int:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: s.scalar(select(func.count()).select_from(projects.Project)))


def test_an_endorsed_and_accepted_application_moves_on_to_the_expert_review(world):
    # given a submitted application, when its own unit approves it, the recommending unit endorses
    # it and the institution accepts it
    d = _submit(world)
    assert d.task("unit_review").candidate_groups == ["unit.hzam"]
    d.unit_review()
    assert d.task("endorse").candidate_groups == ["recommender.binjiang"]
    d.endorse()
    review = d.task("formal_review")
    assert review.candidate_groups == ["institution_staff"] and working_days_between(review.created_at, review.due_at) == 5
    d.formal_review("accept")
    # then the register says under review and experts are invited
    assert d.project()["status"] == "under_review" and d.data()["corrections"] == 0
    assert d.names() == ["invitation"] * 5


@pytest.mark.parametrize("penalised", ["person", "organisation"])
def test_submission_is_refused_while_the_investigator_or_organisation_is_in_a_penalty_period(world, penalised):
    # given an integrity entry covering today
    name = "张伟" if penalised == "person" else ORG
    commands.execute(world, integrity.add, "officer", {
        "subject_type": penalised, "subject_name": name, "grade": "serious", "reason": "抄袭他人成果",
        "penalty_start": "2025-01-01", "penalty_end": "2027-12-31"})
    # when the application is submitted, then it is refused at once, with the reason, and not registered
    d = _submit(world)
    data = d.data()
    assert d.state() == "completed" and data["status"] == "refused"
    assert "penalty period" in data["reason"] and _registered(world) == 0


def test_submission_is_refused_while_the_investigator_leads_two_open_projects(world):
    make_project(world, start="2025-01-06")
    make_project(world, start="2025-06-02", title="另一个在研项目")
    d = _submit(world)
    assert d.data()["status"] == "refused" and "2 open projects" in d.data()["reason"]


def test_one_open_project_does_not_block_a_new_application(world):
    make_project(world, start="2025-01-06")
    assert _submit(world).names() == ["unit_review"]


def test_submission_is_refused_while_a_project_is_past_its_acceptance_deadline(world):
    # given a project that ended in 2025-06 and was never accepted (due 6 months later)
    make_project(world, start="2024-07-01", months=12, status="awaiting_acceptance")
    d = _submit(world, sh(2026, 1, 5))
    assert d.data()["status"] == "refused" and "past its acceptance deadline" in d.data()["reason"]


def test_an_unregistered_organisation_is_refused(world):
    d = _submit(world, data=APPLICATION | {"organisation": "不存在的公司"})
    assert d.data()["status"] == "refused" and "not registered" in d.data()["reason"]


def test_an_incomplete_application_is_refused_by_its_form_and_nothing_starts(world):
    with pytest.raises(InvalidData) as refused:
        _submit(world, data={k: v for k, v in APPLICATION.items() if k not in ("abstract", "integrity_pledge")})
    assert {"abstract", "integrity_pledge"} <= set(refused.value.fields)
    assert _registered(world) == 0


def test_the_recommending_unit_returns_it_and_the_correction_comes_back_to_the_unit(world):
    d = _submit(world)
    d.endorse("return")
    correction = d.task("correct_application")
    assert correction.assignee == APPLICANT.username
    d.complete("correct_application", APPLICANT, CORRECTION)
    d.endorse("endorse")
    assert d.names() == ["formal_review"]
    assert d.project()["title"] == CORRECTION["title"] and d.project()["budget"] == 100.0


def test_the_recommending_unit_may_refuse_to_endorse(world):
    d = _submit(world)
    d.unit_review()
    d.complete("endorse", RECOMMENDER, {"endorsement": "reject", "endorsement_opinion": "不符合本年度指南方向"})
    assert d.data()["status"] == "not_accepted" and d.project()["status"] == "not_accepted"
    assert "不符合本年度指南方向" in d.project()["outcome_reason"] and d.state() == "completed"


def test_a_return_by_the_institution_comes_back_to_the_institution(world):
    d = _submit(world)
    d.endorse()
    d.formal_review("return", review_comment="预算明细不全 · budget details missing")
    d.complete("correct_application", APPLICANT, CORRECTION)
    assert d.names() == ["formal_review"]
    d.formal_review("accept")
    assert d.project()["status"] == "under_review"


def test_a_third_return_exceeds_the_limit_and_rejects_the_application(world):
    d = _submit(world)
    d.endorse()
    for _ in range(2):
        d.formal_review("return")
        d.complete("correct_application", APPLICANT, CORRECTION)
    d.formal_review("return")
    data = d.data()
    assert data["status"] == "not_accepted" and data["corrections"] == 3 and "more than 2 times" in data["reason"]
    assert d.open() == [] and d.state() == "completed"


def test_a_correction_not_made_within_ten_working_days_lapses_counting_across_national_day(world):
    # given a return on Monday 29 September 2025, just before the National Day holiday (1-8 October)
    d = _submit(world, sh(2025, 9, 26))
    d.endorse()
    d.at_time(sh(2025, 9, 29, 10, 0)).formal_review("return")
    correction = d.task("correct_application")
    # then the 10 working days are 30 Sep, 9, 10, 11 (a make-up Saturday), 13-17 and 20 October
    assert correction.due_at == sh(2025, 10, 20, 10, 0)
    # and nothing happens the evening before, while the deadline lapses the application just after
    assert d.advance_to(sh(2025, 10, 20, 9, 59)) == []
    assert d.names() == ["correct_application"]
    assert d.advance_to(sh(2025, 10, 20, 10, 1)) == [d.instance_id]
    assert d.data()["status"] == "not_accepted" and "not made in time" in d.project()["outcome_reason"]


def test_the_formal_review_due_date_skips_the_national_day_holiday(world):
    # the formal review opens on Tuesday 30 September 2025; 1-8 October are holidays and Saturday
    # 11 October is a make-up working day, so the five working days are 9, 10, 11, 13 and 14 October
    d = _submit(world, sh(2025, 9, 29))
    d.at_time(sh(2025, 9, 30, 15, 0)).endorse()
    assert d.task("formal_review").due_at == sh(2025, 10, 14, 15, 0)


def test_a_rejection_at_the_formal_review_keeps_the_reason(world):
    d = _submit(world)
    d.endorse()
    d.formal_review("reject", review_comment="不属于本计划支持范围 · outside the programme's scope")
    assert d.project()["status"] == "not_accepted" and "outside the programme's scope" in d.data()["reason"]


def test_a_penalty_recorded_after_submission_stops_the_application_at_the_formal_review(world):
    d = _submit(world)
    commands.execute(world, integrity.add, "officer", {
        "subject_type": "person", "subject_name": "张伟", "grade": "general", "reason": "一稿多投",
        "penalty_start": "2026-03-01", "penalty_end": "2027-02-28"})
    d.endorse()
    assert d.data()["status"] == "not_accepted" and "penalty period" in d.project()["outcome_reason"]


def test_a_team_member_in_a_penalty_period_is_shown_to_the_reviewer_but_decides_nothing(world):
    commands.execute(world, integrity.add, "officer", {
        "subject_type": "person", "subject_name": "李强", "grade": "general", "reason": "一稿多投",
        "penalty_start": "2026-01-01", "penalty_end": "2026-12-31"})
    d = _submit(world)
    d.endorse()
    findings = d.data()["integrity"]["findings"]
    assert [(f["subject_name"], f["role"]) for f in findings] == [("李强", "team_member")]
    assert d.names() == ["formal_review"]


def test_the_reviewer_sees_earlier_credit_records(world):
    project_id = make_project(world, start="2022-01-03", status="passed", title="早期项目")
    commands.execute(world, lambda s: credit.record(s, subject_type="person", subject_name="张伟", kind="rating",
                                                    outcome="good", score=85, project_id=project_id,
                                                    project_title="早期项目", source_key="early"))
    d = _submit(world)
    d.endorse()
    assert d.data()["credit"]["count"] == 1 and d.data()["credit"]["records"][0]["outcome"] == "good"


def test_a_likely_duplicate_needs_an_explicit_justified_conclusion_and_is_never_rejected_automatically(world):
    # given an earlier application with the same title and abstract by another organisation
    first = _submit(world)
    first.endorse()
    second = _submit(world, data=APPLICATION | {"principal_investigator": "王五"})
    second.endorse()
    # then the reviewer gets the duplicate review, with the earlier application as the best match
    review = second.task("formal_review_duplicates")
    match = second.data()["similar"]["matches"][0]
    assert match["project_id"] == first.data()["project_id"] and match["score"] == 1.0
    # and cannot conclude without a justification (nothing changes)
    with pytest.raises(InvalidData) as refused:
        second.formal_review("reject", task="formal_review_duplicates", duplicate_conclusion="duplicate")
    assert "duplicate_justification" in refused.value.fields
    assert second.task("formal_review_duplicates").id == review.id
    # and may accept it, with the justification on record
    second.formal_review("accept", task="formal_review_duplicates", duplicate_conclusion="overlap_acceptable",
                         duplicate_justification="研究对象不同，仅背景部分重叠 · different objects, overlapping background")
    assert second.project()["status"] == "under_review"
    assert second.data()["duplicate_conclusion"] == "overlap_acceptable"


def test_a_different_application_goes_to_the_ordinary_formal_review(world):
    _submit(world).endorse()
    other = _submit(world, data=APPLICATION | {
        "title": "茶园土壤湿度传感网络", "principal_investigator": "王五",
        "abstract": "印刷电容式传感器与低功耗广域网络用于山地茶园灌溉调度。"})
    other.endorse()
    assert other.names() == ["formal_review"] and other.data()["similar"]["max_score"] < 0.6


def test_the_register_keeps_the_timeline_of_an_application(world):
    d = _submit(world)
    d.endorse("return")
    d.complete("correct_application", APPLICANT, CORRECTION)
    events = [e["event"] for e in d.project_history()]
    assert [e for e in events if e != "unit_forwarded"][:2] == ["submitted", "corrected"]


def test_a_formal_reviewer_from_another_group_cannot_complete_the_review(world):
    from engine.core.errors import Forbidden
    d = _submit(world)
    d.endorse()
    with pytest.raises(Forbidden):
        d.complete("formal_review", RECOMMENDER, {"decision": "accept", "review_comment": "ok"})
    assert d.names() == ["formal_review"]
