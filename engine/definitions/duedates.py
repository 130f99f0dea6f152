"""Due dates of user tasks: this module owns turning a user task's due-date settings into one
absolute, timezone-aware UTC datetime. `camunda:dueDate` may be an ISO 8601 date-time
(`2027-01-01T09:00:00+08:00`; naive ones are Asia/Shanghai), a bare ISO date (`2027-01-01`,
meaning 18:00 Asia/Shanghai that day - the end of the bureau's working day, so reminders and
escalations fire while staff are still in the office, rather than at 23:59), an ISO 8601
duration counted from the task's creation (`P5D`, `PT4H`, `P1M`, `P1Y2M3DT4H`; months and
years are calendar months in Asia/Shanghai, so P1M from 31 January is 28/29 February), our
non-standard `P<n>WD` meaning n whole working days, or `${EXPR}` whose value, computed by a
caller-provided evaluator, is one of those strings or a date/datetime. The extension property
`dueWorkingDays` (integer n, or `${EXPR}`) means n whole working days after creation at the same
time of day (see engine.calendar). If a task has both, the earlier deadline wins: the two
settings come from different authors (a modeller's fixed date, a rule's working-day SLA) and the
stricter one is the one the bureau is bound by."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from typing import Callable

from dateutil.relativedelta import relativedelta

from engine.core.calendar import BUREAU_TZ, add_working_days

__all__ = ["DueDateError", "parse_due", "due_at", "check_due_setting"]

# A bare date is due at the end of the bureau's working day (see module docstring).
END_OF_WORKING_DAY = time(18, 0)

# Far beyond any real SLA (about 40 years), but stops a typo such as P100000000WD from
# looping through working days for minutes inside a command's transaction.
MAX_WORKING_DAYS = 10_000

_EXPRESSION = re.compile(r"^\$\{(.*)\}$", re.DOTALL)
_WORKING_DAYS = re.compile(r"^P(\d+)WD$", re.IGNORECASE)
# ISO 8601 duration, designators in order; only seconds may carry a fraction (as in Java's
# Duration, which Camunda models are usually written against).
_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$",
    re.IGNORECASE)


class DueDateError(ValueError):
    """A due-date setting (or an expression's value) that is not a date, date-time or duration.
    `value` is the offending value, `reason` says what is wrong with it."""

    def __init__(self, value: object, reason: str) -> None:
        super().__init__(f"invalid due date {value!r}: {reason}")
        self.value = value
        self.reason = reason


def _as_utc(moment: datetime) -> datetime:
    # Naive created_at follows engine.clock's convention (naive means UTC).
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _from_datetime(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=BUREAU_TZ)  # naive date-times are bureau local time
    return value.astimezone(timezone.utc)


def _from_date(value: date) -> datetime:
    return datetime.combine(value, END_OF_WORKING_DAY, tzinfo=BUREAU_TZ).astimezone(timezone.utc)


def _working_days(value: object, n: int, created_at: datetime) -> datetime:
    if n > MAX_WORKING_DAYS:
        raise DueDateError(value, f"more than {MAX_WORKING_DAYS} working days")
    return add_working_days(created_at, n).astimezone(timezone.utc)


def _from_duration(value: str, match: re.Match[str], created_at: datetime) -> datetime:
    parts = match.groupdict()
    seconds = float(parts["seconds"].replace(",", ".")) if parts["seconds"] else 0.0
    # Calendar arithmetic in the bureau's timezone: "one month from 31 January" means the end
    # of February as people in Shanghai see it, whatever the UTC date is. relativedelta adds
    # years/months first (clamping to the month's last day), then the fixed days and hours.
    try:
        delta = relativedelta(
            years=int(parts["years"] or 0), months=int(parts["months"] or 0),
            weeks=int(parts["weeks"] or 0), days=int(parts["days"] or 0),
            hours=int(parts["hours"] or 0), minutes=int(parts["minutes"] or 0),
            seconds=seconds)
        return (created_at.astimezone(BUREAU_TZ) + delta).astimezone(timezone.utc)
    except (OverflowError, ValueError) as exc:
        raise DueDateError(value, f"the duration is out of range ({exc})") from exc


def _parse_string(value: str, created_at: datetime) -> datetime:
    text = value.strip()
    if not text:
        raise DueDateError(value, "empty")
    if text.startswith("${"):
        reason = ("an expression must be evaluated first (use due_at)"
                  if _EXPRESSION.match(text) else "unterminated ${...} expression")
        raise DueDateError(value, reason)
    if text.startswith("#{"):
        raise DueDateError(value, "#{...} expressions are not supported; write ${...}")
    if text.startswith("-"):
        raise DueDateError(value, "negative durations are not allowed (the task would be "
                                  "due before it exists)")
    if text[:1] in "Pp":
        working = _WORKING_DAYS.match(text)
        if working:
            return _working_days(value, int(working.group(1)), created_at)
        duration = _DURATION.match(text)
        if duration:
            return _from_duration(value, duration, created_at)
        raise DueDateError(value, "not an ISO 8601 duration (e.g. P5D, PT4H, P1Y2M3DT4H) "
                                  "nor P<n>WD working days")
    if text.isdigit() and len(text) <= 4:
        # Modellers sometimes write "5" meaning five days; say how to express that.
        raise DueDateError(value, "a bare number is not a due date; write P5D (calendar days), "
                                  "P5WD or dueWorkingDays (working days)")
    try:
        return _from_date(date.fromisoformat(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DueDateError(value, "not an ISO 8601 date, date-time or duration") from None
    try:
        return _from_datetime(moment)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00 in Shanghai has no UTC equivalent
        raise DueDateError(value, "the date-time is out of range") from exc


def parse_due(value: str | date | datetime, created_at: datetime) -> datetime:
    """The absolute due moment (aware UTC) of one literal due-date value, for a task created at
    `created_at` (aware UTC; naive is taken as UTC). Accepts a date-time (naive means Asia/
    Shanghai), a date (18:00 Asia/Shanghai), an ISO 8601 duration, `P<n>WD`, or the date/datetime
    objects an expression may return. Raises DueDateError for anything else, including an
    unevaluated `${...}`."""
    created_at = _as_utc(created_at)
    if isinstance(value, datetime):  # before date: datetime is a subclass of date
        return _from_datetime(value)
    if isinstance(value, date):
        return _from_date(value)
    if isinstance(value, str):
        return _parse_string(value, created_at)
    raise DueDateError(value, f"expected a date, date-time or duration string, got "
                              f"{type(value).__name__}")


def _expression(value: str) -> str | None:
    """The inner expression of `${...}`, or None if `value` is not one."""
    match = _EXPRESSION.match(value.strip())
    return match.group(1).strip() if match else None


def _evaluate(value: str, expr: str, evaluate: Callable[[str], object] | None) -> object:
    if not expr:
        raise DueDateError(value, "empty expression")
    if evaluate is None:
        raise DueDateError(value, "is an expression but no evaluator was given")
    try:
        return evaluate(expr)
    except Exception as exc:
        # Name the setting in the message; the evaluator's own error stays as the cause.
        raise DueDateError(value, f"evaluating {expr!r} failed: {exc}") from exc


def _working_days_count(setting: str | int,
                        evaluate: Callable[[str], object] | None) -> int | None:
    """dueWorkingDays as an int, or None if an expression produced no value."""
    raw: object = setting
    if isinstance(setting, str):
        expr = _expression(setting)
        raw = _evaluate(setting, expr, evaluate) if expr is not None else setting.strip()
        if raw is None:
            return None
    if isinstance(raw, bool):
        raise DueDateError(setting, "dueWorkingDays must be a whole number of working days")
    if isinstance(raw, str) and re.fullmatch(r"[+-]?\d+", raw.strip()):
        raw = int(raw.strip())
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # expressions computing 5.0 are common (e.g. division in a rule)
    if not isinstance(raw, int):
        raise DueDateError(setting, f"dueWorkingDays must be a whole number of working days, "
                                    f"got {raw!r}")
    if raw < 0:
        raise DueDateError(setting, "dueWorkingDays must not be negative")
    return raw


def due_at(due_date: str | None, due_working_days: str | int | None, created_at: datetime,
           evaluate: Callable[[str], object] | None = None) -> datetime | None:
    """The due moment (aware UTC) of a user task created at `created_at`, from its
    `camunda:dueDate` and `dueWorkingDays` settings, or None if neither sets one. `${EXPR}`
    settings are evaluated with `evaluate(EXPR)`; an expression yielding None sets no due date
    (an optional process variable). Empty settings count as absent. If both give a moment, the
    earlier one wins (the stricter deadline, see module docstring)."""
    created_at = _as_utc(created_at)
    candidates: list[datetime] = []

    if due_date is not None and not isinstance(due_date, str):
        candidates.append(parse_due(due_date, created_at))  # a date object from a caller
    elif due_date is not None and due_date.strip():
        expr = _expression(due_date)
        if expr is None:
            candidates.append(parse_due(due_date, created_at))
        else:
            result = _evaluate(due_date, expr, evaluate)
            if result is not None:
                if isinstance(result, str) and _expression(result) is not None:
                    raise DueDateError(result, f"{due_date!r} evaluated to another expression")
                try:
                    candidates.append(parse_due(result, created_at))  # type: ignore[arg-type]
                except DueDateError as exc:
                    raise DueDateError(result, f"value of {due_date!r}: {exc.reason}") from None

    if due_working_days is not None and not (isinstance(due_working_days, str)
                                             and not due_working_days.strip()):
        n = _working_days_count(due_working_days, evaluate)
        if n is not None:
            candidates.append(_working_days(due_working_days, n, created_at))

    return min(candidates) if candidates else None


# Any fixed moment works: validation only checks that the literal parses.
_VALIDATION_CREATED_AT = datetime(2000, 1, 3, tzinfo=timezone.utc)


def check_due_setting(value: str) -> str | None:
    """Deploy-time check of a `camunda:dueDate` literal: None if it is a valid date, date-time,
    ISO 8601 duration, P<n>WD or a `${...}` expression (not evaluated here, its variables do not
    exist yet), else a message naming the bad value."""
    if not isinstance(value, str):
        return str(DueDateError(value, f"expected a string, got {type(value).__name__}"))
    expr = _expression(value)
    if expr is not None:
        return None if expr else str(DueDateError(value, "empty expression"))
    try:
        parse_due(value, _VALIDATION_CREATED_AT)
    except DueDateError as exc:
        return str(exc)
    return None
