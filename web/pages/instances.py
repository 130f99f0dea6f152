"""The instance page: the project's header, what it waits for, the BPMN diagram (bpmn-js
NavigatedViewer, served locally) with completed elements, current tasks and overdue tasks
marked, the audit timeline, attachments and comments, each as the viewer's role may see it:
engine/runtime/access.py decides: staff see the full timeline and all data; the applicant sees their
application, the decisions meant for them and the files shared with them; an expert the project
materials and their own work. The project's documents (the task contract, a funds recovery
notice) download from here for those access.may_read_project_documents allows."""
from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_babel import lazy_gettext as _l

from engine.core import commands
from engine.workspace import instance_page, project_documents

from web import engine_db
from web.auth import current_actor
from web.i18n import current_language
from web.pages.common import protected
from web.security import NOT_A_DOCUMENT

instance_pages = protected(Blueprint("instance_pages", __name__, url_prefix="/instances"))

# the timeline's words for audit actions; lazy, so that a page of a hundred events translates
# only the labels it shows (a table built in the template translated all of them per event)
ACTIONS = {
    "instance_started": _l("Submitted"),
    "task_created": _l("Task opened"),
    "task_claimed": _l("Claimed"),
    "task_unclaimed": _l("Released to group"),
    "task_assigned": _l("Reassigned"),
    "task_completed": _l("Decided"),
    "task_cancelled": _l("Task cancelled"),
    "task_taken_over": _l("Taken over by a substitute"),
    "instance_completed": _l("Finished"),
    "instance_error": _l("Stopped with an error"),
    "instance_suspended": _l("Suspended"),
    "instance_resumed": _l("Resumed"),
    "instance_terminated": _l("Terminated"),
    "instance_retried": _l("Retried"),
    "timers_fired": _l("Deadline reached"),
    "comment_added": _l("Comment"),
    "attachment_added": _l("File added"),
    "attachment_removed": _l("File removed"),
    "instance_running": _l("Running again"),
    "task_reminded": _l("Reminder sent"),
    "task_overdue": _l("Overdue notice sent"),
    "task_escalated": _l("Escalated"),
    "task_reassigned": _l("Reassigned after the deadline"),
    "instance_stuck": _l("Marked as stuck"),
    "task_skipped": _l("Skipped by a supervisor"),
    "bulk_intervention": _l("Bulk intervention"),
    "instances_archived": _l("Archived"),
    "experts_drawn": _l("Experts drawn"),
    "expert_replaced": _l("Expert replaced"),
    "credit_recorded": _l("Credit record written"),
    "message_delivered": _l("Message received from another system"),
    "signal_delivered": _l("Signal received"),
    "message_thrown": _l("Message sent"),
    "signal_thrown": _l("Signal sent"),
    "external_task_created": _l("Waiting for another system"),
    "external_task_locked": _l("Taken by another system"),
    "external_task_completed": _l("Done by another system"),
    "external_task_failed": _l("Another system reported a failure"),
    "external_task_bpmn_error": _l("Another system reported a business error"),
    "external_task_retried": _l("Handed back to other systems by a supervisor"),
}


@instance_pages.app_template_global()
def action_label(action: str) -> str:
    label = ACTIONS.get(action)
    return str(label) if label is not None else action


@instance_pages.get("/<int:instance_id>")
def show(instance_id: int):  # type: ignore[no-untyped-def]
    view = commands.query(engine_db(), instance_page.instance_view, current_actor(), instance_id)
    documents = commands.query(engine_db(), project_documents.available, current_actor(), instance_id)
    return render_template("instances/page.html", view=view, markers=view.markers, documents=documents)


@instance_pages.get("/<int:instance_id>/diagram.bpmn")
def diagram(instance_id: int):  # type: ignore[no-untyped-def]
    # the XML is the designer's, and a browser renders XML with XHTML inside as a page of our
    # origin; the viewer only needs the text, so it is never served as a document
    return Response(commands.query(engine_db(), instance_page.diagram_source, current_actor(), instance_id,
                                   current_language()), content_type="text/plain; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300", **NOT_A_DOCUMENT})


def _pdf(download: project_documents.Download) -> Response:
    return Response(download.content, mimetype=download.mimetype,
                    headers={"Content-Disposition": f"attachment; filename={download.filename}"})


@instance_pages.get("/<int:instance_id>/contract.pdf")
def contract_pdf(instance_id: int):  # type: ignore[no-untyped-def]
    return _pdf(commands.query(engine_db(), project_documents.contract, current_actor(), instance_id))


@instance_pages.get("/<int:instance_id>/recovery-notice.pdf")
def recovery_notice_pdf(instance_id: int):  # type: ignore[no-untyped-def]
    return _pdf(commands.query(engine_db(), project_documents.recovery_notice, current_actor(), instance_id))


@instance_pages.get("/<int:instance_id>/acceptance-certificate.pdf")
def certificate_pdf(instance_id: int):  # type: ignore[no-untyped-def]
    return _pdf(commands.query(engine_db(), project_documents.certificate, current_actor(), instance_id))
