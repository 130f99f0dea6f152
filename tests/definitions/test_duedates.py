"""Due dates of user tasks (engine.duedates): each accepted form of camunda:dueDate and
dueWorkingDays, expressions through an evaluator, the earlier-wins rule, and deploy checks."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine.core.calendar import BUREAU_TZ
from engine.definitions.duedates import DueDateError, check_due_setting, due_at, parse_due

UTC = timezone.utc
# Thu 25 Sep 2025 10:00 in Shanghai: three days before the National Day make-up Sunday.
CREATED = datetime(2025, 9, 25, 2, 0, tzinfo=UTC)


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=UTC)


def sh(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BUREAU_TZ)


def assert_utc(moment: datetime) -> None:
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


# --- parse_due: absolute dates -----------------------------------------------------------------

def test_aware_iso_datetime_is_converted_to_utc():
    result = parse_due("2027-01-01T09:00:00+08:00", CREATED)
    assert result == utc(2027, 1, 1, 1)
    assert_utc(result)


def test_iso_datetime_with_z_is_utc():
    assert parse_due("2027-01-01T09:00:00Z", CREATED) == utc(2027, 1, 1, 9)


def test_naive_iso_datetime_is_taken_as_shanghai():
    # given no offset, then 09:00 means 09:00 in Asia/Shanghai (01:00 UTC)
    assert parse_due("2027-01-01T09:00:00", CREATED) == utc(2027, 1, 1, 1)


def test_bare_date_means_18_00_shanghai_end_of_working_day():
    # given a date, then the task is due at close of business that day: 18:00 +08:00
    result = parse_due("2027-01-01", CREATED)
    assert result == sh(2027, 1, 1, 18)
    assert result == utc(2027, 1, 1, 10)
    assert_utc(result)


def test_date_and_datetime_objects_are_accepted():
    # given what an expression may return: a date (18:00 Shanghai), an aware or naive datetime
    assert parse_due(date(2027, 1, 1), CREATED) == utc(2027, 1, 1, 10)
    assert parse_due(datetime(2027, 1, 1, 9, tzinfo=UTC), CREATED) == utc(2027, 1, 1, 9)
    assert parse_due(datetime(2027, 1, 1, 9), CREATED) == utc(2027, 1, 1, 1)


# --- parse_due: durations from creation ----------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("P5D", utc(2025, 9, 30, 2)),            # calendar days: holidays are not skipped
    ("PT4H", utc(2025, 9, 25, 6)),
    ("PT30M", utc(2025, 9, 25, 2, 30)),
    ("P2W", utc(2025, 10, 9, 2)),
    ("P1M", utc(2025, 10, 25, 2)),
    ("P1Y2M3DT4H", utc(2026, 11, 28, 6)),    # 2025-09-25 + 1y2m = 2026-11-25, +3d 4h
    ("p1dt2h", utc(2025, 9, 26, 4)),         # designators are case-insensitive
])
def test_iso_durations_count_from_creation(value, expected):
    result = parse_due(value, CREATED)
    assert result == expected
    assert_utc(result)


def test_months_are_calendar_months_in_shanghai():
    # given a task created 31 Jan 04:00 Shanghai (still 30 Jan in UTC), when due P1M,
    # then 28 Feb 04:00 Shanghai: the month is clamped as people in the bureau see it
    created = datetime(2025, 1, 30, 20, 0, tzinfo=UTC)
    assert parse_due("P1M", created) == sh(2025, 2, 28, 4)


def test_working_day_duration_skips_national_day():
    # given Thu 25 Sep 10:00, when due P5WD: Fri 26, Sun 28 (make-up), Mon 29, Tue 30,
    # then (1-8 Oct off) Thu 9 Oct 10:00 Shanghai
    assert parse_due("P5WD", CREATED) == sh(2025, 10, 9)
    assert parse_due("P3WD", CREATED) == sh(2025, 9, 29)


def test_naive_created_at_is_utc():
    assert parse_due("PT1H", CREATED.replace(tzinfo=None)) == utc(2025, 9, 25, 3)


@pytest.mark.parametrize("value", [
    "", "  ", "tomorrow", "P", "PT", "P1DT", "P0.5D", "-P1D", "5", "2027-13-01",
    "2027-01-01T25:00", "${deadline}", "${deadline", "#{deadline}", "P99999Y", "P20000WD",
])
def test_bad_values_raise_due_date_error_naming_the_value(value):
    with pytest.raises(DueDateError) as caught:
        parse_due(value, CREATED)
    assert isinstance(caught.value, ValueError)
    assert repr(value) in str(caught.value)
    assert caught.value.value == value


def test_non_string_non_date_values_are_rejected():
    with pytest.raises(DueDateError, match="got int"):
        parse_due(5, CREATED)  # type: ignore[arg-type]


# --- due_at ----------------------------------------------------------------------------------

def test_no_settings_means_no_due_date():
    assert due_at(None, None, CREATED) is None
    assert due_at("", "  ", CREATED) is None


def test_due_date_literal_alone():
    assert due_at("P5D", None, CREATED) == utc(2025, 9, 30, 2)


@pytest.mark.parametrize("setting", [3, "3", " 3 "])
def test_due_working_days_alone_is_same_time_n_working_days_later(setting):
    # given Thu 25 Sep 10:00 and dueWorkingDays=3, then Mon 29 Sep 10:00 (Sun 28 is make-up)
    result = due_at(None, setting, CREATED)
    assert result == sh(2025, 9, 29)
    assert_utc(result)


def test_due_working_days_zero_is_creation_time():
    assert due_at(None, 0, CREATED) == CREATED


def test_when_both_are_set_the_earlier_deadline_wins():
    # given dueDate P5D (Tue 30 Sep) and dueWorkingDays 5 (Thu 9 Oct), then 30 Sep
    assert due_at("P5D", 5, CREATED) == utc(2025, 9, 30, 2)
    # given dueDate P30D (25 Oct) and dueWorkingDays 3 (Mon 29 Sep), then 29 Sep
    assert due_at("P30D", "3", CREATED) == sh(2025, 9, 29)


def test_due_date_expression_is_evaluated_and_parsed():
    # given ${...}, then the evaluator gets the inner expression, stripped, and its value
    # is parsed like a literal
    seen: list[str] = []

    def evaluate(expr: str) -> object:
        seen.append(expr)
        return {"deadline": "2027-01-01", "sla": "P3WD", "when": date(2027, 2, 1)}[expr]

    assert due_at("${ deadline }", None, CREATED, evaluate) == utc(2027, 1, 1, 10)
    assert due_at("${sla}", None, CREATED, evaluate) == sh(2025, 9, 29)
    assert due_at("${when}", None, CREATED, evaluate) == utc(2027, 2, 1, 10)
    assert seen == ["deadline", "sla", "when"]


def test_due_working_days_expression_is_evaluated():
    assert due_at(None, "${sla_days}", CREATED, lambda expr: 3) == sh(2025, 9, 29)
    assert due_at(None, "${sla_days}", CREATED, lambda expr: "5") == sh(2025, 10, 9)


def test_expression_yielding_none_sets_no_due_date():
    # given an optional variable that is not set, then that setting contributes nothing
    assert due_at("${deadline}", None, CREATED, lambda expr: None) is None
    assert due_at("${deadline}", 3, CREATED, lambda expr: None) == sh(2025, 9, 29)


def test_expression_without_evaluator_is_an_error():
    with pytest.raises(DueDateError, match="no evaluator"):
        due_at("${deadline}", None, CREATED)


def test_failing_evaluator_is_reported_with_the_expression():
    def evaluate(expr: str) -> object:
        raise NameError("name 'deadline' is not defined")

    with pytest.raises(DueDateError, match="deadline") as caught:
        due_at("${deadline}", None, CREATED, evaluate)
    assert isinstance(caught.value.__cause__, NameError)


@pytest.mark.parametrize("value", ["next week", 42, "${other}"])
def test_expression_with_unusable_value_is_an_error_naming_it(value):
    with pytest.raises(DueDateError) as caught:
        due_at("${deadline}", None, CREATED, lambda expr: value)
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize("setting", ["-1", -2, "three", "2.5", True, "P3WD"])
def test_bad_due_working_days_are_rejected(setting):
    with pytest.raises(DueDateError) as caught:
        due_at(None, setting, CREATED)
    assert repr(setting) in str(caught.value)


# --- check_due_setting -----------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "2027-01-01", "2027-01-01T09:00:00+08:00", "2027-01-01T09:00:00", "P5D", "PT4H", "P1M",
    "P1Y2M3DT4H", "P5WD", "${deadline}", "${ dateTime().plusDays(3) }",
])
def test_check_due_setting_accepts_valid_literals_and_expressions(value):
    assert check_due_setting(value) is None


def test_check_due_setting_does_not_evaluate_expressions():
    # given an expression naming variables that do not exist at deploy time, then it is valid
    assert check_due_setting("${no_such_variable}") is None


@pytest.mark.parametrize("value", ["", "soon", "5", "P", "P1.5D", "${}", "${deadline",
                                   "#{deadline}", "2027-02-30"])
def test_check_due_setting_explains_bad_values(value):
    message = check_due_setting(value)
    assert message is not None
    assert repr(value) in message
