"""A small call's batch as the call process hands it to batch_decision: two plan categories with
their budgets, six accepted projects and their panel reviews (interface of issue 16)."""
from __future__ import annotations

from typing import Any

CATEGORIES = [
    {"code": "key_rd", "name": "重点研发", "budget": 1_000_000, "topics": ["先进材料"]},
    {"code": "natural_science", "name": "自然科学基金", "budget": 300_000, "topics": ["基础研究"]},
]


def project(pid: int, title: str, category: str, requested: float, applicant: str = "zhang.wei") -> dict[str, Any]:
    return {"project_id": pid, "title": title, "plan_category": category, "discipline": "materials",
            "organisation": "杭州先进材料研究院", "investigator": "张伟", "applicant": applicant,
            "requested_funding": requested}


PROJECTS = [
    project(1, "高熵合金激光增材制造工艺研究", "key_rd", 500_000),
    project(2, "固态电池界面稳定性研究", "key_rd", 400_000),
    project(3, "碳纤维复合材料回收技术", "key_rd", 300_000),
    project(4, "钙钛矿薄膜缺陷机理", "natural_science", 200_000, applicant="li.na"),
    project(5, "二维材料催化性能预测", "natural_science", 150_000, applicant="li.na"),
    project(6, "可降解高分子包装材料", "natural_science", 100_000, applicant="li.na"),
]


def review(score: float, opinions: int = 5, mode: str = "mail") -> dict[str, Any]:
    return {"score": score, "mode": mode, "valid_opinions": opinions, "summary": ""}


REVIEWS = {"1": review(92), "2": review(85), "3": review(83, mode="meeting"),
           "4": review(88), "5": review(88, opinions=4), "6": review(55)}


def batch_input() -> dict[str, Any]:
    return {"call_key": "2027-1", "call_title": "2027年度第一批科技计划项目", "categories": CATEGORIES,
            "projects": PROJECTS, "reviews": REVIEWS}
