"""Calls for proposals (申报指南): one row per call, from the institution's draft to its close.
This module owns what a call is (its key, title, window, plan categories with budgets and topics,
quotas per recommending unit, eligibility settings, the history of its deadline extensions), its
statuses (draft -> published -> closed), and the rules an application under a call must satisfy
at start and at submission: the call is open, the category and topic are the call's, the budget
is within the call's bounds, the investigator leads few enough open projects, and the
recommending unit has quota left. The pages and the API change calls through the functions here;
publishing and extending also reach the call's own process (`call_for_proposals`), which the
layers above start and notify (engine/workspace/call_desk.py); its scripts read the call back
through script services (scripting.script_services)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import JSON, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import audit, clock
from engine.core.calendar import BUREAU_TZ, working_days_between
from engine.core.errors import Conflict, InvalidData, NotFound
from engine.core.models import Base, UtcDateTime
from engine.lifecycle import organisations, projects

PROCESS_KEY = "call_for_proposals"
STATUSES = {
    "draft": "草稿 · Draft",
    "published": "已发布 · Published",
    "closed": "已截止 · Closed",
}
PLAN_CATEGORIES = {
    "key_rd": "重点研发计划 · Key R&D programme",
    "natural_science": "自然科学基金 · Natural science fund",
    "soft_science": "软科学研究 · Soft science",
    "tech_transfer": "成果转化 · Technology transfer",
}
# the eligibility settings a call may make; absent means the bureau's general rule applies
ELIGIBILITY_KEYS = ("max_open_projects", "budget_min", "budget_max", "registered_organisation")
# what a project waiting for its formal review looks like in the register
PENDING_STATUSES = ("submitted",)
ACCEPTED_STATUSES = ("accepted", "under_review")


class Call(Base):
    __tablename__ = "calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    year: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    opens_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # [{code, name, budget, topics: [str]}]: the interface's `categories`
    categories: Mapped[list[Any]] = mapped_column(JSON, default=list)
    quotas: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {recommender code: n}
    eligibility: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    extensions: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{from, to, reason, by, at}]
    template_key: Mapped[str | None] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    def category(self, code: str) -> dict[str, Any] | None:
        return next((c for c in self.categories or [] if c.get("code") == code), None)

    def is_open(self, now: datetime | None = None) -> bool:
        now = now or clock.now()
        return (self.status == "published" and self.closes_at is not None and now < self.closes_at
                and (self.opens_at is None or self.opens_at <= now))

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.astimezone(BUREAU_TZ).isoformat() if value else None
        return {"key": self.key, "title": self.title, "year": self.year, "status": self.status,
                "status_label": STATUSES.get(self.status, self.status),
                "opens_at": iso(self.opens_at), "closes_at": iso(self.closes_at),
                "categories": list(self.categories or []), "quotas": dict(self.quotas or {}),
                "eligibility": dict(self.eligibility or {}), "extensions": list(self.extensions or []),
                "template_key": self.template_key, "created_by": self.created_by,
                "created_at": iso(self.created_at), "published_at": iso(self.published_at),
                "closed_at": iso(self.closed_at)}


# --- input ------------------------------------------------------------------------------------

class CategorySchema(Schema):
    code = fields.String(required=True, validate=validate.OneOf(list(PLAN_CATEGORIES)))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    budget = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    topics = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list)


class EligibilitySchema(Schema):
    max_open_projects = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=20))
    budget_min = fields.Float(allow_none=True, validate=validate.Range(min=0))
    budget_max = fields.Float(allow_none=True, validate=validate.Range(min=0))
    registered_organisation = fields.Boolean(load_default=True)

    @validates_schema
    def _bounds(self, data: dict[str, Any], **_: Any) -> None:
        low, high = data.get("budget_min"), data.get("budget_max")
        if low is not None and high is not None and low > high:
            raise ValidationError("下限不能高于上限 · The minimum is above the maximum.", "budget_max")


class CallSchema(Schema):
    """A call's editable fields (a draft's; the key only when it is created)."""

    key = fields.String(required=True, validate=validate.Regexp(
        r"^[0-9A-Za-z][0-9A-Za-z_-]{0,39}$", error="字母、数字、-、_，至多 40 个 · Letters, digits, - and _, at most 40."))
    title = fields.String(required=True, validate=validate.Length(min=2, max=300))
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    opens_at = fields.AwareDateTime(allow_none=True, default_timezone=BUREAU_TZ)
    closes_at = fields.AwareDateTime(allow_none=True, default_timezone=BUREAU_TZ)
    categories = fields.List(fields.Nested(CategorySchema))
    quotas = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=40)),
                         values=fields.Integer(validate=validate.Range(min=0, max=10000)))
    eligibility = fields.Nested(EligibilitySchema)

    @validates_schema(skip_on_field_errors=False)  # a bad window is named beside the other errors
    def _window(self, data: dict[str, Any], **_: Any) -> None:
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if opens and closes and closes <= opens:
            raise ValidationError("截止时间须晚于开始时间 · The closing time must be after the opening time.",
                                  "closes_at")
        codes = [c.get("code") for c in data.get("categories") or [] if isinstance(c, dict) and c.get("code")]
        if len(codes) != len(set(codes)):
            raise ValidationError("类别重复 · A category appears twice.", "categories")


def _load(data: Any, partial: bool | tuple[str, ...] = False) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidData("a call is a JSON object", {"_schema": ["Must be an object."]})
    try:
        return CallSchema(partial=partial).load(data)
    except ValidationError as error:
        found = _flatten(error.messages if isinstance(error.messages, dict) else {"_schema": error.messages})
        raise InvalidData("the call has invalid fields: " + ", ".join(sorted(found)), found) from None


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """{"categories": {0: {"budget": [..]}}} -> {"categories.0.budget": [..]}: each bad field by its path."""
    found: dict[str, list[str]] = {}
    for key, value in messages.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            found.update(_flatten(value, path + "."))
        else:
            found[path] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return found


def _plain(loaded: dict[str, Any]) -> dict[str, Any]:
    """JSON columns keep plain values: categories with float budgets and stripped topics."""
    if "categories" in loaded:
        loaded["categories"] = [{"code": c["code"], "name": c["name"].strip(), "budget": float(c["budget"]),
                                 "topics": [t.strip() for t in c.get("topics") or [] if t.strip()]}
                                for c in loaded["categories"]]
    if "eligibility" in loaded:
        loaded["eligibility"] = {k: v for k, v in loaded["eligibility"].items() if v is not None}
    return loaded


# --- the calls --------------------------------------------------------------------------------

def get(session: Session, key: Any) -> Call:
    call = session.scalar(select(Call).where(Call.key == str(key))) if isinstance(key, str) else None
    if call is None:
        raise NotFound(f"call '{key}' not found")
    return call


def create(session: Session, by: str, data: Any, template_key: str | None = None) -> Call:
    """A new draft call; from a template, the earlier call's categories, quotas and eligibility
    are copied (the window never: a new call needs its own dates)."""
    base: dict[str, Any] = {}
    if template_key:
        template = get(session, template_key)
        base = {"categories": [dict(c, topics=list(c.get("topics") or [])) for c in template.categories or []],
                "quotas": dict(template.quotas or {}), "eligibility": dict(template.eligibility or {})}
    loaded = _plain(_load({**base, **(data if isinstance(data, dict) else {})} if template_key else data))
    if session.scalar(select(Call.id).where(Call.key == loaded["key"])) is not None:
        raise InvalidData(f"a call with the key '{loaded['key']}' exists",
                          {"key": ["已有同编号的指南 · A call with this key exists."]})
    now = clock.now()
    call = Call(key=loaded["key"], title=loaded["title"].strip(), year=loaded["year"], status="draft",
                opens_at=loaded.get("opens_at"), closes_at=loaded.get("closes_at"),
                categories=loaded.get("categories", []), quotas=loaded.get("quotas", {}),
                eligibility=loaded.get("eligibility", {}), extensions=[], template_key=template_key,
                created_by=by, created_at=now, updated_at=now)
    session.add(call)
    session.flush()
    audit.record(session, "call_created", by, call=call.key, template=template_key)
    return call


def update_draft(session: Session, key: str, by: str, data: Any) -> Call:
    """Change a draft's fields (any subset; the key stays)."""
    call = get(session, key)
    if call.status != "draft":
        raise Conflict(f"call '{key}' is {call.status}: only a draft can be edited")
    data = {k: v for k, v in (data if isinstance(data, dict) else {}).items() if k != "key"}
    window = {k: getattr(call, k).isoformat() for k in ("opens_at", "closes_at") if getattr(call, k) and k not in data}
    loaded = _plain(_load({"key": call.key, **window, **data}, partial=True))
    for name in ("title", "year", "opens_at", "closes_at", "categories", "quotas", "eligibility"):
        if name in loaded:
            setattr(call, name, loaded[name].strip() if name == "title" else loaded[name])
    call.updated_at = clock.now()
    audit.record(session, "call_updated", by, call=call.key, fields=sorted(k for k in loaded if k != "key"))
    return call


