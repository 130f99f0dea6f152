"""Working days in mainland China (engine.calendar): statutory holidays, make-up working days,
weekends, negative offsets, timezones, and the Monday-Friday fallback for uncovered years."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone

import chinese_calendar
import pytest
from chinese_calendar.constants import holidays as _library_holidays

from engine.core import calendar as cal
from engine.core.calendar import BUREAU_TZ, add_working_days, is_working_day, next_working_day, working_days_between

FIRST_COVERED = min(_library_holidays).year
LAST_COVERED = max(_library_holidays).year


def _covers(year: int) -> bool:
    return FIRST_COVERED <= year <= LAST_COVERED


def sh(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BUREAU_TZ)


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    # The once-per-year memory is module state; start each fallback test from a clean slate.
    monkeypatch.setattr(cal, "_warned_years", set())


# --- which days are working days -------------------------------------------------------------

def test_installed_library_covers_2025_national_day():
    # given the pinned chinese-calendar, when asked about 2025, then it answers without raising
    assert _covers(2025)
    assert chinese_calendar.is_workday(date(2025, 10, 11)) is True


@pytest.mark.parametrize("day", [date(2025, 10, d) for d in range(1, 9)])
def test_national_day_2025_holidays_are_not_working_days(day):
    # given 1-8 Oct 2025 (National Day + Mid-Autumn), then none is a working day, weekdays too
    assert is_working_day(day) is False


@pytest.mark.parametrize("day", [date(2025, 9, 28), date(2025, 10, 11)])
def test_make_up_weekend_days_are_working_days(day):
    # given Sunday 28 Sep and Saturday 11 Oct 2025 (调休), then they are working days
    assert day.weekday() >= 5
    assert is_working_day(day) is True


def test_ordinary_weekend_is_not_a_working_day():
    # given an ordinary weekend (15-16 Nov 2025) and the Friday before it
    assert is_working_day(date(2025, 11, 14)) is True
    assert is_working_day(date(2025, 11, 15)) is False
    assert is_working_day(date(2025, 11, 16)) is False


def test_next_working_day_skips_the_whole_holiday():
    # given the last working day before National Day, then the next one is Thu 9 Oct
    assert next_working_day(date(2025, 9, 30)) == date(2025, 10, 9)
    # given a make-up Sunday, then the next working day is the Monday after it
    assert next_working_day(date(2025, 9, 27)) == date(2025, 9, 28)


def test_next_working_day_is_strictly_after():
    # given a working day, then the answer is the following working day, not the day itself
    assert next_working_day(date(2025, 11, 12)) == date(2025, 11, 13)


# --- adding working days ---------------------------------------------------------------------

def test_three_working_days_from_thursday_before_national_day():
    # given Thu 25 Sep 2025 10:00 +08:00, when adding 3 working days,
    # then Fri 26 (1), Sat 27 skipped, Sun 28 make-up day (2), Mon 29 (3): Mon 29 Sep, 10:00.
    # (Not 30 Sep: the make-up Sunday counts as a working day.)
    assert add_working_days(sh(2025, 9, 25), 3) == sh(2025, 9, 29)


def test_one_working_day_from_last_day_before_national_day():
    # given Tue 30 Sep 2025 15:30, when adding 1 working day, then Thu 9 Oct 15:30
    assert add_working_days(sh(2025, 9, 30, 15, 30), 1) == sh(2025, 10, 9, 15, 30)


def test_working_days_after_national_day_include_make_up_saturday():
    # given Tue 30 Sep, when adding 3, then Thu 9, Fri 10, Sat 11 (make-up): Sat 11 Oct
    assert add_working_days(sh(2025, 9, 30), 3) == sh(2025, 10, 11)
    # and a 4th working day skips Sun 12 to Mon 13
    assert add_working_days(sh(2025, 9, 30), 4) == sh(2025, 10, 13)


def test_one_working_day_is_next_working_day_same_time_not_24_business_hours():
    # given Friday 17:45, when adding 1 working day, then Monday 17:45
    assert add_working_days(sh(2025, 11, 14, 17, 45), 1) == sh(2025, 11, 17, 17, 45)


def test_from_a_weekend_day_one_is_first_working_day_after_it():
    # given Saturday 10:00, when adding 1, then Monday 10:00 (time kept)
    assert add_working_days(sh(2025, 11, 15), 1) == sh(2025, 11, 17)
    # given Saturday, when adding 2, then Tuesday
    assert add_working_days(sh(2025, 11, 15), 2) == sh(2025, 11, 18)


def test_from_a_holiday_day_one_is_first_working_day_after_it():
    # given Fri 3 Oct 2025 (holiday), when adding 1, then Thu 9 Oct
    assert add_working_days(sh(2025, 10, 3, 9), 1) == sh(2025, 10, 9, 9)


def test_zero_working_days_returns_start_unchanged_even_on_a_holiday():
    start = sh(2025, 10, 3, 9)
    assert add_working_days(start, 0) is start


def test_negative_working_days_go_backwards_over_the_holiday():
    # given Thu 9 Oct (first day after National Day), when going back 1, then Tue 30 Sep
    assert add_working_days(sh(2025, 10, 9), -1) == sh(2025, 9, 30)
    # given Mon 13 Oct, when going back 2, then Sat 11 (make-up, 1) and Fri 10 (2)
    assert add_working_days(sh(2025, 10, 13), -2) == sh(2025, 10, 10)
    # given Mon 29 Sep, when going back 1, then make-up Sun 28 Sep
    assert add_working_days(sh(2025, 9, 29), -1) == sh(2025, 9, 28)


def test_negative_from_weekend_counts_from_day_before():
    # given Sunday 16 Nov, when going back 1, then Friday 14 Nov
    assert add_working_days(sh(2025, 11, 16), -1) == sh(2025, 11, 14)


def test_aware_datetime_date_is_taken_in_shanghai_and_result_keeps_input_tz():
    # given 30 Sep 2025 20:00 UTC, which is already 1 Oct 04:00 in Shanghai (a holiday),
    # when adding 1 working day, then Thu 9 Oct 04:00 Shanghai, returned in UTC
    start = datetime(2025, 9, 30, 20, 0, tzinfo=timezone.utc)
    result = add_working_days(start, 1)
    assert result.tzinfo is timezone.utc
    assert result == datetime(2025, 10, 8, 20, 0, tzinfo=timezone.utc)


def test_naive_datetime_is_bureau_local_and_stays_naive():
    result = add_working_days(datetime(2025, 9, 30, 9, 0), 1)
    assert result == datetime(2025, 10, 9, 9, 0)
    assert result.tzinfo is None


def test_n_must_be_an_int():
    with pytest.raises(TypeError):
        add_working_days(sh(2025, 9, 30), 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        add_working_days(sh(2025, 9, 30), True)


@pytest.mark.skipif(not _covers(2026), reason="installed chinese-calendar lacks 2026")
def test_spring_festival_2026():
    # given Spring Festival 2026: 15-23 Feb off, Sat 14 Feb and Sat 28 Feb are make-up days
    assert is_working_day(date(2026, 2, 14)) is True
    assert all(not is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert is_working_day(date(2026, 2, 28)) is True
    # when adding 1 working day to Fri 13 Feb, then make-up Sat 14 Feb
    assert add_working_days(sh(2026, 2, 13), 1) == sh(2026, 2, 14)
    # when adding 2, then Tue 24 Feb (the whole 9-day break is skipped)
    assert add_working_days(sh(2026, 2, 13), 2) == sh(2026, 2, 24)
    # and 1 working day before Tue 24 Feb is the make-up Saturday
    assert add_working_days(sh(2026, 2, 24), -1) == sh(2026, 2, 14)


# --- counting working days -------------------------------------------------------------------

def test_working_days_between_counts_after_start_up_to_and_including_end():
    # due today -> 0, due tomorrow -> 1
    assert working_days_between(date(2025, 11, 12), date(2025, 11, 12)) == 0
    assert working_days_between(date(2025, 11, 12), date(2025, 11, 13)) == 1
    # Friday to Monday -> 1 (the weekend does not count)
    assert working_days_between(date(2025, 11, 14), date(2025, 11, 17)) == 1


def test_working_days_between_across_national_day():
    # given Tue 30 Sep -> Thu 9 Oct 2025, then only 9 Oct counts
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 9)) == 1
    # given Fri 26 Sep -> Mon 13 Oct: Sun 28, Mon 29, Tue 30, Thu 9, Fri 10, Sat 11, Mon 13
    assert working_days_between(date(2025, 9, 26), date(2025, 10, 13)) == 7


def test_working_days_between_is_negative_when_end_is_before_start():
    # given an overdue task due Tue 30 Sep, seen on Thu 9 Oct, then -1 working day
    assert working_days_between(date(2025, 10, 9), date(2025, 9, 30)) == -1
    assert working_days_between(date(2025, 10, 13), date(2025, 9, 26)) == -7


def test_working_days_between_takes_aware_datetimes_in_shanghai():
    # given 30 Sep 17:00 UTC (= 1 Oct 01:00 Shanghai) -> 9 Oct 10:00 Shanghai, then 1
    start = datetime(2025, 9, 30, 17, 0, tzinfo=timezone.utc)
    assert working_days_between(start, sh(2025, 10, 9)) == 1
    # given 29 Sep 15:00 UTC (= 29 Sep 23:00 Shanghai), then 30 Sep also counts: 2
    assert working_days_between(datetime(2025, 9, 29, 15, tzinfo=timezone.utc),
                                sh(2025, 10, 9)) == 2


@pytest.mark.parametrize("n", [1, 3, 7, 20, -1, -5, -20])
def test_working_days_between_inverts_add_working_days_from_a_working_day(n):
    # given a working day start, then counting back the days we added gives n again
    start = sh(2025, 9, 26)
    assert working_days_between(start, add_working_days(start, n)) == n


# --- outside the covered years ---------------------------------------------------------------

def _first_weekday_on_or_after(d: date, weekday: int) -> date:
    return d + timedelta(days=(weekday - d.weekday()) % 7)


def test_uncovered_year_falls_back_to_monday_to_friday_and_warns_once(fresh_warnings, caplog):
    # given a year after the library's data ends
    year = LAST_COVERED + 1
    monday = _first_weekday_on_or_after(date(year, 6, 1), 0)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(monday)
    # when asking about several of its days
    with caplog.at_level(logging.WARNING, logger="engine.core.calendar"):
        results = [is_working_day(monday + timedelta(days=i)) for i in range(7)]
        is_working_day(monday + timedelta(days=30))
    # then Monday-Friday are working days, the weekend is not, and one warning names the year
    assert results == [True] * 5 + [False] * 2
    warnings = [r for r in caplog.records if r.name == "engine.core.calendar"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert str(year) in warnings[0].getMessage()


def test_each_uncovered_year_warns_separately(fresh_warnings, caplog):
    # given two uncovered years (one before and one after the data), then one warning each
    with caplog.at_level(logging.WARNING, logger="engine.core.calendar"):
        for year in (FIRST_COVERED - 1, LAST_COVERED + 2):
            is_working_day(date(year, 3, 2))
            is_working_day(date(year, 3, 3))
    assert len([r for r in caplog.records if r.name == "engine.core.calendar"]) == 2


def test_arithmetic_across_the_end_of_the_covered_range_does_not_crash(fresh_warnings):
    # given 31 Dec of the last covered year, when adding 5 working days into the next year,
    # then the fallback counts the next 5 Mondays-Fridays of January, without raising
    start = sh(LAST_COVERED, 12, 31, 9)
    expected_days = [d for d in (date(LAST_COVERED + 1, 1, i) for i in range(1, 15))
                     if d.weekday() < 5]
    fifth = expected_days[4]
    assert add_working_days(start, 5) == sh(fifth.year, fifth.month, fifth.day, 9)
    # and counting working days over the same span gives 5 again
    assert working_days_between(start, fifth) == 5
    assert next_working_day(date(LAST_COVERED, 12, 31)) == expected_days[0]
