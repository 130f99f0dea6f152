"""The people, organisations and expert pool the lifecycle tests play in, and a small driver that
works an instance's tasks as the right people, at engine times of the test's choosing (every
command runs inside clock.frozen_at, and `tick` is the scheduler's pass at that time)."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterator

from engine.core import clock, commands
from engine.definitions import deployment
from engine.lifecycle import expert_pool, organisations, projects
from engine.runtime import external_tasks, instances, tasks
from engine.scheduling import scheduler
from engine.core.calendar import BUREAU_TZ
from engine.core.models import HumanTask
from engine.core.principals import Actor
from engine.definitions.validation import collect_paths
from tests.conftest import ROOT

ORG = "杭州先进材料研究院"
PARTNER = "浙江工业大学"
APPLICANT = Actor("zhang.wei", frozenset({"applicants"}))
STAFF = Actor("wang.fang", frozenset({"institution_staff"}))
RECOMMENDER = Actor("chen.rec", frozenset({"recommender.binjiang"}))
UNIT = Actor("zhou.unit", frozenset({"unit.hzam"}))
BUREAU = Actor("zhao.bureau", frozenset({"bureau_staff"}))
AUDITOR = Actor("qian.audit", frozenset({"auditors"}))
EVALUATOR = Actor("sun.eval", frozenset({"evaluators"}))
SUPERVISOR = Actor("boss", frozenset({"supervisors"}))
FINANCE = Actor("finance.system", frozenset({"integrations"}))  # the finance system's worker

APPLICATION = {
    "title": "高熵合金激光增材制造工艺研究", "plan_category": "natural_science", "discipline": "materials",
    "organisation": ORG, "principal_investigator": "张伟", "budget": 120, "period_months": 24,
    "abstract": "研究高熵合金激光增材制造的组织调控与性能优化，形成可推广的工艺规范。",
    "team": [{"name": "李强", "member_organisation": ORG, "role": "工艺"}],
    "partner_units": [{"name": PARTNER}], "integrity_pledge": True,
}
GOOD_SCORES = {"innovation": 28, "feasibility": 23, "team_capability": 14, "budget_reasonableness": 14,
               "expected_benefits": 13}  # 92


def sh(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """A moment in the bureau's time zone."""
    return datetime(y, m, d, hh, mm, tzinfo=BUREAU_TZ)


def build_world(db: Any, experts_per_discipline: int = 14) -> None:
    """Deploy processes/ and forms/, register the organisations and fill the expert pool."""
    commands.execute(db, deployment.deploy, collect_paths([str(ROOT / "processes"), str(ROOT / "forms")]), "test")

    def populate(session):  # type: ignore[no-untyped-def]
        organisations.ensure(session, "binjiang", "滨江区科技局", "recommender")
        organisations.ensure(session, "hzam", ORG, "institute", recommender_code="binjiang")
        organisations.ensure(session, "zjut", PARTNER, "university")
        for n in range(experts_per_discipline):
            expert_pool.add_expert(session, name=f"材料专家{n:02d}", organisation=f"第{n}研究所", title="professor",
                                   discipline="materials", username=f"expert{n:02d}")
        # conflicted experts who must never be drawn for this application
        expert_pool.add_expert(session, name="本单位专家", organisation=ORG, title="researcher",
                               discipline="materials", username="expert.same_org")
        expert_pool.add_expert(session, name="合作单位专家", organisation=PARTNER, title="professor",
                               discipline="materials", username="expert.partner")
    commands.execute(db, populate)


