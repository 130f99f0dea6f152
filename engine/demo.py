"""Demo data for `make run`: users for every role and a few applications standing at different
points of the formal review, so the quick start shows real work. Idempotent: users that exist
are kept, and instances are only started when there are none yet."""
from __future__ import annotations

from sqlalchemy import func, select

from . import commands, deployment, instances, tasks, users
from .db import Database
from .models import ProcessInstance
from .principals import Actor

PASSWORD = "demo1234"
USERS = [
    # name, display name, groups, organisation
    ("zhang.wei", "张伟 Zhang Wei", ["applicants"], "Hangzhou Institute of Advanced Materials"),
    ("li.na", "李娜 Li Na", ["applicants"], "Zhejiang Biomedicine Lab"),
    ("wang.fang", "王芳 Wang Fang", ["institution_staff"], "Project Management Institution"),
    ("chen.jing", "陈静 Chen Jing", ["institution_staff"], "Project Management Institution"),
    ("liu.yang", "刘洋 Liu Yang", ["experts"], "Zhejiang University"),
    ("zhao.min", "赵敏 Zhao Min", ["supervisors"], "Science and Technology Bureau"),
    ("sun.hao", "孙浩 Sun Hao", ["designers"], "Science and Technology Bureau"),
    ("admin", "管理员 Administrator", ["admins", "supervisors", "designers"], "Science and Technology Bureau"),
]

APPLICATIONS = [
    ("zhang.wei", {"title": "高熵合金增材制造工艺研究", "plan_category": "key_rd", "discipline": "materials",
                   "organisation": "Hangzhou Institute of Advanced Materials", "principal_investigator": "张伟",
                   "budget": 120.5, "period_months": 36, "integrity_pledge": True,
                   "abstract": "研究高熵合金激光增材制造的组织调控与性能优化，形成可推广的工艺规范。"}),
    ("li.na", {"title": "Early detection of sepsis from routine blood tests", "plan_category": "public_welfare",
               "discipline": "biomed", "organisation": "Zhejiang Biomedicine Lab", "principal_investigator": "Li Na",
               "budget": 80, "period_months": 24, "integrity_pledge": True,
               "abstract": "A validated model that flags sepsis risk from routine blood counts in county hospitals."}),
    ("zhang.wei", {"title": "Low-cost soil moisture sensing for tea gardens", "plan_category": "natural_science",
                   "discipline": "agriculture", "organisation": "Hangzhou Institute of Advanced Materials",
                   "principal_investigator": "张伟", "budget": 35, "period_months": 18, "integrity_pledge": True,
                   "abstract": "Printed capacitive sensors and a LoRa network to schedule irrigation in hill tea gardens."}),
]


def load(db: Database) -> list[str]:
    lines = [_ensure_user(db, *spec) for spec in USERS]
    if commands.query(db, lambda s: s.scalar(select(func.count()).select_from(ProcessInstance))):
        return lines + ["demo applications already present"]
    if commands.query(db, deployment.latest_definition, "application_formal_review", False) is None:
        return lines + ["application_formal_review is not deployed; no demo applications started"]
    for username, data in APPLICATIONS:
        actor = Actor(username, frozenset({"applicants"}))
        instance = commands.execute(db, instances.start, actor, "application_formal_review", data)
        lines.append(f"started application {instance.id}: {data['title']}")
    _return_one_for_correction(db)
    return lines


def _ensure_user(db: Database, name: str, display: str, groups: list[str], org: str) -> str:
    if commands.query(db, users.find, name) is not None:
        return f"user {name} exists"
    commands.execute(db, users.create_user, name, PASSWORD, groups, org, f"{name}@example.org", display, "demo")
    return f"created user {name} ({', '.join(groups)})"


def _return_one_for_correction(db: Database) -> None:
    """The second application was returned once, so the applicant has a correction to make."""
    staff = Actor("wang.fang", frozenset({"institution_staff"}))
    page = commands.query(db, tasks.list_tasks, staff, "candidate", 1, 10)
    if len(page.items) >= 2:
        task = sorted(page.items, key=lambda t: t.process_instance_id)[1]
        commands.execute(db, tasks.claim, staff, task.id)
        commands.execute(db, tasks.complete, staff, task.id,
                         {"decision": "return", "checks_passed": ["complete", "eligible"],
                          "review_comment": "请补充伦理审查批件 · Please attach the ethics approval."})
