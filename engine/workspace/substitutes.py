"""Substitutes (代理人): a user going on leave names a colleague who covers for them over a
period of calendar days (bureau time, both ends included). Meanwhile the absent user's tasks,
those assigned to them and those they are a candidate for (directly or through their groups),
reach the substitute's inbox; the substitute takes one over with `take_over`, which assigns it
to the substitute and is audited with whom they covered for. Naming and revoking are audited
too. Supervisors may name a substitute for anyone; everyone else only for themselves.

Who may be a substitute: only a colleague who could do the work, i.e. who shares a working
group with the absent user (not a generic one such as `applicants` or `experts`, whose members
never do each other's tasks), and never a party of the project a task belongs to (its applicant
or its unit's people, engine/runtime/access.py). Naming checks both against the absent user's groups and
their directly assigned open tasks; taking a task over checks both again, at that moment, for
that task: the substitute must be in one of the groups the task needs (its candidate groups, or
for a task without any, a working group of the absent user) and no party of its project."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import Date, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.runtime import access, instances, projection
from engine.core import audit, calendar, clock
from engine.core.errors import Conflict, Forbidden, InvalidData, NotFound
from engine.core.models import Base, HumanTask, User
from engine.core.principals import Actor

MAX_PERIOD = timedelta(days=366)
# groups whose members never stand in for each other: every applicant, every expert is one person
GENERIC_GROUPS = frozenset({"applicants", "experts"})
REASON_LENGTH = 200


class Substitution(Base):
    __tablename__ = "substitutions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    substitute: Mapped[str] = mapped_column(String(80), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(REASON_LENGTH), default="")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(80))


@dataclass(frozen=True)
class Covered:
    """Someone the actor is covering for today, with the groups whose tasks come along."""

    username: str
    groups: frozenset[str]

    @property
    def principals(self) -> list[str]:
        return [f"u:{self.username}"] + [f"g:{g}" for g in sorted(self.groups)]


def today() -> date:
    return clock.now().astimezone(calendar.BUREAU_TZ).date()


def name(session: Session, actor: Actor, username: str, substitute: str, starts_on: Any,
         ends_on: Any, reason: str = "") -> Substitution:
    session.info.pop(_COVERING, None)
    if username != actor.username and not actor.is_supervisor:
        raise Forbidden("you may only name a substitute for yourself")
    start, end = _checked_period(starts_on, ends_on)
    problems: dict[str, list[str]] = {}
    if not substitute or _user(session, substitute) is None:
        problems["substitute"] = ["No such user."]
    elif substitute == username:
        problems["substitute"] = ["You cannot be your own substitute."]
    absent_user = _user(session, username)
    if absent_user is None:
        problems["username"] = ["No such user."]
    if problems:
        raise InvalidData("the substitute cannot be named", problems)
    substitute_user = _user(session, substitute)
    assert absent_user is not None and substitute_user is not None
    if not working_groups(absent_user.group_names) & substitute_user.group_names:
        raise InvalidData("the substitute shares no working group with the absent user",
                          {"substitute": [f"{substitute} shares no working group with {username}, "
                                          "so could not do their tasks."]})
    party_of = _party_of_assigned(session, username, substitute, frozenset(substitute_user.group_names))
    if party_of is not None:
        raise InvalidData("the substitute is a party of a project the absent user works on",
                          {"substitute": [f"{substitute} is a party of project #{party_of} "
                                          "(its applicant or its unit's people) and may not stand in on it."]})
    if _overlapping(session, username, start, end):
        raise InvalidData("this period overlaps another substitution",
                          {"starts_on": ["Overlaps an existing substitution; revoke it first."]})
    row = Substitution(username=username, substitute=substitute, starts_on=start, ends_on=end,
                       reason=(reason or "").strip()[:REASON_LENGTH], created_by=actor.username,
                       created_at=clock.now())
    session.add(row)
    session.flush()
    audit.record(session, "substitute_named", actor.username, substitution_id=row.id, username=username,
                 substitute=substitute, starts_on=start.isoformat(), ends_on=end.isoformat())
    return row


def _checked_period(starts_on: Any, ends_on: Any) -> tuple[date, date]:
    start, end = _as_date(starts_on), _as_date(ends_on)
    problems: dict[str, list[str]] = {}
    if start is None:
        problems["starts_on"] = ["A date (YYYY-MM-DD) is required."]
    if end is None:
        problems["ends_on"] = ["A date (YYYY-MM-DD) is required."]
    if start and end and end < start:
        problems["ends_on"] = ["The period ends before it starts."]
    elif start and end and end - start > MAX_PERIOD:
        problems["ends_on"] = ["At most one year."]
    elif end and end < today():
        problems["ends_on"] = ["The period is already over."]
    if problems:
        raise InvalidData("the period is invalid", problems)
    assert start is not None and end is not None
    return start, end


def _as_date(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username, User.active.is_(True)))


def _overlapping(session: Session, username: str, start: date, end: date) -> bool:
    return session.scalar(select(Substitution.id).where(
        Substitution.username == username, Substitution.revoked_at.is_(None),
        Substitution.starts_on <= end, Substitution.ends_on >= start).limit(1)) is not None


def working_groups(groups: Iterable[str]) -> frozenset[str]:
    """The groups that let someone do another's work: all but the generic ones."""
    return frozenset(groups) - GENERIC_GROUPS


