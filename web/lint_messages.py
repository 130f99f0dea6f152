"""bpmnlint's advice in the page's language: the messages of bpmn.io's recommended rules and of
the bureau's own (lint/bpmnlint-plugin-scitech) are English sentences; each known one maps to a
translatable template. An unknown message (a new rule) is shown as it comes."""
from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l

_EXACT: dict[str, Any] = {
    "User task has no assignee, candidates or lane: it reaches nobody":
        _l("User task has no assignee, candidates or lane: it reaches nobody"),
    "User task has no form (camunda:formKey)": _l("User task has no form (camunda:formKey)"),
    "User task has no due date (camunda:dueDate or dueWorkingDays)":
        _l("User task has no due date (camunda:dueDate or dueWorkingDays)"),
    'Name is not given in both languages ("中文 · English")': _l('Name is not given in both languages ("中文 · English")'),
    "Conditional event is missing a condition": _l("Conditional event is missing a condition"),
    "Sequence flow is missing condition": _l("Sequence flow is missing condition"),
    "An <Event-based Gateway> must have at least 2 outgoing <Sequence Flows>":
        _l("An event-based gateway must have at least 2 outgoing sequence flows"),
    "A <Sequence Flow> outgoing from an <Event-based Gateway> must not be conditional":
        _l("A sequence flow leaving an event-based gateway must not be conditional"),
    "Start event is missing event definition": _l("Start event is missing event definition"),
    "Incoming flows do not join": _l("Incoming flows do not join"),
    "Element is missing name": _l("Element is missing name"),
    "Element is unused": _l("Element is unused"),
    "Element name is not unique": _l("Element name is not unique"),
    "Element is missing label/name": _l("Element is missing label/name"),
    "Link event is missing link name": _l("Link event is missing link name"),
    "Element is missing bpmndi": _l("Element is missing its diagram shape (bpmndi)"),
    "Element is not connected": _l("Element is not connected"),
    "SequenceFlow is a duplicate": _l("Sequence flow is a duplicate"),
    "Duplicate outgoing sequence flows": _l("Duplicate outgoing sequence flows"),
    "Duplicate incoming sequence flows": _l("Duplicate incoming sequence flows"),
    "Gateway forks and joins": _l("Gateway forks and joins"),
    "Element is an implicit end": _l("Element is an implicit end"),
    "Flow splits implicitly": _l("Flow splits implicitly"),
    "Element is an implicit start": _l("Element is an implicit start"),
    "Element overlaps with other element": _l("Element overlaps with other element"),
    "Element is outside of parent boundary": _l("Element is outside of parent boundary"),
    "Event has multiple event definitions": _l("Event has multiple event definitions"),
    "Start event must be blank": _l("Start event must be blank"),
    "Gateway is superfluous. It only has one source and target.":
        _l("Gateway is superfluous. It only has one source and target."),
    "Sequence flow has superfluous label": _l("Sequence flow has superfluous label"),
    "Termination is superfluous.": _l("Termination is superfluous."),
}
_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^(?P<a>[\w:]+) is missing end event$"), _l("%(a)s is missing end event")),
    (re.compile(r"^(?P<a>[\w:]+) is missing start event$"), _l("%(a)s is missing start event")),
    (re.compile(r"^(?P<a>[\w:]+) has multiple blank start events$"), _l("%(a)s has multiple blank start events")),
    (re.compile(r"^Element type <(?P<a>[\w:]+)> is discouraged$"), _l("Element type <%(a)s> is discouraged")),
]


def lint_message(message: str) -> str:
    if message in _EXACT:
        return str(_EXACT[message])
    for pattern, template in _PATTERNS:
        match = pattern.match(message)
        if match:
            return str(template) % match.groupdict()
    return message
