"""Validation of definition files before anything is deployed: safe XML parsing, the BPMN XSD,
SpiffWorkflow's own parse, and our conventions (forms resolve, expressions and scripts compile
in the sandbox, called processes and DMN decisions exist, assignments and due dates are
well-formed). Every finding is a `Problem` with the file, line and element id.

`validate_sources` returns a `Bundle`: the parsed specs and forms ready for deployment, or the
problems; it never raises for bad input and never writes anything."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.definitions import (decision_tables, duedates, escalation_policy, expressions, juel,
                                visibility, xmlsafe)
from engine.scripting import sandbox
from engine.definitions.parser import CAMUNDA_NS, EngineParser, decision_ref
from engine.scripting.script_engine import is_timer_literal
from engine.core.errors import DefinitionInvalid, Problem
from engine.definitions.forms import FormDefinition, parse_form
from engine.definitions.specs import dump_specs

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}
KINDS = {".bpmn": "bpmn", ".bpmn20.xml": "bpmn", ".dmn": "dmn", ".form": "form"}
_NAME = re.compile(r"^[\w.@\-]+$", re.UNICODE)
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CRON = re.compile(r"^[\d*?/,LW#A-Z-]+(\s+[\d*?/,LW#A-Z-]+){4,6}$")
_TIMER_TAGS = ("timeDate", "timeDuration", "timeCycle")
_NO_DECISION = ("business rule task names no DMN decision (camunda:decisionRef, "
                "spiffworkflow:calledDecisionId or zeebe:calledDecision)")


@dataclass
class Source:
    filename: str
    content: bytes
    kind: str
    tree: Any = None


@dataclass
class ProcessBundle:
    key: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    meta: dict[str, Any]
    source_files: list[str]
    spec_text: str = ""  # the serialized specs, made once while checking they can be stored


@dataclass
class Bundle:
    sources: list[Source] = field(default_factory=list)
    processes: list[ProcessBundle] = field(default_factory=list)
    forms: dict[str, FormDefinition] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def raise_if_invalid(self) -> None:
        if self.problems:
            raise DefinitionInvalid(self.problems)


# Deployed artefacts that the given files may refer to without carrying them (a process calling
# an already deployed stage, a form deployed earlier). Supplied by the deployment module.
@dataclass
class Known:
    form_keys: set[str] = field(default_factory=set)
    called_process_sources: Callable[[str], list[tuple[str, bytes]]] = lambda key: []
    decision_sources: Callable[[str], list[tuple[str, bytes]]] = lambda ref: []


def kind_of(filename: str) -> str | None:
    lower = filename.lower()
    return next((kind for ext, kind in KINDS.items() if lower.endswith(ext)), None)


def collect_paths(paths: list[str]) -> list[tuple[str, bytes]]:
    """Files named on a command line: folders contribute their definition files, sorted."""
    found: list[tuple[str, bytes]] = []
    for raw in paths:
        path = Path(raw)
        members = sorted(p for p in path.rglob("*") if p.is_file() and kind_of(p.name)) \
            if path.is_dir() else [path]
        for member in members:
            found.append((str(member), member.read_bytes()))
    return found


def validate_sources(files: list[tuple[str, bytes]], known: Known | None = None) -> Bundle:
    known = known or Known()
    bundle = Bundle()
    if not files:
        bundle.problems.append(Problem("(none)", "no definition files were given"))
        return bundle
    _load_sources(files, bundle)
    if bundle.problems:
        return bundle
    parser = _spiff_parser(bundle)
    if parser is None:
        return bundle
    _resolve_dependencies(parser, bundle, known)
    form_keys = known.form_keys | set(bundle.forms)
    for source in bundle.sources:
        if source.kind == "bpmn":
            bundle.problems.extend(check_conventions(source, form_keys, parser))
    if not bundle.problems:
        _build_specs(parser, bundle)
    if not bundle.problems and not bundle.processes and not bundle.forms and \
            not any(s.kind == "dmn" for s in bundle.sources):
        bundle.problems.append(Problem(bundle.sources[0].filename,
                                       "no executable process (isExecutable=\"true\") was found"))
    return bundle


def _load_sources(files: list[tuple[str, bytes]], bundle: Bundle) -> None:
    seen_forms: dict[str, str] = {}
    for filename, content in files:
        kind = kind_of(filename)
        if kind is None:
            bundle.problems.append(Problem(filename, "unsupported file type; expected .bpmn, .dmn or .form"))
            continue
        try:
            if kind == "form":
                form = parse_form(content, filename)
                if form.id in seen_forms:
                    bundle.problems.append(Problem(filename, f"form id '{form.id}' is also defined in {seen_forms[form.id]}", element_id=form.id))
                seen_forms[form.id] = filename
                bundle.forms[form.id] = form
                bundle.sources.append(Source(filename, content, kind))
                continue
            tree = xmlsafe.parse_xml(content, filename)
        except DefinitionInvalid as invalid:
            bundle.problems.extend(invalid.problems)
            continue
        if kind == "bpmn" and not xmlsafe.is_bpmn(tree):
            bundle.problems.append(Problem(filename, "not a BPMN 2.0 document (root element must be bpmn:definitions)"))
            continue
        if kind == "dmn" and not xmlsafe.is_dmn(tree):
            bundle.problems.append(Problem(filename, "not a DMN document"))
            continue
        if kind == "dmn":
            bundle.problems.extend(decision_tables.problems(tree, filename))
        if kind == "bpmn":
            bundle.problems.extend(xmlsafe.bpmn_schema_problems(tree, filename))
            bundle.problems.extend(_attributes_spiff_requires(tree, filename))
            bundle.problems.extend(expressions.translate_tree(tree, filename))
        bundle.sources.append(Source(filename, content, kind, tree))


def _attributes_spiff_requires(tree: Any, filename: str) -> list[Problem]:
    """SpiffWorkflow's parser crashes with a bare KeyError on these; say it properly first."""
    problems = [Problem(filename, _NO_DECISION, line=node.sourceline, element_id=node.get("id"))
                for node in tree.iter(f"{{{BPMN_NS}}}businessRuleTask") if not decision_ref(node)]
    for timer in tree.iter(f"{{{BPMN_NS}}}timerEventDefinition"):
        if not any(timer.find(f"{{{BPMN_NS}}}{tag}") is not None for tag in _TIMER_TAGS):
            event = timer.getparent()
            problems.append(Problem(filename, "timer event has no timeDate, timeDuration or timeCycle, "
                                    "so it would never fire", line=event.sourceline,
                                    element_id=event.get("id")))
    return problems


