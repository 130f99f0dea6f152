"""History retention: instances that ended (completed or terminated) longer ago than a configured
period are archived, so the live tables do not grow without bound, and stay findable and
readable by supervisors.

Archiving works in batches, each one transaction: the batch's instances are written to a new
JSON-lines file under the archive folder (one line per instance: the instance row with its
workflow document, its final data, its tasks, its whole audit log and the rows other tables keep
for it, such as comments and attachment records), the file is flushed to disk, an index row per
instance is added to `archived_instances` (key facts plus the file, byte offset, length and
SHA-256 of its line), and the live rows are deleted. If the transaction fails the file is
removed, so the file and the database never disagree. Reading an archived instance seeks to its
line and checks its digest. Attachment files stay where they are; their records are archived."""
from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import BigInteger, Index, Integer, String, Table, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import audit, clock, commands, leases
from engine.runtime import finished_tasks, instances
from engine.core.db import Database
from engine.core.errors import Conflict, InvalidData, NotFound
from engine.runtime.finished_tasks import WorkflowFragment
from engine.core.models import AuditEvent, Base, HumanTask, ProcessInstance
from engine.core.principals import Actor
from engine.core.summaries import InstanceSummary
from engine.core.principals import require_supervisor

FORMAT = "scitech-archive/1"
ENDED = ("completed", "terminated")
DEFAULT_AFTER_DAYS = 365
DEFAULT_BATCH = 100

# archiving selects ended instances by their end
Index("ix_process_instances_state_ended_at", ProcessInstance.state, ProcessInstance.ended_at)


class ArchivedInstance(Base):
    """The index of archived instances. Its own id: SQLite may hand a deleted instance's id to a
    new instance, so one instance id can in time be archived twice."""

    __tablename__ = "archived_instances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    process_name: Mapped[str] = mapped_column(String(255), default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    started_by: Mapped[str | None] = mapped_column(String(80), index=True)
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    archived_at: Mapped[datetime]
    archived_by: Mapped[str | None] = mapped_column(String(80))
    file: Mapped[str] = mapped_column(String(500))   # relative to the archive folder
    offset: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    length: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    task_count: Mapped[int] = mapped_column(Integer, default=0)
    event_count: Mapped[int] = mapped_column(Integer, default=0)


# ---- what would be archived ----------------------------------------------------------------------

def cutoff(older_than_days: int) -> datetime:
    if older_than_days < 0:
        raise InvalidData("the age must not be negative", {"older_than_days": ["Must be 0 or more."]})
    return clock.now() - timedelta(days=older_than_days)


def _due(before: datetime) -> Any:
    return (ProcessInstance.state.in_(ENDED)) & (ProcessInstance.ended_at < before)


@dataclass(frozen=True)
class Plan:
    before: datetime
    total: int
    by_process: dict[str, int]


def plan(session: Session, older_than_days: int) -> Plan:
    """What a run would archive now (the dry run)."""
    before = cutoff(older_than_days)
    rows = session.execute(select(ProcessInstance.process_key, func.count()).where(_due(before))
                           .group_by(ProcessInstance.process_key)).all()
    counts = {key: count for key, count in sorted(rows)}
    return Plan(before, sum(counts.values()), counts)


# ---- archiving ---------------------------------------------------------------------------------------

@dataclass
class Report:
    archived: int = 0
    batches: int = 0
    files: list[str] = field(default_factory=list)


def run(db: Database, directory: Path, older_than_days: int = DEFAULT_AFTER_DAYS,
        batch_size: int = DEFAULT_BATCH, actor: str = "archive",
        progress: Callable[[int], None] | None = None) -> Report:
    """Archive every instance that ended before the cutoff, batch by batch; `progress` gets the
    number archived by each batch."""
    if not 1 <= batch_size <= 10_000:
        raise InvalidData("bad batch size", {"batch_size": ["Must be between 1 and 10000."]})
    before = cutoff(older_than_days)
    report = Report()
    while True:
        written: list[Path] = []
        try:
            count, relative = commands.execute(db, _archive_batch, Path(directory), before,
                                               batch_size, actor, written)
        except BaseException:
            for path in written:  # the rows were not deleted: the file must not claim them
                path.unlink(missing_ok=True)
            raise
        if not count:
            return report
        report.archived += count
        report.batches += 1
        report.files.append(relative)
        if progress is not None:
            progress(count)


