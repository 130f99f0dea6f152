"""Applicant pages: "my applications" (stage, state, what each waits for, tasks waiting for the
applicant such as a correction), starting a new application from the process's start form,
saving it as a draft (unvalidated, only the form's own fields) and submitting it (checked by the
engine against the start form; on 422 the form comes back with what was typed and each bad field
named). A submitted draft disappears in the same transaction that starts the process."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from engine.workspace import applicant_page, application_drafts, applications as engine_applications
from engine.core import commands
from engine.definitions import deployment
from engine.runtime import instances
from engine.core.errors import Forbidden, InvalidData, NotFound
from engine.definitions.forms import FormDefinition
from engine.core.models import ProcessDefinition
from engine.core.principals import Actor

from web import engine_db
from web.auth import current_actor
from web.converters import bounded_id
from web.pages.form_render import data_from_request, labels_by_name, render_nodes
from web.pages.common import Pager, int_arg, protected

applicant = protected(Blueprint("applicant", __name__, url_prefix="/applications"))


@applicant.get("")
def applications():  # type: ignore[no-untyped-def]
    actor = current_actor()
    state = request.args.get("state", "")
    state = state if state in engine_applications.STATES else ""
    page = int_arg("page", 1)

    view = commands.query(engine_db(), applicant_page.applicant_view, actor, state, page)
    return render_template("applicant/list.html", mine=view.mine, pager=Pager(page, applicant_page.PER_PAGE, view.total),
                           state=state, waiting=view.waiting, drafts=view.drafts, startable=view.startable,
                           states=engine_applications.STATES, names=view.names)


def _start_form(session: Session, actor: Actor, process_key: str) -> tuple[ProcessDefinition, FormDefinition]:
    definition = deployment.latest_definition(session, process_key)
    assert definition is not None  # required=True raised NotFound otherwise
    if not instances.may_start(actor, definition.meta):
        raise Forbidden(f"you may not start '{process_key}'")
    form = deployment.form_for(session, definition, definition.meta.get("start_form_key"))
    if form is None:
        raise NotFound(f"'{process_key}' has no start form to fill in")
    return definition, form


def _render(definition: ProcessDefinition, form: FormDefinition, values: dict[str, Any],
            errors: dict[str, list[str]] | None, draft_id: int | None, status: int = 200):  # type: ignore[no-untyped-def]
    nodes = render_nodes(form, values, errors)
    return render_template("applicant/new.html", definition=definition, nodes=nodes, errors=errors or {},
                           labels=labels_by_name(nodes), draft_id=draft_id), status


@applicant.get("/new/<process_key>")
def new(process_key: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    draft_id = request.args.get("draft", type=bounded_id)

    def _read(session: Session):  # type: ignore[no-untyped-def]
        definition, form = _start_form(session, actor, process_key)
        draft = application_drafts.get(session, actor, draft_id) if draft_id else None
        return definition, form, dict(draft.data) if draft else {}

    definition, form, values = commands.query(engine_db(), _read)
    return _render(definition, form, values, None, draft_id)


@applicant.post("/new/<process_key>")
def submit(process_key: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    draft_id = request.form.get("draft_id", type=bounded_id)
    definition, form = commands.query(engine_db(), _start_form, actor, process_key)
    data = data_from_request(form, request.form)
    if request.form.get("action") == "save_draft":
        draft = commands.execute(engine_db(), application_drafts.save, actor, process_key, data, draft_id)
        flash(_("Draft saved. You can come back to it from “My applications”."), "success")
        return redirect(url_for("applicant.new", process_key=process_key, draft=draft.id))
    try:
        instance = commands.execute(engine_db(), application_drafts.submit, actor, process_key, data, draft_id)
    except InvalidData as error:
        return _render(definition, form, data, error.fields, draft_id, 422)
    flash(_("Your application has been submitted (number %(id)s).", id=instance.id), "success")
    return redirect(url_for("instance_pages.show", instance_id=instance.id))


@applicant.post("/drafts/<int:draft_id>/delete")
def delete_draft(draft_id: int):  # type: ignore[no-untyped-def]
    commands.execute(engine_db(), application_drafts.delete, current_actor(), draft_id)
    flash(_("Draft deleted."), "success")
    return redirect(url_for("applicant.applications"))

