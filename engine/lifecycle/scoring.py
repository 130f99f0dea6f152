"""Aggregating expert scores. This module owns how several experts' scores become one: the
plain mean, or the trimmed mean that drops the single highest and single lowest score once there
are enough scores for that to be fair (5 or more by default), so that one extreme opinion cannot
decide a project alone. Which method applies is configuration (a process sets `score_method`);
the bands the result falls into are a DMN table, not code. Results are rounded half-up to two
decimals, as on the bureau's score sheets, so that 89.995 is 90.00 everywhere."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable

MEAN, TRIMMED_MEAN = "mean", "trimmed_mean"
METHODS = (MEAN, TRIMMED_MEAN)
TRIM_FROM = 5  # fewer scores than this are never trimmed


@dataclass(frozen=True)
class Aggregate:
    score: float
    method: str  # the method actually applied
    count: int
    used: list[float] = field(default_factory=list)
    dropped: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "method": self.method, "count": self.count,
                "used": self.used, "dropped": self.dropped}


def _checked(scores: Iterable[Any], low: float, high: float) -> list[Decimal]:
    values = []
    for index, score in enumerate(scores):
        if isinstance(score, bool) or not isinstance(score, (int, float, Decimal)):
            raise ValueError(f"score {index + 1} is {score!r}, not a number")
        value = Decimal(str(score))
        if not value.is_finite() or not low <= value <= high:
            raise ValueError(f"score {index + 1} is {score}, outside {low:g}-{high:g}")
        values.append(value)
    return values


def _round(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def aggregate(scores: Iterable[Any], method: str = TRIMMED_MEAN, trim_from: int = TRIM_FROM,
              low: float = 0, high: float = 100) -> Aggregate:
    """One score from several. `trimmed_mean` drops the highest and the lowest score when there
    are at least `trim_from` scores, and is the plain mean otherwise."""
    if method not in METHODS:
        raise ValueError(f"unknown score method '{method}'; use one of {', '.join(METHODS)}")
    if isinstance(trim_from, bool) or not isinstance(trim_from, int) or trim_from < 3:
        raise ValueError("trim_from must be a whole number of at least 3")
    values = _checked(scores, low, high)
    if not values:
        raise ValueError("there are no scores to aggregate")
    ordered = sorted(values)
    if method == TRIMMED_MEAN and len(values) >= trim_from:
        used, dropped, applied = ordered[1:-1], [ordered[0], ordered[-1]], TRIMMED_MEAN
    else:
        used, dropped, applied = ordered, [], MEAN
    mean = sum(used, Decimal(0)) / len(used)
    return Aggregate(_round(mean), applied, len(values), [float(v) for v in used], [float(v) for v in dropped])


def rubric_total(criteria: dict[str, Any], maxima: dict[str, float]) -> float:
    """The total of one expert's rubric: every criterion present, each within its maximum."""
    missing = [name for name in maxima if name not in criteria]
    if missing:
        raise ValueError(f"the rubric misses {', '.join(missing)}")
    total = Decimal(0)
    for name, maximum in maxima.items():
        [value] = _checked([criteria[name]], 0, maximum)
        total += value
    return _round(total)
