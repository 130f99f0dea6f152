"""The supervisor console's pages (supervisors only; everyone else gets the 403 page): the
attention list with filters, sorting, CSV/Excel export and bulk interventions (preview, a
confirmation, then a run in chunks with a progress bar); the dashboard (chart.js, served from
node_modules); the heatmap on the BPMN diagram (bpmn-js overlays); the archive search and an
archived record. The instance detail page and the single interventions are in
supervisor_instance_pages.py, on the same blueprint."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from engine.supervision import archive, attention, dashboard, exports, interventions
from engine.core import commands
from engine.definitions import deployment
from engine.core import clock
from engine.core.errors import InvalidData, NotFound

from web import engine_db
from web.api.supervisor_schemas import DashboardOut, HeatmapOut
from web.auth import current_actor
from web.converters import bounded_id
from web.pages.common import Pager, int_arg, protected
from web.retention import archive_dir

supervisor = protected(Blueprint("supervisor", __name__, url_prefix="/supervisor"))
FILTER_ARGS = ("kind", "process", "element", "waiting_for", "q", "min_age", "quiet_days", "sort")
BULK_ACTIONS = ("suspend", "resume", "terminate", "retry", "reassign")
CHUNK = 20


@supervisor.before_request
def _supervisors_only() -> None:
    if not current_actor().is_supervisor:
        abort(403)


@supervisor.get("")
def index():  # type: ignore[no-untyped-def]
    return attention_page()


# ---- the attention list ---------------------------------------------------------------------------

def _number(name: str, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(request.args.get(name, default))))
    except (TypeError, ValueError):
        return default


def filters_from_args() -> attention.Filters:
    kind = request.args.get("kind", "")
    sort = request.args.get("sort", "-age")
    return attention.Filters(
        kinds=(kind,) if kind in attention.KINDS else attention.KINDS,
        process_key=request.args.get("process") or None, element=request.args.get("element") or None,
        waiting_for=request.args.get("waiting_for") or None, q=request.args.get("q") or None,
        min_age_days=_number("min_age", 0, 0, 3650),
        quiet_days=_number("quiet_days", attention.QUIET_DAYS_DEFAULT, 1, 365),
        sort=sort if sort in attention.SORTS else "-age")


def here_args(**changes: Any) -> dict[str, Any]:
    values = {k: request.args.get(k, "") for k in FILTER_ARGS}
    values.update(changes)
    return {k: v for k, v in values.items() if v not in ("", None)}


def attention_url(**changes: Any) -> str:
    return url_for("supervisor.attention_page") + "?" + urlencode(here_args(**changes))


@supervisor.get("/attention")
def attention_page():  # type: ignore[no-untyped-def]
    filters = filters_from_args()
    page, per_page = int_arg("page", 1), int_arg("per_page", 50, 10, 200)
    result, names = commands.query(engine_db(), attention.attention_page, current_actor(), filters, page, per_page)
    processes = commands.query(engine_db(), deployment.latest_definitions)
    return render_template("supervisor/attention.html", result=result, names=names, filters=filters,
                           pager=Pager(page, per_page, result.total), processes=processes,
                           attention_url=attention_url, kind=request.args.get("kind", ""),
                           args=here_args(), actions=BULK_ACTIONS)


@supervisor.get("/attention/export.<fmt>")
def attention_export(fmt: str):  # type: ignore[no-untyped-def]
    if fmt not in ("csv", "xlsx"):
        abort(404)
    items, _counts = commands.query(engine_db(), attention.collect, current_actor(), filters_from_args())
    from web.i18n import current_language
    content, mime, ext = exports.attention_file(items, fmt, current_language())
    stamp = clock.now().strftime("%Y%m%d")
    return Response(content, mimetype=mime, headers={
        "Content-Disposition": f'attachment; filename="attention-{stamp}.{ext}"'})


# ---- bulk interventions ---------------------------------------------------------------------------

def _bulk_request() -> interventions.BulkRequest:
    form = request.form
    return interventions.BulkRequest(form.get("action", ""), form.get("reason", ""),
                                     assignee=form.get("assignee") or None, element=form.get("element") or None)


def _selected_ids() -> list[int]:
    if request.form.get("scope") == "filter":
        try:
            query = json.loads(request.form.get("filter") or "{}")
        except ValueError:
            query = None
        if not isinstance(query, dict) or not all(isinstance(v, (str, type(None))) for v in query.values()):
            raise InvalidData("the filter is invalid", {"filter": [_("Choose the selection again from the list.")]})
        with_args = attention.Filters(
            kinds=(query["kind"],) if query.get("kind") in attention.KINDS else attention.KINDS,
            process_key=query.get("process") or None, element=query.get("element") or None,
            waiting_for=query.get("waiting_for") or None, q=query.get("q") or None)
        return commands.query(engine_db(), attention.instance_ids, current_actor(), with_args)
    raw = request.form.getlist("ids") or (request.form.get("id_list") or "").split(",")
    try:
        return list(dict.fromkeys(bounded_id(str(i).strip()) for i in raw if str(i).strip()))
    except ValueError:
        raise InvalidData("the selection is invalid", {"ids": [_("Instance numbers only.")]}) from None


@supervisor.post("/bulk/preview")
def bulk_preview():  # type: ignore[no-untyped-def]
    request_ = _bulk_request()
    ids = _selected_ids()
    planned = commands.query(engine_db(), interventions.preview, current_actor(), request_, ids)
    changing = [p.instance_id for p in planned if p.will == "change"]
    return render_template("supervisor/preview.html", planned=planned, request_=request_,
                           changing=changing, chunk=CHUNK)


@supervisor.post("/bulk/run")
def bulk_run():  # type: ignore[no-untyped-def]
    """Runs the given ids (a chunk when called by the page's script, which shows progress; all
    of them when the browser posts the form without script) and reports each outcome."""
    request_ = _bulk_request()
    ids = _selected_ids()
    report = interventions.run_bulk(engine_db(), current_actor(), request_, ids)
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"succeeded": report.succeeded, "failed": report.failed,
                        "outcomes": [o.__dict__ for o in report.outcomes]})
    return render_template("supervisor/report.html", report=report, request_=request_)


# ---- dashboard and heatmap -----------------------------------------------------------------------

PERIODS = (4, 12, 26, 52)


def _period() -> tuple[int, datetime]:
    weeks = _number("weeks", 12, 1, 156)
    weeks = weeks if weeks in PERIODS else 12
    now = clock.now()
    return weeks, dashboard.week_start(now) - timedelta(weeks=weeks - 1)


@supervisor.get("/dashboard")
def dashboard_page():  # type: ignore[no-untyped-def]
    weeks, since = _period()
    process_key = request.args.get("process") or None
    figures, names = commands.query(engine_db(), dashboard.dashboard_page, current_actor(), since, None, process_key)
    processes = commands.query(engine_db(), deployment.latest_definitions)
    return render_template("supervisor/dashboard.html", figures=figures, names=names, weeks=weeks, periods=PERIODS,
                           process_key=process_key, processes=processes,
                           figures_data=DashboardOut().dump(figures))


@supervisor.get("/heatmap")
def heatmap_page():  # type: ignore[no-untyped-def]
    weeks, since = _period()
    processes = commands.query(engine_db(), deployment.latest_definitions)
    key = request.args.get("process") or commands.query(engine_db(), dashboard.busiest_process, current_actor(),
                                                        [p.key for p in processes])
    heat = None
    if key:
        version = _number("version", 0, 0, 100_000) or None
        stage = request.args.get("stage") or None
        try:
            heat = commands.query(engine_db(), dashboard.heatmap, current_actor(), key, version, since, None, stage)
        except NotFound:
            if stage is None:
                raise
            # the stage of another process, left in the form when the process was changed
            heat = commands.query(engine_db(), dashboard.heatmap, current_actor(), key, version, since, None)
    return render_template("supervisor/heatmap.html", heat=heat, processes=processes, weeks=weeks,
                           periods=PERIODS, process_key=key,
                           heat_data=HeatmapOut().dump(heat) if heat else {})


# ---- the archive ------------------------------------------------------------------------------------

def _day(name: str) -> datetime | None:
    value = request.args.get(name, "")
    try:
        return datetime.fromisoformat(value).replace(tzinfo=clock.now().tzinfo) if value else None
    except ValueError:
        return None


@supervisor.get("/archive")
def archive_page():  # type: ignore[no-untyped-def]
    state = request.args.get("state", "")
    criteria = archive.Search(q=request.args.get("q") or None, process_key=request.args.get("process") or None,
                              started_by=request.args.get("started_by") or None,
                              state=state if state in archive.ENDED else None,
                              ended_after=_day("ended_after"), ended_before=_day("ended_before"))
    page, per_page = int_arg("page", 1), 50
    rows, total = commands.query(engine_db(), archive.search, current_actor(), criteria, page, per_page)
    args = {k: request.args.get(k, "") for k in ("q", "process", "started_by", "state", "ended_after", "ended_before")}
    return render_template("supervisor/archive.html", rows=rows, total=total, args=args,
                           pager=Pager(page, per_page, total),
                           page_url=lambda n: url_for("supervisor.archive_page") + "?" + urlencode(
                               {**{k: v for k, v in args.items() if v}, "page": n}))


@supervisor.get("/archive/<int:archive_id>")
def archived_page(archive_id: int):  # type: ignore[no-untyped-def]
    row, record = commands.query(engine_db(), archive.archived, current_actor(), archive_dir(), archive_id)
    return render_template("supervisor/archived.html", row=row, record=record)
