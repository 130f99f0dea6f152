"""/api/v1/process-definitions: list the latest versions; designers deploy files (multipart)."""
from __future__ import annotations

from flask import jsonify, request

from engine.core import commands
from engine.definitions import deployment
from engine.core.errors import BadRequest
from engine.core.principals import require_designer

from web import engine_db
from web.api.blueprint import api
from web.api.auth import current_actor
from web.api.schemas import DefinitionOut, DeployedOut


@api.get("/v1/process-definitions")
def list_definitions():  # type: ignore[no-untyped-def]
    current_actor()
    rows = commands.query(engine_db(), deployment.latest_definitions)
    return jsonify(DefinitionOut(many=True).dump(rows))


@api.post("/v1/process-definitions")
def deploy_definitions():  # type: ignore[no-untyped-def]
    actor = current_actor()
    require_designer(actor, "deploy")
    uploads = request.files.getlist("files")
    if not uploads:
        raise BadRequest("send the files as multipart/form-data in the field 'files'")
    files = [(u.filename or "upload", u.read()) for u in uploads]
    deployed = commands.execute(engine_db(), deployment.deploy, files, actor.username)
    return jsonify(DeployedOut(many=True).dump(deployed)), 201
