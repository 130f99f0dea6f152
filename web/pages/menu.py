"""The menu of the base layout: each role sees its own entries (applicants their applications,
reviewers the inbox with its counts, supervisors and designers their areas once those pages
exist), plus the entries everyone has (substitutes, language, sign-out). Counts come from the
indexed inbox counts, one small query each."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine.core import commands
from engine.runtime import access
from engine.workspace import inbox
from engine.core.principals import ADMINS, DESIGNERS, SUPERVISORS

from web import engine_db

APPLICANTS = "applicants"


@dataclass(frozen=True)
class Item:
    label: Any
    url: str
    endpoint_prefix: str
    count: int | None = None
    key: str = ""

    @property
    def active(self) -> bool:
        endpoint = request.endpoint or ""
        if self.key in ("assigned", "group"):
            scope = (request.view_args or {}).get("scope") or request.args.get("scope", "assigned")
            return endpoint.startswith("inbox.") and scope == self.key
        return endpoint.startswith(self.endpoint_prefix)


def is_reviewer(groups: frozenset[str]) -> bool:
    """Anyone in a group other than applicants works an inbox."""
    return bool(groups - {APPLICANTS})


def _optional(endpoint: str, label: Any, prefix: str) -> Item | None:
    """Areas built by other parts of the product appear once their blueprint is registered."""
    if endpoint not in current_app.view_functions:
        return None
    return Item(label, url_for(endpoint), prefix)


def items() -> list[Item]:
    if not current_user.is_authenticated:
        return []
    groups = current_user.groups
    entries: list[Item | None] = []
    if APPLICANTS in groups or not is_reviewer(groups):
        entries.append(Item(_l("My applications"), url_for("applicant.applications"), "applicant.", key="applications"))
    if APPLICANTS in groups or any(g.startswith("recommender.") for g in groups):
        entries.append(_optional("calls.open_list", _l("Open calls"), "calls.open"))
    if is_reviewer(groups):
        counts = g.get("inbox_counts") or commands.query(engine_db(), inbox.counts, current_user.actor)
        entries.append(Item(_l("Inbox"), url_for("inbox.index", scope="assigned"), "inbox.",
                            counts["assigned"], key="assigned"))
        entries.append(Item(_l("Group tasks"), url_for("inbox.index", scope="group"), "inbox.",
                            counts["group"], key="group"))
    if access.may_see_expert_pool(current_user.actor):
        entries.append(_optional("experts.index", _l("Expert pool"), "experts."))
    if access.may_read_calls(current_user.actor):
        entries.append(_optional("calls.index", _l("Calls"), "calls."))
    if access.may_export_registers(current_user.actor):
        entries.append(_optional("registers.index", _l("Registers"), "registers."))
    if SUPERVISORS in groups:
        entries.append(_optional("supervisor.index", _l("Supervision"), "supervisor."))
    if DESIGNERS in groups:
        entries.append(_optional("designer.index", _l("Designer"), "designer."))
    if ADMINS in groups:
        entries.append(_optional("admin.index", _l("Users"), "admin."))
    return [e for e in entries if e is not None]


def init_app(app: Flask) -> None:
    @app.context_processor
    def _menu() -> dict[str, Any]:
        return {"menu_items": items}
