"""Where an instance stands, for drawing it: the BPMN file it runs on (the deployed source, so
the diagram is exactly the version the instance is pinned to) and the element ids to mark as
completed, current (waiting), overdue and failed. This is the one read that loads a workflow:
it serves the instance page, one instance at a time, never a list."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.util.task import TaskState

from lxml import etree

from engine.core import bilingual, clock, names
from engine.definitions import elements, xmlsafe
from engine.runtime import projection, store
from engine.core.models import HumanTask, ProcessInstance


@dataclass(frozen=True)
class Markers:
    completed: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"completed": self.completed, "current": self.current, "overdue": self.overdue,
                "failed": self.failed}


def diagram_source(session: Session, instance: ProcessInstance, language: str | None = None) -> bytes:
    """The BPMN file the instance runs on (its own version's, never the latest); with a
    `language`, the diagram speaks it: lanes named after a group (the engine routes by those
    names) carry the group's name in that language, and bilingual element names ("验收 ·
    Acceptance") the half for that language, as readers see them."""
    source = elements.diagram(session, instance.definition)
    return source if language is None else lanes_named(session, source, language)


_LANE = "{http://www.omg.org/spec/BPMN/20100524/MODEL}lane"


def lanes_named(session: Session, source: bytes, language: str) -> bytes:
    tree = xmlsafe.parse_xml(source, "diagram.bpmn")
    lanes = [lane for lane in tree.iter(_LANE) if names.is_group(lane.get("name") or "")]
    bilingual_names = [node for node in tree.iter() if "·" in (node.get("name") or "")]
    if not lanes and not bilingual_names:
        return source
    known = names.lookup(session, groups=[lane.get("name") for lane in lanes])
    for lane in lanes:
        lane.set("name", known.group(lane.get("name"), language))
    for node in bilingual_names:
        node.set("name", bilingual.pick(node.get("name"), language))
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def markers(session: Session, instance: ProcessInstance) -> Markers:
    workflow = store.load(instance)
    store.remember(instance, workflow)  # reading changed nothing; keep it warm
    completed, current = [], []
    for task in workflow.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.state == TaskState.COMPLETED:
            completed.append(bpmn_id)
        elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED, TaskState.ERROR):
            current.append(bpmn_id)
    now = clock.now()
    overdue = list(session.scalars(select(HumanTask.name).where(
        HumanTask.process_instance_id == instance.id, HumanTask.state == projection.OPEN,
        HumanTask.due_at < now)))
    failed = [instance.error_element] if instance.error_element else []
    current_set = set(current)
    return Markers(completed=sorted(set(completed) - current_set), current=sorted(current_set),
                   overdue=sorted(set(overdue)), failed=failed)
