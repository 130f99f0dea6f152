"""A call's batch decision as data: the rules that turn a call's accepted projects, their panel
scores and score bands into one ranked funding proposal per plan category within its budget, the
changes staff and the bureau's collective decision make to it (each with a reason), the objections
upheld during the public notice, and the `decisions` the call process hands to each project. This
module owns those rules and their wording ("中文 · English"); the BPMN (batch_decision.bpmn) only
calls them, and batch_documents.py prints what they produce.

Ranking within a category: the higher score first; on a tie, more valid expert opinions first,
then the smaller requested amount (the budget goes further), then the lower project number (the
earlier application). Funding: walking down the ranked list, a project in a recommend band
(`key_recommend`, `recommend`) is funded at the amount it requested while the category's budget
still covers it; from the first one it does not cover, every recommended project below is reserved
(strictly by rank: a cheaper, lower-ranked project never overtakes it); no partial funding is proposed (staff or the bureau may
lower an amount, with a reason). A project in the `reserve` band is reserved, one in `reject` (or
without a review) is not funded. A proposal whose funded total exceeds a category's budget is
refused, naming the category and the figures."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from engine.core.errors import InvalidData

FUNDED, RESERVE, NOT_FUNDED = "funded", "reserve", "not_funded"
RESULTS = (FUNDED, RESERVE, NOT_FUNDED)
FUNDABLE_BANDS = frozenset({"key_recommend", "recommend"})
RESULT_NAMES = {FUNDED: "立项资助 · funded", RESERVE: "入库储备 · reserve", NOT_FUNDED: "不予立项 · not funded"}
BAND_NAMES = {"key_recommend": "重点推荐 · key recommendation", "recommend": "推荐 · recommend",
              "reserve": "储备 · reserve", "reject": "不推荐 · not recommended"}
# the fields an editable list item (the proposal and decision forms) may change
EDITABLE = ("result", "amount", "change_reason")


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value)


def _yuan(value: float) -> str:
    return f"{value:,.2f}"


def _halves(text: str) -> tuple[str, str]:
    chinese, _, english = text.partition(" · ")
    return chinese, english or chinese


def category_map(categories: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The call's categories by code."""
    found: dict[str, dict[str, Any]] = {}
    for category in categories or []:
        if isinstance(category, Mapping) and isinstance(category.get("code"), str):
            found[category["code"]] = {"code": category["code"], "name": str(category.get("name") or category["code"]),
                                       "budget": _number(category.get("budget"))}
    return found


