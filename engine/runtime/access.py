"""Who may see what of one process instance: the one place that decides, for an actor and an
instance, which tasks, which fields of the data, which audit events, which attachments and which
comments they may see. API routes and pages call `view_of` and ask the returned `View`; none of
them decides on its own.

The viewer's role relative to the instance (first match wins):

- `full`: supervisors and admins; and staff (below) who may read confidential data, i.e. every
  staff member unless a process of the instance names `confidentialReaders` (groups), in which
  case only members of those groups.
- `applicant`: a party of the project: the instance's starter, the user named in the data's
  `applicant`, members of the data's `unit_group` (the undertaking unit's research office) and
  users whose organisation is the data's `organisation`. A party sees the applicant's view even
  when it works a task of the instance (a unit office approving a change), never more.
- `staff`: whoever worked on or may work on (assignee, completer, candidate) a task of the
  instance that is not an expert task, and is not a party.
- `expert`: whoever took part only in expert tasks (tasks in a lane named in `expertLanes`,
  default `experts`), i.e. a non-staff participant. Anyone else has no part and sees nothing.

What each role sees. Every field of the data has a visibility, one of `applicant` < `experts` <
`internal` < `confidential`; an applicant sees `applicant` fields, an expert `applicant` and
`experts` ones, staff everything but `confidential`, `full` everything. A field's visibility is
declared on its form-js component, `properties: {"visibility": ...}` (the older
`"applicantVisible": "true"` means `applicant`, `"false"` means `internal`); a data key named in a
process's `confidentialData` (comma-separated) is `confidential` whatever a form says; one named in
its `applicantData` is `applicant`. Undeclared fields: the start form's fields (what the applicant
submitted) and the usual decision keys (`APPLICANT_KEYS`) are `applicant`, everything else is
`internal`. Besides, everyone sees their own work: the events they caused with all their fields,
and in the current data the fields of the forms of their tasks and what they submitted, except
`confidential` ones (parallel experts share keys, so the current value may be another's).

- Tasks: staff and `full` see every task; `staff` do not see who is assigned an expert task.
  Applicants and experts see their own tasks; of the others, the titles and states of non-expert
  tasks without the people (assignee, candidate users, completer); other people's expert tasks not
  at all.
- Audit events (the timeline): staff and `full` see every event, `staff` without the people and
  fields of expert tasks. Applicants and experts see the starts, completions and ends
  (`history.APPLICANT_ACTIONS`), with the fields their level allows, the actor only when it is
  themselves, and no event of another expert's task: no expert sees another expert's identity,
  scores or opinion, before submitting their own or after, unless a process says so with
  `expertsMaySeeEachOther`: `after_own` (an expert who has completed their own expert tasks sees
  the others' completed ones) or `chair` (the expert named by the data key in `expertChair`, a
  user name or a seat with `expert`, sees them once no expert task of the instance is open but
  the chairs' own; the key may also map each chair to the members of their panel, whose work
  alone that chair sees).
  Data keys a process names in `chairData` (the members' opinions gathered for the chair) are
  seen, among experts, by that chair alone; staff see them at their level, applicants never.
- Attachments and comments carry a visibility, `applicant` or `internal`, chosen when added.
  Staff and `full` see all; applicants and experts see `applicant` ones and their own. Only staff
  see who uploaded or wrote something that is not their own.
- Who reviewed is never shown to the applicant: the rules above never name another person to an
  applicant-role viewer.

For routes (what an authorisation test can expect): `view_of` raises Forbidden (403) unless the
actor has a part: supervisors and admins always; others as the instance's starter, the assignee
or completer of any of its tasks, or a candidate of an open one (being a party alone opens
nothing). A task page or answer also counts the task the caller may see (`tasks.may_see`, or a
substitute covering for its people, engine/workspace/substitutes.py). `/files/N` is 403 for a non-staff
viewer unless the file is `applicant`-visible or their own; `GET /process-instances/{id}` and
`GET /tasks/{id}` answer 200 with the fields and tasks above, in the contract's shape.

A call's batch documents (engine/lifecycle/batch_documents.py: the ranked list, the decision
list, the public notice) are the bureau's papers rather than one project's data, so they follow
groups, not parts (`batch_documents`): supervisors, admins, institution and bureau staff may
download each one that exists; an applicant of a project in the batch only the public notice,
once it is published (it lists projects, never reviewers); anyone else none (403). An
application made under a call links to its call's documents (`batch_instance_for`)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.definitions.deployment import SPECS, form_for, latest_definition
from engine.definitions.escalation_policy import process_properties
from engine.core.errors import Forbidden, NotFound
from engine.definitions.forms import VISIBILITIES, FormDefinition, FormField  # one list: forms refuse a misspelt one
from engine.runtime.state import load_data
from engine.core.models import Attachment, AuditEvent, HumanTask, ProcessDefinition, ProcessInstance, User
from engine.core.principals import ADMINS, Actor
from engine.definitions.visibility import PEER_RULES, names
from engine.lifecycle import batch_documents as documents

FULL, STAFF, EXPERT, APPLICANT = "full", "staff", "expert", "applicant"
_LEVEL = {name: n for n, name in enumerate(VISIBILITIES)}
_SEES = {APPLICANT: 0, EXPERT: 1, STAFF: 2, FULL: 3}
SHARED, INTERNAL = "applicant", "internal"  # what attachments and comments carry
ITEM_VISIBILITIES = (SHARED, INTERNAL)
APPLICANT_KEYS = frozenset({"decision", "review_comment", "comment", "reason", "decision_reason",
                            "opinion", "result", "score", "rating"})
APPLICANT_ACTIONS = frozenset({"instance_started", "task_completed", "instance_completed",
                               "instance_terminated", "instance_suspended", "instance_resumed",
                               "attachment_added"})
DEFAULT_EXPERT_LANES = frozenset({"experts"})


# ---- what processes and forms declare --------------------------------------------------------

@dataclass(frozen=True)
class Rules:
    """The access declarations of an instance's definition and the processes it calls."""

    confidential: frozenset[str] = frozenset()
    applicant_data: frozenset[str] = frozenset()
    readers: frozenset[str] | None = None       # None: every staff member reads confidential data
    expert_lanes: frozenset[str] = DEFAULT_EXPERT_LANES
    peers: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # process key -> (rule, chair key)
    task_process: dict[str, str] = field(default_factory=dict)  # task element id -> its process key
    fields: dict[str, str] = field(default_factory=dict)       # data key -> declared visibility
    start_keys: frozenset[str] = frozenset()
    form_keys: dict[str, frozenset[str]] = field(default_factory=dict)  # form key -> its fields' keys
    chair_data: frozenset[str] = frozenset()  # keys only the chair (and staff) see of expert-level data


