"""Simulation: one year's intake of a municipal sci-tech programme under two calls for proposals
(March and September), driven through the whole lifecycle (processes/), with seeded random
decisions and time travel through every timer.

Every application gets a plan drawn from the seed: which call it answers (half each, submitted on
a working day inside the call's window through call_desk.submit), whether its investigator is on
the integrity list (the call refuses it at submission), what the undertaking and recommending
units and the formal reviewer decide (with returns and lapses), its panel score (a target in one
score band), objections in the batch notice, whether the contract is signed, the period, change
requests, the mid-term conclusion, the acceptance outcome and the performance score. Each call's
category budgets are about 70% of what its recommendable projects ask, so the budget decides too.
The calls' own processes run their batches for real: the deadline closes the call, the call waits
for the formal reviews, the discipline groups are reviewed by meeting panels (a session scheduled,
every member scoring from it, the chair summing up) or by mail, the ranked proposal goes through
the institution and ONE collective decision as proposed, one public notice runs with the plan's
objections, and each project goes on to its contract, in-process management, acceptance and
evaluation, with the funds ledger kept by the finance system's payments.

From the plan alone the simulator predicts where each application must end: the batch's result by
the batch rules (engine/lifecycle/batches.py `propose` over the planned scores and the call's
budgets: rank and budget decide funded, reserve or not funded), then the project's own path.
People act on working days, 1-3 working days after a task appears; the scheduler's pass fires
timers as the clock moves. At the end the register's final statuses and ratings, and each batch,
are compared with the predictions: they must match exactly, else the exit status is 1.

Printed per call: applications, accepted into the batch, panel groups (meeting/mail), funded /
reserve / not funded (engine and predicted), the budget used per category, the decision day and
the working days from the deadline to it; then stage counts (predicted vs engine), working-day
durations per stage, the funds ledger's totals by kind, commands run, wall time and time per
command.

Usage: .venv/bin/python bench/simulate_year.py [--quick] [--applications N] [--seed S] [--year Y]
                                               [--database URL] [--profile]
--quick plays 100 applications. The default (2,000) takes long on a small machine: every task
completion is a real engine command (about 40 to 50 per application).
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/simulate_year.py` must find engine/ and web/

from sqlalchemy import select  # noqa: E402

from engine.core import clock, commands
from engine.demo import demo_data, playback
from engine.definitions import deployment
from engine.lifecycle import batches, calls, expert_pool, funds, integrity, organisations, projects
from engine.core.errors import InvalidData
from engine.runtime import instances
from engine.workspace import call_desk
from engine.scheduling import scheduler
from engine.core.calendar import BUREAU_TZ, add_working_days, is_working_day, working_days_between  # noqa: E402
from engine.core.models import HumanTask, ProcessInstance  # noqa: E402
from engine.core.principals import Actor  # noqa: E402
from engine.definitions.validation import collect_paths  # noqa: E402

UNITS = [(name, code) for code, name, kind, _ in demo_data.ORGANISATIONS if kind != "recommender"]
# the plan categories a call offers (engine/lifecycle/calls.py PLAN_CATEGORIES) that the application form knows
CATEGORIES = ("key_rd", "natural_science", "soft_science")
TOPIC = "综合 · general"
PENALISED = ["钱某某", "周某甲", "吴某乙"]
WORDS = {
    "it": "人工智能 大模型 知识图谱 边缘计算 数字孪生 区块链 隐私计算 智能网联 物联网 视觉检测 语音识别 推荐算法 "
          "工业互联网 云原生 芯片设计 操作系统 数据治理 网络安全 低代码 机器人",
    "biomed": "肿瘤 免疫治疗 基因测序 干细胞 疫苗 抗体药物 脓毒症 卒中 糖尿病 影像诊断 病理 靶向药物 "
              "医疗器械 微生物组 蛋白质组 慢病管理 康复 中医药 药物递送 生物标志物",
    "materials": "高熵合金 增材制造 碳纤维 复合材料 石墨烯 陶瓷 涂层 稀土 磁性材料 钙钛矿 纳米材料 "
                 "铝合金 钛合金 高分子 薄膜 催化剂 储氢材料 超导 腐蚀防护 焊接",
    "manufacturing": "数控机床 工业机器人 精密加工 激光加工 智能产线 减速器 伺服系统 轴承 液压 "
                     "模具 装配 质量检测 柔性制造 工艺优化 数字化车间 传感器 控制系统 故障诊断 刀具 注塑",
    "agriculture": "茶园 水稻 育种 土壤墒情 病虫害 农产品 冷链 畜牧 水产 设施农业 农机 "
                   "有机肥 种苗 果蔬 溯源 灌溉 食用菌 中药材 竹木 生态修复",
    "energy": "光伏 储能 锂电池 氢能 风电 污水处理 固废 碳捕集 节能 热泵 "
              "电网 充电桩 生物质 垃圾焚烧 大气治理 土壤修复 余热回收 燃料电池 智慧能源 低碳",
}


METHODS = ("建模 仿真 优化 控制 检测 评估 预测 标定 集成 验证 设计 测试 监测 诊断 识别 调度 规划 分析 合成 表征 "
           "制备 改性 封装 标准 平台 装备 系统 模型 算法 工艺 示范 样机 数据库 规范 软件 芯片 模块 网络 终端 试剂").split()
PLACES = "杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水 萧山 余杭 临安 桐庐 淳安 建德 富阳 滨江 钱塘".split()


def _h(*parts: object) -> int:
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:12], 16)


# ---------------------------------------------------------------------------------------------
# The plan of one application and what it predicts

@dataclass
class Plan:
    index: int
    submit_on: date
    applicant: str
    data: dict[str, Any]
    refused: bool = False
    unit: str = "endorse"  # endorse | return | reject
    formal: str = "accept"  # accept | return_accept | reject | limit | lapse
    duplicate_of: int | None = None
    target: float = 85.0  # every expert scores within 2 points of it
    declines: int = 0  # invitations declined (a backup takes the seat)
    silent: int = 0  # invitations left unanswered (the deadline hands the seat on)
    call: int = 0  # which of the year's calls (0: spring, 1: autumn)
    result: str | None = None  # the batch rules' prediction: funded | reserve | not_funded (None: not in a batch)
    objection: str | None = None  # dismissed | upheld (filed in the batch's notice, for a funded project)
    contract: str = "sign"  # sign | lapse
    change: str | None = None  # period | team_members
    midterm: str = "continue"  # continue | rectify | suspend_funding | terminate | rectify_terminate
    acceptance: str = "pass"  # pass | rectify_pass | close_out | veto | rectify_fail | late
    evaluation: float = 85.0
    # what the simulator saw happen (counters per instance)
    seen: Counter[str] = field(default_factory=Counter)
    left_open: set[str] = field(default_factory=set)

    @property
    def band(self) -> str:
        return ("key_recommend" if self.target >= 90 else "recommend" if self.target >= 80
                else "reserve" if self.target >= 60 else "reject")

    def expected(self) -> tuple[str, str | None]:
        """(final register status, rating) that this plan must produce."""
        if self.refused:
            return "refused", None
        if self.unit == "reject" or self.formal in ("reject", "limit", "lapse"):
            return "not_accepted", None
        if self.result == "reserve":
            return "reserved", None
        if self.result != "funded" or self.objection == "upheld":
            return "not_established", None
        if self.contract == "lapse":
            return "lapsed", None
        if self.midterm in ("terminate", "rectify_terminate"):
            return "terminated", None
        if self.acceptance in ("veto", "rectify_fail", "late"):
            return "failed", None
        rating = ("excellent" if self.evaluation >= 90 else "good" if self.evaluation >= 80
                  else "pass" if self.evaluation >= 60 else "fail")
        return "evaluated", rating


def call_windows(year: int) -> list[tuple[datetime, datetime]]:
    """The year's two calls: March and September, each open four weeks (to 17:00 on its last day)."""
    return [(datetime(year, 3, 3, 9, tzinfo=BUREAU_TZ), datetime(year, 3, 31, 17, tzinfo=BUREAU_TZ)),
            (datetime(year, 9, 1, 9, tzinfo=BUREAU_TZ), datetime(year, 9, 30, 17, tzinfo=BUREAU_TZ))]


