"""The yearly random spot check (抽查) of running projects: a share of the projects in execution
(`in_progress`), drawn at random with a seed, so anyone can redraw the same sample from the
audit record; each drawn project gets a `spot_check` process (processes/spot_check.bpmn) whose
institution task concludes fine, rectify, or refer for revocation. This module owns the draw,
its audit row (year, share, seed, the candidates and the drawn, in order) and the rule that a
year is drawn once; a supervisor runs it from the command line (`flask spot-checks draw`)."""
from __future__ import annotations

import math
import random
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import audit
from engine.core.errors import InvalidData
from engine.core.models import AuditEvent
from engine.core.principals import Actor
from engine.lifecycle import projects
from engine.runtime import instances

PROCESS = "spot_check"
ACTION = "spot_check_drawn"
DEFAULT_SHARE = 0.1  # a tenth of the running projects a year, at least one when any is running
RUNNING = "in_progress"


@dataclass(frozen=True)
class Draw:
    year: int
    share: float
    seed: int
    candidates: tuple[int, ...]
    drawn: tuple[int, ...]
    instance_ids: tuple[int, ...]


def sample(candidates: list[int], share: float, seed: int) -> list[int]:
    """The drawn project ids: ceil(share x candidates) of them, by a generator seeded with
    `seed` over the ids in ascending order, so the same seed and register give the same draw."""
    if not 0 < share <= 1:
        raise InvalidData("the share must be above 0 and at most 1", {"share": ["Between 0 (excluded) and 1."]})
    ordered = sorted(candidates)
    count = min(len(ordered), math.ceil(share * len(ordered)))
    return sorted(random.Random(seed).sample(ordered, count))


def already_drawn(session: Session, year: int) -> bool:
    rows = session.scalars(select(AuditEvent.details).where(AuditEvent.action == ACTION))
    return any((details or {}).get("year") == year for details in rows)


def draw(session: Session, actor: Actor, year: int, share: float = DEFAULT_SHARE, seed: int | None = None) -> Draw:
    """Draw this year's sample of running projects and start a spot check for each. Refused
    when the year was drawn already (a redraw would let someone pick the sample)."""
    if already_drawn(session, year):
        raise InvalidData(f"the spot check of {year} was drawn already", {"year": ["Drawn already."]})
    seed = secrets.randbelow(2**31) if seed is None else seed
    candidates = list(session.scalars(select(projects.Project.id).where(projects.Project.status == RUNNING)))
    drawn = sample(candidates, share, seed)
    started = []
    for project_id in drawn:
        project = projects.get(session, project_id)
        data: dict[str, Any] = {"project_id": project.id, "applicant": project.applicant, "title": project.title,
                                "spot_check_year": year}
        started.append(instances.start(session, actor, PROCESS, data, f"spot-check-{year}-{project.id}").id)
    audit.record(session, ACTION, actor.username, year=year, share=share, seed=seed,
                 candidates=sorted(candidates), drawn=drawn, instances=started)
    return Draw(year, share, seed, tuple(sorted(candidates)), tuple(drawn), tuple(started))