def field_visibility(form_field: FormField) -> str | None:
    """The visibility a form field declares, or None."""
    props = form_field.properties
    declared = str(props.get("visibility", "")).strip().lower()
    if declared in _LEVEL:
        return declared
    if "applicantVisible" in props:
        return "applicant" if str(props["applicantVisible"]).lower() in ("true", "1", "yes") else "internal"
    return None


_rules_cache: dict[tuple[int, str], Rules] = {}
_rules_lock = threading.Lock()


def rules_of(session: Session, definition: ProcessDefinition) -> Rules:
    """The declarations, read once per definition version (its calls are pinned with it)."""
    key = (definition.id, definition.content_hash)
    with _rules_lock:
        if key in _rules_cache:
            return _rules_cache[key]
    found = _read_rules(session, definition)
    with _rules_lock:
        _rules_cache[key] = found
    return found


def _read_rules(session: Session, definition: ProcessDefinition) -> Rules:
    processes = {definition.key: process_properties(session, definition)}
    for called in (definition.meta or {}).get("calls", []):
        row = latest_definition(session, called, False)
        if row is not None:
            processes[called] = process_properties(session, row)
    confidential: set[str] = set()
    applicant_data: set[str] = set()
    chair_data: set[str] = set()
    readers: set[str] | None = None
    lanes: set[str] = set()
    peers: dict[str, tuple[str, str | None]] = {}
    for process_key, props in processes.items():
        confidential |= names(props.get("confidentialData"))
        applicant_data |= names(props.get("applicantData"))
        if props.get("confidentialReaders"):
            readers = (readers or set()) | names(props["confidentialReaders"])
        lanes |= names(props.get("expertLanes"))
        chair_data |= names(props.get("chairData"))
        rule = str(props.get("expertsMaySeeEachOther") or "never").strip()
        peers[process_key] = (rule if rule in PEER_RULES else "never",
                              str(props.get("expertChair") or "").strip() or None)
    fields: dict[str, str] = {}
    forms = _forms(session, definition)
    for form in forms.values():
        for form_field in _all_fields(form.fields):
            declared = field_visibility(form_field)
            if declared is not None and _LEVEL[declared] >= _LEVEL.get(fields.get(form_field.key, ""), -1):
                fields[form_field.key] = declared  # a key declared on several forms: the strictest
    start = form_for(session, definition, (definition.meta or {}).get("start_form_key"))
    return Rules(frozenset(confidential), frozenset(applicant_data),
                 frozenset(readers) if readers is not None else None,
                 frozenset(lanes) or DEFAULT_EXPERT_LANES, peers, _task_processes(definition, set(processes)),
                 fields, frozenset(f.key for f in _all_fields(start.fields)) if start else frozenset(),
                 {key: frozenset(f.key for f in _all_fields(form.fields)) for key, form in forms.items()},
                 frozenset(chair_data))


