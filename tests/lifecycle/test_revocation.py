"""revocation (撤销), started by a supervisor for a running project: the institution proposes with
the ground, the facts and the spending, the bureau decides with the reason; a revoked project
ends `revoked` with the reason shown to its applicant, a `revoked` credit record bars the
investigator and the organisation (RESTRICTIONS), and the funds come back to the last repayment."""
from __future__ import annotations

from datetime import date

import pytest

from engine.core import commands
from engine.core.errors import InvalidData
from engine.lifecycle import credit, funds, projects
from engine.runtime import outcome
from engine.workspace import project_documents
from tests.lifecycle.world import (APPLICATION, BUREAU, STAFF, SUPERVISOR, Driver, make_project, sh,
                                   stage_data)

FRAUD = {"revocation_ground": "fraud", "revocation_facts": "伪造用户使用证明与测试报告",
         "funds_spent": 50, "eligible_spending": 30, "revocation_proposal": "propose"}


def _started(db) -> tuple[Driver, int]:  # type: ignore[no-untyped-def]
    # given a running project with 72 of its 120 released
    project_id = make_project(db, start="2026-01-05", months=24)
    commands.execute(db, projects.release_funding, project_id, 0.6)
    d = Driver(db, sh(2026, 9, 1))
    d.start("revocation", stage_data(project_id), SUPERVISOR)
    return d, project_id


def test_a_revocation_for_fraud_ends_the_project_bars_both_and_recovers_everything_released(world):
    d, project_id = _started(world)
    assert d.task("propose_revocation").candidate_groups == ["institution_staff"]
    # when the institution proposes and the bureau revokes with its reason
    d.complete("propose_revocation", STAFF, FRAUD)
    assert d.task("decide_revocation").candidate_groups == ["bureau_staff"]
    d.complete("decide_revocation", BUREAU, {"revocation_decision": "revoke", "revocation_reason": "提供虚假验收材料"})
    # then the project is revoked, with the reason, in the register and to its applicant
    assert d.project()["status"] == "revoked" and "提供虚假验收材料" in d.project()["outcome_reason"]
    # and the revocation bars the investigator for 5 years and the organisation for 2
    on = date(2026, 10, 1)
    person = commands.query(world, lambda s: credit.restrictions(s, "person", "张伟", on))
    organisation = commands.query(world, lambda s: credit.restrictions(s, "organisation", APPLICATION["organisation"], on))
    assert [r.kind for r in person] == ["revoked"] and person[0].until == date(2031, 8, 31)
    assert [r.kind for r in organisation] == ["revoked"] and organisation[0].until == date(2028, 8, 31)
    # and for fraud everything released (72) is to come back, tracked to the last repayment
    assert commands.query(world, funds.summary, project_id)["to_recover"] == 72.0
    assert d.names() == ["record_repayment"]
    assert commands.query(world, project_documents.available, STAFF, d.instance_id)["recovery_notice"] is True
    d.complete("record_repayment", STAFF, {"repaid_amount": 72, "repaid_on": "2026-10-08", "repayment_reference": "HK-R1"})
    assert d.state() == "completed" and commands.query(world, funds.summary, project_id)["to_recover"] == 0.0
    # the outcome reads as a refusal with the bureau's reason (the applicant reads it in the register)
    shown = outcome.derive(d.state(), d.data())
    assert shown is not None and shown.code == "revoked" and shown.tone == outcome.REFUSED
    assert any("提供虚假验收材料" in r for r in shown.reasons)


def test_a_serious_breach_keeps_the_eligible_spending(world):
    d, project_id = _started(world)
    d.complete("propose_revocation", STAFF, FRAUD | {"revocation_ground": "serious_breach"})
    d.complete("decide_revocation", BUREAU, {"revocation_decision": "revoke", "revocation_reason": "擅自转包核心任务"})
    # 72 released, 30 eligible: 42 comes back
    assert commands.query(world, funds.summary, project_id)["recovery_due"] == 42.0


def test_the_bureau_may_decline_and_nothing_changes(world):
    d, project_id = _started(world)
    d.complete("propose_revocation", STAFF, FRAUD)
    d.complete("decide_revocation", BUREAU, {"revocation_decision": "reject", "revocation_reason": "证据不足"})
    assert d.data()["status"] == "not_revoked" and d.state() == "completed"
    assert d.project()["status"] == "in_progress"
    assert commands.query(world, funds.summary, project_id)["recovery_due"] == 0.0
    assert commands.query(world, lambda s: credit.restrictions(s, "person", "张伟", date(2026, 10, 1))) == []


def test_a_decision_without_its_reason_is_refused(world):
    d, _ = _started(world)
    d.complete("propose_revocation", STAFF, FRAUD)
    with pytest.raises(InvalidData) as refused:
        d.complete("decide_revocation", BUREAU, {"revocation_decision": "revoke"})
    assert "revocation_reason" in refused.value.fields and d.names() == ["decide_revocation"]


def test_a_revoked_projects_execution_stops_at_its_next_milestone_with_no_more_reports(world):
    # given the project's in-process management running beside the revocation
    d, project_id = _started(world)
    execution = Driver(world, sh(2026, 1, 5, 10))
    execution.start("in_process_management", stage_data(project_id), SUPERVISOR)
    # when the project is revoked
    d.complete("propose_revocation", STAFF, FRAUD)
    d.complete("decide_revocation", BUREAU, {"revocation_decision": "revoke", "revocation_reason": "提供虚假验收材料"})
    # then at its next milestone (the first yearly report) execution ends revoked, asking for nothing
    execution.advance_to(sh(2027, 1, 5, 9, 1))
    assert "annual_report" not in execution.names() and execution.state() == "completed"
    assert execution.data()["status"] == "revoked" and "提供虚假验收材料" in execution.data()["reason"]
