"""Simulation: one year's intake of a municipal sci-tech programme driven through the whole
lifecycle (processes/), with seeded random decisions and time travel through every timer.

Every application gets a plan drawn from the seed: whether its investigator is on the integrity
list, what the recommending unit and the formal reviewer decide (with returns and lapses), the
experts' scores (a target in one score band, each expert within 2 points of it) and how many
experts decline or stay silent, the bureau's decision, objections, whether the contract is
signed, the period (12/24/36 months), change requests, the mid-term conclusion, the acceptance
outcome and the performance score. From the plan alone the simulator predicts where each
application must end; the engine then plays everything for real, day by day from the first
submission: people act on working days, 1-3 working days after a task appears; the scheduler's
pass fires timers (expert deadlines, notice periods, contract deadlines, milestones, acceptance
deadlines) as the clock moves. At the end the register's final statuses and ratings are compared
with the predictions: they must match exactly, else the exit status is 1.

Printed: stage counts (predicted vs engine), working-day durations per stage from the register's
timeline, commands run, wall time and time per command.

Usage: .venv/bin/python bench/simulate_year.py [--quick] [--applications N] [--seed S]
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
from engine.lifecycle import expert_pool, funds, integrity, organisations, projects
from engine.runtime import instances
from engine.scheduling import scheduler
from engine.core.calendar import BUREAU_TZ, is_working_day, working_days_between  # noqa: E402
from engine.core.models import HumanTask, ProcessInstance  # noqa: E402
from engine.core.principals import Actor  # noqa: E402
from engine.definitions.validation import collect_paths  # noqa: E402

UNITS = [(name, code) for code, name, kind, _ in demo_data.ORGANISATIONS if kind != "recommender"]
CATEGORIES = ("key_rd", "natural_science", "soft_science", "public_welfare")
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
    bureau: str = "fund"
    objection: str | None = None  # dismissed | upheld
    contract: str = "sign"  # sign | lapse
    change: str | None = None  # period | team_members
    midterm: str = "continue"  # continue | rectify | suspend_funding | terminate | rectify_terminate
    acceptance: str = "pass"  # pass | rectify_pass | veto | rectify_fail | late
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
        if self.bureau == "reserve":
            return "reserved", None
        if self.bureau == "reject" or self.objection == "upheld":
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


def make_plans(count: int, seed: int, first_day: date) -> list[Plan]:
    rng = random.Random(seed)
    days = [first_day + timedelta(days=d) for d in range(70) if is_working_day(first_day + timedelta(days=d))][:40]
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
        plan = Plan(i, rng.choice(days), f"applicant{i + 1:04d}", data)
        roll = rng.random()
        if roll < 0.015:
            plan.refused = True
            data["principal_investigator"] = PENALISED[i % len(PENALISED)]
        plan.unit = rng.choices(["endorse", "return", "reject"], [95, 2, 3])[0]
        plan.formal = rng.choices(["accept", "return_accept", "reject", "limit", "lapse"], [86, 6, 5, 1.5, 1.5])[0]
        if plans and rng.random() < 0.02:  # a copy of an earlier application
            original = rng.choice(plans[: max(1, len(plans) // 2)])
            if original.submit_on < plan.submit_on:
                plan.duplicate_of = original.index
                data["title"], data["abstract"] = original.data["title"], original.data["abstract"]
                data["discipline"] = original.data["discipline"]
        plan.target = rng.choice([rng.uniform(93, 97), rng.uniform(82, 87), rng.uniform(82, 87),
                                  rng.uniform(63, 77), rng.uniform(63, 77), rng.uniform(30, 55)])
        plan.target = round(plan.target, 1)
        plan.declines = rng.choices([0, 1, 2], [80, 15, 5])[0]
        plan.silent = rng.choices([0, 1], [92, 8])[0]
        plan.bureau = {"key_recommend": "fund", "reserve": "reserve", "reject": "reject"}.get(
            plan.band, rng.choices(["fund", "reserve"], [90, 10])[0])
        plan.objection = rng.choices([None, "dismissed", "upheld"], [96, 2, 2])[0]
        plan.contract = rng.choices(["sign", "lapse"], [98, 2])[0]
        plan.change = rng.choices([None, "period", "team_members"], [90, 5, 5])[0]
        plan.midterm = rng.choices(["continue", "rectify", "suspend_funding", "terminate", "rectify_terminate"],
                                   [86, 5, 3, 3, 3])[0]
        plan.acceptance = rng.choices(["pass", "rectify_pass", "veto", "rectify_fail", "late"], [84, 6, 5, 3, 2])[0]
        plan.evaluation = round(rng.choice([rng.uniform(90, 99), rng.uniform(80, 89.9), rng.uniform(60, 79.9),
                                            rng.uniform(40, 59.9)]), 1)
        plans.append(plan)
    return plans


# ---------------------------------------------------------------------------------------------
# How people answer, following the plan

def _scores(total: float, seat: int, instance_id: int) -> dict[str, Any]:
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
    if name == "institution_proposal":
        return {"proposal": plan.bureau, "proposal_comment": "按得分排序"}
    if name == "bureau_decision_task":
        return {"bureau_decision": plan.bureau, "decision_comment": "局务会研究"}
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
            return {"member_score": plan.evaluation, "member_conclusion": "good", "member_opinion": "成员评价意见"}
        score = 86.0 if plan.acceptance == "pass" else 70.0
        return {"member_score": score, "member_conclusion": "pass" if score >= 80 else "rectify",
                "member_opinion": "成员验收意见：按任务书逐项核查"}
    if name == "acceptance_review":
        veto = plan.acceptance == "veto"
        score = 86.0 if plan.acceptance == "pass" else (85.0 if n > 1 and plan.acceptance == "rectify_pass" else 70.0)
        return {"completion_rate": 70 if veto else 95, "acceptance_score": score,
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


def simulate(db: Any, plans: list[Plan], first_day: date, log: Any) -> tuple[dict[int, Plan], Stats]:
    stats = Stats()
    by_instance: dict[int, Plan] = {}
    pending = sorted(plans, key=lambda p: (p.submit_on, p.index))
    day = first_day
    last_day = first_day + timedelta(days=365 * 6)
    running: set[int] = set()
    while day <= last_day and (pending or running):
        morning = datetime.combine(day, datetime.min.time(), BUREAU_TZ).replace(hour=10)
        while pending and pending[0].submit_on == day:
            plan = pending.pop(0)
            with clock.frozen_at(morning):
                instance = commands.execute(db, instances.start, Actor(plan.applicant, frozenset({"applicants"})),
                                            "project_lifecycle", plan.data)
            stats.commands += 1
            by_instance[instance.id] = plan
            if instance.state == instances.RUNNING:
                running.add(instance.id)
        if is_working_day(day):
            _work(db, by_instance, running, morning, stats)
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
    return by_instance, stats


def _work(db: Any, by_instance: dict[int, Plan], running: set[int], morning: datetime, stats: Stats) -> None:
    rows = commands.query(db, lambda s: list(s.scalars(select(HumanTask).where(HumanTask.state == "open")
                                                           .order_by(HumanTask.created_at, HumanTask.id))))
    today = morning.date()
    for row in rows:
        plan = by_instance.get(row.process_instance_id)
        if plan is None or working_days_between(row.created_at, today) < delay(row):
            continue
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
                plan.seen["formal_review" if row.name == "formal_review_duplicates" else row.name] -= 1


# ---------------------------------------------------------------------------------------------
# Results

STAGES = [("application acceptance", "submitted", ("accepted", "not_accepted")),
          ("establishment review", "accepted", ("established", "reserved", "not_established")),
          ("contract", "established", ("in_progress", "lapsed")),
          ("execution", "in_progress", ("awaiting_acceptance", "terminated")),
          ("acceptance", "awaiting_acceptance", ("passed", "failed")),
          ("performance evaluation", "passed", ("evaluated",))]


def _moments(history: list[dict[str, Any]]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for entry in history:
        status = "submitted" if entry["event"] == "submitted" else entry.get("to") if entry["event"] == "status" else None
        if status and status not in found:
            found[status] = datetime.fromisoformat(entry["at"])
    return found


def report(db: Any, by_instance: dict[int, Plan], stats: Stats, wall: float, log: Any) -> bool:
    predicted = Counter(plan.expected()[0] for plan in by_instance.values())
    predicted_ratings = Counter(plan.expected()[1] for plan in by_instance.values() if plan.expected()[1])

    def read(session: Any) -> tuple[Counter[str], Counter[str], list[Any], list[str]]:
        statuses, ratings, histories, mismatches = Counter(), Counter(), [], []
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
    statuses, ratings, histories, mismatches = commands.query(db, read)

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
    log(f"\n{len(by_instance)} applications, {stats.commands} task/start commands, {stats.ticks} scheduler passes "
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
    parser.add_argument("--start", default="2025-02-10", help="the first day of the call for applications")
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
    first_day = date.fromisoformat(args.start)
    plans = make_plans(count, args.seed, first_day)
    print(f"simulating {count} applications from {first_day} (seed {args.seed}) on {db.engine.dialect.name}")
    started = time.perf_counter()
    if args.profile:
        import cProfile
        import pstats
        profiler = cProfile.Profile()
        profiler.enable()
    by_instance, stats = simulate(db, plans, first_day, print)
    wall = time.perf_counter() - started
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return 0 if report(db, by_instance, stats, wall, print) else 1


if __name__ == "__main__":
    sys.exit(main())
