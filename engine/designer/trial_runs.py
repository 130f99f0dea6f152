"""Test runs of a draft: a throw-away instance that a designer steps through, acting as each role
in turn, before anything is deployed. This module owns the trial table (the draft's specs and
forms frozen when the trial starts, the workflow state, a log of who acted as which role) and
the steps: start, complete a ready task with data checked against its form, read where the
trial stands. Nothing real is touched: no process instance, no task projection, no inbox, no
notification. Scripts do reach the domain services (an expert draw, the project register), but
every step runs inside a savepoint that is always rolled back: a script reads the real
organisations, expert pool and integrity list and what it writes is gone when the step ends, so
a later step that needs a row an earlier one wrote stops the trial with that error instead of
finding it in the real register."""
from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from SpiffWorkflow.util.task import TaskState

from engine.runtime import assignment, engine_steps
from engine.core import clock
from engine.definitions import deployment
from engine.definitions.specs import dump_specs, load_specs
from engine.runtime.state import dump_state, load_state, new_workflow
from engine.core.errors import Conflict, DefinitionInvalid, InvalidData, NotFound
from engine.definitions.forms import FormDefinition, parse_form, validate_submission
from engine.core.models import Base
from engine.core.principals import Actor
from engine.designer.process_drafts import get as get_draft, files_as_bytes, require_designer

MAX_LOG = 500


class TrialRun(Base):
    __tablename__ = "process_trial_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(Integer, index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    specs: Mapped[str] = mapped_column(Text)
    forms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    document: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # running, completed, error
    error: Mapped[str | None] = mapped_column(Text)
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    started_by: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime]
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": revision}


@dataclass(frozen=True)
class TrialTask:
    id: str
    element: str
    title: str
    lane: str | None
    assignee: str | None
    candidate_users: list[str]
    candidate_groups: list[str]
    form_key: str | None
    form: dict[str, Any] | None


@dataclass(frozen=True)
class TrialView:
    trial: TrialRun
    tasks: list[TrialTask]
    data: dict[str, Any]
    done: list[str]


def start_form(session: Session, actor: Actor, draft_id: int,
               process_key: str | None = None) -> tuple[str, FormDefinition | None, list[str]]:
    """(the process a trial would run, its start form if it has one, every process of the draft)."""
    bundle, process = _validated(session, actor, draft_id, process_key)
    forms = {key: form.raw for key, form in bundle.forms.items()}
    return process.key, _form(session, forms, process.meta.get("start_form_key")), [p.key for p in bundle.processes]


def _validated(session: Session, actor: Actor, draft_id: int, process_key: str | None) -> tuple[Any, Any]:
    draft = get_draft(session, actor, draft_id)
    bundle = deployment.validate(session, files_as_bytes(draft))
    if bundle.problems:
        raise DefinitionInvalid(bundle.problems)
    process = next((p for p in bundle.processes if process_key in (None, p.key)), None)
    if process is None:
        raise NotFound(f"the draft has no executable process '{process_key}'")
    return bundle, process


def start(session: Session, actor: Actor, draft_id: int, process_key: str | None = None,
          data: Any = None) -> TrialRun:
    draft = get_draft(session, actor, draft_id)
    bundle, process = _validated(session, actor, draft_id, process_key)
    forms = {key: form.raw for key, form in bundle.forms.items()}
    start_form = _form(session, forms, process.meta.get("start_form_key"))
    data = {} if data is None else data
    if start_form is not None:
        data = validate_submission(start_form, data)
    elif not isinstance(data, dict):
        raise InvalidData("data must be a JSON object", {"data": ["Must be an object."]})
    if process.meta.get("initiator"):
        data = {**data, process.meta["initiator"]: actor.username}
    workflow = new_workflow(process.spec, process.subprocess_specs)
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    trial = TrialRun(draft_id=draft.id, process_key=process.key,
                     specs=dump_specs(process.spec, process.subprocess_specs), forms=forms,
                     document="", state="running", log=[], started_by=actor.username, started_at=clock.now())
    _log(trial, actor, "started", None, data)
    _advance(session, trial, workflow)
    session.add(trial)
    session.flush()
    return trial


