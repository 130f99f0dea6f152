"""An applicant's request to register an organisation that is not yet in the register
(lifecycle.organisations): only registered organisations may apply, and registering one is the
institution's work, so the request notifies every institution staff member (in the app and by
e-mail, notify.texts `organisation_registration_requested`) and is audited; staff then register
it. A name already registered is refused with the advice to choose it from the list."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import audit, clock
from engine.core.errors import InvalidData
from engine.core.models import User
from engine.core.principals import Actor
from engine.lifecycle import organisations
from engine.notify.notifications import Directory, Notification

KIND = "organisation_registration_requested"
REGISTRARS = "institution_staff"  # who registers organisations
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")  # the unified social credit code's alphabet


def _checked(name: Any, credit_code: Any, note: Any) -> tuple[str, str, str]:
    name = name.strip() if isinstance(name, str) else ""
    credit_code = credit_code.strip().upper() if isinstance(credit_code, str) else ""
    note = note.strip() if isinstance(note, str) else ""
    problems: dict[str, list[str]] = {}
    if not 2 <= len(name) <= 200:
        problems["name"] = ["Give the organisation's full registered name (2 to 200 characters)."]
    if credit_code and not _CREDIT_CODE.match(credit_code):
        problems["credit_code"] = ["A unified social credit code has 18 letters and digits."]
    if len(note) > 500:
        problems["note"] = ["At most 500 characters."]
    if problems:
        raise InvalidData("the registration request is incomplete", problems)
    return name, credit_code, note


def request(session: Session, actor: Actor, name: Any, credit_code: Any = "", note: Any = "") -> int:
    """Ask the institution to register an organisation; returns how many staff were notified."""
    name, credit_code, note = _checked(name, credit_code, note)
    if organisations.by_name(session, name) is not None:
        raise InvalidData("already registered", {"name": [
            "This organisation is already registered: choose it from the list."]})
    requester = session.scalar(select(User.display_name).where(User.username == actor.username)) or actor.username
    params = {"name": name, "credit_code": credit_code or "-", "note": note or "-", "requester": actor.username,
              "requester_name": requester}
    staff = Directory(session).members([REGISTRARS])
    now = clock.now()
    session.add_all([Notification(username=u, kind=KIND, params=params, created_at=now, email_after=now)
                     for u in staff])
    audit.record(session, KIND, actor.username, name=name, credit_code=credit_code, note=note,
                 notified=len(staff))
    return len(staff)
