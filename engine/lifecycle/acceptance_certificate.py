"""The acceptance certificate (验收证书) a project gets when the bureau has confirmed a pass or a
close-out (结题) at acceptance (processes/acceptance.bpmn), generated from the register and the
acceptance's own data in the bureau's layout (engine/core/pdf_layout.py), in Chinese: the project,
its parties, its period, its funds (awarded, released, spent, accepted by the audit), the
conclusion with the group's score and opinion, and the date the bureau confirmed it. This module
owns the certificate's wording and when a project has one; who may download it is
engine/runtime/access.py's decision, reached through engine/workspace/project_documents.py.
Amounts are in 10k CNY (万元)."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine.core import pdf_layout
from engine.core.pdf_layout import Document, Heading, Signatures, Table, Text
from engine.lifecycle import funds_documents, projects

# the project statuses a confirmed acceptance leaves that carry a certificate (a fail has none)
CERTIFIED = {"passed": "验收通过", "closed_out": "结题（任务部分完成）"}
# a passed project moves on to its performance evaluation and then `evaluated`: it keeps its certificate
LATER = ("evaluated",)
AUDIT_OPINIONS = {"unqualified": "无保留意见", "qualified": "保留意见", "adverse": "否定意见"}


def has_certificate(project: projects.Project, data: dict[str, Any]) -> bool:
    """Whether the acceptance ended in a certificate: the bureau confirmed a pass or a close-out
    (the process writes `certificate_date` then, and only then)."""
    return bool(data.get("certificate_date")) and (project.status in CERTIFIED or project.status in LATER)


def _conclusion(project: projects.Project, data: dict[str, Any]) -> str:
    if data.get("status") in CERTIFIED:
        return CERTIFIED[str(data["status"])]
    return CERTIFIED.get(project.status, CERTIFIED["passed"])


def _wan(value: float | None) -> str:
    return "" if value is None else f"{float(value):,.2f}"


def _zh(text: str) -> str:
    """The Chinese half of a "中文 · English" text (the certificate is in Chinese)."""
    return text.split(" · ")[0]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def certificate(session: Session, project_id: int, data: dict[str, Any]) -> bytes:
    """The acceptance certificate as PDF. `data` is the acceptance instance's data (the score, the
    group's opinion, the spending claimed and audited, the confirmation date)."""
    project = projects.get(session, project_id)
    period = (f"{project.start_date.isoformat()} 至 {project.end_date.isoformat()}"
              if project.start_date and project.end_date else f"{project.period_months} 个月")
    try:
        confirmed = date.fromisoformat(str(data.get("certificate_date")))
    except ValueError:
        confirmed = projects.today()
    conclusion = _conclusion(project, data)
    score = _number(data.get("acceptance_score"))
    blocks: list[Any] = [
        Text(f"科技计划项目「{project.title}」（项目编号 {project.id}）经专家组验收、市科学技术局确认，"
             f"验收结论为：{conclusion}。特发此证。"),
        Heading("一、项目基本情况"),
        Table(["项目", "内容"], [
            ["项目编号", str(project.id)],
            ["项目名称", project.title],
            ["执行期", period],
        ], widths=[0.3, 0.7]),
        Heading("二、项目各方"),
        Table(["角色", "名称"], [
            ["项目下达单位", pdf_layout.ISSUER],
            ["承担单位", project.organisation],
            ["项目负责人", project.investigator],
            ["项目管理", funds_documents.INSTITUTION],
        ], widths=[0.3, 0.7]),
        Heading("三、经费情况（万元）"),
        Table(["项目", "金额"], [
            ["资助金额", _wan(project.approved_funding)],
            ["已拨付", _wan(project.funds_released)],
            ["实际支出", _wan(_number(data.get("funds_spent_total")))],
            ["审计认定支出", _wan(_number(data.get("eligible_spending")))],
            ["审计意见", AUDIT_OPINIONS.get(str(data.get("audit_opinion") or ""), "")],
        ], widths=[0.5, 0.5]),
        Heading("四、验收结论"),
        Table(["项目", "内容"], [
            ["验收结论", conclusion],
            ["专家组评分", "" if score is None else f"{score:g}"],
            ["确认日期", confirmed.isoformat()],
        ], widths=[0.3, 0.7]),
    ]
    if data.get("acceptance_opinion"):
        blocks += [Heading("五、专家组意见"), Text(str(data["acceptance_opinion"]))]
    if data.get("status") == "closed_out" and data.get("reason"):
        blocks.append(Text(f"结题说明：{_zh(str(data['reason']))}"))
    blocks.append(Signatures([("市科学技术局（盖章）", "")], dated=confirmed))
    return pdf_layout.render(Document("科技计划项目验收证书", blocks, subtitle=project.title))
