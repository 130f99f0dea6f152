"""A call's batch reviewed by discipline panels (issue 16, process `batch_review`). This module
owns the batch review's rules as plain data for the process: how a call's accepted projects fall
into discipline groups (plan category + discipline), what a group's panel must avoid (every
project's organisation, partner units, investigator and team), the score sheets (one per panel
member and project), the defence slots of a panel session (the projects in order, one slot each
from the session's start), and how the sheets become the `reviews` output the batch decision
reads ({score, mode, valid_opinions, summary} per project). Drawing itself is the expert pool's
(expert_pool.draw_panel); aggregation is scoring.aggregate; notifications are sent by the script
services, since this package may import only core."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.calendar import BUREAU_TZ
from engine.lifecycle import expert_pool, projects, scoring

MAIL, MEETING = "mail", "meeting"
# review_plan.dmn speaks of the expert pool's modes; the batch's output speaks of 函评 / 会评
MODE_OF_PLAN = {"mail": MAIL, "panel": MEETING}
PROJECT_KEYS = ("project_id", "title", "plan_category", "discipline", "organisation", "investigator", "applicant")
DEFAULT_DEFENCE_MINUTES = 30
# a group's name as readers see it, with the labels the application form offers (task titles
# and notifications carry it; a code such as "key_rd/materials" never reaches a reader)
CATEGORY_LABELS = {"key_rd": ("重点研发计划", "Key R&D"), "natural_science": ("自然科学基金", "Natural science fund"),
                   "soft_science": ("软科学研究", "Soft science"), "public_welfare": ("科技惠民", "Science for the people")}
DISCIPLINE_LABELS = {"it": ("信息技术", "Information technology"), "biomed": ("生物医药", "Biomedicine"),
                     "materials": ("新材料", "New materials"), "manufacturing": ("先进制造", "Advanced manufacturing"),
                     "agriculture": ("农业", "Agriculture"), "energy": ("能源环境", "Energy and environment")}


def group_label(plan_category: str, discipline: str) -> str:
    """"重点研发计划·新材料组 · Key R&D, New materials" (an unknown code is shown as it is)."""
    category = CATEGORY_LABELS.get(plan_category, (plan_category, plan_category))
    field_ = DISCIPLINE_LABELS.get(discipline, (discipline, discipline))
    return f"{category[0]}{field_[0]}组 · {category[1]}, {field_[1]}"


def _checked_projects(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not items:
        raise ValueError("projects must be a non-empty list of the call's accepted projects")
    seen = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"project {index + 1} is not a dict")
        missing = [k for k in PROJECT_KEYS if k not in item]
        if missing:
            raise ValueError(f"project {index + 1} lacks {', '.join(missing)}")
        pid = item["project_id"]
        if isinstance(pid, bool) or not isinstance(pid, int) or pid in seen:
            raise ValueError(f"project {index + 1}: project_id must be a whole number, once; not {pid!r}")
        seen.add(pid)
    return items


def form_groups(items: Any) -> list[dict[str, Any]]:
    """The discipline groups: one per (plan category, discipline), in the order of their first
    project; each lists its projects (id and title) in the order given (by project id)."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for item in _checked_projects(items):
        key = (str(item["plan_category"]), str(item["discipline"]))
        group = groups.setdefault(key, {"group": f"{key[0]}/{key[1]}", "label": group_label(*key),
                                        "plan_category": key[0],
                                        "discipline": key[1], "projects": []})
        group["projects"].append({"project_id": item["project_id"], "title": str(item["title"]),
                                  "organisation": str(item["organisation"]),
                                  "investigator": str(item["investigator"]),
                                  "applicant": str(item["applicant"])})
    return list(groups.values())


def conflict_contexts(session: Session, group: dict[str, Any],
                      other_panels: Iterable[int] = ()) -> list[expert_pool.ConflictContext]:
    """What the group's panel must avoid, project by project: the organisation and investigator
    given, the partner units and team the register holds for a registered project, and the
    members of the batch's other panels."""
    contexts = []
    for item in group["projects"]:
        partners: list[str] = []
        persons = [item["investigator"]]
        registered = session.get(projects.Project, item["project_id"])
        if registered is not None:
            partners = list(registered.partners or [])
            persons += [registered.investigator, *(registered.team or [])]
        contexts.append(expert_pool.ConflictContext.of(item["organisation"], partners, persons, other_panels))
    return contexts


