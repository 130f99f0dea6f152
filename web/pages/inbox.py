"""The reviewer's inbox pages: assigned to me, my groups' open tasks (claim / release), completed
by me; sort, filter, search, pagination, saved filters and bulk claim / release. The table is
an htmx partial: filters and sorting swap only the table, and a light poll (a fingerprint of the
scope's open rows) refreshes it when a task arrives, so a new task appears without reloading the
page. All reads go through engine/workspace/inbox.py (the indexed projection)."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from engine.core import commands
from engine.workspace import inbox as engine_inbox, inbox_page, saved_filters
from engine.runtime import tasks
from engine.core.errors import EngineError

from web import engine_db
from web.auth import current_actor
from web.converters import bounded_id
from web.i18n import safe_next
from web.pages.common import Pager, int_arg, protected

inbox = protected(Blueprint("inbox", __name__, url_prefix="/inbox"))
QUERY_ARGS = ("scope", "process", "task", "due", "q", "sort", "desc")


def query_from_args(args: Any) -> engine_inbox.InboxQuery:
    scope = args.get("scope", "assigned")
    return engine_inbox.InboxQuery(
        scope=scope if scope in engine_inbox.SCOPES else "assigned",
        process_key=args.get("process", "")[:200], task_name=args.get("task", "")[:200],
        due=args.get("due", "") if args.get("due", "") in engine_inbox.DUE_FILTERS else "",
        search=args.get("q", ""), sort=args.get("sort", "") if args.get("sort", "") in engine_inbox.SORTS else "",
        descending=args.get("desc") == "1", page=int_arg("page", 1), per_page=int_arg("per_page", 20, 5, 100))


def args_of(query: engine_inbox.InboxQuery, **changes: Any) -> dict[str, Any]:
    """URL parameters for a query (empty ones left out), with some changed."""
    values = {"scope": query.scope, "process": query.process_key, "task": query.task_name,
              "due": query.due, "q": query.search, "sort": query.sort,
              "desc": "1" if query.descending else "", "page": query.page if query.page > 1 else ""}
    values.update(changes)
    return {k: v for k, v in values.items() if v not in ("", None)}


def inbox_url(query: engine_inbox.InboxQuery, **changes: Any) -> str:
    return url_for("inbox.index") + "?" + urlencode(args_of(query, **changes))


def sort_url(query: engine_inbox.InboxQuery, column: str) -> str:
    current = query.sort or ("completed" if query.scope == "completed" else "due")
    descending = not query.descending if current == column else False
    return inbox_url(query, sort=column, desc="1" if descending else "", page="")


@inbox.get("")
def index():  # type: ignore[no-untyped-def]
    if request.args.get("saved"):
        return _apply_saved(request.args.get("saved", ""))
    query = query_from_args(request.args)
    actor = current_actor()

    view = commands.query(engine_db(), inbox_page.inbox_view, actor, query)
    result = view.result
    g.inbox_counts = view.counts  # the menu shows the same counts
    context = dict(query=query, result=result, pager=Pager(result.page, result.per_page, result.total),
                   task_names=view.task_names, process_names=view.process_names, fingerprint=view.fingerprint,
                   saved=view.saved, covering=view.covering, counts=view.counts, names=view.names, inbox_url=inbox_url, sort_url=sort_url,
                   poll_seconds=current_app.config["INBOX_POLL_SECONDS"], here=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"):
        return render_template("inbox/_table.html", oob_counts=True, **context)
    return render_template("inbox/index.html", **context)


@inbox.get("/poll")
def poll():  # type: ignore[no-untyped-def]
    """204 while nothing changed; otherwise an event that makes the table reload itself."""
    scope = request.args.get("scope", "assigned")
    if scope not in ("assigned", "group"):
        return "", 204
    current = commands.query(engine_db(), engine_inbox.fingerprint, current_actor(), scope)
    if current == request.args.get("fp", ""):
        return "", 204
    return "", 200, {"HX-Trigger": "inbox-changed"}


def _apply_saved(ident: str):  # type: ignore[no-untyped-def]
    try:
        filter_id = bounded_id(ident)
    except ValueError:
        return redirect(url_for("inbox.index"))
    row = commands.query(engine_db(), saved_filters.get, current_actor(), filter_id)
    return redirect(inbox_url(row.query()))


@inbox.post("/filters")
def save_filter():  # type: ignore[no-untyped-def]
    query = query_from_args(request.form)
    try:
        commands.execute(engine_db(), saved_filters.save, current_actor(), request.form.get("name"), query)
        flash(_("Filter saved."), "success")
    except EngineError as error:
        flash(_("The filter was not saved: %(why)s", why=_first_problem(error)), "error")
    return redirect(inbox_url(query, page=""))


@inbox.post("/filters/<int:filter_id>/delete")
def delete_filter(filter_id: int):  # type: ignore[no-untyped-def]
    commands.execute(engine_db(), saved_filters.delete, current_actor(), filter_id)
    flash(_("Saved filter deleted."), "success")
    return redirect(safe_next(request.form.get("next"), url_for("inbox.index")))


@inbox.post("/bulk")
def bulk():  # type: ignore[no-untyped-def]
    """Claim or release the selected tasks, each on its own: one failure stops no other."""
    action = request.form.get("action")
    ids = [i for i in request.form.getlist("task_ids") if i][:100]
    back = safe_next(request.form.get("next"), url_for("inbox.index"))
    if action not in ("claim", "release") or not ids:
        flash(_("Select at least one task first."), "warning")
        return redirect(back)
    command = tasks.claim if action == "claim" else tasks.unclaim
    done, failed = 0, []
    for task_id in ids:
        try:
            commands.execute(engine_db(), command, current_actor(), task_id)
            done += 1
        except EngineError as error:
            failed.append(error.message)
    if done:
        message = (ngettext("%(num)s task claimed.", "%(num)s tasks claimed.", done) if action == "claim"
                   else ngettext("%(num)s task is back in its group’s queue.", "%(num)s tasks are back in their groups’ queues.", done))
        flash(message, "success")
    if failed:
        flash(ngettext("%(num)s task could not be changed: %(why)s", "%(num)s tasks could not be changed: %(why)s",
                       len(failed), why="; ".join(sorted(set(failed)))), "error")
    return redirect(back)


def _first_problem(error: EngineError) -> str:
    from web.i18n import field_error
    fields = getattr(error, "fields", None) or {}
    for messages in fields.values():
        if messages:
            return field_error(messages[0])
    return error.message
