"""The yearly random spot check (抽查): a share of the running projects drawn with a seed that
the audit keeps (the same seed redraws the same sample), once a year; each drawn project gets an
institution task that concludes fine, rectify (the investigator reports) or refer for revocation
(the revocation process runs for the project). A supervisor draws from the command line."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core import clock, commands, users
from engine.core.errors import InvalidData
from engine.core.models import AuditEvent, ProcessInstance
from engine.runtime import tasks
from engine.supervision import spot_checks
from tests.lifecycle.world import APPLICANT, BUREAU, STAFF, SUPERVISOR, Driver, make_project, sh

FINDINGS = "核查了经费支出凭证与实验记录"


def _running(db, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    return [make_project(db, title=f"在研项目{n}", investigator=f"负责人{n}") for n in range(count)]


def _open(db, instance_id: int):  # type: ignore[no-untyped-def]
    return commands.query(db, tasks.open_tasks, instance_id)


def _driver(db, instance_id: int) -> Driver:  # type: ignore[no-untyped-def]
    return Driver(db, sh(2027, 3, 1), instance_id)


def test_the_sample_is_the_share_of_the_running_projects_and_the_seed_redraws_it():
    candidates = list(range(1, 41))
    first = spot_checks.sample(candidates, 0.1, 20270301)
    assert len(first) == 4 and set(first) <= set(candidates)
    assert spot_checks.sample(list(reversed(candidates)), 0.1, 20270301) == first  # order does not matter
    assert len(spot_checks.sample(candidates[:3], 0.1, 1)) == 1  # at least one when any is running
    with pytest.raises(InvalidData):
        spot_checks.sample(candidates, 0, 1)


def test_a_supervisor_draws_once_a_year_each_drawn_project_gets_a_check_and_the_draw_is_audited(world):
    # given 10 running projects and one that has ended
    running = _running(world, 10)
    make_project(world, status="passed", title="已验收项目")
    # when a supervisor draws 20% with a seed
    with clock.frozen_at(sh(2027, 3, 1)):
        drawn = commands.execute(world, spot_checks.draw, SUPERVISOR, 2027, 0.2, 7)
    # then two running projects are drawn, as the seed says, each with an institution task
    assert drawn.drawn == tuple(spot_checks.sample(running, 0.2, 7)) and len(drawn.drawn) == 2
    assert drawn.candidates == tuple(running)
    for instance_id in drawn.instance_ids:
        [row] = _open(world, instance_id)
        assert row.name == "check_project" and row.candidate_groups == ["institution_staff"]
    # and the audit keeps the seed, the candidates and the drawn
    details = commands.query(world, lambda s: s.scalar(select(AuditEvent.details).where(
        AuditEvent.action == spot_checks.ACTION)))
    assert details["seed"] == 7 and details["drawn"] == list(drawn.drawn) and details["candidates"] == running
    # and the year cannot be drawn again
    with pytest.raises(InvalidData):
        commands.execute(world, spot_checks.draw, SUPERVISOR, 2027, 0.2, 8)


def test_each_conclusion_has_its_consequence(world):
    _running(world, 3)
    with clock.frozen_at(sh(2027, 3, 1)):
        result = commands.execute(world, spot_checks.draw, SUPERVISOR, 2027, 1.0, 3)
    fine, rectify, refer = (_driver(world, i) for i in result.instance_ids)
    fine.complete("check_project", STAFF, {"spot_check_conclusion": "fine", "spot_check_findings": FINDINGS})
    assert fine.data()["status"] == "fine" and fine.state() == "completed"
    # rectify: the investigator reports the rectification
    rectify.complete("check_project", STAFF, {"spot_check_conclusion": "rectify", "spot_check_findings": FINDINGS})
    row = rectify.task("spot_rectification")
    assert row.assignee == APPLICANT.username
    rectify.complete("spot_rectification", APPLICANT, {"rectification_measures": "补齐全部经费支出凭证并完善实验记录", "rectification_completed": True})
    assert rectify.data()["status"] == "rectified"
    # refer: the revocation runs for the project, the institution proposes, the bureau decides
    refer.complete("check_project", STAFF, {"spot_check_conclusion": "refer", "spot_check_findings": "发现伪造凭证"})
    refer.complete("propose_revocation", STAFF, {"revocation_ground": "fraud", "revocation_facts": "伪造凭证",
                                                 "funds_spent": 0, "eligible_spending": 0,
                                                 "revocation_proposal": "propose"})
    refer.complete("decide_revocation", BUREAU, {"revocation_decision": "revoke", "revocation_reason": "伪造经费凭证"})
    assert refer.project()["status"] == "revoked"


def test_a_supervisor_draws_from_the_command_line(world, runner):
    _running(world, 4)
    commands.execute(world, users.create_user, "boss", "pw-secret", ["supervisors"], None, None, "督导 Boss",
                     password_policy=False)
    result = runner.invoke(args=["supervisor", "spot-check", "--as", "boss", "--year", "2027", "--share", "0.5",
                                 "--seed", "11"])
    assert result.exit_code == 0, result.output
    assert "2 of 4 running project(s) drawn (share 0.5, seed 11)" in result.output
    started = commands.query(world, lambda s: list(s.scalars(select(ProcessInstance.id).where(
        ProcessInstance.process_key == "spot_check"))))
    assert len(started) == 2
    again = runner.invoke(args=["supervisor", "spot-check", "--as", "boss", "--year", "2027"])
    assert again.exit_code != 0 and "drawn already" in again.output
