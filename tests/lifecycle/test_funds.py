"""Project funds: the budget table's category rules (processes/budget_rules.dmn) at submission,
the award step that fits the contract's table to the approved amount, tranches and payments in the
funds ledger, termination causes with their credit consequences (processes/termination_credit.dmn),
and funds to recover after an audited settlement tracked to their repayment."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from engine.core import commands
from engine.core.errors import InvalidData
from engine.core.models import ProcessInstance
from engine.lifecycle import credit, funds, projects
from tests.lifecycle.world import (APPLICANT, APPLICATION, AUDITOR, BUREAU, ORG, STAFF, SUPERVISOR, Driver,
                                   make_project, sh, stage_data)


def lines(**municipal: float) -> list[dict[str, Any]]:
    return [{"category": c, "municipal": v, "self_raised": 0} for c, v in municipal.items()]


GOOD = lines(equipment=40, materials=30, labour=26, experts=4, indirect=20)  # 120, indirect 16.7%


def _instances(db) -> int:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: s.scalar(select(func.count()).select_from(ProcessInstance)))


def _refusal(db, table) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    before = _instances(db)
    with pytest.raises(InvalidData) as refused:
        Driver(db, sh(2026, 3, 2)).start("project_lifecycle", APPLICATION | {"budget_lines": table})
    assert _instances(db) == before  # nothing was started
    return refused.value.fields


# --- the budget table at submission ---------------------------------------------------------------

def test_indirect_costs_above_their_share_are_refused_at_submission_naming_the_category(world):
    # given a table adding up to the 120 requested, with indirect costs at 30 (25% > 20%)
    fields = _refusal(world, lines(equipment=40, materials=30, labour=20, indirect=30))
    # then the indirect-costs row's municipal figure is refused, the category named in both languages
    assert list(fields) == ["budget_lines.3.municipal"]
    assert "间接费用" in fields["budget_lines.3.municipal"][0] and "Indirect costs" in fields["budget_lines.3.municipal"][0]


def test_equipment_above_the_threshold_needs_a_justification(world):
    table = lines(equipment=60, materials=30, labour=10, indirect=20)
    fields = _refusal(world, table)
    assert "budget_lines.0.justification" in fields and "设备费" in fields["budget_lines.0.justification"][0]
    # when the justification is given, the same table is in order
    table[0]["justification"] = "购置激光熔覆设备一台"
    Driver(world, sh(2026, 3, 2)).start("project_lifecycle", APPLICATION | {"budget_lines": table})


def test_a_table_that_does_not_add_up_to_the_requested_funding_is_refused(world):
    fields = _refusal(world, lines(equipment=40, materials=30, indirect=10))  # 80, not 120
    assert fields == {"budget_lines": [fields["budget_lines"][0]]} and "120" in fields["budget_lines"][0]


def test_a_category_listed_twice_is_refused(world):
    fields = _refusal(world, lines(equipment=40, materials=30, labour=30) + lines(equipment=20))
    assert "budget_lines.3.category" in fields and "设备费" in fields["budget_lines.3.category"][0]


def test_a_table_in_order_is_registered_as_the_requested_budget(world):
    d = Driver(world, sh(2026, 3, 2))
    d.start("project_lifecycle", APPLICATION | {"budget_lines": GOOD})
    project_id = commands.query(world, lambda s: s.scalar(select(projects.Project.id)))
    requested = commands.query(world, funds.budget, project_id, "requested")
    assert [(r["category"], r["municipal"]) for r in requested] == [
        ("equipment", 40.0), ("materials", 30.0), ("labour", 26.0), ("experts", 4.0), ("indirect", 20.0)]


def test_a_designer_changes_a_limit_in_the_table_without_a_programmer(world):
    from engine.definitions import budget_rules, deployment
    from tests.conftest import ROOT
    text = (ROOT / "processes" / "budget_rules.dmn").read_text(encoding="utf-8")
    changed = text.replace('<outputEntry id="OutputEntry_indirect_cap"><text>0.2</text>',
                           '<outputEntry id="OutputEntry_indirect_cap"><text>0.3</text>')
    commands.execute(world, deployment.deploy, [("budget_rules.dmn", changed.encode())], "designer")
    assert commands.query(world, budget_rules.limits)["indirect"].cap_share == 0.3
    Driver(world, sh(2026, 3, 2)).start("project_lifecycle", APPLICATION | {
        "budget_lines": lines(equipment=40, materials=30, labour=20, indirect=30)})


# --- the award step and the tranches ----------------------------------------------------------------

DRAFT = {"contract_no": "HZKJ-2026-001", "contract_targets": "完成工艺规范与样件试制",
         "assessment_indicators": "发明专利 2 项"}
SIGN = {"contract_signed": True, "signatory": "张伟"}


def _establishment(db, approved: float) -> Driver:  # type: ignore[no-untyped-def]
    project_id = make_project(db, status="established", funding=approved)
    commands.execute(db, funds.save_budget, project_id, "requested", GOOD)
    d = Driver(db, sh(2026, 4, 1))
    d.start("establishment", stage_data(project_id, approved_funding=approved, budget=120.0, budget_lines=GOOD),
            SUPERVISOR)
    return d


def test_an_award_below_the_request_is_refused_until_the_contract_budget_fits_it(world):
    # given 100 approved of the 120 requested
    d = _establishment(world, 100.0)
    d.complete("draft_contract", STAFF, DRAFT)
    # when the applicant signs with the table as requested, it is refused: it adds up to 120
    with pytest.raises(InvalidData) as refused:
        d.complete("sign_contract", APPLICANT, SIGN | {"budget_lines": GOOD})
    assert "100" in refused.value.fields["budget_lines"][0]
    assert d.names() == ["sign_contract"]  # nothing moved
    # when it is fitted to the 100 approved, the contract goes on
    fitted = lines(equipment=35, materials=25, labour=20, experts=4, indirect=16)
    d.complete("sign_contract", APPLICANT, SIGN | {"budget_lines": fitted})
    d.unit_signs()
    d.complete("check_contract", STAFF, {"contract_check": "ok", "check_comment": "齐全"})
    d.complete("countersign_recommender", *_recommender())
    d.complete("countersign_bureau", BUREAU, {"countersigned": True})
    d.finance_pays("FIN-2026-0042")
    project_id = d.data()["project_id"]
    # then the contract's table is the fitted one and the request is as it was
    contract = commands.query(world, funds.budget, project_id, "contract")
    assert sum(r["municipal"] for r in contract) == 100.0
    assert sum(r["municipal"] for r in commands.query(world, funds.budget, project_id, "requested")) == 120.0
    # and the first tranche (60%: funding_tranches.dmn) is in the ledger, planned then paid
    rows = [(e.kind, e.amount, e.on.isoformat(), e.reference) for e in commands.query(world, funds.entries, project_id)]
    assert rows == [("planned", 60.0, "2026-04-01", None), ("paid", 60.0, "2026-04-01", "FIN-2026-0042")]
    summary = commands.query(world, funds.summary, project_id)
    assert (summary["approved"], summary["planned"], summary["paid"], summary["to_recover"]) == (100.0, 60.0, 60.0, 0.0)


def _recommender():  # type: ignore[no-untyped-def]
    from tests.lifecycle.world import RECOMMENDER
    return RECOMMENDER, {"countersigned": True}


def test_the_mid_term_release_and_a_suspension_are_in_the_ledger(world):
    from tests.lifecycle.test_in_process_management import MIDTERM
    project_id = make_project(world, start="2026-01-05", months=24, funding=120.0)
    d = Driver(world, sh(2026, 1, 5, 10))
    d.start("in_process_management", stage_data(project_id), SUPERVISOR)
    d.advance_to(sh(2027, 1, 5, 9, 1))
    d.complete("midterm_report", APPLICANT, MIDTERM)
    d.complete("midterm_check", STAFF, {"midterm_conclusion": "suspend_funding", "midterm_comment": "暂停拨款整改"})
    # nothing released before: all 120 is withheld while funding is suspended
    assert [(e.kind, e.amount) for e in commands.query(world, funds.entries, project_id)] == [("withheld", 120.0)]


# --- termination: causes, credit, recovery ----------------------------------------------------------

SETTLEMENT = {"settlement_summary": "完成部分研究内容，剩余经费退回", "funds_spent": 50, "funds_returned": 22}


def _terminate(db, cause: str, audit: dict[str, Any]) -> Driver:  # type: ignore[no-untyped-def]
    project_id = make_project(db, start="2026-01-05", months=36)
    commands.execute(db, projects.release_funding, project_id, 0.6)  # 72 released
    d = Driver(db, sh(2026, 1, 5, 10))
    d.start("in_process_management", stage_data(project_id), SUPERVISOR)
    d.complete("change_request", APPLICANT, {"change_kind": "termination", "change_description": "申请终止",
                                             "change_reason": "研究无法继续"})
    d.complete("change_recommender_review", *_review())
    d.complete("change_institution_review", STAFF, {"change_decision": "approve", "change_comment": "同意"})
    d.complete("change_bureau_decision", BUREAU, {"change_decision": "approve", "change_comment": "同意"})
    d.complete("settlement", APPLICANT, SETTLEMENT)
    d.complete("audit_settlement", AUDITOR, audit)
    d.complete("confirm_termination", BUREAU, {"termination_confirmed": True, "termination_cause": cause,
                                               "termination_comment": "终止 · terminated"})
    return d


def _review():  # type: ignore[no-untyped-def]
    from tests.lifecycle.world import RECOMMENDER
    return RECOMMENDER, {"change_decision": "approve", "change_comment": "同意"}


CLEAN = {"audit_opinion": "unqualified", "eligible_spending": 50, "audit_findings": "支出合规"}


@pytest.mark.parametrize("cause, investigator, organisation", [
    ("force_majeure", set(), set()),
    ("technical_failure", {("terminated_no_fault", False)}, set()),
    ("unit_breach", set(), {("terminated", True)}),
    ("investigator_breach", {("terminated", True)}, {("terminated_no_fault", False)}),
])
def test_each_termination_cause_has_its_own_credit_consequence(world, cause, investigator, organisation):
    d = _terminate(world, cause, CLEAN)
    assert d.data()["status"] == "terminated" and d.state() == "completed"
    def records(person=(), org=()):  # type: ignore[no-untyped-def]
        return {(r.kind, r.to_dict()["negative"]) for r in commands.query(world, credit.history, person, org)}
    assert records(person=["张伟"]) == investigator
    assert records(org=[ORG]) == organisation


def test_a_qualified_audit_recovers_the_ineligible_spending_and_the_repayment_is_tracked_to_the_end(world):
    # given 72 released, 50 spent of which the auditors found 30 eligible, 22 returned at settlement
    d = _terminate(world, "investigator_breach",
                   {"audit_opinion": "qualified", "eligible_spending": 30, "audit_findings": "20 万元支出不合规"})
    project_id = d.data()["project_id"]
    # then 42 is due (72 - 30), 22 is back, 20 outstanding: the institution records the repayment
    summary = commands.query(world, funds.summary, project_id)
    assert (summary["recovery_due"], summary["recovered"], summary["to_recover"]) == (42.0, 22.0, 20.0)
    assert d.names() == ["record_repayment"] and d.state() == "running"
    assert d.project()["status"] == "terminated" and d.project()["funding_suspended"] is True
    # a part payment leaves the task open for the rest
    d.complete("record_repayment", STAFF, {"repaid_amount": 15, "repaid_on": "2026-03-02", "repayment_reference": "HK-1"})
    assert d.names() == ["record_repayment"]
    assert commands.query(world, funds.summary, project_id)["to_recover"] == 5.0
    d.complete("record_repayment", STAFF, {"repaid_amount": 5, "repaid_on": "2026-03-20", "repayment_reference": "HK-2"})
    assert d.open() == [] and d.state() == "completed"
    kinds = [(e.kind, e.amount, e.on.isoformat()) for e in commands.query(world, funds.entries, project_id)
             if e.kind in ("recovery_due", "recovered")]
    assert ("recovered", 15.0, "2026-03-02") in kinds and ("recovered", 5.0, "2026-03-20") in kinds
    assert commands.query(world, funds.summary, project_id)["to_recover"] == 0.0


def test_an_unqualified_audit_keeps_what_was_spent(world):
    d = _terminate(world, "force_majeure", CLEAN)
    summary = commands.query(world, funds.summary, d.data()["project_id"])
    # 72 - 50 spent = 22 due, all returned with the settlement
    assert (summary["recovery_due"], summary["recovered"], summary["to_recover"]) == (22.0, 22.0, 0.0)
    assert d.state() == "completed"


# --- budget adjustments ------------------------------------------------------------------------------

def _adjustment(db, move: dict[str, Any], applicant=APPLICANT) -> tuple[Driver, int]:  # type: ignore[no-untyped-def]
    project_id = make_project(db, start="2026-01-05", months=24)
    commands.execute(db, funds.save_budget, project_id, "requested", GOOD)
    commands.execute(db, funds.save_budget, project_id, "contract", GOOD)
    d = Driver(db, sh(2026, 6, 1))
    d.start("budget_adjustment", {"project_id": project_id, "adjust_reason": "实验方案调整，需增加投入"} | move, applicant)
    return d, project_id


def _municipal(db, project_id: int, stage: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {r["category"]: r["municipal"] for r in commands.query(db, funds.budget, project_id, stage)}


APPROVE = {"adjustment_decision": "approve", "adjustment_comment": "同意调剂"}


def test_an_adjustment_within_the_threshold_is_approved_by_the_unit_alone(world):
    from tests.lifecycle.world import UNIT
    # given equipment at 40: 10% (budget_rules.dmn) is 4, and 2 is moved into it
    d, project_id = _adjustment(world, {"from_category": "materials", "to_category": "equipment", "adjust_amount": 2})
    assert d.names() == ["unit_review"]
    d.complete("unit_review", UNIT, APPROVE)
    assert d.data()["status"] == "approved" and d.state() == "completed"
    # then the contract's table changed, the request did not
    assert _municipal(world, project_id, "contract")["equipment"] == 42.0
    assert _municipal(world, project_id, "contract")["materials"] == 28.0
    assert _municipal(world, project_id, "requested")["equipment"] == 40.0


def test_an_adjustment_above_the_threshold_goes_on_to_the_institution_and_the_bureau(world):
    from tests.lifecycle.world import UNIT
    # given labour at 26: 10% is 2.6, and 10 is moved into it
    d, project_id = _adjustment(world, {"from_category": "materials", "to_category": "labour", "adjust_amount": 10})
    d.complete("unit_review", UNIT, APPROVE)
    assert d.names() == ["institution_review"] and _municipal(world, project_id, "contract")["labour"] == 26.0
    d.complete("institution_review", STAFF, APPROVE)
    d.complete("bureau_review", BUREAU, APPROVE)
    assert d.data()["status"] == "approved"
    assert _municipal(world, project_id, "contract")["labour"] == 36.0


def test_an_adjustment_rejected_above_the_threshold_changes_nothing(world):
    from tests.lifecycle.world import UNIT
    d, project_id = _adjustment(world, {"from_category": "materials", "to_category": "labour", "adjust_amount": 10})
    d.complete("unit_review", UNIT, APPROVE)
    d.complete("institution_review", STAFF, {"adjustment_decision": "reject", "adjustment_comment": "理由不充分"})
    assert d.data()["status"] == "rejected" and "理由不充分" in d.data()["reason"]
    assert _municipal(world, project_id, "contract") == _municipal(world, project_id, "requested")


def test_an_adjustment_that_breaks_a_category_cap_is_refused_at_once_with_the_category_named(world):
    # indirect costs at 20 + 10 = 30 of 120: above the 20% cap
    d, project_id = _adjustment(world, {"from_category": "materials", "to_category": "indirect", "adjust_amount": 10})
    assert d.data()["status"] == "refused" and "间接费用" in d.data()["reason"] and d.open() == []
    assert _municipal(world, project_id, "contract")["indirect"] == 20.0


def test_only_the_projects_own_applicant_may_adjust_its_budget(world):
    from engine.core.principals import Actor
    d, _ = _adjustment(world, {"from_category": "materials", "to_category": "equipment", "adjust_amount": 2},
                       Actor("li.na", frozenset({"applicants"})))
    assert d.data()["status"] == "refused" and "own project" in d.data()["reason"]


def test_a_contract_sent_without_its_table_is_checked_with_the_requested_one(world):
    # given 100 approved of 120 requested, and the API client leaves the table out
    d = _establishment(world, 100.0)
    d.complete("draft_contract", STAFF, DRAFT)
    with pytest.raises(InvalidData) as refused:
        d.complete("sign_contract", APPLICANT, SIGN)
    # then the process's table, the request's, must fit the award all the same
    assert "100" in refused.value.fields["budget_lines"][0] and d.names() == ["sign_contract"]
