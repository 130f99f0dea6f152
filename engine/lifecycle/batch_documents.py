"""The batch documents the bureau reads and publishes, generated in Chinese from a batch_decision
instance's data: the ranked list per plan category with scores and proposed funding, the decision
list after the collective decision, and the public notice (公示) of the projects to be funded, each
as a PDF (engine/core/pdf_layout.py) and an Excel workbook (openpyxl, the house style of the
supervisor's exports: bold frozen header row, set column widths). This module owns their wording
and columns; who may download which is engine/runtime/access.py's (`batch_documents`), and the
notice names the projects only, never a reviewer. `available` says which exist yet: the ranked
list once the proposal is made, the decision list once the bureau has decided, the notice once it
is published."""
from __future__ import annotations

import io
import re
from datetime import date
from typing import Any, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from engine.core import pdf_layout
from engine.core.pdf_layout import Document, Heading, Signatures, Table, Text
from engine.lifecycle.batches import FUNDED, category_map

RANKED_LIST, DECISION_LIST, PUBLIC_NOTICE = "ranked_list", "decision_list", "public_notice"
KINDS = (RANKED_LIST, DECISION_LIST, PUBLIC_NOTICE)
FORMATS = ("pdf", "xlsx")
TITLES = {RANKED_LIST: "立项建议排序名单", DECISION_LIST: "立项决策名单", PUBLIC_NOTICE: "拟立项项目公示"}
RESULTS_ZH = {"funded": "立项资助", "reserve": "入库储备", "not_funded": "不予立项"}
BANDS_ZH = {"key_recommend": "重点推荐", "recommend": "推荐", "reserve": "储备", "reject": "不推荐"}
MODES_ZH = {"mail": "函评", "meeting": "会评"}
MEETINGS_ZH = {"bureau_meeting": "局务会", "party_group_meeting": "党组会"}


def available(data: Mapping[str, Any]) -> list[str]:
    """The documents a batch's data can produce so far, in the order they come."""
    found = []
    if isinstance(data.get("proposal"), list):
        found.append(RANKED_LIST)
        if data.get("decision_meeting"):
            found.append(DECISION_LIST)
        if data.get("notice_published"):
            found.append(PUBLIC_NOTICE)
    return found


def filename(data: Mapping[str, Any], kind: str, fmt: str) -> str:
    return f"{data.get('call_key') or 'batch'}-{kind}.{fmt}"


def render(data: Mapping[str, Any], kind: str, fmt: str) -> bytes:
    """The document `kind` as `fmt` (pdf or xlsx) bytes."""
    if fmt == "pdf":
        return pdf_layout.render(_DOCUMENTS[kind](data))
    return _workbook(data, kind)


def _zh(text: Any) -> str:
    """The Chinese half of a "中文 · English" text."""
    return str(text or "").split(" · ", 1)[0]


def _call(data: Mapping[str, Any]) -> str:
    return f"{data.get('call_title') or ''}（{data.get('call_key') or ''}）"


def _groups(data: Mapping[str, Any]) -> list[tuple[dict[str, Any], list[Mapping[str, Any]]]]:
    cats = category_map(data.get("categories") or [])
    proposal = data.get("proposal") or []
    codes = list(cats) + sorted({i["category"] for i in proposal} - set(cats))
    return [(cats.get(code, {"code": code, "name": code, "budget": 0.0}),
             sorted((i for i in proposal if i["category"] == code), key=lambda i: i["rank"])) for code in codes]


def _ranked(data: Mapping[str, Any]) -> Document:
    doc = Document(f"{data.get('call_title') or ''}{TITLES[RANKED_LIST]}", subtitle=_call(data), wide=True)
    doc.blocks.append(Text("按计划类别列出经专家评审的项目，按综合得分排序（同分时有效意见多者、申请金额少者、项目编号小者在前），"
                           "在类别预算内提出资助建议。金额单位：元。"))
    for number, (category, items) in enumerate(_groups(data), start=1):
        doc.blocks.append(Heading(f"{number}. {category['name']}（预算 {pdf_layout.amount(category['budget'])} 元）"))
        rows = [[i["rank"], i["project_id"], i["title"], i.get("organisation", ""), i.get("investigator", ""),
                 f"{i['score']:g}", MODES_ZH.get(i.get("mode", ""), ""), BANDS_ZH.get(i.get("band", ""), ""),
                 pdf_layout.amount(i["requested_funding"]), pdf_layout.amount(i["amount"]),
                 RESULTS_ZH.get(i["result"], i["result"])] for i in items]
        funded = sum(i["amount"] for i in items if i["result"] == FUNDED)
        doc.blocks.append(Table(["排名", "编号", "项目名称", "承担单位", "负责人", "得分", "评审方式", "分档", "申请金额",
                                 "建议资助", "建议"], rows, widths=[0.5, 0.5, 2.6, 1.8, 0.8, 0.6, 0.7, 0.7, 1.1, 1.1, 0.8],
                                total=["合计", "", "", "", "", "", "", "", "", pdf_layout.amount(funded), ""]))
    return doc


