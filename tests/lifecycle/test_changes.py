"""Change requests (engine.changes): major and general kinds, the period rules (once, at most 12
months, at least 60 days before the end), and what an approved change does to the register."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.lifecycle import changes, organisations, projects
from engine.core import clock, commands
from engine.core.calendar import BUREAU_TZ

APPLICATION = {"title": "茶园土壤湿度传感网络", "abstract": "印刷电容式传感器用于山地茶园灌溉调度。",
               "plan_category": "natural_science", "discipline": "agriculture", "organisation": "某研究所",
               "principal_investigator": "王五", "budget": 80, "period_months": 24}


@pytest.fixture
def project_id(db):  # type: ignore[no-untyped-def]
    def create(session):  # type: ignore[no-untyped-def]
        organisations.ensure(session, "mou", "某研究所", "institute")
        organisations.ensure(session, "moudx", "某大学", "university")
        project = projects.register(session, APPLICATION, "wang.wu")
        projects.establish(session, project.id, 80, date(2026, 1, 5))  # ends 2028-01-04
        return project.id
    return commands.execute(db, create)


def _request(db, project_id, kind, on=datetime(2026, 6, 1, 10, tzinfo=BUREAU_TZ), **details):  # type: ignore[no-untyped-def]
    with clock.frozen_at(on):
        return commands.execute(db, lambda s: changes.request(s, project_id, kind, details, "wang.wu").to_dict())


def _approve(db, change_id):  # type: ignore[no-untyped-def]
    commands.execute(db, changes.conclude, change_id, True)


def _facts(db, project_id):  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: projects.get(s, project_id).facts())


@pytest.mark.parametrize("kind, major", [("organisation", True), ("investigator", True), ("period", True),
                                         ("targets", True), ("budget_total", True), ("termination", True),
                                         ("team_members", False)])
def test_each_kind_is_major_or_general(db, project_id, kind, major):
    change = _request(db, project_id, kind, new_value="某大学", new_budget=90, extension_months=6)
    assert change["major"] is major and change["status"] == "requested"


def test_an_approved_extension_moves_the_end_and_the_acceptance_deadline(db, project_id):
    change = _request(db, project_id, "period", extension_months=12)
    _approve(db, change["change_id"])
    facts = _facts(db, project_id)
    assert (facts["end_date"], facts["acceptance_due"], facts["period_months"]) == ("2029-01-04", "2029-07-04", 36)


def test_the_period_may_be_changed_only_once(db, project_id):
    _approve(db, _request(db, project_id, "period", extension_months=3)["change_id"])
    second = _request(db, project_id, "period", extension_months=3)
    assert second["status"] == "refused" and any("only once" in r for r in second["refusals"])


@pytest.mark.parametrize("months", [0, 13, 6.5, None])
def test_an_extension_is_one_to_twelve_whole_months(db, project_id, months):
    change = _request(db, project_id, "period", extension_months=months)
    assert change["status"] == "refused" and any("1 to 12 whole months" in r for r in change["refusals"])


def test_a_period_change_must_be_asked_sixty_days_before_the_end(db, project_id):
    # the period ends on 4 January 2028: 5 November 2027 is 60 days before, 6 November is 59
    assert _request(db, project_id, "period", datetime(2027, 11, 5, 10, tzinfo=BUREAU_TZ),
                    extension_months=3)["status"] == "requested"
    late = _request(db, project_id, "period", datetime(2027, 11, 6, 10, tzinfo=BUREAU_TZ), extension_months=3)
    assert late["status"] == "refused" and any("60 days" in r for r in late["refusals"])


def test_approved_changes_of_investigator_unit_and_budget_reach_the_register(db, project_id):
    requested = _facts(db, project_id)["budget"]
    for kind, details in (("investigator", {"new_value": "赵六"}), ("organisation", {"new_value": "某大学"}),
                          ("budget_total", {"new_budget": 95})):
        _approve(db, _request(db, project_id, kind, **details)["change_id"])
    facts = _facts(db, project_id)
    assert (facts["investigator"], facts["organisation"], facts["approved_funding"]) == ("赵六", "某大学", 95.0)
    # a change of the total budget changes the award, never what was requested
    assert facts["budget"] == requested


def test_a_rejected_change_changes_nothing(db, project_id):
    change = _request(db, project_id, "investigator", new_value="赵六")
    commands.execute(db, changes.review, change["change_id"], "recommender", "reject", "unit.admin", "不同意")
    commands.execute(db, changes.conclude, change["change_id"], False)
    assert _facts(db, project_id)["investigator"] == "王五"
    with pytest.raises(ValueError, match="not awaiting a decision"):
        _approve(db, change["change_id"])


def test_a_change_naming_nobody_is_refused(db, project_id):
    change = _request(db, project_id, "investigator")
    assert change["status"] == "refused" and any("new unit or investigator" in r for r in change["refusals"])


def test_changes_are_only_for_projects_in_progress(db, project_id):
    commands.execute(db, projects.set_status, project_id, "terminated")
    assert _request(db, project_id, "targets")["status"] == "refused"


def test_an_unknown_kind_is_an_error(db, project_id):
    with pytest.raises(ValueError, match="unknown change kind"):
        _request(db, project_id, "rename")


@pytest.mark.parametrize("new_unit, expected", [("未注册公司", "is not registered"), ("某研究所", "already the undertaking unit")])
def test_a_change_of_unit_must_name_another_registered_organisation(db, project_id, new_unit, expected):
    change = _request(db, project_id, "organisation", new_value=new_unit)
    assert change["status"] == "refused" and any(expected in r for r in change["refusals"])