def _forms(session: Session, definition: ProcessDefinition) -> dict[str, FormDefinition]:
    found = {}
    for key in ((definition.meta or {}).get("forms") or {}):
        form = form_for(session, definition, key)
        if form is not None:
            found[key] = form
    return found


def _all_fields(fields: Iterable[FormField]) -> Iterable[FormField]:
    for form_field in fields:
        yield form_field
        yield from _all_fields(form_field.children)


def _task_processes(definition: ProcessDefinition, deployed: set[str]) -> dict[str, str]:
    """Each task element id -> the deployed process it belongs to (embedded subprocesses count
    as part of the process that contains them)."""
    try:
        root, subprocesses = SPECS.get(definition)
    except Exception:  # a definition whose spec cannot be restored has no tasks to place
        return {}
    specs = {definition.key: root, **subprocesses}
    parent: dict[str, str] = {}
    for key, spec in specs.items():
        for task_spec in spec.task_specs.values():
            called = getattr(task_spec, "spec", None)
            if isinstance(called, str) and called not in deployed:
                parent.setdefault(called, key)
    placed: dict[str, str] = {}
    for key, spec in specs.items():
        owner, hops = key, 0
        while owner not in deployed and owner in parent and hops < 50:
            owner, hops = parent[owner], hops + 1
        for task_name in spec.task_specs:
            placed.setdefault(task_name, owner)
    return placed


# ---- the viewer -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskLine:
    """A task as a viewer may see it (the API's task shape; people blanked where hidden)."""

    id: str
    name: str
    title: str
    process_instance_id: int
    process_key: str
    state: str
    assignee: str | None
    candidate_groups: list[str]
    candidate_users: list[str]
    form_key: str | None
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    lane: str | None = None


