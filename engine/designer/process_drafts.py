"""Process drafts: what a designer edits in the browser before it becomes a deployed version.
This module owns the drafts table (one row per draft holding its .bpmn/.dmn/.form files as
text, who changed it last, an optimistic revision), the rule that only designers see and
change drafts, starting a draft from a deployed version, saving, uploading and removing files,
validating a draft with the deployment pipeline (the same checks as `processes validate`, each
finding at its file, line and element) and deploying it as new versions, all files in one
transaction. Nothing in a draft is parsed until it is validated, and then only by the hardened
parser, so a hostile upload is stored as inert text at worst and refused with a clear message."""
from __future__ import annotations

import json
import re
from xml.sax.saxutils import quoteattr
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import audit, clock
from engine.designer import bpmnlint
from engine.definitions import deployment, elements
from engine.core.errors import Conflict, Forbidden, InvalidData, NotFound, Problem
from engine.core.models import Base, FormVersion, ProcessDefinition
from engine.core.principals import Actor
from engine.definitions.validation import kind_of
from engine.definitions.xmlsafe import MAX_DEFINITION_BYTES

MAX_FILES = 60
_DECISION_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,80}$")
# what the designer's "new decision table" starts from: FEEL declared, one input, one output, one
# rule that matches anything, and the diagram shape dmn-js needs to show the decision
BLANK_DECISION = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" \
xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/" xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" \
id="Definitions_{id}" name={name} namespace="http://scitech.example/dmn" \
expressionLanguage="https://www.omg.org/spec/DMN/20191111/FEEL/" exporter="scitech-workflow designer (dmn-js)">
  <decision id="{id}" name={name}>
    <decisionTable id="Table_{id}" hitPolicy="UNIQUE">
      <input id="Input_1" label="input">
        <inputExpression id="InputExpression_1" typeRef="string"><text>input</text></inputExpression>
      </input>
      <output id="Output_1" label="output" name="output" typeRef="string"/>
      <rule id="Rule_1">
        <inputEntry id="InputEntry_1_1"><text>-</text></inputEntry>
        <outputEntry id="OutputEntry_1_1"><text>""</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
  <dmndi:DMNDI>
    <dmndi:DMNDiagram id="DMNDiagram_{id}">
      <dmndi:DMNShape id="DMNShape_{id}" dmnElementRef="{id}"><dc:Bounds height="80" width="180" x="160" y="100"/></dmndi:DMNShape>
    </dmndi:DMNDiagram>
  </dmndi:DMNDI>
