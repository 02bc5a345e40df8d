from __future__ import annotations

import math

import pytest

from bot.nlu_model import metrics


def test_per_label_scores() -> None:
    truth = ["a", "a", "b", "b", "c"]
    pred = ["a", "b", "b", "b", "a"]
    scores = {s.label: s for s in metrics.per_label_scores(truth, pred, ["a", "b", "c"])}
    assert scores["a"].precision == pytest.approx(0.5)
    assert scores["a"].recall == pytest.approx(0.5)
    assert scores["b"].precision == pytest.approx(2 / 3)
    assert scores["b"].recall == pytest.approx(1.0)
    assert scores["c"].f1 == 0.0 and scores["c"].support == 1
    assert metrics.macro_f1(list(scores.values())) == pytest.approx((0.5 + 0.8 + 0) / 3)


def test_confusion_and_accuracy() -> None:
    truth, pred = ["x", "y", "y"], ["x", "x", "y"]
    assert metrics.confusion(truth, pred, ["x", "y"]) == [[1, 0], [1, 1]]
    assert metrics.accuracy(truth, pred) == pytest.approx(2 / 3)


def test_percentile() -> None:
    assert metrics.percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert metrics.percentile([5.0], 95) == 5.0
    assert math.isnan(metrics.percentile([], 50))


def test_emergency_score() -> None:
    score = metrics.emergency_score(
        [True, True, False, False, False], [True, False, True, False, False]
    )
    assert score.recall == 0.5 and score.missed == 1
    assert score.false_alarm_rate == pytest.approx(1 / 3) and score.false_alarms == 1