@dataclass
class Driver:
    """Works one process instance's tasks at a moving engine time."""

    db: Any
    now: datetime
    instance_id: int = 0
    log: list[str] = field(default_factory=list)

    @contextmanager
    def at(self) -> Iterator[None]:
        with clock.frozen_at(self.now):
            yield

    def later(self, **delta: float) -> "Driver":
        self.now = self.now + timedelta(**delta)
        return self

    def at_time(self, moment: datetime) -> "Driver":
        self.now = moment
        return self

    def start(self, key: str, data: dict[str, Any], actor: Actor = APPLICANT) -> int:
        with self.at():
            self.instance_id = commands.execute(self.db, instances.start, actor, key, data).id
        return self.instance_id

    def open(self) -> list[HumanTask]:
        return commands.query(self.db, tasks.open_tasks, self.instance_id)

    def names(self) -> list[str]:
        return sorted(t.name for t in self.open())

    def task(self, name: str) -> HumanTask:
        found = [t for t in self.open() if t.name == name]
        assert len(found) == 1, f"expected one open '{name}', open: {self.names()} ({self.state()})"
        return found[0]

    def complete(self, name: str, actor: Actor, data: dict[str, Any] | None = None) -> None:
        row = self.task(name)
        with self.at():
            commands.execute(self.db, tasks.complete, actor, row.id, data or {})

    def complete_row(self, row: HumanTask, actor: Actor, data: dict[str, Any]) -> None:
        with self.at():
            commands.execute(self.db, tasks.complete, actor, row.id, data)

    def tick(self) -> list[int]:
        with self.at():
            return scheduler.tick(self.db).fired

    def advance_to(self, moment: datetime) -> list[int]:
        self.now = moment
        return self.tick()

    def instance(self) -> Any:
        return commands.query(self.db, instances.get, self.instance_id)

    def state(self) -> str:
        instance = self.instance()
        return instance.state if instance.state != "error" else f"error at {instance.error_element}: {instance.error_message}"

    def data(self) -> dict[str, Any]:
        return commands.query(self.db, lambda s: instances.data_of(instances.get(s, self.instance_id)))

    def project(self) -> dict[str, Any]:
        project_id = self.data()["project_id"]
        return commands.query(self.db, lambda s: projects.get(s, project_id).facts())

    def project_history(self) -> list[dict[str, Any]]:
        project_id = self.data()["project_id"]
        return commands.query(self.db, lambda s: list(projects.get(s, project_id).history))

    # --- stage by stage, the common answers -------------------------------------------------
    def unit_review(self, decision: str = "approve", opinion: str = "同意申报 · approved") -> None:
        self.complete("unit_review", UNIT, {"unit_decision": decision, "unit_opinion": opinion})

    def apply_for_acceptance(self, spent: float = 118) -> None:
        """The acceptance application up to the experts: the investigator applies, the unit
        confirms, the institution finds the materials complete and the auditors find no fault."""
        self.complete("apply_acceptance", APPLICANT, {"acceptance_summary": "全面完成任务书规定的研究内容",
                                                      "completion_rate_claimed": 100, "outputs": "发明专利 2 项",
                                                      "funds_spent_total": spent})
        self.complete("unit_confirm_acceptance", UNIT, {"unit_acceptance_confirmation": "confirm"})
        self.complete("materials_check", STAFF, {"materials_check": "complete"})
        self.complete("financial_audit", AUDITOR, {"audit_opinion": "unqualified", "eligible_spending": spent,
                                                   "audit_findings": "支出合规"})

    def unit_signs(self) -> None:
        self.complete("unit_sign_contract", UNIT, {"unit_sign_decision": "sign", "unit_signatory": "周处长"})

    def endorse(self, decision: str = "endorse") -> None:
        """The recommending unit's endorsement; the undertaking unit approves first when its review
        is the open step (most tests are about what comes after it)."""
        if "unit_review" in self.names():
            self.unit_review()
        self.complete("endorse", RECOMMENDER, {"endorsement": decision, "endorsement_opinion": "同意推荐"})

    def formal_review(self, decision: str = "accept", task: str = "formal_review", **extra: Any) -> None:
        data = {"decision": decision, "review_comment": "材料齐全 · complete", "checks_passed": ["complete"]} | extra
        self.complete(task, STAFF, data)

    def expert_rows(self, name: str) -> list[HumanTask]:
        return sorted((t for t in self.open() if t.name == name), key=lambda t: t.assignee or "")

    def experts_accept_and_score(self, scores: list[dict[str, float]] | None = None) -> None:
        invitations = self.expert_rows("invitation")
        for row in invitations:
            self.complete_row(row, Actor(row.assignee, frozenset({"experts"})), {"participation": "accept"})
        rows = self.expert_rows("scoring")
        scores = scores or [GOOD_SCORES] * len(rows)
        for row, score in zip(rows, scores):
            self.complete_row(row, Actor(row.assignee, frozenset({"experts"})),
                              score | {"expert_opinion": "创新性强，方案可行 · innovative and feasible"})

    def members_give_opinions(self, task: str, conclusions: list[str], scores: list[float] | None = None) -> list[str]:
        """Every open member task of a panel (acceptance or performance evaluation) completed in
        the members' order, the n-th with the n-th conclusion and score; the members' user names."""
        rows = self.expert_rows(task)
        scores = scores or [85.0] * len(rows)
        for row, conclusion, score in zip(rows, conclusions, scores):
            self.complete_row(row, Actor(row.assignee, frozenset({"experts"})),
                              {"member_score": score, "member_conclusion": conclusion,
                               "member_opinion": "材料齐全，任务完成情况良好 · complete and well done"})
        return [r.assignee for r in rows]

    def propose_and_decide(self, proposal: str = "fund", decision: str = "fund", funding: float | None = None) -> None:
        self.complete("institution_proposal", STAFF, {"proposal": proposal, "proposal_comment": "按得分排序 · by score"})
        data: dict[str, Any] = {"bureau_decision": decision, "decision_comment": "局务会研究 · decided"}
        if funding is not None:
            data["approved_funding"] = funding
        self.complete("bureau_decision_task", BUREAU, data)

    def sign_contract(self) -> None:
        self.complete("draft_contract", STAFF, {"contract_no": "HZKJ-2026-001", "contract_targets": "完成工艺规范与样件试制",
                                                "assessment_indicators": "发明专利 2 项"})
        self.complete("sign_contract", APPLICANT, {"contract_signed": True, "signatory": "张伟"})
        self.unit_signs()
        self.complete("check_contract", STAFF, {"contract_check": "ok", "check_comment": "齐全"})
        self.complete("countersign_recommender", RECOMMENDER, {"countersigned": True})
        self.complete("countersign_bureau", BUREAU, {"countersigned": True})
        self.finance_pays()

    def finance_pays(self, reference: str = "FIN-2026-0001") -> list[dict[str, Any]]:
        """The finance system, as its worker would through the API: fetch and lock the payment
        task, pay, complete it with the payment reference. Returns what it fetched."""
        with self.at():
            locked = commands.execute(self.db, external_tasks.fetch_and_lock, FINANCE, "finance-1", 10,
                                      [{"name": "finance-payment", "lock_duration": 60_000}])
            for task in locked:
                commands.execute(self.db, external_tasks.complete, FINANCE, task["id"], "finance-1",
                                 {"payment_reference": reference, "paid_on": self.now.date().isoformat()})
        return locked


