"""The expert pool's pages for institution staff (and supervisors, admins): the pool, one page
at a time, with each expert's standing (drawable, or why not: an integrity penalty, the yearly
limit, a low rating); and one expert's record: their draws (newest first, paginated), the status
and score of each, the institution's rating of each, and a form to rate a finished review. Who may
see and rate is engine/runtime/access.py's; the rules and the ratings are expert_pool's."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from engine.core import commands
from engine.core.errors import Conflict, InvalidData
from engine.lifecycle import expert_pool, projects
from engine.runtime import access

from web import engine_db
from web.auth import current_actor
from web.i18n import field_error
from web.pages.common import Pager, int_arg, protected

experts = protected(Blueprint("experts", __name__, url_prefix="/experts"))
PER_PAGE, DRAWS_PER_PAGE = 25, 20
DISCIPLINES = {"it": "信息技术 · Information technology", "biomed": "生物医药 · Biomedicine",
               "materials": "新材料 · New materials", "manufacturing": "先进制造 · Advanced manufacturing",
               "agriculture": "农业 · Agriculture", "energy": "能源环境 · Energy and environment"}


@experts.before_request
def _pool_staff_only() -> None:
    if not access.may_see_expert_pool(current_actor()):
        abort(403)


def _labels() -> dict[str, Any]:
    return {"titles": expert_pool.TITLE_LABELS, "disciplines": DISCIPLINES, "reasons": expert_pool.EXCLUSION_REASONS,
            "reviews": expert_pool.REVIEW_LABELS, "statuses": expert_pool.STATUS_LABELS,
            "limit": expert_pool.DRAWS_PER_YEAR, "floor": expert_pool.RATING_FLOOR}


@experts.get("", endpoint="index")
def pool_page():  # type: ignore[no-untyped-def]
    page = int_arg("page", 1)

    def load(session):  # type: ignore[no-untyped-def]
        rows, total = expert_pool.experts_page(session, page, PER_PAGE)
        return rows, total, expert_pool.standings(session, rows)
    rows, total, standing = commands.query(engine_db(), load)
    return render_template("experts/pool.html", rows=rows, total=total, standing=standing,
                           pager=Pager(page, PER_PAGE, total), **_labels(),
                           page_url=lambda n: url_for("experts.index", page=n))


def _record_page(expert_id: int, errors: dict[str, list[str]] | None = None, shown: dict[str, Any] | None = None,
                 status: int = 200):  # type: ignore[no-untyped-def]
    page = int_arg("page", 1)

    def load(session):  # type: ignore[no-untyped-def]
        expert = expert_pool.get_expert(session, expert_id)
        lines, total = expert_pool.draws_of(session, expert_id, page, DRAWS_PER_PAGE)
        titles = {}
        for line in lines:
            project = session.get(projects.Project, line.project_id) if line.project_id else None
            titles[line.draw_id] = project.title if project else ""
        return expert, lines, total, titles, expert_pool.standings(session, [expert])[expert.id]
    expert, lines, total, titles, standing = commands.query(engine_db(), load)
    return render_template("experts/expert.html", e=expert, lines=lines, total=total, project_titles=titles,
                           standing=standing, errors=errors or {}, shown=shown or {},
                           may_rate=access.may_rate_experts(current_actor()), review_of=expert_pool.review_of,
                           pager=Pager(page, DRAWS_PER_PAGE, total), **_labels(),
                           page_url=lambda n: url_for("experts.expert_page", expert_id=expert_id, page=n)), status


@experts.get("/<int:expert_id>", endpoint="expert_page")
def expert_page(expert_id: int):  # type: ignore[no-untyped-def]
    return _record_page(expert_id)


class RatingForm(Schema):
    """The rating form as the browser sends it (numbers as text): checked here for shape, then
    by expert_pool.rate for the rules."""

    class Meta:
        unknown = EXCLUDE

    draw_id = fields.Integer(required=True)
    timeliness = fields.Integer(required=True)
    quality = fields.Integer(required=True)
    comment = fields.String(load_default=None)


@experts.post("/<int:expert_id>/ratings", endpoint="rate")
def rate(expert_id: int):  # type: ignore[no-untyped-def]
    if not access.may_rate_experts(current_actor()):
        abort(403)
    try:
        form = RatingForm().load(request.form.to_dict())
    except ValidationError as error:
        messages = error.normalized_messages()
        return _record_page(expert_id, {k: [field_error(str(m)) for m in (v if isinstance(v, list) else [v])]
                                        for k, v in messages.items()}, request.form.to_dict(), 422)
    try:
        commands.execute(engine_db(), expert_pool.rate, current_actor().username, form["draw_id"], expert_id,
                         {k: form[k] for k in ("timeliness", "quality", "comment")})
    except InvalidData as error:
        return _record_page(expert_id, {k: [field_error(m) for m in v] for k, v in error.fields.items()},
                            request.form.to_dict(), 422)
    except Conflict:
        return _record_page(expert_id, {"draw_id": [_("This review cannot be rated: it is not over, or it is rated already.")]},
                            request.form.to_dict(), 409)
    flash(_("The rating was saved."), "success")
    return redirect(url_for("experts.expert_page", expert_id=expert_id))
