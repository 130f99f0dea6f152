"""The registers page for the institution, the bureau, the auditors and supervisors: the project
register and the funds ledger as Excel workbooks (engine/supervision/exports.py), in the reader's
language. Who may download them is engine/runtime/access.py's `may_export_registers`."""
from __future__ import annotations

from flask import Blueprint, Response, render_template

from engine.core import commands
from engine.core.errors import Forbidden
from engine.runtime import access
from engine.supervision import exports

from web import engine_db
from web.auth import current_actor
from web.i18n import current_language
from web.pages.common import protected

registers = protected(Blueprint("registers", __name__, url_prefix="/registers"))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@registers.get("/")
def index():  # type: ignore[no-untyped-def]
    if not access.may_export_registers(current_actor()):
        raise Forbidden("the registers are for the institution, the bureau and supervisors")
    return render_template("registers/index.html")


def _workbook(build, filename: str) -> Response:  # type: ignore[no-untyped-def]
    content = commands.query(engine_db(), build, current_actor(), current_language())
    return Response(content, mimetype=XLSX, headers={"Content-Disposition": f"attachment; filename={filename}"})


@registers.get("/projects.xlsx")
def projects_xlsx():  # type: ignore[no-untyped-def]
    return _workbook(exports.project_register_xlsx, "projects.xlsx")


@registers.get("/funds-ledger.xlsx")
def ledger_xlsx():  # type: ignore[no-untyped-def]
    return _workbook(exports.funds_ledger_xlsx, "funds-ledger.xlsx")
