"""Playing process instances forward in engine time, for demo data and simulations: open user
tasks are completed with scripted answers by the people they are for, and the scheduler's pass
fires timers as the clock is moved on. This module owns the answers that fit the lifecycle's forms
(`ANSWERS`) and the loop that plays an instance until a task is open, it ends, or a time is reached.
It drives the ordinary commands exactly as users and the scheduler would; the product itself
never calls it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import clock, commands
from engine.lifecycle import funds
from engine.runtime import external_tasks, instances, tasks
from engine.scheduling import scheduler
from engine.core.db import Database
from engine.core.errors import Conflict, NotFound
from engine.core.models import Group, HumanTask, Membership, User
from engine.core.principals import INTEGRATIONS, Actor

TEXT = "按任务书要求完成了本阶段的各项工作，详见附件材料。"
SCORES = {"innovation": 27, "feasibility": 22, "team_capability": 13, "budget_reasonableness": 13,
          "expected_benefits": 13}  # 88
# one valid answer per task of the lifecycle (form keys as in forms/)
ANSWERS: dict[str, dict[str, Any]] = {
    "unit_review": {"unit_decision": "approve", "unit_opinion": "同意申报 · approved by the unit"},
    "endorse": {"endorsement": "endorse", "endorsement_opinion": "同意推荐 · endorsed"},
    "formal_review": {"decision": "accept", "checks_passed": ["complete", "eligible"],
                      "review_comment": "材料齐全，符合申报条件 · complete and eligible"},
    "formal_review_duplicates": {"decision": "accept", "duplicate_conclusion": "not_duplicate",
                                 "duplicate_justification": "研究对象与技术路线不同 · different objects and methods",
                                 "review_comment": "材料齐全 · complete"},
    "correct_application": {"correction_note": "已按意见修改 · corrected as asked"},
    "invitation": {"participation": "accept"},
    "scoring": SCORES | {"expert_opinion": "创新性较强，技术路线可行 · innovative and feasible"},
    "institution_proposal": {"proposal": "fund", "proposal_comment": "按评审得分排序 · by score"},
    "bureau_decision_task": {"bureau_decision": "fund", "decision_comment": "局务会研究同意 · approved"},
    "verify_objection": {"verification_conclusion": "dismissed", "verification_findings": "经核查异议不成立"},
    "draft_contract": {"contract_no": "HZKJ-2025-0001", "contract_targets": "按申报书完成研究任务并形成成果",
                       "assessment_indicators": "专利、论文与示范应用"},
    "sign_contract": {"contract_signed": True, "signatory": "项目负责人"},
    "unit_sign_contract": {"unit_sign_decision": "sign", "unit_signatory": "科研处"},
    "check_contract": {"contract_check": "ok", "check_comment": "齐全 · in order"},
    "countersign_recommender": {"countersigned": True},
    "countersign_bureau": {"countersigned": True},
    "annual_report": {"report_progress": TEXT, "report_completion": 40, "report_spending": 30},
    "unit_confirm_report": {"unit_report_confirmation": "confirm"},
    "annual_review": {"report_assessment": "satisfactory", "report_comment": "进展正常 · on track"},
    "midterm_report": {"midterm_progress": TEXT, "midterm_completion": 55, "midterm_spending": 50},
    "midterm_check": {"midterm_conclusion": "continue", "midterm_comment": "进展良好 · good progress"},
    "rectification": {"rectification_measures": TEXT, "rectification_completed": True},
    "rectification_check": {"rectification_result": "continue", "rectification_comment": "整改到位 · rectified"},
    "change_unit_review": {"change_decision": "approve", "change_comment": "同意 · approved"},
    "change_recommender_review": {"change_decision": "approve", "change_comment": "同意 · approved"},
    "change_institution_review": {"change_decision": "approve", "change_comment": "同意 · approved"},
    "change_bureau_decision": {"change_decision": "approve", "change_comment": "同意 · approved"},
    "settlement": {"settlement_summary": TEXT, "funds_spent": 40, "funds_returned": 10},
    "audit_settlement": {"audit_opinion": "unqualified", "eligible_spending": 40, "audit_findings": "支出合规"},
    "confirm_termination": {"termination_confirmed": True, "termination_cause": "technical_failure",
                            "termination_comment": "同意终止 · terminated"},
    "apply_acceptance": {"acceptance_summary": TEXT, "completion_rate_claimed": 100, "outputs": "专利与论文",
                         "funds_spent_total": 100},
    "unit_confirm_acceptance": {"unit_acceptance_confirmation": "confirm"},
    "financial_audit": {"audit_opinion": "unqualified", "eligible_spending": 100, "audit_findings": "支出合规"},
    "member_opinion": {"member_score": 86, "member_conclusion": "pass", "member_opinion": TEXT},
    "acceptance_review": {"completion_rate": 100, "acceptance_score": 86, "acceptance_opinion": TEXT},
    "acceptance_rectification": {"acceptance_rectification_measures": TEXT, "acceptance_rectification_done": True},
    "materials_check": {"materials_check": "complete"},
    "bureau_confirm_acceptance": {"bureau_acceptance_confirmed": True, "bureau_acceptance_comment": "同意 · confirmed"},
    "propose_revocation": {"revocation_ground": "serious_breach", "revocation_facts": TEXT, "funds_spent": 40,
                           "eligible_spending": 30, "revocation_proposal": "propose"},
    "midterm_expert_review": {"midterm_expert_score": 84, "midterm_expert_conclusion": "continue",
                              "midterm_expert_opinion": TEXT},
    "check_project": {"spot_check_conclusion": "fine", "spot_check_findings": TEXT},
    "spot_rectification": {"rectification_measures": TEXT, "rectification_completed": True},
    "decide_revocation": {"revocation_decision": "revoke", "revocation_reason": "严重违反任务书约定 · serious breach"},
    "self_evaluation": {"self_score": 88, "self_summary": TEXT},
    "eval_member_opinion": {"member_score": 86, "member_conclusion": "good", "member_opinion": TEXT},
    "expert_evaluation": {"evaluation_score": 86, "evaluation_report": TEXT},
    "third_party_evaluation": {"evaluation_score": 84, "evaluation_report": TEXT},
}
# open for a whole period and completed only when something happens: never auto-completed
STANDING = frozenset({"change_request", "notice_objections"})

Answer = Callable[[HumanTask], "dict[str, Any] | None"]

# a call's batch (batch_decision.bpmn): the institution's review and the collective decision
# answer with the list the task offers, kept as proposed
BATCH_LISTS = {"batch_proposal_review": "proposal_items", "batch_collective_decision": "decision_items"}


def batch_answer(db: Database, row: HumanTask) -> dict[str, Any] | None:
    """The batch's review and collective decision as proposed (the decision: "approve all" at a
    bureau affairs meeting today); None for any other task. Reads the list from the instance's
    data, so it works for a batch on its own and inside a call."""
    key = BATCH_LISTS.get(row.form_key or "")
    if key is None:
        return None
    data = commands.query(db, lambda s: instances.data_of(instances.get(s, row.process_instance_id)))
    rows = [{"result": r["result"], "amount": r["amount"], "change_reason": ""} for r in data.get(key) or []]
    if key == "proposal_items":
        return {"proposal_items": rows}
    return {"decision_meeting": "bureau_meeting", "decision_date": clock.now().date().isoformat(),
            "collective_decision": "approve_all", "decision_items": rows}


def actor_for(session: Session, row: HumanTask) -> Actor:
    """Someone the task is for: its assignee, or a real member of its first candidate group (so
    the timeline names a person of the demo), else a stand-in member of that group."""
    if row.assignee:
        return Actor(row.assignee, frozenset())
    if row.candidate_users:
        return Actor(row.candidate_users[0], frozenset())
    group = row.candidate_groups[0]
    member = session.scalar(select(User.username).join(Membership, Membership.user_id == User.id)
                            .join(Group, Group.id == Membership.group_id)
                            .where(Group.name == group, User.active.is_(True)).order_by(User.username).limit(1))
    return Actor(member or f"{group}.member", frozenset({group}))


def default_answer(row: HumanTask) -> dict[str, Any] | None:
    return None if row.name in STANDING else dict(ANSWERS.get(row.name, {}))


def repayment(db: Database, row: HumanTask) -> dict[str, Any]:
    """The institution records the whole outstanding amount repaid (the answer depends on the
    ledger, so it is not one of ANSWERS)."""
    def outstanding(session):  # type: ignore[no-untyped-def]
        project_id = instances.data_of(instances.get(session, row.process_instance_id))["project_id"]
        return funds.summary(session, project_id)["to_recover"]
    amount = commands.query(db, outstanding)
    return {"repaid_amount": max(amount, 0.01), "repaid_on": row.created_at.date().isoformat(),
            "repayment_reference": f"HK-{row.process_instance_id:06d}"}


def answer_to(db: Database, row: HumanTask, answer: "Answer") -> dict[str, Any] | None:
    return repayment(db, row) if row.name in (REPAYMENT, ACCEPTANCE_REPAYMENT) else answer(row)


REPAYMENT = "record_repayment"
ACCEPTANCE_REPAYMENT = "record_acceptance_repayment"  # after a failed acceptance (acceptance.bpmn)


def open_tasks(db: Database, instance_id: int) -> list[HumanTask]:
    return commands.query(db, tasks.open_tasks, instance_id)


def complete(db: Database, row: HumanTask, data: dict[str, Any], at: datetime,
             actor: Actor | None = None) -> None:
    with clock.frozen_at(at):
        actor = actor or commands.query(db, actor_for, row)
        commands.execute(db, tasks.complete, actor, row.id, data)


# the finance system, which confirms tranche payments (external tasks, topic finance-payment)
FINANCE = Actor("finance.system", frozenset({INTEGRATIONS}))
FINANCE_TOPICS = [{"name": "finance-payment", "lock_duration": 60_000}]


def finance_pays(db: Database, at: datetime) -> int:
    """Play the finance system once, as tools/finance_worker.py does against the API: fetch and
    lock the payments waiting, pay, complete each with a payment reference."""
    with clock.frozen_at(at):
        locked = commands.execute(db, external_tasks.fetch_and_lock, FINANCE, "demo-finance", 50, FINANCE_TOPICS)
        for task in locked:
            commands.execute(db, external_tasks.complete, FINANCE, task["id"], "demo-finance",
                             {"payment_reference": f"FIN-{task['process_instance_id']:06d}",
                              "paid_on": at.date().isoformat()})
    return len(locked)


def tick(db: Database, at: datetime) -> list[int]:
    with clock.frozen_at(at):
        return scheduler.tick(db).fired


@dataclass
class Played:
    at: datetime  # the engine time reached
    stopped_at: str | None  # the task left open for a person, if any
    state: str


def play(db: Database, instance_id: int, start: datetime, until: datetime,
         answer: Answer = default_answer, stop_at: Iterable[str] = (), pace: timedelta = timedelta(days=1)) -> Played:
    """Work the instance's tasks one `pace` apart from `start`, firing timers on the way, until a
    task named in `stop_at` is open, the instance is no longer running, or `until` is reached.
    A task `answer` gives None for is left open (it waits for its timer or for a person)."""
    stops = set(stop_at)
    now = start
    while now <= until:
        instance = commands.query(db, instances.get, instance_id)
        if instance.state != instances.RUNNING:
            return Played(now, None, instance.state)
        if finance_pays(db, now):
            continue
        rows = open_tasks(db, instance_id)
        waiting = [r.name for r in rows if r.name in stops]
        if waiting:
            return Played(now, waiting[0], instance.state)
        answered = [(row, answer_to(db, row, answer)) for row in rows]
        answered = [(row, data) for row, data in answered if data is not None]
        for row, data in answered:
            try:
                complete(db, row, data, now)
            except (Conflict, NotFound):
                pass  # an earlier completion in this round closed it (e.g. a seat was handed on)
        if answered:
            now += pace
            tick(db, now)
            continue
        due = commands.query(db, instances.get, instance_id).next_timer_at
        if due is None or due > until:
            return Played(now, None, instance.state)
        now = max(now, due) + timedelta(minutes=1)
        tick(db, now)
    return Played(now, None, commands.query(db, instances.get, instance_id).state)
