"""/api/v1/designer/...: the process designer's API (designers only): the catalogue of deployed
versions and their files, drafts and their files (JSON or multipart upload, download),
validation and deployment of a draft, version comparison, migration of running instances
(preview, then run), and test runs of a draft."""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from engine.core import commands
from engine.designer import migration, process_drafts, process_versions, trial_runs, version_compare
from engine.core.errors import BadRequest, NotFound
from engine.core.principals import Actor
from engine.definitions.validation import kind_of

from web import engine_db
from web.api.blueprint import api
from web.api.auth import current_actor, load_body, load_query
from web.api.design_schemas import (CompareQuery, ComparisonOut, DraftCreateRequest, DraftOut, FileSaveRequest,
                             MigrationPreviewRequest, MigrationReportOut, MigrationRequest, PlanOut,
                             ProcessVersionsOut, TrialCompleteRequest, TrialOut, TrialStartRequest,
                             ValidateQuery, ValidationOut)
from web.api.schemas import DeployedOut

MAX_UPLOAD_FILES = 60


def designer_actor() -> Actor:
    actor = current_actor()
    process_drafts.require_designer(actor)
    return actor


def draft_dict(draft: process_drafts.ProcessDraft) -> dict[str, Any]:
    return {**{c: getattr(draft, c) for c in ("id", "name", "revision", "based_on_key", "based_on_version",
                                               "created_by", "created_at", "updated_by", "updated_at",
                                               "deployed_at", "deployed")},
            "files": [{"filename": name, "kind": kind_of(name), "bytes": len(text.encode("utf-8"))}
                      for name, text in sorted(draft.files.items())]}


def trial_dict(view: trial_runs.TrialView) -> dict[str, Any]:
    trial = view.trial
    return {"id": trial.id, "draft_id": trial.draft_id, "process_key": trial.process_key, "state": trial.state,
            "error": trial.error, "log": trial.log, "tasks": [t.__dict__ for t in view.tasks],
            "data": view.data, "done": view.done}


