"""The engine's error vocabulary. Every command failure that a caller should show to a user is
one of these; the web layer maps each class to one HTTP status and a JSON error body, the CLI to
a message and exit code. Anything else escaping a command is a bug (HTTP 500)."""
from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base class: `code` is a stable machine-readable name, the message is for people."""

    code = "engine_error"
    status = 500

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(EngineError):
    code, status = "bad_request", 400


class Unauthorized(EngineError):
    code, status = "unauthorized", 401


class Forbidden(EngineError):
    code, status = "forbidden", 403


class NotFound(EngineError):
    code, status = "not_found", 404


class NoMatch(NotFound):
    """A message that no instance waits for (yet): an error for the sender, never lost silently."""

    code = "no_match"


class Conflict(EngineError):
    """The thing changed under the caller: task no longer open, claimed by someone else,
    instance modified concurrently. Nothing was written."""

    code, status = "conflict", 409


class InvalidData(EngineError):
    """Submitted data does not satisfy its form; `fields` maps each bad field to its messages."""

    code, status = "invalid_data", 422

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


@dataclass(frozen=True)
class Problem:
    """One finding of definition validation, always pointing at a file and, where it can,
    a line and a BPMN element id."""

    file: str
    message: str
    line: int | None = None
    element_id: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        elem = f" [{self.element_id}]" if self.element_id else ""
        return f"{where}{elem}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "element_id": self.element_id,
                "message": self.message}


class DefinitionInvalid(EngineError):
    """Validation of one or more definition files failed; nothing was deployed."""

    code, status = "invalid_definition", 422

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the definitions; nothing was deployed")
        self.problems = problems


class TooManyAttempts(EngineError):
    """Sign-in is throttled for this user name and address (or this address); nothing was checked.
    `retry_after` is the number of seconds to wait."""

    code, status = "too_many_requests", 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
