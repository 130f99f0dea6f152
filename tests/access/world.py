"""The small world the authorisation matrix walks: the real processes and forms deployed, one
person per role, and objects that belong to someone else (another applicant's projects at the
expert-scoring and formal-review stages with open tasks assigned to or claimable by others, an
attachment and an internal one, a comment, a notification, a saved filter, a substitution, an
application draft, a process draft with a test run, an archived record; and, as issue 13 item 4
found, staff on leave who named the owner their substitute). Built once per module;
`fresh_*` make a new object of a kind for the few cases where an allowed request uses one up
(a claim, a delete, a revoke), so the shared objects stay as they were for every other case."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from engine.supervision import archive
from engine.workspace import attachments, comments, application_drafts, saved_filters, call_desk
from engine.core import clock, commands, user_admin, users
from engine.demo import demo_data
from engine.runtime import instances, tasks
from engine.designer import process_drafts, trial_runs
from engine.workspace.inbox import InboxQuery
from engine.core.principals import Actor
from tests.conftest import FIXTURES
from tests.lifecycle.world import APPLICATION, STAFF, Driver, build_world, sh

PASSWORD = "matrix-Pw-2026!"  # long and uncommon: passes any password policy

ROLES = ("anonymous", "applicant", "owner", "expert", "staff", "supervisor", "designer", "admin", "integration")
# the groups each role has, as engine/demo/demo_data.py gives them to the demo people
GROUPS: dict[str, list[str]] = {
    "applicant": ["applicants"],
    "owner": ["applicants"],
    "expert": ["experts"],
    "staff": ["institution_staff"],
    "supervisor": ["supervisors"],
    "designer": ["designers"],
    "admin": ["admins", "supervisors", "designers"],
    "integration": ["integrations"],
}
OWNER = "zhang.wei"  # the lifecycle world's applicant: every object below is theirs or someone else's
NAMES = {"applicant": "li.na", "owner": OWNER, "staff": STAFF.username, "supervisor": "zhao.min",
         "designer": "sun.hao", "admin": "admin", "integration": "robot"}
# people who hold objects but are none of the roles
COLLEAGUE = Actor("chen.jing", frozenset({"institution_staff"}))  # claimed a formal review
OTHER_DESIGNER = Actor("dana", frozenset({"designers"}))  # wrote the process draft
SUBSTITUTE = "huang.min"  # the owner's substitute
ABSENT = Actor("zhou.staff", frozenset({"institution_staff"}))  # on leave, with the owner as substitute
SIMPLE_BPMN = (FIXTURES / "bpmn" / "simple_review.bpmn").read_text()
SIMPLE_FORM = (FIXTURES / "forms" / "simple_decision.form").read_text()
PDF = b"%PDF-1.4\n% matrix\n"


@dataclass
class World:
    db: Any
    storage: Path
    archive_dir: Path
    names: dict[str, str] = field(default_factory=dict)  # role -> user name
    scoring: int = 0  # the owner's project, in expert scoring
    my_scoring_task: str = ""  # the expert role's own open scoring task
    my_second_task: str = ""  # a fourth seat's scoring, reassigned to the expert role
    others_scoring_task: str = ""  # another expert's open scoring task (with a comment and a file)
    other_expert: str = ""
    review: int = 0  # the owner's project waiting for a formal review
    group_task: str = ""  # that formal review: open, unclaimed, for institution_staff
    claimed: int = 0
    claimed_task: str = ""  # a formal review claimed by a colleague who is none of the roles
    covered_task: str = ""  # a formal review claimed by staff on leave, who named the owner substitute
    owners_file: int = 0  # uploaded by the owner with the application
    internal_file: int = 0  # uploaded by another expert on their scoring task
    comment: int = 0
    notification: int = 0
    saved_filter: int = 0
    substitution: int = 0
    application_draft: int = 0
    process_draft: int = 0
    trial: int = 0
    trial_task: str = ""
    archived: int = 0
    batch: int = 0  # a call's batch (batch_decision) in its public notice; its projects are the owner's
    call_draft: str = ""  # a draft call for proposals (issue 16)
    call_open: str = ""  # a published call, open for applications
    _day: int = 0

    # ---- fresh objects for allowed requests that use one up ---------------------------------
    def fresh_group_task(self) -> str:
        return self._formal_review_stage()[1]

    def fresh_claimed_task(self) -> str:
        task_id = self._formal_review_stage()[1]
        commands.execute(self.db, tasks.claim, COLLEAGUE, task_id)
        return task_id

    def fresh_attachment(self) -> int:
        return self._attach(self.scoring, None, Actor(OWNER, frozenset({"applicants"})), "plan.pdf")

    def fresh_application_draft(self) -> int:
        return commands.execute(self.db, application_drafts.save, Actor(OWNER, frozenset({"applicants"})),
                                "project_lifecycle", {"title": "草稿 · draft"}).id

    def fresh_saved_filter(self) -> int:
        self._day += 1
        return commands.execute(self.db, saved_filters.save, Actor(OWNER, frozenset({"applicants"})),
                                f"filter {self._day}", InboxQuery(scope="assigned")).id

    def fresh_substitution(self) -> int:
        # written as a row: the world must not depend on the naming rules other work changes
        self._day += 1
        start = clock.now().date() + timedelta(days=400 + 10 * self._day)
        return _substitution(self.db, OWNER, SUBSTITUTE, start, start + timedelta(days=5))

    def fresh_process_draft(self) -> int:
        return commands.execute(self.db, process_drafts.create, OTHER_DESIGNER, "Simple",
                                {"simple_review.bpmn": SIMPLE_BPMN, "simple_decision.form": SIMPLE_FORM}).id

    def fresh_trial(self) -> tuple[int, str]:
        view = commands.execute(self.db, lambda s: trial_runs.view(
            s, OTHER_DESIGNER, trial_runs.start(s, OTHER_DESIGNER, self.process_draft, None, {}).id))
        return view.trial.id, view.tasks[0].id

    def fresh_call(self, publish: bool = False) -> str:
        """A call for proposals closing in 30 days: a draft, or published (its process running)."""
        self._day += 1
        key = f"M-{self._day}-{'open' if publish else 'draft'}"
        closes = (clock.now() + timedelta(days=30)).isoformat()
        commands.execute(self.db, call_desk.create, STAFF, {
            "key": key, "title": f"矩阵指南 {key}", "year": 2026, "closes_at": closes,
            "categories": [{"code": "natural_science", "name": "自然科学基金", "budget": 1000000, "topics": []}]})
        if publish:
            commands.execute(self.db, call_desk.publish, STAFF, key)
        return key

    def fresh_user(self) -> str:
        """A bystander account (an integration) that an admin may deactivate or strip of tokens."""
        self._day += 1
        name = f"bystander{self._day}"
        commands.execute(self.db, users.create_user, name, PASSWORD, ["integrations"], password_policy=False)
        return name

    def fresh_token(self) -> dict[str, str]:
        """A bystander and the handle of a token of theirs (engine/core/user_admin.py)."""
        name = self.fresh_user()
        commands.execute(self.db, lambda s: users.issue_token(s, users.find(s, name)))
        return {"username": name, "handle": commands.query(
            self.db, lambda s: user_admin.tokens(s, Actor("admin", frozenset({"admins"})), name))[0].handle}

    # ---- building ---------------------------------------------------------------------------
    def application(self) -> dict[str, Any]:
        """The lifecycle world's application under another project's title and abstract (a
        similar one is sent to the duplicate check instead of the formal review)."""
        self._day += 1
        topics = [(p.data["title"], p.data["abstract"]) for p in demo_data.PROJECTS]
        topics = list(dict((t, (t, a)) for t, a in topics).values())  # the demo repeats one title
        title, abstract = topics[self._day % len(topics)]
        return APPLICATION | {"title": f"{title}（{self._day}）", "abstract": abstract}

    def _formal_review_stage(self) -> tuple[int, str]:
        d = Driver(self.db, sh(2026, 3, 2))
        d.start("project_lifecycle", self.application())
        d.endorse()
        [review] = d.open()  # the formal review, or its variant for a possible duplicate: both the group's
        return d.instance_id, review.id

    def _attach(self, instance_id: int, task_id: str | None, actor: Actor, filename: str) -> int:
        stored = attachments.write(self.storage, instance_id, PDF)
        return commands.execute(self.db, attachments.add, actor, instance_id, task_id, filename, PDF, stored).id


def _substitution(db: Any, username: str, substitute: str, start: date, end: date) -> int:
    from engine.workspace.substitutes import Substitution

    def add(session):  # type: ignore[no-untyped-def]
        row = Substitution(username=username, substitute=substitute, starts_on=start, ends_on=end,
                           reason="leave", created_by=username, created_at=clock.now())
        session.add(row)
        session.flush()
        return row.id
    return commands.execute(db, add)


def create_people(db: Any, names: dict[str, str]) -> None:
    """The role holders and the people who own objects, with a cheap password hash (a real
    scrypt hash costs 0.4 s on every sign-in, and the matrix signs in some thirty times)."""
    from werkzeug.security import generate_password_hash
    cheap = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    people = {names[role]: GROUPS[role] for role in names} | {
        COLLEAGUE.username: sorted(COLLEAGUE.groups), ABSENT.username: sorted(ABSENT.groups),
        OTHER_DESIGNER.username: ["designers"],
        SUBSTITUTE: ["applicants"], "visitor": []}
    original = users.generate_password_hash
    users.generate_password_hash = lambda password, *a, **k: cheap  # type: ignore[assignment]
    try:
        for name, groups in people.items():
            commands.execute(db, users.create_user, name, PASSWORD, list(groups))
    finally:
        users.generate_password_hash = original  # type: ignore[assignment]


def build(db: Any, storage: Path, archive_dir: Path) -> World:
    build_world(db, experts_per_discipline=6)
    w = World(db, storage, archive_dir)
    owner = Actor(OWNER, frozenset({"applicants"}))

    # the owner's project in expert scoring: one expert scored, the others still score
    d = Driver(db, sh(2026, 3, 2))
    w.scoring = d.start("project_lifecycle", w.application())
    d.endorse()
    d.formal_review()
    for row in d.expert_rows("invitation"):
        d.complete_row(row, Actor(row.assignee, frozenset({"experts"})), {"participation": "accept"})
    done, other, mine, fourth = d.expert_rows("scoring")[:4]
    d.complete_row(done, Actor(done.assignee, frozenset({"experts"})),
                   {"innovation": 28, "feasibility": 23, "team_capability": 14, "budget_reasonableness": 14,
                    "expected_benefits": 13, "expert_opinion": "创新性强 · innovative"})
    w.others_scoring_task, w.other_expert = other.id, other.assignee
    w.my_scoring_task = mine.id
    w.names = dict(NAMES, expert=mine.assignee)
    create_people(db, w.names)
    other_expert = Actor(other.assignee, frozenset({"experts"}))
    commands.execute(db, tasks.assign, Actor(NAMES["supervisor"], frozenset({"supervisors"})), fourth.id,
                     mine.assignee)
    w.my_second_task = fourth.id
    w.owners_file = w._attach(w.scoring, None, owner, "application.pdf")
    w.internal_file = w._attach(w.scoring, other.id, other_expert, "review-notes.pdf")
    w.comment = commands.execute(db, comments.add, other_expert, other.id, "内部意见 · internal note").id

    # the owner's projects waiting for a formal review: one open to the group, one claimed
    w.review, w.group_task = w._formal_review_stage()
    w.claimed, w.claimed_task = w._formal_review_stage()
    commands.execute(db, tasks.claim, COLLEAGUE, w.claimed_task)
    # staff on leave who claimed the owner's formal review and (before naming had its rules) named
    # the owner their substitute: taking over must check it again
    w.covered_task = w._formal_review_stage()[1]
    commands.execute(db, tasks.claim, ABSENT, w.covered_task)
    today = clock.now().date()
    _substitution(db, ABSENT.username, OWNER, today - timedelta(days=1), today + timedelta(days=30))

    w.notification = _notification(db, OWNER, w.scoring)
    w.saved_filter = w.fresh_saved_filter()
    w.substitution = w.fresh_substitution()
    w.application_draft = w.fresh_application_draft()
    w.process_draft = w.fresh_process_draft()
    w.trial, w.trial_task = w.fresh_trial()
    w.archived = _archived(w, owner)
    w.batch = _batch_in_notice(db)
    w.call_draft, w.call_open = w.fresh_call(), w.fresh_call(publish=True)
    return w


def _batch_in_notice(db: Any) -> int:
    """A batch_decision decided and in its notice, every project the owner's (issue 16)."""
    from tests.lifecycle.batch_data import batch_input
    data = batch_input()
    data["projects"] = [{**p, "applicant": OWNER} for p in data["projects"]]
    d = Driver(db, sh(2026, 3, 2))
    d.start("batch_decision", data, actor=Actor(NAMES["supervisor"], frozenset({"supervisors"})))
    keep = [{"result": r["result"], "amount": r["amount"], "change_reason": ""} for r in d.data()["proposal_items"]]
    d.complete("institution_review", STAFF, {"proposal_items": keep})
    d.complete("collective_decision", Actor("zhao.bureau", frozenset({"bureau_staff"})),
               {"decision_meeting": "bureau_meeting", "decision_date": "2026-03-02",
                "collective_decision": "approve_all", "decision_items": keep})
    return d.instance_id


