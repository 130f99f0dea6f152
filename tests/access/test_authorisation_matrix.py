"""The authorisation matrix: every route of the URL map, as each role, against objects that
belong to someone else (tests/access/world.py builds them once for the module), answers as the
policy says; and a route without a rule fails `test_every_route_has_a_rule`.

Each row of RULES is one (endpoint, method) with who may use it; the roles are anonymous, an
applicant who owns nothing here, the owner (another applicant, whose projects, file, draft,
notification, saved filter and substitution these are), an expert of the panel still scoring,
institution staff who reviewed the project, a supervisor, a designer, an admin (with the demo
admin's groups) and an integration account. Outcomes:

- OK: reached (2xx/3xx, or one of the rule's `ok` statuses: a harmless `allowed_body` that fails
  validation after the role check answers 422, for instance); `must_change` also asks that the
  request changed something, where a refusal would only be a message on a redirect.
- LOGIN (the default for anonymous): pages send them to sign in, the API answers 401.
- DENY 403, the contract's "not allowed", for objects of a project or a role; HIDE 404 where the
  object is one person's own (a notification) and its existence is not for anyone else; NO (403
  or 404) and "403/409" where the fix that lands may choose either.
- NOTHING: answered (2xx/3xx, a flash message) or refused (403/404), but nothing changed.

The matrix decides whether a route can be used at all; which fields, events, files and comments
an allowed answer shows is the access module's and its own tests' concern.

A refused state-changing request must leave the database as it was (`world.fingerprint`), and is
sent with a body that would really do it. An allowed one that would use the shared object up
(claim, delete, revoke) runs on a `fresh` one, or sends its harmless `allowed_body`.

To add a route: add a Rule(endpoint, method, expect, args=...) to RULES, with `expect` built by
`allow(<roles that may>)` (or EVERYONE, PUBLIC, SUPERVISORS, DESIGNERS, PARTIES), the URL
arguments naming someone else's object from the World, a `body` for writes (pages get the CSRF
token added), and `fresh`/`allowed_body` if an allowed request would change the shared world (a
route open to anonymous visitors also goes in PUBLIC_ENDPOINTS). A
case that today's code gets wrong goes in `xfail={role: "issue 13 item N: why"}` (strict: the
merger sees it flip when the fix lands).
"""
from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest
from flask import url_for
from openpyxl import Workbook
from sqlalchemy import select

from engine.core import clock, commands
from tests.conftest import empty_tables

from .world import OWNER, PASSWORD, ROLES, SIMPLE_BPMN, SIMPLE_FORM, World, build, fingerprint

OK, LOGIN, DENY, HIDE, NO, NOTHING = "ok", "login", "403", "404", "403/404", "nothing changes"
SIGNED_IN = ROLES[1:]
WRITES = ("POST", "PUT", "DELETE", "PATCH")
# served to everyone by design; listed so that a new public route is a decision, not an accident
PUBLIC_ENDPOINTS = ("home.healthz", "monitoring.readyz", "monitoring.metrics", "static", "assets.asset", "assets.favicon", "api.openapi_json", "api.issue_token",
                    "auth.login", "auth.logout", "auth.language", "sso.login", "sso.callback")


def allow(*roles: str, refused: str = DENY, **special: str) -> dict[str, str]:
    """`roles` reach the route, the other signed-in roles get `refused`; `special` overrides."""
    unknown = set(roles) - set(ROLES)
    assert not unknown, unknown
    return {r: (OK if r in roles else refused) for r in SIGNED_IN} | special


EVERYONE = allow(*SIGNED_IN)
PUBLIC = allow(*SIGNED_IN, anonymous=OK)
SUPERVISORS = allow("supervisor", "admin")
DESIGNERS = allow("designer", "admin")
ADMINS = allow("admin")
NOBODY = allow()
# who has a part in the owner's project in scoring: the owner, the panel, the formal reviewer
PARTIES = allow("owner", "expert", "staff", "supervisor", "admin")


@dataclass(frozen=True)
class Rule:
    endpoint: str
    method: str
    expect: dict[str, str]
    args: Callable[[World], dict[str, Any]] = lambda w: {}
    body: Callable[[World, str], Any] | None = None  # form fields (pages) or JSON (API); (world, role)
    allowed_body: Callable[[World], Any] | None = None  # what allowed roles send instead
    fresh: Callable[[World], dict[str, Any]] | None = None  # URL arguments for allowed roles
    ok: tuple[int, ...] = ()
    must_change: bool = False
    multipart: bool = False
    own_session: bool = False  # signs in anew (the request ends or replaces the session)
    case: str = ""
    xfail: dict[str, str] = field(default_factory=dict)

    @property
    def api(self) -> bool:
        return self.endpoint.startswith("api.")

    @property
    def name(self) -> str:
        return f"{self.method} {self.endpoint}" + (f" [{self.case}]" if self.case else "")


def _scores(w: World, role: str) -> dict[str, Any]:
    return {"innovation": 10, "feasibility": 10, "team_capability": 5, "budget_reasonableness": 5,
            "expected_benefits": 5, "expert_opinion": "x"}


def _formal_review(w: World, role: str) -> dict[str, Any]:
    return {"decision": "accept", "review_comment": "ok", "checks_passed": ["complete"]}


def _other_expert_id(w: World) -> int:
    from engine.lifecycle import expert_pool
    return commands.query(w.db, lambda s: s.scalar(select(expert_pool.Expert.id).where(
        expert_pool.Expert.username == w.other_expert)))


def _other_experts_draw(w: World) -> int:
    from engine.lifecycle import expert_pool
    expert_id = _other_expert_id(w)
    return commands.query(w.db, lambda s: s.scalar(select(expert_pool.DrawMember.draw_id).where(
        expert_pool.DrawMember.expert_id == expert_id)))


