"""establishment, started on its own for a project the bureau decided to fund: the task contract is
drafted, signed within 10 working days or the establishment lapses, checked, countersigned by the
recommending unit and the bureau; the period starts and funding is released in stages."""
from __future__ import annotations

import pytest

from engine.core import commands
from engine.lifecycle import credit
from tests.lifecycle.world import (APPLICANT, BUREAU, RECOMMENDER, STAFF, SUPERVISOR, Driver, make_project, sh, stage_data)

DRAFT = {"contract_no": "HZKJ-2026-001", "contract_targets": "完成工艺规范与样件试制",
         "assessment_indicators": "发明专利 2 项"}


def _start(db, funding=120.0, when=sh(2026, 4, 1)) -> Driver:  # type: ignore[no-untyped-def]
    project_id = make_project(db, status="established", funding=funding)
    d = Driver(db, when)
    d.start("establishment", stage_data(project_id, approved_funding=funding, budget=funding), SUPERVISOR)
    return d


def test_a_signed_and_countersigned_contract_starts_the_period_and_releases_the_first_tranche(world):
    d = _start(world)
    d.sign_contract()
    project = d.project()
    # the period starts on the day of the last signature and runs the application's 24 months
    assert d.data()["status"] == "contracted" and project["status"] == "in_progress"
    assert (project["start_date"], project["end_date"]) == ("2026-04-01", "2028-03-31")
    # funding_tranches.dmn: 60% first for 500k CNY and more
    assert d.data()["first_tranche_ratio"] == 0.6 and project["funds_released"] == 72.0
    assert d.state() == "completed"


def test_a_small_grant_is_released_at_once(world):
    d = _start(world, funding=30.0)
    d.sign_contract()
    assert d.project()["funds_released"] == 30.0


def test_the_contract_is_countersigned_by_the_recommending_unit_and_the_bureau(world):
    d = _start(world)
    d.complete("draft_contract", STAFF, DRAFT)
    d.complete("sign_contract", APPLICANT, {"contract_signed": True, "signatory": "张伟"})
    d.unit_signs()
    d.complete("check_contract", STAFF, {"contract_check": "ok", "check_comment": "齐全"})
    assert d.task("countersign_recommender").candidate_groups == ["recommender.binjiang"]
    d.complete("countersign_recommender", RECOMMENDER, {"countersigned": True})
    assert d.task("countersign_bureau").candidate_groups == ["bureau_staff"]


def test_an_unsigned_contract_lapses_after_ten_working_days_and_goes_on_the_credit_record(world):
    d = _start(world, when=sh(2026, 4, 1, 10))
    d.complete("draft_contract", STAFF, DRAFT)
    sign = d.task("sign_contract")
    # 10 working days from Wednesday 1 April 2026 (Qingming: 4-6 April) end on Thursday 16 April
    assert sign.assignee == APPLICANT.username and sign.due_at == sh(2026, 4, 16, 10)
    assert d.advance_to(sh(2026, 4, 16, 9, 59)) == []
    d.advance_to(sh(2026, 4, 16, 10, 1))
    assert d.data()["status"] == "lapsed" and d.project()["status"] == "lapsed"
    records = commands.query(world, credit.history, ["张伟"], [d.project()["organisation"]])
    assert {(r.subject_type, r.kind) for r in records} == {("person", "contract_lapsed"),
                                                         ("organisation", "contract_lapsed")}


def test_a_contract_returned_late_in_the_window_gets_a_fresh_deadline_and_does_not_lapse_at_once(world):
    # given a contract drafted on Wednesday 1 April 2026, due 16 April, signed on the last morning
    d = _start(world, when=sh(2026, 4, 1, 10))
    d.complete("draft_contract", STAFF, DRAFT)
    assert d.task("sign_contract").due_at == sh(2026, 4, 16, 10)
    d.at_time(sh(2026, 4, 16, 9)).complete("sign_contract", APPLICANT, {"contract_signed": True, "signatory": "张伟"})
    d.unit_signs()
    # when the institution sends it back the same afternoon, past the first deadline
    d.at_time(sh(2026, 4, 16, 15)).complete("check_contract", STAFF, {"contract_check": "return", "check_comment": "缺少单位公章"})
    # then the investigator has 10 working days from now (to 30 April), and nothing lapses before
    assert d.task("sign_contract").due_at == sh(2026, 4, 30, 15)
    assert d.advance_to(sh(2026, 4, 17, 10)) == [] and d.names() == ["sign_contract"]
    assert d.advance_to(sh(2026, 4, 30, 14, 59)) == []
    # and the fresh deadline still lapses the establishment when it passes
    d.advance_to(sh(2026, 4, 30, 15, 1))
    assert d.data()["status"] == "lapsed"


def test_only_supervisors_may_start_a_stage_on_its_own(world):
    from engine.core.errors import Forbidden
    project_id = make_project(world, status="established")
    with pytest.raises(Forbidden):
        Driver(world, sh(2026, 4, 1)).start("establishment", stage_data(project_id), BUREAU)


def test_the_first_tranche_waits_for_the_finance_system_to_confirm_the_payment(world):
    """Given a countersigned contract, the establishment waits on the external task
    `finance-payment` (no one's inbox); the finance system's worker fetches it with the amount
    released and completes it with its payment reference; then the establishment ends."""
    d = _start(world)
    d.complete("draft_contract", STAFF, DRAFT)
    d.complete("sign_contract", APPLICANT, {"contract_signed": True, "signatory": "张伟"})
    d.unit_signs()
    d.complete("check_contract", STAFF, {"contract_check": "ok", "check_comment": "齐全"})
    d.complete("countersign_recommender", RECOMMENDER, {"countersigned": True})
    d.complete("countersign_bureau", BUREAU, {"countersigned": True})
    assert d.state() == "running" and d.names() == []
    [task] = d.finance_pays("FIN-42")
    assert task["topic"] == "finance-payment" and task["process_instance_id"] == d.instance_id
    assert task["data"]["first_release"] == 72.0 and task["data"]["project_id"] == d.data()["project_id"]
    assert d.state() == "completed" and d.data()["payment_reference"] == "FIN-42"
    assert d.finance_pays() == []