def _decided(data: Mapping[str, Any]) -> Document:
    meeting = MEETINGS_ZH.get(str(data.get("decision_meeting") or ""), "集体决策会议")
    doc = Document(f"{data.get('call_title') or ''}{TITLES[DECISION_LIST]}", subtitle=_call(data), wide=True)
    doc.blocks.append(Text(f"经{data.get('decision_date') or ''}{meeting}集体研究，对本批次立项名单作出如下决定。金额单位：元。"))
    for number, (category, items) in enumerate(_groups(data), start=1):
        funded = sum(i["amount"] for i in items if i["result"] == FUNDED)
        doc.blocks.append(Heading(f"{number}. {category['name']}（预算 {pdf_layout.amount(category['budget'])} 元，"
                                  f"资助合计 {pdf_layout.amount(funded)} 元）"))
        rows = [[i["rank"], i["project_id"], i["title"], i.get("organisation", ""), f"{i['score']:g}",
                 RESULTS_ZH.get(i["result"], i["result"]), pdf_layout.amount(i["amount"]), _zh(i.get("reason"))]
                for i in items]
        doc.blocks.append(Table(["排名", "编号", "项目名称", "承担单位", "得分", "决定", "资助金额", "理由"], rows,
                                widths=[0.5, 0.5, 2.4, 1.7, 0.6, 0.8, 1.1, 3.0]))
    doc.blocks.append(Signatures([("市科学技术局（盖章）", "")], dated=_date(data.get("decision_date"))))
    return doc


def _notice(data: Mapping[str, Any]) -> Document:
    doc = Document(f"关于{data.get('call_title') or ''}拟立项项目的公示", subtitle=_call(data))
    listed = [i for _, items in _groups(data) for i in items if i["result"] == FUNDED or i.get("objection")]
    doc.blocks.append(Text(f"根据科技计划项目管理有关规定，经形式审查、专家评审和集体决策，现将{data.get('call_title') or ''}"
                           f"拟立项项目予以公示。公示期为{_day(data.get('notice_published'))}至{_day(data.get('notice_ends'))}"
                           f"（{data.get('notice_working_days') or 5} 个工作日）。"))
    doc.blocks.append(Text("公示期内，对公示项目有异议的，请以实名书面形式向市科学技术局提出，写明异议人姓名、身份证号和联系电话，"
                           "并附签名的书面材料；匿名异议不予受理。"))
    rows = [[n, i["project_id"], i["title"], i.get("organisation", ""), i.get("investigator", ""),
             i.get("category_name", i["category"]), pdf_layout.amount(i["amount"] if i["result"] == FUNDED else 0)]
            for n, i in enumerate(listed, start=1)]
    doc.blocks.append(Table(["序号", "编号", "项目名称", "承担单位", "项目负责人", "计划类别", "拟资助金额（元）"], rows,
                            widths=[0.5, 0.6, 2.6, 1.8, 0.9, 1.1, 1.3]))
    doc.blocks.append(Signatures([("市科学技术局", "")], dated=_date(data.get("notice_published"))))
    return doc


def _day(value: Any) -> str:
    found = _date(value)
    return f"{found.year}年{found.month}月{found.day}日" if found else ""


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


_DOCUMENTS = {RANKED_LIST: _ranked, DECISION_LIST: _decided, PUBLIC_NOTICE: _notice}


def _workbook(data: Mapping[str, Any], kind: str) -> bytes:
    document = _DOCUMENTS[kind](data)
    book = Workbook()
    sheet = book.active
    sheet.title = TITLES[kind][:31]
    header: Sequence[str] | None = None
    category = ""
    for block in document.blocks:
        if isinstance(block, Heading):
            category = block.text
        elif isinstance(block, Table):
            if header is None:
                header = list(block.header) + (["计划类别"] if kind != PUBLIC_NOTICE else [])
                sheet.append(header)
                for cell in sheet[1]:
                    cell.font = Font(bold=True)
                sheet.freeze_panes = "A2"
            for row in block.rows:
                sheet.append([_cell(v) for v in row] + ([category] if kind != PUBLIC_NOTICE else []))
    for index, title in enumerate(header or [], start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 40 if title in ("项目名称", "理由") else 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: Any) -> Any:
    """Amounts back to numbers in the workbook (the PDF prints them with separators)."""
    if isinstance(value, str) and _NUMBER.match(value):
        return float(value.replace(",", ""))
    return value


_NUMBER = re.compile(r"^-?\d{1,3}(,\d{3})*(\.\d+)?$|^-?\d+(\.\d+)?$")
