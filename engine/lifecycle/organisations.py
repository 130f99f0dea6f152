"""Organisations known to the bureau: undertaking units (universities, institutes, companies,
hospitals) and recommending units (district bureaus, a university's research office). This module
owns the organisation register and the two role groups derived from it, because in the processes
an organisation acts through people: `unit.<code>` is the research office of an undertaking unit
(reviews and forwards applications, signs contracts, confirms reports; general changes),
`recommender.<code>` the staff of a recommending unit (endorsement, major
changes, countersigning). An application names its organisation by name; an unregistered name is
refused at submission, as the bureau's unit registration requires."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import clock
from engine.core.errors import InvalidData
from engine.core.models import Base

KINDS = ("university", "institute", "enterprise", "hospital", "recommender", "government")


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    # who recommends this organisation's applications (an organisation code; itself for a
    # university that recommends its own)
    recommender_code: Mapped[str | None] = mapped_column(String(40))
    credit_code: Mapped[str | None] = mapped_column(String(18))  # unified social credit code
    # applications its unit may forward per calendar year (lifecycle.units); None: no limit
    yearly_quota: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


def unit_group(code: str) -> str:
    """The group of an undertaking unit's research office."""
    return f"unit.{code}"


def recommender_group(code: str) -> str:
    """The group of a recommending unit's staff."""
    return f"recommender.{code}"


def ensure(session: Session, code: str, name: str, kind: str, recommender_code: str | None = None,
           credit_code: str | None = None, yearly_quota: int | None = None) -> Organisation:
    """The organisation with this code, created if missing (demo data and imports)."""
    if kind not in KINDS:
        raise InvalidData(f"unknown organisation kind '{kind}'", {"kind": [f"One of: {', '.join(KINDS)}."]})
    found = session.scalar(select(Organisation).where(Organisation.code == code))
    if found is not None:
        return found
    organisation = Organisation(code=code, name=name.strip(), kind=kind, recommender_code=recommender_code,
                                credit_code=credit_code, yearly_quota=yearly_quota, created_at=clock.now())
    session.add(organisation)
    session.flush()
    return organisation


def by_name(session: Session, name: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.name == (name or "").strip()))


def info(session: Session, name: str) -> dict[str, Any] | None:
    """What a process needs to know about an organisation, or None if it is not registered."""
    organisation = by_name(session, name)
    if organisation is None:
        return None
    recommender = organisation.recommender_code or organisation.code
    return {"code": organisation.code, "name": organisation.name, "kind": organisation.kind,
            "unit_group": unit_group(organisation.code),
            "recommender_code": recommender, "recommender_group": recommender_group(recommender)}


def all_organisations(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.code)))


def recommending_units(session: Session) -> list[Organisation]:
    """The organisations that recommend applications: those without a recommending unit of their
    own recommend themselves (a district bureau, a university), as the routing above assumes."""
    return [o for o in all_organisations(session) if not o.recommender_code]
