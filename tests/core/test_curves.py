"""ROC and precision–recall curves and their areas; val_auc for binary tasks."""

import csv
import json

import numpy as np
import pytest

from netstudio.core.config import validate_data
from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.project import new_project
from netstudio.core.runs.folder import save_run
from netstudio.core.training.curves import (
    average_precision,
    binary_auc,
    one_vs_rest,
    pr_curve,
    roc_auc,
    roc_curve,
)
from netstudio.core.training.evaluation import classification_report, evaluate_model
from netstudio.core.training.session import prepare_session

S = LayerSpec.create
MLP = [S("Linear", out_features=16), S("ReLU"), S("Linear", out_features="auto")]


def test_auc_and_the_curves_equal_hand_computed_values():
    positive, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    # Pairs (positive, negative): 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 -> 3 of 4.
    assert roc_auc(positive, scores) == pytest.approx(0.75)
    fpr, tpr, thresholds = roc_curve(positive, scores)
    assert fpr.tolist() == [0, 0, 0.5, 0.5, 1] and tpr.tolist() == [0, 0.5, 0.5, 1, 1]
    assert thresholds.tolist() == [np.inf, 0.8, 0.4, 0.35, 0.1]
    recall, precision, _ = pr_curve(positive, scores)
    assert recall.tolist() == [0, 0.5, 0.5, 1, 1]
    np.testing.assert_allclose(precision, [1, 1, 0.5, 2 / 3, 0.5])
    assert average_precision(positive, scores) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # A tie between a positive and a negative counts a half: (0.5 + 1 + 1 + 1) / 4.
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == pytest.approx(0.875)
    assert roc_auc([1, 1], [0.2, 0.3]) is None and average_precision([0, 0], [0.1, 0.2]) is None


def test_auc_is_the_chance_a_positive_outscores_a_negative():
    rng = np.random.default_rng(0)
    positive = rng.random(300) < 0.3
    scores = np.round(rng.random(300) + positive * 0.4, 2)  # rounded: many ties
    pos, neg = scores[positive], scores[~positive]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert roc_auc(positive, scores) == pytest.approx(pairs, abs=1e-12)


def test_one_vs_rest_has_a_curve_per_class_and_one_for_binary():
    rng = np.random.default_rng(1)
    true = rng.integers(0, 3, 200)
    probs = rng.dirichlet(np.ones(3), 200) + np.eye(3)[true] * 0.5
    probs /= probs.sum(axis=1, keepdims=True)
    curves = one_vs_rest(true, probs, ["a", "b", "c"])
    assert [c.name for c in curves] == ["a", "b", "c"]
    for k, curve in enumerate(curves):
        assert curve.auc == pytest.approx(roc_auc(true == k, probs[:, k])) and curve.auc > 0.6
    binary = classification_report(true % 2, np.column_stack([1 - probs[:, 0], probs[:, 0]]), ["no", "yes"])
    (only,) = binary.curves()
    assert only.name == "yes" and only.auc == pytest.approx(binary_auc(true % 2, binary.probabilities))


def test_a_threshold_moves_the_binary_confusion_matrix():
    true = np.array([0, 0, 1, 1, 1])
    p1 = np.array([0.2, 0.6, 0.4, 0.7, 0.9])
    report = classification_report(true, np.column_stack([1 - p1, p1]), ["n", "p"])
    assert report.at_threshold(0.5).matrix.tolist() == [[1, 1], [1, 2]]
    assert report.at_threshold(0.3).matrix.tolist() == [[1, 1], [0, 3]]
    assert report.at_threshold(0.95).matrix.tolist() == [[2, 0], [3, 0]]
    assert report.at_threshold(0.3).recall[1] == pytest.approx(1.0)


def test_a_binary_run_has_val_auc_in_metrics_csv_and_summary_json(tmp_path):
    project = new_project("auc")
    project.data = validate_data({"source": "synthetic", "kind": "moons", "samples": 300, "test_split": 0.2})
    project.stack = LayerStack(MLP)
    project.training.update(epochs=3, device="cpu", learning_rate=0.02)
    session = prepare_session(project)
    summary = session.fit()
    folder = save_run(session, summary, tmp_path / "run")
    with open(folder / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:5] == ["epoch", "train_loss", "val_loss", "val_accuracy", "val_auc"]
    assert all(0.5 < float(r["val_auc"]) <= 1 for r in rows)
    doc = json.loads((folder / "summary.json").read_text())
    assert doc["val_auc"] == pytest.approx(float(rows[doc["best_epoch"] - 1]["val_auc"]))
    report = evaluate_model(session.model, session.dataset, summary.output_transform, split="test")
    assert doc["test_auc"] == pytest.approx(binary_auc(report.true, report.probabilities), rel=1e-5)
