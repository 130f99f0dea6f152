"""Who a user task is for: `camunda:assignee`, `camunda:candidateUsers` and
`camunda:candidateGroups` on the task (each value plain names or `${EXPR}` over the task's data),
and, when none is given, the task's lane name as the candidate group."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from engine.definitions.validation import split_names


@dataclass(frozen=True)
class Assignment:
    assignee: str | None
    candidate_users: list[str]
    candidate_groups: list[str]


class AssignmentError(ValueError):
    """An assignment expression failed or gave something that is not a name."""


def resolve(task_spec: Any, evaluate: Callable[[str], Any]) -> Assignment:
    attributes = (getattr(task_spec, "extensions", None) or {}).get("attributes", {})
    assignee_names = _names(attributes.get("assignee"), evaluate)
    users = _names(attributes.get("candidateUsers"), evaluate)
    groups = _names(attributes.get("candidateGroups"), evaluate)
    if not assignee_names and not users and not groups and getattr(task_spec, "lane", None):
        groups = [task_spec.lane]
    if len(assignee_names) > 1:
        raise AssignmentError(f"assignee resolved to several users {assignee_names}")
    return Assignment(assignee_names[0] if assignee_names else None, users, groups)


def _names(value: str | None, evaluate: Callable[[str], Any]) -> list[str]:
    if not value:
        return []
    names: list[str] = []
    for part in split_names(value):
        if part.startswith("${") and part.endswith("}"):
            names.extend(_as_names(part, evaluate(part[2:-1])))
        else:
            names.append(part)
    return list(dict.fromkeys(names))  # unique, order kept


def _as_names(expression: str, result: Any) -> list[str]:
    if result is None or result == "":
        return []
    if isinstance(result, str):
        return [n.strip() for n in result.split(",") if n.strip()]
    if isinstance(result, (list, tuple, set)) and all(isinstance(n, str) for n in result):
        return [n for n in result if n]
    raise AssignmentError(f"{expression} gave {result!r}; expected a name or a list of names")