def view(session: Session, actor: Actor, trial_id: int) -> TrialView:
    trial = get(session, actor, trial_id)
    workflow = _load(trial)
    tasks = [_task(session, trial, workflow, t) for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
    done = sorted({t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
                   if getattr(t.task_spec, "bpmn_id", None)})
    return TrialView(trial, tasks, _jsonable(workflow.data if trial.state == "completed" else _latest_data(workflow)), done)


def complete(session: Session, actor: Actor, trial_id: int, task_id: str, data: Any,
             as_role: str | None = None) -> TrialRun:
    trial = get(session, actor, trial_id)
    if trial.state != "running":
        raise Conflict(f"the test run is {trial.state}")
    workflow = _load(trial)
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError):
        task = None
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        raise Conflict(f"task {task_id} is not waiting in this test run")
    form = _form(session, trial.forms, _form_key(task.task_spec))
    cleaned = validate_submission(form, {} if data is None else data) if form is not None else (data or {})
    if not isinstance(cleaned, dict):
        raise InvalidData("data must be a JSON object", {"data": ["Must be an object."]})
    task.data.update(cleaned)
    with _thrown_away(session):
        task.run()
    _log(trial, actor, "completed", task.task_spec.bpmn_id, cleaned, as_role)
    _advance(session, trial, workflow)
    return trial


def get(session: Session, actor: Actor, trial_id: int) -> TrialRun:
    require_designer(actor)
    trial = session.get(TrialRun, trial_id)
    if trial is None:
        raise NotFound(f"no test run {trial_id}")
    return trial


def of_draft(session: Session, actor: Actor, draft_id: int) -> list[TrialRun]:
    require_designer(actor)
    return list(session.scalars(select(TrialRun).where(TrialRun.draft_id == draft_id)
                                .order_by(TrialRun.id.desc()).limit(20)))


def discard(session: Session, actor: Actor, trial_id: int) -> None:
    session.delete(get(session, actor, trial_id))


@contextlib.contextmanager
def _thrown_away(session: Session) -> Iterator[None]:
    # the command binds script services to this session, so without the savepoint a test run's
    # script would register a real project; the trial row is changed only outside it, because
    # rolling a savepoint back expires what was changed inside
    savepoint = session.begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()


def _advance(session: Session, trial: TrialRun, workflow: Any) -> None:
    with _thrown_away(session):
        failure = engine_steps.run(workflow)
    if failure is not None:
        trial.state, trial.error = "error", f"{failure.element_id or ''}: {failure.message}".strip(": ")
    elif workflow.is_completed():
        trial.state = "completed"
    trial.document = dump_state(workflow)


def _load(trial: TrialRun) -> Any:
    spec, subprocess_specs = load_specs(trial.specs)
    return load_state(trial.document, spec, subprocess_specs)


def _task(session: Session, trial: TrialRun, workflow: Any, task: Any) -> TrialTask:
    spec = task.task_spec
    environment = workflow.script_engine.environment
    try:
        who = assignment.resolve(spec, lambda expression: environment.evaluate(expression, task.data))
        assignee, users, groups = who.assignee, list(who.candidate_users), list(who.candidate_groups)
    except assignment.AssignmentError as error:  # an expression the data cannot satisfy: show why
        assignee, users, groups = f"({error})", [], []
    form_key = _form_key(spec)
    form = _form(session, trial.forms, form_key)
    return TrialTask(str(task.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, getattr(spec, "lane", None),
                     assignee, users, groups, form_key, form.raw if form is not None else None)


def _form_key(spec: Any) -> str | None:
    form = getattr(spec, "form", None)
    return form.key.rsplit(":", 1)[-1] if form is not None and form.key else None


def _form(session: Session, forms: dict[str, Any], form_key: str | None) -> FormDefinition | None:
    if not form_key:
        return None
    if form_key in forms:
        return parse_form(json.dumps(forms[form_key]), f"{form_key}.form")
    from engine.core.models import FormVersion
    deployed = session.scalar(select(FormVersion).where(FormVersion.form_key == form_key)
                              .order_by(FormVersion.version.desc()).limit(1))
    return parse_form(json.dumps(deployed.definition), f"{form_key}.form") if deployed else None


def _latest_data(workflow: Any) -> dict[str, Any]:
    ready = workflow.get_tasks(state=TaskState.READY)
    return dict(ready[0].data) if ready else dict(workflow.data)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(values, default=str))


def _log(trial: TrialRun, actor: Actor, action: str, element: str | None, data: Any,
         as_role: str | None = None) -> None:
    entry = {"at": clock.now().isoformat(), "by": actor.username, "action": action, "element": element,
             "as_role": as_role, "data": _jsonable(data if isinstance(data, dict) else {})}
    trial.log = (list(trial.log or []) + [entry])[-MAX_LOG:]

