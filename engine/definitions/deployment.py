"""Deployment of definition files and lookup of deployed versions. A deployment validates all
given files together and stores them in one transaction: every process and form whose content
changed gets the next version; unchanged content keeps its version. A process embeds the
processes it calls and the DMN tables it uses (SpiffWorkflow builds them into its spec), so
when a deployment changes one of those, every deployed process that depends on it is built
again from its own file and gets a new version in the same transaction: a designer changes one
stage or one table, and new instances of the lifecycle run it. Deployed specs are restored once
per process and cached, since instances of one version share an immutable spec."""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine.core import audit, clock, commands
from engine.core.db import Database
from engine.definitions.specs import dump_specs, load_specs
from engine.core.errors import DefinitionInvalid, NotFound, Problem
from engine.definitions.forms import FormDefinition, parse_form
from engine.core.models import DefinitionFile, Deployment, FormVersion, ProcessDefinition
from engine.definitions.validation import Bundle, Known, validate_sources


# how `Deployed.because` begins (the web pages translate these)
CALLS, USES_TABLE = "calls", "uses the table"


@dataclass(frozen=True)
class Deployed:
    key: str
    version: int
    kind: str  # "process" or "form"
    changed: bool
    because: str | None = None  # why a process not in the files was deployed again


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()


def known_from_db(session: Session) -> Known:
    def called(key: str) -> list[tuple[str, bytes]]:
        definition = latest_definition(session, key, required=False)
        if definition is None:
            return []
        files = session.scalars(select(DefinitionFile).where(
            DefinitionFile.content_hash.in_(definition.source_files))).all()
        return [(f.filename, f.content) for f in files if f.kind == "bpmn"]

    def decision(ref: str) -> list[tuple[str, bytes]]:
        needle = f'id="{ref}"'.encode()
        files = session.scalars(select(DefinitionFile).where(DefinitionFile.kind == "dmn")
                                .order_by(DefinitionFile.created_at.desc())).all()
        return [(f.filename, f.content) for f in files if needle in f.content][:1]

    keys = set(session.scalars(select(FormVersion.form_key).distinct()))
    return Known(form_keys=keys, called_process_sources=called, decision_sources=decision)


def validate(session: Session, files: list[tuple[str, bytes]]) -> Bundle:
    return validate_sources(files, known_from_db(session))


def validate_where_possible(db: Database, files: list[tuple[str, bytes]]) -> tuple[Bundle, bool]:
    """Validate against what is deployed when there is a migrated database, else the files on
    their own (checking files needs no database on a fresh machine; references to forms or
    processes deployed earlier then cannot be resolved). Says which it was."""
    try:
        migrated = inspect(db.engine).has_table(FormVersion.__tablename__)
    except OperationalError:  # no server, or a file that cannot be opened
        migrated = False
    if not migrated:
        return validate_sources(files), False
    return commands.query(db, validate, files), True


def deploy(session: Session, files: list[tuple[str, bytes]], actor: str | None) -> list[Deployed]:
    """Validate and deploy all files, or raise DefinitionInvalid and write nothing."""
    bundle = validate(session, files)
    bundle.raise_if_invalid()
    now = clock.now()
    deployment = Deployment(deployed_at=now, deployed_by=actor, files=[])
    session.add(deployment)
    session.flush()
    new_files: set[str] = set()
    hashes = {s.filename: _store_file(session, s.filename, s.kind, s.content, new_files) for s in bundle.sources}
    deployment.files = sorted(hashes.values())
    results = [_deploy_form(session, form, deployment, now) for form in bundle.forms.values()]
    form_ids = _current_form_ids(session)
    for process in bundle.processes:
        sources = [hashes[f] for f in process.source_files] + _dmn_hashes(bundle, hashes)
        results.append(_deploy_process(session, process, sources, deployment, form_ids))
    changed_tables = {d for s in bundle.sources if s.kind == "dmn" and hashes[s.filename] in new_files
                      for d in _decision_ids(s.tree)}
    results += _deploy_dependents(session, results, changed_tables, deployment, form_ids)
    audit.record(session, "deploy", actor, deployment_id=deployment.id,
                 deployed=[{"key": r.key, "version": r.version, "kind": r.kind, "changed": r.changed,
                            "because": r.because} for r in results])
    return results


def _content_hash(process: Any, form_ids: dict[str, int]) -> tuple[str, str, dict[str, int]]:
    spec_text = process.spec_text or dump_specs(process.spec, process.subprocess_specs)
    forms = {k: form_ids[k] for k in _form_keys(process) if k in form_ids}
    digest = sha256(spec_text + json.dumps(process.meta, sort_keys=True) + json.dumps(forms, sort_keys=True))
    return digest, spec_text, forms


