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
declares a conflict or misses the deadline gives the seat to the best-ranked unused backup.

The pool's standing rules apply to every draw besides the application's conflicts: an expert in
a penalty period on the research-integrity list (engine/lifecycle/integrity.py) is never drawn;
nor one already drawn DRAWS_PER_YEAR times in the calendar year (panel seats and backups who took
a seat); nor one whose mean rating, once rated at least RATING_MIN_COUNT times, is below
RATING_FLOOR. After a review the institution rates each member who held a seat (timeliness and
quality, 1-5, `rate`); the ratings are this module's too, so the draw reads them directly."""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import audit, clock
from engine.core.calendar import BUREAU_TZ
from engine.core.errors import Conflict, InvalidData, NotFound
from engine.core.models import Base, Group, Membership, User
from engine.lifecycle import integrity

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
    "applicant_person": "申报人或申报单位人员 · is the applicant or a person of the applying unit",
    "integrity_penalty": "处于科研失信惩戒期 · in a research-integrity penalty period",
    "yearly_limit": "本年度抽取次数已满 · drawn the yearly maximum number of times",
    "low_rating": "评价过低 · rated below the pool's floor",
}
# How often one expert may sit on panels in a calendar year (a seat taken, as a member or as a
# backup who stepped in): spreads the work and keeps one voice from dominating a year's reviews.
# A setting: EXPERT_DRAWS_PER_YEAR in the environment (README), read when the engine starts.
DRAWS_PER_YEAR = int(os.environ.get("EXPERT_DRAWS_PER_YEAR") or 8)
# An expert whose mean rating ((timeliness + quality) / 2, each 1-5) over at least
# RATING_MIN_COUNT ratings is below RATING_FLOOR is not drawn until better ratings lift it;
# fewer ratings than that do not judge anyone yet.
RATING_FLOOR = 2.5
RATING_MIN_COUNT = 2
RATING_SCALE = (1, 5)
TITLE_LABELS = {"professor": "教授 · Professor", "researcher": "研究员 · Research fellow",
                "senior_engineer": "正高级工程师 · Senior engineer", "chief_physician": "主任医师 · Chief physician",
                "associate_professor": "副教授 · Associate professor",
                "associate_researcher": "副研究员 · Associate research fellow"}
REVIEW_LABELS = {"establishment_review": "立项评审 · Establishment review", "acceptance": "验收 · Acceptance",
                 "performance": "绩效评价 · Performance evaluation", "batch_review": "批次评审 · Batch review"}
STATUS_LABELS = {"invited": "已邀请 · Invited", "standby": "备选 · Standby", "accepted": "已接受 · Accepted",
                 "scored": "已评审 · Reviewed", "declined": "已谢绝 · Declined", "conflict": "申明回避 · Declared a conflict",
                 "timed_out": "逾期 · Missed the deadline"}
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


