"""The instance page: the project's header, what it waits for, the BPMN diagram (bpmn-js
NavigatedViewer, served locally) with completed elements, current tasks and overdue tasks
marked, the audit timeline, attachments and comments, each as the viewer's role may see it:
engine/runtime/access.py decides: staff see the full timeline and all data; the applicant sees their
application, the decisions meant for them and the files shared with them; an expert the project
materials and their own work."""
from __future__ import annotations

from flask import Blueprint, Response, render_template

from engine.core import commands
from engine.workspace import instance_page

from web import engine_db
from web.auth import current_actor
from web.i18n import current_language
from web.pages.common import protected
from web.security import NOT_A_DOCUMENT

instance_pages = protected(Blueprint("instance_pages", __name__, url_prefix="/instances"))


@instance_pages.get("/<int:instance_id>")
def show(instance_id: int):  # type: ignore[no-untyped-def]
    view = commands.query(engine_db(), instance_page.instance_view, current_actor(), instance_id)
    return render_template("instances/page.html", view=view, markers=view.markers)


@instance_pages.get("/<int:instance_id>/diagram.bpmn")
def diagram(instance_id: int):  # type: ignore[no-untyped-def]
    # the XML is the designer's, and a browser renders XML with XHTML inside as a page of our
    # origin; the viewer only needs the text, so it is never served as a document
    return Response(commands.query(engine_db(), instance_page.diagram_source, current_actor(), instance_id,
                                   current_language()), content_type="text/plain; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300", **NOT_A_DOCUMENT})
