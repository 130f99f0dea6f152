"""Downloads of a call's batch documents (the ranked list, the decision list, the public notice)
as PDF or Excel, generated on request from the batch's process data by
engine/lifecycle/batch_documents.py; who may download which is engine/runtime/access.py's
`batch_documents`. Always sent as an attachment. `documents_of` gives the task and instance pages
the links an actor may follow."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from marshmallow import Schema, ValidationError, fields, validate

from engine.core import commands
from engine.core.errors import Forbidden, InvalidData, NotFound
from engine.lifecycle import batch_documents
from engine.runtime import access, instances

from web import engine_db
from web.auth import current_actor
from web.pages.common import protected

batch_pages = protected(Blueprint("batch_pages", __name__, url_prefix="/batches"))
MIME = {"pdf": "application/pdf",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class DocumentArgs(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(batch_documents.KINDS))
    fmt = fields.String(required=True, validate=validate.OneOf(batch_documents.FORMATS))


@batch_pages.get("/<int:instance_id>/<kind>.<fmt>")
def document(instance_id: int, kind: str, fmt: str):  # type: ignore[no-untyped-def]
    try:
        args = DocumentArgs().load({"kind": kind, "fmt": fmt})
    except ValidationError as error:
        raise NotFound(f"no such batch document: {error.messages}") from None
    data, kinds = commands.query(engine_db(), _allowed, instance_id)
    if args["kind"] not in kinds:
        raise Forbidden("you may not download this document")
    content = batch_documents.render(data, args["kind"], args["fmt"])
    name = batch_documents.filename(data, args["kind"], args["fmt"])
    return Response(content, mimetype=MIME[args["fmt"]],
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _allowed(session: Any, instance_id: int) -> tuple[dict[str, Any], list[str]]:
    return access.batch_documents(session, current_actor(), instances.get(session, instance_id))


@batch_pages.app_template_global("batch_documents")
def documents_of(instance_id: int) -> tuple[int | None, list[tuple[str, str]]]:
    """For an instance's pages: the instance holding the batch documents (itself, or the call a
    project applied under) and the (kind, title) of those the current user may download; none
    when there are none or they may not."""
    def find(session: Any) -> tuple[int | None, list[str]]:
        batch = access.batch_instance_for(session, instances.get(session, instance_id))
        if batch is None:
            return None, []
        return batch.id, access.batch_documents(session, current_actor(), batch)[1]
    try:
        batch_id, kinds = commands.query(engine_db(), find)
    except (Forbidden, NotFound, InvalidData):
        return None, []
    return batch_id, [(kind, batch_documents.TITLES[kind]) for kind in kinds]
