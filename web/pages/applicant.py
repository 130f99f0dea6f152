"""Applicant pages: "my applications" (stage, state or how and why it ended, what each waits for,
tasks waiting for the applicant such as a correction), starting a new application from the
process's start form (or, when the process's submission rules refuse this applicant now, why,
instead of a form; the organisation chosen from the register),
saving it as a draft (unvalidated, only the form's own fields) and submitting it (checked by the
engine against the start form; on 422 the form comes back with what was typed and each bad field
named). A submitted draft disappears in the same transaction that starts the process."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from engine.workspace import applicant_page, application_drafts, applications as engine_applications, \
    call_desk, organisation_requests
from engine.core import commands
from engine.core.errors import InvalidData
from engine.lifecycle import calls, eligibility
from engine.runtime import outcome

from web import engine_db
from web.auth import current_actor
from web.converters import bounded_id
from web.i18n import current_language
from web.pages.form_render import Node, data_from_request, labels_by_name, render_nodes
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


def _render(view: applicant_page.NewApplication, errors: dict[str, list[str]] | None, draft_id: int | None,
            status: int = 200, call: dict[str, Any] | None = None, topic: str = ""):  # type: ignore[no-untyped-def]
    language = current_language()
    errors = {key: [outcome.in_language(m, language) for m in messages] for key, messages in (errors or {}).items()}
    nodes = render_nodes(view.form, view.values, errors)
    if view.organisations:
        _choose_from_register(nodes, view.organisations)
    if call is not None:
        _only_the_calls_categories(nodes, call)
    return render_template("applicant/new.html", definition=view.definition, nodes=nodes, errors=errors,
                           labels=labels_by_name(nodes) | ({"call_key": _("Call"), "call_topic": _("Topic of the call")}
                                                           if call is not None else {}),
                           draft_id=draft_id, view=view, call=call,
                           topic=topic), status


def _only_the_calls_categories(nodes: list[Node], call: dict[str, Any]) -> None:
    """Under a call the plan category is one of the call's."""
    codes = [c["code"] for c in call["categories"]]
    for node in nodes:
        if node.kind == "field" and node.key == "plan_category":
            node.options = [o for o in node.options if o[0] in codes]
        _only_the_calls_categories(node.children, call)


def _choose_from_register(nodes: list[Node], names: list[str]) -> None:
    """The organisation is one of the register's, chosen from a list rather than typed."""
    for node in nodes:
        if node.kind == "field" and node.key == eligibility.ORGANISATION and node.type == "textfield":
            current = node.value if isinstance(node.value, str) else ""
            node.type = "select"
            node.options = [(n, n) for n in names] + ([(current, current)] if current and current not in names else [])
            node.description = _("Only organisations registered with the bureau may apply. Not in the list? "
                                 "Ask for its registration below the form.")
        _choose_from_register(node.children, names)


@applicant.get("/new/<process_key>")
def new(process_key: str):  # type: ignore[no-untyped-def]
    draft_id = request.args.get("draft", type=bounded_id)
    # a process about one project (a budget adjustment) opens from that project's page with it filled in
    project = request.args.get("project", type=bounded_id)
    values = {"project_id": project} if project and draft_id is None else None
    view = commands.query(engine_db(), applicant_page.new_application, current_actor(), process_key, draft_id,
                          values)
    if not view.eligible:
        return render_template("applicant/not_eligible.html", view=view, reason_text=outcome.in_language)
    return _render(view, None, draft_id)


