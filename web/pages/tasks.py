"""The task page: the task's form rendered from its form-js definition (server-side), the
project's key facts and earlier decisions beside it, attachments, comments and the personal
follow-up date; claim, release and (for a substitute) take over. Completing goes through the
engine's `tasks.complete`, which checks the data against the pinned form: on 422 the page comes
back with what the user typed and each bad field named; on 409 (completed or reassigned
meanwhile) the user gets a clear message and nothing is lost silently."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.core import commands
from engine.core.errors import Conflict, Forbidden, InvalidData
from engine.runtime import tasks
from engine.workspace import comments, follow_up, substitutes, task_page

from web import engine_db
from web.auth import current_actor
from web.pages.form_render import data_from_request, labels_by_name, render_nodes
from web.i18n import safe_next
from web.pages.common import engine_error_page, protected
from web.pages.menu import is_reviewer

task_pages = protected(Blueprint("task_pages", __name__, url_prefix="/tasks"))


def _render(view: task_page.TaskView, values: dict[str, Any] | None = None,
            errors: dict[str, list[str]] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    nodes = render_nodes(view.form, values if values is not None else view.values, errors,
                         readonly=not view.may_work) if view.form else []
    return render_template("tasks/page.html", view=view, nodes=nodes, errors=errors or {},
                           labels=labels_by_name(nodes)), status


@task_pages.get("/<task_id>")
def show(task_id: str):  # type: ignore[no-untyped-def]
    return _render(commands.query(engine_db(), task_page.task_view, current_actor(), task_id))


@task_pages.post("/<task_id>/complete")
def complete(task_id: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    view = commands.query(engine_db(), task_page.task_view, actor, task_id)
    data = data_from_request(view.form, request.form) if view.form else {}
    try:
        commands.execute(engine_db(), tasks.complete, actor, task_id, data)
    except InvalidData as error:
        return _render(view, _typed(view, data), error.fields, 422)
    except Conflict as error:
        return engine_error_page(error)
    flash(_("Done: “%(task)s” is completed.", task=_title(view.task.title)), "success")
    if not is_reviewer(actor.groups):  # applicants have no inbox in their menu: back to the application
        return redirect(url_for("instance_pages.show", instance_id=view.instance.id))
    return redirect(url_for("inbox.index"))


def _typed(view: task_page.TaskView, data: dict[str, Any]) -> dict[str, Any]:
    """What the user typed, to show again (the fields they left out stay as they were). A list's
    rows are merged row by row: the browser does not send a row's read-only cells (a batch list's
    titles and scores), which must still show beside what was typed."""
    typed = {**view.values, **data}
    for key, rows in data.items():
        offered = view.values.get(key)
        if isinstance(rows, list) and isinstance(offered, list):
            typed[key] = [{**old, **new} if isinstance(old, dict) and isinstance(new, dict) else new
                          for old, new in zip(offered, rows)] + rows[len(offered):]
    return typed


def _title(title: str) -> str:
    from web.i18n import pick
    return pick(title)


def _back(task_id: str) -> str:
    return safe_next(request.form.get("next"), url_for("task_pages.show", task_id=task_id))


@task_pages.post("/<task_id>/claim")
def claim(task_id: str):  # type: ignore[no-untyped-def]
    commands.execute(engine_db(), tasks.claim, current_actor(), task_id)
    flash(_("The task is yours now."), "success")
    return redirect(url_for("task_pages.show", task_id=task_id))


@task_pages.post("/<task_id>/unclaim")
def unclaim(task_id: str):  # type: ignore[no-untyped-def]
    commands.execute(engine_db(), tasks.unclaim, current_actor(), task_id)
    flash(_("The task is back in its group’s queue."), "success")
    return redirect(safe_next(request.form.get("next"), url_for("inbox.index")))


@task_pages.post("/<task_id>/take-over")
def take_over(task_id: str):  # type: ignore[no-untyped-def]
    try:
        row = commands.execute(engine_db(), substitutes.take_over, current_actor(), task_id)
    except Forbidden as error:
        flash(_take_over_refusal(error), "error")
        return redirect(url_for("inbox.index"))
    flash(_("You took over this task as a substitute; the audit log records it."), "success")
    return redirect(url_for("task_pages.show", task_id=row.id))


def _take_over_refusal(error: Forbidden) -> str:
    reason = error.details.get("reason")
    if reason == substitutes.PARTY:
        return _("You are a party of this project (its applicant or its unit’s people): you may not work "
                 "its tasks as a substitute.")
    if reason == substitutes.NO_GROUP:
        return _("You are in none of the groups this task needs, so you cannot take it over.")
    return _("You are not standing in for anyone this task belongs to.")


@task_pages.post("/<task_id>/follow-up")
def set_follow_up(task_id: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    value = "" if request.form.get("clear") else request.form.get("follow_up_on", "")
    try:
        commands.execute(engine_db(), follow_up.set_date, actor, task_id, value, task_page.sees_or_covers(actor))
        flash(_("Follow-up date saved.") if value else _("Follow-up date removed."), "success")
    except InvalidData:
        flash(_("The follow-up date must be a date (YYYY-MM-DD), at most three years ahead."), "error")
    return redirect(_back(task_id))


@task_pages.post("/<task_id>/comments")
def add_comment(task_id: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    try:
        commands.execute(engine_db(), comments.add, actor, task_id, request.form.get("body"), task_page.sees_or_covers(actor),
                         request.form.get("visibility") or None)
        flash(_("Comment added."), "success")
    except InvalidData as error:
        flash(_("The comment was not added: %(why)s", why=_comment_problem(error)), "error")
    return redirect(_back(task_id) + "#comments")


def _comment_problem(error: InvalidData) -> str:
    if "empty" in error.message:
        return _("write something first.")
    if "visibility" in error.fields:
        return _("choose who may see it.")
    return _("at most %(n)s characters.", n=comments.MAX_LENGTH)