def make_plans(count: int, seed: int, year: int) -> list[Plan]:
    rng = random.Random(seed)
    windows = [[opens.date() + timedelta(days=d) for d in range((closes.date() - opens.date()).days + 1)
                if is_working_day(opens.date() + timedelta(days=d))] for opens, closes in call_windows(year)]
    plans: list[Plan] = []
    for i in range(count):
        discipline = rng.choice(list(WORDS))
        words = WORDS[discipline].split()
        org, code = rng.choice(UNITS)
        chosen = rng.sample(words, 3) + rng.sample(METHODS, 4) + [rng.choice(PLACES)]
        data = {"title": f"面向{chosen[7]}的{chosen[0]}{chosen[3]}与{chosen[4]}研究", "plan_category": rng.choice(CATEGORIES),
                "discipline": discipline, "organisation": org, "principal_investigator": f"研究员{i + 1:04d}",
                "budget": rng.choice([30, 45, 60, 80, 120, 150, 200, 260]),
                "period_months": rng.choice([12, 24, 24, 36]),
                "abstract": f"针对{chosen[7]}的实际需求，研究{chosen[0]}、{chosen[1]}与{chosen[2]}的{chosen[5]}"
                            f"和{chosen[6]}方法，完成{chosen[3]}与{chosen[4]}。",
                "team": [{"name": f"成员{i + 1:04d}"}], "integrity_pledge": True}
        call = i % 2  # half the year's applications to each call, inside its window
        plan = Plan(i, rng.choice(windows[call]), f"applicant{i + 1:04d}", data, call=call)
        roll = rng.random()
        if roll < 0.015:
            plan.refused = True
            data["principal_investigator"] = PENALISED[i % len(PENALISED)]
        plan.unit = rng.choices(["endorse", "return", "reject"], [95, 2, 3])[0]
        plan.formal = rng.choices(["accept", "return_accept", "reject", "limit", "lapse"], [86, 6, 5, 1.5, 1.5])[0]
        if plans and rng.random() < 0.02:  # a copy of an earlier application
            original = rng.choice(plans[: max(1, len(plans) // 2)])
            if original.submit_on < plan.submit_on and original.call == plan.call:
                plan.duplicate_of = original.index
                data["title"], data["abstract"] = original.data["title"], original.data["abstract"]
                data["discipline"] = original.data["discipline"]
        plan.target = rng.choice([rng.uniform(93, 97), rng.uniform(82, 87), rng.uniform(82, 87),
                                  rng.uniform(63, 77), rng.uniform(63, 77), rng.uniform(30, 55)])
        plan.target = round(plan.target, 1)
        plan.declines = rng.choices([0, 1, 2], [80, 15, 5])[0]
        plan.silent = rng.choices([0, 1], [92, 8])[0]
        plan.objection = rng.choices([None, "dismissed", "upheld"], [90, 5, 5])[0]
        plan.contract = rng.choices(["sign", "lapse"], [98, 2])[0]
        plan.change = rng.choices([None, "period", "team_members"], [90, 5, 5])[0]
        plan.midterm = rng.choices(["continue", "rectify", "suspend_funding", "terminate", "rectify_terminate"],
                                   [86, 5, 3, 3, 3])[0]
        plan.acceptance = rng.choices(["pass", "rectify_pass", "close_out", "veto", "rectify_fail", "late"],
                                      [80, 6, 4, 5, 3, 2])[0]
        plan.evaluation = round(rng.choice([rng.uniform(90, 99), rng.uniform(80, 89.9), rng.uniform(60, 79.9),
                                            rng.uniform(40, 59.9)]), 1)
        plans.append(plan)
    return plans


# ---------------------------------------------------------------------------------------------
# How people answer, following the plan

def _scores(total: float, seat: int, instance_id: int, spread: bool = True) -> dict[str, Any]:
    if spread:  # each expert within 2 points of the target (a batch's members score it exactly)
        total = round(min(100.0, max(0.0, total + (_h(instance_id, seat) % 5 - 2))), 1)
    parts = {"innovation": 30, "feasibility": 25, "team_capability": 15, "budget_reasonableness": 15}
    out = {k: round(v * total / 100, 1) for k, v in parts.items()}
    out["expected_benefits"] = round(total - sum(out.values()), 1)
    return out | {"expert_opinion": "评审意见：按评分标准逐项打分"}


def answer(plan: Plan, row: HumanTask, instance_id: int) -> dict[str, Any] | None:
    """The plan's answer to an open task, or None to leave it open (a timer will act)."""
    name = row.name
    if row.id in plan.left_open:
        return None
    # both kinds of formal review count as one series of reviews (after a correction the same
    # application may come back as a possible duplicate, or no longer be one)
    key = "formal_review" if name == "formal_review_duplicates" else name
    plan.seen[key] += 1
    n = plan.seen[key]
    if name == "endorse":
        decision = "return" if plan.unit == "return" and n == 1 else ("reject" if plan.unit == "reject" else "endorse")
        return {"endorsement": decision, "endorsement_opinion": "推荐单位意见"}
    if name in ("formal_review", "formal_review_duplicates"):
        returns = {"return_accept": 1, "limit": 3, "lapse": 1}.get(plan.formal, 0)
        decision = "return" if n <= returns else ("reject" if plan.formal == "reject" else "accept")
        data = {"decision": decision, "review_comment": "形式审查意见", "checks_passed": ["complete"]}
        if name == "formal_review_duplicates":
            data |= {"duplicate_conclusion": "overlap_acceptable", "duplicate_justification": "经逐项比对，研究对象与技术路线不同"}
        return data
    if name == "correct_application":
        if plan.formal == "lapse":
            plan.left_open.add(row.id)
            return None
        return {"title": plan.data["title"], "budget": plan.data["budget"], "abstract": plan.data["abstract"],
                "correction_note": "已按意见修改"}
    if name == "invitation":
        if n <= plan.declines:
            return {"participation": "decline_unavailable"}
        if n <= plan.declines + plan.silent:
            plan.left_open.add(row.id)
            return None
        return {"participation": "accept"}
    if name == "scoring":
        return _scores(plan.target, n, instance_id)
    if name == "notice_objections":
        if plan.objection and n == 1:
            return {"objector_name": "实名异议人", "objector_id_number": "330106198001011234",
                    "objector_phone": "13800000000", "objection_content": "对申报材料中的成果归属提出异议，请核查。",
                    "written_statement_received": True}
        return None
    if name == "verify_objection":
        return {"verification_conclusion": plan.objection or "dismissed", "verification_findings": "核查情况说明"}
    if name == "sign_contract" and plan.contract == "lapse":
        return None
    if name == "change_request":
        if plan.change is None or n > 1 or plan.seen["midterm_report"] or plan.seen["annual_report"] == 0 \
                and plan.data["period_months"] > 12:
            plan.seen[name] -= 1  # not yet: a change is asked after the first yearly report
            return None
        if plan.change == "period":
            return {"change_kind": "period", "extension_months": 6, "change_description": "延长实施周期",
                    "change_reason": "设备到货延迟"}
        return {"change_kind": "team_members", "change_value": "增加成员", "change_description": "增加项目组成员",
                "change_reason": "工作量增加"}
    if name == "midterm_check":
        conclusion = {"rectify_terminate": "rectify"}.get(plan.midterm, plan.midterm)
        return {"midterm_conclusion": conclusion, "midterm_comment": "中期检查意见"}
    if name == "rectification_check":
        result = "terminate" if plan.midterm == "rectify_terminate" else "continue"
        return {"rectification_result": result, "rectification_comment": "整改复查意见"}
    if name == "apply_acceptance" and plan.acceptance == "late":
        return None
    if name in ("member_opinion", "eval_member_opinion"):  # a panel member agrees with the group's view
        if name == "eval_member_opinion":
            return {"member_score": plan.evaluation, "member_conclusion": "good", "member_opinion": "成员评价意见：按绩效指标逐项评价"}
        score = 86.0 if plan.acceptance in ("pass", "close_out") else 70.0
        return {"member_score": score, "member_conclusion": "pass" if score >= 80 else "rectify",
                "member_opinion": "成员验收意见：按任务书逐项核查"}
    if name == "acceptance_review":
        # acceptance_conclusion.dmn: under 60% of the tasks done is a veto (fail); 60-79% closes out
        completion = {"veto": 50, "close_out": 70}.get(plan.acceptance, 95)
        score = (86.0 if plan.acceptance in ("pass", "close_out")
                 else 85.0 if n > 1 and plan.acceptance == "rectify_pass" else 70.0)
        return {"completion_rate": completion, "acceptance_score": score,
                "acceptance_opinion": "专家组验收意见：按任务书逐项核查"}
    if name in ("expert_evaluation", "third_party_evaluation"):
        return {"evaluation_score": plan.evaluation, "evaluation_report": "绩效评价意见：按指标逐项评价"}
    return playback.default_answer(row)


def delay(row: HumanTask) -> int:
    """Working days a person takes to act on a task (1-3; experts 1-2, within their deadlines)."""
    spread = 2 if row.name in ("invitation", "scoring", "acceptance_review", "expert_evaluation", "member_opinion",
                              "eval_member_opinion") else 3
    return 1 + _h(row.id) % spread


# ---------------------------------------------------------------------------------------------
# The year's calls, their batches and what the batch rules predict

STAFF = Actor("bench.staff", frozenset({"institution_staff"}))
CATEGORY_NAMES = {code: calls.PLAN_CATEGORIES[code] for code in CATEGORIES}
BUDGET_SHARE = 0.7  # each category's budget covers about 70% of what its recommended projects ask


def _passes_acceptance(plan: Plan) -> bool:
    return not plan.refused and plan.unit != "reject" and plan.formal not in ("reject", "limit", "lapse")


def call_specs(plans: list[Plan], year: int) -> list[dict[str, Any]]:
    """The two calls, each category's budget (yuan) drawn from the plans so that the budget, not
    only the score, decides: about BUDGET_SHARE of what its recommendable projects request."""
    specs = []
    for n, (opens, closes) in enumerate(call_windows(year)):
        asked: Counter[str] = Counter()
        for plan in plans:
            if plan.call == n and _passes_acceptance(plan) and plan.band in batches.FUNDABLE_BANDS:
                asked[plan.data["plan_category"]] += plan.data["budget"] * 10_000
        specs.append({"key": f"{year}-{n + 1}", "title": f"{year}年度第{'一二'[n]}批科技计划项目申报指南",
                      "year": year, "opens_at": opens.isoformat(), "closes_at": closes.isoformat(),
                      "categories": [{"code": code, "name": CATEGORY_NAMES[code],
                                      "budget": max(300_000, round(asked[code] * BUDGET_SHARE, -4)),
                                      "topics": [TOPIC]} for code in CATEGORIES],
                      "quotas": {}, "eligibility": {"budget_min": 10, "budget_max": 300}})
    return specs


def predict(spec: dict[str, Any], batch: list[tuple[int, Plan]]) -> None:
    """Each accepted project's result by the batch rules (batches.propose), from its planned
    score: every member scores the plan's target, so the panel's score is the target; the valid
    opinions are the panel size of its category's review plan (all members score)."""
    size = {"key_rd": 7}  # review_plan.dmn: key R&D by a meeting of 7, the others by mail, 5
    projects = [{"project_id": pid, "title": plan.data["title"], "plan_category": plan.data["plan_category"],
                 "requested_funding": plan.data["budget"] * 10_000} for pid, plan in batch]
    reviews = {str(pid): {"score": plan.target, "valid_opinions": size.get(plan.data["plan_category"], 5)}
               for pid, plan in batch}
    bands = [{"project_id": pid, "band": plan.band} for pid, plan in batch]
    for item in batches.propose(spec["categories"], projects, reviews, bands):
        next(plan for pid, plan in batch if pid == item["project_id"]).result = item["result"]


@dataclass
class CallRun:
    spec: dict[str, Any]
    instance_id: int = 0
    applications: int = 0
    refused: int = 0
    objections: set[int] = field(default_factory=set)  # projects objected to in the notice


def _sheet_projects(session: Any, instance_id: int, task_ids: list[str]) -> dict[str, int]:
    """The project each open score sheet is for (the task's `sheet`), one workflow load for all."""
    from uuid import UUID

    from engine.runtime import store
    workflow = store.load(instances.get(session, instance_id))
    found = {}
    for task_id in task_ids:
        task = workflow.get_task_from_id(UUID(task_id))
        if task is not None and isinstance(task.data.get("sheet"), dict):
            found[task_id] = task.data["sheet"]["project_id"]
    return found


def call_answer(db: Any, row: HumanTask, run: CallRun, by_project: dict[int, Plan], sheets: dict[str, int],
                morning: datetime) -> dict[str, Any] | None:
    """The batch's tasks: the session is scheduled three working days ahead, every member scores
    the project's planned target, the chair sums up, the list goes through as proposed, and the
    plan's objections are filed against funded projects during the notice."""
    if row.name == "schedule_session":
        day = add_working_days(morning, 3).astimezone(BUREAU_TZ).date()
        return {"session_kind": "on_site", "session_start": datetime.combine(day, datetime.min.time(), BUREAU_TZ)
                .replace(hour=9).isoformat(), "session_place": "市科技局三楼会议室", "defence_minutes": 20}
    if row.name == "batch_scoring":
        plan = by_project[sheets[row.id]]
        return _scores(plan.target, 0, 0, spread=False)
    if row.name == "chair_summary":
        return {"chair_summary": "答辩清楚，技术路线可行 · a clear defence and a feasible approach"}
    if row.name in ("institution_review", "collective_decision"):
        return playback.batch_answer(db, row)
    data = commands.query(db, lambda s: instances.data_of(instances.get(s, row.process_instance_id)))
    if row.name == "notice_objections":
        for item in data.get("proposal") or []:
            plan = by_project.get(item["project_id"])
            if item["result"] == "funded" and plan and plan.objection and item["project_id"] not in run.objections:
                run.objections.add(item["project_id"])
                return {"objector_name": "实名异议人", "objector_id_number": "330106198001011234",
                        "objector_phone": "13800000000", "objection_content": "对申报材料中的成果归属提出异议，请核查。",
                        "written_statement_received": True, "objection_project_id": item["project_id"]}
        return None  # the notice period ends by its timer
    if row.name == "verify_objection":
        plan = by_project[data["objection_project_id"]]
        return {"verification_conclusion": plan.objection, "verification_findings": "核查情况说明"}
    return playback.default_answer(row)


# ---------------------------------------------------------------------------------------------
# The world and the loop

def build(db: Any) -> None:
    # the demo's pool (11 experts a discipline) is far too small for a year of 2,000 applications
    # under the yearly limit of seats per expert (EXPERT_DRAWS_PER_YEAR): the bench lifts it
    expert_pool.DRAWS_PER_YEAR = 1_000_000
    commands.execute(db, deployment.deploy, collect_paths([str(ROOT / "processes"), str(ROOT / "forms")]), "bench")

    def populate(session: Any) -> None:
        for code, name, kind, recommender in demo_data.ORGANISATIONS:
            organisations.ensure(session, code, name, kind, recommender)
        for spec in demo_data.expert_specs():
            expert_pool.add_expert(session, **spec)
        for n, name in enumerate(PENALISED):
            integrity.add(session, "bench", {"subject_type": "person", "subject_name": name, "grade": "serious",
                                             "reason": "数据造假", "penalty_start": "2020-01-01",
                                             "penalty_end": None, "document_no": f"bench-{n}"})
    commands.execute(db, populate)


@dataclass
class Stats:
    commands: int = 0
    ticks: int = 0
    fired: int = 0
    failures: list[str] = field(default_factory=list)


def publish_calls(db: Any, specs: list[dict[str, Any]]) -> list[CallRun]:
    """Create and publish each call a week before it opens (publishing starts its process)."""
    runs = []
    for spec in specs:
        with clock.frozen_at(datetime.fromisoformat(spec["opens_at"]) - timedelta(days=7)):
            commands.execute(db, call_desk.create, STAFF, spec)
            commands.execute(db, call_desk.publish, STAFF, spec["key"])
        instance = commands.query(db, call_desk.call_instance, spec["key"])
        runs.append(CallRun(spec, instance.id))
    return runs


def simulate(db: Any, plans: list[Plan], runs: list[CallRun], log: Any
             ) -> tuple[dict[int, Plan], dict[int, Plan], list[Plan], Stats]:
    """Play the year day by day; returns the plans by lifecycle instance and by project, the
    applications the call refused at submission, and the counters."""
    stats = Stats()
    by_instance: dict[int, Plan] = {}
    by_project: dict[int, Plan] = {}
    refused: list[Plan] = []
    by_call = {run.instance_id: run for run in runs}
    pending = sorted(plans, key=lambda p: (p.submit_on, p.index))
    day = datetime.fromisoformat(runs[0].spec["opens_at"]).date()
    last_day = day + timedelta(days=365 * 6)
    running: set[int] = set(by_call)
    while day <= last_day and (pending or running):
        morning = datetime.combine(day, datetime.min.time(), BUREAU_TZ).replace(hour=10)
        while pending and pending[0].submit_on == day:
            plan = pending.pop(0)
            run = runs[plan.call]
            run.applications += 1
            try:
                with clock.frozen_at(morning):
                    instance = commands.execute(db, call_desk.submit, Actor(plan.applicant, frozenset({"applicants"})),
                                                run.spec["key"], plan.data, TOPIC)
            except InvalidData:  # the integrity gate: nothing starts
                run.refused += 1
                refused.append(plan)
                continue
            finally:
                stats.commands += 1
            by_instance[instance.id] = plan
            project_id = instances.data_of(instance).get("project_id")
            if isinstance(project_id, int):
                by_project[project_id] = plan
            if instance.state == instances.RUNNING:
                running.add(instance.id)
        if is_working_day(day):
            _work(db, by_instance, by_call, by_project, running, morning, stats)
            stats.commands += 2 * playback.finance_pays(db, morning)  # the finance system's round
        with clock.frozen_at(morning + timedelta(hours=8)):  # the evening pass
            fired = scheduler.tick(db).fired
        stats.ticks += 1
        stats.fired += len(fired)
        running = set(commands.query(db, lambda s: s.scalars(select(ProcessInstance.id).where(
            ProcessInstance.id.in_(running), ProcessInstance.state == "running")))) if running else running
        if day.day == 1:
            log(f"  {day.isoformat()}: {len(by_instance)} submitted, {len(running)} running, "
                f"{stats.commands} commands so far")
        day += timedelta(days=1)
    return by_instance, by_project, refused, stats


# the batch's notice and its objections run on short periods: staff act on them the next working day
PROMPT = frozenset({"notice_objections", "verify_objection", "institution_review", "collective_decision"})


def _work(db: Any, by_instance: dict[int, Plan], by_call: dict[int, CallRun], by_project: dict[int, Plan],
          running: set[int], morning: datetime, stats: Stats) -> None:
    rows = commands.query(db, lambda s: list(s.scalars(select(HumanTask).where(HumanTask.state == "open")
                                                           .order_by(HumanTask.created_at, HumanTask.id))))
    today = morning.date()
    sheets: dict[str, int] = {}
    for call_id in {r.process_instance_id for r in rows if r.name == "batch_scoring" and r.process_instance_id in by_call}:
        ids = [r.id for r in rows if r.name == "batch_scoring" and r.process_instance_id == call_id]
        sheets |= commands.query(db, _sheet_projects, call_id, ids)
    for row in rows:
        run = by_call.get(row.process_instance_id)
        plan = by_instance.get(row.process_instance_id)
        if plan is None and run is None:
            continue
        wait = 1 if run is not None and row.name in PROMPT else delay(row)
        if working_days_between(row.created_at, today) < wait:
            continue
        if run is not None:
            data = call_answer(db, row, run, by_project, sheets, morning)
        else:
            data = (playback.repayment(db, row) if row.name == playback.REPAYMENT
                    else answer(plan, row, row.process_instance_id))
        if data is None:
            continue
        try:
            playback.complete(db, row, data, morning)
            stats.commands += 1
        except Exception as error:  # a closed task (its seat handed on) is normal; anything else is not
            from engine.core.errors import Conflict
            if not isinstance(error, Conflict):
                stats.failures.append(f"instance {row.process_instance_id} {row.name}: {error}")
                if plan is not None:
                    plan.seen["formal_review" if row.name == "formal_review_duplicates" else row.name] -= 1


# ---------------------------------------------------------------------------------------------
# Results

STAGES = [("application acceptance", "submitted", ("accepted", "not_accepted")),
          ("establishment review", "accepted", ("established", "reserved", "not_established")),
          ("contract", "established", ("in_progress", "lapsed")),
          ("execution", "in_progress", ("awaiting_acceptance", "terminated")),
          ("acceptance", "awaiting_acceptance", ("passed", "closed_out", "failed")),
          ("performance evaluation", "passed", ("evaluated",))]


def _moments(history: list[dict[str, Any]]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for entry in history:
        status = "submitted" if entry["event"] == "submitted" else entry.get("to") if entry["event"] == "status" else None
        if status and status not in found:
            found[status] = datetime.fromisoformat(entry["at"])
    return found


def report_calls(db: Any, runs: list[CallRun], by_project: dict[int, Plan], log: Any) -> list[str]:
    """Per call: what came in, the batch, its panels, the decision and the budget used; predicts
    each batch project's result by the batch rules on the way. Returns the mismatches."""
    mismatches = []
    for n, run in enumerate(runs):
        batch = sorted((pid, plan) for pid, plan in by_project.items() if plan.call == n and _passes_acceptance(plan))
        predict(run.spec, batch)

        def read(session: Any) -> tuple[dict[str, Any], str, datetime | None]:
            instance = instances.get(session, run.instance_id)
            decided = session.scalar(select(HumanTask.completed_at).where(
                HumanTask.process_instance_id == run.instance_id, HumanTask.name == "collective_decision",
                HumanTask.state == "completed"))
            return instances.data_of(instance), instance.state, decided
        data, state, decided = commands.query(db, read)
        in_batch = [p["project_id"] for p in data.get("projects") or []]
        if sorted(in_batch) != [pid for pid, _ in batch]:
            mismatches.append(f"call {run.spec['key']}: batch of {len(in_batch)}, predicted {len(batch)}")
        modes: dict[str, set[tuple[str, str]]] = {"meeting": set(), "mail": set()}
        for pid, review in (data.get("reviews") or {}).items():
            plan = by_project[int(pid)]
            modes.setdefault(review.get("mode") or "?", set()).add((plan.data["plan_category"], plan.data["discipline"]))
        proposal = data.get("proposal") or []
        results = Counter(item["result"] for item in proposal)
        predicted = Counter(plan.result for _, plan in batch)
        closes = datetime.fromisoformat(run.spec["closes_at"])
        log(f"\ncall {run.spec['key']} {run.spec['title']} ({state}), window {run.spec['opens_at'][:10]} to "
            f"{run.spec['closes_at'][:10]}")
        log(f"  applications {run.applications} (refused at submission {run.refused}), accepted into the batch "
            f"{len(in_batch)}")
        log(f"  panel groups: {len(modes['meeting'])} meeting, {len(modes['mail'])} mail")
        log(f"  funded / reserve / not funded: {results['funded']} / {results['reserve']} / {results['not_funded']}"
            f" (predicted {predicted['funded']} / {predicted['reserve']} / {predicted['not_funded']}),"
            f" objections {len(run.objections)}")
        for row in batches.totals(run.spec["categories"], proposal):
            log(f"  {row['code']:<16} budget {row['budget'] / 10_000:>8,.0f}  used {row['funded'] / 10_000:>8,.0f}"
                f"  ({row['count']} funded; 10k CNY)")
        if decided is not None:
            log(f"  decided {decided.astimezone(BUREAU_TZ).date()}, {working_days_between(closes, decided)} working days "
                f"after the deadline")
        else:
            mismatches.append(f"call {run.spec['key']}: no collective decision")
    return mismatches


def report(db: Any, by_instance: dict[int, Plan], refused: list[Plan], stats: Stats, wall: float, log: Any,
           mismatches: list[str]) -> bool:
    everyone = list(by_instance.values()) + refused
    predicted = Counter(plan.expected()[0] for plan in everyone)
    predicted_ratings = Counter(plan.expected()[1] for plan in everyone if plan.expected()[1])
    for plan in refused:
        if plan.expected()[0] != "refused":
            mismatches.append(f"application {plan.index + 1}: expected {plan.expected()}, refused at submission")

    def read(session: Any) -> tuple[Counter[str], Counter[str], list[Any], list[str]]:
        statuses, ratings, histories, mismatches = Counter({"refused": len(refused)}), Counter(), [], []
        for instance_id, plan in by_instance.items():
            instance = instances.get(session, instance_id)
            data = instances.data_of(instance)
            status = data.get("status")
            if status != "refused":
                project = projects.get(session, data["project_id"])
                status = project.status
                histories.append(project.history)
                if project.rating:
                    ratings[project.rating] += 1
            statuses[status] += 1
            if (status, data.get("rating") if status == "evaluated" else None) != plan.expected() \
                    or instance.state != "completed":
                mismatches.append(f"application {plan.index + 1}: expected {plan.expected()}, engine {status} "
                                  f"({instance.state} {instance.error_message or ''})")
        return statuses, ratings, histories, mismatches
    statuses, ratings, histories, found = commands.query(db, read)
    mismatches = mismatches + found

    log("\nfinal status                predicted   engine")
    for status in sorted(set(predicted) | set(statuses), key=lambda s: -predicted.get(s, 0)):
        log(f"  {status:<24} {predicted.get(status, 0):>9} {statuses.get(status, 0):>8}")
    log("rating                      predicted   engine")
    for rating in ("excellent", "good", "pass", "fail"):
        log(f"  {rating:<24} {predicted_ratings.get(rating, 0):>9} {ratings.get(rating, 0):>8}")
    log("\nstage durations in working days (n, median, mean, p90)")
    for name, start, ends in STAGES:
        spans = []
        for history in histories:
            moments = _moments(history)
            ended = [moments[e] for e in ends if e in moments]
            if start in moments and ended:
                spans.append(working_days_between(moments[start], min(ended)))
        if spans:
            spans.sort()
            log(f"  {name:<24} {len(spans):>5} {statistics.median(spans):>7.1f} {statistics.fmean(spans):>7.1f} "
                f"{spans[int(0.9 * (len(spans) - 1))]:>6}")
    def ledger(session: Any) -> tuple[Counter[str], list[str]]:
        sums: Counter[str] = Counter()
        for entry in funds.entries(session):
            sums[entry.kind] += entry.amount
        # a terminated project is over only once what it owes is back
        owing = [f"project {p.id} terminated with {funds.summary(session, p.id)['to_recover']} still to recover"
                 for p in session.scalars(select(projects.Project).where(projects.Project.status == "terminated"))
                 if funds.summary(session, p.id)["to_recover"] > 0]
        return sums, owing
    sums, owing = commands.query(db, ledger)
    log("\nfunds ledger (10k CNY)")
    for kind in funds.ENTRY_KINDS:
        log(f"  {kind:<24} {sums.get(kind, 0.0):>12,.2f}")
    mismatches += owing
    per = wall / max(1, stats.commands)
    log(f"\n{len(everyone)} applications, {stats.commands} task/start commands, {stats.ticks} scheduler passes "
        f"({stats.fired} instance timer firings)")
    log(f"wall time {wall:.1f} s, {1000 * per:.1f} ms per command (including the passes)")
    for line in stats.failures[:10] + mismatches[:20]:
        log("  MISMATCH " + line)
    ok = not mismatches and not stats.failures
    log("counts match the seeded decisions" if ok else f"{len(mismatches)} mismatch(es), {len(stats.failures)} failure(s)")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="100 applications")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--year", type=int, default=2025, help="the year of the two calls (March and September)")
    parser.add_argument("--database", help="SQLAlchemy URL (default: a new SQLite file in a temp folder)")
    parser.add_argument("--profile", action="store_true", help="print the top functions (cProfile)")
    args = parser.parse_args(argv)
    count = 100 if args.quick else args.applications
    logging.getLogger("engine.core.calendar").setLevel(logging.ERROR)  # years past the holiday data
    import flask_migrate

    from web import create_app
    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='simulate-')}/year.sqlite3"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
    db = app.extensions["engine_db"]
    build(db)
    plans = make_plans(count, args.seed, args.year)
    runs = publish_calls(db, call_specs(plans, args.year))
    print(f"simulating {count} applications under two calls of {args.year} (seed {args.seed}) on {db.engine.dialect.name}")
    started = time.perf_counter()
    if args.profile:
        import cProfile
        import pstats
        profiler = cProfile.Profile()
        profiler.enable()
    by_instance, by_project, refused, stats = simulate(db, plans, runs, print)
    wall = time.perf_counter() - started
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    mismatches = report_calls(db, runs, by_project, print)
    return 0 if report(db, by_instance, refused, stats, wall, print, mismatches) else 1


if __name__ == "__main__":
    sys.exit(main())
