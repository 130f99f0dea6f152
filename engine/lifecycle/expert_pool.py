"""The expert pool (专家库) and reproducible expert draws (随机抽取). This module owns who may
review what: experts with their discipline(s), organisation, title and declared conflicts
(units and persons to avoid), and the draw that picks a panel plus ranked backups at random
within a discipline while avoiding conflicts of interest: the applicant's organisation, its
partner units, the investigator and team members, and each expert's own declarations.

A draw is recorded with its seed, the eligible experts and the excluded ones with their reason,
so an auditor can reproduce it: every eligible expert is ranked by SHA-256("<seed>:<expert id>")
and the lowest hashes win, first the panel, then the backups in order. The algorithm needs no
random-number generator state and gives the same ranking in any language, at any later date.
During the review each panel seat (slot) is filled by one member at a time; a member who declines,
declares a conflict or misses the deadline gives the seat to the best-ranked unused backup."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import audit, clock
from engine.core.errors import Conflict, InvalidData, NotFound
from engine.core.models import Base

ALGORITHM = "sha256-rank-v1"
MODES = ("mail", "panel", "group")  # mail review, panel meeting, acceptance/evaluation group
MIN_MAIL_OPINIONS = 3
MIN_PANEL = 5
TITLES = ("professor", "researcher", "senior_engineer", "chief_physician", "associate_professor",
          "associate_researcher")
EXCLUSION_REASONS = {
    "same_organisation": "与申报单位相同 · same organisation as the applicant",
    "partner_unit": "合作单位 · works at a partner unit",
    "team_member": "项目组成员 · is the investigator or a team member",
    "declared_unit": "本人申明回避该单位 · declared a conflict with the unit",
    "declared_person": "本人申明回避项目成员 · declared a conflict with a team member",
    "previously_drawn": "已参与本项目前轮评审 · drawn in an earlier round for this project",
    "no_account": "无系统账号 · has no user account",
}
INVITED, STANDBY, ACCEPTED, SCORED = "invited", "standby", "accepted", "scored"
DECLINED, CONFLICT, TIMED_OUT = "declined", "conflict", "timed_out"
REPLACEMENT_REASONS = (DECLINED, CONFLICT, TIMED_OUT)


class Expert(Base):
    __tablename__ = "experts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str | None] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    organisation: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(40))
    discipline: Mapped[str] = mapped_column(String(40), index=True)
    other_disciplines: Mapped[list[str]] = mapped_column(JSON, default=list)
    avoid_units: Mapped[list[str]] = mapped_column(JSON, default=list)
    avoid_persons: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    def covers(self, discipline: str) -> bool:
        return self.discipline == discipline or discipline in (self.other_disciplines or [])


class ExpertDraw(Base):
    __tablename__ = "expert_draws"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(200), unique=True)
    project_id: Mapped[int | None] = mapped_column(Integer, index=True)
    discipline: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(Integer)
    backup_count: Mapped[int] = mapped_column(Integer)
    seed: Mapped[str] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(40))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    eligible: Mapped[list[int]] = mapped_column(JSON, default=list)
    excluded: Mapped[list[Any]] = mapped_column(JSON, default=list)
    drawn_at: Mapped[datetime]
    drawn_by: Mapped[str | None] = mapped_column(String(80))


class DrawMember(Base):
    __tablename__ = "expert_draw_members"
    __table_args__ = (UniqueConstraint("draw_id", "rank"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("expert_draws.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    role: Mapped[str] = mapped_column(String(10))  # panel, backup
    slot: Mapped[int | None] = mapped_column(Integer)  # the seat it fills, once it fills one
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime]


@dataclass(frozen=True)
class ConflictContext:
    """Who an expert must not be close to, for one application."""

    organisation: str
    partners: tuple[str, ...] = ()
    persons: tuple[str, ...] = ()  # the investigator and the team members
    exclude_expert_ids: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def of(cls, organisation: str, partners: Iterable[str] = (), persons: Iterable[str] = (),
           exclude_expert_ids: Iterable[int] = ()) -> "ConflictContext":
        clean = lambda values: tuple(dict.fromkeys(v.strip() for v in values if isinstance(v, str) and v.strip()))  # noqa: E731
        return cls((organisation or "").strip(), clean(partners), clean(persons), frozenset(exclude_expert_ids))

    def to_dict(self) -> dict[str, Any]:
        return {"organisation": self.organisation, "partners": list(self.partners),
                "persons": list(self.persons), "exclude_expert_ids": sorted(self.exclude_expert_ids)}


def add_expert(session: Session, *, name: str, organisation: str, title: str, discipline: str,
               username: str | None = None, other_disciplines: Iterable[str] = (),
               avoid_units: Iterable[str] = (), avoid_persons: Iterable[str] = ()) -> Expert:
    problems = {}
    if not name or not name.strip():
        problems["name"] = ["Required."]
    if not organisation or not organisation.strip():
        problems["organisation"] = ["Required."]
    if title not in TITLES:
        problems["title"] = [f"One of: {', '.join(TITLES)}."]
    if not discipline:
        problems["discipline"] = ["Required."]
    if problems:
        raise InvalidData("invalid expert", problems)
    if username and session.scalar(select(Expert.id).where(Expert.username == username)) is not None:
        raise Conflict(f"an expert with the user name '{username}' already exists")
    expert = Expert(username=username, name=name.strip(), organisation=organisation.strip(), title=title,
                    discipline=discipline, other_disciplines=list(other_disciplines),
                    avoid_units=list(avoid_units), avoid_persons=list(avoid_persons), active=True,
                    created_at=clock.now())
    session.add(expert)
    session.flush()
    return expert


def conflict_of(expert: Expert, context: ConflictContext) -> str | None:
    """The first reason this expert may not review this application, or None."""
    if expert.id in context.exclude_expert_ids:
        return "previously_drawn"
    if expert.organisation == context.organisation:
        return "same_organisation"
    if expert.organisation in context.partners:
        return "partner_unit"
    if expert.name in context.persons:
        return "team_member"
    units = {context.organisation, *context.partners}
    if units & set(expert.avoid_units or []):
        return "declared_unit"
    if set(context.persons) & set(expert.avoid_persons or []):
        return "declared_person"
    if not expert.username:
        return "no_account"
    return None


def candidates(session: Session, discipline: str, context: ConflictContext) -> tuple[list[Expert], list[dict[str, Any]]]:
    """(eligible experts by id, excluded experts with their reason) within a discipline."""
    pool = session.scalars(select(Expert).where(Expert.active.is_(True)).order_by(Expert.id)).all()
    eligible, excluded = [], []
    for expert in pool:
        if not expert.covers(discipline):
            continue
        reason = conflict_of(expert, context)
        if reason is None:
            eligible.append(expert)
        else:
            excluded.append({"expert_id": expert.id, "name": expert.name, "reason": reason})
    return eligible, excluded


def ranking(seed: str, expert_ids: Iterable[int]) -> list[int]:
    """The draw order: ascending SHA-256 of "<seed>:<id>" (see the module docstring)."""
    return sorted(expert_ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())


def check_size(mode: str, size: int) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown review mode '{mode}'; use one of {', '.join(MODES)}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"a panel size is a whole number of at least 1, not {size!r}")
    if mode == "mail" and size < MIN_MAIL_OPINIONS:
        raise ValueError(f"a mail review needs at least {MIN_MAIL_OPINIONS} experts, not {size}")
    if mode == "panel" and (size < MIN_PANEL or size % 2 == 0):
        raise ValueError(f"a review panel has an odd number of at least {MIN_PANEL} experts, not {size}")


def draw(session: Session, *, purpose: str, discipline: str, mode: str, size: int, backups: int,
         context: ConflictContext, seed: str | None = None, project_id: int | None = None,
         actor: str | None = None) -> ExpertDraw:
    """Draw `size` experts and up to `backups` ranked backups. A draw for a `purpose` that was
    already drawn is returned as it was: a process step re-run must not draw again."""
    existing = session.scalar(select(ExpertDraw).where(ExpertDraw.purpose == purpose))
    if existing is not None:
        return existing
    check_size(mode, size)
    if isinstance(backups, bool) or not isinstance(backups, int) or backups < 0:
        raise ValueError(f"the number of backups is a whole number, not {backups!r}")
    eligible, excluded = candidates(session, discipline, context)
    if len(eligible) < size:
        raise ValueError(f"the pool has {len(eligible)} eligible expert(s) for '{discipline}' after "
                         f"conflict avoidance; the review needs {size}")
    seed = seed or secrets.token_hex(16)
    order = ranking(seed, [e.id for e in eligible])
    now = clock.now()
    record = ExpertDraw(purpose=purpose, project_id=project_id, discipline=discipline, mode=mode, size=size,
                        backup_count=backups, seed=seed, algorithm=ALGORITHM, context=context.to_dict(),
                        eligible=sorted(e.id for e in eligible), excluded=excluded, drawn_at=now,
                        drawn_by=actor)
    session.add(record)
    session.flush()
    for rank, expert_id in enumerate(order[:size + backups], start=1):
        panel = rank <= size
        session.add(DrawMember(draw_id=record.id, rank=rank, expert_id=expert_id,
                               role="panel" if panel else "backup", slot=rank - 1 if panel else None,
                               status=INVITED if panel else STANDBY, updated_at=now))
    session.flush()
    audit.record(session, "experts_drawn", actor, draw_id=record.id, purpose=purpose, seed=seed,
                 discipline=discipline, mode=mode, size=size, backups=backups,
                 drawn=order[:size + backups], excluded=excluded)
    return record


def get_draw(session: Session, draw_id: Any) -> ExpertDraw:
    if isinstance(draw_id, bool) or not isinstance(draw_id, int):
        raise ValueError(f"a draw id is a whole number, not {draw_id!r}")
    found = session.get(ExpertDraw, draw_id)
    if found is None:
        raise NotFound(f"expert draw {draw_id} not found")
    return found


def members(session: Session, draw_id: int) -> list[DrawMember]:
    return list(session.scalars(select(DrawMember).where(DrawMember.draw_id == draw_id).order_by(DrawMember.rank)))


def verify(session: Session, draw_id: int) -> bool:
    """True if the recorded members are exactly what the recorded seed gives."""
    record = get_draw(session, draw_id)
    expected = ranking(record.seed, record.eligible)[:record.size + record.backup_count]
    return [m.expert_id for m in members(session, draw_id)] == expected


def _seat(session: Session, member: DrawMember) -> dict[str, Any]:
    expert = session.get(Expert, member.expert_id)
    assert expert is not None
    return {"slot": member.slot, "expert": expert.username, "name": expert.name, "title": expert.title,
            "organisation": expert.organisation, "rank": member.rank, "status": member.status,
            "score": member.score}


def seats(session: Session, draw_id: int) -> list[dict[str, Any]]:
    """The current occupant of every seat, as plain data for a process."""
    current = [m for m in members(session, draw_id) if m.slot is not None and m.status not in REPLACEMENT_REASONS]
    return [_seat(session, m) for m in sorted(current, key=lambda m: m.slot or 0)]


def _occupant(session: Session, draw_id: int, slot: Any) -> DrawMember:
    if isinstance(slot, bool) or not isinstance(slot, int):
        raise ValueError(f"a seat is a whole number, not {slot!r}")
    for member in members(session, draw_id):
        if member.slot == slot and member.status not in REPLACEMENT_REASONS:
            return member
    raise ValueError(f"seat {slot} of draw {draw_id} has no current member")


def replace(session: Session, draw_id: int, slot: int, reason: str, note: str | None = None) -> dict[str, Any]:
    """The seat's member declined, declared a conflict or missed the deadline: the best-ranked
    unused backup takes the seat. Returns the new seat, or an unfilled one when none is left."""
    if reason not in REPLACEMENT_REASONS:
        raise ValueError(f"a replacement reason is one of {', '.join(REPLACEMENT_REASONS)}, not {reason!r}")
    leaving = _occupant(session, draw_id, slot)
    now = clock.now()
    leaving.status, leaving.reason, leaving.updated_at = reason, note, now
    backup = next((m for m in members(session, draw_id) if m.status == STANDBY), None)
    audit.record(session, "expert_replaced", None, draw_id=draw_id, slot=slot, leaving=leaving.expert_id,
                 reason=reason, joining=backup.expert_id if backup else None)
    if backup is None:
        return {"slot": slot, "expert": None, "name": None, "rank": None, "status": "unfilled", "score": None}
    backup.slot, backup.status, backup.updated_at = slot, INVITED, now
    session.flush()
    return _seat(session, backup)


def accept(session: Session, draw_id: int, slot: int) -> dict[str, Any]:
    member = _occupant(session, draw_id, slot)
    member.status, member.updated_at = ACCEPTED, clock.now()
    return _seat(session, member)


def record_score(session: Session, draw_id: int, slot: int, score: float) -> dict[str, Any]:
    member = _occupant(session, draw_id, slot)
    member.status, member.score, member.updated_at = SCORED, float(score), clock.now()
    return _seat(session, member)


def drawn_expert_ids(session: Session, project_id: int, purpose_prefix: str) -> set[int]:
    """Experts already drawn for this project under purposes starting with the prefix (earlier
    rounds of the same review), so a new round draws fresh experts."""
    draws = select(ExpertDraw.id).where(ExpertDraw.project_id == project_id,
                                        ExpertDraw.purpose.startswith(purpose_prefix))
    return set(session.scalars(select(DrawMember.expert_id).where(DrawMember.draw_id.in_(draws))))


def combined_context(contexts: Iterable[ConflictContext]) -> ConflictContext:
    """One context avoiding what each of several applications must avoid (a panel that reviews
    a whole group): the first application's organisation stays the `organisation`, every other
    organisation and partner unit is avoided as a unit, every investigator and team member as a
    person."""
    contexts = list(contexts)
    if not contexts:
        raise ValueError("a panel reviews at least one application")
    units = [c.organisation for c in contexts[1:]] + [p for c in contexts for p in c.partners]
    return ConflictContext.of(contexts[0].organisation, [u for u in units if u != contexts[0].organisation],
                              [p for c in contexts for p in c.persons],
                              [i for c in contexts for i in c.exclude_expert_ids])


def draw_panel(session: Session, *, purpose: str, discipline: str, mode: str, size: int, backups: int,
               contexts: Iterable[ConflictContext], seed: str | None = None,
               actor: str | None = None) -> ExpertDraw:
    """Draw one panel for a group of applications (a call's discipline group), avoiding every
    application's organisation, partner units and people. The same rules and record as `draw`;
    the draw belongs to no single project."""
    return draw(session, purpose=purpose, discipline=discipline, mode=mode, size=size, backups=backups,
                context=combined_context(contexts), seed=seed, project_id=None, actor=actor)