_CUT_OFF = "Multiple outgoing flows are not supported for tasks of type"


def _problem_from_spiff(error: Exception, default_file: str) -> Problem:
    line = getattr(error, "line_number", None)
    message = str(error).strip()
    if message.startswith(_CUT_OFF):  # SpiffWorkflow's sentence stops before naming the type
        kind = str(getattr(error, "tag", "") or "task").removeprefix("bpmn:")
        message = (f"A {kind} may have only one outgoing sequence flow; "
                   "to branch, lead it into a gateway.")
    return Problem(getattr(error, "file_name", None) or default_file, message,
                   line=line if isinstance(line, int) and line > 0 else None,
                   element_id=getattr(error, "id", None) or None)


def _spiff_parser(bundle: Bundle) -> EngineParser | None:
    parser = EngineParser()
    for source in sorted(bundle.sources, key=lambda s: s.kind != "dmn"):
        if source.kind == "form":
            continue
        try:
            if source.kind == "dmn":
                parser.add_dmn_xml(source.tree.getroot(), filename=source.filename)
            else:
                parser.add_bpmn_xml(source.tree, filename=source.filename)
        except (ValidationException, SpiffWorkflowException) as error:
            bundle.problems.append(_problem_from_spiff(error, source.filename))
        except Exception as error:  # a SpiffWorkflow parser crash on odd input is still bad input
            bundle.problems.append(Problem(source.filename, f"cannot be parsed: {error}"))
    return None if bundle.problems else parser


def _resolve_dependencies(parser: EngineParser, bundle: Bundle, known: Known) -> None:
    """Pull in already deployed processes and decisions that the given files call."""
    for _ in range(50):  # bounded: each round adds at least one missing process
        missing = [key for key in parser.get_process_dependencies() if key not in parser.process_parsers]
        if not missing:
            break
        added = False
        for key in missing:
            for filename, content in known.called_process_sources(key):
                tree = xmlsafe.parse_xml(content, filename)
                expressions.translate_tree(tree, filename)  # it was deployed, so it translates
                parser.add_bpmn_xml(tree, filename=f"(deployed) {filename}")
                added = True
        if not added:
            break
    # decisions used by the given files and by the deployed processes pulled in above
    for ref in sorted(parser.get_dmn_dependencies()):
        if ref and ref not in parser.dmn_parsers:
            for filename, content in known.decision_sources(ref):
                parser.add_dmn_xml(xmlsafe.parse_xml(content, filename).getroot(), filename=filename)