@dataclass
class View:
    """One actor's view of one instance (built by `view_of`)."""

    actor: Actor
    instance: ProcessInstance
    role: str
    rules: Rules
    tasks: dict[str, HumanTask]
    own_keys: frozenset[str]

    @property
    def staff(self) -> bool:
        return self.role in (STAFF, FULL)

    def sees_level(self, visibility: str) -> bool:
        return _SEES[self.role] >= _LEVEL.get(visibility, _LEVEL["internal"])

    # -- data ---------------------------------------------------------------------------------
    def key_visibility(self, key: str) -> str:
        if key in self.rules.confidential:
            return "confidential"
        if key in self.rules.applicant_data:
            return "applicant"
        if key in self.rules.fields:
            return self.rules.fields[key]
        if key in self.rules.start_keys or key in APPLICANT_KEYS:
            return "applicant"
        return "internal"

    def sees_key(self, key: str) -> bool:
        if self.role == FULL:
            return True
        if self.role in (EXPERT, APPLICANT) and key in self.rules.chair_data:
            return self.role == EXPERT and self.is_chair()
        visibility = self.key_visibility(key)
        # own work shows in full on the timeline; in the current data a confidential key may hold
        # another's value (parallel experts share the keys), so there only the level counts
        if key in self.own_keys and visibility != "confidential":
            return True
        return self.sees_level(visibility)

    def is_chair(self) -> bool:
        """Is this viewer the panel's chair, as named by a process's `expertChair` data key?"""
        return any(chair_key and self.actor.username in _chairs(self.instance, chair_key)
                   for _, chair_key in self.rules.peers.values())

    def data(self, data: dict[str, Any]) -> dict[str, Any]:
        """The fields of the process data this viewer may see."""
        if self.role == FULL:
            return dict(data)
        return {k: v for k, v in data.items() if self.sees_key(k)}

    # -- tasks --------------------------------------------------------------------------------
    def is_expert_task(self, row: HumanTask | None) -> bool:
        return row is not None and (row.lane or "") in self.rules.expert_lanes

    def is_own(self, row: HumanTask) -> bool:
        return self.actor.username in (row.assignee, row.completed_by)

    def peer_visible(self, row: HumanTask) -> bool:
        """May this expert see another expert's (completed) expert task, as the process says?"""
        if self.role != EXPERT or row.state != "completed":
            return False
        rule, chair_key = self.rules.peers.get(self.rules.task_process.get(row.name, self.instance.process_key),
                                               ("never", None))
        own = [t for t in self.tasks.values() if self.is_expert_task(t) and self.is_own(t)]
        if rule == "after_own":
            return bool(own) and all(t.state != "open" for t in own)
        if rule == "chair" and chair_key:
            chairs = _chairs(self.instance, chair_key)
            if self.actor.username not in chairs:
                return False
            panel = chairs[self.actor.username]
            if panel is not None and (row.completed_by or row.assignee) not in panel:
                return False  # another panel's work
            # the chairs' own open tasks (their conclusions) do not hold them back: a chair
            # writes the conclusion seeing the members' completed work
            return not any(self.is_expert_task(t) and t.state == "open" and t.assignee not in chairs
                           for t in self.tasks.values())
        return False

    def task_line(self, row: HumanTask) -> TaskLine | None:
        """The task as this viewer sees it, or None when they may not know of it."""
        line = _line(row)
        if self.role == FULL or self.is_own(row):
            return line
        if self.role == STAFF:
            return _blank(line) if self.is_expert_task(row) else line
        if self.is_expert_task(row) and not self.peer_visible(row):
            return None
        return line if self.peer_visible(row) else _blank(line)

    def open_tasks(self) -> list[HumanTask]:
        """The instance's open tasks in `tasks.open_tasks`' order, from the rows this view has
        read already (every row of the instance): an answer needs no second query for them."""
        return sorted((row for row in self.tasks.values() if row.state == "open"),
                      key=lambda row: (row.created_at, row.id))

    def task_lines(self, rows: Iterable[HumanTask]) -> list[TaskLine]:
        return [line for line in (self.task_line(r) for r in rows) if line is not None]

    def may_open_task(self, row: HumanTask) -> bool:
        """Whether the viewer may open the task's own page (beyond the instance's)."""
        return self.role == FULL or self.is_own(row) or (self.role == STAFF and not self.is_expert_task(row))

    # -- audit events -------------------------------------------------------------------------
    def event_shown(self, event: AuditEvent) -> bool:
        task = self.tasks.get(event.task_id or "")
        if self.staff:
            return True
        if event.action not in APPLICANT_ACTIONS:
            return False
        if event.actor == self.actor.username:
            return True
        if task is not None and self.is_expert_task(task) and not self.peer_visible(task):
            return False
        if event.action == "attachment_added":
            return self._attachment_event_shown(event)
        return True

    def event_actor(self, event: AuditEvent) -> str | None:
        task = self.tasks.get(event.task_id or "")
        if event.actor == self.actor.username or self.role == FULL:
            return event.actor
        if self.role == STAFF:
            return None if self.is_expert_task(task) else event.actor
        return event.actor if task is not None and self.peer_visible(task) else None

    def event_field_shown(self, event: AuditEvent, key: str) -> bool:
        return self.submitted_field_shown(self.tasks.get(event.task_id or ""), event.actor, key)

    def submitted_field_shown(self, task: HumanTask | None, by: str | None, key: str) -> bool:
        """A field someone submitted (on a task, or at the start): whoever submitted it and `full`
        see it; another expert's only as the peer rule allows; else by the field's level."""
        if by == self.actor.username or self.role == FULL:
            return True
        if task is not None and self.is_expert_task(task):
            return self.peer_visible(task) and key not in self.rules.confidential
        return self.sees_level(self.key_visibility(key))

    def submitted_values(self, row: HumanTask, values: dict[str, Any]) -> dict[str, Any]:
        """A completed task's submitted values as this viewer may see them: the same rule as
        its completion on the timeline."""
        return {k: v for k, v in values.items() if self.submitted_field_shown(row, row.completed_by, k)}

    def event_note_shown(self, event: AuditEvent) -> bool:
        """Notes name people (assignees, candidates): staff only, never for expert tasks unless full."""
        task = self.tasks.get(event.task_id or "")
        return self.role == FULL or (self.role == STAFF and not self.is_expert_task(task))

    def _attachment_event_shown(self, event: AuditEvent) -> bool:
        attachment_id = (event.details or {}).get("attachment_id")
        row = _session_of(self.instance).get(Attachment, attachment_id) if attachment_id else None
        return row is not None and self.sees_item(row.visibility, row.uploaded_by)

    # -- attachments and comments ---------------------------------------------------------------
    def sees_item(self, visibility: str | None, author: str | None) -> bool:
        return self.staff or author == self.actor.username or visibility == SHARED

    def shows_author(self, author: str | None) -> bool:
        return self.staff or author == self.actor.username

    def default_item_visibility(self) -> str:
        return SHARED if self.role == APPLICANT else INTERNAL