def _simple_files(w: World, role: str) -> dict[str, Any]:
    return {"files": [(io.BytesIO(SIMPLE_BPMN.encode()), "simple_review.bpmn"),
                      (io.BytesIO(SIMPLE_FORM.encode()), "simple_decision.form")]}


def _users_workbook() -> bytes:
    """An import that would create an admin (engine/core/user_import.py)."""
    book = Workbook()
    book.active.append(["username", "display_name", "email", "groups", "password"])
    book.active.append(["matrix.imported", "", "", "admins", PASSWORD])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _soon(days: int) -> str:
    return (clock.now().date() + timedelta(days=days)).isoformat()


SCORING = lambda w: {"instance_id": w.scoring}  # noqa: E731
OTHER_EXPERT = lambda w: {"expert_id": _other_expert_id(w)}  # noqa: E731
POOL_READERS = allow("staff", "supervisor", "admin")
OTHERS_TASK = lambda w: {"task_id": w.others_scoring_task}  # noqa: E731
GROUP_TASK = lambda w: {"task_id": w.group_task}  # noqa: E731
CLAIMED_TASK = lambda w: {"task_id": w.claimed_task}  # noqa: E731
DRAFT = lambda w: {"draft_id": w.process_draft}  # noqa: E731
DRAFT_FILE = lambda w: {"draft_id": w.process_draft, "filename": "simple_review.bpmn"}  # noqa: E731
FRESH_GROUP_TASK = lambda w: {"task_id": w.fresh_group_task()}  # noqa: E731
FRESH_CLAIMED_TASK = lambda w: {"task_id": w.fresh_claimed_task()}  # noqa: E731
FRESH_DRAFT = lambda w: {"draft_id": w.fresh_process_draft()}  # noqa: E731
LIFECYCLE = {"key": "project_lifecycle"}
EMPTY = lambda w: {}  # noqa: E731
REASON = lambda w, role: {"reason": "matrix"}  # noqa: E731
OWN_DIRECT_TASK = lambda w: {"task_id": w.my_scoring_task}  # noqa: E731
APPLICANT_USER = lambda w: {"username": w.names["applicant"]}  # noqa: E731
BYSTANDER = lambda w: {"username": w.fresh_user()}  # noqa: E731
NO_EXTERNAL_TASK = lambda w: {"task_id": "00000000-0000-0000-0000-000000000000"}  # noqa: E731
CALL_READERS = allow("staff", "supervisor", "admin")
CALL_MANAGERS = allow("staff")
OPEN_CALL = lambda w: {"key": w.call_open}  # noqa: E731
DRAFT_CALL = lambda w: {"key": w.call_draft}  # noqa: E731
RULES: list[Rule] = [
    # ---- public ---------------------------------------------------------------------------------
    Rule("home.index", "GET", EVERYONE),  # anonymous: to the sign-in page
    Rule("home.healthz", "GET", PUBLIC),
    Rule("monitoring.readyz", "GET", PUBLIC),
    Rule("monitoring.metrics", "GET", PUBLIC),
    Rule("static", "GET", PUBLIC, args=lambda w: {"filename": "css/app.css"}),
    Rule("assets.asset", "GET", PUBLIC, args=lambda w: {"name": "htmx.min.js"}),
    Rule("assets.favicon", "GET", PUBLIC),
    Rule("api.openapi_json", "GET", PUBLIC),
    Rule("api.issue_token", "POST", PUBLIC,
         body=lambda w, role: {"username": w.names.get(role, "visitor"), "password": PASSWORD}),
    Rule("auth.login", "GET", PUBLIC),
    Rule("auth.login", "POST", PUBLIC, own_session=True,
         body=lambda w, role: {"username": w.names.get(role, "visitor"), "password": PASSWORD}),
    Rule("auth.logout", "POST", PUBLIC, own_session=True, body=lambda w, role: {}),
    Rule("auth.language", "POST", PUBLIC, body=lambda w, role: {"lang": "zh_CN", "next": "/"}),
    # single sign-on is how one signs in, so open to all (here, unconfigured: back to /login)
    Rule("sso.login", "GET", PUBLIC),
    Rule("sso.callback", "GET", PUBLIC),

    # ---- API: definitions, instances, tasks ------------------------------------------------------
    Rule("api.list_definitions", "GET", EVERYONE),
    Rule("api.deploy_definitions", "POST", DESIGNERS, body=_simple_files, multipart=True),
    Rule("api.start_instance", "POST", allow("applicant", "owner"),
         body=lambda w, role: {"process_key": "project_lifecycle", "data": w.application()}),
    Rule("api.get_instance", "GET", PARTIES, args=SCORING),
    Rule("api.instance_audit", "GET", SUPERVISORS, args=SCORING),
    Rule("api.instance_data_history", "GET", SUPERVISORS, args=SCORING),
    Rule("api.instance_diagram", "GET", SUPERVISORS, args=SCORING),
    Rule("api.instance_path", "GET", SUPERVISORS, args=SCORING),
    *[Rule(f"api.{action}_instance", "POST", SUPERVISORS, args=SCORING, body=REASON, allowed_body=EMPTY, ok=(422,))
      for action in ("suspend", "resume", "terminate", "retry")],
    Rule("api.list_tasks", "GET", EVERYONE),
    Rule("api.get_task", "GET", SUPERVISORS, args=OTHERS_TASK, case="another expert's scoring"),
    Rule("api.get_task", "GET", allow("staff", "supervisor", "admin"), args=GROUP_TASK, case="a group's task"),
    Rule("api.task_escalations", "GET", SUPERVISORS, args=OTHERS_TASK),
    Rule("api.claim_task", "POST", allow("staff"), args=GROUP_TASK, fresh=FRESH_GROUP_TASK),
    Rule("api.unclaim_task", "POST", SUPERVISORS, args=CLAIMED_TASK, fresh=FRESH_CLAIMED_TASK,
         case="a colleague's claimed task"),
    Rule("api.unclaim_task", "POST", allow(refused="403/409"), args=OWN_DIRECT_TASK,
         case="the expert's own directly assigned task"),
    Rule("api.assign_task", "POST", SUPERVISORS, args=OTHERS_TASK,
         body=lambda w, role: {"assignee": w.names["applicant"]}, allowed_body=lambda w: {"assignee": ""}, ok=(422,)),
    Rule("api.complete_task", "POST", NOBODY, args=OTHERS_TASK, case="another expert's scoring",
         body=lambda w, role: {"data": _scores(w, role)}),
    Rule("api.complete_task", "POST", allow("staff"), args=GROUP_TASK, case="a group's task",
         body=lambda w, role: {"data": _formal_review(w, role)}, allowed_body=lambda w: {"data": {}}, ok=(422,)),

    # ---- API: notifications ----------------------------------------------------------------------
    Rule("api.list_notifications", "GET", EVERYONE),
    Rule("api.unread_notifications", "GET", EVERYONE),
    Rule("api.read_notification", "POST", allow("owner", refused=HIDE),
         args=lambda w: {"notification_id": w.notification}, body=lambda w, role: {}),
    Rule("api.read_all_notifications", "POST", allow("owner", refused=NOTHING),
         body=lambda w, role: {"ids": [w.notification]}),

    # ---- API: supervisor console -----------------------------------------------------------------
    Rule("api.overdue_tasks", "GET", SUPERVISORS),
    Rule("api.stuck_instances", "GET", SUPERVISORS),
    Rule("api.attention_list", "GET", SUPERVISORS),
    Rule("api.attention_export", "GET", SUPERVISORS, args=lambda w: {"format": "csv"}),
    Rule("api.dashboard_figures", "GET", SUPERVISORS),
    Rule("api.heatmap", "GET", SUPERVISORS, args=lambda w: {"process_key": "project_lifecycle"}),
    Rule("api.archive_search", "GET", SUPERVISORS),
    Rule("api.archive_plan", "GET", SUPERVISORS),
    Rule("api.archive_record", "GET", SUPERVISORS, args=lambda w: {"archive_id": w.archived}),
    Rule("api.retry_form", "GET", SUPERVISORS, args=SCORING, ok=(409,)),
    Rule("api.checked_retry", "POST", SUPERVISORS, args=SCORING, body=lambda w, role: {"data": {}, "reason": "x"},
         allowed_body=EMPTY, ok=(422,)),
    Rule("api.reassign_task", "POST", SUPERVISORS, args=OTHERS_TASK,
         body=lambda w, role: {"assignee": w.names["applicant"], "reason": "x"}, allowed_body=EMPTY, ok=(422,)),
    Rule("api.skip_task", "POST", SUPERVISORS, args=OTHERS_TASK,
         body=lambda w, role: {"data": _scores(w, role), "reason": "x"}, allowed_body=EMPTY, ok=(422,)),
    Rule("api.bulk_preview", "POST", SUPERVISORS,
         body=lambda w, role: {"action": "suspend", "reason": "x", "selection": {"ids": [w.scoring]}}),
    Rule("api.bulk_run", "POST", SUPERVISORS,
         body=lambda w, role: {"action": "terminate", "reason": "x", "selection": {"ids": [w.scoring]}},
         allowed_body=lambda w: {"action": "terminate", "reason": "", "selection": {"ids": [w.scoring]}}, ok=(422,)),

    # ---- API: designer ---------------------------------------------------------------------------
    Rule("api.designer_processes", "GET", DESIGNERS),
    Rule("api.designer_compare", "GET", DESIGNERS, args=lambda w: LIFECYCLE | {"from": 1, "to": 1}),
    Rule("api.designer_version_file", "GET", DESIGNERS,
         args=lambda w: LIFECYCLE | {"version": 1, "filename": "project_lifecycle.bpmn"}),
    Rule("api.designer_migration_preview", "POST", DESIGNERS, args=lambda w: LIFECYCLE,
         body=lambda w, role: {"to_version": 1, "instance_ids": [w.scoring]}),
    Rule("api.designer_migrate", "POST", DESIGNERS, args=lambda w: LIFECYCLE,
         body=lambda w, role: {"to_version": 1, "instance_ids": [w.scoring], "reason": "x"},
         allowed_body=lambda w: {"to_version": 1, "instance_ids": [w.scoring]}, ok=(422,)),
    Rule("api.designer_drafts", "GET", DESIGNERS),
    Rule("api.designer_create_draft", "POST", DESIGNERS, body=lambda w, role: {"name": "matrix", "files": {}}),
    Rule("api.designer_draft", "GET", DESIGNERS, args=DRAFT),
    Rule("api.designer_delete_draft", "DELETE", DESIGNERS, args=DRAFT, fresh=FRESH_DRAFT),
    Rule("api.designer_draft_file", "GET", DESIGNERS, args=DRAFT_FILE),
    Rule("api.designer_save_file", "PUT", DESIGNERS, args=DRAFT_FILE, fresh=lambda w: FRESH_DRAFT(w) | {
        "filename": "simple_review.bpmn"}, body=lambda w, role: {"content": SIMPLE_BPMN.replace("Review", "Look")}),
    Rule("api.designer_remove_file", "DELETE", DESIGNERS, args=DRAFT_FILE,
         fresh=lambda w: FRESH_DRAFT(w) | {"filename": "simple_review.bpmn"}),
    Rule("api.designer_upload_files", "POST", DESIGNERS, args=DRAFT, fresh=FRESH_DRAFT, body=_simple_files,
         multipart=True),
    Rule("api.designer_validate", "POST", DESIGNERS, args=DRAFT, body=lambda w, role: {}),
    Rule("api.designer_deploy", "POST", DESIGNERS, args=DRAFT, fresh=FRESH_DRAFT, body=lambda w, role: {}),
    Rule("api.designer_start_trial", "POST", DESIGNERS, args=DRAFT, body=lambda w, role: {"data": {}}),
    Rule("api.designer_trial", "GET", DESIGNERS, args=lambda w: {"trial_id": w.trial}),
    Rule("api.designer_trial_complete", "POST", DESIGNERS,
         args=lambda w: {"trial_id": w.trial, "task_id": w.trial_task},
         fresh=lambda w: dict(zip(("trial_id", "task_id"), w.fresh_trial())),
         body=lambda w, role: {"data": {"decision": "reject"}, "as_role": "experts"}),

    # ---- pages: applicants, instances, files -----------------------------------------------------
    Rule("applicant.applications", "GET", EVERYONE),
    Rule("applicant.new", "GET", allow("applicant", "owner"), args=lambda w: {"process_key": "project_lifecycle"},
         case="the start form"),
    Rule("applicant.new", "GET", allow("owner"), case="the owner's draft",
         args=lambda w: {"process_key": "project_lifecycle", "draft": w.application_draft}),
    Rule("applicant.submit", "POST", allow("applicant", "owner"), args=lambda w: {"process_key": "project_lifecycle"},
         case="an empty application", body=lambda w, role: {}, ok=(422,)),
    Rule("applicant.submit", "POST", allow("owner"), args=lambda w: {"process_key": "project_lifecycle"},
         case="saved over the owner's draft",
         body=lambda w, role: {"action": "save_draft", "draft_id": w.application_draft, "title": f"by {role}"}),
    Rule("applicant.request_registration", "POST", EVERYONE, must_change=True,
         body=lambda w, role: {"name": f"待注册单位 {role}", "process_key": "project_lifecycle"}),
    Rule("applicant.delete_draft", "POST", allow("owner"), args=lambda w: {"draft_id": w.application_draft},
         fresh=lambda w: {"draft_id": w.fresh_application_draft()}, body=lambda w, role: {}),
    Rule("instance_pages.show", "GET", PARTIES, args=SCORING),
    Rule("instance_pages.diagram", "GET", PARTIES, args=SCORING),
    # a call's batch documents: the bureau's papers for its staff; the notice also for the batch's applicants
    Rule("batch_pages.document", "GET", allow("staff", "supervisor", "admin"),
         args=lambda w: {"instance_id": w.batch, "kind": "ranked_list", "fmt": "pdf"}, case="the ranked list"),
    Rule("batch_pages.document", "GET", allow("owner", "staff", "supervisor", "admin"),
         args=lambda w: {"instance_id": w.batch, "kind": "public_notice", "fmt": "xlsx"}, case="the public notice"),
    # the project's documents: its parties and staff, not the experts; a project in scoring has
    # neither a contract nor funds to recover yet (404 once allowed)
    Rule("instance_pages.contract_pdf", "GET", allow("owner", "staff", "supervisor", "admin"), args=SCORING, ok=(404,)),
    Rule("instance_pages.recovery_notice_pdf", "GET", allow("owner", "staff", "supervisor", "admin"), args=SCORING,
         ok=(404,)),
    Rule("instance_pages.certificate_pdf", "GET", allow("owner", "staff", "supervisor", "admin"), args=SCORING,
         ok=(404,)),
    Rule("registers.index", "GET", allow("staff", "supervisor", "admin")),
    Rule("registers.projects_xlsx", "GET", allow("staff", "supervisor", "admin")),
    Rule("registers.ledger_xlsx", "GET", allow("staff", "supervisor", "admin")),
    Rule("files.download", "GET", PARTIES, args=lambda w: {"attachment_id": w.owners_file}, case="the owner's file"),
    Rule("files.download", "GET", allow("staff", "supervisor", "admin", refused=NO),
         args=lambda w: {"attachment_id": w.internal_file}, case="another expert's internal file"),
    Rule("files.upload", "POST", allow("owner", "supervisor", "admin", refused=NOTHING), args=SCORING,
         must_change=True, body=lambda w, role: {"file": (io.BytesIO(b"%PDF-1.4 x"), "more.pdf")}, multipart=True),
    Rule("files.remove", "POST", allow("owner", "supervisor", "admin"),
         args=lambda w: {"attachment_id": w.owners_file},
         fresh=lambda w: {"attachment_id": w.fresh_attachment()}, body=lambda w, role: {}),

    # ---- pages: inbox and tasks ------------------------------------------------------------------
    Rule("inbox.index", "GET", EVERYONE, case="my inbox"),
    Rule("inbox.index", "GET", allow("owner"), args=lambda w: {"saved": w.saved_filter}, case="the owner's filter"),
    Rule("inbox.poll", "GET", EVERYONE),
    Rule("inbox.save_filter", "POST", EVERYONE, must_change=True, body=lambda w, role: {"name": "matrix"}),
    Rule("inbox.delete_filter", "POST", allow("owner"), args=lambda w: {"filter_id": w.saved_filter},
         fresh=lambda w: {"filter_id": w.fresh_saved_filter()}, body=lambda w, role: {}),
    Rule("inbox.bulk", "POST", allow("staff", refused=NOTHING), case="claim a group's task", must_change=True,
         body=lambda w, role: {"action": "claim",
                               "task_ids": w.group_task if role != "staff" else w.fresh_group_task()}),
    Rule("inbox.bulk", "POST", allow("supervisor", "admin", refused=NOTHING), case="release a colleague's task",
         must_change=True, body=lambda w, role: {
             "action": "release",
             "task_ids": w.fresh_claimed_task() if role in ("supervisor", "admin") else w.claimed_task}),
    Rule("task_pages.show", "GET", SUPERVISORS, args=OTHERS_TASK, case="another expert's scoring"),
    Rule("task_pages.show", "GET", allow("staff", "supervisor", "admin"), args=GROUP_TASK, case="a group's task"),
    Rule("task_pages.claim", "POST", allow("staff"), args=GROUP_TASK, fresh=FRESH_GROUP_TASK, body=lambda w, role: {}),
    Rule("task_pages.unclaim", "POST", SUPERVISORS, args=CLAIMED_TASK, fresh=FRESH_CLAIMED_TASK,
         body=lambda w, role: {}, case="a colleague's claimed task"),
    Rule("task_pages.unclaim", "POST", allow(refused="403/409"), body=lambda w, role: {},
         args=lambda w: {"task_id": w.my_second_task},
         case="the expert's own directly assigned task"),
    # a refused take-over is the button's message on the inbox, and the task stays with its holder
    Rule("task_pages.take_over", "POST", allow(refused=NOTHING), args=OTHERS_TASK, body=lambda w, role: {},
         case="nobody covers its holder"),
    Rule("task_pages.take_over", "POST", allow(refused=NOTHING), args=lambda w: {"task_id": w.covered_task},
         body=lambda w, role: {}, case="the applicant named substitute on their own project"),
    Rule("task_pages.complete", "POST", NOBODY, args=OTHERS_TASK, case="another expert's scoring", body=_scores),
    Rule("task_pages.complete", "POST", allow("staff"), args=GROUP_TASK, case="a group's task",
         body=_formal_review, allowed_body=lambda w: {}, ok=(422,)),
    Rule("task_pages.add_comment", "POST", SUPERVISORS, args=OTHERS_TASK, must_change=True,
         body=lambda w, role: {"body": f"a note by {role}"}),
    Rule("task_pages.set_follow_up", "POST", SUPERVISORS, args=OTHERS_TASK, must_change=True,
         body=lambda w, role: {"follow_up_on": _soon(3)}),

    # ---- pages: account --------------------------------------------------------------------------
    Rule("account.substitutes", "GET", EVERYONE),
    # the notification centre: one's own notifications; someone else's is as good as absent
    Rule("notification_pages.index", "GET", EVERYONE),
    Rule("notification_pages.bell", "GET", EVERYONE),
    Rule("notification_pages.open_one", "GET", allow("owner", refused=HIDE),
         args=lambda w: {"notification_id": w.notification}),
    Rule("notification_pages.read_one", "POST", allow("owner", refused=HIDE),
         args=lambda w: {"notification_id": w.notification}, body=lambda w, role: {}),
    Rule("notification_pages.read_all", "POST", EVERYONE, body=lambda w, role: {}),
    # one's own password only (there is no user argument); a wrong current password is a 422
    Rule("account.password", "GET", EVERYONE),
    Rule("account.change_password", "POST", EVERYONE, ok=(422,),
         body=lambda w, role: {"current_password": "not-the-password", "new_password": "a-long-new-passphrase",
                               "repeat_password": "a-long-new-passphrase"}),
    Rule("account.name_substitute", "POST", allow("owner", "supervisor", "admin"), ok=(422,),
         body=lambda w, role: {"username": OWNER, "substitute": w.names.get(role, "visitor"), "starts_on": _soon(1),
                               "ends_on": _soon(5), "reason": "take over the owner's work"},
         allowed_body=lambda w: {"username": OWNER, "substitute": w.names["applicant"], "starts_on": "",
                                 "ends_on": ""}),
    Rule("account.revoke", "POST", allow("owner", "supervisor", "admin"),
         args=lambda w: {"substitution_id": w.substitution},
         fresh=lambda w: {"substitution_id": w.fresh_substitution()}, body=lambda w, role: {}),

    # ---- pages: supervisor console ---------------------------------------------------------------
    Rule("supervisor.index", "GET", SUPERVISORS),
    Rule("supervisor.attention_page", "GET", SUPERVISORS),
    Rule("supervisor.attention_export", "GET", SUPERVISORS, args=lambda w: {"fmt": "csv"}),
    Rule("supervisor.dashboard_page", "GET", SUPERVISORS),
    Rule("supervisor.heatmap_page", "GET", SUPERVISORS),
    Rule("supervisor.archive_page", "GET", SUPERVISORS),
    Rule("supervisor.archived_page", "GET", SUPERVISORS, args=lambda w: {"archive_id": w.archived}),
    Rule("supervisor.instance_page", "GET", SUPERVISORS, args=SCORING),
    Rule("supervisor.instance_action", "POST", SUPERVISORS, args=lambda w: SCORING(w) | {"action": "terminate"},
         body=REASON, allowed_body=lambda w: {"reason": ""}, ok=(422,)),
    Rule("supervisor.retry", "POST", SUPERVISORS, args=SCORING, body=lambda w, role: {"reason": "x", "data_json": "{}"},
         allowed_body=lambda w: {"reason": ""}, ok=(409, 422)),
    Rule("supervisor.reassign", "POST", SUPERVISORS, args=OTHERS_TASK,
         body=lambda w, role: {"assignee": w.names["applicant"], "reason": "x"},
         allowed_body=lambda w: {"assignee": "", "reason": ""}, ok=(422,)),
    Rule("supervisor.skip", "POST", SUPERVISORS, args=OTHERS_TASK,
         body=lambda w, role: _scores(w, role) | {"reason": "x"},
         allowed_body=lambda w: {"reason": ""}, ok=(422,)),
    Rule("supervisor.bulk_preview", "POST", SUPERVISORS,
         body=lambda w, role: {"action": "suspend", "reason": "x", "ids": str(w.scoring)}),
    Rule("supervisor.bulk_run", "POST", SUPERVISORS,
         body=lambda w, role: {"action": "terminate", "reason": "x", "ids": str(w.scoring)},
         allowed_body=lambda w: {"action": "terminate", "reason": "", "ids": str(w.scoring)}, ok=(422,)),

    # ---- pages: designer -------------------------------------------------------------------------
    Rule("designer.index", "GET", DESIGNERS),
    Rule("designer.create_draft", "POST", DESIGNERS, body=lambda w, role: {"name": "matrix"}),
    Rule("designer.draft_page", "GET", DESIGNERS, args=DRAFT),
    Rule("designer.editor", "GET", DESIGNERS, args=DRAFT_FILE),
    Rule("designer.download", "GET", DESIGNERS, args=DRAFT_FILE),
    Rule("designer.upload", "POST", DESIGNERS, args=DRAFT, fresh=FRESH_DRAFT, body=_simple_files, multipart=True),
    Rule("designer.new_decision", "POST", DESIGNERS, args=DRAFT, fresh=FRESH_DRAFT,
         body=lambda w, role: {"decision_id": "matrix_table", "name": "matrix"}),
    Rule("designer.save", "POST", DESIGNERS, args=DRAFT_FILE,
         fresh=lambda w: FRESH_DRAFT(w) | {"filename": "simple_review.bpmn"},
         body=lambda w, role: {"content": SIMPLE_BPMN.replace("Review", "Look")}),
    Rule("designer.remove_file", "POST", DESIGNERS, args=DRAFT_FILE,
         fresh=lambda w: FRESH_DRAFT(w) | {"filename": "simple_review.bpmn"}, body=lambda w, role: {}),
    Rule("designer.delete_draft", "POST", DESIGNERS, args=DRAFT, fresh=FRESH_DRAFT, body=lambda w, role: {}),
    Rule("designer.validate", "POST", DESIGNERS, args=DRAFT, body=lambda w, role: {}),
    Rule("designer.deploy", "POST", DESIGNERS, args=DRAFT, fresh=FRESH_DRAFT, body=lambda w, role: {}),
    Rule("designer.form_preview", "POST", DESIGNERS, body=lambda w, role: {"schema": SIMPLE_FORM}),
    Rule("designer.new_trial", "GET", DESIGNERS, args=DRAFT),
    Rule("designer.start_trial", "POST", DESIGNERS, args=DRAFT, body=lambda w, role: {}),
    Rule("designer.trial_page", "GET", DESIGNERS, args=lambda w: {"trial_id": w.trial}),
    Rule("designer.trial_complete", "POST", DESIGNERS, args=lambda w: {"trial_id": w.trial, "task_id": w.trial_task},
         fresh=lambda w: dict(zip(("trial_id", "task_id"), w.fresh_trial())),
         body=lambda w, role: {"decision": "reject", "as_role": "experts"}),
    Rule("designer.compare", "GET", DESIGNERS, args=lambda w: LIFECYCLE),
    Rule("designer.migrate", "GET", DESIGNERS, args=lambda w: LIFECYCLE),
    Rule("designer.migrate", "POST", DESIGNERS, args=lambda w: LIFECYCLE,
         body=lambda w, role: {"reason": "x", "ids": str(w.scoring), "to": 1},
         allowed_body=lambda w: {"reason": "", "ids": str(w.scoring), "to": 1}, ok=(422,)),
    Rule("designer.download_deployed", "GET", DESIGNERS,
         args=lambda w: LIFECYCLE | {"version": 1, "filename": "project_lifecycle.bpmn"}),
    # ---- other systems (issue 18): nothing waits in the world, so allowed calls find nothing --
    Rule("api.send_message", "POST", allow("admin", "integration"), ok=(404,),
         body=lambda w, role: {"name": "matrix_message", "data": {"x": 1}}),
    Rule("api.send_signal", "POST", allow("admin", "integration"),
         body=lambda w, role: {"name": "matrix_signal"}),
    Rule("api.fetch_and_lock", "POST", allow("integration"),
         body=lambda w, role: {"worker_id": "m", "max_tasks": 1,
                               "topics": [{"name": "matrix", "lock_duration": 1000}]}),
    *[Rule(f"api.{endpoint}", "POST", allow("integration"), ok=(404,), args=NO_EXTERNAL_TASK, body=body)
      for endpoint, body in (
          ("complete_external_task", lambda w, role: {"worker_id": "m"}),
          ("fail_external_task", lambda w, role: {"worker_id": "m", "error_message": "x", "retries": 0,
                                                  "retry_timeout": 0}),
          ("external_task_bpmn_error", lambda w, role: {"worker_id": "m", "error_code": "E"}))],
    Rule("api.retry_external_task", "POST", SUPERVISORS, ok=(404,), args=NO_EXTERNAL_TASK, body=REASON),
    Rule("supervisor.retry_external_task", "POST", SUPERVISORS, ok=(404,), args=NO_EXTERNAL_TASK,
         body=lambda w, role: {"retries": "1", "reason": "matrix"}),

    # ---- user administration (issue 19): admins only; allowed changes act on a fresh bystander --
    Rule("admin.index", "GET", ADMINS),
    Rule("admin.new_user", "GET", ADMINS),
    Rule("admin.create_user", "POST", ADMINS,
         body=lambda w, role: {"username": "matrix.new", "password": PASSWORD, "groups": ["admins"]}),
    Rule("admin.user_page", "GET", ADMINS, args=APPLICANT_USER),
    Rule("admin.set_active", "POST", ADMINS, args=APPLICANT_USER, fresh=BYSTANDER,
         body=lambda w, role: {"active": "false"}),
    Rule("admin.reset_password", "POST", ADMINS, args=APPLICANT_USER, fresh=BYSTANDER,
         body=lambda w, role: {"password": PASSWORD + "x", "reason": "matrix"}),
    Rule("admin.set_groups", "POST", ADMINS, args=APPLICANT_USER, fresh=BYSTANDER,
         body=lambda w, role: {"groups": ["admins"]}),
    Rule("admin.issue_token", "POST", ADMINS, args=lambda w: {"username": w.names["integration"]}, fresh=BYSTANDER,
         body=lambda w, role: {"name": "matrix", "expires_on": _soon(30)}),
    Rule("admin.revoke_token", "POST", ADMINS, args=lambda w: w.fresh_token(), body=lambda w, role: {}),
    Rule("admin.import_page", "GET", ADMINS),
    # ---- the expert pool (issue 16): institution staff, supervisors and admins see; staff rate --------
    Rule("experts.index", "GET", POOL_READERS),
    Rule("experts.expert_page", "GET", POOL_READERS, args=OTHER_EXPERT),
    Rule("experts.rate", "POST", allow("staff"), args=OTHER_EXPERT,
         body=lambda w, role: {"draw_id": _other_experts_draw(w), "timeliness": 1, "quality": 1},
         allowed_body=lambda w: {"draw_id": _other_experts_draw(w), "timeliness": 9, "quality": 1}, ok=(422,)),
    Rule("admin.import_template", "GET", ADMINS),
    Rule("admin.import_preview", "POST", ADMINS, multipart=True,
         body=lambda w, role: {"file": (io.BytesIO(_users_workbook()), "users.xlsx")}),
    Rule("admin.import_confirm", "POST", ADMINS,
         body=lambda w, role: {"content": base64.b64encode(_users_workbook()).decode()}),
    Rule("api.admin_list_users", "GET", ADMINS),
    Rule("api.admin_create_user", "POST", ADMINS,
         body=lambda w, role: {"username": "matrix.api", "password": PASSWORD, "groups": ["applicants"]}),
    Rule("api.admin_reset_password", "POST", ADMINS, args=APPLICANT_USER, fresh=BYSTANDER,
         body=lambda w, role: {"password": PASSWORD + "y", "reason": "matrix"}),
    Rule("api.admin_set_groups", "PUT", ADMINS, args=APPLICANT_USER, fresh=BYSTANDER,
         body=lambda w, role: {"groups": ["applicants"]}),
    Rule("api.admin_deactivate_user", "POST", ADMINS, args=APPLICANT_USER, fresh=BYSTANDER, body=lambda w, role: {}),
    Rule("api.admin_reactivate_user", "POST", ADMINS, args=APPLICANT_USER, body=lambda w, role: {}),
    Rule("api.admin_user_tokens", "GET", ADMINS, args=lambda w: {"username": w.names["integration"]}),
    Rule("api.admin_revoke_token", "DELETE", ADMINS, args=lambda w: w.fresh_token()),
    Rule("api.admin_issue_token", "POST", ADMINS, args=lambda w: {"username": w.names["integration"]}, fresh=BYSTANDER,
         body=lambda w, role: {"name": "matrix", "expires_on": _soon(30)}),
    # observability (issue 19): the schedulers' heartbeats are the supervisors' to watch
    Rule("api.schedulers", "GET", SUPERVISORS),
    # calls for proposals (issue 16): staff, supervisors and admins read; institution staff manage
    Rule("calls.index", "GET", CALL_READERS),
    Rule("calls.open_list", "GET", EVERYONE),
    Rule("calls.show", "GET", CALL_READERS, args=OPEN_CALL),
    Rule("calls.new", "GET", CALL_MANAGERS),
    Rule("calls.create", "POST", CALL_MANAGERS, must_change=True,
         body=lambda w, role: {"key": f"M-new-{role}", "title": f"新指南 {role}", "year": "2026"}),
    Rule("calls.edit", "GET", CALL_MANAGERS, args=DRAFT_CALL),
    Rule("calls.update", "POST", CALL_MANAGERS, args=DRAFT_CALL, body=lambda w, role: {"title": f"改名 {role}", "year": "2026"}),
    Rule("calls.publish", "POST", CALL_MANAGERS, args=DRAFT_CALL, fresh=lambda w: {"key": w.fresh_call()},
         body=lambda w, role: {}, must_change=True),
    Rule("calls.extend", "POST", CALL_MANAGERS, args=OPEN_CALL, fresh=lambda w: {"key": w.fresh_call(publish=True)},
         body=lambda w, role: {"closes_at": _soon(60) + "T17:00", "reason": "matrix"}, must_change=True),
    Rule("calls.close", "POST", CALL_MANAGERS, args=OPEN_CALL, fresh=lambda w: {"key": w.fresh_call(publish=True)},
         body=lambda w, role: {}, must_change=True),
    Rule("applicant.new_under_call", "GET", allow("applicant", "owner"), args=OPEN_CALL),
    Rule("applicant.submit_under_call", "POST", allow("applicant", "owner"), args=OPEN_CALL,
         case="an empty application", body=lambda w, role: {}, ok=(422,)),
    Rule("api.list_calls", "GET", CALL_READERS),
    Rule("api.get_call", "GET", CALL_READERS, args=OPEN_CALL),
    Rule("api.create_call", "POST", CALL_MANAGERS, body=lambda w, role: {"key": f"M-api-{role}", "title": f"接口指南 {role}", "year": 2026}),
    Rule("api.publish_call", "POST", CALL_MANAGERS, args=DRAFT_CALL, fresh=lambda w: {"key": w.fresh_call()},
         body=lambda w, role: {}),
    Rule("api.extend_call", "POST", CALL_MANAGERS, args=OPEN_CALL, fresh=lambda w: {"key": w.fresh_call(publish=True)},
         body=lambda w, role: {"closes_at": _soon(60) + "T17:00:00+08:00", "reason": "matrix"}),
    Rule("api.close_call", "POST", CALL_MANAGERS, args=OPEN_CALL, fresh=lambda w: {"key": w.fresh_call(publish=True)},
         body=lambda w, role: {}),
]


