"""The instance page: the project's header, what it waits for, the BPMN diagram (bpmn-js
NavigatedViewer, served locally) with completed elements, current tasks and overdue tasks
marked, the audit timeline, attachments and comments, each as the viewer's role may see it:
engine/access.py decides: staff see the full timeline and all data; the applicant sees their
application, the decisions meant for them and the files shared with them; an expert the project
materials and their own work."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, render_template
from sqlalchemy.orm import Session

from engine.runtime import access, instances
from engine.workspace import applications, attachments, comments, history, progress
from engine.core import commands, summaries
from engine.core.errors import Forbidden
from engine.core.models import ProcessInstance
from engine.core.principals import Actor

from web import engine_db
from web.auth import current_actor
from web.pages.common import protected
from web.security import NOT_A_DOCUMENT

instance_pages = protected(Blueprint("instance_pages", __name__, url_prefix="/instances"))


@dataclass
class InstanceView:
    instance: ProcessInstance
    project: str
    stage: str
    staff: bool
    open_tasks: list[access.TaskLine]
    markers: dict[str, list[str]]
    timeline: list[history.Entry]
    facts: list[history.Shown]
    files: list[Any]
    notes: list[Any]
    may_upload: bool
    task: None = None
    is_applicant: bool = False


def visible_instance(session: Session, actor: Actor, instance_id: int) -> ProcessInstance:
    return seen_instance(session, actor, instance_id).instance


def seen_instance(session: Session, actor: Actor, instance_id: int) -> access.View:
    try:
        return access.view_of(session, actor, instances.get(session, instance_id))
    except Forbidden:
        raise Forbidden("this application is not yours to see") from None


def _view(session: Session, actor: Actor, instance_id: int) -> InstanceView:
    seen = seen_instance(session, actor, instance_id)
    instance = seen.instance
    summary = summaries.get(session, instance.id)
    data = instances.data_of(instance) if instance.state in (instances.RUNNING, instances.ERROR,
                                                              instances.SUSPENDED) else {}
    open_tasks = applications.open_tasks_of(session, [instance.id]).get(instance.id, [])
    return InstanceView(
        instance=instance, project=summary.title if summary else "",
        stage=applications.current_stage(session, instance, instance.definition.content_hash, open_tasks,
                                         instance.definition.name),
        staff=seen.staff, open_tasks=seen.task_lines(open_tasks),
        markers=progress.markers(session, instance).as_dict(),
        timeline=history.timeline(session, seen, instance), facts=history.key_facts(session, instance, data, seen),
        files=attachments.visible_to(session, seen),
        notes=comments.for_instance(session, actor, instance.id) if seen.staff else [],
        may_upload=attachments.may_upload(session, actor, instance, None), is_applicant=seen.role == access.APPLICANT)


@instance_pages.get("/<int:instance_id>")
def show(instance_id: int):  # type: ignore[no-untyped-def]
    view = commands.query(engine_db(), _view, current_actor(), instance_id)
    return render_template("instances/page.html", view=view, markers=view.markers)


@instance_pages.get("/<int:instance_id>/diagram.bpmn")
def diagram(instance_id: int):  # type: ignore[no-untyped-def]
    def _read(session: Session) -> bytes:
        return progress.diagram_source(session, visible_instance(session, current_actor(), instance_id))

    # the XML is the designer's, and a browser renders XML with XHTML inside as a page of our
    # origin; the viewer only needs the text, so it is never served as a document
    return Response(commands.query(engine_db(), _read), content_type="text/plain; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300", **NOT_A_DOCUMENT})