def decode_upload(raw: bytes, filename: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadRequest(f"'{filename}' is not UTF-8 text") from error


# ---- catalogue -------------------------------------------------------------------------------

@api.get("/v1/designer/processes")
def designer_processes():  # type: ignore[no-untyped-def]
    entries = commands.query(engine_db(), process_versions.catalogue, designer_actor())
    return jsonify(ProcessVersionsOut(many=True).dump(entries))


@api.get("/v1/designer/processes/<key>/versions/<int:version>/files/<filename>")
def designer_version_file(key: str, version: int, filename: str):  # type: ignore[no-untyped-def]
    files = commands.query(engine_db(), process_versions.files_of, designer_actor(), key, version)
    if filename not in files:
        raise NotFound(f"version {version} of '{key}' has no file '{filename}'")
    return _download(filename, files[filename])


@api.get("/v1/designer/processes/<key>/compare")
def designer_compare(key: str):  # type: ignore[no-untyped-def]
    actor = designer_actor()
    query = load_query(CompareQuery())
    result = commands.query(engine_db(), version_compare.compare, actor, key, query["from_version"], query["to_version"])
    return jsonify(ComparisonOut().dump(result))


# ---- drafts ----------------------------------------------------------------------------------

@api.get("/v1/designer/drafts")
def designer_drafts():  # type: ignore[no-untyped-def]
    drafts = commands.query(engine_db(), process_drafts.list_drafts, designer_actor())
    return jsonify(DraftOut(many=True).dump([draft_dict(d) for d in drafts]))


@api.post("/v1/designer/drafts")
def designer_create_draft():  # type: ignore[no-untyped-def]
    actor = designer_actor()
    body = load_body(DraftCreateRequest())

    def _create(session):  # type: ignore[no-untyped-def]
        if body["from_key"]:
            draft = process_drafts.from_definition(session, actor, body["from_key"], body["from_version"], body["name"])
        else:
            draft = process_drafts.create(session, actor, body["name"] or "", body["files"] or {})
        return draft_dict(draft)

    return jsonify(DraftOut().dump(commands.execute(engine_db(), _create))), 201


@api.get("/v1/designer/drafts/<int:draft_id>")
def designer_draft(draft_id: int):  # type: ignore[no-untyped-def]
    draft = commands.query(engine_db(), process_drafts.get, designer_actor(), draft_id)
    return jsonify(DraftOut().dump(draft_dict(draft)))


@api.delete("/v1/designer/drafts/<int:draft_id>")
def designer_delete_draft(draft_id: int):  # type: ignore[no-untyped-def]
    commands.execute(engine_db(), process_drafts.delete, designer_actor(), draft_id)
    return "", 204


@api.get("/v1/designer/drafts/<int:draft_id>/files/<filename>")
def designer_draft_file(draft_id: int, filename: str):  # type: ignore[no-untyped-def]
    draft = commands.query(engine_db(), process_drafts.get, designer_actor(), draft_id)
    if filename not in draft.files:
        raise NotFound(f"the draft has no file '{filename}'")
    return _download(filename, draft.files[filename])


@api.put("/v1/designer/drafts/<int:draft_id>/files/<filename>")
def designer_save_file(draft_id: int, filename: str):  # type: ignore[no-untyped-def]
    actor = designer_actor()
    body = load_body(FileSaveRequest())
    draft = commands.execute(engine_db(), _saved, actor, draft_id, [(filename, body["content"])], body["revision"])
    return jsonify(DraftOut().dump(draft))


@api.post("/v1/designer/drafts/<int:draft_id>/files")
def designer_upload_files(draft_id: int):  # type: ignore[no-untyped-def]
    """Multipart upload (field `files`): .bpmn/.dmn/.form files from a desktop modeler."""
    actor = designer_actor()
    uploads = request.files.getlist("files")
    if not uploads:
        raise BadRequest("send the files as multipart/form-data in the field 'files'")
    if len(uploads) > MAX_UPLOAD_FILES:
        raise BadRequest(f"at most {MAX_UPLOAD_FILES} files at once")
    files = [(u.filename or "upload", decode_upload(u.read(), u.filename or "upload")) for u in uploads]
    draft = commands.execute(engine_db(), _saved, actor, draft_id, files, None)
    return jsonify(DraftOut().dump(draft))


@api.delete("/v1/designer/drafts/<int:draft_id>/files/<filename>")
def designer_remove_file(draft_id: int, filename: str):  # type: ignore[no-untyped-def]
    actor = designer_actor()
    draft = commands.execute(engine_db(), lambda s: draft_dict(process_drafts.remove_file(s, actor, draft_id, filename)))
    return jsonify(DraftOut().dump(draft))


@api.post("/v1/designer/drafts/<int:draft_id>/validate")
def designer_validate(draft_id: int):  # type: ignore[no-untyped-def]
    actor = designer_actor()
    lint = load_query(ValidateQuery())["lint"]
    verdict = commands.query(engine_db(), process_drafts.validate, actor, draft_id, lint)
    return jsonify(ValidationOut().dump(validation_dict(verdict)))


def validation_dict(verdict: process_drafts.Validation) -> dict[str, Any]:
    return {"valid": verdict.valid, "processes": verdict.processes,
            "problems": [p.to_dict() for p in verdict.problems],
            "lint": [f.to_dict() for f in verdict.lint], "lint_unavailable": verdict.lint_unavailable,
            "also": [{"key": key, "because": because} for key, because in verdict.also]}


@api.post("/v1/designer/drafts/<int:draft_id>/deploy")
def designer_deploy(draft_id: int):  # type: ignore[no-untyped-def]
    deployed = commands.execute(engine_db(), process_drafts.deploy, designer_actor(), draft_id)
    return jsonify(DeployedOut(many=True).dump(deployed)), 201


def _saved(session, actor: Actor, draft_id: int, files: list[tuple[str, str]], revision: int | None):  # type: ignore[no-untyped-def]
    draft = None
    for filename, text in files:
        draft = process_drafts.save_file(session, actor, draft_id, filename, text, revision)
        revision = None  # one check per request: the first file's
    return draft_dict(draft)  # type: ignore[arg-type]


def _download(filename: str, text: str) -> Response:
    kind = kind_of(filename)
    mimetype = "application/json" if kind == "form" else "application/xml"
    return Response(text.encode("utf-8"), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# ---- migration -------------------------------------------------------------------------------

@api.post("/v1/designer/processes/<key>/migrations/preview")
def designer_migration_preview(key: str):  # type: ignore[no-untyped-def]
    actor = designer_actor()
    body = load_body(MigrationPreviewRequest())

    def _preview(session):  # type: ignore[no-untyped-def]
        ids = _selected(session, actor, key, body)
        return migration.preview(session, actor, key, body["to_version"], ids)

    return jsonify(PlanOut(many=True).dump(commands.query(engine_db(), _preview)))


@api.post("/v1/designer/processes/<key>/migrations")
def designer_migrate(key: str):  # type: ignore[no-untyped-def]
    actor = designer_actor()
    body = load_body(MigrationRequest())
    ids = commands.query(engine_db(), lambda s: _selected(s, actor, key, body))
    report = migration.migrate_many(engine_db(), actor, ids, body["to_version"], body["reason"])
    return jsonify(MigrationReportOut().dump({
        "to_version": report.to_version, "migrated": report.migrated,
        "failures": [{"instance_id": i, "message": m} for i, m in report.failures]}))


def _selected(session, actor: Actor, key: str, body: dict[str, Any]) -> list[int]:  # type: ignore[no-untyped-def]
    if body["instance_ids"]:
        return list(dict.fromkeys(body["instance_ids"]))
    if body["from_version"] is None:
        raise BadRequest("name the instances (instance_ids) or the version they run on (from_version)")
    return migration.candidates(session, actor, key, body["from_version"])


# ---- test runs -------------------------------------------------------------------------------

@api.post("/v1/designer/drafts/<int:draft_id>/trials")
def designer_start_trial(draft_id: int):  # type: ignore[no-untyped-def]
    actor = designer_actor()
    body = load_body(TrialStartRequest())

    def _start(session):  # type: ignore[no-untyped-def]
        trial = trial_runs.start(session, actor, draft_id, body["process_key"], body["data"])
        return trial_dict(trial_runs.view(session, actor, trial.id))

    return jsonify(TrialOut().dump(commands.execute(engine_db(), _start))), 201


@api.get("/v1/designer/trials/<int:trial_id>")
def designer_trial(trial_id: int):  # type: ignore[no-untyped-def]
    view = commands.query(engine_db(), trial_runs.view, designer_actor(), trial_id)
    return jsonify(TrialOut().dump(trial_dict(view)))


@api.post("/v1/designer/trials/<int:trial_id>/tasks/<task_id>/complete")
def designer_trial_complete(trial_id: int, task_id: str):  # type: ignore[no-untyped-def]
    actor = designer_actor()
    body = load_body(TrialCompleteRequest())

    def _complete(session):  # type: ignore[no-untyped-def]
        trial_runs.complete(session, actor, trial_id, task_id, body["data"], body["as_role"])
        return trial_dict(trial_runs.view(session, actor, trial_id))

    return jsonify(TrialOut().dump(commands.execute(engine_db(), _complete)))