def _expected(rule: Rule, role: str) -> str:
    if role == "anonymous":
        return rule.expect.get("anonymous", LOGIN)
    return rule.expect[role]


def _cases() -> list[Any]:
    cases = []
    for rule in RULES:
        for role in ROLES:
            marks = [pytest.mark.xfail(strict=True, reason=rule.xfail[role])] if role in rule.xfail else []
            cases.append(pytest.param(rule, role, marks=marks, id=f"{rule.name}-{role}"))
    return cases


# ---- the world and the people, once for the module ------------------------------------------------
@pytest.fixture(autouse=True)
def _empty_database():  # type: ignore[no-untyped-def]
    """Overrides the suite's emptying before each test: this module's tests share one world."""
    yield


@pytest.fixture(scope="module")
def world(app, db, tmp_path_factory):  # type: ignore[no-untyped-def]
    saved = {k: app.config.get(k) for k in ("ATTACHMENT_DIR", "ARCHIVE_DIR")}
    storage, archived = tmp_path_factory.mktemp("matrix-files"), tmp_path_factory.mktemp("matrix-archive")
    app.config.update(ATTACHMENT_DIR=str(storage), ARCHIVE_DIR=str(archived))
    empty_tables(db)
    yield build(db, storage, archived)
    empty_tables(db)
    app.config.update(saved)


