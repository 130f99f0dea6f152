"""Tables as files people open in a spreadsheet: CSV (UTF-8 with a byte-order mark, so Excel shows
Chinese correctly) and Excel .xlsx (openpyxl, with a bold frozen header, sensible column widths
and real date cells). Text that a spreadsheet would run as a formula (starting with =, +, -, @)
is prefixed with an apostrophe, so an exported project title cannot become a formula. Also the
attention list's columns in both languages."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from engine.supervision.attention import Item
from engine.core.calendar import BUREAU_TZ

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
