"""May this person apply, with this organisation, now? The bureau's submission rules in one place:
the organisation is registered (organisations), the investigator leads fewer than two open
projects and none past its acceptance deadline (projects), and neither the investigator nor the
organisation is in a research-integrity penalty period (integrity), and neither is barred by the
credit rule (a failed acceptance, a revocation or misconduct: credit.RESTRICTIONS, with the end
date). The BPMN gate calls it
through `submission_check` (scripting.script_services); the pages call it before offering a
process's form (`before_form`, the investigator's side: the applicant as investigator) and again
when it is submitted (`check`), so an ineligible applicant is told why and nothing is started. A
process asks for this with the extension property `applicantEligibility` = `submission_check`.
Each refusal names the form field it concerns; its text is bilingual ("中文 · English")."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import User
from engine.lifecycle import credit, integrity, organisations, projects

PROPERTY, SUBMISSION_CHECK = "applicantEligibility", "submission_check"
ORGANISATION, INVESTIGATOR = "organisation", "principal_investigator"  # the start form's keys
_CJK_NAME = re.compile(r"^[\u3400-\u9fff\u00b7]{2,}(?=\s|$)")


@dataclass(frozen=True)
class Refusal:
    field: str  # the start form's key it concerns
    text: str   # bilingual, as the rules wrote it


@dataclass
class Eligibility:
    refusals: list[Refusal] = field(default_factory=list)
    organisation: dict[str, Any] | None = None  # organisations.info of a registered organisation

    @property
    def allowed(self) -> bool:
        return not self.refusals

    @property
    def reasons(self) -> list[str]:
        return [r.text for r in self.refusals]

    def by_field(self) -> dict[str, list[str]]:
        fields: dict[str, list[str]] = {}
        for refusal in self.refusals:
            fields.setdefault(refusal.field, []).append(refusal.text)
        return fields


def applies(meta: dict[str, Any]) -> bool:
    """Does a process (its deployed meta) declare the submission rules for its applicants?"""
    properties = meta.get("properties") or {}
    return str(properties.get(PROPERTY) or "").strip() == SUBMISSION_CHECK


def _investigator_refusals(session: Session, investigator: str) -> list[Refusal]:
    refusals = [Refusal(INVESTIGATOR, text) for text in projects.project_refusals(session, investigator)]
    findings = integrity.check(session, [(investigator, "investigator")], [])
    refusals += [Refusal(INVESTIGATOR, f.to_dict()["message"]) for f in findings]
    barred = credit.restrictions(session, integrity.PERSON, investigator, projects.today())
    return refusals + [Refusal(INVESTIGATOR, r.message()) for r in barred]


def check(session: Session, organisation: str, investigator: str) -> Eligibility:
    """The full submission check of an application's organisation and investigator."""
    organisation = (organisation or "").strip()
    info = organisations.info(session, organisation)
    refusals = [] if info is not None else [Refusal(ORGANISATION, (
        f"申报单位「{organisation}」未在本系统注册 · the organisation '{organisation}' is not registered "
        "with the bureau"))]
    refusals += _investigator_refusals(session, (investigator or "").strip())
    findings = integrity.check(session, [], [(organisation, "organisation")])
    refusals += [Refusal(ORGANISATION, f.to_dict()["message"]) for f in findings]
    barred = credit.restrictions(session, integrity.ORGANISATION, organisation, projects.today())
    refusals += [Refusal(ORGANISATION, r.message()) for r in barred]
    return Eligibility(refusals, info)


@dataclass(frozen=True)
class Applicant:
    """Who is about to apply, as the form would name them (the applicant as investigator)."""

    investigator: str
    organisation: str  # their registered organisation, or "" when theirs is not registered


def _name_in_register(display_name: str) -> str:
    """How the register names a person: a display name "张伟 Zhang Wei" is 张伟 there."""
    match = _CJK_NAME.match(display_name)
    return match.group(0) if match else display_name


def applicant(session: Session, username: str) -> Applicant:
    user = session.scalar(select(User).where(User.username == username))
    name = _name_in_register((user.display_name or "").strip()) if user is not None else ""
    org = (user.org or "").strip() if user is not None else ""
    return Applicant(name or username, org if organisations.by_name(session, org) is not None else "")


def before_form(session: Session, username: str) -> tuple[Applicant, Eligibility]:
    """Before a form is offered: may this user apply as investigator at all? (The organisation is
    chosen in the form, from the register, and checked at submission.)"""
    who = applicant(session, username)
    return who, Eligibility(_investigator_refusals(session, who.investigator))


def applying_organisations(session: Session) -> list[str]:
    """The registered organisations an application may name (not the recommending bureaus)."""
    return [o.name for o in organisations.all_organisations(session) if o.kind not in ("recommender", "government")]