def publish(session: Session, key: str, by: str) -> Call:
    """Publish a complete draft: from now applications may be made under it (from `opens_at`)."""
    call = get(session, key)
    if call.status != "draft":
        raise Conflict(f"call '{key}' is {call.status} already")
    problems: dict[str, list[str]] = {}
    if not call.categories:
        problems["categories"] = ["至少一个计划类别 · At least one plan category."]
    if call.closes_at is None:
        problems["closes_at"] = ["请填写截止时间 · The closing time is required."]
    elif call.closes_at <= clock.now():
        problems["closes_at"] = ["截止时间已过 · The closing time has passed."]
    if problems:
        raise InvalidData(f"call '{key}' cannot be published yet", problems)
    now = clock.now()
    call.status, call.published_at, call.updated_at = "published", now, now
    if call.opens_at is None:
        call.opens_at = now
    audit.record(session, "call_published", by, call=call.key)
    return call


def process_data(call: Call) -> dict[str, Any]:
    """The data `call_for_proposals` starts with (the interface's names)."""
    return {"call_key": call.key, "call_title": call.title,
            "categories": [dict(c, topics=list(c.get("topics") or [])) for c in call.categories or []],
            "closes_at": call.closes_at.astimezone(BUREAU_TZ).isoformat() if call.closes_at else None}