def scored(projects: Iterable[Mapping[str, Any]], reviews: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entry per project with its panel score (0 without a review), for the score band table."""
    entries = []
    for project in projects or []:
        review = (reviews or {}).get(str(project["project_id"])) or {}
        entries.append({"project_id": project["project_id"], "score": round(_number(review.get("score")), 2)})
    return entries


def _sort_key(item: Mapping[str, Any]) -> tuple:
    return (-item["score"], -item["valid_opinions"], item["requested_funding"], item["project_id"])


def propose(categories: Iterable[Mapping[str, Any]], projects: Iterable[Mapping[str, Any]],
            reviews: Mapping[str, Any], bands: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ranked proposal: one item per project, grouped by category (in the call's order) and
    ranked within it, each with its result, amount and reason."""
    cats = category_map(categories)
    band_of = {b["project_id"]: b.get("band") for b in bands or [] if isinstance(b, Mapping)}
    by_category: dict[str, list[dict[str, Any]]] = {}
    for project in projects or []:
        review = (reviews or {}).get(str(project["project_id"])) or {}
        item = {
            "project_id": project["project_id"], "title": project.get("title", ""),
            "category": project.get("plan_category", ""), "organisation": project.get("organisation", ""),
            "investigator": project.get("investigator", ""), "applicant": project.get("applicant", ""),
            "requested_funding": _number(project.get("requested_funding")),
            "score": round(_number(review.get("score")), 2), "mode": review.get("mode", ""),
            "valid_opinions": int(_number(review.get("valid_opinions"))),
            "band": band_of.get(project["project_id"]) or "reject" if review else "reject",
            "reviewed": bool(review),
        }
        by_category.setdefault(item["category"], []).append(item)
    proposal: list[dict[str, Any]] = []
    order = list(cats) + sorted(code for code in by_category if code not in cats)
    for code in order:
        items = sorted(by_category.get(code, []), key=_sort_key)
        remaining = cats[code]["budget"] if code in cats else 0.0
        # strictly by rank: once a recommended project does not fit, none below it is funded ahead of it
        exhausted = False
        for rank, item in enumerate(items, start=1):
            item["rank"] = rank
            item["category_name"] = cats[code]["name"] if code in cats else code
            if code not in cats:
                _set(item, NOT_FUNDED, 0.0, "申报类别不在本批次指南中 · the category is not part of this call")
            elif not item["reviewed"]:
                _set(item, NOT_FUNDED, 0.0, "无有效评审结果 · no valid review result")
            elif item["band"] in FUNDABLE_BANDS and not exhausted and item["requested_funding"] <= remaining:
                remaining -= item["requested_funding"]
                _set(item, FUNDED, item["requested_funding"], _scored_reason(item, "预算内按申请金额资助", "funded as requested within the budget"))
            elif item["band"] in FUNDABLE_BANDS:
                exhausted = True
                _set(item, RESERVE, 0.0, _scored_reason(item, "类别预算已用尽，列入储备", "the category's budget is used up: reserve"))
            elif item["band"] == "reserve":
                _set(item, RESERVE, 0.0, _scored_reason(item, "达到储备分数线，列入储备", "reserve band"))
            else:
                _set(item, NOT_FUNDED, 0.0, _scored_reason(item, "低于推荐分数线，不予推荐", "below the recommendation line: not recommended"))
            del item["reviewed"]
            proposal.append(item)
    check_budget(categories, proposal)
    return proposal


def _scored_reason(item: Mapping[str, Any], chinese: str, english: str) -> str:
    band_zh, band_en = _halves(BAND_NAMES.get(item["band"], item["band"]))
    return (f"综合得分 {item['score']:g}，类别内第 {item['rank']} 名，{band_zh}，{chinese}"
            f" · score {item['score']:g}, rank {item['rank']} in the category, {band_en}: {english}")


def _set(item: dict[str, Any], result: str, amount: float, reason: str) -> None:
    item["result"], item["amount"], item["reason"] = result, round(amount, 2), reason


def totals(categories: Iterable[Mapping[str, Any]], proposal: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per category: its budget, the funded total and count, what is left."""
    cats = category_map(categories)
    rows = {code: {"code": code, "name": c["name"], "budget": c["budget"], "funded": 0.0, "count": 0}
            for code, c in cats.items()}
    for item in proposal or []:
        row = rows.get(item.get("category"))
        if row is not None and item.get("result") == FUNDED:
            row["funded"] = round(row["funded"] + _number(item.get("amount")), 2)
            row["count"] += 1
    for row in rows.values():
        row["left"] = round(row["budget"] - row["funded"], 2)
    return list(rows.values())


def over_budget(categories: Iterable[Mapping[str, Any]], proposal: Iterable[Mapping[str, Any]]) -> list[str]:
    """One message per category whose funded total exceeds its budget, with the figures."""
    return [f"类别“{row['name']}”资助合计 {_yuan(row['funded'])} 元，超出预算 {_yuan(row['budget'])} 元"
            f" · category {row['name']} ({row['code']}): funding total {_yuan(row['funded'])} yuan exceeds its budget "
            f"{_yuan(row['budget'])} yuan" for row in totals(categories, proposal) if row["funded"] > row["budget"] + 1e-6]


def check_budget(categories: Iterable[Mapping[str, Any]], proposal: Iterable[Mapping[str, Any]],
                 field: str = "proposal") -> None:
    """Refuse (InvalidData on `field`) a proposal that funds a category beyond its budget."""
    problems = over_budget(categories, proposal)
    if problems:
        raise InvalidData("the proposal exceeds a category's budget", {field: problems})


def form_items(proposal: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The proposal as the editable list of a review form: the figures to read, the result and
    amount to change, and an empty reason for a change."""
    return [{"project_id": item["project_id"], "title": item["title"], "category_name": item["category_name"],
             "rank": item["rank"], "score": _plain(item["score"]), "requested_funding": _plain(item["requested_funding"]),
             "result": item["result"], "amount": _plain(item["amount"]), "change_reason": ""} for item in proposal or []]


def _plain(value: float) -> float | int:
    """A whole number as an int, so a form shows 500000, not 500000.0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def refusals(categories: Iterable[Mapping[str, Any]], proposal: list[Mapping[str, Any]], submitted: Any,
             field: str, approve_all: bool = False) -> dict[str, list[str]]:
    """What is wrong with a review form's list `field` against the proposal it changes, as field
    errors: the list must keep one row per project in order; a changed result or amount needs a
    reason; a funded amount is positive and at most the amount requested; no category may end
    over its budget; and "approve all" (`approve_all`) changes nothing. Empty when the completion
    may go ahead."""
    if not isinstance(submitted, list) or len(submitted) != len(proposal or []):
        return {field: [f"列表须保留每个项目一行（共 {len(proposal or [])} 行）"
                        f" · the list must keep one row per project ({len(proposal or [])} rows)"]}
    errors: dict[str, list[str]] = {}
    for index, (item, row) in enumerate(zip(proposal, submitted)):
        row = row if isinstance(row, Mapping) else {}
        result = row.get("result") or item["result"]
        amount = _number(row.get("amount")) if row.get("amount") is not None else (
            item["amount"] if result == item["result"] else 0.0)
        place = f"{field}.{index}."
        if result == FUNDED and amount <= 0:
            errors[place + "amount"] = ["资助项目须填写资助金额 · a funded project needs an amount"]
        elif result == FUNDED and amount > item["requested_funding"] + 1e-6:
            errors[place + "amount"] = [f"资助金额不得超过申请金额 {_yuan(item['requested_funding'])} 元"
                                        f" · the amount may not exceed the {_yuan(item['requested_funding'])} yuan requested"]
        changed = result != item["result"] or (result == FUNDED and abs(amount - item["amount"]) > 1e-6)
        if changed and not str(row.get("change_reason") or "").strip():
            errors[place + "change_reason"] = ["调整须说明理由 · a change needs a reason"]
        if changed and approve_all:
            errors.setdefault("collective_decision", [
                "选择“全部同意”时不得调整项目；请选择“调整个别项目” · “approve all” changes no item: choose “change items”"])
    if not errors:
        problems = over_budget(categories, apply_changes(proposal, submitted, "check"))
        if problems:
            errors[field] = problems
    return errors


def apply_changes(proposal: list[Mapping[str, Any]], submitted: Any, by: str) -> list[dict[str, Any]]:
    """The proposal with a review form's changes: each changed item takes the new result and
    amount (0 unless funded), and its reason says who changed it and why."""
    who = {"institution": "管理机构调整 · changed by the institution",
           "bureau": "局务会决定调整 · changed by the collective decision"}.get(by, "调整 · changed")
    changed_list = []
    for item, row in zip(proposal, submitted if isinstance(submitted, list) else []):
        item = dict(item)
        row = row if isinstance(row, Mapping) else {}
        result = row.get("result") or item["result"]
        amount = _number(row.get("amount")) if row.get("amount") is not None else item["amount"]
        amount = round(amount, 2) if result == FUNDED else 0.0
        if result != item["result"] or abs(amount - item["amount"]) > 1e-6:
            why = str(row.get("change_reason") or "").strip()
            who_zh, who_en = _halves(who)
            item["reason"] = f"{who_zh}：{why} · {who_en}: {why}"
            item["result"], item["amount"] = result, amount
            item["changed_by"] = by
        changed_list.append(item)
    return changed_list


def uphold_objection(proposal: list[Mapping[str, Any]], project_id: Any, findings: str) -> list[dict[str, Any]]:
    """An upheld objection: that project is not funded, the findings its reason. The budget it
    frees is not passed on by itself (a reserve project moves up only by a new decision)."""
    found = False
    updated = []
    for item in proposal:
        item = dict(item)
        if item["project_id"] == project_id:
            found = True
            text = str(findings or "").strip()
            _set(item, NOT_FUNDED, 0.0, f"公示异议成立：{text} · objection upheld: {text}")
            item["objection"] = "upheld"
        updated.append(item)
    if not found:
        raise InvalidData("no such project in the batch", {"objection_project_id": ["不是本批次的项目 · not a project of this batch"]})
    return updated


def objection_refusals(proposal: list[Mapping[str, Any]], project_id: Any) -> dict[str, list[str]]:
    """An objection must name a project of the batch."""
    if any(item["project_id"] == project_id for item in proposal or []):
        return {}
    return {"objection_project_id": ["不是本批次的项目编号 · not a project number of this batch"]}


def decisions(proposal: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The batch's output per the interface: by str(project_id)."""
    return {str(item["project_id"]): {"result": item["result"],
                                      "approved_funding": item["amount"] if item["result"] == FUNDED else 0,
                                      "rank": item["rank"], "score": item["score"], "reason": item["reason"]}
            for item in proposal or []}
