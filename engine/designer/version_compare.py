"""Comparing two versions of a process, as a designer reads it: which BPMN elements were added,
removed or changed (and which of their settings: name, assignment, form, due date, condition,
script, timer, extension properties, wiring), and which fields of the forms the versions pin were
added, removed or changed. Elements are matched by their BPMN id, as SpiffWorkflow's own
migration diff does; the XML is read with the hardened parser from the stored files."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy.orm import Session

from engine.definitions import elements, xmlsafe
from engine.core.models import FormVersion, ProcessDefinition
from engine.core.principals import Actor
from engine.designer.process_drafts import definition_of, require_designer

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_TEXT_CHILDREN = {"conditionExpression": "condition", "script": "script", "timeDate": "timer",
                  "timeDuration": "timer", "timeCycle": "timer", "completionCondition": "completion",
                  "loopCardinality": "cardinality"}


@dataclass
class ElementChange:
    id: str
    type: str
    name: str
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Comparison:
    key: str
    from_version: int
    to_version: int
    added: list[ElementChange]
    removed: list[ElementChange]
    changed: list[ElementChange]
    forms: list[dict[str, Any]]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.forms)


def compare(session: Session, actor: Actor, key: str, from_version: int, to_version: int) -> Comparison:
    require_designer(actor)
    old, new = definition_of(session, key, from_version), definition_of(session, key, to_version)
    before, after = element_settings(session, old), element_settings(session, new)
    added = [_summary(i, after[i]) for i in sorted(set(after) - set(before))]
    removed = [_summary(i, before[i]) for i in sorted(set(before) - set(after))]
    changed = []
    for element_id in sorted(set(before) & set(after)):
        changes = _differences(before[element_id], after[element_id])
        if changes:
            changed.append(ElementChange(element_id, after[element_id]["type"], after[element_id].get("name", ""), changes))
    return Comparison(key, old.version, new.version, added, removed, changed, _form_changes(session, old, new))


def element_settings(session: Session, definition: ProcessDefinition) -> dict[str, dict[str, Any]]:
    """{element id: {type, name, setting: value}} for every element of the version's process
    (nested subprocesses included; diagram layout excluded)."""
    found: dict[str, dict[str, Any]] = {}
    for file in elements.source_files(session, definition):
        if file.kind != "bpmn":
            continue
        tree = xmlsafe.parse_xml(file.content, file.filename)
        for process in tree.getroot().iter(f"{{{BPMN_NS}}}process"):
            if process.get("id") == definition.key:
                for node in process.iter():
                    if isinstance(node.tag, str) and node is not process and node.get("id") \
                            and etree.QName(node).namespace == BPMN_NS and not _inside_extension(node, process):
                        found[node.get("id")] = _settings(node)
    return found


def _inside_extension(node: Any, stop: Any) -> bool:
    parent = node.getparent()
    while parent is not None and parent is not stop:
        if etree.QName(parent).localname == "extensionElements":
            return True
        parent = parent.getparent()
    return False


def _settings(node: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {"type": etree.QName(node).localname}
    for attribute, value in node.attrib.items():
        qname = etree.QName(attribute)
        if qname.localname == "id":
            continue
        prefix = "camunda:" if qname.namespace == CAMUNDA_NS else ""
        settings[prefix + qname.localname] = value
    for child in node:
        if not isinstance(child.tag, str):
            continue
        local = etree.QName(child).localname
        if local.endswith("EventDefinition"):
            settings["event"] = local
            for grandchild in child:
                if isinstance(grandchild.tag, str) and etree.QName(grandchild).localname in _TEXT_CHILDREN:
                    settings[_TEXT_CHILDREN[etree.QName(grandchild).localname]] = (grandchild.text or "").strip()
        elif local in _TEXT_CHILDREN:
            settings[_TEXT_CHILDREN[local]] = (child.text or "").strip()
        elif local == "extensionElements":
            for prop in child.iter(f"{{{CAMUNDA_NS}}}property"):
                settings[f"property:{prop.get('name')}"] = prop.get("value") or ""
        elif local == "multiInstanceLoopCharacteristics":
            settings["multiInstance"] = "sequential" if child.get("isSequential") == "true" else "parallel"
            for attribute, value in child.attrib.items():
                qname = etree.QName(attribute)
                if qname.namespace == CAMUNDA_NS:
                    settings[f"multiInstance camunda:{qname.localname}"] = value
    return settings


def _summary(element_id: str, settings: dict[str, Any]) -> ElementChange:
    return ElementChange(element_id, settings["type"], settings.get("name", ""))


def _differences(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"setting": k, "before": before.get(k), "after": after.get(k)}
            for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]


def _form_changes(session: Session, old: ProcessDefinition, new: ProcessDefinition) -> list[dict[str, Any]]:
    old_forms, new_forms = (old.meta or {}).get("forms", {}), (new.meta or {}).get("forms", {})
    result = []
    for form_key in sorted(set(old_forms) | set(new_forms)):
        if old_forms.get(form_key) == new_forms.get(form_key):
            continue
        before = _fields(session, old_forms.get(form_key))
        after = _fields(session, new_forms.get(form_key))
        fields_changed = [{"key": k, "changes": _differences(before[k], after[k])}
                          for k in sorted(set(before) & set(after)) if before[k] != after[k]]
        result.append({"form_key": form_key,
                       "status": "added" if form_key not in old_forms else
                                 "removed" if form_key not in new_forms else "changed",
                       "fields_added": sorted(set(after) - set(before)),
                       "fields_removed": sorted(set(before) - set(after)),
                       "fields_changed": fields_changed})
    return result


def _fields(session: Session, form_id: int | None) -> dict[str, dict[str, Any]]:
    if form_id is None:
        return {}
    form = session.get(FormVersion, form_id)
    found: dict[str, dict[str, Any]] = {}

    def walk(components: list[Any]) -> None:
        for component in components or []:
            if not isinstance(component, dict):
                continue
            if component.get("key"):
                found[component["key"]] = {
                    "type": component.get("type"), "label": component.get("label"),
                    "validate": component.get("validate") or {},
                    "values": [v.get("value") for v in component.get("values") or [] if isinstance(v, dict)]}
            walk(component.get("components") or [])
    walk((form.definition if form else {}).get("components") or [])
    return found