def extend(session: Session, key: str, by: str, closes_at: datetime, reason: str) -> Call:
    """Move the deadline of a published call later, with the reason (kept in its history)."""
    call = get(session, key)
    reason = (reason or "").strip()
    if call.status != "published":
        raise Conflict(f"call '{key}' is {call.status}: only a published call can be extended")
    if not reason:
        raise InvalidData("an extension needs a reason", {"reason": ["请说明延期原因 · Give the reason."]})
    if closes_at.tzinfo is None:
        closes_at = closes_at.replace(tzinfo=BUREAU_TZ)
    if call.closes_at is not None and closes_at <= call.closes_at:
        raise InvalidData("an extension moves the deadline later", {"closes_at": [
            "新截止时间须晚于原截止时间 · The new closing time must be after the current one."]})
    old = call.closes_at
    now = clock.now()
    call.extensions = [*(call.extensions or []), {
        "from": old.astimezone(BUREAU_TZ).isoformat() if old else None,
        "to": closes_at.astimezone(BUREAU_TZ).isoformat(), "reason": reason, "by": by,
        "at": now.astimezone(BUREAU_TZ).isoformat()}]
    call.closes_at, call.updated_at = closes_at, now
    audit.record(session, "call_extended", by, call=call.key, closes_at=closes_at.isoformat(), reason=reason)
    return call


def close(session: Session, key: str, by: str) -> Call:
    """Close a published call now (at its deadline, or earlier by the institution's decision)."""
    call = get(session, key)
    if call.status == "closed":
        return call
    if call.status != "published":
        raise Conflict(f"call '{key}' is {call.status}: only a published call can be closed")
    now = clock.now()
    call.status, call.closed_at, call.updated_at = "closed", now, now
    if call.closes_at is None or call.closes_at > now:
        call.closes_at = now  # closed early: the deadline the process and the pages show is now
    audit.record(session, "call_closed", by, call=call.key)
    return call


def deadline(session: Session, key: str) -> dict[str, Any]:
    """What the call process asks at its timer: the current deadline and whether it has passed
    (an extension moved it: the process waits again until the new date)."""
    call = get(session, key)
    passed = call.status == "closed" or call.closes_at is None or call.closes_at <= clock.now()
    return {"closes_at": call.closes_at.astimezone(BUREAU_TZ).isoformat() if call.closes_at else None,
            "passed": passed}


