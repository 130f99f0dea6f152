"""Change requests of a project in execution (项目变更). This module owns the rules: which
changes are major (undertaking unit, investigator, period, targets, total budget, termination:
recommending unit, then the institution, then the bureau) and which are general (team members: approved by the
undertaking unit and filed with the institution); a period change at most once, by at most 12
months, asked at least 60 days before the end date; and what an approved change does to the
project register (a change of undertaking unit names a registered organisation; once approved the
project's routing follows it, lifecycle.units). A request that breaks a rule is refused at once, with the reasons, and never
reaches a reviewer."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import clock
from engine.lifecycle import organisations, projects
from engine.core.errors import NotFound
from engine.core.models import Base

MAJOR = {
    "organisation": "变更承担单位 · Change of undertaking unit",
    "investigator": "变更项目负责人 · Change of principal investigator",
    "period": "延长实施周期 · Extension of the period",
    "targets": "调整考核指标 · Change of targets",
    "budget_total": "调整总经费 · Change of the total budget",
    "termination": "申请终止 · Termination",
}
GENERAL = {"team_members": "变更项目组成员 · Change of team members"}
KINDS = {**MAJOR, **GENERAL}
MAX_PERIOD_CHANGES = 1
MAX_EXTENSION_MONTHS = 12
MIN_DAYS_BEFORE_END = 60
REQUESTED, REFUSED, APPROVED, REJECTED = "requested", "refused", "approved", "rejected"


class ProjectChange(Base):
    __tablename__ = "project_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    major: Mapped[bool] = mapped_column(Boolean)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12))
    refusals: Mapped[list[str]] = mapped_column(JSON, default=list)
    reviews: Mapped[list[Any]] = mapped_column(JSON, default=list)
    requested_at: Mapped[datetime]
    requested_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None]

    def to_dict(self) -> dict[str, Any]:
        return {"change_id": self.id, "project_id": self.project_id, "kind": self.kind,
                "kind_label": KINDS.get(self.kind, self.kind), "major": self.major, "status": self.status,
                "refusals": list(self.refusals or []), "details": dict(self.details or {})}


def _rule_refusals(session: Session, project: projects.Project, kind: str, details: dict[str, Any],
                   today: date) -> list[str]:
    reasons = []
    new_unit = str(details.get("new_value") or "").strip()
    if kind == "organisation" and new_unit:
        # the new unit acts in what follows (review, signatures, reports), so it must be known
        if organisations.by_name(session, new_unit) is None:
            reasons.append(f"变更后的承担单位「{new_unit}」未在本系统注册 · the new undertaking unit '{new_unit}' "
                           "is not registered with the bureau")
        elif new_unit == project.organisation:
            reasons.append(f"变更后的承担单位与现单位相同 · '{new_unit}' is already the undertaking unit")
    if project.status != "in_progress":
        reasons.append(f"项目不在执行期 · the project is {project.status}, not in progress")
    if kind in ("organisation", "investigator") and not str(details.get("new_value") or "").strip():
        reasons.append("请填写变更后的单位或负责人 · name the new unit or investigator")
    if kind == "budget_total" and not (isinstance(details.get("new_budget"), (int, float))
                                       and details["new_budget"] > 0):
        reasons.append("请填写调整后的总经费 · give the new total budget")
    if kind == "period":
        months = details.get("extension_months")
        if project.period_changes >= MAX_PERIOD_CHANGES:
            reasons.append("实施周期只能变更一次 · the period may be changed only once")
        if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_EXTENSION_MONTHS:
            reasons.append(f"延期不超过 {MAX_EXTENSION_MONTHS} 个月 · an extension is 1 to "
                           f"{MAX_EXTENSION_MONTHS} whole months, not {months!r}")
        if project.end_date is not None and (project.end_date - today).days < MIN_DAYS_BEFORE_END:
            reasons.append(f"须在结束日期前至少 {MIN_DAYS_BEFORE_END} 天提出 · a period change must be asked at "
                           f"least {MIN_DAYS_BEFORE_END} days before the end date ({project.end_date.isoformat()})")
    return reasons


def request(session: Session, project_id: int, kind: str, details: dict[str, Any],
            by: str | None) -> ProjectChange:
    """Record a request; it is `refused` with reasons when it breaks a rule."""
    if kind not in KINDS:
        raise ValueError(f"unknown change kind '{kind}'; use one of {', '.join(KINDS)}")
    if not isinstance(details, dict):
        raise ValueError("change details must be an object")
    project = projects.get(session, project_id)
    refusals = _rule_refusals(session, project, kind, details, projects.today())
    change = ProjectChange(project_id=project.id, kind=kind, major=kind in MAJOR, details=dict(details),
                           status=REFUSED if refusals else REQUESTED, refusals=refusals, reviews=[],
                           requested_at=clock.now(), requested_by=by)
    session.add(change)
    session.flush()
    projects.note(project, "change_requested", {"change_id": change.id, "kind": kind, "status": change.status})
    return change


def get(session: Session, change_id: Any) -> ProjectChange:
    if isinstance(change_id, bool) or not isinstance(change_id, int):
        raise ValueError(f"a change id is a whole number, not {change_id!r}")
    change = session.get(ProjectChange, change_id)
    if change is None:
        raise NotFound(f"change request {change_id} not found")
    return change


def review(session: Session, change_id: int, level: str, decision: str, by: str | None,
           comment: str | None = None) -> ProjectChange:
    """One reviewer's decision (unit, recommender, institution, bureau); a rejection ends the request, the
    final approval applies it."""
    change = get(session, change_id)
    if change.status != REQUESTED:
        raise ValueError(f"change request {change_id} is {change.status}, not awaiting a decision")
    if decision not in ("approve", "reject"):
        raise ValueError(f"a change decision is approve or reject, not {decision!r}")
    change.reviews = [*(change.reviews or []), {"level": level, "decision": decision, "by": by,
                                                 "comment": comment, "at": clock.now().isoformat()}]
    return change


def conclude(session: Session, change_id: int, approved: bool) -> ProjectChange:
    change = get(session, change_id)
    if change.status != REQUESTED:
        raise ValueError(f"change request {change_id} is {change.status}, not awaiting a decision")
    change.status, change.decided_at = (APPROVED if approved else REJECTED), clock.now()
    project = projects.get(session, change.project_id)
    if approved:
        _apply(project, change)
    projects.note(project, f"change_{change.status}", {"change_id": change.id, "kind": change.kind})
    return change


def _apply(project: projects.Project, change: ProjectChange) -> None:
    details = change.details or {}
    if change.kind == "period":
        months = int(details["extension_months"])
        project.end_date = project.end_date + relativedelta(months=months) if project.end_date else None
        project.period_months += months
        project.period_changes += 1
        if project.end_date is not None:
            project.acceptance_due = project.end_date + relativedelta(months=projects.ACCEPTANCE_WINDOW_MONTHS)
    elif change.kind == "investigator":
        project.investigator = str(details["new_value"]).strip()
    elif change.kind == "organisation":
        project.organisation = str(details["new_value"]).strip()
    elif change.kind == "budget_total":
        # the award changes, not the request: `budget` stays what the applicant asked for, and the
        # tranches still to come are shares of the new approved funding
        project.approved_funding = float(details["new_budget"])
    # targets, team members and termination change no register field: the approved request
    # itself is the record (and termination is carried out by the process)


def changes_of(session: Session, project_id: int) -> list[ProjectChange]:
    return list(session.scalars(select(ProjectChange).where(ProjectChange.project_id == project_id)
                                .order_by(ProjectChange.requested_at, ProjectChange.id)))
