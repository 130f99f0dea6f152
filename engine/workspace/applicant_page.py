"""What the applicant's pages show (their view-models): "my applications" (their applications in
the chosen state, one page of them, each with its outcome once ended, the tasks waiting for them,
their drafts, and the processes they may start), and the "new application" page: the start form
with the draft's values, or, for a process that declares the bureau's submission rules
(lifecycle.eligibility), why this applicant may not apply now instead of a form; and the
organisation register to choose from."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from engine.core import names
from engine.core.errors import Forbidden, NotFound
from engine.core.models import ProcessDefinition
from engine.core.principals import Actor
from engine.definitions import deployment
from engine.definitions.forms import FormDefinition
from engine.lifecycle import eligibility
from engine.runtime import instances
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


@dataclass
class NewApplication:
    definition: ProcessDefinition
    form: FormDefinition
    values: dict[str, Any]
    refusals: list[str] = field(default_factory=list)   # why not now (bilingual texts); empty: may apply
    organisations: list[str] = field(default_factory=list)  # registered names, when the rules apply

    @property
    def eligible(self) -> bool:
        return not self.refusals


def start_form(session: Session, actor: Actor, process_key: str) -> tuple[ProcessDefinition, FormDefinition]:
    definition = deployment.latest_definition(session, process_key)
    assert definition is not None  # required=True raised NotFound otherwise
    if not instances.may_start(actor, definition.meta):
        raise Forbidden(f"you may not start '{process_key}'")
    form = deployment.form_for(session, definition, definition.meta.get("start_form_key"))
    if form is None:
        raise NotFound(f"'{process_key}' has no start form to fill in")
    return definition, form


def new_application(session: Session, actor: Actor, process_key: str, draft_id: int | None = None,
                    values: dict[str, Any] | None = None) -> NewApplication:
    """The page before the form: may this actor apply here now, and with what to fill it."""
    definition, form = start_form(session, actor, process_key)
    if values is None:
        draft = application_drafts.get(session, actor, draft_id) if draft_id else None
        values = dict(draft.data) if draft else {}
    if not eligibility.applies(definition.meta):
        return NewApplication(definition, form, values)
    who, result = eligibility.before_form(session, actor.username)
    if draft_id is None and not values:  # a fresh form: the applicant as investigator, their organisation
        values = {eligibility.INVESTIGATOR: who.investigator, eligibility.ORGANISATION: who.organisation}
    return NewApplication(definition, form, values, result.reasons, eligibility.applying_organisations(session))
