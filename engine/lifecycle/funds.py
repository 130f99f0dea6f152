"""A project's funds (经费): the budget table by cost category (预算科目), municipal funds beside
self-raised or matching funds (自筹/配套), the category rules applied to it, the budget as
requested and as fixed in the contract, and the funds ledger, one row per money event (a planned
tranche, a payment, funds withheld, a recovery due, a repayment received) with its date and
amount, from which a project's funds summary is read. This module owns the arithmetic and the
wording of a refused table; the limits themselves (a category's cap as a share of the municipal
funds, the amount above which a justification is needed, how far the unit alone may adjust a
category) come from the designer's decision table `budget_rules` (engine/definitions/budget_rules.py
reads it), so a rule changes without a programmer. Amounts are in 10k CNY (万元), like the forms."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import audit, clock
from engine.core.errors import InvalidData
from engine.core.models import Base
from engine.lifecycle import projects

CATEGORIES = {
    "equipment": "设备费 · Equipment",
    "materials": "材料费 · Materials",
    "testing": "测试化验加工费 · Testing and processing",
    "travel": "差旅/会议/国际合作交流费 · Travel, meetings and international exchange",
    "labour": "劳务费 · Labour",
    "experts": "专家咨询费 · Experts' fees",
    "indirect": "间接费用 · Indirect costs",
}
LINES = "budget_lines"  # the forms' dynamic list: [{category, municipal, self_raised, justification}]
TOLERANCE = 0.005  # half a yuan-cent of 10k CNY: figures are kept to two decimals

ENTRY_KINDS = {
    "planned": "计划拨付 · Tranche planned",
    "paid": "已拨付 · Paid",
    "withheld": "暂停拨付 · Withheld",
    "recovery_due": "应追回 · Recovery due",
    "recovered": "已追回 · Recovered",
}
BUDGET_STAGES = ("requested", "contract")


@dataclass(frozen=True)
class Limits:
    """One category's limits from the decision table (None: no such limit)."""
    cap_share: float | None = None       # at most this share of the municipal total
    justify_above: float | None = None   # municipal funds above this need a justification
    adjust_share: float | None = None    # an adjustment within this share the unit approves alone


class FundsEntry(Base):
    __tablename__ = "funds_ledger"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[float] = mapped_column(Float)
    on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str | None] = mapped_column(String(80))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "project_id": self.project_id, "kind": self.kind,
                "kind_label": ENTRY_KINDS.get(self.kind, self.kind), "amount": self.amount,
                "on": self.on.isoformat(), "reference": self.reference, "note": self.note}


class ProjectBudget(Base):
    """A project's budget table at one stage: as requested in the application, as fixed in the
    contract (the award step and approved adjustments change this one, never the request)."""
    __tablename__ = "project_budgets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(Integer, index=True)
    stage: Mapped[str] = mapped_column(String(20))
    lines: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]


# --- the budget table ----------------------------------------------------------------------------

def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value)


def normalise(lines: Any) -> list[dict[str, Any]]:
    """The table's rows as {category, municipal, self_raised, justification}, in category order."""
    rows = []
    for line in lines if isinstance(lines, list) else []:
        if not isinstance(line, dict) or line.get("category") not in CATEGORIES:
            continue
        rows.append({"category": line["category"], "municipal": round(_number(line.get("municipal")), 2),
                     "self_raised": round(_number(line.get("self_raised")), 2),
                     "justification": str(line.get("justification") or "").strip()})
    order = list(CATEGORIES)
    return sorted(rows, key=lambda r: order.index(r["category"]))


def totals(lines: Any) -> dict[str, float]:
    rows = normalise(lines)
    municipal = round(sum(r["municipal"] for r in rows), 2)
    self_raised = round(sum(r["self_raised"] for r in rows), 2)
    return {"municipal": municipal, "self_raised": self_raised, "total": round(municipal + self_raised, 2)}