def _archive_batch(session: Session, directory: Path, before: datetime, batch_size: int,
                   actor: str, written: list[Path]) -> tuple[int, str]:
    stmt = select(ProcessInstance).where(_due(before)).order_by(ProcessInstance.id).limit(batch_size)
    batch = list(session.scalars(leases.claim_rows(session, stmt, of=ProcessInstance)))
    if not batch:
        return 0, ""
    ids = [row.id for row in batch]
    now = clock.now()
    path, relative = _new_file(directory, now, ids)
    lines = [_line(session, row) for row in batch]
    written.append(path)
    index_rows = _write(path, lines)
    for row, (offset, length, digest), line in zip(batch, index_rows, lines):
        session.add(ArchivedInstance(
            instance_id=row.id, process_key=row.process_key, version=row.version,
            process_name=line["definition"]["name"], title=line["title"], started_by=row.started_by,
            state=row.state, started_at=row.started_at, ended_at=row.ended_at, archived_at=now,
            archived_by=actor, file=relative, offset=offset, length=length, sha256=digest,
            task_count=len(line["tasks"]), event_count=len(line["audit"])))
    session.flush()
    _delete_live(session, ids)
    for row in batch:
        session.expunge(row)
    audit.record(session, "instances_archived", actor, count=len(ids), file=relative,
                 first_id=ids[0], last_id=ids[-1], ended_before=before.isoformat())
    return len(ids), relative


def _new_file(directory: Path, now: datetime, ids: list[int]) -> tuple[Path, str]:
    folder = directory / f"{now:%Y}" / f"{now:%m}"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"archive-{now:%Y%m%dT%H%M%S}-{ids[0]}-{ids[-1]}"
    path, n = folder / f"{stem}.jsonl", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.jsonl"
    return path, path.relative_to(directory).as_posix()


def _write(path: Path, lines: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    positions = []
    with open(path, "xb") as handle:
        for line in lines:
            data = json.dumps(line, ensure_ascii=False, default=_json_value, sort_keys=True).encode("utf-8") + b"\n"
            positions.append((handle.tell(), len(data), hashlib.sha256(data).hexdigest()))
            handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return positions


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    return str(value)


def _rows(session: Session, table: Table, column: Any, values: list[Any]) -> list[dict[str, Any]]:
    if not values:
        return []
    return [dict(r) for r in session.execute(select(table).where(column.in_(values))).mappings()]


def _dependents(target: Table) -> list[tuple[Table, Any]]:
    """(table, column) pairs whose column is a foreign key to `target`'s primary key."""
    found = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is target and table is not target:
                found.append((table, fk.parent))
    return found


# tasks are archived above; summaries are rebuilt; finished tasks are in the whole document
_SKIPPED = {HumanTask.__tablename__, InstanceSummary.__tablename__, WorkflowFragment.__tablename__}


def _line(session: Session, instance: ProcessInstance) -> dict[str, Any]:
    instances_table = ProcessInstance.__table__
    tasks_table = HumanTask.__table__
    tasks = _rows(session, tasks_table, tasks_table.c.process_instance_id, [instance.id])
    task_ids = [t["id"] for t in tasks]
    events = _rows(session, AuditEvent.__table__, AuditEvent.__table__.c.process_instance_id, [instance.id])
    events.sort(key=lambda e: (e["at"], e["id"]))
    related: dict[str, list[dict[str, Any]]] = {}
    for table, column in _dependents(instances_table):
        if table.name not in _SKIPPED:
            related.setdefault(table.name, []).extend(_rows(session, table, column, [instance.id]))
    for table, column in _dependents(tasks_table):
        rows = _rows(session, table, column, task_ids)
        known = related.setdefault(table.name, [])
        known.extend(r for r in rows if r not in known)
    related = {name: rows for name, rows in related.items() if rows}
    summary = session.get(InstanceSummary, instance.id)
    [row] = _rows(session, instances_table, instances_table.c.id, [instance.id])
    try:
        row["document"] = finished_tasks.whole_document(session, instance)
    except ValueError:  # an unreadable document is archived as it is, with its fragments
        related["workflow_fragments"] = _rows(session, WorkflowFragment.__table__,
                                              WorkflowFragment.__table__.c.instance_id, [instance.id])
    definition = instance.definition
    return {"format": FORMAT, "instance": row, "title": summary.title if summary else "",
            "definition": {"id": definition.id, "key": definition.key, "version": definition.version,
                           "name": definition.name or definition.key},
            "data": _final_data(instance), "tasks": tasks, "audit": events, "related": related}


def _final_data(instance: ProcessInstance) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(instances.data_of(instance), default=_json_value))
    except Exception as error:  # a spec that no longer restores must not block retention
        return {"_unreadable": f"{type(error).__name__}: {error}"}


