"""Calls for proposals (申报指南) for the institution's staff: the list (filters, sorting, pages),
a new call (blank or copied from an earlier one), a draft's editor (window, plan categories with
budgets and topics, quotas per recommending unit, eligibility settings; each bad field named on
the page), publishing, extending the deadline with a reason and closing (each confirmed), and a
call's page (its applications per category and stage, budget requested against the category's,
quota use, the history of its deadline) that bureau staff and supervisors may read too. The rules
and their checks are the engine's (engine/lifecycle/calls.py, engine/workspace/call_desk.py);
this module reads the page's form with marshmallow and shows the results."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from engine.core import commands
from engine.core.calendar import BUREAU_TZ
from engine.core.errors import InvalidData
from engine.lifecycle import calls, organisations, projects
from engine.runtime import outcome
from engine.workspace import call_desk

from web import engine_db
from web.auth import current_actor
from web.i18n import current_language, pick
from web.pages.common import Pager, int_arg, protected

calls_pages = protected(Blueprint("calls", __name__, url_prefix="/calls"))
PER_PAGE = 20
SORTS = ("-created_at", "created_at", "closes_at", "-closes_at", "key", "-key", "title", "-title", "year", "-year")


def _reader() -> Any:
    actor = current_actor()
    if not call_desk.may_read(actor):
        abort(403)
    return actor


def _manager() -> Any:
    actor = current_actor()
    if not call_desk.may_manage(actor):
        abort(403)
    return actor


class ListArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(load_default="", validate=validate.OneOf(["", *calls.STATUSES]))
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))
    q = fields.String(load_default="", validate=validate.Length(max=100))
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(SORTS))


@calls_pages.get("")
def index():  # type: ignore[no-untyped-def]
    actor = _reader()
    try:
        args = ListArgs().load({k: v for k, v in request.args.items() if v != ""})
    except ValidationError:
        args = ListArgs().load({})
    page = int_arg("page", 1)
    rows, total = commands.query(engine_db(), calls.listing, args["status"], args["year"], args["q"], args["sort"],
                                 page, PER_PAGE)

    def page_url(n: int) -> str:
        return url_for("calls.index", **{**{k: v for k, v in args.items() if v}, "page": n})
    return render_template("calls/list.html", rows=[r.to_dict() for r in rows], pager=Pager(page, PER_PAGE, total),
                           total=total, args=args, statuses=calls.STATUSES, sorts=SORTS, page_url=page_url,
                           may_manage=call_desk.may_manage(actor))


# --- the editor -----------------------------------------------------------------------------------

class CallForm(Schema):
    """The editor's fields as the browser sends them (strings); the engine then checks the call."""

    class Meta:
        unknown = EXCLUDE  # the CSRF token and the per-category/per-unit fields read below

    key = fields.String(load_default="", validate=validate.Length(max=40))
    title = fields.String(load_default="", validate=validate.Length(max=300))
    year = fields.String(load_default="", validate=validate.Length(max=4))
    opens_at = fields.String(load_default="", validate=validate.Length(max=30))
    closes_at = fields.String(load_default="", validate=validate.Length(max=30))
    max_open_projects = fields.String(load_default="", validate=validate.Length(max=4))
    budget_min = fields.String(load_default="", validate=validate.Length(max=12))
    budget_max = fields.String(load_default="", validate=validate.Length(max=12))
    registered_organisation = fields.String(load_default="")
    template = fields.String(load_default="", validate=validate.Length(max=40))


def _number(text: str) -> Any:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return text  # the engine's schema names it
    return int(value) if value == int(value) else value


def _moment(text: str) -> Any:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=BUREAU_TZ).isoformat()
    except ValueError:
        return text


def _recommenders(session: Any) -> list[dict[str, str]]:
    return [{"code": o.code, "name": o.name} for o in organisations.recommending_units(session)]


def _call_data(form: dict[str, Any], recommenders: list[dict[str, str]]) -> dict[str, Any]:
    """What the engine's CallSchema takes, from the page's form."""
    data: dict[str, Any] = {"title": form["title"].strip(), "opens_at": _moment(form["opens_at"]),
                            "closes_at": _moment(form["closes_at"])}
    if form["key"]:
        data["key"] = form["key"].strip()
    if form["year"]:
        data["year"] = _number(form["year"])
    categories = []
    for code in calls.PLAN_CATEGORIES:
        if request.form.get(f"cat_{code}_on"):
            topics = [t.strip() for t in request.form.get(f"cat_{code}_topics", "")[:4000].splitlines() if t.strip()]
            categories.append({"code": code, "name": request.form.get(f"cat_{code}_name", "")[:200].strip(),
                               "budget": _number(request.form.get(f"cat_{code}_budget", "")[:20]), "topics": topics})
    data["categories"] = categories
    quotas = {}
    for unit in recommenders:
        value = _number(request.form.get(f"quota_{unit['code']}", "")[:6])
        if value is not None:
            quotas[unit["code"]] = value
    data["quotas"] = quotas
    data["eligibility"] = {"max_open_projects": _number(form["max_open_projects"]),
                           "budget_min": _number(form["budget_min"]), "budget_max": _number(form["budget_max"]),
                           "registered_organisation": bool(form["registered_organisation"])}
    return data