def check(lines: Any, limits: dict[str, Limits], municipal_total: float | None,
          field: str = LINES) -> dict[str, list[str]]:
    """What is wrong with a budget table, by form field (`budget_lines.<row>.<column>`), each
    message naming the category: a category twice, the category limits, and the municipal
    column not adding up to `municipal_total` (the requested or the approved funding). Empty:
    the table is in order. An empty table is not checked here (see `required`)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(lines, list) or not lines:
        return errors
    municipal = round(sum(_number(line.get("municipal")) for line in lines if isinstance(line, dict)), 2)
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            continue
        category = line.get("category")
        label = CATEGORIES.get(category, str(category))
        where = f"{field}.{index}"
        if category in seen:
            errors.setdefault(f"{where}.category", []).append(
                f"「{label.split(' · ')[0]}」重复填列 · {label.split(' · ')[-1]} appears twice")
        seen.add(category)
        limit = limits.get(category) or Limits()
        amount = _number(line.get("municipal"))
        if limit.cap_share is not None and municipal > 0 and amount > limit.cap_share * municipal + TOLERANCE:
            cap = round(limit.cap_share * municipal, 2)
            errors.setdefault(f"{where}.municipal", []).append(
                f"「{label.split(' · ')[0]}」不得超过市财政经费的 {limit.cap_share:.0%}（{cap} 万元）· "
                f"{label.split(' · ')[-1]}: at most {limit.cap_share:.0%} of the municipal funds ({cap} 10k CNY)")
        if (limit.justify_above is not None and amount > limit.justify_above
                and not str(line.get("justification") or "").strip()):
            errors.setdefault(f"{where}.justification", []).append(
                f"「{label.split(' · ')[0]}」超过 {limit.justify_above} 万元，须说明理由 · "
                f"{label.split(' · ')[-1]} above {limit.justify_above} (10k CNY) needs a justification")
    if municipal_total is not None and abs(municipal - float(municipal_total)) > TOLERANCE:
        errors.setdefault(field, []).append(
            f"各科目市财政经费合计 {municipal} 万元，应等于 {round(float(municipal_total), 2)} 万元 · "
            f"the municipal funds of the categories add up to {municipal}, not {round(float(municipal_total), 2)} (10k CNY)")
    return errors


def save_budget(session: Session, project_id: int, stage: str, lines: Any) -> ProjectBudget:
    """Keep the table of a stage (replacing that stage's earlier one)."""
    if stage not in BUDGET_STAGES:
        raise ValueError(f"a budget stage is one of {', '.join(BUDGET_STAGES)}, not {stage!r}")
    project = projects.get(session, project_id)
    row = session.scalar(select(ProjectBudget).where(ProjectBudget.project_id == project.id,
                                                     ProjectBudget.stage == stage))
    if row is None:
        row = ProjectBudget(project_id=project.id, stage=stage, lines=[], updated_at=clock.now())
        session.add(row)
    row.lines, row.updated_at = normalise(lines), clock.now()
    session.flush()
    return row


def budget(session: Session, project_id: int, stage: str = "contract") -> list[dict[str, Any]]:
    """The table of a stage; the contract's falls back to the request before the contract."""
    row = session.scalar(select(ProjectBudget).where(ProjectBudget.project_id == project_id,
                                                     ProjectBudget.stage == stage))
    if row is None and stage == "contract":
        return budget(session, project_id, "requested")
    return list(row.lines) if row is not None else []


def adjust_contract_budget(session: Session, project_id: int, category: str, municipal: float) -> ProjectBudget:
    """An approved adjustment (预调剂) moves funds to `category` in the contract's table; the
    request stays as it was. The caller has checked the new table against the rules."""
    if category not in CATEGORIES:
        raise InvalidData(f"unknown budget category '{category}'", {"category": [f"One of: {', '.join(CATEGORIES)}."]})
    lines = budget(session, project_id, "contract")
    for line in lines:
        if line["category"] == category:
            line["municipal"] = round(float(municipal), 2)
            break
    else:
        lines.append({"category": category, "municipal": round(float(municipal), 2), "self_raised": 0.0,
                      "justification": ""})
    return save_budget(session, project_id, "contract", lines)


def needs_higher_approval(old: float, new: float, limit: Limits) -> bool:
    """Above the category's threshold the institution and the bureau decide, not the unit alone."""
    share = limit.adjust_share if limit.adjust_share is not None else 0.0
    base = old if old > 0 else 0.0
    return abs(new - old) > share * base + TOLERANCE


# --- the ledger ----------------------------------------------------------------------------------

def enter(session: Session, project_id: int, kind: str, amount: float, *, source_key: str,
          on: date | None = None, reference: str | None = None, note: str | None = None,
          actor: str | None = None) -> FundsEntry:
    """Add a ledger row, or return the one already written for `source_key` (a process step
    re-run after an error writes nothing twice)."""
    if kind not in ENTRY_KINDS:
        raise InvalidData(f"unknown ledger entry kind '{kind}'", {"kind": [f"One of: {', '.join(ENTRY_KINDS)}."]})
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0:
        raise InvalidData(f"a ledger amount is a number of at least 0, not {amount!r}", {"amount": ["At least 0."]})
    existing = session.scalar(select(FundsEntry).where(FundsEntry.source_key == source_key))
    if existing is not None:
        return existing
    project = projects.get(session, project_id)
    row = FundsEntry(project_id=project.id, kind=kind, amount=round(float(amount), 2), on=on or projects.today(),
                     reference=reference, note=note, source_key=source_key, recorded_at=clock.now(),
                     recorded_by=actor)
    session.add(row)
    session.flush()
    projects.note(project, f"funds_{kind}", {"amount": row.amount})
    audit.record(session, "funds_entry", actor, entry=row.to_dict())
    return row


def entries(session: Session, project_id: int | None = None) -> list[FundsEntry]:
    query = select(FundsEntry).order_by(FundsEntry.project_id, FundsEntry.on, FundsEntry.id)
    if project_id is not None:
        query = query.where(FundsEntry.project_id == project_id)
    return list(session.scalars(query))


def summary(session: Session, project_id: int) -> dict[str, Any]:
    """Approved, planned, paid, withheld, to recover (due and not yet repaid) and recovered."""
    project = projects.get(session, project_id)
    sums = {kind: 0.0 for kind in ENTRY_KINDS}
    for row in entries(session, project.id):
        sums[row.kind] = round(sums[row.kind] + row.amount, 2)
    return {"project_id": project.id, "approved": project.approved_funding or 0.0, "planned": sums["planned"],
            "paid": sums["paid"], "withheld": sums["withheld"],
            "to_recover": round(max(sums["recovery_due"] - sums["recovered"], 0.0), 2),
            "recovery_due": sums["recovery_due"], "recovered": sums["recovered"]}


def recovery_amount(released: float, funds_spent: float, audit_opinion: str | None,
                    eligible_spending: float | None) -> float:
    """What the settlement leaves to recover: the funds released less what may be kept. An
    unqualified audit keeps what was spent; a qualified or adverse one keeps only the spending
    the auditors found eligible, so misused funds come back too."""
    kept = _number(funds_spent)
    if audit_opinion in ("qualified", "adverse") and eligible_spending is not None:
        kept = min(kept, _number(eligible_spending))
    return round(max(_number(released) - kept, 0.0), 2)


# --- budget adjustments (预算调剂) ----------------------------------------------------------------

def adjustment_check(session: Session, project_id: int, by: str, from_category: str, to_category: str,
                     amount: float, limits: Limits) -> dict[str, Any]:
    """May `by` move `amount` of municipal funds from one category of the contract's budget to
    another, and who decides: {allowed, reasons, level ("unit" within the receiving category's
    threshold, else "bureau": the institution, then the bureau), before, after}. `limits` are
    the receiving category's, from the process's evaluation of the budget_rules table."""
    project = projects.get(session, project_id)
    reasons: list[str] = []
    if project.applicant != by:
        reasons.append("只能为本人申报的项目申请预算调剂 · you may only adjust the budget of your own project")
    if project.status != "in_progress":
        reasons.append("项目不在执行期 · the project is not in execution")
    if from_category not in CATEGORIES or to_category not in CATEGORIES or from_category == to_category:
        reasons.append("请选择两个不同的预算科目 · choose two different categories")
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount <= 0:
        reasons.append("调剂金额须大于 0 · the amount must be more than 0")
    if reasons:
        return {"allowed": False, "reasons": reasons, "level": None}
    lines = budget(session, project.id, "contract")
    current = {line["category"]: line["municipal"] for line in lines}
    have = current.get(from_category, 0.0)
    if amount > have + TOLERANCE:
        label = CATEGORIES[from_category]
        reasons.append(f"「{label.split(' · ')[0]}」只有 {have} 万元可调出 · {label.split(' · ')[-1]} has only {have} "
                       "(10k CNY) to move")
    after = [dict(line) for line in lines]
    for line in after:
        if line["category"] == from_category:
            line["municipal"] = round(line["municipal"] - amount, 2)
        elif line["category"] == to_category:
            line["municipal"] = round(line["municipal"] + amount, 2)
    if to_category not in current:
        after.append({"category": to_category, "municipal": round(float(amount), 2), "self_raised": 0.0,
                      "justification": ""})
    errors = check(after, {to_category: Limits(cap_share=limits.cap_share)}, None)
    reasons += [message for messages in errors.values() for message in messages]
    if reasons:
        return {"allowed": False, "reasons": reasons, "level": None}
    level = "bureau" if needs_higher_approval(current.get(to_category, 0.0), current.get(to_category, 0.0) + amount,
                                              limits) else "unit"
    return {"allowed": True, "reasons": [], "level": level, "before": normalise(lines), "after": normalise(after)}


def apply_adjustment(session: Session, project_id: int, from_category: str, to_category: str,
                     amount: float) -> list[dict[str, Any]]:
    """The approved adjustment changes the contract's table (never the request)."""
    lines = budget(session, project_id, "contract")
    current = {line["category"]: line["municipal"] for line in lines}
    adjust_contract_budget(session, project_id, from_category, current.get(from_category, 0.0) - amount)
    row = adjust_contract_budget(session, project_id, to_category, current.get(to_category, 0.0) + amount)
    projects.note(projects.get(session, project_id), "budget_adjusted",
                  {"from": from_category, "to": to_category, "amount": round(float(amount), 2)})
    return list(row.lines)
