"""What the applicant's "my applications" page shows (its view-model): their applications in the
chosen state, one page of them, the tasks waiting for them (a correction, a contract), their
drafts, and the processes they may start."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.core import names
from engine.core.principals import Actor
from engine.workspace import application_drafts, applications, inbox

PER_PAGE = 20


@dataclass
class ApplicantView:
    mine: list[Any]
    total: int
    waiting: list[Any]
    drafts: list[Any]
    startable: list[Any]
    names: names.Names | None = None


def applicant_view(session: Session, actor: Actor, state: str, page: int) -> ApplicantView:
    mine, total = applications.mine(session, actor, state, page, PER_PAGE)
    waiting = inbox.search(session, actor, inbox.InboxQuery(scope="assigned", per_page=50))
    return ApplicantView(mine, total, waiting.rows, application_drafts.listed(session, actor),
                         applications.startable(session, actor),
                         names.of_tasks(session, [t for a in mine for t in getattr(a, "open_tasks", [])]))
