"""Who is acting: the `Actor` every command receives, and the few role rules that are not in
the BPMN (designers deploy, supervisors see and act on everything, admins manage users), each
checked in one place (`require_supervisor`, `require_designer`, `required_reason`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.core.errors import Forbidden, InvalidData

DESIGNERS, SUPERVISORS, ADMINS = "designers", "supervisors", "admins"
INTEGRATIONS = "integrations"  # other systems with a token: messages, signals, external tasks


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


MAX_REASON = 2000


def require_supervisor(actor: Actor, doing: str = "do this") -> None:
    """403 unless the actor is a supervisor: every supervisor read and intervention starts here."""
    if not actor.is_supervisor:
        raise Forbidden(f"only supervisors may {doing}")


def require_designer(actor: Actor, doing: str = "do this") -> None:
    """403 unless the actor is a process designer."""
    if not actor.is_designer:
        raise Forbidden(f"only members of 'designers' may {doing}")


def require_integration(actor: Actor, doing: str = "do this", admins_too: bool = False) -> None:
    """403 unless the actor is another system (`integrations`), or with `admins_too` an admin."""
    if INTEGRATIONS in actor.groups or (admins_too and actor.is_admin):
        return
    allowed = "'integrations' or 'admins'" if admins_too else "'integrations'"
    raise Forbidden(f"only members of {allowed} may {doing}")


def required_reason(reason: Any) -> str:
    """The trimmed reason an intervention must give (it is kept in the audit log); 422 without."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidData("a reason is required", {"reason": ["Say why (it is kept in the audit log)."]})
    if len(reason) > MAX_REASON:
        raise InvalidData("the reason is too long", {"reason": [f"At most {MAX_REASON} characters."]})
    return reason.strip()
