"""Tables as files people open in a spreadsheet: CSV (UTF-8 with a byte-order mark, so Excel shows
Chinese correctly) and Excel .xlsx (openpyxl, with a bold frozen header, sensible column widths
and real date cells). Text that a spreadsheet would run as a formula (starting with =, +, -, @)
is prefixed with an apostrophe, so an exported project title cannot become a formula. Also the
attention list's columns in both languages, and the project register and the funds ledger as
workbooks for those access.may_export_registers lets read them."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.supervision.attention import Item
from engine.core.calendar import BUREAU_TZ
from engine.core.errors import Forbidden
from engine.core.principals import Actor
from engine.lifecycle import funds, projects
from engine.runtime import access

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]
    width: int = 16


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(BUREAU_TZ).replace(tzinfo=None)  # bureau wall-clock time
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return _safe(value)


def to_csv(rows: Iterable[Any], columns: list[Column]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    for row in rows:
        values = []
        for column in columns:
            value = _cell(column.value(row))
            values.append(value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value)
        writer.writerow(values)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: Iterable[Any], columns: list[Column], sheet: str = "Sheet1") -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = sheet[:31]
    ws.append([c.header for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    for row in rows:
        ws.append([_cell(c.value(row)) for c in columns])
    for index, column in enumerate(columns, start=1):
        for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_HEADERS = {
    "zh_CN": ("类型", "流程实例", "流程", "项目名称", "环节", "环节名称", "起始时间", "已等待(工作日)",
              "等待", "说明", "任务", "阶段"),
    "en": ("Kind", "Instance", "Process", "Project", "Element", "Element name", "Since",
           "Age (working days)", "Waiting for", "Message", "Task", "Stage"),
}
KIND_NAMES = {
    "zh_CN": {"error": "运行错误", "overdue": "任务逾期", "unassignable": "无人可办", "quiet": "长期无进展",
              "timer": "定时器未触发"},
    "en": {"error": "Error", "overdue": "Overdue", "unassignable": "Nobody can take it",
           "quiet": "No progress", "timer": "Timer not fired"},
}


def attention_columns(language: str = "zh_CN") -> list[Column]:
    language = language if language in _HEADERS else "zh_CN"
    h, kinds = _HEADERS[language], KIND_NAMES[language]
    return [
        Column(h[0], lambda i: kinds.get(i.kind, i.kind), 14),
        Column(h[1], lambda i: i.instance_id, 10),
        Column(h[2], lambda i: i.process_name, 22),
        Column(h[3], lambda i: i.title, 36),
        Column(h[4], lambda i: i.element, 18),
        Column(h[5], lambda i: i.element_name, 22),
        Column(h[6], lambda i: i.since, 18),
        Column(h[7], lambda i: i.age_days, 12),
        Column(h[8], lambda i: i.waiting_for, 24),
        Column(h[9], lambda i: i.message, 40),
        Column(h[10], lambda i: i.task_id, 38),
        Column(h[11], lambda i: i.stage, 22),
    ]


def attention_file(items: list[Item], fmt: str, language: str = "zh_CN") -> tuple[bytes, str, str]:
    """(content, mime type, file extension) of the attention list in `fmt` (csv or xlsx)."""
    columns = attention_columns(language)
    if fmt == "xlsx":
        return (to_xlsx(items, columns, "attention"),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
    return to_csv(items, columns), "text/csv; charset=utf-8", "csv"


# --- the project register and the funds ledger (issue 17) ------------------------------------------

_REGISTER_HEADERS = {
    "zh_CN": ("项目编号", "项目名称", "计划类别", "承担单位", "项目负责人", "状态", "申请经费(万元)", "资助金额(万元)",
              "已拨付(万元)", "开始日期", "结束日期", "申报时间"),
    "en": ("Project no.", "Title", "Plan category", "Undertaking unit", "Investigator", "Status",
           "Requested (10k CNY)", "Approved (10k CNY)", "Released (10k CNY)", "Start", "End", "Submitted"),
}
_LEDGER_HEADERS = {
    "zh_CN": ("项目编号", "项目名称", "日期", "事项", "金额(万元)", "凭证号", "说明"),
    "en": ("Project no.", "Title", "Date", "Entry", "Amount (10k CNY)", "Reference", "Note"),
}


def _half(text: str | None, language: str) -> str:
    """One language's half of a "中文 · English" text."""
    parts = (text or "").split(" · ")
    return parts[0] if language == "zh_CN" or len(parts) == 1 else parts[-1]


def _check_register_reader(actor: Actor) -> None:
    if not access.may_export_registers(actor):
        raise Forbidden("the project register and the funds ledger are for the institution, the bureau and supervisors")


def project_register_xlsx(session: Session, actor: Actor, language: str = "zh_CN") -> bytes:
    """Every project of the register, one row each, oldest first."""
    _check_register_reader(actor)
    language = language if language in _REGISTER_HEADERS else "zh_CN"
    h = _REGISTER_HEADERS[language]
    columns = [
        Column(h[0], lambda p: p.id, 10), Column(h[1], lambda p: p.title, 40), Column(h[2], lambda p: p.plan_category, 16),
        Column(h[3], lambda p: p.organisation, 28), Column(h[4], lambda p: p.investigator, 12),
        Column(h[5], lambda p: _half(projects.STATUSES.get(p.status, p.status), language), 16),
        Column(h[6], lambda p: p.budget, 14), Column(h[7], lambda p: p.approved_funding, 14),
        Column(h[8], lambda p: p.funds_released, 14), Column(h[9], lambda p: p.start_date, 12),
        Column(h[10], lambda p: p.end_date, 12), Column(h[11], lambda p: p.submitted_at, 18)]
    rows = session.scalars(select(projects.Project).order_by(projects.Project.id))
    return to_xlsx(rows, columns, "项目库" if language == "zh_CN" else "Projects")


def funds_ledger_xlsx(session: Session, actor: Actor, language: str = "zh_CN") -> bytes:
    """Every ledger row, by project and date."""
    _check_register_reader(actor)
    language = language if language in _LEDGER_HEADERS else "zh_CN"
    h = _LEDGER_HEADERS[language]
    titles: dict[int, str] = {}

    def title(entry: Any) -> str:
        if entry.project_id not in titles:
            titles[entry.project_id] = projects.get(session, entry.project_id).title
        return titles[entry.project_id]
    columns = [
        Column(h[0], lambda e: e.project_id, 10), Column(h[1], title, 40), Column(h[2], lambda e: e.on, 12),
        Column(h[3], lambda e: _half(funds.ENTRY_KINDS.get(e.kind, e.kind), language), 14),
        Column(h[4], lambda e: e.amount, 14), Column(h[5], lambda e: e.reference or "", 18),
        Column(h[6], lambda e: e.note or "", 30)]
    return to_xlsx(funds.entries(session), columns, "经费台账" if language == "zh_CN" else "Funds ledger")