EXPERT = lambda name: Actor(name, frozenset({"experts"}))  # noqa: E731


def make_project(db: Any, *, status: str = "in_progress", start: str = "2026-01-05", months: int = 24,
                 funding: float = 120.0, investigator: str = "张伟", organisation: str = ORG,
                 title: str = "高熵合金激光增材制造工艺研究") -> int:
    """A project standing in the register as if the earlier stages had run."""
    from datetime import date

    def create(session):  # type: ignore[no-untyped-def]
        project = projects.register(session, APPLICATION | {"title": title, "principal_investigator": investigator,
                                                            "organisation": organisation, "period_months": months,
                                                            "budget": funding}, APPLICANT.username)
        if status == "established":  # decided, the contract not yet signed
            projects.set_status(session, project.id, status, None, {"approved_funding": funding})
            return project.id
        projects.establish(session, project.id, funding, date.fromisoformat(start))
        if status != "in_progress":
            projects.set_status(session, project.id, status)
        return project.id
    return commands.execute(db, create)


def stage_data(project_id: int, **extra: Any) -> dict[str, Any]:
    """What the lifecycle hands a later stage (for starting a stage on its own)."""
    return {"project_id": project_id, "applicant": APPLICANT.username, "budget": 120.0, "approved_funding": 120.0,
            "first_tranche_ratio": 0.6, "recommender_group": "recommender.binjiang", "unit_group": "unit.hzam",
            "title": APPLICATION["title"], "status": "contracted"} | extra
