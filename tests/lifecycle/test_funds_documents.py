"""The funds' documents read back: the task contract's PDF (title, parties, budget figures,
milestones) and the recovery notice's, with pdftotext; the project register and the funds ledger
as Excel workbooks opened with openpyxl; and who may have them (engine/runtime/access.py)."""
from __future__ import annotations

import io
import subprocess

import pytest
from openpyxl import load_workbook

from engine.core import commands
from engine.core.errors import Forbidden, NotFound
from engine.core.principals import Actor
from engine.lifecycle import funds, funds_documents
from engine.supervision import exports
from engine.workspace import project_documents
from tests.lifecycle.test_funds import APPROVE, CLEAN, _establishment, _terminate, lines  # noqa: F401
from tests.lifecycle.world import (APPLICANT, BUREAU, ORG, RECOMMENDER, STAFF, SUPERVISOR, sh)


def _text(data: bytes, tmp_path) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


FITTED = lines(equipment=35, materials=25, labour=20, experts=4, indirect=16)


def _contracted(db):  # type: ignore[no-untyped-def]
    d = _establishment(db, 100.0)
    d.complete("draft_contract", STAFF, {"contract_no": "HZKJ-2026-007", "contract_targets": "完成工艺规范与样件试制",
                                         "assessment_indicators": "发明专利 2 项"})
    d.complete("sign_contract", APPLICANT, {"contract_signed": True, "signatory": "张伟", "budget_lines": FITTED})
    d.unit_signs()
    d.complete("check_contract", STAFF, {"contract_check": "ok", "check_comment": "齐全"})
    d.complete("countersign_recommender", RECOMMENDER, {"countersigned": True})
    d.complete("countersign_bureau", BUREAU, {"countersigned": True})
    d.finance_pays()
    return d


def test_the_task_contract_holds_the_title_the_parties_the_budget_and_the_milestones(world, tmp_path):
    d = _contracted(world)
    pdf = commands.query(world, project_documents.contract, APPLICANT, d.instance_id)
    text = _text(pdf.content, tmp_path)
    assert "科技计划项目任务书" in text and "高熵合金激光增材制造工艺研究" in text and "HZKJ-2026-007" in text
    assert "市科学技术局" in text and ORG in text and "张伟" in text  # the parties
    assert "设备费" in text and "35.00" in text and "间接费用" in text and "16.00" in text
    assert "100.00" in text  # the municipal total, the approved funding
    assert "中期检查" in text and "2026-04-01 至 2028-03-31" in text
    assert "发明专利 2 项" in text


def test_the_contract_is_for_the_projects_parties_and_staff(world):
    d = _contracted(world)
    assert commands.query(world, project_documents.available, STAFF, d.instance_id)["contract"] is True
    with pytest.raises(Forbidden):
        commands.query(world, project_documents.contract, Actor("li.na", frozenset({"applicants"})), d.instance_id)


def test_the_recovery_notice_says_what_is_due_and_what_came_back(world, tmp_path):
    d = _terminate(world, "investigator_breach",
                   {"audit_opinion": "qualified", "eligible_spending": 30, "audit_findings": "20 万元支出不合规"})
    text = _text(commands.query(world, project_documents.recovery_notice, APPLICANT, d.instance_id).content, tmp_path)
    assert "经费追回通知书" in text and ORG in text and "张伟" in text
    assert "42.00" in text and "22.00" in text and "20.00" in text  # due, returned, outstanding


def test_no_recovery_notice_without_funds_to_recover(world):
    d = _contracted(world)
    with pytest.raises(NotFound):
        commands.query(world, project_documents.recovery_notice, APPLICANT, d.instance_id)


def test_the_project_register_and_the_funds_ledger_open_in_excel_with_their_rows(world):
    d = _contracted(world)
    project_id = d.data()["project_id"]
    book = load_workbook(io.BytesIO(commands.query(world, exports.project_register_xlsx, SUPERVISOR, "zh_CN")))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("项目编号", "项目名称", "计划类别")
    assert any(r[0] == project_id and r[5] == "执行中" and r[7] == 100.0 for r in rows[1:])
    ledger = load_workbook(io.BytesIO(commands.query(world, exports.funds_ledger_xlsx, BUREAU, "en")))
    entries = [r for r in ledger.active.iter_rows(values_only=True)][1:]
    assert [(r[0], r[3], r[4], r[5]) for r in entries] == [
        (project_id, "Tranche planned", 60.0, None), (project_id, "Paid", 60.0, "FIN-2026-0001")]
    assert len(commands.query(world, funds.entries)) == 2


def test_an_applicant_may_not_export_the_registers(world):
    with pytest.raises(Forbidden):
        commands.query(world, exports.funds_ledger_xlsx, APPLICANT, "zh_CN")
