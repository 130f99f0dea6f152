"""The research-integrity list (科研诚信记录): people and organisations with a dishonesty finding,
its grade, the penalty period during which they may not apply for or take part in plan projects,
and the reason. This module owns the list and its history: every entry is created, amended or
revoked through a command here, and each change appends a history row with before/after values,
so the list can always answer "what did it say on that day". The processes ask `check` at
submission, at the formal review and again before establishment."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import audit, clock
from engine.core.calendar import BUREAU_TZ
from engine.core.errors import Conflict, InvalidData, NotFound
from engine.core.models import Base

PERSON, ORGANISATION = "person", "organisation"
SUBJECT_TYPES = (PERSON, ORGANISATION)
# 一般 / 较重 / 严重: the three grades of the 2022 rules on handling research misconduct
GRADES = ("general", "serious", "severe")
GRADE_LABELS = {"general": "一般 · General", "serious": "较重 · Serious", "severe": "严重 · Severe"}
ACTIVE, REVOKED = "active", "revoked"


class IntegrityEntry(Base):
    __tablename__ = "integrity_entries"
    __table_args__ = (Index("ix_integrity_subject", "subject_type", "subject_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_name: Mapped[str] = mapped_column(String(200))
    # an identity number or unified social credit code, where known (names are not unique)
    subject_key: Mapped[str | None] = mapped_column(String(40))
    grade: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    penalty_start: Mapped[date] = mapped_column(Date)
    penalty_end: Mapped[date | None] = mapped_column(Date)  # None: without end
    document_no: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(12), default=ACTIVE)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[datetime]

    def in_penalty_on(self, day: date) -> bool:
        return self.state == ACTIVE and self.penalty_start <= day and \
            (self.penalty_end is None or day <= self.penalty_end)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "subject_type": self.subject_type, "subject_name": self.subject_name,
                "subject_key": self.subject_key, "grade": self.grade, "reason": self.reason,
                "penalty_start": self.penalty_start.isoformat(),
                "penalty_end": self.penalty_end.isoformat() if self.penalty_end else None,
                "document_no": self.document_no, "state": self.state}


class IntegrityHistory(Base):
    __tablename__ = "integrity_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("integrity_entries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(20))  # created, amended, revoked
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)


class EntrySchema(Schema):
    """Input of a new entry (and, partially, of an amendment)."""

    subject_type = fields.String(required=True, validate=validate.OneOf(SUBJECT_TYPES))
    subject_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    subject_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    grade = fields.String(required=True, validate=validate.OneOf(GRADES))
    reason = fields.String(required=True, validate=validate.Length(min=4, max=4000))
    penalty_start = fields.Date(required=True)
    penalty_end = fields.Date(load_default=None, allow_none=True)
    document_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))

    @validates_schema
    def _period(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("penalty_start"), data.get("penalty_end")
        if start and end and end < start:
            raise ValidationError("The penalty cannot end before it starts.", "penalty_end")


def _load(data: Any, partial: bool = False) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidData("data must be a JSON object", {"_schema": ["Expected an object."]})
    try:
        loaded = EntrySchema(partial=partial).load(data)
    except ValidationError as error:
        messages = error.normalized_messages()
        raise InvalidData(f"{len(messages)} field(s) are invalid",
                          {k: v if isinstance(v, list) else [str(v)] for k, v in messages.items()}) from error
    for key in ("subject_name", "reason"):
        if isinstance(loaded.get(key), str):
            loaded[key] = loaded[key].strip()
    for key in ("subject_key", "document_no"):  # optional: blank means not given
        if isinstance(loaded.get(key), str):
            loaded[key] = loaded[key].strip() or None
    if loaded.get("subject_name") == "" or loaded.get("reason") == "":
        raise InvalidData("blank values", {k: ["Must not be blank."] for k in ("subject_name", "reason")
                                           if loaded.get(k) == ""})
    return loaded


def add(session: Session, actor: str | None, data: Any) -> IntegrityEntry:
    values = _load(data)
    now = clock.now()
    entry = IntegrityEntry(**values, state=ACTIVE, created_at=now, created_by=actor, updated_at=now)
    session.add(entry)
    session.flush()
    _history(session, entry, actor, "created", None, None)
    audit.record(session, "integrity_created", actor, entry_id=entry.id, entry=entry.to_dict())
    return entry


def amend(session: Session, actor: str | None, entry_id: int, changes: Any, reason: str) -> IntegrityEntry:
    """Change some fields of an entry (e.g. a reconsideration shortens the penalty)."""
    entry = get(session, entry_id)
    if entry.state != ACTIVE:
        raise Conflict(f"integrity entry {entry_id} is {entry.state}; it cannot be amended")
    _require_reason(reason)
    values = _load(changes, partial=True)
    before = entry.to_dict()
    for key, value in values.items():
        setattr(entry, key, value)
    end = entry.penalty_end
    if end is not None and end < entry.penalty_start:
        raise InvalidData("the penalty cannot end before it starts",
                          {"penalty_end": ["The penalty cannot end before it starts."]})
    entry.updated_at = clock.now()
    _history(session, entry, actor, "amended", reason, before)
    return entry


def revoke(session: Session, actor: str | None, entry_id: int, reason: str) -> IntegrityEntry:
    """Withdraw an entry (e.g. the finding was overturned); it stays in the history."""
    entry = get(session, entry_id)
    if entry.state == REVOKED:
        raise Conflict(f"integrity entry {entry_id} is already revoked")
    _require_reason(reason)
    before = entry.to_dict()
    entry.state, entry.updated_at = REVOKED, clock.now()
    _history(session, entry, actor, "revoked", reason, before)
    return entry


def _require_reason(reason: Any) -> None:
    if not isinstance(reason, str) or len(reason.strip()) < 4:
        raise InvalidData("a reason is required", {"reason": ["A reason is required."]})


def _history(session: Session, entry: IntegrityEntry, actor: str | None, action: str,
             reason: str | None, before: dict[str, Any] | None) -> None:
    session.add(IntegrityHistory(entry_id=entry.id, at=clock.now(), actor=actor, action=action,
                                 reason=reason.strip() if reason else None, before=before,
                                 after=entry.to_dict()))
    if action != "created":
        audit.record(session, f"integrity_{action}", actor, entry_id=entry.id, reason=reason,
                     before=before, after=entry.to_dict())


def get(session: Session, entry_id: int) -> IntegrityEntry:
    entry = session.get(IntegrityEntry, entry_id)
    if entry is None:
        raise NotFound(f"integrity entry {entry_id} not found")
    return entry


def history(session: Session, entry_id: int) -> list[IntegrityHistory]:
    get(session, entry_id)
    return list(session.scalars(select(IntegrityHistory).where(IntegrityHistory.entry_id == entry_id)
                                .order_by(IntegrityHistory.at, IntegrityHistory.id)))


def entries(session: Session, subject_type: str | None = None, name: str | None = None,
            include_revoked: bool = False) -> list[IntegrityEntry]:
    query = select(IntegrityEntry)
    if subject_type:
        query = query.where(IntegrityEntry.subject_type == subject_type)
    if name:
        query = query.where(IntegrityEntry.subject_name == name.strip())
    if not include_revoked:
        query = query.where(IntegrityEntry.state == ACTIVE)
    return list(session.scalars(query.order_by(IntegrityEntry.subject_type, IntegrityEntry.subject_name,
                                               IntegrityEntry.penalty_start)))


@dataclass(frozen=True)
class Finding:
    """One subject of an application that is in a penalty period on the day checked."""

    subject_type: str
    subject_name: str
    role: str  # investigator, team_member, organisation, partner_unit
    entry: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        end = self.entry["penalty_end"] or "—"
        return {"subject_type": self.subject_type, "subject_name": self.subject_name, "role": self.role,
                "grade": self.entry["grade"], "penalty_end": self.entry["penalty_end"],
                "reason": self.entry["reason"], "entry_id": self.entry["id"],
                "message": f"{self.subject_name}: 处于科研失信惩戒期 · in a research-integrity penalty "
                           f"period until {end} ({GRADE_LABELS[self.entry['grade']]})"}


def today() -> date:
    """The bureau's calendar date at the engine clock's now."""
    return clock.now().astimezone(BUREAU_TZ).date()


def check(session: Session, persons: Iterable[tuple[str, str]], organisations: Iterable[tuple[str, str]],
          on: date | None = None) -> list[Finding]:
    """Findings for (name, role) persons and organisations in a penalty period on `on`."""
    day = on or today()
    wanted = {(PERSON, n.strip(), r) for n, r in persons if n and n.strip()} | \
             {(ORGANISATION, n.strip(), r) for n, r in organisations if n and n.strip()}
    if not wanted:
        return []
    names = {name for _, name, _ in wanted}
    rows = session.scalars(select(IntegrityEntry).where(
        IntegrityEntry.subject_name.in_(names), IntegrityEntry.state == ACTIVE,
        IntegrityEntry.penalty_start <= day,
        or_(IntegrityEntry.penalty_end.is_(None), IntegrityEntry.penalty_end >= day))).all()
    findings = []
    for kind, name, role in sorted(wanted):
        for entry in rows:
            if entry.subject_type == kind and entry.subject_name == name:
                findings.append(Finding(kind, name, role, entry.to_dict()))
    return findings
