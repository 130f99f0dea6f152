"""/api/v1/supervisor/archive (find archived instances), /archive/{id} (read one archived record
whole) and /archive/plan (what a retention run would archive now; nothing is changed: the run
itself is the `flask --app web supervisor archive` command)."""
from __future__ import annotations

from flask import jsonify

from engine.supervision import archive
from engine.core import commands

from web import engine_db
from web.api.blueprint import api
from web.api.auth import load_query
from web.api.supervisor import supervisor_actor
from web.api.supervisor_schemas import (ArchivedRecordOut, ArchivePage, ArchivePlanOut,
                                 ArchivePlanQuery, ArchiveQuery)
from web.retention import archive_after_days, archive_dir


@api.get("/v1/supervisor/archive")
def archive_search():  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    query = load_query(ArchiveQuery())
    criteria = archive.Search(q=query["q"], process_key=query["process_key"], started_by=query["started_by"],
                              state=query["state"], ended_after=query["ended_after"],
                              ended_before=query["ended_before"])
    rows, total = commands.query(engine_db(), archive.search, actor, criteria, query["page"], query["per_page"])
    return jsonify(ArchivePage().dump({"items": rows, "total": total, "page": query["page"],
                                       "per_page": query["per_page"]}))


@api.get("/v1/supervisor/archive/plan")
def archive_plan():  # type: ignore[no-untyped-def]
    supervisor_actor()
    query = load_query(ArchivePlanQuery())
    days = query["older_than_days"] if query["older_than_days"] is not None else archive_after_days()
    return jsonify(ArchivePlanOut().dump(commands.query(engine_db(), archive.plan, days)))


@api.get("/v1/supervisor/archive/<int:archive_id>")
def archive_record(archive_id: int):  # type: ignore[no-untyped-def]
    actor = supervisor_actor()

    row, record = commands.query(engine_db(), archive.archived, actor, archive_dir(), archive_id)
    return jsonify(ArchivedRecordOut().dump({"archive": row, "record": record}))