def _deploy_process(session: Session, process: Any, sources: list[str], deployment: Deployment,
                    form_ids: dict[str, int], because: str | None = None) -> Deployed:
    content_hash, spec_text, forms = _content_hash(process, form_ids)
    latest = latest_definition(session, process.key, required=False)
    if latest is not None and latest.content_hash == content_hash:
        return Deployed(process.key, latest.version, "process", False, because)
    version = (latest.version + 1) if latest else 1
    # `calls` is kept beside the spec (not hashed) so dependents are found without reading specs
    session.add(ProcessDefinition(
        key=process.key, version=version, name=process.name, content_hash=content_hash,
        spec=spec_text, meta={**process.meta, "forms": forms, "calls": sorted(process.subprocess_specs)},
        source_files=sources, deployment_id=deployment.id, deployed_at=deployment.deployed_at,
        deployed_by=deployment.deployed_by))
    session.flush()  # the next lookup of this key (a dependent's build) must see this version
    return Deployed(process.key, version, "process", True, because)


def _deploy_dependents(session: Session, results: list[Deployed], changed_tables: set[str],
                       deployment: Deployment, form_ids: dict[str, int]) -> list[Deployed]:
    """Deploy again every process that calls a process changed here or uses a table changed
    here, then their callers in turn; one that no longer validates refuses the deployment."""
    done = {r.key for r in results if r.kind == "process"}
    changed = {r.key for r in results if r.kind == "process" and r.changed}
    found: list[Deployed] = []
    while changed or changed_tables:
        dependents = _dependents_of(session, done, changed, changed_tables)
        changed, changed_tables = set(), set()
        for definition, reason in dependents:
            result = _rebuild(session, definition, reason, deployment, form_ids)
            found.append(result)
            if result.changed:
                changed.add(result.key)
    return found


def dependents(session: Session, bundle: Bundle) -> list[tuple[str, str]]:
    """What deploying a valid bundle would also deploy again, as (process key, reason), read
    from what is deployed (nothing is built): the processes that call a process of the bundle
    whose content differs from its latest version, or use a table of the bundle not deployed
    in this form, and then their callers."""
    form_ids = _current_form_ids(session)
    changed = set()
    for process in bundle.processes:
        latest = latest_definition(session, process.key, required=False)
        if latest is None or latest.content_hash != _content_hash(process, form_ids)[0]:
            changed.add(process.key)
    tables = {d for s in bundle.sources if s.kind == "dmn" and session.get(DefinitionFile, sha256(s.content)) is None
              for d in _decision_ids(s.tree)}
    done = {p.key for p in bundle.processes}
    found: list[tuple[str, str]] = []
    while changed or tables:
        round_ = _dependents_of(session, done, changed, tables)
        found += [(definition.key, reason) for definition, reason in round_]
        changed, tables = {definition.key for definition, _ in round_}, set()
    return found


def _dependents_of(session: Session, done: set[str], processes: set[str],
                   tables: set[str]) -> list[tuple[ProcessDefinition, str]]:
    """One round: the latest definitions not yet `done` that depend on these; marks them done."""
    found = []
    for definition in latest_definitions(session):
        reason = None if definition.key in done else _depends_on(session, definition, processes, tables)
        if reason:
            done.add(definition.key)
            found.append((definition, reason))
    return found


def _depends_on(session: Session, definition: ProcessDefinition, processes: set[str],
                tables: set[str]) -> str | None:
    calls = definition.meta.get("calls")
    if calls is None:  # deployed before `calls` was kept
        calls = list(json.loads(definition.spec).get("subprocess_specs", {}))
    called = sorted(set(calls) & processes)
    if called:
        return f"{CALLS} " + ", ".join(called)
    if tables:
        own = session.get(DefinitionFile, definition.source_files[0]) if definition.source_files else None
        used = sorted(t for t in tables if own is not None and f'decisionRef="{t}"'.encode() in own.content)
        if used:
            return f"{USES_TABLE} " + ", ".join(used)
    return None


def _rebuild(session: Session, definition: ProcessDefinition, reason: str, deployment: Deployment,
             form_ids: dict[str, int]) -> Deployed:
    own = session.get(DefinitionFile, definition.source_files[0])
    bundle = validate(session, [(own.filename, own.content)])
    if bundle.problems:
        raise DefinitionInvalid([
            Problem(p.file, f"'{definition.key}' {reason} and would no longer work: {p.message}",
                    line=p.line, element_id=p.element_id) for p in bundle.problems])
    [process] = [p for p in bundle.processes if p.key == definition.key]
    return _deploy_process(session, process, definition.source_files, deployment, form_ids, reason)


