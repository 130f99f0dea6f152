"""The designer's catalogue of deployed processes: every version of every process with who
deployed it and when, and how many instances run on it (live) or ever started on it; and the
files a version was built from, for download. Read-only; designers only."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine.core.models import ProcessDefinition, ProcessInstance
from engine.core.principals import Actor
from engine.designer.process_drafts import definition_of, require_designer, source_files

LIVE = ("running", "suspended", "error")


@dataclass
class Version:
    version: int
    name: str
    deployed_at: datetime
    deployed_by: str | None
    live: int = 0
    total: int = 0


@dataclass
class ProcessEntry:
    key: str
    name: str
    versions: list[Version] = field(default_factory=list)

    @property
    def latest(self) -> Version:
        return self.versions[0]

    @property
    def live(self) -> int:
        return sum(v.live for v in self.versions)


def catalogue(session: Session, actor: Actor) -> list[ProcessEntry]:
    require_designer(actor)
    counts: dict[tuple[str, int], tuple[int, int]] = {}
    rows = session.execute(select(ProcessInstance.process_key, ProcessInstance.version,
                                  func.count(), func.sum(case((ProcessInstance.state.in_(LIVE), 1), else_=0)))
                           .group_by(ProcessInstance.process_key, ProcessInstance.version))
    for key, version, total, live in rows:
        counts[(key, version)] = (int(live or 0), int(total))
    entries: dict[str, ProcessEntry] = {}
    for definition in session.scalars(select(ProcessDefinition).order_by(
            ProcessDefinition.key, ProcessDefinition.version.desc())):
        entry = entries.setdefault(definition.key, ProcessEntry(definition.key, definition.name or definition.key))
        live, total = counts.get((definition.key, definition.version), (0, 0))
        entry.versions.append(Version(definition.version, definition.name or definition.key,
                                      definition.deployed_at, definition.deployed_by, live, total))
    return list(entries.values())


def files_of(session: Session, actor: Actor, key: str, version: int | None) -> dict[str, str]:
    """{filename: text} of a deployed version: its BPMN/DMN files and the forms it pins."""
    require_designer(actor)
    return source_files(session, definition_of(session, key, version))