def _form_values(call: dict[str, Any] | None) -> dict[str, Any]:
    """The editor's values from a call (or a blank one)."""
    call = call or {}

    def local(value: str | None) -> str:
        return datetime.fromisoformat(value).astimezone(BUREAU_TZ).strftime("%Y-%m-%dT%H:%M") if value else ""
    eligibility = call.get("eligibility") or {}
    return {"key": call.get("key", ""), "title": call.get("title", ""), "year": call.get("year", ""),
            "opens_at": local(call.get("opens_at")), "closes_at": local(call.get("closes_at")),
            "categories": {c["code"]: c for c in call.get("categories") or []},
            "quotas": call.get("quotas") or {}, "max_open_projects": eligibility.get("max_open_projects", ""),
            "budget_min": eligibility.get("budget_min", ""), "budget_max": eligibility.get("budget_max", ""),
            "registered_organisation": eligibility.get("registered_organisation", True)}


def _errors_in_language(error: InvalidData, data: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """Each message in the page's language; a category's field named by the category, not its path."""
    language = current_language()
    found: dict[str, list[str]] = {}
    for key, messages in error.fields.items():
        parts = key.split(".")
        if parts[0] == "categories" and len(parts) == 3 and parts[1].isdigit() and data:
            listed = data.get("categories") or []
            code = listed[int(parts[1])].get("code") if int(parts[1]) < len(listed) else None
            field = {"code": _("Plan category"), "name": _("Name in the call"), "budget": _("Budget (yuan)"),
                     "topics": _("Topics (one a line)")}.get(parts[2], parts[2])
            key = f"categories.{code}"
            messages = [f"{pick(calls.PLAN_CATEGORIES.get(code or '', code or ''), language)}, {field}: "
                        f"{outcome.in_language(m, language)}" for m in messages]
        else:
            messages = [outcome.in_language(m, language) for m in messages]
        found.setdefault(key, []).extend(messages)
    return found


def _editor(values: dict[str, Any], errors: dict[str, list[str]], creating: bool, status: int = 200,
            templates: list[dict[str, Any]] | None = None):  # type: ignore[no-untyped-def]
    recommenders = commands.query(engine_db(), _recommenders)
    return render_template("calls/edit.html", values=values, errors=errors, creating=creating,
                           categories=calls.PLAN_CATEGORIES, recommenders=recommenders,
                           templates=templates or []), status


def _all_calls(session: Any) -> list[dict[str, Any]]:
    return [c.to_dict() for c in calls.listing(session, per_page=200)[0]]


@calls_pages.get("/new")
def new():  # type: ignore[no-untyped-def]
    _manager()
    template = request.args.get("template", "")[:40]
    values = _form_values(None)
    if template:
        source = commands.query(engine_db(), lambda s: calls.get(s, template).to_dict())
        values = _form_values({**source, "key": "", "title": "", "opens_at": None, "closes_at": None})
        values["template"] = template
    return _editor(values, {}, True, templates=commands.query(engine_db(), _all_calls))


@calls_pages.post("/new")
def create():  # type: ignore[no-untyped-def]
    actor = _manager()
    form = CallForm().load(request.form.to_dict())
    recommenders = commands.query(engine_db(), _recommenders)
    data = _call_data(form, recommenders)
    try:
        call = commands.execute(engine_db(), call_desk.create, actor, data)
    except InvalidData as error:
        values = _form_values(None) | {k: form[k] for k in ("key", "title", "year", "opens_at", "closes_at")}
        values.update(categories={c["code"]: c for c in data["categories"]}, quotas=data["quotas"],
                      **{k: form[k] for k in ("max_open_projects", "budget_min", "budget_max")})
        return _editor(values, _errors_in_language(error, data), True, 422, commands.query(engine_db(), _all_calls))
    flash(_("The call %(key)s was created as a draft.", key=call.key), "success")
    return redirect(url_for("calls.show", key=call.key))


@calls_pages.get("/<key>/edit")
def edit(key: str):  # type: ignore[no-untyped-def]
    _manager()
    call = commands.query(engine_db(), lambda s: calls.get(s, key).to_dict())
    return _editor(_form_values(call), {}, False)


@calls_pages.post("/<key>/edit")
def update(key: str):  # type: ignore[no-untyped-def]
    actor = _manager()
    form = CallForm().load(request.form.to_dict())
    recommenders = commands.query(engine_db(), _recommenders)
    data = _call_data(form, recommenders)
    data.pop("key", None)
    try:
        commands.execute(engine_db(), call_desk.update, actor, key, data)
    except InvalidData as error:
        values = _form_values(None) | {k: form[k] for k in ("title", "year", "opens_at", "closes_at")} | {"key": key}
        values.update(categories={c["code"]: c for c in data["categories"]}, quotas=data["quotas"],
                      **{k: form[k] for k in ("max_open_projects", "budget_min", "budget_max")})
        return _editor(values, _errors_in_language(error, data), False, 422)
    flash(_("The draft was saved."), "success")
    return redirect(url_for("calls.show", key=key))


# --- publishing, extending, closing ---------------------------------------------------------------

def _act(key: str, action: Any, done: str, *args: Any):  # type: ignore[no-untyped-def]
    try:
        commands.execute(engine_db(), action, current_actor(), key, *args)
    except InvalidData as error:
        for messages in _errors_in_language(error).values():
            for message in messages:
                flash(message, "error")
        return redirect(url_for("calls.show", key=key))
    flash(done, "success")
    return redirect(url_for("calls.show", key=key))


@calls_pages.post("/<key>/publish")
def publish(key: str):  # type: ignore[no-untyped-def]
    _manager()
    return _act(key, call_desk.publish, _("The call was published; applications may be made under it."))


class ExtendForm(Schema):
    class Meta:
        unknown = EXCLUDE

    closes_at = fields.String(load_default="", validate=validate.Length(max=30))
    reason = fields.String(load_default="", validate=validate.Length(max=500))


@calls_pages.post("/<key>/extend")
def extend(key: str):  # type: ignore[no-untyped-def]
    _manager()
    form = ExtendForm().load(request.form.to_dict())
    try:
        new_deadline = datetime.fromisoformat(form["closes_at"].strip()).replace(tzinfo=BUREAU_TZ)
    except ValueError:
        flash(_("Give the new closing date and time."), "error")
        return redirect(url_for("calls.show", key=key))
    return _act(key, call_desk.extend, _("The deadline was extended."), new_deadline, form["reason"])


@calls_pages.post("/<key>/close")
def close(key: str):  # type: ignore[no-untyped-def]
    _manager()
    return _act(key, call_desk.close, _("The call was closed; no application is accepted under it any more."))


# --- a call's page --------------------------------------------------------------------------------

def _page(session: Any, key: str) -> dict[str, Any]:
    standing = calls.standing(session, key)
    units = {o["code"]: o["name"] for o in _recommenders(session)}
    quota = [{"code": code, "name": units.get(code, code), **use} for code, use in calls.quota_use(session, key).items()]
    call = calls.get(session, key)
    return {"call": standing["call"], "standing": standing["categories"], "applied": standing["applied"],
            "quota": quota, "days_left": calls.working_days_left(call), "is_open": call.is_open()}


@calls_pages.get("/<key>")
def show(key: str):  # type: ignore[no-untyped-def]
    actor = _reader()
    view = commands.query(engine_db(), _page, key)
    return render_template("calls/show.html", **view, may_manage=call_desk.may_manage(actor),
                           statuses=projects.STATUSES)


# --- open calls, for everyone who applies or recommends ---------------------------------------------

def _open_calls(session: Any, groups: frozenset[str]) -> list[dict[str, Any]]:
    units = [g.split(".", 1)[1] for g in groups if g.startswith("recommender.")]
    found = []
    for call in calls.open_calls(session):
        use = calls.quota_use(session, call.key) if units else {}
        quota = [{"code": u, "used": use.get(u, {}).get("used", 0), "quota": (call.quotas or {}).get(u)} for u in units]
        found.append({**call.to_dict(), "days_left": calls.working_days_left(call), "my_quota": quota})
    return found


@calls_pages.get("/open")
def open_list():  # type: ignore[no-untyped-def]
    actor = current_actor()
    rows = commands.query(engine_db(), _open_calls, actor.groups)
    return render_template("calls/open.html", rows=rows, may_apply="applicants" in actor.groups)
