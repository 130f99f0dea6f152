"""Who is acting: the `Actor` every command receives, and the few role rules that are not in
the BPMN (designers deploy, supervisors see and act on everything, admins manage users)."""
from __future__ import annotations

from dataclasses import dataclass, field

DESIGNERS, SUPERVISORS, ADMINS = "designers", "supervisors", "admins"


@dataclass(frozen=True)
class Actor:
    username: str
    groups: frozenset[str] = field(default_factory=frozenset)

    @property
    def principals(self) -> list[str]:
        """The keys under which candidate rows are indexed for this actor."""
        return [f"u:{self.username}"] + [f"g:{g}" for g in sorted(self.groups)]

    @property
    def is_supervisor(self) -> bool:
        return SUPERVISORS in self.groups

    @property
    def is_designer(self) -> bool:
        return DESIGNERS in self.groups

    @property
    def is_admin(self) -> bool:
        return ADMINS in self.groups


SYSTEM = Actor("system", frozenset({SUPERVISORS}))
