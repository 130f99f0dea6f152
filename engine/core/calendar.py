"""Working days in mainland China, and arithmetic in whole working days. This module owns the
single answer to "is this date a working day?" for the whole engine: statutory holidays and the
make-up working days (调休, e.g. Sunday 2025-09-28 and Saturday 2025-10-11) come from the
`chinese_calendar` package, which only knows the years the State Council has announced
(chinese-calendar 1.11.0 covers 2004-2026). For any other year we fall back to "Monday-Friday
are working days" and log one warning per year, because a slightly wrong deadline is better than
a crashed engine, and the warning tells operators to upgrade the package. All dates are taken in
the bureau's timezone (`BUREAU_TZ`, Asia/Shanghai): an aware datetime is converted to it before
its date is read, a naive datetime is taken as bureau wall-clock time."""
from __future__ import annotations

import functools
import logging
import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

__all__ = ["BUREAU_TZ", "is_working_day", "add_working_days", "working_days_between",
           "next_working_day"]

BUREAU_TZ = ZoneInfo("Asia/Shanghai")

log = logging.getLogger(__name__)

# Years we have already warned about: the fallback is hit on every date of an uncovered year,
# and one line per year is enough to tell operators the holiday data needs an upgrade.
_warned_years: set[int] = set()
_warned_lock = threading.Lock()


def _bureau_date(value: date | datetime) -> date:
    """The calendar date of `value` as seen in the bureau (datetime is a subclass of date, so
    it must be tested first)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(BUREAU_TZ)
        return value.date()
    return value


def _warn_uncovered(year: int, reason: str) -> None:
    with _warned_lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    log.warning("no statutory holiday data for %d (%s); treating Monday-Friday as working "
                "days in %d - upgrade chinese-calendar once the State Council publishes it",
                year, reason, year)


def is_working_day(d: date) -> bool:
    """True if `d` is a working day in mainland China (make-up Saturdays/Sundays included,
    statutory holidays excluded). Outside the years chinese_calendar covers: Monday-Friday."""
    d = _bureau_date(d)
    known = _official_answer(d)
    if known is not None:
        return known
    _warn_uncovered(d.year, f"no available data for year {d.year}")
    return d.weekday() < 5


# chinese_calendar scans its whole holiday table (min/max) on every call, ~50 us; a scheduler
# pass asks about the same few dates for thousands of tasks. The answer for a date never changes
# within a process (the table is the installed package's), so it is cached.
@functools.lru_cache(maxsize=16384)
def _official_answer(d: date) -> bool | None:
    """chinese_calendar's answer, or None for a year it has no data for."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        # Raised only for years without data (we always pass a date); see module docstring.
        return None


def next_working_day(d: date) -> date:
    """The first working day strictly after `d` (a datetime is reduced to its bureau date)."""
    day = _bureau_date(d) + timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def _step_working_days(day: date, n: int) -> date:
    """Move `n` working days from `day` (backwards if n < 0). Counting starts on the day
    after (before) `day`, so a non-working `day` needs no special case: day 1 is simply the
    first working day after it."""
    step = timedelta(days=1 if n > 0 else -1)
    remaining = abs(n)
    while remaining:
        day += step
        if is_working_day(day):
            remaining -= 1
    return day


def add_working_days(start: datetime, n: int) -> datetime:
    """`start` moved by `n` whole working days, keeping the bureau wall-clock time of day.

    P1D in working-day mode means "the next working day at the same time", not 24 business
    hours: that is how deadlines in bureau notices are read. From a non-working day, day 1 is
    the first working day after it. n == 0 returns `start` unchanged (even on a holiday);
    negative n goes backwards, e.g. for "1 working day before the due date" reminders. An aware
    `start` gives a result in the same tzinfo; a naive one is taken as bureau local time and
    gives a naive result."""
    if isinstance(n, bool) or not isinstance(n, int):
        # bool is an int subclass; True working days is almost certainly a caller bug.
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if not isinstance(start, datetime):
        raise TypeError(f"start must be a datetime, got {type(start).__name__}")
    if n == 0:
        return start
    local = start.astimezone(BUREAU_TZ) if start.tzinfo is not None else start
    target = _step_working_days(local.date(), n)
    # replace() keeps the wall-clock time; Asia/Shanghai has had no DST since 1991, so the
    # time of day always exists on the target date.
    moved = local.replace(year=target.year, month=target.month, day=target.day)
    return moved.astimezone(start.tzinfo) if start.tzinfo is not None else moved


def working_days_between(start: datetime | date, end: datetime | date) -> int:
    """Working days after start's date up to and including end's date, as shown in the inbox
    ("3 working days left"). Due today -> 0; due tomorrow (a working day) -> 1. If end is
    before start the result is the negative count of working days after end's date up to and
    including start's date, so working_days_between(a, b) == -working_days_between(b, a)."""
    first, last = _bureau_date(start), _bureau_date(end)
    sign = 1
    if last < first:
        first, last, sign = last, first, -1
    count = 0
    day = first + timedelta(days=1)
    while day <= last:
        if is_working_day(day):
            count += 1
        day += timedelta(days=1)
    return sign * count


def quiet_cutoff(now: datetime, working_days: int) -> datetime:
    """The first moment that is *not* yet quiet long enough: an instance whose last change is
    before it has had at least `working_days` working days without progress by `now`."""
    day, counted = now.astimezone(BUREAU_TZ).date(), 0
    while counted < working_days:  # counts the working days in (day, today]
        counted += is_working_day(day)
        day -= timedelta(days=1)
    next_midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), BUREAU_TZ)
    return next_midnight.astimezone(now.tzinfo)
