"""People's and groups' names as a reader sees them: a user name (zhang.wei) becomes the person's
display name (张伟 Zhang Wei) and a group id (bureau_staff, recommender.binjiang) the group's name
in the reader's language (局业务处室, 滨江区科技局 推荐单位). The bureau's groups are declared here in
both languages; a unit's groups (`recommender.CODE`, `unit.CODE`) are named after the
organisation in the register. Lookups are batched and cached in the command's session, so a page
that names forty people asks the database once. Whatever is unknown keeps a readable fallback:
the user name itself, or the group id with its underscores as spaces."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

from engine.core.models import User

# group id -> (Chinese, English)
GROUPS: dict[str, tuple[str, str]] = {
    "applicants": ("申报人", "Applicants"),
    "institution_staff": ("项目管理机构", "Institution staff"),
    "bureau_staff": ("科技局业务处室", "Bureau staff"),
    "bureau_leaders": ("局领导", "Bureau leaders"),
    "experts": ("评审专家", "Experts"),
    "auditors": ("审计机构", "Auditors"),
    "evaluators": ("评估机构", "Evaluators"),
    "recommending_units": ("推荐单位", "Recommending units"),
    "supervisors": ("监管人员", "Supervisors"),
    "designers": ("流程设计人员", "Process designers"),
    "admins": ("系统管理员", "Administrators"),
    "integrations": ("对接系统", "Other systems"),
}
# the engine's own actors in the audit log (no user row): bilingual, as pages pick a half
SYSTEM_ACTORS: dict[str, str] = {
    "scheduler": "系统（定时任务） · System (scheduler)",
    "system": "系统 · System",
    "demo": "演示数据 · Demo data",
}
# a unit's own groups: prefix -> (Chinese suffix, English template)
UNIT_GROUPS: dict[str, tuple[str, str]] = {
    "recommender": ("{org}（推荐单位）", "{org} (recommending unit)"),
    "unit": ("{org}（科研管理部门）", "{org} (research office)"),
}
# the organisation register lives in engine/lifecycle, above this package: read its two columns
_ORGANISATIONS = table("organisations", column("code"), column("name"))
_CACHE_KEY = "engine.core.names"


@dataclass
class Names:
    """The names known so far for one command; `person` and `group` never fail."""

    people: dict[str, str] = field(default_factory=dict)
    organisations: dict[str, str] = field(default_factory=dict)

    def person(self, username: str | None) -> str:
        if not username:
            return ""
        return self.people.get(username) or SYSTEM_ACTORS.get(username) or username

    def group(self, group_id: str | None, language: str = "zh") -> str:
        if not group_id:
            return ""
        chinese = language.startswith("zh")
        if group_id in GROUPS:
            return GROUPS[group_id][0 if chinese else 1]
        prefix, _, code = group_id.partition(".")
        if prefix in UNIT_GROUPS and code:
            template = UNIT_GROUPS[prefix][0 if chinese else 1]
            return template.format(org=self.organisations.get(code) or code)
        return group_id.replace("_", " ")

    def principal(self, key: str, language: str = "zh") -> str:
        """A candidate key as the projection stores it: `u:NAME` or `g:GROUP`, or a bare name."""
        if key.startswith("g:"):
            return self.group(key[2:], language)
        return self.person(key[2:] if key.startswith("u:") else key)


def is_group(name: str) -> bool:
    """Whether `name` is one of the bureau's groups or a unit's group (not a word of a diagram)."""
    prefix, _, code = name.partition(".")
    return name in GROUPS or (prefix in UNIT_GROUPS and bool(code))


def lookup(session: Session, usernames: Iterable[str | None] = (), groups: Iterable[str | None] = ()) -> Names:
    """The names of these people and groups (and all looked up before in this session)."""
    names: Names = session.info.setdefault(_CACHE_KEY, Names())
    wanted = {u for u in usernames if u and u not in names.people}
    if wanted:
        found = dict(session.execute(select(User.username, User.display_name)
                                     .where(User.username.in_(sorted(wanted)))).tuples().all())
        names.people.update({u: found.get(u) or u for u in wanted})
    codes = {g.partition(".")[2] for g in groups if g and g.partition(".")[0] in UNIT_GROUPS}
    codes -= names.organisations.keys()
    codes.discard("")
    if codes:
        found = dict(session.execute(select(_ORGANISATIONS.c.code, _ORGANISATIONS.c.name)
                                     .where(_ORGANISATIONS.c.code.in_(sorted(codes)))).tuples().all())
        names.organisations.update({c: found.get(c) or c for c in codes})
    return names


def forget(session: Session) -> None:
    """Drop the cache (a command that renames someone calls it; tests too)."""
    session.info.pop(_CACHE_KEY, None)


def of_tasks(session: Session, tasks: Iterable[object], people: Iterable[str | None] = ()) -> Names:
    """The names a list of tasks shows (assignees, candidates, who completed them), plus `people`."""
    rows = list(tasks)
    usernames = [*people]
    groups: list[str] = []
    for row in rows:
        usernames += [getattr(row, "assignee", None), getattr(row, "completed_by", None),
                      *(getattr(row, "candidate_users", None) or [])]
        groups += list(getattr(row, "candidate_groups", None) or [])
    return lookup(session, usernames, groups)