def _decision_ids(tree: Any) -> set[str]:
    return {node.get("id") for node in tree.iter("{*}decision") if node.get("id")}


def _store_file(session: Session, filename: str, kind: str, content: bytes, new: set[str]) -> str:
    digest = sha256(content)
    if session.get(DefinitionFile, digest) is None:
        new.add(digest)
        session.add(DefinitionFile(content_hash=digest, filename=filename.rsplit("/", 1)[-1],
                                   kind=kind, content=content, created_at=clock.now()))
    return digest


def _dmn_hashes(bundle: Bundle, hashes: dict[str, str]) -> list[str]:
    return [hashes[s.filename] for s in bundle.sources if s.kind == "dmn"]


def _deploy_form(session: Session, form: FormDefinition, deployment: Deployment, now: Any) -> Deployed:
    digest = sha256(json.dumps(form.raw, sort_keys=True))
    latest = session.scalars(select(FormVersion).where(FormVersion.form_key == form.id)
                             .order_by(FormVersion.version.desc()).limit(1)).first()
    if latest is not None and latest.content_hash == digest:
        return Deployed(form.id, latest.version, "form", False)
    version = latest.version + 1 if latest else 1
    session.add(FormVersion(form_key=form.id, version=version, content_hash=digest,
                            definition=form.raw, deployment_id=deployment.id, deployed_at=now))
    session.flush()
    return Deployed(form.id, version, "form", True)


def _current_form_ids(session: Session) -> dict[str, int]:
    latest = select(FormVersion.form_key, func.max(FormVersion.version).label("v")) \
        .group_by(FormVersion.form_key).subquery()
    rows = session.execute(select(FormVersion.form_key, FormVersion.id).join(
        latest, (FormVersion.form_key == latest.c.form_key) & (FormVersion.version == latest.c.v)))
    return {key: ident for key, ident in rows}


def _form_keys(process: Any) -> set[str]:
    keys = set()
    if process.meta.get("start_form_key"):
        keys.add(process.meta["start_form_key"])
    for spec in [process.spec, *process.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            form = getattr(task_spec, "form", None)
            if form is not None and getattr(form, "key", None):
                keys.add(form.key.rsplit(":", 1)[-1])
    return keys


def latest_definition(session: Session, key: str, required: bool = True) -> ProcessDefinition | None:
    definition = session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key)
                                 .order_by(ProcessDefinition.version.desc()).limit(1)).first()
    if definition is None and required:
        raise NotFound(f"no process definition with key '{key}'")
    return definition


def latest_definitions(session: Session) -> list[ProcessDefinition]:
    newest = select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v")) \
        .group_by(ProcessDefinition.key).subquery()
    return list(session.scalars(select(ProcessDefinition).join(
        newest, (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.v))
        .order_by(ProcessDefinition.key)))


def form_for(session: Session, definition: ProcessDefinition, form_key: str | None) -> FormDefinition | None:
    """The form version pinned by the definition (deployed with or before it)."""
    if not form_key:
        return None
    form_id = definition.meta.get("forms", {}).get(form_key)
    row = session.get(FormVersion, form_id) if form_id else None
    if row is None:
        return None
    return _parsed_form((row.id, row.content_hash), row.definition)


def prefetch_forms(session: Session, definition: ProcessDefinition,
                   form_keys: Iterable[str | None]) -> list[FormVersion]:
    """Load the form versions the definition pins for these keys in one query, so that the
    `form_for` calls of a page that shows many tasks' forms (a timeline) find them in the
    session instead of asking one by one. The session holds its objects weakly: keep the
    returned list while those calls run."""
    pinned = definition.meta.get("forms", {})
    ids = {pinned[key] for key in form_keys if key and key in pinned}
    return list(session.scalars(select(FormVersion).where(FormVersion.id.in_(ids)))) if ids else []


_form_cache: dict[tuple[int, str], FormDefinition] = {}


def _parsed_form(row_id: tuple[int, str], raw: dict[str, Any]) -> FormDefinition:
    form = _form_cache.get(row_id)
    if form is None:
        form = parse_form(json.dumps(raw), f"form {row_id[0]}")
        _form_cache[row_id] = form
    return form


class SpecCache:
    """Restored specs per definition id: restoring a spec costs milliseconds, sharing it is free."""

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[tuple[int, str], tuple[Any, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, definition: ProcessDefinition) -> tuple[Any, dict[str, Any]]:
        # keyed by content too: ids restart when a test database is emptied
        key = (definition.id, definition.content_hash)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        specs = load_specs(definition.spec)
        with self._lock:
            self._items[key] = specs
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return specs


SPECS = SpecCache()
