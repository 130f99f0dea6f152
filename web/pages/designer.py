"""The process designer's pages (designers only; everyone else gets the 403 page): the catalogue
of deployed processes with their versions, who deployed each, when and how many instances run
on it; drafts (new, from a deployed version, from uploaded files); the BPMN modeler (bpmn-js
with the Camunda properties panel), the decision-table editor (dmn-js; a new blank FEEL table
too) and the form editor (form-js) saving into a draft, with a
preview of the form as reviewers will see it; validation with each finding listed and marked on
the diagram; deployment of a draft; the comparison of two versions; the migration of running
instances (choose, preview, confirm with a reason, report); and test runs of a draft stepped
through as each role. Every page calls the engine services the REST API calls."""
from __future__ import annotations

import json
from typing import Any

from flask import (Blueprint, Response, abort, flash, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _

from engine.core import commands
from engine.definitions import deployment
from engine.designer import migration, process_drafts, process_versions, trial_runs, version_compare
from engine.core.errors import BadRequest, DefinitionInvalid, EngineError, InvalidData
from engine.definitions.forms import parse_form
from engine.definitions.validation import kind_of

from web import engine_db
from web.api.design import validation_dict
from web.auth import current_actor
from web.converters import bounded_id
from web.pages.form_render import data_from_request, render_nodes
from web.pages.common import protected

designer = protected(Blueprint("designer", __name__, url_prefix="/designer"))


@designer.before_request
def _designers_only() -> None:
    if not current_actor().is_designer:
        abort(403)


def _wants_json() -> bool:
    return "application/json" in request.headers.get("Accept", "")


@designer.errorhandler(EngineError)
def _engine_error(error: EngineError):  # type: ignore[no-untyped-def]
    """The editors talk JSON; the other pages get the usual error page."""
    if _wants_json():
        body: dict[str, Any] = {"error": {"code": error.code, "message": error.message}}
        if isinstance(error, InvalidData):
            body["error"]["fields"] = error.fields
        if isinstance(error, DefinitionInvalid):
            body["error"]["problems"] = [p.to_dict() for p in error.problems]
        return jsonify(body), error.status
    from web.pages.common import engine_error_page
    return engine_error_page(error)


# ---- catalogue and drafts -------------------------------------------------------------------------

@designer.get("")
def index():  # type: ignore[no-untyped-def]
    actor = current_actor()
    catalogue = commands.query(engine_db(), process_versions.catalogue, actor)
    drafts = commands.query(engine_db(), process_drafts.list_drafts, actor)
    return render_template("designer/index.html", catalogue=catalogue, drafts=drafts)


@designer.post("/drafts")
def create_draft():  # type: ignore[no-untyped-def]
    actor = current_actor()
    key = request.form.get("from_key") or None
    version = request.form.get("from_version", type=bounded_id)
    name = request.form.get("name", "").strip()
    uploads = [u for u in request.files.getlist("files") if u.filename]
    files = {u.filename: _text(u.read(), u.filename) for u in uploads}  # type: ignore[misc]

    def _create(session):  # type: ignore[no-untyped-def]
        if key:
            return process_drafts.from_definition(session, actor, key, version, name or None).id
        return process_drafts.create(session, actor, name or _("Untitled draft"), files).id

    draft_id = commands.execute(engine_db(), _create)
    flash(_("The draft was created."), "success")
    return redirect(url_for("designer.draft_page", draft_id=draft_id))


@designer.get("/drafts/<int:draft_id>")
def draft_page(draft_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    draft = commands.query(engine_db(), process_drafts.get, actor, draft_id)
    trials = commands.query(engine_db(), trial_runs.of_draft, actor, draft_id)
    files = [{"name": n, "kind": kind_of(n), "bytes": len(t.encode("utf-8"))} for n, t in sorted(draft.files.items())]
    return render_template("designer/draft.html", draft=draft, files=files, trials=trials)


@designer.post("/drafts/<int:draft_id>/upload")
def upload(draft_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    uploads = [u for u in request.files.getlist("files") if u.filename]
    if not uploads:
        raise BadRequest(_("Choose one or more .bpmn, .dmn or .form files."))
    files = [(u.filename, _text(u.read(), u.filename)) for u in uploads]

    def _save(session):  # type: ignore[no-untyped-def]
        for filename, text in files:
            process_drafts.save_file(session, actor, draft_id, filename, text)

    commands.execute(engine_db(), _save)
    flash(_("%(n)s file(s) added to the draft.", n=len(files)), "success")
    return redirect(url_for("designer.draft_page", draft_id=draft_id))


@designer.post("/drafts/<int:draft_id>/files/<filename>/delete")
def remove_file(draft_id: int, filename: str):  # type: ignore[no-untyped-def]
    commands.execute(engine_db(), process_drafts.remove_file, current_actor(), draft_id, filename)
    flash(_("%(file)s was removed from the draft.", file=filename), "success")
    return redirect(url_for("designer.draft_page", draft_id=draft_id))


@designer.post("/drafts/<int:draft_id>/delete")
def delete_draft(draft_id: int):  # type: ignore[no-untyped-def]
    commands.execute(engine_db(), process_drafts.delete, current_actor(), draft_id)
    flash(_("The draft was deleted."), "success")
    return redirect(url_for("designer.index"))


@designer.get("/drafts/<int:draft_id>/files/<filename>")
def download(draft_id: int, filename: str):  # type: ignore[no-untyped-def]
    draft = commands.query(engine_db(), process_drafts.get, current_actor(), draft_id)
    if filename not in draft.files:
        abort(404)
    return _attachment(filename, draft.files[filename])


@designer.get("/processes/<key>/versions/<int:version>/files/<filename>")
def download_deployed(key: str, version: int, filename: str):  # type: ignore[no-untyped-def]
    files = commands.query(engine_db(), process_versions.files_of, current_actor(), key, version)
    if filename not in files:
        abort(404)
    return _attachment(filename, files[filename])


# ---- editors --------------------------------------------------------------------------------------

@designer.get("/drafts/<int:draft_id>/edit/<filename>")
def editor(draft_id: int, filename: str):  # type: ignore[no-untyped-def]
    draft = commands.query(engine_db(), process_drafts.get, current_actor(), draft_id)
    if filename not in draft.files:
        abort(404)
    kind = kind_of(filename)
    template = {"bpmn": "designer/modeler.html", "form": "designer/form_editor.html",
                "dmn": "designer/dmn_editor.html"}.get(kind or "")
    if template is None:
        abort(404)
    return render_template(template, draft=draft, filename=filename, content=draft.files[filename])


@designer.post("/drafts/<int:draft_id>/decisions")
def new_decision(draft_id: int):  # type: ignore[no-untyped-def]
    """A blank FEEL decision table added to the draft, opened in the editor."""
    filename = commands.execute(engine_db(), process_drafts.new_decision, current_actor(), draft_id,
                                request.form.get("decision_id", ""), request.form.get("name", "").strip() or None)
    flash(_("%(file)s was added to the draft.", file=filename), "success")
    return redirect(url_for("designer.editor", draft_id=draft_id, filename=filename))


@designer.post("/drafts/<int:draft_id>/save/<filename>")
def save(draft_id: int, filename: str):  # type: ignore[no-untyped-def]
    """The editors' save (JSON answer): 409 when someone saved the draft meanwhile."""
    revision = request.form.get("revision", type=bounded_id)
    content = request.form.get("content")
    if content is None:
        raise BadRequest(_("Nothing to save."))
    draft = commands.execute(engine_db(), process_drafts.save_file, current_actor(), draft_id, filename,
                             content, revision)
    return jsonify({"revision": draft.revision, "updated_by": draft.updated_by})


@designer.post("/drafts/<int:draft_id>/validate")
def validate(draft_id: int):  # type: ignore[no-untyped-def]
    verdict = commands.query(engine_db(), process_drafts.validate, current_actor(), draft_id, True)
    if _wants_json():
        return jsonify(validation_dict(verdict))
    return render_template("designer/_problems.html", valid=verdict.valid,
                           problems=[p.to_dict() for p in verdict.problems], processes=verdict.processes,
                           lint=[f.to_dict() for f in verdict.lint], lint_unavailable=verdict.lint_unavailable,
                           also=[(key, _reason(because)) for key, because in verdict.also])


def _reason(because: str) -> str:
    """The engine's reason for redeploying a process, in the page's language."""
    for prefix, text in ((deployment.USES_TABLE, _("uses the table %(names)s")),
                         (deployment.CALLS, _("calls %(names)s"))):
        if because.startswith(prefix + " "):
            return text % {"names": because[len(prefix) + 1:]}
    return because


@designer.post("/drafts/<int:draft_id>/deploy")
def deploy(draft_id: int):  # type: ignore[no-untyped-def]
    try:
        deployed = commands.execute(engine_db(), process_drafts.deploy, current_actor(), draft_id)
    except DefinitionInvalid as error:
        flash(_("Nothing was deployed: the draft has %(n)s problem(s).", n=len(error.problems)), "error")
        draft = commands.query(engine_db(), process_drafts.get, current_actor(), draft_id)
        files = [{"name": n, "kind": kind_of(n), "bytes": len(t.encode("utf-8"))} for n, t in sorted(draft.files.items())]
        trials = commands.query(engine_db(), trial_runs.of_draft, current_actor(), draft_id)
        return render_template("designer/draft.html", draft=draft, files=files, trials=trials,
                               problems=[p.to_dict() for p in error.problems]), 422
    processes = ", ".join(
        f"{d.key} v{d.version}" + (f" ({_('updated with what it calls')})" if d.because else "")
        for d in deployed if d.kind == "process")
    flash(_("Deployed: %(what)s.", what=processes or _("tables and forms only")), "success")
    return redirect(url_for("designer.draft_page", draft_id=draft_id))


@designer.post("/form-preview")
def form_preview():  # type: ignore[no-untyped-def]
    """The form as reviewers will see it: the server's own rendering of the edited schema."""
    try:
        form = parse_form(request.form.get("schema", ""), "preview.form")
    except DefinitionInvalid as error:
        return render_template("designer/_problems.html", valid=False,
                               problems=[p.to_dict() for p in error.problems], processes=[]), 422
    return render_template("designer/_form_preview.html", nodes=render_nodes(form))


# ---- comparison and migration ----------------------------------------------------------------------

@designer.get("/processes/<key>/compare")
def compare(key: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    entry = _entry(actor, key)
    versions = [v.version for v in entry.versions]
    to_version = request.args.get("to", type=bounded_id) or versions[0]
    from_version = request.args.get("from", type=bounded_id) or (versions[1] if len(versions) > 1 else versions[0])
    result = commands.query(engine_db(), version_compare.compare, actor, key, from_version, to_version)
    return render_template("designer/compare.html", entry=entry, result=result)


@designer.route("/processes/<key>/migrate", methods=["GET", "POST"])
def migrate(key: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    entry = _entry(actor, key)
    versions = [v.version for v in entry.versions]
    source = request.values.get("from", type=bounded_id) or (versions[1] if len(versions) > 1 else versions[0])
    target = request.values.get("to", type=bounded_id) or versions[0]
    ids = commands.query(engine_db(), migration.candidates, actor, key, source)
    plans = commands.query(engine_db(), migration.preview, actor, key, target, ids) if ids else []
    report = None
    if request.method == "POST":
        reason = request.form.get("reason", "").strip()
        if not reason:
            raise InvalidData(_("A migration needs a reason."), {"reason": [_("Missing data for required field.")]})
        chosen = [p.instance_id for p in plans if p.possible and str(p.instance_id) in request.form.getlist("ids")]
        report = migration.migrate_many(engine_db(), actor, chosen, target, reason)
        ids = commands.query(engine_db(), migration.candidates, actor, key, source)
        plans = commands.query(engine_db(), migration.preview, actor, key, target, ids) if ids else []
    return render_template("designer/migrate.html", entry=entry, source=source, target=target, plans=plans,
                           report=report)


def _entry(actor: Any, key: str) -> Any:
    for entry in commands.query(engine_db(), process_versions.catalogue, actor):
        if entry.key == key:
            return entry
    abort(404)


# ---- test runs ------------------------------------------------------------------------------------

@designer.get("/drafts/<int:draft_id>/trials/new")
def new_trial(draft_id: int):  # type: ignore[no-untyped-def]
    try:
        key, form, keys = commands.query(engine_db(), trial_runs.start_form, current_actor(), draft_id,
                                         request.args.get("process_key") or None)
    except DefinitionInvalid as error:
        flash(_("The draft has %(n)s problem(s); fix them before a test run.", n=len(error.problems)), "error")
        return redirect(url_for("designer.draft_page", draft_id=draft_id))
    return render_template("designer/trial_start.html", draft_id=draft_id, process_key=key, keys=keys,
                           nodes=render_nodes(form) if form is not None else None)


@designer.post("/drafts/<int:draft_id>/trials")
def start_trial(draft_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    key, form, keys = commands.query(engine_db(), trial_runs.start_form, actor, draft_id,
                                     request.form.get("process_key") or None)
    data = data_from_request(form, request.form) if form is not None else {}
    try:
        trial = commands.execute(engine_db(), trial_runs.start, actor, draft_id, key, data)
    except InvalidData as error:
        return render_template("designer/trial_start.html", draft_id=draft_id, process_key=key, keys=keys,
                               nodes=render_nodes(form, data, error.fields) if form is not None else None,
                               errors=error.fields), 422
    return redirect(url_for("designer.trial_page", trial_id=trial.id))


@designer.get("/trials/<int:trial_id>")
def trial_page(trial_id: int):  # type: ignore[no-untyped-def]
    view = commands.query(engine_db(), trial_runs.view, current_actor(), trial_id)
    return render_template("designer/trial.html", view=view, forms=_trial_forms(view))


@designer.post("/trials/<int:trial_id>/tasks/<task_id>")
def trial_complete(trial_id: int, task_id: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    view = commands.query(engine_db(), trial_runs.view, actor, trial_id)
    task = next((t for t in view.tasks if t.id == task_id), None)
    form = parse_form(json.dumps(task.form), "trial.form") if task is not None and task.form else None
    data = data_from_request(form, request.form) if form is not None else {}
    try:
        commands.execute(engine_db(), trial_runs.complete, actor, trial_id, task_id, data,
                         request.form.get("as_role") or None)
    except InvalidData as error:
        forms = _trial_forms(view, {task_id: (data, error.fields)})
        return render_template("designer/trial.html", view=view, forms=forms, error_task=task_id), 422
    return redirect(url_for("designer.trial_page", trial_id=trial_id))


def _trial_forms(view: trial_runs.TrialView, filled: dict[str, Any] | None = None) -> dict[str, Any]:
    forms = {}
    for task in view.tasks:
        if task.form:
            values, errors = (filled or {}).get(task.id, ({}, {}))
            forms[task.id] = render_nodes(parse_form(json.dumps(task.form), "trial.form"), values, errors)
    return forms


# ---- helpers -------------------------------------------------------------------------------------

def _text(raw: bytes, filename: str | None) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadRequest(_("%(file)s is not UTF-8 text.", file=filename)) from error


def _attachment(filename: str, text: str) -> Response:
    mimetype = "application/json" if kind_of(filename) == "form" else "application/xml"
    return Response(text.encode("utf-8"), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