def _chairs(instance: ProcessInstance, key: str) -> dict[str, frozenset[str] | None]:
    """The chairs the data key names, each with the members whose work they see (None: every
    expert's): a user name or a seat with `expert`, or a mapping chair -> list of members (a
    batch review has one chair per panel, who sees their own panel only)."""
    value = load_data(instance.data).get(key)
    if isinstance(value, dict) and "expert" not in value:
        return {chair: frozenset(m for m in members if isinstance(m, str))
                for chair, members in value.items() if isinstance(chair, str) and isinstance(members, list)}
    if isinstance(value, dict):
        value = value.get("expert")
    return {value: None} if isinstance(value, str) and value else {}


def _line(row: HumanTask) -> TaskLine:
    return TaskLine(row.id, row.name, row.title, row.process_instance_id, row.process_key, row.state,
                    row.assignee, list(row.candidate_groups or []), list(row.candidate_users or []),
                    row.form_key, row.created_at, row.due_at, row.completed_at, row.completed_by, row.lane)


def _blank(line: TaskLine) -> TaskLine:
    from dataclasses import replace
    return replace(line, assignee=None, candidate_users=[], completed_by=None)


def _session_of(instance: ProcessInstance) -> Session:
    from sqlalchemy.orm import object_session
    session = object_session(instance)
    assert session is not None
    return session


# ---- roles -----------------------------------------------------------------------------------

def is_party(session: Session, username: str, groups: Iterable[str], instance: ProcessInstance,
             data: dict[str, Any] | None = None) -> bool:
    """Is this user a party of the instance's project (its applicant or its unit's people)?"""
    from engine.runtime.instances import data_of
    data = data_of(instance) if data is None else data
    if username in (instance.started_by, data.get("applicant")):
        return True
    unit_group = data.get("unit_group")
    if isinstance(unit_group, str) and unit_group in set(groups):
        return True
    organisation = data.get("organisation")
    if isinstance(organisation, str) and organisation.strip():
        org = session.scalar(select(User.org).where(User.username == username))
        return bool(org) and org.strip() == organisation.strip()
    return False


def role_of(session: Session, actor: Actor, instance: ProcessInstance, rules: Rules,
            rows: Iterable[HumanTask], task: HumanTask | None = None,
            data: dict[str, Any] | None = None) -> str | None:
    """The actor's role relative to the instance, or None when they have no part in it. A part
    is what `may_see_instance` counts (assignee, completer, candidate of an open task, starter);
    `task`, when given, is a task the caller may see (tasks.may_see) and counts too."""
    if actor.is_supervisor or ADMINS in actor.groups:
        return FULL
    # an open row's candidates are its task_candidates rows (the projection keeps both in step)
    candidate_ids = {row.id for row in rows if row.state == "open" and (
        actor.username in (row.candidate_users or []) or actor.groups & set(row.candidate_groups or []))}
    if task is not None:
        candidate_ids.add(task.id)
    mine = [row for row in rows if actor.username in (row.assignee, row.completed_by) or row.id in candidate_ids]
    if not mine and instance.started_by != actor.username:
        return None  # being a party never opens an instance one has no part in
    if is_party(session, actor.username, actor.groups, instance, data):
        return APPLICANT
    if all((row.lane or "") in rules.expert_lanes for row in mine):
        return EXPERT
    if rules.readers is None or actor.groups & rules.readers:
        return FULL
    return STAFF


