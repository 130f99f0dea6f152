"""Credit records (信用记录) of people and organisations: performance ratings, acceptance results,
terminations, revocations, misconduct, lapsed contracts, overdue annual reports and penalties,
written by the processes when they happen and shown to later reviewers (formal review, expert
review). This module owns the record (entries are only ever added, each with a source key so
that a process step re-run after an error cannot write the same fact twice) and the credit rule
that gives some records teeth: `RESTRICTIONS`, how long a failed acceptance, a revocation or
misconduct bars new applications of the investigator and of the organisation, which the
submission gate (eligibility) reads."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

from dateutil.relativedelta import relativedelta

from sqlalchemy import JSON, Float, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import audit, clock
from engine.core.calendar import BUREAU_TZ
from engine.core.errors import InvalidData
from engine.lifecycle.integrity import ORGANISATION, PERSON, SUBJECT_TYPES
from engine.core.models import Base

# what a record says; negative kinds weigh against an applicant in later reviews
KINDS = {
    "rating": "绩效评价 · Performance rating",
    "acceptance_passed": "验收通过 · Acceptance passed",
    "acceptance_failed": "验收不通过 · Acceptance failed",
    "acceptance_closed_out": "验收结题 · Closed out at acceptance",
    "terminated": "项目终止 · Project terminated",
    "terminated_no_fault": "项目终止（无过错）· Project terminated, no fault",
    "contract_lapsed": "逾期未签订任务书 · Contract not signed in time",
    "penalty": "失信惩戒 · Integrity penalty",
    "revoked": "项目撤销 · Project revoked",
    "misconduct": "科研失信行为 · Research misconduct",
    "annual_report_overdue": "逾期未报送年度报告 · Annual report overdue",
}
NEGATIVE = {"acceptance_failed", "terminated", "contract_lapsed", "penalty", "revoked", "misconduct",
            "annual_report_overdue"}

# The credit rule (信用约束): months from the day a record is written (bureau time) during which the
# subject may not apply again, per kind and subject. The bureau's rules: a failed acceptance bars
# the investigator for 2 years; a revocation (fraud or serious breach) bars the investigator for 5
# years and the organisation for 2; misconduct bars the investigator for 5 years and the
# organisation for 3. Kinds not listed here are advice to reviewers only.
RESTRICTIONS: dict[str, dict[str, int]] = {
    "acceptance_failed": {PERSON: 24},
    "revoked": {PERSON: 60, ORGANISATION: 24},
    "misconduct": {PERSON: 60, ORGANISATION: 36},
}


class CreditRecord(Base):
    __tablename__ = "credit_records"
    __table_args__ = (Index("ix_credit_subject", "subject_type", "subject_name", "recorded_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    outcome: Mapped[str | None] = mapped_column(String(40))
    score: Mapped[float | None] = mapped_column(Float)
    project_id: Mapped[int | None] = mapped_column(Integer, index=True)
    project_title: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "subject_type": self.subject_type, "subject_name": self.subject_name,
                "kind": self.kind, "kind_label": KINDS.get(self.kind, self.kind), "outcome": self.outcome,
                "score": self.score, "project_id": self.project_id, "project_title": self.project_title,
                "note": self.note, "negative": self.kind in NEGATIVE or self.outcome == "fail",
                "recorded_at": self.recorded_at.isoformat()}


def record(session: Session, *, subject_type: str, subject_name: str, kind: str, source_key: str,
           outcome: str | None = None, score: float | None = None, project_id: int | None = None,
           project_title: str | None = None, note: str | None = None, actor: str | None = None) -> CreditRecord:
    """Add one record, or return the one already written for `source_key`."""
    if subject_type not in SUBJECT_TYPES:
        raise InvalidData(f"unknown subject type '{subject_type}'", {"subject_type": [f"One of: {', '.join(SUBJECT_TYPES)}."]})
    if kind not in KINDS:
        raise InvalidData(f"unknown credit record kind '{kind}'", {"kind": [f"One of: {', '.join(KINDS)}."]})
    if not isinstance(subject_name, str) or not subject_name.strip():
        raise InvalidData("a subject name is required", {"subject_name": ["Required."]})
    existing = session.scalar(select(CreditRecord).where(CreditRecord.source_key == source_key))
    if existing is not None:
        return existing
    row = CreditRecord(subject_type=subject_type, subject_name=subject_name.strip(), kind=kind, outcome=outcome,
                       score=float(score) if score is not None else None, project_id=project_id,
                       project_title=project_title, note=note, source_key=source_key,
                       recorded_at=clock.now(), recorded_by=actor, details={})
    session.add(row)
    session.flush()
    audit.record(session, "credit_recorded", actor, record=row.to_dict())
    return row


def history(session: Session, persons: Iterable[str] = (), organisations: Iterable[str] = (),
            limit: int = 50) -> list[CreditRecord]:
    """Newest first: the records of these people and organisations."""
    people = {p.strip() for p in persons if p and p.strip()}
    orgs = {o.strip() for o in organisations if o and o.strip()}
    if not people and not orgs:
        return []
    conditions = []
    if people:
        conditions.append((CreditRecord.subject_type == PERSON) & CreditRecord.subject_name.in_(people))
    if orgs:
        conditions.append((CreditRecord.subject_type == ORGANISATION) & CreditRecord.subject_name.in_(orgs))
    where = conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1]
    return list(session.scalars(select(CreditRecord).where(where)
                                .order_by(CreditRecord.recorded_at.desc(), CreditRecord.id.desc()).limit(limit)))


def summary(records: list[CreditRecord]) -> dict[str, Any]:
    """What a reviewer sees first: how many records, how many weigh against the applicant."""
    items = [r.to_dict() for r in records]
    return {"count": len(items), "negative": sum(1 for r in items if r["negative"]), "records": items}


@dataclass(frozen=True)
class Restriction:
    """A record that bars new applications from `since` to `until` (both days included)."""

    kind: str
    subject_type: str
    subject_name: str
    project_title: str | None
    since: date
    until: date

    def message(self) -> str:
        """Why and until when, in both languages, dates in bureau time."""
        label_zh, label_en = KINDS[self.kind].split(" · ", 1)
        project_zh = f"「{self.project_title}」" if self.project_title else ""
        project_en = f" ('{self.project_title}')" if self.project_title else ""
        who_zh = "项目负责人" if self.subject_type == PERSON else "申报单位"
        who_en = "the investigator" if self.subject_type == PERSON else "the organisation"
        return (f"{who_zh}「{self.subject_name}」因项目{project_zh}{label_zh}（{self.since.isoformat()}），"
                f"{self.until.isoformat()}（含）前不得申报 · {who_en} '{self.subject_name}' may not apply until "
                f"{self.until.isoformat()} (inclusive): {label_en.lower()}{project_en} on {self.since.isoformat()}")


def restrictions(session: Session, subject_type: str, subject_name: str, on: date) -> list[Restriction]:
    """The credit rule's bars on this person or organisation that are in force on `on`, the
    longest first."""
    kinds = [kind for kind, months in RESTRICTIONS.items() if subject_type in months]
    name = (subject_name or "").strip()
    if not name or not kinds:
        return []
    rows = session.scalars(select(CreditRecord).where(CreditRecord.subject_type == subject_type,
                                                      CreditRecord.subject_name == name,
                                                      CreditRecord.kind.in_(kinds)))
    found = []
    for row in rows:
        recorded = row.recorded_at if row.recorded_at.tzinfo else row.recorded_at.replace(tzinfo=timezone.utc)
        since = recorded.astimezone(BUREAU_TZ).date()
        until = since + relativedelta(months=RESTRICTIONS[row.kind][subject_type]) - timedelta(days=1)
        if since <= on <= until:
            found.append(Restriction(row.kind, subject_type, name, row.project_title, since, until))
    return sorted(found, key=lambda r: r.until, reverse=True)