class Caller:
    """One role's browser (session cookie, CSRF token) and API token, from an address of its own
    (a sign-in throttle keyed by address then sees each role apart)."""

    def __init__(self, app: Any, role: str, number: int) -> None:
        self.app, self.role, self.address = app, role, f"192.0.2.{number + 10}"
        self.page = self._client()
        self.token = ""
        self.csrf = ""

    def _client(self) -> Any:
        client = self.app.test_client()
        client.environ_base["REMOTE_ADDR"] = self.address
        return client

    def sign_in(self, username: str | None, client: Any | None = None) -> tuple[Any, str]:
        """Signs `client` (default: a new one) in on the pages; returns it with its CSRF token."""
        client = client or self._client()
        token = _csrf(client.get("/login").get_data(as_text=True))
        if username is None:
            return client, token
        response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
        assert response.status_code == 302 and "/login" not in response.headers["Location"], response.status_code
        # the token belongs to the session, which sign-in renews
        return client, _csrf(client.get("/account/substitutes").get_data(as_text=True))


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture(scope="module")
def callers(app, world):  # type: ignore[no-untyped-def]
    found = {}
    for number, role in enumerate(ROLES):
        caller = Caller(app, role, number)
        username = world.names.get(role)
        caller.page, caller.csrf = caller.sign_in(username, caller.page)
        if username:
            response = caller.page.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
            assert response.status_code == 201, response.get_json()
            caller.token = response.get_json()["token"]
        found[role] = caller
    return found