def _notification(db: Any, username: str, instance_id: int) -> int:
    from engine.notify.notifications import Notification

    def add(session):  # type: ignore[no-untyped-def]
        row = Notification(username=username, kind="task_reassigned_to_you", params={"title": "申报书"},
                           process_instance_id=instance_id, created_at=clock.now())
        session.add(row)
        session.flush()
        return row.id
    return commands.execute(db, add)


def _archived(w: World, owner: Actor) -> int:
    """An application the owner withdrew long ago, archived by the retention run."""
    long_ago = clock.now() - timedelta(days=30)
    with clock.frozen_at(long_ago):
        instance = commands.execute(w.db, instances.start, owner, "project_lifecycle", w.application()).id
        commands.execute(w.db, instances.terminate, Actor("zhao.min", frozenset({"supervisors"})), instance,
                         "withdrawn")
    archive.run(w.db, w.archive_dir, 1)
    return commands.query(w.db, lambda s: s.scalar(select(func.max(archive.ArchivedInstance.id))))


# ---- what a refused request must leave as it was ----------------------------------------------------
# Tables another change may add for sessions or sign-in throttling are counted by no one: a refused
# request may well touch those.
_SKIPPED = ("session", "limit", "throttle", "attempt", "api_tokens", "apscheduler")
_WATCHED = {  # the columns whose change would mean a refused request did something
    "process_instances": "id, state, revision",
    "human_tasks": "id, state, assignee",
    "attachments": "id, removed_at",
    "notifications": "id, read_at",
    "substitutions": "id, revoked_at",
    "application_drafts": "id, updated_at",
    "process_drafts": "id, revision, deployed_at",
    "process_trial_runs": "id, state",
    "saved_filters": "id, params",
    "follow_ups": "*",
    "users": "username, active, password_hash, display_name",
    "memberships": "*",
}


def fingerprint(db: Any) -> dict[str, Any]:
    """Row counts of every table and the watched columns of the tables the routes change."""
    from engine.schema import Base

    def read(session):  # type: ignore[no-untyped-def]
        names = [t.name for t in Base.metadata.sorted_tables if not any(s in t.name for s in _SKIPPED)]
        counts = " UNION ALL ".join(f"SELECT '{n}', COUNT(*) FROM \"{n}\"" for n in names)
        seen: dict[str, Any] = {row[0]: row[1] for row in session.execute(text(counts))}
        for table, columns in _WATCHED.items():
            seen[f"{table}:rows"] = sorted(tuple(str(v) for v in row) for row in session.execute(
                text(f'SELECT {columns} FROM "{table}"')))
        return seen
    return commands.query(db, read)
