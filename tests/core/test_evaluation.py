"""Evaluation reports against hand-computed numbers; the boundary grid against the model itself."""

import math
import time

import numpy as np
import pytest

from netstudio.core.data.load import load_dataset
from netstudio.core.data.preview import raw_features
from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.project import Project
from netstudio.core.training.evaluation import (
    BoundaryProbe,
    EvaluationProbe,
    boundary_field,
    boundary_grid,
    classification_report,
    evaluate_model,
    model_outputs,
    regression_report,
    sample_images,
    supports_boundary,
)
from netstudio.core.training.session import prepare_session

S = LayerSpec.create


def one_hot_probs(predicted, n):
    probs = np.full((len(predicted), n), 0.1)
    probs[np.arange(len(predicted)), predicted] = 0.8
    return probs


def test_confusion_matrix_and_scores_by_hand():
    true = [0, 0, 1, 1, 2, 2]
    predicted = [0, 1, 1, 1, 2, 0]
    report = classification_report(true, one_hot_probs(predicted, 3), ["a", "b", "c"])
    assert report.matrix.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert report.precision.tolist() == pytest.approx([1 / 2, 2 / 3, 1.0])
    assert report.recall.tolist() == pytest.approx([1 / 2, 1.0, 1 / 2])
    f1 = [2 * p * r / (p + r) for p, r in zip([0.5, 2 / 3, 1.0], [0.5, 1.0, 0.5])]
    assert report.f1.tolist() == pytest.approx(f1)
    assert report.accuracy == pytest.approx(4 / 6)
    assert report.support.tolist() == [2, 2, 2]
    np.testing.assert_allclose(report.normalized(), [[0.5, 0.5, 0], [0, 1, 0], [0.5, 0, 0.5]])
    assert report.cell_samples(2, 0).tolist() == [5]


def test_class_never_predicted_scores_zero_not_nan():
    report = classification_report([0, 1, 1], one_hot_probs([1, 1, 1], 2), ["x", "y"])
    assert report.precision.tolist() == [0.0, pytest.approx(2 / 3)]
    assert not np.isnan(report.f1).any()


def test_regression_scores_by_hand():
    true = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.5, 2.0, 2.0, 5.0])
    report = regression_report(true, pred)
    ss_res = 0.25 + 0 + 1 + 1
    ss_tot = 2.25 + 0.25 + 0.25 + 2.25
    assert report.r2 == pytest.approx(1 - ss_res / ss_tot)
    assert report.mae == pytest.approx((0.5 + 0 + 1 + 1) / 4)
    assert report.rmse == pytest.approx(math.sqrt(ss_res / 4))
    assert report.residuals.tolist() == [-0.5, 0.0, 1.0, -1.0]


def trained_session(tmp_path, data, epochs=20, layers=None):
    project = Project(name="t", data=data, path=tmp_path / "t.nsproj",
                      stack=LayerStack(layers or [S("Linear", out_features=16), S("ReLU"), S("Linear", out_features="auto")]))
    project.training.update(epochs=epochs, device="cpu", learning_rate=0.02)
    session = prepare_session(project)
    session.fit()
    return session


def test_evaluate_model_matches_the_training_metric(tmp_path):
    session = trained_session(tmp_path, {"source": "synthetic", "kind": "moons", "samples": 400, "noise": 0.1})
    report = evaluate_model(session.model, session.dataset, session.summary.output_transform)
    assert report.accuracy == pytest.approx(session.summary.history[-1].values["val_accuracy"], abs=1e-6)
    assert report.matrix.sum() == session.dataset.n_val and report.probabilities.shape == (session.dataset.n_val, 2)


def test_regression_report_is_in_target_units(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    y = (X @ np.array([10.0, -5.0, 2.0]) + 500).astype(np.float32)
    np.savez(tmp_path / "r.npz", X=X, y=y)
    session = trained_session(tmp_path, {"source": "npz", "path": str(tmp_path / "r.npz"), "task": "regression"}, epochs=60)
    report = evaluate_model(session.model, session.dataset, "identity")
    assert 400 < report.true.mean() < 600 and report.r2 > 0.9
    assert report.mae == pytest.approx(session.summary.history[-1].values["val_mae"], rel=1e-4)


def test_boundary_grid_agrees_with_the_models_own_predictions(tmp_path):
    session = trained_session(tmp_path, {"source": "synthetic", "kind": "circles", "samples": 300, "noise": 0.05})
    data = session.dataset
    assert supports_boundary(data)
    grid = boundary_grid(data, resolution=25)
    field = boundary_field(session.model, grid, session.summary.output_transform)
    assert field.shape == (25, 25, 2)
    direct = model_outputs(session.model, grid.points, session.summary.output_transform)
    np.testing.assert_allclose(field.reshape(-1, 2), direct, atol=1e-6)
    # Cell (row i, column j) is the point (xs[j], ys[i]) in the data's own units.
    i, j = 7, 19
    raw_point = raw_features(data, grid.points[i * 25 + j][None, :])[0]
    assert raw_point == pytest.approx([grid.xs[j], grid.ys[i]], rel=1e-5)


def test_raw_features_undo_the_preprocessing(tmp_path):
    rng = np.random.default_rng(2)
    X = np.column_stack([rng.uniform(100, 200, 120), rng.uniform(-3, -1, 120)]).astype(np.float32)
    np.savez(tmp_path / "two.npz", X=X, y=(X[:, 0] > 150).astype(np.int64))
    data = load_dataset({"source": "npz", "path": "two.npz", "validation_split": 0.25, "seed": 0, "task": "auto",
                         "normalize": True}, tmp_path)
    back = raw_features(data, np.concatenate([data.X_train, data.X_val]))
    np.testing.assert_allclose(np.sort(back, axis=0), np.sort(X, axis=0), rtol=1e-4)


def test_boundary_probe_is_rate_limited(tmp_path):
    project = Project(name="t", data={"source": "synthetic", "kind": "moons", "samples": 2000},
                      stack=LayerStack([S("Linear", out_features=8), S("ReLU"), S("Linear", out_features="auto")]),
                      path=tmp_path / "t.nsproj")
    project.training.update(epochs=3, batch_size=4, device="cpu")
    session = prepare_session(project)
    fields, reports = [], []
    probe = BoundaryProbe(session, boundary_grid(session.dataset, resolution=20), fields.append, rate=5)
    evaluation = EvaluationProbe(session, reports.append, rate=2)
    started = time.perf_counter()
    session.fit([probe, evaluation])
    seconds = time.perf_counter() - started
    assert 2 <= len(fields) <= 5 * seconds + 3
    assert fields[-1].shape == (20, 20, 2) and np.allclose(fields[-1].sum(axis=2), 1)
    assert 1 <= len(reports) <= 2 * seconds + 2
    final = evaluate_model(session.model, session.dataset, session.summary.output_transform)
    np.testing.assert_array_equal(reports[-1].matrix, final.matrix)


def test_sample_images_give_back_the_pixels(tmp_path):
    from PIL import Image

    for label, value in (("a", 30), ("b", 200)):
        (tmp_path / label).mkdir()
        for i in range(4):
            Image.new("L", (6, 5), value + i).save(tmp_path / label / f"{i}.png")
    data = load_dataset({"source": "images", "path": str(tmp_path), "validation_split": 0.0, "seed": 0,
                         "task": "auto", "normalize": True}, tmp_path)
    pixels = sample_images(data, data.X_train)
    assert pixels.dtype == np.uint8 and pixels.shape == (8, 1, 5, 6)
    assert sorted(int(p[0, 0, 0]) for p in pixels) == [30, 31, 32, 33, 200, 201, 202, 203]