def check_conventions(source: Source, form_keys: set[str], parser: EngineParser) -> list[Problem]:
    """Our own rules, read from the XML so that each finding carries a line number."""
    problems: list[Problem] = []
    tree = source.tree

    def add(node: Any, message: str) -> None:
        problems.append(Problem(source.filename, message, line=node.sourceline,
                                element_id=node.get("id")))

    ids = {n.get("id") for n in tree.iter() if isinstance(n.tag, str) and n.get("id")}
    for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        for end in ("sourceRef", "targetRef"):
            if not flow.get(end):
                add(flow, f"sequence flow has no {end}")
            elif flow.get(end) not in ids:
                add(flow, f"sequence flow {end} '{flow.get(end)}' points to no element")
    for node in tree.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}startEvent"):
        _check_form_key(node, form_keys, add)
    for node in tree.iter(f"{{{BPMN_NS}}}userTask"):
        _check_assignment(node, add)
    for node in tree.iter(f"{{{BPMN_NS}}}startEvent"):
        initiator = node.get(f"{{{CAMUNDA_NS}}}initiator")
        if initiator is not None and not _VAR.match(initiator):
            add(node, f"camunda:initiator '{initiator}' is not a valid variable name")
    _check_expressions(tree, add)
    _check_escalation_properties(tree, add)
    for node in tree.iter(f"{{{BPMN_NS}}}callActivity"):
        called = node.get("calledElement")
        if not called:
            add(node, "call activity has no calledElement")
        elif called not in parser.process_parsers:
            add(node, f"called process '{called}' is neither in these files nor deployed")
    for node in tree.iter(f"{{{BPMN_NS}}}businessRuleTask"):
        ref = decision_ref(node)
        if not ref:
            add(node, _NO_DECISION)
        elif ref not in parser.dmn_parsers:
            add(node, f"DMN decision '{ref}' is neither in these files nor deployed")
    return problems


def _check_form_key(node: Any, form_keys: set[str], add: Callable[[Any, str], None]) -> None:
    key = node.get(f"{{{CAMUNDA_NS}}}formKey")
    if key is None:
        return
    if key.startswith("camunda-forms:"):
        key = key.rsplit(":", 1)[-1]
    if key not in form_keys:
        add(node, f"camunda:formKey '{key}' names no form (deploy a .form file with this id)")


def _check_assignment(node: Any, add: Callable[[Any, str], None]) -> None:
    for attr in ("assignee", "candidateUsers", "candidateGroups"):
        value = node.get(f"{{{CAMUNDA_NS}}}{attr}")
        if value is None:
            continue
        for part in split_names(value):
            if part.startswith("${"):
                if not part.endswith("}"):
                    add(node, f"camunda:{attr}: unterminated expression '{part}'")
                    continue
                message = sandbox.check_expression(part[2:-1])
                if message:
                    add(node, f"camunda:{attr} expression '{part}': {message}")
            elif not _NAME.match(part):
                add(node, f"camunda:{attr}: '{part}' is not a valid user or group name")
        if attr == "assignee" and value.count(",") and not value.startswith("${"):
            add(node, "camunda:assignee names one user; use candidateUsers for several")
    due = node.get(f"{{{CAMUNDA_NS}}}dueDate")
    if due is not None:
        message = duedates.check_due_setting(due)
        if message:
            add(node, f"camunda:dueDate: {message}")
    for prop in node.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS):
        if prop.get("name") == "dueWorkingDays" and not (prop.get("value") or "").strip().isdigit():
            add(node, f"dueWorkingDays must be a whole number of working days, not '{prop.get('value')}'")
        if prop.get("name") == "completionCheck":  # evaluated at each completion (runtime/tasks.py)
            message = sandbox.check_expression((prop.get("value") or "").strip() or "None")
            if message:
                add(node, f"completionCheck expression: {message}")


def _properties(node: Any) -> dict[str, str]:
    found = node.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS)
    return {p.get("name"): p.get("value") or "" for p in found if p.get("name")}


def _check_escalation_properties(tree: Any, add: Callable[[Any, str], None]) -> None:
    """A misspelt reminder or escalation setting would silently fall back to the default at
    run time; refuse it at deploy time instead, at the element that carries it."""
    for node in tree.iter(f"{{{BPMN_NS}}}process"):
        for message in escalation_policy.check_properties(_properties(node), process_level=True):
            add(node, message)
        for message in visibility.check_declarations(_properties(node)):  # who may see what
            add(node, message)
    for node in tree.iter(f"{{{BPMN_NS}}}userTask"):
        for message in escalation_policy.check_properties(_properties(node)):
            add(node, message)


