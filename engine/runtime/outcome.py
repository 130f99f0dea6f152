"""How and why an ended instance ended, in its applicant's words: the outcome (refused at the
eligibility gate, not accepted, not established, terminated, failed acceptance, withdrawn,
completed ...) with a tone that says what it means (a refusal is never a green "completed"), and
the reasons the rules gave. The outcome comes from the instance's state and the `status` its
process leaves in the data (docs/lifecycle.md); the reasons from the data's `reason` (the
processes write one on every refusal) or a supervisor's termination reason, each shown only when
engine/runtime/access.py lets the viewer see the `reason` key. Reasons are texts the rules wrote,
often bilingual ("中文 · English"); several are joined with "；" and come back as a list, so a
page can show each in the reader's language. Labels are in both languages here, as in
engine/notify/texts.py; nothing names a reviewer (the reasons are the rules' and the deciders'
conclusions, never who reviewed)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import bilingual
from engine.core.models import AuditEvent, ProcessInstance
from engine.runtime import access
from engine.runtime.state import load_data

REFUSED, ENDED, SUCCESS = "refused", "ended", "success"  # the tones: red, grey, green
REASON_KEY = "reason"

# status the process leaves -> (tone, Chinese, English)
OUTCOMES: dict[str, tuple[str, str, str]] = {
    "refused": (REFUSED, "不予申报", "Submission refused"),
    "not_accepted": (REFUSED, "未受理", "Not accepted"),
    "not_established": (REFUSED, "未立项", "Not established"),
    "terminated": (REFUSED, "已终止", "Terminated"),
    "failed": (REFUSED, "验收不通过", "Failed acceptance"),
    "revoked": (REFUSED, "已撤销", "Revoked"),
    "closed_out": (ENDED, "结题", "Closed out: tasks partly met"),
    "reserved": (ENDED, "入库储备", "Reserved, not funded this year"),
    "lapsed": (ENDED, "已失效", "Lapsed"),
    "withdrawn": (ENDED, "已撤回", "Withdrawn"),
    "accepted": (SUCCESS, "已受理", "Accepted"),
    "established": (SUCCESS, "已立项", "Established"),
    "contracted": (SUCCESS, "已签订任务书", "Contract signed"),
    "completed_period": (SUCCESS, "执行期满", "Period completed"),
    "passed": (SUCCESS, "验收通过", "Passed acceptance"),
    "evaluated": (SUCCESS, "已完成", "Completed"),
    "completed": (SUCCESS, "已完成", "Completed"),
}
STOPPED = (REFUSED, "已终止（管理部门）", "Terminated by the bureau")  # a supervisor's termination
UNKNOWN = (ENDED, "已结束", "Ended")  # a status no one told us about: never claim success
_SPLIT = re.compile(r"\s*；\s*")


@dataclass(frozen=True)
class Outcome:
    code: str
    tone: str
    label_zh: str
    label_en: str
    reasons: tuple[str, ...] = ()

    def label(self, language: str) -> str:
        return self.label_zh if language.startswith("zh") else self.label_en

    @property
    def refused(self) -> bool:
        return self.tone == REFUSED

    def reason_texts(self, language: str) -> list[str]:
        return [in_language(r, language) for r in self.reasons]


def in_language(text: str, language: str) -> str:
    """A rule's bilingual text ("中文 · English") in one language; other texts as they are."""
    return bilingual.pick_text(text, language)


def reasons_of(text: Any) -> tuple[str, ...]:
    """The reasons in a rule's text: one per "；"-separated part, empty parts dropped."""
    if not isinstance(text, str):
        return ()
    return tuple(part for part in _SPLIT.split(text.strip()) if part)


def derive(state: str, data: dict[str, Any], reason_visible: bool = True,
           termination_reason: str | None = None) -> Outcome | None:
    """The outcome of an instance in this state with this data; None while it has not ended."""
    if state == "terminated":
        tone, zh, en = STOPPED
        reasons = reasons_of(termination_reason) if reason_visible else ()
        return Outcome("terminated_by_bureau", tone, zh, en, reasons)
    if state != "completed":
        return None
    status = data.get("status")
    code = status if isinstance(status, str) and status in OUTCOMES else ("completed" if status is None else "ended")
    tone, zh, en = OUTCOMES.get(code, UNKNOWN)
    reasons = reasons_of(data.get(REASON_KEY)) if reason_visible and tone != SUCCESS else ()
    return Outcome(code, tone, zh, en, reasons)


def _termination_reason(session: Session, instance: ProcessInstance) -> str | None:
    details = session.scalar(select(AuditEvent.details).where(
        AuditEvent.process_instance_id == instance.id, AuditEvent.action == "instance_terminated")
        .order_by(AuditEvent.id.desc()).limit(1))
    reason = (details or {}).get("reason")
    return reason if isinstance(reason, str) else None


def of_view(session: Session, view: access.View, data: dict[str, Any] | None = None) -> Outcome | None:
    """The outcome as this viewer may see it (the reasons only if the view shows `reason`)."""
    instance = view.instance
    if instance.state not in ("completed", "terminated"):
        return None
    data = load_data(instance.data) if data is None else data
    stopped = _termination_reason(session, instance) if instance.state == "terminated" else None
    return derive(instance.state, data, view.sees_key(REASON_KEY), stopped)


def for_starter(session: Session, actor: Any, instance: ProcessInstance) -> Outcome | None:
    """The outcome as its applicant sees it, for lists of the applicant's own instances."""
    if instance.state not in ("completed", "terminated"):
        return None
    return of_view(session, access.applicant_view(session, actor, instance))
