"""The printed documents of a project's funds, generated from the register, the budget tables and
the funds ledger in the bureau's layout (engine/core/pdf_layout.py), in Chinese: the task contract
(任务书) with its parties, period, budget table and milestones, and the funds recovery notice
(经费追回通知书) with what was paid, what is due and what came back. This module owns their wording
and what goes in them; who may download them is engine/runtime/access.py's decision, and the
pages reach them through engine/workspace/project_documents.py. Amounts are in 10k CNY (万元)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.core import pdf_layout
from engine.core.pdf_layout import Document, Heading, Signatures, Table, Text
from engine.lifecycle import funds, projects

INSTITUTION = "项目管理专业机构"
MILESTONES = {"annual_report": "年度执行报告", "midterm": "中期检查", "end": "执行期满，申请验收"}


def _zh(text: str | None) -> str:
    """The Chinese half of a "中文 · English" text (the documents are in Chinese)."""
    return (text or "").split(" · ")[0]


def _wan(value: float | None) -> str:
    return "" if value is None else f"{float(value):,.2f}"


def budget_rows(lines: list[dict[str, Any]]) -> tuple[list[list[str]], list[str]]:
    """The budget table's rows (every category, in order) and its total row."""
    by_category = {line["category"]: line for line in funds.normalise(lines)}
    rows = []
    for category, label in funds.CATEGORIES.items():
        line = by_category.get(category, {"municipal": 0.0, "self_raised": 0.0})
        rows.append([_zh(label), _wan(line["municipal"]), _wan(line["self_raised"]),
                     _wan(line["municipal"] + line["self_raised"])])
    total = funds.totals(lines)
    return rows, ["合计", _wan(total["municipal"]), _wan(total["self_raised"]), _wan(total["total"])]


def contract(session: Session, project_id: int, terms: dict[str, Any] | None = None,
             labels: dict[str, str] | None = None) -> bytes:
    """The task contract as PDF. `terms` are the contract's own data (contract_no,
    contract_targets, assessment_indicators) when the process has them; `labels` name the codes
    (plan category, discipline) as the application form does."""
    project = projects.get(session, project_id)
    terms, labels = terms or {}, labels or {}
    period = (f"{project.start_date.isoformat()} 至 {project.end_date.isoformat()}"
              if project.start_date and project.end_date else f"{project.period_months} 个月（自任务书签订之日起）")
    blocks: list[Any] = [
        Heading("一、项目基本情况"),
        Table(["项目", "内容"], [
            ["任务书编号", str(terms.get("contract_no") or "")],
            ["项目编号", str(project.id)],
            ["项目名称", project.title],
            ["计划类别", _zh(labels.get(project.plan_category, project.plan_category))],
            ["学科领域", _zh(labels.get(project.discipline, project.discipline))],
            ["执行期", period],
            ["申请经费（万元）", _wan(project.budget)],
            ["资助金额（万元）", _wan(project.approved_funding)],
        ], widths=[0.3, 0.7]),
        Heading("二、合同各方"),
        Table(["角色", "名称"], [
            ["甲方（委托方）", pdf_layout.ISSUER],
            ["乙方（承担单位）", project.organisation],
            ["项目负责人", project.investigator],
            ["项目管理", INSTITUTION],
        ], widths=[0.3, 0.7]),
    ]
    rows, total = budget_rows(funds.budget(session, project.id, "contract"))
    blocks += [Heading("三、经费预算（万元）"),
               Table(["预算科目", "市财政经费", "自筹/配套经费", "合计"], rows, widths=[0.4, 0.2, 0.2, 0.2],
                     total=total)]
    blocks.append(Heading("四、进度安排与考核节点"))
    if project.start_date and project.end_date:
        ahead = projects.milestones(project)
        blocks.append(Table(["日期", "节点"], [
            [m["on"].isoformat(), MILESTONES.get(m["kind"], m["kind"]) + (f"（第 {m['year']} 年）" if m.get("year") else "")]
            for m in ahead], widths=[0.3, 0.7]))
    else:
        blocks.append(Text("执行期自任务书签订之日起计算；每满一年提交年度执行报告，执行期过半进行中期检查，"
                           "期满后六个月内申请验收。"))
    if terms.get("contract_targets") or terms.get("assessment_indicators"):
        blocks += [Heading("五、目标任务与考核指标"),
                   Text(str(terms.get("contract_targets") or "")),
                   Text(str(terms.get("assessment_indicators") or ""))]
    blocks.append(Signatures([("甲方（盖章）", pdf_layout.ISSUER), ("乙方（盖章）", project.organisation),
                              ("项目负责人（签字）", project.investigator)]))
    return pdf_layout.render(Document("科技计划项目任务书", blocks, subtitle=project.title))


def recovery_notice(session: Session, project_id: int) -> bytes:
    """The funds recovery notice as PDF: why, what was paid, what is due, what came back."""
    project = projects.get(session, project_id)
    summary = funds.summary(session, project.id)
    ledger = [e for e in funds.entries(session, project.id) if e.kind in ("recovery_due", "recovered")]
    reason = _zh(project.outcome_reason) or _zh(projects.STATUSES.get(project.status, project.status))
    blocks: list[Any] = [
        Text(f"{project.organisation}、{project.investigator}："),
        Text(f"你单位承担的科技计划项目「{project.title}」（项目编号 {project.id}）"
             f"已{_zh(projects.STATUSES.get(project.status, project.status))}。原因：{reason}。"
             "根据经费清算和审计结果，应退回未使用及不合规使用的市财政经费，请于收到本通知之日起 30 日内"
             "退回市科学技术局指定账户，并将退款凭证报项目管理专业机构。"),
        Heading("经费情况（万元）"),
        Table(["项目", "金额"], [
            ["资助金额", _wan(summary["approved"])],
            ["已拨付", _wan(project.funds_released)],
            ["应追回", _wan(summary["recovery_due"])],
            ["已退回", _wan(summary["recovered"])],
            ["尚待退回", _wan(summary["to_recover"])],
        ], widths=[0.5, 0.5]),
    ]
    if ledger:
        blocks += [Heading("追回明细"),
                   Table(["日期", "事项", "金额（万元）", "凭证号"],
                         [[e.on.isoformat(), _zh(funds.ENTRY_KINDS[e.kind]), _wan(e.amount), e.reference or ""]
                          for e in ledger], widths=[0.2, 0.3, 0.2, 0.3])]
    blocks.append(Signatures([("市科学技术局（盖章）", "")], dated=projects.today()))
    return pdf_layout.render(Document("科技计划项目经费追回通知书", blocks, subtitle=project.title))
