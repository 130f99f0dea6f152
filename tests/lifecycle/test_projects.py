"""The project register (engine.projects): statuses, the submission gate's project rules, staged
funding and the in-process schedule (yearly reports, mid-term check, end of the period)."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.core import clock, commands
from engine.lifecycle import projects
from engine.core.calendar import BUREAU_TZ
from engine.core.errors import InvalidData

APPLICATION = {"title": "茶园土壤湿度传感网络", "abstract": "印刷电容式传感器用于山地茶园灌溉调度。",
               "plan_category": "natural_science", "discipline": "agriculture", "organisation": "某研究所",
               "principal_investigator": "王五", "budget": 80, "period_months": 36,
               "team": [{"name": "赵六"}, {"name": " "}], "partner_units": [{"name": "某大学"}]}


def _project(db, start: str | None = "2026-01-05", months: int = 36, status: str | None = None) -> int:  # type: ignore[no-untyped-def]
    def create(session):  # type: ignore[no-untyped-def]
        project = projects.register(session, APPLICATION | {"period_months": months}, "wang.wu")
        if start:
            projects.establish(session, project.id, 80, date.fromisoformat(start))
        if status:
            projects.set_status(session, project.id, status)
        return project.id
    return commands.execute(db, create)


def _facts(db, project_id):  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: projects.get(s, project_id).facts())


def test_a_registered_application_keeps_its_team_and_partners_as_names(db):
    facts = _facts(db, _project(db, start=None))
    assert facts["status"] == "submitted" and facts["team"] == ["赵六"] and facts["partners"] == ["某大学"]


def test_an_application_missing_required_facts_is_refused(db):
    with pytest.raises(InvalidData) as refused:
        commands.execute(db, lambda s: projects.register(s, {"title": "x"}, None))
    assert "budget" in refused.value.fields


def test_establishing_fixes_the_period_and_the_acceptance_deadline(db):
    facts = _facts(db, _project(db, "2026-01-05", 36))
    assert (facts["start_date"], facts["end_date"], facts["acceptance_due"]) == ("2026-01-05", "2029-01-04", "2029-07-04")


def test_an_unknown_status_or_fact_is_refused(db):
    project_id = _project(db)
    with pytest.raises(ValueError, match="unknown project status"):
        commands.execute(db, projects.set_status, project_id, "finished")
    with pytest.raises(ValueError, match="not a project fact"):
        commands.execute(db, projects.set_status, project_id, "in_progress", None, {"budget": 1})


def test_two_open_projects_block_the_investigator_and_closed_ones_do_not(db):
    _project(db)
    assert commands.query(db, projects.project_refusals, "王五") == []
    _project(db, "2026-03-02")
    assert len(commands.query(db, projects.project_refusals, "王五")) == 1
    assert commands.query(db, projects.project_refusals, "别人") == []


def test_a_project_past_its_acceptance_deadline_blocks_the_investigator(db):
    _project(db, "2024-01-01", 12, status="awaiting_acceptance")  # acceptance due 2025-06-30
    assert commands.query(db, projects.project_refusals, "王五", date(2025, 6, 30)) == []
    [reason] = commands.query(db, projects.project_refusals, "王五", date(2025, 7, 1))
    assert "past its acceptance deadline" in reason


def test_staged_funding_never_releases_more_than_approved_nor_while_suspended(db):
    project_id = _project(db)
    assert commands.execute(db, projects.release_funding, project_id, 0.6) == 48.0
    assert commands.execute(db, projects.release_funding, project_id, 1.0) == 32.0
    assert commands.execute(db, projects.release_funding, project_id, 1.0) == 0.0
    commands.execute(db, projects.suspend_funding, project_id, True)
    with pytest.raises(ValueError, match="suspended"):
        commands.execute(db, projects.release_funding, project_id, 0.1)
    with pytest.raises(ValueError, match="funding ratio"):
        commands.execute(db, projects.release_funding, project_id, 1.5)


def _schedule(db, project_id):  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: [(m["kind"], m["on"].isoformat()) for m in projects.milestones(projects.get(s, project_id))])


def test_a_three_year_project_has_two_yearly_reports_a_mid_term_check_and_an_end(db):
    assert _schedule(db, _project(db, "2026-01-05", 36)) == [
        ("annual_report", "2027-01-05"), ("midterm", "2027-07-06"), ("annual_report", "2028-01-05"),
        ("end", "2029-01-05")]


def test_a_yearly_report_close_to_the_mid_term_check_is_covered_by_it(db):
    # a 2-year project: the first anniversary falls a day after the mid-term check, which covers it
    assert _schedule(db, _project(db, "2026-01-05", 24)) == [("midterm", "2027-01-04"), ("end", "2028-01-05")]


def test_done_milestones_leave_the_schedule(db):
    project_id = _project(db, "2026-01-05", 36)
    commands.execute(db, projects.milestone_done, project_id, {"kind": "annual_report", "year": 1})
    commands.execute(db, projects.milestone_done, project_id, {"kind": "midterm"})
    assert _schedule(db, project_id) == [("annual_report", "2028-01-05"), ("end", "2029-01-05")]
    nxt = commands.query(db, projects.next_milestone, project_id)
    assert nxt == {"kind": "annual_report", "year": 2, "on": "2028-01-05", "at": "2028-01-05T09:00:00+08:00"}


def test_the_rank_in_batch_compares_the_same_category_in_the_same_year(db):
    ids = [_project(db, start=None) for _ in range(3)]
    for project_id, score in zip(ids, (80, 91, 85)):
        commands.execute(db, projects.set_status, project_id, "under_review", None, {"score": score})
    assert commands.query(db, projects.rank_in_batch, ids[0]) == {"rank": 3, "of": 3}
    assert commands.query(db, projects.rank_in_batch, ids[1]) == {"rank": 1, "of": 3}


def test_every_change_of_status_is_on_the_project_timeline(db):
    with clock.frozen_at(datetime(2026, 5, 1, 9, tzinfo=BUREAU_TZ)):
        project_id = _project(db, start=None)
        commands.execute(db, projects.set_status, project_id, "not_accepted", "材料不全")
    history = _facts(db, project_id), commands.query(db, lambda s: projects.get(s, project_id).history)
    assert [e["event"] for e in history[1]] == ["submitted", "status"]
    assert history[1][1] == {"at": "2026-05-01T01:00:00+00:00", "event": "status", "from": "submitted",
                             "to": "not_accepted", "reason": "材料不全"}
