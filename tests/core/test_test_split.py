"""data.test_split: rows held out of training and validation, scored once after training."""

import json

import numpy as np
import pytest

from netstudio.core.config import EarlyStopping, TrainConfig, validate_data
from netstudio.core.data.common import split_indices, split_rows
from netstudio.core.data.dataset import Dataset
from netstudio.core.data.load import load_dataset
from netstudio.core.data.preview import raw_features
from netstudio.core.design.builder import build_model
from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.errors import ProjectError
from netstudio.core.project import new_project
from netstudio.core.runs.folder import save_run
from netstudio.core.training.evaluation import evaluate_model
from netstudio.core.training.session import prepare_session
from netstudio.core.training.trainer import Trainer

S = LayerSpec.create
MLP = [S("Linear", out_features=16), S("ReLU"), S("Linear", out_features="auto")]


def split(n, labels, validation, test, seed=0):
    return split_rows(n, labels, {"validation_split": validation, "test_split": test, "seed": seed})


def test_three_splits_are_disjoint_cover_every_row_and_are_stratified():
    labels = np.array([0] * 800 + [1] * 200)
    train, val, test = split(1000, labels, 0.2, 0.1, seed=3)
    assert not (set(train) & set(val) or set(train) & set(test) or set(val) & set(test))
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(1000))
    assert np.bincount(labels[test]).tolist() == [80, 20]
    assert np.bincount(labels[val]).tolist() == [160, 40]
    assert len(train) == 700
    again = split(1000, labels, 0.2, 0.1, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again))


def test_without_a_test_split_the_split_is_the_one_older_projects_had():
    labels = np.repeat([0, 1, 2], 50)
    train, val, test = split(150, labels, 0.2, 0.0, seed=5)
    old_train, old_val = split_indices(150, labels, 0.2, 5)
    assert np.array_equal(train, old_train) and np.array_equal(val, old_val) and len(test) == 0


def test_a_csv_test_split_holds_distinct_rows(tmp_path):
    # x is unique per row, so every prepared row says which CSV row it came from.
    rng = np.random.default_rng(0)
    x = rng.permutation(300).astype(float)
    label = np.where(rng.random(300) < 0.3, "rare", "common")
    lines = ["x,noise,label"] + [f"{a},{b:.3f},{c}" for a, b, c in zip(x, rng.normal(size=300), label)]
    (tmp_path / "rows.csv").write_text("\n".join(lines) + "\n")
    config = validate_data({"source": "csv", "path": "rows.csv", "target": "label", "validation_split": 0.2,
                            "test_split": 0.25})
    data = load_dataset(config, tmp_path)
    rows = {name: set(np.rint(raw_features(data, X)[:, 0]).astype(int))
            for name, X in (("train", data.X_train), ("val", data.X_val), ("test", data.X_test))}
    assert data.n_test == 75 and data.n_val == 60 and data.n_train == 165
    assert not (rows["train"] & rows["val"] or rows["train"] & rows["test"] or rows["val"] & rows["test"])
    assert rows["train"] | rows["val"] | rows["test"] == set(range(300))
    assert data.summary.rows == 300
    share = lambda y: float(np.mean(y == data.classes.index("rare")))  # noqa: E731
    assert abs(share(data.y_test) - share(data.y_train)) < 0.03


def test_images_and_npz_get_a_test_split(repo, tmp_path):
    images = load_dataset({"source": "images", "path": str(repo / "samples" / "shapes"), "test_split": 0.2}, tmp_path)
    assert images.n_test > 0 and images.X_test.shape[1:] == images.input_shape
    assert np.bincount(images.y_test).min() > 0  # every class in the test split
    np.savez(tmp_path / "a.npz", X=np.arange(200, dtype=np.float32).reshape(100, 2), y=np.arange(100) * 0.5)
    arrays = load_dataset({"source": "npz", "path": "a.npz", "test_split": 0.1, "task": "regression"}, tmp_path)
    assert arrays.n_test == 10 and arrays.y_test.dtype == np.float32


def test_validation_and_test_together_are_bounded():
    with pytest.raises(ProjectError, match="data.test_split: together with validation_split"):
        validate_data({"source": "synthetic", "validation_split": 0.5, "test_split": 0.45})
    with pytest.raises(ProjectError, match="data.test_split: must be a number ≥ 0 and ≤ 0.5"):
        validate_data({"source": "synthetic", "test_split": 0.6})


def test_the_test_split_never_steers_training_and_is_scored_once(tmp_path):
    data = load_dataset({"source": "synthetic", "samples": 400, "test_split": 0.2}, tmp_path)
    stack = LayerStack(MLP)

    def train(dataset):
        model = build_model(stack, dataset.input_shape, dataset.output_width, seed=0)
        config = TrainConfig(device="cpu", epochs=6, learning_rate=0.02, early_stopping=EarlyStopping(patience=2))
        return model, Trainer(config).fit(model, dataset, stack=stack)

    model, summary = train(data)
    # Flipping every test label changes nothing about the run: the test split is only read at the end.
    flipped = Dataset(**{**data.__dict__, "y_test": 1 - data.y_test})
    _, other = train(flipped)
    assert [m.train_loss for m in summary.history] == [m.train_loss for m in other.history]
    assert summary.best_epoch == other.best_epoch
    assert set(summary.test) == {"test_loss", "test_accuracy", "test_auc"}
    report = evaluate_model(model, data, summary.output_transform, split="test")
    assert summary.test["test_accuracy"] == pytest.approx(report.accuracy)
    assert other.test["test_accuracy"] == pytest.approx(1 - report.accuracy)
    assert other.test["test_auc"] == pytest.approx(1 - summary.test["test_auc"])
    assert all("test" not in key for m in summary.history for key in m.values)


def test_the_run_summary_has_n_test_and_the_test_scores(tmp_path):
    project = new_project("split")
    project.data = validate_data({"source": "sample", "name": "iris", "test_split": 0.2})
    project.stack = LayerStack(MLP)
    project.training.update(epochs=3, device="cpu")
    session = prepare_session(project)
    summary = session.fit()
    folder = save_run(session, summary, tmp_path / "run")
    doc = json.loads((folder / "summary.json").read_text())
    assert doc["n_test"] == 30 and doc["n_train"] + doc["n_val"] + doc["n_test"] == 150
    assert 0 <= doc["test_accuracy"] <= 1 and doc["test_loss"] > 0
    assert "test" not in (folder / "metrics.csv").read_text()
