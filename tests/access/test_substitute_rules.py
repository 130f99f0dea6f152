"""Substitutes (engine/workspace/substitutes.py with engine/runtime/access.py's parties), as the applicant who was
named substitute and then completed a check of his own project: only a colleague who could do the
work may be named, never a party of the project, and taking a task over checks both again."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.core import clock, commands
from engine.workspace import substitutes
from engine.runtime import tasks
from engine.core.errors import Forbidden, InvalidData
from engine.core.principals import Actor
from tests.lifecycle.world import APPLICANT, APPLICATION, ORG, STAFF, UNIT, Driver, build_world, sh

from tests.web.conftest import csrf_from

from .conftest import account, sign_in

COLLEAGUE = Actor("chen.jing", frozenset({"institution_staff"}))
PARTY_COLLEAGUE = Actor("luo.hui", frozenset({"institution_staff"}))  # works at the applicant's unit


@pytest.fixture
def formal_review(db):  # type: ignore[no-untyped-def]
    """An application waiting for the institution's formal review, and the people around it."""
    build_world(db, experts_per_discipline=1)
    account(db, APPLICANT, ORG)
    account(db, UNIT, ORG)
    account(db, STAFF)
    account(db, COLLEAGUE)
    account(db, PARTY_COLLEAGUE, ORG)
    d = Driver(db, sh(2026, 3, 2))
    d.start("project_lifecycle", APPLICATION)
    d.endorse()
    return d


def name(db, substitute: str, absent: Actor = STAFF):  # type: ignore[no-untyped-def]
    today = substitutes.today()
    return commands.execute(db, substitutes.name, absent, absent.username, substitute, today.isoformat(),
                            (today + timedelta(days=7)).isoformat(), "leave")


@pytest.mark.parametrize("who", [APPLICANT.username, UNIT.username])
def test_the_applicant_or_a_unit_colleague_cannot_be_named_substitute(db, formal_review, who):
    with formal_review.at():
        with pytest.raises(InvalidData) as error:
            name(db, who)
    assert "no working group" in error.value.fields["substitute"][0]


def test_a_colleague_of_the_applicants_unit_is_refused_for_a_reviewer_holding_that_project(db, formal_review):
    d = formal_review
    with d.at():
        commands.execute(db, tasks.claim, STAFF, d.task("formal_review").id)
        with pytest.raises(InvalidData) as error:
            name(db, PARTY_COLLEAGUE.username)
    assert f"party of project #{d.instance_id}" in error.value.fields["substitute"][0]


def test_taking_over_checks_again_that_the_substitute_is_no_party_of_that_project(db, formal_review):
    d = formal_review
    with d.at():
        # named while the reviewer held nothing of this project: allowed then
        name(db, PARTY_COLLEAGUE.username)
        row = d.task("formal_review")
        commands.execute(db, tasks.claim, STAFF, row.id)
        # then the task does not reach them as a substitute, and taking it over is refused
        assert commands.query(db, substitutes.covered_for, PARTY_COLLEAGUE, row) is None
        with pytest.raises(Forbidden) as error:
            commands.execute(db, substitutes.take_over, PARTY_COLLEAGUE, row.id)
    assert error.value.details["reason"] == substitutes.PARTY  # the code pages word in the reader's language
    assert d.task("formal_review").assignee == STAFF.username


def test_a_substitution_made_before_the_rules_does_not_let_the_applicant_take_over(db, formal_review):
    d = formal_review
    with d.at():
        row = d.task("formal_review")
        commands.execute(db, tasks.claim, STAFF, row.id)

        def legacy(session):  # type: ignore[no-untyped-def]
            session.add(substitutes.Substitution(username=STAFF.username, substitute=APPLICANT.username,
                                                 starts_on=substitutes.today(), ends_on=substitutes.today(),
                                                 created_by="admin", created_at=clock.now()))
        commands.execute(db, legacy)
        with pytest.raises(Forbidden):
            commands.execute(db, substitutes.take_over, APPLICANT, row.id)
        with pytest.raises(Forbidden):
            commands.execute(db, tasks.complete, APPLICANT, row.id, {"decision": "accept"})


def test_a_colleague_who_could_do_the_work_is_named_and_takes_over(db, formal_review):
    d = formal_review
    with d.at():
        row = d.task("formal_review")
        commands.execute(db, tasks.claim, STAFF, row.id)
        assert name(db, COLLEAGUE.username).substitute == COLLEAGUE.username
        commands.execute(db, substitutes.take_over, COLLEAGUE, row.id)
    assert d.task("formal_review").assignee == COLLEAGUE.username


def test_the_list_of_possible_substitutes_holds_only_working_colleagues(db, formal_review):
    found = {u.username for u in commands.query(db, substitutes.colleagues, STAFF)}
    assert COLLEAGUE.username in found and APPLICANT.username not in found and UNIT.username not in found




def test_the_take_over_button_refuses_a_party_with_a_clear_message_and_changes_nothing(db, client, formal_review):
    d = formal_review
    with d.at():
        row = d.task("formal_review")
        commands.execute(db, tasks.claim, STAFF, row.id)
    # named in force today (the pages run at the real time); the claim above was weeks before
    today = substitutes.today()
    commands.execute(db, lambda s: s.add(substitutes.Substitution(
        username=STAFF.username, substitute=PARTY_COLLEAGUE.username, starts_on=today, ends_on=today,
        created_by="admin", created_at=clock.now())))
    signed = sign_in(client, PARTY_COLLEAGUE.username)
    # (they see the task as one of its group's, in the applicant's view, but are offered no take-over)
    assert "take-over" not in signed.get(f"/tasks/{row.id}").get_data(as_text=True)
    token = csrf_from(signed.get("/inbox").get_data(as_text=True))
    response = signed.post(f"/tasks/{row.id}/take-over", data={"csrf_token": token}, follow_redirects=True)
    assert "您是本项目的当事方" in response.get_data(as_text=True)
    assert d.task("formal_review").assignee == STAFF.username
