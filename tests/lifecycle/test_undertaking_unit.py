"""The undertaking unit (承担单位) as an actor: it reviews its own applications before the
recommending unit (approve within its yearly quota, return, refuse), signs the task contract
after the investigator, confirms annual reports, and an approved change of organisation moves
the project's later requests to the new unit."""
from __future__ import annotations

from engine.core import commands
from engine.lifecycle import organisations
from tests.lifecycle.world import APPLICANT, APPLICATION, UNIT, Driver, sh

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
