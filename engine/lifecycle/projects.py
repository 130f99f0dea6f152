"""The project register (项目库): one row per application, from submission to the end of its
life, holding the facts that outlive a single process step or are shared by parallel branches
(status, dates, funding, changes, milestones done). The processes write it through script
services; reviewers, the submission gate and duplicate detection read it. This module owns the
statuses and their meaning, the submission gate's project rules (open projects, overdue
acceptance), staged funding and the schedule of in-process milestones (yearly reports, mid-term
check, end of the period)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import JSON, Boolean, Date, Float, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import clock
from engine.core.calendar import BUREAU_TZ
from engine.core.errors import InvalidData, NotFound
from engine.core.models import Base

STATUSES = {
    "submitted": "已申报 · Submitted",
    "accepted": "已受理 · Accepted",
    "not_accepted": "不予受理 · Not accepted",
    "under_review": "评审中 · Under review",
    "reserved": "入储备库 · Reserved",
    "not_established": "不予立项 · Not established",
    "established": "已立项 · Established",
    "lapsed": "立项失效 · Lapsed",
    "in_progress": "执行中 · In progress",
    "terminated": "已终止 · Terminated",
    "awaiting_acceptance": "待验收 · Awaiting acceptance",
    "passed": "验收通过 · Passed acceptance",
    "failed": "验收不通过 · Failed acceptance",
    "closed_out": "结题 · Closed out (tasks partly met)",
    "revoked": "已撤销 · Revoked",
    "evaluated": "已绩效评价 · Evaluated",
}
# established and not yet through acceptance: what counts against an investigator's limit
OPEN = ("established", "in_progress", "awaiting_acceptance")
MAX_OPEN_PROJECTS = 2
ACCEPTANCE_WINDOW_MONTHS = 6  # apply for acceptance within 6 months after the end date
MILESTONE_HOUR = time(9, 0)  # timers fire at 09:00 in the bureau, not at midnight
FACT_FIELDS = ("start_date", "end_date", "approved_funding", "score", "recommendation", "rating",
               "stage", "funding_suspended", "midterm_done", "reports_done", "outcome_reason")


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_investigator_status", "investigator", "status"),
                      Index("ix_projects_category_status", "plan_category", "status"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    abstract: Mapped[str] = mapped_column(Text, default="")
    plan_category: Mapped[str] = mapped_column(String(40))
    discipline: Mapped[str] = mapped_column(String(40))
    organisation: Mapped[str] = mapped_column(String(200), index=True)
    investigator: Mapped[str] = mapped_column(String(80))
    applicant: Mapped[str | None] = mapped_column(String(80), index=True)
    team: Mapped[list[str]] = mapped_column(JSON, default=list)
    partners: Mapped[list[str]] = mapped_column(JSON, default=list)
    budget: Mapped[float] = mapped_column(Float)
    period_months: Mapped[int] = mapped_column(Integer)
    approved_funding: Mapped[float | None] = mapped_column(Float)
    funds_released: Mapped[float] = mapped_column(Float, default=0.0)
    funding_suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(30), index=True)
    stage: Mapped[str] = mapped_column(String(40), default="application_acceptance")
    submitted_at: Mapped[datetime]
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    acceptance_due: Mapped[date | None] = mapped_column(Date)
    period_changes: Mapped[int] = mapped_column(Integer, default=0)
    reports_done: Mapped[int] = mapped_column(Integer, default=0)
    midterm_done: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[float | None] = mapped_column(Float)
    recommendation: Mapped[str | None] = mapped_column(String(30))
    rating: Mapped[str | None] = mapped_column(String(20))
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    call_key: Mapped[str | None] = mapped_column(String(40), index=True)  # the call it was made under
    terms_norm: Mapped[float] = mapped_column(Float, default=0.0)  # for duplicate detection
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]

    def facts(self) -> dict[str, Any]:
        """The project as plain JSON values (what a process may keep in its data)."""
        def iso(value: date | None) -> str | None:
            return value.isoformat() if value else None
        return {"project_id": self.id, "title": self.title, "plan_category": self.plan_category,
                "discipline": self.discipline, "organisation": self.organisation,
                "investigator": self.investigator, "applicant": self.applicant, "team": list(self.team or []),
                "partners": list(self.partners or []), "budget": self.budget,
                "period_months": self.period_months, "approved_funding": self.approved_funding,
                "funds_released": self.funds_released, "funding_suspended": self.funding_suspended,
                "status": self.status, "status_label": STATUSES.get(self.status, self.status),
                "stage": self.stage, "start_date": iso(self.start_date), "end_date": iso(self.end_date),
                "acceptance_due": iso(self.acceptance_due), "period_changes": self.period_changes,
                "reports_done": self.reports_done, "midterm_done": self.midterm_done, "score": self.score,
                "recommendation": self.recommendation, "rating": self.rating,
                "outcome_reason": self.outcome_reason, "call_key": self.call_key}


def today() -> date:
    return clock.now().astimezone(BUREAU_TZ).date()


def get(session: Session, project_id: Any) -> Project:
    if isinstance(project_id, bool) or not isinstance(project_id, int):
        raise ValueError(f"a project id is a whole number, not {project_id!r}")
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"project {project_id} not found")
    return project


def _names(values: Any) -> list[str]:
    """Names from a list of strings or of {name: ...} objects (a form's dynamic list)."""
    names = []
    for value in values or []:
        name = value.get("name") if isinstance(value, dict) else value
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
    return list(dict.fromkeys(names))


APPLICATION_FIELDS = ("title", "abstract", "plan_category", "discipline", "organisation",
                      "principal_investigator", "budget", "period_months")


def register(session: Session, application: dict[str, Any], applicant: str | None,
             instance_id: int | None = None) -> Project:
    """Enter a submitted application in the register."""
    missing = [k for k in APPLICATION_FIELDS if application.get(k) in (None, "")]
    if missing:
        raise InvalidData(f"the application misses {', '.join(missing)}", {k: ["Required."] for k in missing})
    now = clock.now()
    project = Project(title=str(application["title"]).strip(), abstract=str(application["abstract"]).strip(),
                      plan_category=application["plan_category"], discipline=application["discipline"],
                      organisation=str(application["organisation"]).strip(),
                      investigator=str(application["principal_investigator"]).strip(), applicant=applicant,
                      team=_names(application.get("team")), partners=_names(application.get("partner_units")),
                      budget=float(application["budget"]), period_months=int(application["period_months"]),
                      status="submitted", stage="application_acceptance", submitted_at=now,
                      funds_released=0.0, funding_suspended=False, period_changes=0, reports_done=0,
                      midterm_done=False, terms_norm=0.0, history=[], updated_at=now,
                      call_key=str(application["call_key"]) if application.get("call_key") else None)
    session.add(project)
    session.flush()
    note(project, "submitted", {"instance_id": instance_id} if instance_id else None)
    return project


def update_application(session: Session, project_id: int, application: dict[str, Any]) -> Project:
    """A corrected application replaces the registered text and figures."""
    project = get(session, project_id)
    if application.get("title"):
        project.title = str(application["title"]).strip()
    if application.get("abstract"):
        project.abstract = str(application["abstract"]).strip()
    if application.get("budget") not in (None, ""):
        project.budget = float(application["budget"])
    if "team" in application:
        project.team = _names(application.get("team"))
    if "partner_units" in application:
        project.partners = _names(application.get("partner_units"))
    note(project, "corrected")
    return project


def note(project: Project, event: str, details: dict[str, Any] | None = None) -> None:
    """Append to the project's own timeline (what happened, when)."""
    entry = {"at": clock.now().isoformat(), "event": event}
    if details:
        entry.update(details)
    project.history = [*(project.history or []), entry]
    project.updated_at = clock.now()


def set_status(session: Session, project_id: int, status: str, reason: str | None = None,
               facts: dict[str, Any] | None = None) -> Project:
    if status not in STATUSES:
        raise ValueError(f"unknown project status '{status}'; use one of {', '.join(STATUSES)}")
    project = get(session, project_id)
    for key, value in (facts or {}).items():
        if key not in FACT_FIELDS:
            raise ValueError(f"'{key}' is not a project fact that may be set; use one of {', '.join(FACT_FIELDS)}")
        if key in ("start_date", "end_date") and isinstance(value, str):
            value = date.fromisoformat(value[:10])
        setattr(project, key, value)
    before, project.status = project.status, status
    if reason:
        project.outcome_reason = reason
    if project.end_date is not None:
        project.acceptance_due = project.end_date + relativedelta(months=ACCEPTANCE_WINDOW_MONTHS)
    note(project, "status", {"from": before, "to": status, **({"reason": reason} if reason else {})})
    return project


def establish(session: Session, project_id: int, funding: float, start: date) -> Project:
    """Fix the period once the contract is signed: it starts on `start` and runs the
    application's number of months (ending the day before the same date)."""
    project = get(session, project_id)
    end = start + relativedelta(months=project.period_months) - timedelta(days=1)
    return set_status(session, project_id, "in_progress", None,
                      {"approved_funding": float(funding), "start_date": start, "end_date": end,
                       "stage": "in_process_management"})


def open_projects(session: Session, investigator: str) -> list[Project]:
    return list(session.scalars(select(Project).where(Project.investigator == investigator.strip(),
                                                      Project.status.in_(OPEN))))


def overdue_acceptances(session: Session, investigator: str, on: date | None = None) -> list[Project]:
    """Projects past their acceptance deadline and still not through acceptance."""
    day = on or today()
    return list(session.scalars(select(Project).where(
        Project.investigator == investigator.strip(), Project.status.in_(OPEN),
        Project.acceptance_due.is_not(None), Project.acceptance_due < day)))


def project_refusals(session: Session, investigator: str, on: date | None = None) -> list[str]:
    """Why this investigator may not submit now, from the register's side (empty: may submit)."""
    reasons = []
    current = open_projects(session, investigator)
    if len(current) >= MAX_OPEN_PROJECTS:
        reasons.append(f"项目负责人已有 {len(current)} 项在研项目（上限 {MAX_OPEN_PROJECTS - 1} 项方可申报）· "
                       f"the investigator already leads {len(current)} open projects; at most "
                       f"{MAX_OPEN_PROJECTS - 1} may be open when applying")
    for project in overdue_acceptances(session, investigator, on):
        reasons.append(f"项目负责人有逾期未验收项目「{project.title}」· the investigator has a project past "
                       f"its acceptance deadline ({project.acceptance_due.isoformat()}): {project.title}")
    return reasons


def release_funding(session: Session, project_id: int, ratio: float) -> float:
    """Release `ratio` of the approved funding (staged funding); returns the amount released.
    Never more than what is left, and nothing while funding is suspended."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
        raise ValueError(f"a funding ratio is a number in (0, 1], not {ratio!r}")
    project = get(session, project_id)
    if project.funding_suspended:
        raise ValueError(f"funding of project {project_id} is suspended")
    total = project.approved_funding or 0.0
    amount = round(min(total * ratio, total - project.funds_released), 2)
    if amount <= 0:
        return 0.0
    project.funds_released = round(project.funds_released + amount, 2)
    note(project, "funds_released", {"amount": amount, "released": project.funds_released})
    return amount


def suspend_funding(session: Session, project_id: int, suspended: bool) -> Project:
    project = get(session, project_id)
    project.funding_suspended = bool(suspended)
    note(project, "funding_suspended" if suspended else "funding_resumed")
    return project


def at_bureau_time(day: date) -> datetime:
    return datetime.combine(day, MILESTONE_HOUR, tzinfo=BUREAU_TZ)


def milestones(project: Project) -> list[dict[str, Any]]:
    """The in-process schedule still ahead: yearly reports on each anniversary of the start
    before the end (skipped when within 60 days of the mid-term check, which covers that year),
    the mid-term check at half the period, and the end of the period."""
    if project.start_date is None or project.end_date is None:
        raise ValueError(f"project {project.id} has no period yet")
    start, end = project.start_date, project.end_date
    midterm = start + (end - start) / 2
    ahead: list[dict[str, Any]] = []
    year = 1
    while start + relativedelta(years=year) < end:
        due = start + relativedelta(years=year)
        if abs((due - midterm).days) > 60 and year > project.reports_done:
            ahead.append({"kind": "annual_report", "on": due, "year": year})
        year += 1
    if not project.midterm_done:
        ahead.append({"kind": "midterm", "on": midterm})
    ahead.append({"kind": "end", "on": end + timedelta(days=1)})
    ahead.sort(key=lambda m: (m["on"], m["kind"] != "midterm"))
    return ahead


def next_milestone(session: Session, project_id: int) -> dict[str, Any]:
    project = get(session, project_id)
    upcoming = milestones(project)[0]
    return {"kind": upcoming["kind"], "year": upcoming.get("year"), "on": upcoming["on"].isoformat(),
            "at": at_bureau_time(upcoming["on"]).isoformat()}


def milestone_done(session: Session, project_id: int, milestone: dict[str, Any]) -> Project:
    project = get(session, project_id)
    if milestone.get("kind") == "annual_report":
        project.reports_done = max(project.reports_done, int(milestone.get("year") or 0))
    elif milestone.get("kind") == "midterm":
        project.midterm_done = True
    note(project, f"{milestone.get('kind')}_done", {"year": milestone.get("year")} if milestone.get("year") else None)
    return project


def rank_in_batch(session: Session, project_id: int) -> dict[str, Any]:
    """Where this project's review score stands among the same plan category's applications
    reviewed in the same year (the institution's ranked proposal)."""
    project = get(session, project_id)
    if project.score is None:
        return {"rank": None, "of": 0}
    year = project.submitted_at.astimezone(BUREAU_TZ).year
    first = datetime(year, 1, 1, tzinfo=BUREAU_TZ)
    peers = select(Project.score).where(Project.plan_category == project.plan_category,
                                        Project.score.is_not(None), Project.submitted_at >= first,
                                        Project.submitted_at < first.replace(year=year + 1))
    scores = list(session.scalars(peers))
    return {"rank": 1 + sum(1 for s in scores if s > project.score), "of": len(scores)}