</definitions>
"""
_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,150}\.(bpmn|dmn|form)$", re.IGNORECASE)


class ProcessDraft(Base):
    __tablename__ = "process_drafts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # filename -> file text; the files deploy together
    files: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    based_on_key: Mapped[str | None] = mapped_column(String(200))
    based_on_version: Mapped[int | None]
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime]
    deployed_at: Mapped[datetime | None]
    # the last deployment from this draft: [{key, version, kind, changed}]
    deployed: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": revision}


@dataclass(frozen=True)
class Validation:
    valid: bool
    problems: list[Problem]
    processes: list[str]
    # bpmnlint's advice (engine/designer/bpmnlint.py): never a reason to refuse a deployment
    lint: list[bpmnlint.Finding] = field(default_factory=list)
    lint_unavailable: str | None = None
    # deployed processes that embed what the draft changes, and would get new versions too
    also: list[tuple[str, str]] = field(default_factory=list)


def require_designer(actor: Actor) -> None:
    if not actor.is_designer:
        raise Forbidden("only process designers may do this")


def list_drafts(session: Session, actor: Actor) -> list[ProcessDraft]:
    require_designer(actor)
    return list(session.scalars(select(ProcessDraft).order_by(ProcessDraft.updated_at.desc(), ProcessDraft.id)))


def get(session: Session, actor: Actor, draft_id: int) -> ProcessDraft:
    require_designer(actor)
    draft = session.get(ProcessDraft, draft_id)
    if draft is None:
        raise NotFound(f"no draft {draft_id}")
    return draft


def create(session: Session, actor: Actor, name: str, files: dict[str, str] | None = None) -> ProcessDraft:
    require_designer(actor)
    name = _name(name)
    now = clock.now()
    draft = ProcessDraft(name=name, files={}, created_by=actor.username, created_at=now,
                         updated_by=actor.username, updated_at=now)
    for filename, text in (files or {}).items():
        _put(draft, filename, text)
    session.add(draft)
    session.flush()
    audit.record(session, "process_draft_created", actor.username, draft_id=draft.id, name=name,
                 files=sorted(draft.files))
    return draft


def from_definition(session: Session, actor: Actor, key: str, version: int | None = None,
                    name: str | None = None) -> ProcessDraft:
    """A draft holding a deployed version's BPMN and DMN files and the forms it pins, so the
    designer changes exactly what runs today."""
    require_designer(actor)
    definition = definition_of(session, key, version)
    files = source_files(session, definition)
    draft = create(session, actor, name or f"{definition.name or key} v{definition.version}", files)
    draft.based_on_key, draft.based_on_version = definition.key, definition.version
    return draft


def definition_of(session: Session, key: str, version: int | None) -> ProcessDefinition:
    if version is None:
        return deployment.latest_definition(session, key)  # type: ignore[return-value]
    found = session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.version == version))
    if found is None:
        raise NotFound(f"no version {version} of process '{key}'")
    return found


def source_files(session: Session, definition: ProcessDefinition) -> dict[str, str]:
    """The files a deployed version was built from: its BPMN (and DMN) files as stored, and its
    pinned form versions as .form files."""
    files: dict[str, str] = {}
    for file in elements.source_files(session, definition):
        files[file.filename] = file.content.decode("utf-8")
    form_ids = (definition.meta or {}).get("forms", {})
    for form_key, form_id in sorted(form_ids.items()):
        form = session.get(FormVersion, form_id)
        if form is not None:
            files[f"{form_key}.form"] = json.dumps(form.definition, ensure_ascii=False, indent=2)
    return files


def save_file(session: Session, actor: Actor, draft_id: int, filename: str, text: str,
              revision: int | None = None) -> ProcessDraft:
    """Add or replace one file. With `revision`, refuse (409) if someone saved meanwhile."""
    draft = _for_change(session, actor, draft_id, revision)
    files = dict(draft.files)
    draft.files = files  # a new dict, so the JSON column is written
    _put(draft, filename, text)
    _touch(draft, actor)
    audit.record(session, "process_draft_saved", actor.username, draft_id=draft.id, file=filename,
                 bytes=len(text.encode("utf-8")))
    return draft


def new_decision(session: Session, actor: Actor, draft_id: int, decision_id: Any, name: Any) -> str:
    """Add a blank FEEL decision table `<decision_id>.dmn` to the draft; its file name."""
    if not isinstance(decision_id, str) or not _DECISION_ID.match(decision_id.strip()):
        raise InvalidData("the decision id is not usable", {"decision_id": [
            "Start with a letter; then letters, digits, '_' or '-' (at most 81)."]})
    decision_id = decision_id.strip()
    filename = f"{decision_id}.dmn"
    draft = _for_change(session, actor, draft_id, None)
    if filename in draft.files:
        raise InvalidData(f"the draft already has {filename}", {"decision_id": ["Already in this draft."]})
    text = BLANK_DECISION.format(id=decision_id, name=quoteattr(_name(name or decision_id)))
    save_file(session, actor, draft_id, filename, text)
    return filename


def remove_file(session: Session, actor: Actor, draft_id: int, filename: str,
                revision: int | None = None) -> ProcessDraft:
    draft = _for_change(session, actor, draft_id, revision)
    if filename not in draft.files:
        raise NotFound(f"the draft has no file '{filename}'")
    draft.files = {k: v for k, v in draft.files.items() if k != filename}
    _touch(draft, actor)
    audit.record(session, "process_draft_saved", actor.username, draft_id=draft.id, removed=filename)
    return draft


def rename(session: Session, actor: Actor, draft_id: int, name: str) -> ProcessDraft:
    draft = _for_change(session, actor, draft_id, None)
    draft.name = _name(name)
    _touch(draft, actor)
    return draft


def delete(session: Session, actor: Actor, draft_id: int) -> None:
    draft = get(session, actor, draft_id)
    audit.record(session, "process_draft_deleted", actor.username, draft_id=draft.id, name=draft.name)
    session.delete(draft)


def validate(session: Session, actor: Actor, draft_id: int, lint: bool = False) -> Validation:
    """The deployment pipeline's verdict on the draft's files, without deploying anything; with
    `lint`, bpmnlint's advice on its BPMN files too."""
    draft = get(session, actor, draft_id)
    if not draft.files:
        return Validation(False, [Problem("(draft)", "the draft has no files yet")], [])
    bundle = deployment.validate(session, _as_bytes(draft))
    findings, unavailable = bpmnlint.lint(draft.files) if lint else ([], None)
    also = deployment.dependents(session, bundle) if not bundle.problems else []
    return Validation(not bundle.problems, list(bundle.problems), [p.key for p in bundle.processes],
                      findings, unavailable, also)