def _delete_live(session: Session, ids: list[int]) -> None:
    task_ids = list(session.scalars(select(HumanTask.id).where(HumanTask.process_instance_id.in_(ids))))
    session.execute(delete(AuditEvent).where(AuditEvent.process_instance_id.in_(ids))
                    .execution_options(synchronize_session=False))
    for table, column in _dependents(HumanTask.__table__):
        for start in range(0, len(task_ids), 500):
            session.execute(delete(table).where(column.in_(task_ids[start:start + 500])))
    for table, column in _dependents(ProcessInstance.__table__):
        if table.name != HumanTask.__tablename__:
            session.execute(delete(table).where(column.in_(ids)))
    session.execute(delete(HumanTask.__table__).where(HumanTask.__table__.c.process_instance_id.in_(ids)))
    session.execute(delete(ProcessInstance.__table__).where(ProcessInstance.__table__.c.id.in_(ids)))


# ---- finding and reading --------------------------------------------------------------------------

@dataclass(frozen=True)
class Search:
    q: str | None = None                 # part of the title, or an instance id
    process_key: str | None = None
    started_by: str | None = None
    state: str | None = None
    ended_after: datetime | None = None
    ended_before: datetime | None = None


def search(session: Session, actor: Actor, criteria: Search = Search(), page: int = 1,
           per_page: int = 50) -> tuple[list[ArchivedInstance], int]:
    require_supervisor(actor)
    where = []
    if criteria.q:
        text = criteria.q.strip()
        condition = ArchivedInstance.title.icontains(text, autoescape=True)
        if text.isdigit():
            condition = condition | (ArchivedInstance.instance_id == int(text))
        where.append(condition)
    if criteria.process_key:
        where.append(ArchivedInstance.process_key == criteria.process_key)
    if criteria.started_by:
        where.append(ArchivedInstance.started_by == criteria.started_by)
    if criteria.state:
        where.append(ArchivedInstance.state == criteria.state)
    if criteria.ended_after:
        where.append(ArchivedInstance.ended_at >= criteria.ended_after)
    if criteria.ended_before:
        where.append(ArchivedInstance.ended_at < criteria.ended_before)
    total = session.scalar(select(func.count()).select_from(ArchivedInstance).where(*where)) or 0
    rows = session.scalars(select(ArchivedInstance).where(*where)
                           .order_by(ArchivedInstance.ended_at.desc(), ArchivedInstance.id.desc())
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total


def read(session: Session, actor: Actor, directory: Path, archive_id: int) -> dict[str, Any]:
    """The archived record of one instance, as written (its digest checked)."""
    return archived(session, actor, directory, archive_id)[1]


def archived(session: Session, actor: Actor, directory: Path,
             archive_id: int) -> tuple[ArchivedInstance, dict[str, Any]]:
    """The archive row of one instance and its record, as written (its digest checked)."""
    require_supervisor(actor)
    row = session.get(ArchivedInstance, archive_id)
    if row is None:
        raise NotFound(f"archived record {archive_id} not found")
    path = (Path(directory) / row.file).resolve()
    if Path(directory).resolve() not in path.parents:
        raise NotFound("the archive file is outside the archive folder")
    try:
        with open(path, "rb") as handle:
            handle.seek(row.offset)
            data = handle.read(row.length)
    except OSError as error:
        raise NotFound(f"the archive file {row.file} cannot be read: {error.strerror}") from error
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise Conflict(f"the archive file {row.file} was changed since it was written")
    return row, json.loads(data)
