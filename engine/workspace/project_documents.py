"""The documents a project's people download from its instance page: the task contract and the
funds recovery notice and the acceptance certificate, each generated when asked from the register, the budget tables and the
ledger (lifecycle.funds_documents). This module finds the project behind an instance, asks
engine/runtime/access.py whether the viewer may read the project's documents, and names the
codes (plan category, discipline) as the deployed application form does."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.errors import Forbidden, NotFound
from engine.core.models import FormVersion
from engine.core.principals import Actor
from engine.lifecycle import acceptance_certificate, funds, funds_documents, projects
from engine.runtime import access, instances

APPLICATION_FORM = "project_application"
LABELLED = ("plan_category", "discipline")
CONTRACT_TERMS = ("contract_no", "contract_targets", "assessment_indicators")


@dataclass(frozen=True)
class Download:
    filename: str
    content: bytes
    mimetype: str = "application/pdf"


def _option_labels(session: Session) -> dict[str, str]:
    """value -> label of the application form's plan categories and disciplines."""
    form = session.scalar(select(FormVersion).where(FormVersion.form_key == APPLICATION_FORM)
                          .order_by(FormVersion.version.desc()).limit(1))
    labels: dict[str, str] = {}

    def walk(components: Any) -> None:
        for comp in components if isinstance(components, list) else []:
            if not isinstance(comp, dict):
                continue
            if comp.get("key") in LABELLED:
                for option in comp.get("values") or []:
                    if isinstance(option, dict) and isinstance(option.get("value"), str):
                        labels[option["value"]] = str(option.get("label") or option["value"])
            walk(comp.get("components"))
    walk((form.definition or {}).get("components") if form is not None else None)
    return labels


def _project_of(session: Session, actor: Actor, instance_id: int) -> tuple[projects.Project, dict[str, Any]]:
    instance = instances.get(session, instance_id)
    view = access.view_of(session, actor, instance)
    if not access.may_read_project_documents(view):
        raise Forbidden("the project's documents are for its parties and the staff")
    data = instances.data_of(instance)
    project_id = data.get("project_id")
    if isinstance(project_id, bool) or not isinstance(project_id, int):
        raise NotFound("this instance has no project")
    return projects.get(session, project_id), data


def has_contract(project: projects.Project) -> bool:
    return project.approved_funding is not None and project.status not in ("submitted", "accepted", "under_review")


def contract(session: Session, actor: Actor, instance_id: int) -> Download:
    project, data = _project_of(session, actor, instance_id)
    if not has_contract(project):
        raise NotFound("the project has no task contract yet")
    terms = {k: data.get(k) for k in CONTRACT_TERMS if isinstance(data.get(k), str)}
    return Download(f"contract-{project.id}.pdf",
                    funds_documents.contract(session, project.id, terms, _option_labels(session)))


def has_recovery(session: Session, project_id: int) -> bool:
    return funds.summary(session, project_id)["recovery_due"] > 0


def recovery_notice(session: Session, actor: Actor, instance_id: int) -> Download:
    project, _ = _project_of(session, actor, instance_id)
    if not has_recovery(session, project.id):
        raise NotFound("no funds are to be recovered from this project")
    return Download(f"recovery-notice-{project.id}.pdf", funds_documents.recovery_notice(session, project.id))


def certificate(session: Session, actor: Actor, instance_id: int) -> Download:
    project, data = _project_of(session, actor, instance_id)
    if not acceptance_certificate.has_certificate(project, data):
        raise NotFound("the project has no acceptance certificate")
    return Download(f"acceptance-certificate-{project.id}.pdf",
                    acceptance_certificate.certificate(session, project.id, data))


ADJUSTMENT = "budget_adjustment"


def available(session: Session, actor: Actor, instance_id: int) -> dict[str, Any]:
    """Which documents the instance page offers this viewer (none when they may not read them),
    and whether its applicant may ask for a budget adjustment of the running project."""
    try:
        project, data = _project_of(session, actor, instance_id)
    except (Forbidden, NotFound):
        return {"contract": False, "recovery_notice": False, "certificate": False, "budget_adjustment": False}
    adjustable = project.applicant == actor.username and project.status == "in_progress"
    return {"contract": has_contract(project), "recovery_notice": has_recovery(session, project.id),
            "certificate": acceptance_certificate.has_certificate(project, data),
            "budget_adjustment": adjustable, "project_id": project.id}
