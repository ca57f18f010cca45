"""ROC and precision–recall curves, their areas, and the confusion matrix at a threshold.

A binary task scores class 1 (the second of the sorted class names) as the positive class; a
multiclass task gets one curve per class, that class against the rest (:func:`one_vs_rest`).

- :func:`roc_curve`: false- and true-positive rates at every distinct score, from (0, 0) to (1, 1).
- :func:`roc_auc`: the trapezoidal area under it, which equals the probability that a random
  positive scores above a random negative (ties count a half); None with one class only.
- :func:`pr_curve` / :func:`average_precision`: precision against recall, and the area as
  ``sum((R_n - R_{n-1}) * P_n)`` over the thresholds (a step function, no interpolation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _counts(positive, scores):
    """``(distinct thresholds descending, true positives, false positives)`` at each of them."""
    positive = np.asarray(positive, dtype=bool).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind="mergesort")
    scores, positive = scores[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1] if len(scores) else np.zeros(0, dtype=np.int64)
    tps = np.cumsum(positive)[last]
    fps = (last + 1) - tps
    return scores[last], tps.astype(np.float64), fps.astype(np.float64)


def roc_curve(positive, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)``; predicting positive when ``score >= threshold``. The first point
    is (0, 0) at threshold +inf. Rates are 0 where a class has no samples."""
    thresholds, tps, fps = _counts(positive, scores)
    n_pos, n_neg = (tps[-1], fps[-1]) if len(tps) else (0.0, 0.0)
    tpr = np.r_[0.0, tps / n_pos] if n_pos else np.zeros(len(tps) + 1)
    fpr = np.r_[0.0, fps / n_neg] if n_neg else np.zeros(len(fps) + 1)
    return fpr, tpr, np.r_[np.inf, thresholds]


def roc_auc(positive, scores) -> float | None:
    """The area under the ROC curve; None unless both classes have samples."""
    positive = np.asarray(positive, dtype=bool).reshape(-1)
    if positive.all() or not positive.any():
        return None
    fpr, tpr, _ = roc_curve(positive, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def pr_curve(positive, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(recall, precision, thresholds)``, starting at recall 0, precision 1 (threshold +inf)."""
    thresholds, tps, fps = _counts(positive, scores)
    n_pos = tps[-1] if len(tps) else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tps + fps > 0, tps / np.maximum(tps + fps, 1), 1.0)
    recall = tps / n_pos if n_pos else np.zeros(len(tps))
    return np.r_[0.0, recall], np.r_[1.0, precision], np.r_[np.inf, thresholds]


def average_precision(positive, scores) -> float | None:
    """The area under the precision–recall curve (step-wise); None without positive samples."""
    if not np.asarray(positive, dtype=bool).any():
        return None
    recall, precision, _ = pr_curve(positive, scores)
    return float(np.sum(np.diff(recall) * precision[1:]))


def binary_auc(labels, probabilities) -> float | None:
    """ROC AUC of a binary task: class 1's probability (column 1 of ``[N, 2]``) against the labels."""
    probabilities = np.asarray(probabilities)
    return roc_auc(np.asarray(labels).reshape(-1) == 1, probabilities[:, 1] if probabilities.ndim == 2 else probabilities)


@dataclass(frozen=True)
class Curve:
    """One class's ROC and PR curves (that class as the positive one) and their areas."""

    name: str
    fpr: np.ndarray
    tpr: np.ndarray
    roc_thresholds: np.ndarray
    recall: np.ndarray
    precision: np.ndarray
    pr_thresholds: np.ndarray
    auc: float | None
    average_precision: float | None


def one_vs_rest(true, probabilities, classes: list[str]) -> list[Curve]:
    """The curves of a classification report: class 1 alone for two classes, else one per class."""
    true = np.asarray(true, dtype=np.int64).reshape(-1)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    which = [1] if len(classes) == 2 else range(len(classes))
    curves = []
    for k in which:
        positive, scores = true == k, probabilities[:, k] if len(probabilities) else np.zeros(0)
        fpr, tpr, roc_t = roc_curve(positive, scores)
        recall, precision, pr_t = pr_curve(positive, scores)
        curves.append(Curve(classes[k], fpr, tpr, roc_t, recall, precision, pr_t,
                            roc_auc(positive, scores), average_precision(positive, scores)))
    return curves