@applicant.post("/new/<process_key>")
def submit(process_key: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    draft_id = request.form.get("draft_id", type=bounded_id)
    form = commands.query(engine_db(), applicant_page.start_form, actor, process_key)[1]
    data = data_from_request(form, request.form)
    if request.form.get("action") == "save_draft":
        draft = commands.execute(engine_db(), application_drafts.save, actor, process_key, data, draft_id)
        flash(_("Draft saved. You can come back to it from “My applications”."), "success")
        return redirect(url_for("applicant.new", process_key=process_key, draft=draft.id))
    try:
        instance = commands.execute(engine_db(), application_drafts.submit, actor, process_key, data, draft_id)
    except InvalidData as error:
        view = commands.query(engine_db(), applicant_page.new_application, actor, process_key, draft_id, data)
        return _render(view, error.fields, draft_id, 422)
    flash(_("Your application has been submitted (number %(id)s).", id=instance.id), "success")
    return redirect(url_for("instance_pages.show", instance_id=instance.id))


def _call(key: str) -> dict[str, Any]:
    return commands.query(engine_db(), lambda s: calls.get(s, key).to_dict())


@applicant.get("/calls/<key>/new")
def new_under_call(key: str):  # type: ignore[no-untyped-def]
    """A new application under an open call: refused with the reason (closed, too many open
    projects) before the form, else the form with the call's categories and topics."""
    actor = current_actor()
    call = _call(key)
    view = commands.query(engine_db(), applicant_page.new_application, actor, call_desk.LIFECYCLE)
    if view.eligible:
        view.refusals = commands.query(engine_db(), call_desk.check_start, key,
                                       str(view.values.get(eligibility.INVESTIGATOR) or ""))
    if not view.eligible:
        return render_template("applicant/not_eligible.html", view=view, reason_text=outcome.in_language)
    return _render(view, None, None, call=call)


class CallTopic(Schema):
    class Meta:
        unknown = EXCLUDE  # the form's own fields are read by data_from_request

    call_topic = fields.String(load_default="", validate=validate.Length(max=200))


@applicant.post("/calls/<key>/new")
def submit_under_call(key: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    call = _call(key)
    form = commands.query(engine_db(), applicant_page.start_form, actor, call_desk.LIFECYCLE)[1]
    data = data_from_request(form, request.form)
    try:
        topic = CallTopic().load(request.form.to_dict())["call_topic"].strip()
    except ValidationError:
        topic = ""
    try:
        instance = commands.execute(engine_db(), call_desk.submit, actor, key, data, topic or None)
    except InvalidData as error:
        view = commands.query(engine_db(), applicant_page.new_application, actor, call_desk.LIFECYCLE, None, data)
        return _render(view, error.fields, None, 422, call=call, topic=topic)
    flash(_("Your application has been submitted (number %(id)s).", id=instance.id), "success")
    return redirect(url_for("instance_pages.show", instance_id=instance.id))


class RegistrationRequest(Schema):
    class Meta:
        unknown = EXCLUDE  # the CSRF token

    name = fields.String(load_default="", validate=validate.Length(max=300))
    credit_code = fields.String(load_default="", validate=validate.Length(max=40))
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    process_key = fields.String(load_default="", validate=validate.Regexp(r"^[A-Za-z0-9_.-]{0,200}$"))


_REQUEST_ERRORS = {
    "Give the organisation's full registered name (2 to 200 characters).":
        _l("Give the organisation's full registered name (2 to 200 characters)."),
    "A unified social credit code has 18 letters and digits.": _l("A unified social credit code has 18 letters and digits."),
    "At most 500 characters.": _l("At most 500 characters."),
    "This organisation is already registered: choose it from the list.":
        _l("This organisation is already registered: choose it from the list."),
}


@applicant.post("/organisation-request")
def request_registration():  # type: ignore[no-untyped-def]
    """Ask the institution to register an organisation missing from the register."""
    try:
        form = RegistrationRequest().load(request.form.to_dict())
    except ValidationError:
        flash(_("The request could not be read; please fill in the form again."), "error")
        return redirect(url_for("applicant.applications"))
    back = url_for("applicant.new", process_key=form["process_key"]) if form["process_key"] \
        else url_for("applicant.applications")
    try:
        commands.execute(engine_db(), organisation_requests.request, current_actor(), form["name"],
                         form["credit_code"], form["note"])
    except InvalidData as error:
        for messages in error.fields.values():
            for message in messages:
                flash(str(_REQUEST_ERRORS.get(message, message)), "error")
        return redirect(back)
    flash(_("Your request to register “%(name)s” was sent to the institution's staff. You will be told when it is "
            "registered; meanwhile you can save your application as a draft.", name=form["name"].strip()), "success")
    return redirect(back)


@applicant.post("/drafts/<int:draft_id>/delete")
def delete_draft(draft_id: int):  # type: ignore[no-untyped-def]
    commands.execute(engine_db(), application_drafts.delete, current_actor(), draft_id)
    flash(_("Draft deleted."), "success")
    return redirect(url_for("applicant.applications"))