# built once: every answer about an instance reads its rows, and SQLAlchemy keeps the cache key
# on the statement object (building and keying a new one cost as much as running it)
_ROWS_OF_INSTANCE = select(HumanTask).where(HumanTask.process_instance_id == bindparam("instance_id"))


def view_of(session: Session, actor: Actor, instance: ProcessInstance, task: HumanTask | None = None) -> View:
    """The actor's view of the instance; Forbidden when they have no part in it. Pass the task
    when the view is for a task page or answer whose task the caller may see."""
    rules = rules_of(session, instance.definition)
    rows = list(session.scalars(_ROWS_OF_INSTANCE, {"instance_id": instance.id}))
    role = role_of(session, actor, instance, rules, rows, task)
    if role is None:
        raise Forbidden("you have no part in this process instance")
    if role == FULL:  # sees everything: no need to know what is theirs
        return View(actor, instance, role, rules, {row.id: row for row in rows}, frozenset())
    own_keys: set[str] = set()
    for row in rows:
        if actor.username in (row.assignee, row.completed_by) and row.form_key:
            own_keys |= rules.form_keys.get(row.form_key, frozenset())
    if instance.started_by == actor.username:  # what they submitted: the start data
        own_keys |= rules.start_keys
        if not rules.start_keys:  # no start form: the keys they sent, with the initiator variable
            own_keys |= _submitted_keys(session, instance)
    return View(actor, instance, role, rules, {row.id: row for row in rows}, frozenset(own_keys))


def worker_view(session: Session, actor: Actor, instance: ProcessInstance) -> View:
    """What an integration worker that locked an external task of the instance sees: the data as
    staff see it, every field but the confidential ones (a finance system needs the amounts, not
    the experts' opinions a process keeps confidential)."""
    return View(actor, instance, STAFF, rules_of(session, instance.definition), {}, frozenset())


# The keys a starter sent (from the instance's `instance_started` audit row, written once and
# never changed): read once per process and instance, since every answer to the starter needs
# them. Keyed with the start time, like the workflow cache, so that an id SQLite hands out again
# after a rolled-back start is never taken for the old instance.
_submitted_cache: OrderedDict[tuple[int, str], frozenset[str]] = OrderedDict()
_submitted_lock = threading.Lock()
_SUBMITTED_SIZE = 4096


def _submitted_keys(session: Session, instance: ProcessInstance) -> frozenset[str]:
    key = (instance.id, instance.started_at.isoformat())
    with _submitted_lock:
        known = _submitted_cache.get(key)
    if known is not None:
        return known
    started = session.scalar(select(AuditEvent.details).where(
        AuditEvent.process_instance_id == instance.id, AuditEvent.action == "instance_started").limit(1))
    submitted = (started or {}).get("data")
    keys = frozenset(submitted) if isinstance(submitted, dict) else frozenset()
    if started is not None:
        with _submitted_lock:
            _submitted_cache[key] = keys
            while len(_submitted_cache) > _SUBMITTED_SIZE:
                _submitted_cache.popitem(last=False)
    return keys


def forget_submitted_keys() -> None:
    """Empties the cache of starters' keys (for a database emptied under a running process)."""
    with _submitted_lock:
        _submitted_cache.clear()


def applicant_view(session: Session, actor: Actor, instance: ProcessInstance,
                   rows: list[HumanTask] | None = None) -> View:
    """The applicant's view of an instance the actor started, without reading the whole instance
    (lists show a page of instances): the applicant's level, nothing of their own work."""
    return View(actor, instance, APPLICANT, rules_of(session, instance.definition),
                {r.id: r for r in rows or []}, frozenset())


def starter_task_lines(session: Session, actor: Actor, instance: ProcessInstance,
                       rows: list[HumanTask]) -> list[TaskLine]:
    """The open tasks of an instance the actor started, as the applicant's lists show them."""
    return applicant_view(session, actor, instance, rows).task_lines(rows)


EXPERT_POOL_STAFF = "institution_staff"


def may_see_expert_pool(actor: Actor) -> bool:
    """The expert pool's pages (an expert's draws, ratings and standing): institution staff, who
    run the reviews, and supervisors and admins; experts and applicants never see the pool."""
    return EXPERT_POOL_STAFF in actor.groups or actor.is_supervisor or ADMINS in actor.groups