def _party_of_assigned(session: Session, username: str, substitute: str, groups: frozenset[str]) -> int | None:
    """The first instance among the absent user's directly assigned open tasks of which the
    substitute is a party, if any (group tasks are checked when taken over)."""
    instance_ids = session.scalars(select(HumanTask.process_instance_id).where(
        HumanTask.assignee == username, HumanTask.state == projection.OPEN).distinct().limit(500))
    for instance_id in instance_ids:
        if access.is_party(session, substitute, groups, instances.get(session, instance_id)):
            return instance_id
    return None


# why a stand-in is refused, in `Forbidden.details["reason"]`: pages say it in the reader's words
NO_GROUP, PARTY = "no_group", "party"


def check_stand_in(session: Session, actor: Actor, absent: Covered, row: HumanTask) -> None:
    """Forbidden, saying why, unless the actor may do this task for the absent user now."""
    needed = working_groups(row.candidate_groups or []) or working_groups(absent.groups)
    if not actor.groups & needed:
        raise Forbidden(f"you are in none of the groups this task needs ({', '.join(sorted(needed)) or '-'}), "
                        f"so you cannot stand in for {absent.username} on it", reason=NO_GROUP)
    if access.is_party(session, actor.username, actor.groups, instances.get(session, row.process_instance_id)):
        raise Forbidden("you are a party of this project (its applicant or its unit's people) "
                        "and may not work its tasks as a substitute", reason=PARTY)


def revoke(session: Session, actor: Actor, substitution_id: int) -> Substitution:
    session.info.pop(_COVERING, None)
    row = session.get(Substitution, substitution_id)
    if row is None:
        raise NotFound(f"substitution {substitution_id} not found")
    if actor.username not in (row.username, row.created_by) and not actor.is_supervisor:
        raise Forbidden("only the absent user or a supervisor may revoke this substitution")
    if row.revoked_at is not None:
        raise Conflict("this substitution was already revoked")
    row.revoked_at, row.revoked_by = clock.now(), actor.username
    audit.record(session, "substitute_revoked", actor.username, substitution_id=row.id,
                 username=row.username, substitute=row.substitute)
    return row


def listed(session: Session, actor: Actor) -> list[Substitution]:
    """The actor's own substitutions and those naming them, newest first (current and future)."""
    return list(session.scalars(select(Substitution).where(
        (Substitution.username == actor.username) | (Substitution.substitute == actor.username),
        Substitution.ends_on >= today() - timedelta(days=30))
        .order_by(Substitution.starts_on.desc(), Substitution.id.desc())))


_COVERING = "substitutes.covering"


def covering(session: Session, actor: Actor) -> list[Covered]:
    """Who the actor covers for today (an indexed lookup by substitute), once per session: a
    page asks for each of its lists and counts (naming or revoking one forgets it)."""
    key = (actor.username, actor.groups, today())
    known = session.info.setdefault(_COVERING, {})
    if key not in known:
        known[key] = _covering(session, actor, key[2])
    return list(known[key])


def _covering(session: Session, actor: Actor, day: date) -> list[Covered]:
    names = list(session.scalars(select(Substitution.username).where(
        Substitution.substitute == actor.username, Substitution.revoked_at.is_(None),
        Substitution.starts_on <= day, Substitution.ends_on >= day).distinct()))
    if not names:
        return []
    users = session.scalars(select(User).where(User.username.in_(names), User.active.is_(True))).all()
    # only the work of the groups both share comes along: a substitute stands in where they could work
    shared = working_groups(actor.groups)
    return [Covered(u.username, frozenset(u.group_names) & shared) for u in sorted(users, key=lambda u: u.username)]


def _covered_on(session: Session, actor: Actor, row: HumanTask) -> Covered | None:
    """The absent user this task belongs to among those the actor covers for, if any."""
    for covered in covering(session, actor):
        if row.assignee == covered.username:
            return covered
        if row.assignee is None and (covered.username in row.candidate_users
                                     or covered.groups & set(row.candidate_groups)):
            return covered
    return None


def covered_for(session: Session, actor: Actor, row: HumanTask) -> str | None:
    """The absent user on whose behalf the actor may take this task, if any (only when they
    may stand in on it: see `check_stand_in`)."""
    covered = _covered_on(session, actor, row)
    if covered is None:
        return None
    try:
        check_stand_in(session, actor, covered, row)
    except Forbidden:
        return None
    return covered.username


def take_over(session: Session, actor: Actor, task_id: str) -> HumanTask:
    row = session.get(HumanTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} not found")
    if row.state != projection.OPEN:
        raise Conflict(f"task {task_id} is no longer open (it is {row.state})")
    covered = _covered_on(session, actor, row)
    if covered is None:
        raise Forbidden("you are not covering for anyone this task belongs to")
    check_stand_in(session, actor, covered, row)  # again now, for this task's project
    absent = covered.username
    instance = instances.get(session, row.process_instance_id)
    instance.updated_at = clock.now()  # bumps the revision: a racing claim or completion loses
    before, row.assignee = row.assignee, actor.username
    audit.record(session, "task_taken_over", actor.username, instance_id=row.process_instance_id,
                 task_id=row.id, on_behalf_of=absent, before=before, after=actor.username)
    return row


def colleagues(session: Session, actor: Actor, limit: int = 200) -> list[User]:
    """Active users who share a working group with the actor: the possible substitutes."""
    from engine.core.models import Group, Membership
    mine = select(Membership.group_id).join(Group).where(Group.name.in_(sorted(working_groups(actor.groups))))
    ids = select(Membership.user_id).where(Membership.group_id.in_(mine))
    return list(session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True),
                                                   User.username != actor.username)
                                .order_by(User.username).limit(limit)))