def deploy(session: Session, actor: Actor, draft_id: int) -> list[deployment.Deployed]:
    """Deploy every file of the draft as new versions, all or nothing (DefinitionInvalid with
    every finding otherwise). The draft stays, so the designer can go on from it."""
    draft = get(session, actor, draft_id)
    if not draft.files:
        raise InvalidData("the draft has no files to deploy", {"files": ["Add a .bpmn file first."]})
    results = deployment.deploy(session, _as_bytes(draft), actor.username)
    draft.deployed_at = clock.now()
    draft.deployed = [{"key": r.key, "version": r.version, "kind": r.kind, "changed": r.changed,
                      "because": r.because} for r in results]
    audit.record(session, "process_draft_deployed", actor.username, draft_id=draft.id, deployed=draft.deployed)
    return results


def files_as_bytes(draft: ProcessDraft) -> list[tuple[str, bytes]]:
    return _as_bytes(draft)


def _as_bytes(draft: ProcessDraft) -> list[tuple[str, bytes]]:
    return [(name, text.encode("utf-8")) for name, text in sorted(draft.files.items())]


def _for_change(session: Session, actor: Actor, draft_id: int, revision: int | None) -> ProcessDraft:
    draft = get(session, actor, draft_id)
    if revision is not None and revision != draft.revision:
        raise Conflict(f"the draft was changed by {draft.updated_by} meanwhile (revision {draft.revision}, "
                       f"yours {revision}); reload it")
    return draft


def _touch(draft: ProcessDraft, actor: Actor) -> None:
    draft.updated_by, draft.updated_at = actor.username, clock.now()


def _name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidData("the draft needs a name", {"name": ["Missing data for required field."]})
    if len(name.strip()) > 200:
        raise InvalidData("the name is too long", {"name": ["At most 200 characters."]})
    return name.strip()


def _put(draft: ProcessDraft, filename: Any, text: Any) -> None:
    if not isinstance(filename, str) or not _FILENAME.match(filename) or kind_of(filename) is None:
        raise InvalidData(f"'{filename}' is not a usable file name",
                          {"filename": ["Use letters, digits, '.', '_' or '-', ending in .bpmn, .dmn or .form."]})
    if not isinstance(text, str):
        raise InvalidData("the file must be text", {"content": ["Must be UTF-8 text."]})
    if len(text.encode("utf-8")) > MAX_DEFINITION_BYTES:
        raise InvalidData(f"'{filename}' is larger than {MAX_DEFINITION_BYTES // (1024 * 1024)} MB",
                          {"content": [f"At most {MAX_DEFINITION_BYTES} bytes."]})
    if filename not in draft.files and len(draft.files) >= MAX_FILES:
        raise InvalidData(f"a draft holds at most {MAX_FILES} files", {"filename": ["Too many files."]})
    draft.files[filename] = text