# ---- the rules --------------------------------------------------------------------------------------
def test_every_route_has_a_rule(app):
    # given the URL map: every endpoint and method the app answers
    routes = {(r.endpoint, m) for r in app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}}
    ruled = {(r.endpoint, r.method) for r in RULES}
    # then each has a rule in the matrix, and each rule names a route that exists
    assert sorted(routes - ruled) == [], "routes without a rule in RULES (see the module docstring)"
    assert sorted(ruled - routes) == [], "rules for routes that no longer exist"


def test_every_route_open_to_anonymous_visitors_is_listed_as_public():
    public = {r.endpoint for r in RULES if _expected(r, "anonymous") == OK}
    assert public == set(PUBLIC_ENDPOINTS)


@pytest.mark.parametrize("rule, role", _cases())
def test_each_route_answers_each_role_as_the_policy_says(rule: Rule, role: str, app, world, callers):
    expected = _expected(rule, role)
    caller = callers[role]
    allowed = expected == OK
    args = (rule.fresh(world) if rule.fresh and allowed else rule.args(world))
    body = rule.allowed_body(world) if allowed and rule.allowed_body else (
        rule.body(world, role) if rule.body else None)
    with app.test_request_context():
        url = url_for(rule.endpoint, **args)
    page, csrf = caller.page, caller.csrf
    if rule.own_session:
        page, csrf = caller.sign_in(world.names.get(role))
    before = fingerprint(world.db) if rule.method in WRITES else None

    # when the role sends the request
    response = _send(rule, page, csrf, caller.token, url, body)

    # then it answers as the policy says, and a refused write changed nothing
    status, where = response.status_code, response.headers.get("Location", "")
    said = f"{rule.name} as {role}: {status} {where}".strip()
    if expected == OK:
        public = rule.expect.get("anonymous") == OK  # signing out ends on the sign-in page
        assert (200 <= status < 400 or status in rule.ok) and (public or not _to_login(where)), said
        if rule.must_change:
            assert fingerprint(world.db) != before, f"{said}: nothing changed"
        return
    if expected == LOGIN:
        if rule.api:
            assert status == 401, said
        else:
            assert status == 302 and _to_login(where), said
    elif expected == NOTHING:
        assert (200 <= status < 400 and not _to_login(where)) or status in (403, 404), said
    else:
        assert str(status) in expected.split("/"), said
    if before is not None:
        assert fingerprint(world.db) == before, f"{said}: a refused request changed something"


def _send(rule: Rule, client: Any, csrf: str, token: str, url: str, body: Any) -> Any:
    method = rule.method.lower()
    if rule.api:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if rule.method == "GET":
            return client.get(url, headers=headers)
        if rule.multipart:
            return client.open(url, method=rule.method, headers=headers, data=body or {},
                               content_type="multipart/form-data")
        return client.open(url, method=rule.method, headers=headers, json=body if body is not None else {})
    if rule.method == "GET":
        return client.get(url)
    data = dict(body or {}) | {"csrf_token": csrf}
    return getattr(client, method)(url, data=data, content_type="multipart/form-data" if rule.multipart else None)


def _to_login(location: str) -> bool:
    return urlsplit(location).path == "/login"