def split_names(value: str) -> list[str]:
    """Comma-separated names, keeping each `${...}` expression whole even if it holds commas."""
    return juel.split_names(value)


def _check_expressions(tree: Any, add: Callable[[Any, str], None]) -> None:
    for cond in tree.iter(f"{{{BPMN_NS}}}conditionExpression", f"{{{BPMN_NS}}}completionCondition",
                          f"{{{BPMN_NS}}}loopCardinality"):
        text = (cond.text or "").strip()
        owner = cond.getparent()
        if not text:
            add(owner, f"empty {etree.QName(cond).localname}")
            continue
        message = sandbox.check_expression(_strip_dollar(text))
        if message:
            add(owner, f"expression '{text}': {message}")
    for script in tree.iter(f"{{{BPMN_NS}}}script"):
        owner = script.getparent()
        message = sandbox.check_script(script.text or "")
        if message:
            add(owner, f"script: {message}")
    for tag in ("timeDate", "timeDuration", "timeCycle"):
        for timer in tree.iter(f"{{{BPMN_NS}}}{tag}"):
            text = (timer.text or "").strip()
            owner = timer.getparent().getparent()
            if not text:
                add(owner, f"timer {tag} is empty")
            elif _CRON.match(text):
                add(owner, f"timer {tag} '{text}' is a cron expression, which is not supported; "
                           "write an ISO 8601 cycle such as R/P1D or R5/2027-01-01T09:00:00+08:00/P1D")
            elif not is_timer_literal(text):
                message = sandbox.check_expression(text)
                if message:
                    add(owner, f"timer {tag} '{text}' is neither an ISO 8601 value nor a valid expression: {message}")


def _strip_dollar(text: str) -> str:
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def _build_specs(parser: EngineParser, bundle: Bundle) -> None:
    trees = {s.filename: s for s in bundle.sources if s.kind == "bpmn"}
    for key in parser.get_process_ids():
        process_parser = parser.get_process_parser(key)
        filename = process_parser.filename or ""
        if filename not in trees:
            continue  # a deployed process pulled in only to resolve a call activity
        try:
            spec = parser.get_spec(key)
            subprocess_specs = parser.get_subprocess_specs(key)
        except (ValidationException, SpiffWorkflowException) as error:
            bundle.problems.append(_problem_from_spiff(error, filename))
            continue
        except Exception as error:
            bundle.problems.append(Problem(filename, f"process '{key}' cannot be built: {error}", element_id=key))
            continue
        spec_text, unsupported = _stored(spec, subprocess_specs)
        if unsupported:
            bundle.problems.append(Problem(filename, f"process '{key}' uses {unsupported}, which the "
                                           "engine cannot run yet", element_id=key))
            continue
        meta = process_meta(process_parser.node)
        bundle.processes.append(ProcessBundle(key, meta.get("name") or key, spec, subprocess_specs,
                                              meta, [filename], spec_text))


def _stored(spec: Any, subprocess_specs: dict[str, Any]) -> tuple[str, str | None]:
    """The spec as deployment stores it, or the kind of element the spec codec has no converter
    for (deploying would fail while storing it)."""
    try:
        return dump_specs(spec, subprocess_specs), None
    except TypeError as error:
        match = re.search(r"Object of type (\w+)", str(error))
        return "", f"a {match.group(1)} element" if match else str(error)


def process_meta(node: Any) -> dict[str, Any]:
    """Process-level conventions: who may start it, the initiator variable, the start form."""
    meta: dict[str, Any] = {"name": node.get("name") or node.get("id")}
    # read by the scheduler (engine/definitions/escalation_policy.py) without reparsing the stored file
    meta["properties"] = _properties(node)
    groups = node.get(f"{{{CAMUNDA_NS}}}candidateStarterGroups")
    users = node.get(f"{{{CAMUNDA_NS}}}candidateStarterUsers")
    meta["starter_groups"] = split_names(groups) if groups else []
    meta["starter_users"] = split_names(users) if users else []
    meta["restricted_start"] = groups is not None or users is not None
    for start in node.iterfind("bpmn:startEvent", NS):
        if start.find("bpmn:eventDefinitionRef", NS) is None and len(start.xpath("bpmn:*[contains(local-name(), 'EventDefinition')]", namespaces=NS)) == 0:
            meta["initiator"] = start.get(f"{{{CAMUNDA_NS}}}initiator")
            form_key = start.get(f"{{{CAMUNDA_NS}}}formKey")
            meta["start_form_key"] = form_key.rsplit(":", 1)[-1] if form_key else None
            break
    return meta