def drawn_group(session: Session, group: dict[str, Any], call_key: str, review_mode: str, panel_size: int,
                backups: int, min_opinions: int, seed: str | None = None, actor: str | None = None) -> dict[str, Any]:
    """The group with its review plan and its drawn panel; the first drawn member chairs."""
    if review_mode not in MODE_OF_PLAN:
        raise ValueError(f"the review plan's mode is one of {', '.join(MODE_OF_PLAN)}, not {review_mode!r}")
    prefix = f"call:{call_key}:batch_review:"
    purpose = prefix + group["group"]
    # an expert sits on one panel of a batch when the pool allows it (a chair then sees exactly
    # the panel's work); a small pool may seat an expert on two panels rather than fail
    others = panel_members(session, prefix, purpose)
    try:
        record = expert_pool.draw_panel(session, purpose=purpose, discipline=group["discipline"], mode=review_mode,
                                        size=panel_size, backups=backups,
                                        contexts=conflict_contexts(session, group, others), seed=seed, actor=actor)
    except ValueError:
        if not others:
            raise
        record = expert_pool.draw_panel(session, purpose=purpose, discipline=group["discipline"], mode=review_mode,
                                        size=panel_size, backups=backups, contexts=conflict_contexts(session, group),
                                        seed=seed, actor=actor)
    seats = expert_pool.seats(session, record.id)
    return group | {"mode": MODE_OF_PLAN[review_mode], "panel_size": panel_size, "min_opinions": min_opinions,
                    "draw_id": record.id, "members": [s["expert"] for s in seats], "chair": seats[0]["expert"]}


def panel_members(session: Session, prefix: str, but: str) -> set[int]:
    """The experts seated on the batch's other panels (draws whose purpose starts with prefix)."""
    draws = select(expert_pool.ExpertDraw.id).where(expert_pool.ExpertDraw.purpose.startswith(prefix),
                                                   expert_pool.ExpertDraw.purpose != but)
    return set(session.scalars(select(expert_pool.DrawMember.expert_id).where(
        expert_pool.DrawMember.draw_id.in_(draws), expert_pool.DrawMember.role == "panel")))


def sheets(groups: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One score sheet per panel member and project of the group; a meeting's sheets carry the
    session's start (scoring opens at the session)."""
    found = []
    for group in groups:
        for project in group["projects"]:
            for expert in group["members"]:
                found.append({"group": group["group"], "mode": group["mode"], "project_id": project["project_id"],
                              "project_title": project["title"], "expert": expert,
                              "session_at": (group.get("session") or {}).get("starts_at"),
                              "score": None, "opinion": None})
    return found


def _local(value: Any) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("the session's date and time are required")
    moment = datetime.fromisoformat(value.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=BUREAU_TZ)


def schedule(group: dict[str, Any], starts_at: Any, place: Any, link: Any = None,
             defence_minutes: Any = None) -> dict[str, Any]:
    """The group with its session: where and when, and each project's defence slot in order."""
    if group.get("mode") != MEETING:
        raise ValueError(f"group {group.get('group')} is reviewed by mail; only a meeting has a session")
    start = _local(starts_at)
    place = place.strip() if isinstance(place, str) else ""
    link = link.strip() if isinstance(link, str) else ""
    if not place and not link:
        raise ValueError("a session needs a place or a video link")
    minutes = DEFAULT_DEFENCE_MINUTES if defence_minutes in (None, "") else defence_minutes
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 5 <= minutes <= 240:
        raise ValueError(f"a defence slot lasts 5 to 240 minutes, not {minutes!r}")
    slots = []
    for order, project in enumerate(group["projects"], start=1):
        begins = start + timedelta(minutes=minutes * (order - 1))
        slots.append({"order": order, "project_id": project["project_id"], "title": project["title"],
                      "applicant": project["applicant"], "starts_at": begins.isoformat(),
                      "ends_at": (begins + timedelta(minutes=minutes)).isoformat()})
    return group | {"session": {"starts_at": start.isoformat(), "place": place, "link": link,
                                "defence_minutes": minutes, "slots": slots}}


def chair_items(groups: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One chair's summary per project of every meeting group (mail reviews have no chair)."""
    return [{"group": g["group"], "project_id": p["project_id"], "project_title": p["title"],
             "chair": g["chair"], "summary": ""}
            for g in groups if g["mode"] == MEETING for p in g["projects"]]


def reviews(groups: Iterable[dict[str, Any]], scored: Iterable[dict[str, Any]], summaries: Iterable[dict[str, Any]],
            method: str = scoring.TRIMMED_MEAN) -> dict[str, dict[str, Any]]:
    """The batch's output, keyed by str(project_id): the panel's aggregated score, the mode, the
    number of valid opinions (sheets with a score) and the chair's summary ("" for mail)."""
    scored = list(scored)
    summary_of = {s["project_id"]: s.get("summary") or "" for s in summaries}
    found = {}
    for group in groups:
        for project in group["projects"]:
            pid = project["project_id"]
            scores = [s["score"] for s in scored if s["project_id"] == pid and s.get("score") is not None]
            score = scoring.aggregate(scores, method).score if scores else 0
            found[str(pid)] = {"score": score, "mode": group["mode"], "valid_opinions": len(scores),
                               "summary": summary_of.get(pid, "")}
    return found