class ExpertRating(Base):
    """The institution's rating of one expert's work in one draw (one review)."""

    __tablename__ = "expert_ratings"
    __table_args__ = (UniqueConstraint("draw_id", "expert_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), index=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("expert_draws.id", ondelete="CASCADE"))
    timeliness: Mapped[int] = mapped_column(Integer)
    quality: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    rated_by: Mapped[str | None] = mapped_column(String(80))
    rated_at: Mapped[datetime]

    @property
    def value(self) -> float:
        return (self.timeliness + self.quality) / 2


@dataclass(frozen=True)
class ConflictContext:
    """Who an expert must not be close to, for one application."""

    organisation: str
    partners: tuple[str, ...] = ()
    persons: tuple[str, ...] = ()  # the investigator and the team members
    exclude_expert_ids: frozenset[int] = field(default_factory=frozenset)
    # user names of the applicant and the applying unit's people (its office, its staff)
    usernames: tuple[str, ...] = ()

    @classmethod
    def of(cls, organisation: str, partners: Iterable[str] = (), persons: Iterable[str] = (),
           exclude_expert_ids: Iterable[int] = (), usernames: Iterable[str] = ()) -> "ConflictContext":
        clean = lambda values: tuple(dict.fromkeys(v.strip() for v in values if isinstance(v, str) and v.strip()))  # noqa: E731
        return cls((organisation or "").strip(), clean(partners), clean(persons), frozenset(exclude_expert_ids),
                   clean(usernames))

    def to_dict(self) -> dict[str, Any]:
        return {"organisation": self.organisation, "partners": list(self.partners),
                "persons": list(self.persons), "exclude_expert_ids": sorted(self.exclude_expert_ids),
                "usernames": list(self.usernames)}


def people_of(session: Session, organisation: str, applicant: str | None = None,
              unit_group: str | None = None) -> list[str]:
    """The applicant and the applying unit's people: users whose organisation is the unit's and
    members of the unit's office group (organisations.unit_group), as user names."""
    found = {applicant} if applicant else set()
    if organisation:
        found |= set(session.scalars(select(User.username).where(User.org == organisation)))
    if unit_group:
        found |= set(session.scalars(select(User.username).join(Membership, Membership.user_id == User.id)
                                     .join(Group, Group.id == Membership.group_id).where(Group.name == unit_group)))
    return sorted(found)


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
    if expert.username in context.usernames:
        return "applicant_person"
    return None


@dataclass(frozen=True)
class Standing:
    """What the pool's standing rules say of an expert on a day: integrity, yearly draws, rating."""

    penalised: bool
    draws_this_year: int
    rating: float | None  # the mean rating, once there are RATING_MIN_COUNT ratings
    ratings: int

    def reason(self, yearly_limit: int | None = None, floor: float | None = None) -> str | None:
        if self.penalised:
            return "integrity_penalty"
        if self.draws_this_year >= (DRAWS_PER_YEAR if yearly_limit is None else yearly_limit):
            return "yearly_limit"
        if self.rating is not None and self.rating < (RATING_FLOOR if floor is None else floor):
            return "low_rating"
        return None


def standings(session: Session, experts: Iterable[Expert]) -> dict[int, Standing]:
    """Each expert's standing today (bureau calendar), in three queries for the whole pool."""
    pool = list(experts)
    if not pool:
        return {}
    day = integrity.today()
    ids = [e.id for e in pool]
    penalised = {f.subject_name for f in integrity.check(session, [(e.name, "expert") for e in pool], [], day)}
    year_start = datetime(day.year, 1, 1, tzinfo=BUREAU_TZ)
    seated = (select(DrawMember.expert_id, func.count(DrawMember.id))
              .join(ExpertDraw, ExpertDraw.id == DrawMember.draw_id)
              .where(DrawMember.expert_id.in_(ids), DrawMember.slot.is_not(None), ExpertDraw.drawn_at >= year_start)
              .group_by(DrawMember.expert_id))
    counts = {expert_id: n for expert_id, n in session.execute(seated)}
    rated = (select(ExpertRating.expert_id, func.avg((ExpertRating.timeliness + ExpertRating.quality) / 2.0),
                    func.count(ExpertRating.id))
             .where(ExpertRating.expert_id.in_(ids)).group_by(ExpertRating.expert_id))
    ratings = {expert_id: (float(mean), n) for expert_id, mean, n in session.execute(rated)}
    return {e.id: Standing(e.name in penalised, counts.get(e.id, 0),
                           round(ratings[e.id][0], 2) if ratings.get(e.id, (0, 0))[1] >= RATING_MIN_COUNT else None,
                           ratings.get(e.id, (0, 0))[1]) for e in pool}


def candidates(session: Session, discipline: str, context: ConflictContext,
               yearly_limit: int | None = None) -> tuple[list[Expert], list[dict[str, Any]]]:
    """(eligible experts by id, excluded experts with their reason) within a discipline."""
    pool = [e for e in session.scalars(select(Expert).where(Expert.active.is_(True)).order_by(Expert.id))
            if e.covers(discipline)]
    standing = standings(session, pool)
    eligible, excluded = [], []
    for expert in pool:
        reason = conflict_of(expert, context) or standing[expert.id].reason(yearly_limit)
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
         actor: str | None = None, yearly_limit: int | None = None) -> ExpertDraw:
    """Draw `size` experts and up to `backups` ranked backups. A draw for a `purpose` that was
    already drawn is returned as it was: a process step re-run must not draw again."""
    existing = session.scalar(select(ExpertDraw).where(ExpertDraw.purpose == purpose))
    if existing is not None:
        return existing
    check_size(mode, size)
    if isinstance(backups, bool) or not isinstance(backups, int) or backups < 0:
        raise ValueError(f"the number of backups is a whole number, not {backups!r}")
    eligible, excluded = candidates(session, discipline, context, yearly_limit)
    if len(eligible) < size:
        raise ValueError(f"the pool has {len(eligible)} eligible expert(s) for '{discipline}' after "
                         f"conflict avoidance and the pool's rules; the review needs {size}")
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


# --- ratings and an expert's record -------------------------------------------------------------

class RatingSchema(Schema):
    """The institution's rating of an expert's work in one review."""

    timeliness = fields.Integer(required=True, strict=True, validate=validate.Range(*RATING_SCALE))
    quality = fields.Integer(required=True, strict=True, validate=validate.Range(*RATING_SCALE))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


def rate(session: Session, actor: str | None, draw_id: int, expert_id: int, data: Any) -> ExpertRating:
    """Rate an expert who held a seat in this draw (scored, or missed the deadline: lateness is
    what timeliness rates); once per draw and expert; audited."""
    if not isinstance(data, dict):
        raise InvalidData("data must be a JSON object", {"_schema": ["Expected an object."]})
    try:
        values = RatingSchema().load(data)
    except ValidationError as error:
        messages = error.normalized_messages()
        raise InvalidData(f"{len(messages)} field(s) are invalid",
                          {k: v if isinstance(v, list) else [str(v)] for k, v in messages.items()}) from error
    get_draw(session, draw_id)
    seated = [m for m in members(session, draw_id) if m.expert_id == expert_id and m.slot is not None]
    if not seated:
        raise Conflict(f"expert {expert_id} held no seat in draw {draw_id}; only members who reviewed are rated")
    if not any(m.status in (SCORED, TIMED_OUT) for m in seated):
        raise Conflict("the expert's review in this draw is not over yet, or they declined it")
    if session.scalar(select(ExpertRating.id).where(ExpertRating.draw_id == draw_id,
                                                    ExpertRating.expert_id == expert_id)) is not None:
        raise Conflict(f"expert {expert_id} is already rated for draw {draw_id}")
    comment = (values.get("comment") or "").strip() or None
    rating = ExpertRating(expert_id=expert_id, draw_id=draw_id, timeliness=values["timeliness"],
                          quality=values["quality"], comment=comment, rated_by=actor, rated_at=clock.now())
    session.add(rating)
    session.flush()
    audit.record(session, "expert_rated", actor, expert_id=expert_id, draw_id=draw_id,
                 timeliness=rating.timeliness, quality=rating.quality, comment=comment)
    return rating


def get_expert(session: Session, expert_id: int) -> Expert:
    found = session.get(Expert, expert_id)
    if found is None:
        raise NotFound(f"expert {expert_id} not found")
    return found


def experts_page(session: Session, page: int = 1, per_page: int = 25) -> tuple[list[Expert], int]:
    """One page of the pool by name, and the pool's size."""
    total = session.scalar(select(func.count(Expert.id))) or 0
    rows = session.scalars(select(Expert).order_by(Expert.name, Expert.id)
                           .offset((max(page, 1) - 1) * per_page).limit(per_page))
    return list(rows), total


def review_of(purpose: str) -> str:
    """The review a draw's purpose names ("project:7:acceptance:1" -> "acceptance", a call's batch
    "call:2026-2:batch_review:key_rd/it" -> "batch_review")."""
    parts = purpose.split(":")
    return parts[2] if len(parts) > 2 and parts[0] in ("project", "call") else parts[0]


@dataclass
class DrawLine:
    """One draw an expert was in, as the expert's record shows it."""

    draw_id: int
    purpose: str
    project_id: int | None
    drawn_at: datetime
    role: str
    status: str
    score: float | None
    rating: ExpertRating | None
    may_rate: bool


def draws_of(session: Session, expert_id: int, page: int = 1, per_page: int = 20) -> tuple[list[DrawLine], int]:
    """The expert's draws, newest first, one page, with the rating of each; and how many."""
    query = (select(DrawMember, ExpertDraw).join(ExpertDraw, ExpertDraw.id == DrawMember.draw_id)
             .where(DrawMember.expert_id == expert_id))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(ExpertDraw.drawn_at.desc(), ExpertDraw.id.desc())
                           .offset((max(page, 1) - 1) * per_page).limit(per_page)).all()
    ratings = {r.draw_id: r for r in session.scalars(select(ExpertRating).where(
        ExpertRating.expert_id == expert_id, ExpertRating.draw_id.in_([d.id for _, d in rows])))}
    lines = [DrawLine(d.id, d.purpose, d.project_id, d.drawn_at, m.role, m.status, m.score, ratings.get(d.id),
                      m.slot is not None and m.status in (SCORED, TIMED_OUT) and d.id not in ratings)
             for m, d in rows]
    return lines, total


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
