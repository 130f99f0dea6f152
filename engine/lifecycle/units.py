"""The undertaking unit (承担单位) as an actor in the processes. This module owns the unit's yearly
forwarding quota (a unit forwards at most `Organisation.yearly_quota` applications per calendar
year, in bureau time, to its recommending unit; no quota set means no limit; the bureau sets it in
the organisation register) and a project's routing: which unit and recommending-unit groups its
requests go to now, read from the register's organisation so that an approved change of
organisation moves every later request to the new unit (processes re-read it with
`project_routing`)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.errors import InvalidData, NotFound
from engine.lifecycle import organisations, projects

FORWARDED = "unit_forwarded"  # the register's timeline event of a unit's approval


def set_quota(session: Session, code: str, quota: int | None) -> organisations.Organisation:
    """The bureau sets (or, with None, lifts) a unit's yearly forwarding quota."""
    if quota is not None and (isinstance(quota, bool) or not isinstance(quota, int) or quota < 0):
        raise InvalidData(f"a quota is a whole number of applications, not {quota!r}",
                          {"yearly_quota": ["A whole number, 0 or more."]})
    organisation = session.scalar(select(organisations.Organisation).where(organisations.Organisation.code == code))
    if organisation is None:
        raise NotFound(f"organisation '{code}' not found")
    organisation.yearly_quota = quota
    return organisation


def forwarded_in_year(session: Session, organisation: str, year: int) -> int:
    """How many applications of this organisation its unit forwarded in this calendar year."""
    rows = session.scalars(select(projects.Project).where(projects.Project.organisation == organisation))
    return sum(1 for project in rows for entry in (project.history or [])
               if entry.get("event") == FORWARDED and str(entry.get("year")) == str(year))


def quota_check(session: Session, project_id: int) -> dict[str, Any]:
    """{allowed, forwarded, quota, year, reason}: may the unit forward one more application this
    year? The reason is bilingual and gives the figures."""
    project = projects.get(session, project_id)
    year = projects.today().year
    organisation = organisations.by_name(session, project.organisation)
    quota = organisation.yearly_quota if organisation is not None else None
    forwarded = forwarded_in_year(session, project.organisation, year)
    allowed = quota is None or forwarded < quota
    reason = "" if allowed else (
        f"单位 {year} 年度推荐限额 {quota} 项已用完（已推荐 {forwarded} 项）· the unit's quota for {year} "
        f"({quota} applications) is used up: {forwarded} already forwarded")
    return {"allowed": allowed, "forwarded": forwarded, "quota": quota, "year": year, "reason": reason}


def forward(session: Session, project_id: int, by: str | None = None) -> int:
    """The unit forwards the application to its recommending unit (counts against the quota
    once, whatever the number of rounds). Returns the year's count."""
    project = projects.get(session, project_id)
    year = projects.today().year
    if not any(e.get("event") == FORWARDED for e in project.history or []):
        projects.note(project, FORWARDED, {"year": year, **({"by": by} if by else {})})
    return forwarded_in_year(session, project.organisation, year)


def routing(session: Session, project_id: int) -> dict[str, str]:
    """{unit_group, recommender_group}: where the project's requests go now."""
    project = projects.get(session, project_id)
    info = organisations.info(session, project.organisation)
    if info is None:
        raise ValueError(f"the project's organisation '{project.organisation}' is not registered")
    return {"unit_group": info["unit_group"], "recommender_group": info["recommender_group"]}
