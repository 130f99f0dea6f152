"""The credit rule with teeth (credit.RESTRICTIONS): a failed acceptance, a revocation or
misconduct bars new applications for a period; the submission gate (eligibility) reads it and
the applicant is told why and until when (a date in bureau time), before the form, at submission
(422 with the field) and in the lifecycle's refusal."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from engine.core import clock, commands, users
from engine.core.errors import InvalidData
from engine.lifecycle import credit, projects
from engine.workspace import applicant_page, application_drafts
from tests.lifecycle.world import APPLICANT, APPLICATION, ORG, Driver, sh


def _record(db, kind: str, at: datetime, subject_type: str = "person", name: str = "张伟") -> None:  # type: ignore[no-untyped-def]
    with clock.frozen_at(at):
        commands.execute(db, lambda s: credit.record(
            s, subject_type=subject_type, subject_name=name, kind=kind, outcome=kind, project_id=None,
            project_title="早期项目", source_key=f"test:{kind}:{subject_type}", actor="process"))


def _registered(db) -> int:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: s.scalar(select(func.count()).select_from(projects.Project)))


def test_a_failed_acceptance_bars_the_investigator_for_two_years_with_the_end_date(world):
    # given a failed acceptance recorded at 00:30 on 2 March 2026 in the bureau (still 1 March in UTC)
    _record(world, "acceptance_failed", sh(2026, 3, 2, 0, 30))
    # when the investigator applies three months later
    d = Driver(world, sh(2026, 6, 1))
    d.start("project_lifecycle", APPLICATION)
    # then the application is refused at once, saying why and until when (the bureau's date)
    data = d.data()
    assert data["status"] == "refused" and _registered(world) == 0
    assert "may not apply until 2028-03-01 (inclusive): acceptance failed ('早期项目') on 2026-03-02" in data["reason"]
    assert "2028-03-01（含）前不得申报" in data["reason"]


def test_the_bar_ends_after_its_last_day(world):
    _record(world, "acceptance_failed", sh(2026, 3, 2))
    on_last_day = Driver(world, sh(2028, 3, 1, 16))
    on_last_day.start("project_lifecycle", APPLICATION)
    assert on_last_day.data()["status"] == "refused"
    next_day = Driver(world, sh(2028, 3, 2, 9))
    next_day.start("project_lifecycle", APPLICATION)
    assert next_day.names() == ["unit_review"]


def test_a_revocation_bars_the_organisation_and_the_submission_is_a_422_naming_the_organisation(world):
    # given a revoked project of the organisation, and an applicant of that organisation
    commands.execute(world, users.create_user, APPLICANT.username, "pw-secret", ["applicants"], ORG, None,
                     "张伟 Zhang Wei", password_policy=False)
    _record(world, "revoked", sh(2026, 1, 10), subject_type="organisation", name=ORG)
    # when an application is submitted through the pages, then it is refused on the organisation field
    with clock.frozen_at(sh(2026, 3, 2)), pytest.raises(InvalidData) as refused:
        commands.execute(world, application_drafts.submit, APPLICANT, "project_lifecycle",
                         APPLICATION | {"principal_investigator": "王五"})
    [message] = refused.value.fields["organisation"]
    assert "may not apply until 2028-01-09" in message and "项目撤销" in message
    assert _registered(world) == 0


def test_misconduct_is_shown_before_the_form_is_offered(world):
    commands.execute(world, users.create_user, APPLICANT.username, "pw-secret", ["applicants"], ORG, None,
                     "张伟 Zhang Wei", password_policy=False)
    _record(world, "misconduct", sh(2026, 2, 1))
    with clock.frozen_at(sh(2026, 3, 2)):
        view = commands.query(world, applicant_page.new_application, APPLICANT, "project_lifecycle")
    assert not view.eligible
    assert any("until 2031-01-31" in r and "科研失信行为" in r for r in view.refusals)


@pytest.mark.parametrize("kind", ["rating", "terminated", "contract_lapsed", "annual_report_overdue"])
def test_other_records_are_advice_to_reviewers_and_bar_nothing(world, kind):
    _record(world, kind, sh(2026, 2, 1))
    d = Driver(world, sh(2026, 3, 2))
    d.start("project_lifecycle", APPLICATION)
    assert d.names() == ["unit_review"]
