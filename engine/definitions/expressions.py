"""Where a BPMN file may hold a `${...}` expression (the contract's list: conditions, assignment
attributes, due dates, multi-instance collections and cardinalities, timers) and their
translation, once at deploy, into the Python the engine evaluates (engine/definitions/juel.py
decides between JUEL and Python). The translation rewrites the parsed XML tree in place before
SpiffWorkflow reads it, so the specs hold Python only; the stored file keeps what its author
wrote. A Camunda 8 FEEL expression (`=...`) and XPath (`bpmn:getDataObject(...)`) are refused
with that reason."""
from __future__ import annotations

from typing import Any

from engine.core.errors import Problem
from engine.definitions import juel

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_TEXTS = ("conditionExpression", "completionCondition", "loopCardinality", "timeDate",
          "timeDuration", "timeCycle")
_NAME_ATTRIBUTES = ("assignee", "candidateUsers", "candidateGroups")


def translate_tree(tree: Any, filename: str) -> list[Problem]:
    """Rewrites every `${...}` in the places above into Python; a problem for each refusal."""
    problems: list[Problem] = []

    def refuse(node: Any, where: str, text: str, why: str) -> None:
        owner = _flow_element(node)
        problems.append(Problem(filename, f"{where} '{text.strip()}': {why}", line=node.sourceline,
                                element_id=owner.get("id") if owner is not None else None))

    for tag in _TEXTS:
        for node in tree.iter(f"{{{BPMN_NS}}}{tag}"):
            _translate_text(node, tag, refuse)
    for node in tree.iter(f"{{{BPMN_NS}}}userTask"):
        for attribute in (*_NAME_ATTRIBUTES, "dueDate"):
            _translate_attribute(node, attribute, refuse)
    for node in tree.iter(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
        _translate_collection(node, refuse)
    return problems


def _flow_element(node: Any) -> Any:
    """The element a designer knows by id: a timer's text belongs to its event, a completion
    condition to its task, a condition to its sequence flow."""
    while node is not None:
        local = node.tag.rsplit("}", 1)[-1] if isinstance(node.tag, str) else ""
        if node.get("id") and not local.endswith(("EventDefinition", "LoopCharacteristics")):
            return node
        node = node.getparent()
    return None


def _translate_text(node: Any, tag: str, refuse: Any) -> None:
    text = node.text or ""
    if text.strip().startswith("="):
        refuse(node, tag, text, "a FEEL expression (Camunda 8) is not supported; "
                                "write a Python expression or JUEL in ${...}")
        return
    if "getDataObject(" in text or "getActivityProperty(" in text:
        refuse(node, tag, text, "an XPath expression (BPMN's default expression language) is not "
                                "supported; write a Python expression or JUEL in ${...}")
        return
    inner = juel.unwrap(text)
    if inner is None:
        return
    try:
        node.text = juel.to_python(inner)
    except juel.JuelError as error:
        refuse(node, tag, text, f"JUEL outside the supported subset: {error}")


def _translate_attribute(node: Any, attribute: str, refuse: Any) -> None:
    name = f"{{{CAMUNDA_NS}}}{attribute}"
    value = node.get(name)
    if not value or "${" not in value:
        return
    parts = juel.split_names(value)
    translated = []
    for part in parts:
        inner = juel.unwrap(part)
        if inner is None:
            translated.append(part)
            continue
        try:
            translated.append("${" + juel.to_python(inner) + "}")
        except juel.JuelError as error:
            refuse(node, f"camunda:{attribute}", part, f"JUEL outside the supported subset: {error}")
            return
    node.set(name, ", ".join(translated))


def _translate_collection(node: Any, refuse: Any) -> None:
    name = f"{{{CAMUNDA_NS}}}collection"
    value = node.get(name)
    inner = juel.unwrap(value) if value else None
    if inner is None:
        return
    try:
        python = juel.to_python(inner)
    except juel.JuelError as error:
        refuse(node, "camunda:collection", value, f"JUEL outside the supported subset: {error}")
        return
    if not python.isidentifier():
        refuse(node, "camunda:collection", value, "must name a process variable holding the list")
        return
    node.set(name, python)
