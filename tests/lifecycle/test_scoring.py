"""Score aggregation (engine.scoring): mean, trimmed mean from five scores, rounding, bad input."""
from __future__ import annotations

import pytest

from engine.lifecycle.scoring import MEAN, TRIMMED_MEAN, aggregate, rubric_total


def test_fewer_than_five_scores_are_averaged_even_when_trimming_is_configured():
    # given four scores, when aggregated with the trimmed mean, then nothing is dropped
    result = aggregate([70, 80, 90, 100], TRIMMED_MEAN)
    assert result.score == 85.0 and result.method == MEAN and result.dropped == []


def test_five_scores_drop_the_highest_and_the_lowest():
    # given an outlier at each end, when trimmed, then only the middle three count
    result = aggregate([20, 80, 82, 84, 100], TRIMMED_MEAN)
    assert result.score == 82.0 and result.method == TRIMMED_MEAN
    assert result.dropped == [20.0, 100.0] and result.used == [80.0, 82.0, 84.0]


def test_only_one_of_several_equal_extremes_is_dropped():
    result = aggregate([60, 60, 70, 90, 90], TRIMMED_MEAN)
    assert result.used == [60.0, 70.0, 90.0] and result.score == 73.33


def test_the_plain_mean_is_kept_when_configured():
    assert aggregate([20, 80, 82, 84, 100], MEAN).score == 73.2


def test_the_threshold_for_trimming_is_configurable():
    assert aggregate([50, 80, 90, 100], TRIMMED_MEAN, trim_from=4).score == 85.0


def test_results_are_rounded_half_up_to_two_decimals():
    # 89.995 must show as 90.00 (a band boundary), not 89.99 as binary floats would round it
    assert aggregate([89.99, 90.0], MEAN).score == 90.0
    assert aggregate([80, 80, 81], MEAN).score == 80.33


@pytest.mark.parametrize("scores, message", [
    ([], "no scores"), ([80, "90"], "not a number"), ([80, True], "not a number"),
    ([80, 101], "outside"), ([-1], "outside"), ([float("nan")], "outside")])
def test_bad_scores_are_refused_with_a_clear_message(scores, message):
    with pytest.raises(ValueError, match=message):
        aggregate(scores)


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown score method"):
        aggregate([80], "median")


def test_a_rubric_total_checks_every_criterion_against_its_maximum():
    maxima = {"innovation": 30, "feasibility": 25}
    assert rubric_total({"innovation": 28, "feasibility": 20.5}, maxima) == 48.5
    with pytest.raises(ValueError, match="misses feasibility"):
        rubric_total({"innovation": 28}, maxima)
    with pytest.raises(ValueError, match="outside 0-30"):
        rubric_total({"innovation": 31, "feasibility": 1}, maxima)