def open_calls(session: Session, now: datetime | None = None) -> list[Call]:
    now = now or clock.now()
    found = session.scalars(select(Call).where(Call.status == "published").order_by(Call.closes_at, Call.key))
    return [c for c in found if c.is_open(now)]


def listing(session: Session, status: str = "", year: int | None = None, query: str = "",
            sort: str = "-created_at", page: int = 1, per_page: int = 20) -> tuple[list[Call], int]:
    """Calls for the institution's list: filtered, sorted (a column, `-` for descending), paged."""
    stmt = select(Call)
    if status in STATUSES:
        stmt = stmt.where(Call.status == status)
    if year:
        stmt = stmt.where(Call.year == year)
    if query.strip():
        like = f"%{query.strip()}%"
        stmt = stmt.where(Call.title.ilike(like) | Call.key.ilike(like))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    column = {"key": Call.key, "title": Call.title, "year": Call.year, "closes_at": Call.closes_at,
              "status": Call.status, "created_at": Call.created_at}.get(sort.lstrip("-"), Call.created_at)
    order = column.desc() if sort.startswith("-") else column.asc()
    page = max(1, page)
    rows = session.scalars(stmt.order_by(order, Call.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return list(rows), int(total)


def working_days_left(call: Call, now: datetime | None = None) -> int:
    now = now or clock.now()
    if call.closes_at is None or call.closes_at <= now:
        return 0
    return working_days_between(now, call.closes_at)


# --- applications under a call ----------------------------------------------------------------

def recommender_of(session: Session, organisation: str) -> str | None:
    info = organisations.info(session, organisation)
    return info["recommender_code"] if info else None


def quota_use(session: Session, key: str) -> dict[str, dict[str, Any]]:
    """Per recommending unit: its quota in the call (None: no limit) and the applications made."""
    call = get(session, key)
    used: dict[str, int] = {}
    names = session.scalars(select(projects.Project.organisation).where(projects.Project.call_key == call.key))
    recommender = {o.name: (o.recommender_code or o.code) for o in organisations.all_organisations(session)}
    for name in names:
        code = recommender.get(name)
        if code:
            used[code] = used.get(code, 0) + 1
    codes = sorted(set(call.quotas or {}) | set(used))
    return {code: {"quota": (call.quotas or {}).get(code), "used": used.get(code, 0)} for code in codes}


def closed_text(call: Call) -> str:
    when = (call.closes_at or call.closed_at or clock.now()).astimezone(BUREAU_TZ).strftime("%Y-%m-%d %H:%M")
    return f"该指南已于 {when} 截止 · This call closed on {when}"


def refusals(session: Session, key: str, application: dict[str, Any], at_submission: bool = True) -> dict[str, list[str]]:
    """Why an application may not be made under this call, by the start form's field (empty:
    it may). At start only the call itself and the investigator are known; at submission the
    category, topic, budget, organisation and the unit's quota too."""
    found: dict[str, list[str]] = {}

    def refuse(name: str, text: str) -> None:
        found.setdefault(name, []).append(text)
    try:
        call = get(session, key)
    except NotFound:
        return {"call_key": ["没有这个申报指南 · There is no such call."]}
    if not call.is_open():
        if call.status == "closed" or (call.closes_at is not None and call.closes_at <= clock.now()):
            refuse("call_key", closed_text(call))
        else:
            refuse("call_key", "该指南尚未开放申报 · This call is not open for applications yet.")
        return found
    rules = call.eligibility or {}
    investigator = str(application.get("principal_investigator") or "").strip()
    limit = rules.get("max_open_projects")
    if investigator and limit is not None:
        open_count = session.scalar(select(func.count(projects.Project.id)).where(
            projects.Project.investigator == investigator, projects.Project.status.in_(projects.OPEN))) or 0
        if open_count >= limit:
            refuse("principal_investigator", f"本指南限项目负责人在研项目少于 {limit} 项（现有 {open_count} 项） · "
                   f"This call admits investigators leading fewer than {limit} open projects ({open_count} now).")
    if not at_submission:
        return found
    category = call.category(str(application.get("plan_category") or ""))
    if category is None:
        names = "、".join(c["name"] for c in call.categories or [])
        refuse("plan_category", f"本指南只接受：{names} · This call admits only its own plan categories: {names}.")
    else:
        topic = str(application.get("call_topic") or "").strip()
        if category.get("topics") and topic not in category["topics"]:
            refuse("call_topic", "请选择本类别的指南方向 · Choose one of the category's topics.")
    budget = application.get("budget")
    if isinstance(budget, (int, float)) and not isinstance(budget, bool):
        low, high = rules.get("budget_min"), rules.get("budget_max")
        if low is not None and budget < low:
            refuse("budget", f"申请经费不得低于 {low:g} 万元 · The budget must be at least {low:g} (10k yuan).")
        if high is not None and budget > high:
            refuse("budget", f"申请经费不得高于 {high:g} 万元 · The budget must be at most {high:g} (10k yuan).")
    organisation = str(application.get("organisation") or "").strip()
    code = recommender_of(session, organisation) if organisation else None
    if organisation and code is None and rules.get("registered_organisation", True):
        refuse("organisation", f"申报单位「{organisation}」未在本系统注册 · the organisation '{organisation}' "
               "is not registered with the bureau")
    quota = (call.quotas or {}).get(code) if code else None
    if quota is not None:
        used = quota_use(session, call.key).get(code, {}).get("used", 0)
        if used >= quota:
            unit = session.scalar(select(organisations.Organisation).where(organisations.Organisation.code == code))
            name = unit.name if unit is not None else code
            refuse("organisation", f"推荐单位「{name}」在本指南的推荐名额已用完（{used} / {quota}） · "
                   f"The recommending unit '{name}' has used its quota in this call ({used} / {quota}).")
    return found


def formal_review(session: Session, key: str) -> dict[str, Any]:
    """Where the call's applications stand after the deadline: how many still wait for their
    formal review, and the accepted ones as the batch's `projects` (the interface's fields)."""
    rows = list(session.scalars(select(projects.Project).where(projects.Project.call_key == key)
                                .order_by(projects.Project.id)))
    pending = [p.id for p in rows if p.status in PENDING_STATUSES]
    accepted = [{"project_id": p.id, "title": p.title, "plan_category": p.plan_category,
                 "discipline": p.discipline, "organisation": p.organisation, "investigator": p.investigator,
                 "applicant": p.applicant, "requested_funding": p.budget * 10000}
                for p in rows if p.status in ACCEPTED_STATUSES]
    return {"done": not pending, "pending": len(pending), "projects": accepted}


def standing(session: Session, key: str) -> dict[str, Any]:
    """The call's applications per category and status, with the budget requested and the budget
    used (the funding approved to its projects) against the category's budget (the call detail
    page and the supervisors' view; budgets in yuan)."""
    call = get(session, key)
    rows = session.execute(select(projects.Project.plan_category, projects.Project.status,
                                  func.count(projects.Project.id), func.coalesce(func.sum(projects.Project.budget), 0),
                                  func.coalesce(func.sum(projects.Project.approved_funding), 0))
                           .where(projects.Project.call_key == call.key)
                           .group_by(projects.Project.plan_category, projects.Project.status)).all()
    per: dict[str, dict[str, Any]] = {}
    for category in call.categories or []:
        per[category["code"]] = {"code": category["code"], "name": category["name"], "budget": category["budget"],
                                 "applied": 0, "requested": 0.0, "funded": 0.0, "by_status": {}}
    for code, status, count, requested, funded in rows:
        entry = per.setdefault(code, {"code": code, "name": PLAN_CATEGORIES.get(code, code), "budget": 0,
                                      "applied": 0, "requested": 0.0, "funded": 0.0, "by_status": {}})
        entry["applied"] += count
        entry["requested"] += float(requested) * 10000  # the register keeps budgets in 10k yuan
        entry["funded"] += float(funded) * 10000
        entry["by_status"][status] = entry["by_status"].get(status, 0) + count
    return {"call": call.to_dict(), "categories": list(per.values()),
            "applied": sum(e["applied"] for e in per.values())}


def attach(session: Session, project_id: int, key: str, topic: str | None = None) -> None:
    """Mark a registered application as made under the call (and the topic it chose)."""
    call = get(session, key)
    project = projects.get(session, project_id)
    project.call_key = call.key
    projects.note(project, "call", {"call_key": call.key, **({"topic": topic} if topic else {})})
