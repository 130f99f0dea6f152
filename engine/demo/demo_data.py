"""Demo data for `make run`: organisations, users for every role, an expert pool of 66 experts in
six disciplines, an integrity list with its history, and projects standing in every stage of the
lifecycle, each played forward from its past through the real processes (engine.playback), so
that every inbox has real work and the register shows every status. Idempotent: users,
organisations, experts and integrity entries are kept when they exist, and projects are only
played when there are no process instances yet. Every demo user's password is `demo1234`."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from werkzeug.security import generate_password_hash

from engine.core import audit, clock, commands, users
from engine.definitions import deployment
from engine.lifecycle import expert_pool, integrity, organisations
from engine.runtime import instances
from engine.demo import playback
from engine.core.calendar import BUREAU_TZ, add_working_days
from engine.core.db import Database
from engine.core.errors import Conflict
from engine.core.models import HumanTask, ProcessInstance
from engine.core.principals import Actor

PASSWORD = "demo1234"
LIFECYCLE = "project_lifecycle"

ORGANISATIONS = [
    # code, name, kind, recommending unit (code)
    ("binjiang", "滨江区科技局", "recommender", None),
    ("xihu", "西湖区科技局", "recommender", None),
    ("yuhang", "余杭区科技局", "recommender", None),
    ("zju", "浙江大学", "university", None),
    ("zjut", "浙江工业大学", "university", None),
    ("hdu", "杭州电子科技大学", "university", None),
    ("hzam", "杭州先进材料研究院", "institute", "binjiang"),
    ("zjbio", "浙江生物医药实验室", "institute", "xihu"),
    ("zhixin", "杭州智芯科技有限公司", "enterprise", "binjiang"),
    ("lvneng", "浙江绿能环境科技有限公司", "enterprise", "yuhang"),
    ("hz1h", "杭州市第一人民医院", "hospital", "xihu"),
]
# applications a unit may forward per year (lifecycle.units); the others have no quota
YEARLY_QUOTAS = {"hzam": 20, "zhixin": 10}

USERS = [
    # name, display name, groups, organisation
    ("zhang.wei", "张伟 Zhang Wei", ["applicants"], "杭州先进材料研究院"),
    ("li.na", "李娜 Li Na", ["applicants"], "浙江生物医药实验室"),
    ("wang.lei", "王磊 Wang Lei", ["applicants"], "杭州电子科技大学"),
    ("chen.yu", "陈宇 Chen Yu", ["applicants"], "杭州智芯科技有限公司"),
    ("liu.fang", "刘芳 Liu Fang", ["applicants"], "浙江绿能环境科技有限公司"),
    ("zhou.jie", "周杰 Zhou Jie", ["applicants"], "杭州市第一人民医院"),
    ("huang.min", "黄敏 Huang Min", ["applicants"], "浙江大学"),
    ("xu.jing", "徐静 Xu Jing", ["recommender.binjiang"], "滨江区科技局"),
    ("ma.lin", "马琳 Ma Lin", ["recommender.xihu"], "西湖区科技局"),
    ("zhu.tao", "朱涛 Zhu Tao", ["recommender.yuhang"], "余杭区科技局"),
    ("he.yun", "何云 He Yun", ["recommender.zju", "recommender.zjut", "recommender.hdu"], "浙江大学"),
    ("luo.hui", "罗慧 Luo Hui", ["unit.hzam"], "杭州先进材料研究院"),
    ("song.jia", "宋佳 Song Jia", ["unit.zhixin", "unit.lvneng"], "杭州智芯科技有限公司"),
    ("tang.li", "唐丽 Tang Li", ["unit.zjbio", "unit.hz1h", "unit.zju", "unit.hdu"], "浙江生物医药实验室"),
    ("wang.fang", "王芳 Wang Fang", ["institution_staff"], "杭州市科技项目管理服务中心"),
    ("chen.jing", "陈静 Chen Jing", ["institution_staff"], "杭州市科技项目管理服务中心"),
    ("gao.feng", "高峰 Gao Feng", ["bureau_staff"], "杭州市科学技术局"),
    ("lin.xue", "林雪 Lin Xue", ["bureau_staff"], "杭州市科学技术局"),
    ("deng.min", "邓敏 Deng Min", ["auditors"], "浙江中正会计师事务所"),
    ("sun.ping", "孙平 Sun Ping", ["evaluators"], "浙江省科技评估中心"),
    ("liu.yang", "刘洋 Liu Yang", ["experts"], "浙江大学"),
    ("zhao.min", "赵敏 Zhao Min", ["supervisors"], "杭州市科学技术局"),
    ("sun.hao", "孙浩 Sun Hao", ["designers"], "杭州市科学技术局"),
    ("admin", "管理员 Administrator", ["admins", "supervisors", "designers"], "杭州市科学技术局"),
    # another system: the bureau's finance system confirms tranche payments (tools/finance_worker.py)
    ("finance.system", "财务系统 Finance system", ["integrations"], "杭州市科学技术局"),
]

DISCIPLINES = ("it", "biomed", "materials", "manufacturing", "agriculture", "energy")
EXPERTS_PER_DISCIPLINE = 11
_SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
_GIVEN = ["建国", "晓梅", "志强", "丽华", "海涛", "雪松", "文博", "静怡", "国平", "红霞", "伟民", "思远"]
_EXPERT_ORGS = ["上海交通大学", "复旦大学", "南京大学", "同济大学", "中国计量大学", "宁波大学", "温州医科大学",
                "浙江农林大学", "浙江理工大学", "中国科学院宁波材料技术与工程研究所", "浙江大学", "杭州电子科技大学"]
_TITLES = ("professor", "researcher", "senior_engineer", "associate_professor", "chief_physician")

INTEGRITY = [
    {"subject_type": "person", "subject_name": "钱某某", "grade": "serious",
     "reason": "在项目结题材料中伪造实验数据 · fabricated data in a final report",
     "penalty_start": "2025-01-01", "penalty_end": "2028-12-31", "document_no": "杭科监〔2024〕12号"},
    {"subject_type": "organisation", "subject_name": "杭州某某生物科技有限公司", "grade": "severe",
     "reason": "虚报冒领财政科研资金 · obtained public research funds by false claims",
     "penalty_start": "2024-06-01", "penalty_end": None, "document_no": "杭科监〔2024〕5号"},
    {"subject_type": "person", "subject_name": "孙某", "grade": "general",
     "reason": "一稿多投 · duplicate submission of a paper", "penalty_start": "2022-01-01",
     "penalty_end": "2023-12-31", "document_no": "杭科监〔2021〕9号"},
]


@dataclass
class DemoProject:
    """One application and where the demo leaves it."""

    applicant: str
    data: dict[str, Any]
    days_ago: int
    stop_at: tuple[str, ...] = ()
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    change: dict[str, Any] | None = None  # a change request filed where the project stopped
    change_stop: tuple[str, ...] = ()  # where the change request is left waiting, if anywhere


# how a demo application splits its request over the budget categories (indirect costs and
# experts' fees within budget_rules.dmn's caps); the rest of self-raised funds is a fifth
BUDGET_SHARES = {"equipment": 0.3, "materials": 0.25, "testing": 0.1, "travel": 0.05, "labour": 0.15,
                 "experts": 0.05, "indirect": 0.1}


def _budget_lines(budget: float) -> list[dict[str, Any]]:
    lines, left = [], round(float(budget), 2)
    for n, (category, share) in enumerate(BUDGET_SHARES.items()):
        amount = left if n == len(BUDGET_SHARES) - 1 else round(budget * share, 2)
        left = round(left - amount, 2)
        lines.append({"category": category, "municipal": amount, "self_raised": round(amount * 0.2, 2),
                      "justification": "购置关键试验设备" if category == "equipment" else ""})
    return lines


def _application(title: str, investigator: str, organisation: str, discipline: str, category: str,
                 budget: float, months: int, abstract: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "plan_category": category, "discipline": discipline, "organisation": organisation,
            "principal_investigator": investigator, "budget": budget, "period_months": months,
            "abstract": abstract, "integrity_pledge": True,
            "team": [{"name": f"{investigator[0]}助理", "member_organisation": organisation, "role": "研究"}],
            "budget_lines": _budget_lines(budget)} | extra


CAR = _application("智能网联汽车车路协同感知关键技术研究", "陈宇", "杭州智芯科技有限公司", "it", "key_rd", 300, 36,
                   "面向城市道路车路协同场景，研究多源异构传感器融合感知与边缘计算调度方法，研制路侧感知单元并开展示范应用。")
PROJECTS = [
    DemoProject("chen.yu", CAR, 1, ("endorse",)),
    DemoProject("li.na", _application("基于常规血检的脓毒症早期预警模型", "李娜", "浙江生物医药实验室", "biomed",
                                      "public_welfare", 80, 24,
                                      "利用县级医院常规血常规数据构建脓毒症风险预警模型，完成多中心验证并形成临床应用规范。"),
                4, ("correct_application",),
                {"formal_review": {"decision": "return", "review_comment": "请补充伦理审查批件 · attach the ethics approval",
                                   "checks_passed": ["complete"]}}),
    DemoProject("wang.lei", CAR | {"title": "智能网联汽车车路协同感知关键技术", "principal_investigator": "王磊",
                                   "organisation": "杭州电子科技大学"}, 3, ("formal_review_duplicates",)),
    DemoProject("huang.min", _application("高比能固态锂电池界面调控研究", "黄敏", "浙江大学", "energy", "natural_science",
                                          60, 24, "研究固态电解质与电极界面的离子传输机理，提出界面修饰方法并研制高比能电池样品。"),
                9, ("invitation",)),
    DemoProject("zhou.jie", _application("急性缺血性卒中院前智能分诊系统", "周杰", "杭州市第一人民医院", "biomed",
                                         "public_welfare", 120, 24,
                                         "建立院前急救卒中识别模型与分诊流程，实现急救车与卒中中心的信息联动，缩短救治时间。"),
                20, ("bureau_decision_task",)),
    DemoProject("liu.fang", _application("城镇污水厂低碳运行智能控制技术", "刘芳", "浙江绿能环境科技有限公司", "energy",
                                         "key_rd", 200, 36,
                                         "研发污水处理曝气与加药的智能优化控制系统，降低能耗与碳排放，在两座污水厂开展示范。"),
                26, ("notice_objections",)),
    DemoProject("zhang.wei", _application("高熵合金激光增材制造工艺研究", "张伟", "杭州先进材料研究院", "materials",
                                          "natural_science", 120, 24,
                                          "研究高熵合金激光增材制造的组织调控与性能优化，形成可推广的工艺规范。"),
                34, ("sign_contract",)),
    DemoProject("chen.yu", _application("工业视觉缺陷检测边缘计算平台", "陈宇", "杭州智芯科技有限公司", "manufacturing",
                                        "key_rd", 150, 36,
                                        "研制面向电子制造产线的视觉缺陷检测边缘计算平台，实现毫秒级检测与模型在线更新。"),
                405, ("annual_report",), change={"change_kind": "period", "extension_months": 6,
                                                 "change_description": "实施周期延长 6 个月",
                                                 "change_reason": "关键芯片供货延迟，产线联调推迟"},
                change_stop=("change_bureau_decision",)),
    DemoProject("zhang.wei", _application("轻量化铝基复合材料构件成形技术", "张伟", "杭州先进材料研究院", "materials",
                                          "public_welfare", 90, 24,
                                          "开发轻量化铝基复合材料构件的近净成形工艺，完成典型构件试制与性能评价。"),
                410, ("midterm_check",), change={"change_kind": "team_members", "change_value": "增加成员：赵工程师",
                                                 "change_description": "增加一名工艺工程师参与试制",
                                                 "change_reason": "试制工作量增加"},
                change_stop=("change_unit_review",)),  # in luo.hui's inbox (the institute's office)
    DemoProject("zhou.jie", _application("老年慢病社区随访数字化管理", "周杰", "杭州市第一人民医院", "biomed",
                                         "public_welfare", 40, 12,
                                         "建立社区老年慢病数字化随访平台，实现风险分层管理与家庭医生协同干预。"),
                430, ("apply_acceptance",)),
    DemoProject("huang.min", _application("茶园土壤墒情智能感知网络", "黄敏", "浙江大学", "agriculture", "natural_science",
                                          50, 12, "研制印刷式土壤墒情传感器与低功耗组网技术，实现山地茶园精准灌溉调度。"),
                470, ("expert_evaluation",)),
    DemoProject("wang.lei", _application("面向政务服务的大模型知识问答系统", "王磊", "杭州电子科技大学", "it", "soft_science",
                                         30, 12, "构建政务服务领域知识库与检索增强问答模型，形成可在区县推广的政务问答服务。"),
                520),
    DemoProject("li.na", _application("肿瘤免疫治疗疗效预测标志物研究", "李娜", "浙江生物医药实验室", "biomed",
                                      "natural_science", 70, 12,
                                      "筛选肿瘤免疫治疗疗效相关的外周血标志物，建立疗效预测模型并开展前瞻性验证。"),
                500, answers={"acceptance_review": {"completion_rate": 50, "acceptance_score": 75,
                                                    "acceptance_opinion": playback.TEXT}}),
    DemoProject("liu.fang", _application("农村分散式污水处理一体化装备", "刘芳", "浙江绿能环境科技有限公司", "energy",
                                         "public_welfare", 60, 24,
                                         "研制农村分散式污水一体化处理装备，降低运维成本，在山区村落开展应用示范。"),
                420, answers={"midterm_check": {"midterm_conclusion": "terminate",
                                                "midterm_comment": "核心技术路线无法实现，建议终止"}}),
    DemoProject("huang.min", _application("城市内涝数字孪生预警平台", "黄敏", "浙江大学", "it", "natural_science", 80, 24,
                                          "构建城市排水管网数字孪生模型，实现内涝风险实时预警与应急调度辅助决策。"),
                60, answers={"bureau_decision_task": {"bureau_decision": "reserve",
                                                      "decision_comment": "本年度经费有限，入库储备"}}),
    # waiting for its own unit's review (song.jia, the research office of 杭州智芯科技)
    DemoProject("chen.yu", _application("产线数字孪生排产优化系统", "陈宇", "杭州智芯科技有限公司", "manufacturing",
                                        "key_rd", 100, 24,
                                        "构建电子制造产线数字孪生模型，研究多约束排产优化算法并在两条产线开展示范。"),
                2, ("unit_review",)),
    DemoProject("liu.fang", _application("光伏组件回收关键材料分离技术", "钱某某", "浙江绿能环境科技有限公司", "energy",
                                         "natural_science", 50, 24,
                                         "研究退役光伏组件中银、硅等关键材料的高效分离与回收技术。"), 15),
]


def load(db: Database, projects: list[DemoProject] | None = None) -> list[str]:
    """Load everything (idempotent); `projects` replaces the demo projects (tests use a few)."""
    lines = [_ensure_organisation(db, *spec) for spec in ORGANISATIONS]
    experts = expert_specs()
    lines += _ensure_users(db, USERS + [(e["username"], f"{e['name']} ({e['organisation']})", ["experts"],
                                         e["organisation"]) for e in experts if e["username"] != "liu.yang"])
    lines += _ensure_experts(db, experts)
    lines += _ensure_integrity_list(db)
    if commands.query(db, lambda s: s.scalar(select(func.count()).select_from(ProcessInstance))):
        return lines + ["demo applications already present"]
    if commands.query(db, deployment.latest_definition, LIFECYCLE, False) is None:
        return lines + [f"{LIFECYCLE} is not deployed; no demo projects started"]
    now = clock.now()
    for project in PROJECTS if projects is None else projects:
        lines.append(_play(db, project, now))
    if projects is None:
        lines += load_calls(db, now)
    return lines + [_rate_finished_reviews(db)]


def _rate_finished_reviews(db: Database) -> str:
    """The institution's ratings of every expert whose review is over (the expert pool's page
    shows them), as wang.fang: good on the whole, spread so that the page has something to show."""
    def rate(session):  # type: ignore[no-untyped-def]
        done = session.scalars(select(expert_pool.DrawMember).where(
            expert_pool.DrawMember.slot.is_not(None),
            expert_pool.DrawMember.status.in_((expert_pool.SCORED, expert_pool.TIMED_OUT)))).all()
        rated = 0
        for member in done:
            late = member.status == expert_pool.TIMED_OUT
            values = {"timeliness": 1 if late else 4 + member.id % 2, "quality": 3 + member.id % 3,
                      "comment": "评审意见详实 · a thorough review" if not late else "未按期评审 · missed the deadline"}
            try:
                with session.begin_nested():
                    expert_pool.rate(session, "wang.fang", member.draw_id, member.expert_id, values)
                rated += 1
            except Conflict:  # rated already (the demo loads idempotently)
                continue
        return rated
    return f"{commands.execute(db, rate)} expert rating(s)"


# --- calls for proposals (issue 16) ---------------------------------------------------------------
# The open call with a few applications in it. The closed and decided call (its batch reviewed and
# decided) is added here once batch_review and batch_decision are merged: another DemoCall whose
# deadline lies in the past, played through its batch.

@dataclass(frozen=True)
class DemoCall:
    call: dict[str, Any]
    opened_days_ago: int
    closes_in_days: int  # negative: the deadline has passed, and the call's batch is played through
    applications: list[DemoProject] = field(default_factory=list)


OPEN_CALL = DemoCall(
    {"key": "2027-1", "title": "2027年度第一批科技计划项目申报指南", "year": 2027,
     "categories": [{"code": "key_rd", "name": "重点研发计划", "budget": 8000000, "topics": ["智能制造", "新能源与节能环保"]},
                    {"code": "natural_science", "name": "自然科学基金", "budget": 3000000, "topics": ["新材料", "生物医药"]}],
     "quotas": {"binjiang": 5, "xihu": 3, "yuhang": 3, "zju": 8, "zjut": 5, "hdu": 5},
     "eligibility": {"max_open_projects": 2, "budget_min": 10, "budget_max": 300, "registered_organisation": True}},
    opened_days_ago=12, closes_in_days=18,
    applications=[
        DemoProject("chen.yu", _application("面向柔性产线的工业机器人自主装配技术", "陈宇", "杭州智芯科技有限公司",
                                            "manufacturing", "key_rd", 260, 36,
                                            "研究多品种小批量柔性产线中工业机器人的视觉引导自主装配与快速换型方法。",
                                            call_topic="智能制造"), 8, ("endorse",)),
        DemoProject("zhou.jie", _application("抗肿瘤小分子药物晶型筛选平台", "周杰", "杭州市第一人民医院", "biomed",
                                          "natural_science", 90, 24,
                                          "建立高通量药物晶型筛选与稳定性评价平台，服务创新药临床前研究。",
                                          call_topic="生物医药"), 6, ("formal_review",)),
        DemoProject("huang.min", _application("钠离子电池正极材料低成本制备", "黄敏", "浙江大学", "energy",
                                              "natural_science", 70, 24,
                                              "研究层状氧化物正极材料的低成本制备工艺与循环稳定性提升方法。",
                                              call_topic="新材料"), 3, ("endorse",)),
    ])


# The call of half a year ago: closed, its batch reviewed by a meeting panel (key R&D,
# manufacturing) and by mail (natural science, biomedicine), decided at one bureau meeting and
# noticed; its funded projects are in their contracts, one is in the reserve.
DECIDED_CALL = DemoCall(
    {"key": "2026-2", "title": "2026年度第二批科技计划项目申报指南", "year": 2026,
     "categories": [{"code": "key_rd", "name": "重点研发计划", "budget": 3000000, "topics": ["智能制造"]},
                    {"code": "natural_science", "name": "自然科学基金", "budget": 1000000, "topics": ["生物医药"]}],
     "quotas": {"binjiang": 5, "xihu": 5, "yuhang": 5, "zju": 8, "zjut": 5, "hdu": 5},
     "eligibility": {"budget_min": 10, "budget_max": 300, "registered_organisation": True}},
    opened_days_ago=170, closes_in_days=-140,
    applications=[
        DemoProject("wang.lei", _application("面向小批量多品种的数控机床智能排产系统", "王磊", "杭州电子科技大学",
                                             "manufacturing", "key_rd", 150, 24,
                                             "研究多约束条件下数控机床群的智能排产与动态调度方法，开发排产系统并在园区企业示范应用。",
                                             call_topic="智能制造"), 160),
        DemoProject("huang.min", _application("工业窑炉余热梯级利用成套装备研制", "黄敏", "浙江大学",
                                              "manufacturing", "key_rd", 120, 24,
                                              "研制工业窑炉中低温余热梯级回收与发电成套装备，完成示范工程并形成行业标准草案。",
                                              call_topic="智能制造"), 158),
        DemoProject("zhou.jie", _application("脓毒症早期预警生物标志物研究", "周杰", "杭州市第一人民医院", "biomed",
                                             "natural_science", 60, 24,
                                             "筛选脓毒症早期预警血清标志物，建立多指标联合预警模型并开展前瞻性队列验证。",
                                             call_topic="生物医药"), 156),
        DemoProject("li.na", _application("靶向蛋白降解分子的设计与活性评价", "李娜", "浙江生物医药实验室", "biomed",
                                            "natural_science", 50, 24,
                                            "设计合成靶向致病蛋白的降解分子，建立体外活性评价体系并完成先导化合物优化。",
                                            call_topic="生物医药"), 155),
    ])


def _batch_answer(db: Database):  # type: ignore[no-untyped-def]
    """How the people of a call's batch answer: the institution schedules the meeting three
    working days ahead, each expert scores, each chair sums up, the institution keeps the proposal
    and the bureau approves it as a whole; nobody objects during the notice."""
    def answer(row: HumanTask) -> dict[str, Any] | None:
        if row.name == "schedule_session":
            created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
            day = add_working_days(created, 3).astimezone(BUREAU_TZ).replace(hour=9, minute=0, second=0,
                                                                                   microsecond=0)
            return {"session_kind": "hybrid", "session_start": day.isoformat(), "session_place": "市科技局三楼会议室",
                    "video_link": "https://meeting.example/2026-2", "defence_minutes": 20}
        if row.name == "batch_scoring":
            return playback.SCORES | {"innovation": 27 - len(row.assignee or "") % 3,
                                      "expert_opinion": "创新性较强，技术路线可行 · innovative and feasible"}
        if row.name == "chair_summary":
            return {"chair_summary": "答辩清楚，技术路线可行，建议支持 · a clear defence and a feasible approach"}
        found = playback.batch_answer(db, row)
        return found if found is not None else playback.default_answer(row)
    return answer


def load_calls(db: Database, now: datetime, demo_calls: list[DemoCall] | None = None) -> list[str]:
    """Publish each demo call at its opening day and play its applications up to now."""
    from engine.lifecycle import calls
    from engine.workspace import call_desk
    lines = []
    staff = Actor("wang.fang", frozenset({"institution_staff"}))
    for demo in [DECIDED_CALL, OPEN_CALL] if demo_calls is None else demo_calls:
        key = demo.call["key"]
        if commands.query(db, lambda s: s.scalar(select(calls.Call.id).where(calls.Call.key == key))) is not None:
            lines.append(f"call {key}: already present")
            continue
        opened = (now - timedelta(days=demo.opened_days_ago)).astimezone(BUREAU_TZ).replace(
            hour=9, minute=0, second=0, microsecond=0)
        closes = (now + timedelta(days=demo.closes_in_days)).astimezone(BUREAU_TZ).replace(
            hour=17, minute=0, second=0, microsecond=0)
        with clock.frozen_at(opened):
            commands.execute(db, call_desk.create, staff, demo.call | {"opens_at": opened.isoformat(),
                                                                        "closes_at": closes.isoformat()})
            commands.execute(db, call_desk.publish, staff, key)
        played: list[tuple[int, DemoProject, dict[str, Any]]] = []
        for project in demo.applications:
            day = (now - timedelta(days=project.days_ago)).astimezone(BUREAU_TZ).replace(
                hour=9, minute=30, second=0, microsecond=0)
            data = {k: v for k, v in project.data.items() if k != "call_topic"}
            with clock.frozen_at(day):
                instance_id = commands.execute(db, call_desk.submit, Actor(project.applicant, frozenset({"applicants"})),
                                               key, data, project.data.get("call_topic")).id
            played.append((instance_id, project, data))
            playback.play(db, instance_id, day + timedelta(hours=1), now, _answer(project, data), project.stop_at)
        if demo.closes_in_days < 0:
            lines.append(_play_batch(db, key, opened, now, played))
        lines.append(f"call {key}: published, {len(demo.applications)} application(s)")
    return lines


def _play_batch(db: Database, key: str, opened: datetime, now: datetime,
                played: list[tuple[int, DemoProject, dict[str, Any]]]) -> str:
    """Play a closed call's own process through its batch (deadline, panels, decision, notice),
    then each of its projects on from the decision to now."""
    call = commands.query(db, lambda s: s.scalar(select(ProcessInstance).where(
        ProcessInstance.process_key == "call_for_proposals", ProcessInstance.business_key == key)))
    done = playback.play(db, call.id, opened, now, _batch_answer(db), pace=timedelta(hours=4))
    for instance_id, project, data in played:
        playback.play(db, instance_id, done.at, now, _answer(project, data), project.stop_at)
    return f"call {key}: batch {done.state}"


def _ensure_organisation(db: Database, code: str, name: str, kind: str, recommender: str | None) -> str:
    commands.execute(db, organisations.ensure, code, name, kind, recommender, None, YEARLY_QUOTAS.get(code))
    return f"organisation {code}: {name}"


def _ensure_users(db: Database, specs: list[tuple[str, str, list[str], str]]) -> list[str]:
    """Create the missing demo users in one go. They all share the demo password, so it is hashed
    once (a scrypt hash takes about 0.3 s; ninety of them would take half a minute)."""
    def create(session: Any) -> list[str]:
        existing = set(session.scalars(select(users.User.username)))
        missing = [spec for spec in specs if spec[0] not in existing]
        if not missing:
            return []
        shared = generate_password_hash(PASSWORD)
        for name, display, groups, org in missing:
            user = users.User(username=name, password_hash=shared, display_name=display, email=f"{name}@example.org",
                              org=org, active=True, created_at=clock.now())
            user.groups = [users.ensure_group(session, g) for g in groups]
            session.add(user)
            audit.record(session, "user_created", "demo", username=name, groups=sorted(groups))
        return [f"created user {name} ({', '.join(groups)})" for name, _, groups, _ in missing]
    return commands.execute(db, create) or ["demo users exist"]


def expert_specs() -> list[dict[str, Any]]:
    """66 experts, 11 per discipline, from several organisations, some with declared conflicts."""
    specs = [{"username": "liu.yang", "name": "刘洋", "organisation": "浙江大学", "title": "professor",
              "discipline": "it", "other_disciplines": ["manufacturing"]}]
    n = 0
    for discipline in DISCIPLINES:
        for i in range(EXPERTS_PER_DISCIPLINE - (1 if discipline == "it" else 0)):
            name = _SURNAMES[n % len(_SURNAMES)] + _GIVEN[(n * 7 + i) % len(_GIVEN)]
            spec = {"username": f"expert.{discipline}{i + 1:02d}", "name": name,
                    "organisation": _EXPERT_ORGS[(n * 5 + i) % len(_EXPERT_ORGS)],
                    "title": _TITLES[n % len(_TITLES)], "discipline": discipline,
                    "other_disciplines": [DISCIPLINES[(DISCIPLINES.index(discipline) + 1) % 6]] if i % 4 == 0 else []}
            if i % 5 == 1:
                spec["avoid_units"] = ["杭州智芯科技有限公司"]
            if i % 7 == 3:
                spec["avoid_persons"] = ["张伟"]
            specs.append(spec)
            n += 1
    return specs


def _ensure_experts(db: Database, specs: list[dict[str, Any]]) -> list[str]:
    def add(session: Any) -> list[str]:
        known = set(session.scalars(select(expert_pool.Expert.username)))
        added = [spec for spec in specs if spec["username"] not in known]
        for spec in added:
            expert_pool.add_expert(session, **spec)
        return [f"expert {spec['username']}: {spec['name']}, {spec['discipline']}" for spec in added]
    return commands.execute(db, add) or ["expert pool exists"]


def _ensure_integrity_list(db: Database) -> list[str]:
    if commands.query(db, integrity.entries, None, None, True):
        return ["integrity list exists"]
    for entry in INTEGRITY:
        commands.execute(db, integrity.add, "demo", entry)
    revoked = commands.execute(db, integrity.add, "demo", {
        "subject_type": "person", "subject_name": "李某", "grade": "general", "reason": "论文署名不当",
        "penalty_start": "2025-03-01", "penalty_end": "2026-02-28"}).id
    commands.execute(db, integrity.revoke, "demo", revoked, "经复核认定署名经本人同意，撤销 · overturned on review")
    return [f"integrity list: {len(INTEGRITY) + 1} entries (one revoked)"]


def _answer(project: DemoProject, data: dict[str, Any]):  # type: ignore[no-untyped-def]
    def answer(row: HumanTask) -> dict[str, Any] | None:
        if row.name == "correct_application":
            return {"title": data["title"], "budget": data["budget"], "abstract": data["abstract"],
                    "correction_note": "已按意见修改 · corrected as asked"}
        if row.name in project.answers:
            return dict(project.answers[row.name])
        return playback.default_answer(row)
    return answer


def _play(db: Database, project: DemoProject, now: datetime) -> str:
    """Submit the application `days_ago` days ago (09:30 in the bureau) and play it up to now."""
    day = (now - timedelta(days=project.days_ago)).astimezone(BUREAU_TZ).replace(hour=9, minute=30, second=0,
                                                                                  microsecond=0)
    actor = Actor(project.applicant, frozenset({"applicants"}))
    with clock.frozen_at(day):
        instance_id = commands.execute(db, instances.start, actor, LIFECYCLE, project.data).id
    answer = _answer(project, project.data)
    played = playback.play(db, instance_id, day + timedelta(hours=1), now, answer, project.stop_at)
    if project.change is not None and played.state == instances.RUNNING:
        # file the change request where the project stopped, leaving that task open for its user
        at = played.at + timedelta(hours=1)
        _file_change(db, instance_id, project.change, at)
        keep_open = set(project.stop_at)
        played = playback.play(db, instance_id, at + timedelta(hours=1), now,
                               lambda row: None if row.name in keep_open else answer(row), project.change_stop)
    return f"project {instance_id} ({project.data['title']}): {commands.query(db, lambda s: _where(s, instance_id))}"


def _file_change(db: Database, instance_id: int, change: dict[str, Any], at: datetime) -> None:
    [row] = [r for r in playback.open_tasks(db, instance_id) if r.name == "change_request"]
    playback.complete(db, row, change, at)


def _where(session: Any, instance_id: int) -> str:
    """Where a demo project stands: its open tasks, or how it ended."""
    instance = instances.get(session, instance_id)
    names = {row.name for row in session.scalars(select(HumanTask).where(
        HumanTask.process_instance_id == instance_id, HumanTask.state == "open"))}
    waiting = sorted(names - playback.STANDING) or sorted(names)
    if waiting:
        return "waiting for " + ", ".join(waiting)
    return f"{instance.state}, {instances.data_of(instance).get('status')}"