def may_rate_experts(actor: Actor) -> bool:
    """Rating an expert after a review is the institution's judgement: its staff only."""
    return EXPERT_POOL_STAFF in actor.groups


def may_see_instance(session: Session, actor: Actor, instance: ProcessInstance) -> bool:
    try:
        view_of(session, actor, instance)
    except Forbidden:
        return False
    return True


def check_item_visibility(value: Any, view: View) -> str:
    """The visibility chosen for a new attachment or comment (empty: the viewer's default)."""
    from engine.core.errors import InvalidData
    if value in (None, ""):
        return view.default_item_visibility()
    if value not in ITEM_VISIBILITIES:
        raise InvalidData("unknown visibility", {"visibility": [f"One of: {', '.join(ITEM_VISIBILITIES)}."]})
    return str(value)


# calls for proposals (issue 16): the institution manages them; the bureau and supervisors read
# them (a call's page: its applications per category and stage, the budget used)
CALL_MANAGERS = frozenset({"institution_staff"})
CALL_READERS = frozenset({"institution_staff", "bureau_staff", "supervisors", "admins"})


def may_manage_calls(actor: Actor) -> bool:
    return bool(CALL_MANAGERS & set(actor.groups))


def may_read_calls(actor: Actor) -> bool:
    return bool(CALL_READERS & set(actor.groups))


__all__ = ["APPLICANT", "EXPERT", "FULL", "STAFF", "Rules", "TaskLine", "View",
           "check_item_visibility", "field_visibility", "is_party", "may_see_instance", "role_of",
           "rules_of", "view_of", "may_manage_calls", "may_read_calls"]



# ---- a call's batch documents ---------------------------------------------------------------

BATCH_STAFF = frozenset({"institution_staff", "bureau_staff"})
# processes that hold a call's batch: the call's own (issue 16's interface) and the batch on its own
BATCH_PROCESSES = ("call_for_proposals", "batch_decision")


def batch_instance_for(session: Session, instance: ProcessInstance) -> ProcessInstance | None:
    """Where the batch documents an instance's pages may link to are: the instance itself when it
    holds a batch; for a project applied under a call (data `call_key`), the call's process (its
    business key is the call's key); else nowhere. Who may download them is `batch_documents`."""
    data = load_data(instance.data)
    if documents.available(data):
        return instance
    call_key = data.get("call_key")
    if not isinstance(call_key, str) or not call_key.strip():
        return None
    return session.scalar(select(ProcessInstance).where(
        ProcessInstance.process_key.in_(BATCH_PROCESSES), ProcessInstance.business_key == call_key)
        .order_by(ProcessInstance.id.desc()).limit(1))


def batch_documents(session: Session, actor: Actor, instance: ProcessInstance) -> tuple[dict[str, Any], list[str]]:
    """The batch data of an instance (a batch_decision, or a call process running one) and the
    documents this actor may download from it; 404 when it has no batch documents yet, 403 when
    the actor may download none of them."""
    data = load_data(instance.data)
    kinds = documents.available(data)
    if not kinds:
        raise NotFound("this process instance has no batch documents")
    if actor.is_supervisor or ADMINS in actor.groups or actor.groups & BATCH_STAFF:
        return data, kinds
    applicants = {p.get("applicant") for p in data.get("projects") or [] if isinstance(p, dict)}
    if actor.username in applicants and documents.PUBLIC_NOTICE in kinds:
        return data, [documents.PUBLIC_NOTICE]
    raise Forbidden("you may not download this batch's documents")
# ---- project documents and registers (issue 17) ----------------------------------------------

REGISTER_READERS = frozenset({"institution_staff", "bureau_staff", "auditors"})


def may_read_project_documents(view: View) -> bool:
    """The task contract and a funds recovery notice are the parties' and the staff's documents:
    the applicant's side (applicant, unit) and staff with a part in the instance read them;
    an expert, whose part is the review alone, does not."""
    return view.role in (APPLICANT, STAFF, FULL)


def may_export_registers(actor: Actor) -> bool:
    """The project register and the funds ledger as a whole: the institution, the bureau, the
    auditors, supervisors and admins (never an applicant: other people's projects are in it)."""
    return actor.is_supervisor or ADMINS in actor.groups or bool(actor.groups & REGISTER_READERS)
