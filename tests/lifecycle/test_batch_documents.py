"""The batch documents (engine/lifecycle/batch_documents.py), generated from a decided batch's
data: the PDFs read back with pdftotext hold their titles, the project titles and the figures;
the workbooks open with openpyxl and hold one row per project; the notice lists the projects to
be funded and no reviewer."""
from __future__ import annotations

import io
import subprocess

from openpyxl import load_workbook

from engine.lifecycle import batch_documents, batches
from tests.lifecycle.batch_data import CATEGORIES, PROJECTS, batch_input

BANDS = [{"project_id": p["project_id"], "band": "recommend"} for p in PROJECTS]


def _batch(**extra) -> dict:  # type: ignore[no-untyped-def]
    data = batch_input()
    data["proposal"] = batches.propose(CATEGORIES, PROJECTS, data["reviews"], BANDS)
    return {**data, **extra}


DECIDED = {"decision_meeting": "bureau_meeting", "decision_date": "2026-03-04", "notice_published": "2026-03-05",
           "notice_ends": "2026-03-12T10:00:00+08:00", "notice_working_days": 5}


def _text(pdf: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def test_which_documents_exist_follows_the_batch_stage():
    assert batch_documents.available(batch_input()) == []
    assert batch_documents.available(_batch()) == ["ranked_list"]
    assert batch_documents.available(_batch(**DECIDED)) == ["ranked_list", "decision_list", "public_notice"]


def test_the_ranked_list_pdf_holds_the_title_each_category_with_its_budget_the_projects_and_figures():
    text = _text(batch_documents.render(_batch(), "ranked_list", "pdf"))
    assert "2027年度第一批科技计划项目立项建议排序名单" in text
    assert "重点研发（预算 1,000,000.00 元）" in text and "自然科学基金（预算 300,000.00 元）" in text
    assert "高熵合金激光增材制造工艺研究" in text and "500,000.00" in text and "900,000.00" in text
    assert "立项资助" in text and "入库储备" in text


def test_the_decision_list_and_the_notice_pdfs_hold_the_meeting_the_funded_projects_and_no_reviewer():
    decision = _text(batch_documents.render(_batch(**DECIDED), "decision_list", "pdf"))
    assert "立项决策名单" in decision and "局务会" in decision and "资助合计 900,000.00 元" in decision
    notice = _text(batch_documents.render(_batch(**DECIDED), "public_notice", "pdf"))
    assert "拟立项项目的公示" in notice and "2026年3月5日至2026年3月12日" in notice and "5 个工作日" in notice
    assert "固态电池界面稳定性研究" in notice and "400,000.00" in notice
    assert "碳纤维复合材料回收技术" not in notice  # reserved: not in the notice
    assert "专家" not in notice.replace("专家评审", "")  # names no reviewer


def test_the_workbooks_open_and_hold_one_row_per_project_with_numbers():
    book = load_workbook(io.BytesIO(batch_documents.render(_batch(**DECIDED), "ranked_list", "xlsx")))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("排名", "编号", "项目名称") and len(rows) == 1 + len(PROJECTS)
    first = rows[1]
    assert first[2] == "高熵合金激光增材制造工艺研究" and first[9] == 500000.0 and "重点研发" in first[-1]
    notice = load_workbook(io.BytesIO(batch_documents.render(_batch(**DECIDED), "public_notice", "xlsx")))
    funded = [r for r in notice.active.iter_rows(min_row=2, values_only=True)]
    assert [r[1] for r in funded] == [1, 2, 4]  # 5 does not fit, so 6 below it waits too
