"""The names of declared visibility that designers write in a process's extension properties
(who may see what: engine/runtime/access.py applies them), and their deploy-time check, so that a
misspelt rule is refused at deploy rather than silently read as the default."""
from __future__ import annotations

from typing import Any

PEER_RULES = ("never", "after_own", "chair")


def names(value: Any) -> frozenset[str]:
    return frozenset(part.strip() for part in str(value or "").split(",") if part.strip())


def check_declarations(properties: dict[str, Any]) -> list[str]:
    """Deploy-time check of a process's access properties: one message per bad value."""
    problems = []
    rule = properties.get("expertsMaySeeEachOther")
    if rule is not None and str(rule).strip() not in PEER_RULES:
        problems.append(f"expertsMaySeeEachOther must be one of {', '.join(PEER_RULES)}, not '{rule}'")
    if rule is not None and str(rule).strip() == "chair" and not str(properties.get("expertChair") or "").strip():
        problems.append("expertsMaySeeEachOther = chair needs expertChair (the data key naming the chair)")
    return problems
