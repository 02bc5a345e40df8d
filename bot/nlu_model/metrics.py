"""Classification metrics for `helpline nlu evaluate` (no scikit-learn in the bot's env)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LabelScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


def per_label_scores(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> list[LabelScore]:
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    pairs = Counter(zip(truth, predicted, strict=True))
    scores = []
    for label in labels:
        tp = pairs[(label, label)]
        fp = sum(n for (t, p), n in pairs.items() if p == label and t != label)
        fn = sum(n for (t, p), n in pairs.items() if t == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(LabelScore(label, precision, recall, f1, tp + fn))
    return scores


def macro_f1(scores: Sequence[LabelScore]) -> float:
    present = [s for s in scores if s.support]
    return sum(s.f1 for s in present) / len(present) if present else 0.0


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    if not truth:
        return 0.0
    return sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth)


def confusion(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> list[list[int]]:
    """rows: true label, columns: predicted label, in ``labels`` order."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t]][index[p]] += 1
    return matrix


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class EmergencyScore:
    recall: float
    false_alarm_rate: float
    missed: int
    false_alarms: int
    emergencies: int
    non_emergencies: int


def emergency_score(is_emergency: Sequence[bool], flagged: Sequence[bool]) -> EmergencyScore:
    pos = [f for e, f in zip(is_emergency, flagged, strict=True) if e]
    neg = [f for e, f in zip(is_emergency, flagged, strict=True) if not e]
    return EmergencyScore(
        recall=sum(pos) / len(pos) if pos else math.nan,
        false_alarm_rate=sum(neg) / len(neg) if neg else math.nan,
        missed=len(pos) - sum(pos),
        false_alarms=sum(neg),
        emergencies=len(pos),
        non_emergencies=len(neg),
    )
