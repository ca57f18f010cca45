"""load_dataset for synthetic sets and .npz files; the split; the shared entry points."""

import numpy as np
import pytest

from netstudio.core.data.common import LoadCancelled, split_indices
from netstudio.core.data.load import SAMPLES, describe_data, load_dataset, load_project_dataset
from netstudio.core.data.synthetic import KINDS, make_synthetic
from netstudio.core.errors import DataError
from netstudio.core.project import new_project


def synthetic(kind="moons", **extra):
    return {"source": "synthetic", "kind": kind, "samples": 300, "noise": 0.1, "seed": 0,
            "validation_split": 0.2, "normalize": True, "task": "auto", **extra}


@pytest.mark.parametrize("kind", KINDS)
def test_synthetic_sets_are_deterministic_2d_and_standardised(kind, tmp_path):
    first = load_dataset(synthetic(kind), tmp_path)
    again = load_dataset(synthetic(kind), tmp_path)
    assert first.X_train.shape == (240, 2) and first.X_val.shape == (60, 2)
    assert first.X_train.dtype == np.float32 and first.y_train.dtype == np.int64
    assert first.task == "binary" and first.classes == ["0", "1"] and first.output_width == 1
    np.testing.assert_array_equal(first.X_train, again.X_train)
    np.testing.assert_allclose(first.X_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(first.X_train.std(axis=0), 1, atol=1e-4)
    other = load_dataset(synthetic(kind, seed=1), tmp_path)
    assert not np.array_equal(first.X_train, other.X_train)


def test_synthetic_shapes_are_what_their_names_say():
    X, y = make_synthetic("circles", 1000, 0.0, 0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius[y == 0].max() <= 0.5 < 0.7 <= radius[y == 1].min()
    X, y = make_synthetic("xor", 1000, 0.0, 0)
    assert np.all((np.sign(X[:, 0]) == np.sign(X[:, 1])) == (y == 0))
    X, y = make_synthetic("gaussians", 900, 0.0, 0, classes=3)
    assert sorted(np.bincount(y)) == [300, 300, 300]


def test_synthetic_multiclass_spiral(tmp_path):
    data = load_dataset(synthetic("spiral", classes=3), tmp_path)
    assert data.task == "multiclass" and data.classes == ["0", "1", "2"] and data.output_width == 3
    assert describe_data(synthetic("spiral", classes=3), tmp_path) == ((2,), 3, "multiclass", ["0", "1", "2"])


def test_split_is_stratified_and_seeded():
    labels = np.array([0] * 900 + [1] * 100)
    train, val = split_indices(len(labels), labels, 0.2, seed=3)
    assert len(val) == 200 and len(train) == 800 and not set(train) & set(val)
    assert np.bincount(labels[val]).tolist() == [180, 20]
    assert np.bincount(labels[train]).tolist() == [720, 80]
    same = split_indices(len(labels), labels, 0.2, seed=3)
    other = split_indices(len(labels), labels, 0.2, seed=4)
    assert np.array_equal(val, same[1]) and not np.array_equal(val, other[1])


def test_split_keeps_a_training_row_per_class_and_zero_fraction_means_no_validation():
    labels = np.array([0, 0, 0, 0, 1])
    train, val = split_indices(5, labels, 0.5, seed=0)
    assert 4 in train
    train, val = split_indices(5, labels, 0.0, seed=0)
    assert len(train) == 5 and len(val) == 0


def test_zero_validation_split_gives_an_empty_validation_set(tmp_path):
    data = load_dataset(synthetic(validation_split=0.0), tmp_path)
    assert data.n_train == 300 and data.X_val.shape == (0, 2) and data.y_val.shape == (0,)


def test_npz_classification_images_per_channel(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((60, 3, 4, 4)).astype(np.float32) * np.array([1, 10, 100], dtype=np.float32)[:, None, None]
    y = np.repeat([2, 5, 7], 20)
    np.savez(tmp_path / "imgs.npz", X=X, y=y)
    data = load_dataset({"source": "npz", "path": "imgs.npz", "validation_split": 0.25, "seed": 0}, tmp_path)
    assert data.input_shape == (3, 4, 4) and data.classes == ["2", "5", "7"] and data.task == "multiclass"
    np.testing.assert_allclose(data.X_train.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(data.X_train.std(axis=(0, 2, 3)), 1, atol=1e-3)
    assert np.bincount(data.y_val).tolist() == [5, 5, 5]
    assert describe_data({"source": "npz", "path": "imgs.npz"}, tmp_path) == ((3, 4, 4), 3, "multiclass", ["2", "5", "7"])


def test_npz_regression_with_missing_values(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(5, 2, (100, 3))
    X[0, 1] = np.nan
    X[1, 2] = np.inf
    y = X[:, 0] * 3.5 + 100.0 + rng.normal(0, 1, 100)
    y[2] = np.nan
    np.savez(tmp_path / "reg.npz", X=X, y=y)
    data = load_dataset({"source": "npz", "path": "reg.npz", "validation_split": 0.2, "seed": 0}, tmp_path)
    assert data.task == "regression" and data.classes is None and data.output_width == 1
    assert data.summary.dropped_rows == 1 and data.summary.rows == 99 and data.summary.missing_values == 2
    assert np.isfinite(data.X_train).all() and np.isfinite(data.X_val).all()
    assert data.y_train.dtype == np.float32
    assert abs(float(data.y_train.mean())) < 1e-5 and abs(float(data.y_train.std()) - 1) < 1e-4
    restored = data.y_train * data.target_std + data.target_mean
    assert 80 < restored.mean() < 140


@pytest.mark.parametrize("make, needle", [
    (lambda p: None, "no such file"),
    (lambda p: p.write_bytes(b"not a zip at all"), "not a NumPy .npz file"),
    (lambda p: np.savez(p, features=np.zeros((3, 2)), y=np.zeros(3)), "no array X (found: features, y)"),
    (lambda p: np.savez(p, X=np.zeros((3, 2)), y=np.zeros(4)), "X has 3 rows but y has 4"),
    (lambda p: np.savez(p, X=np.zeros((4, 2)), y=np.array([1, 1, 1, 1])), "single class"),
    (lambda p: np.savez(p, X=np.zeros((4, 2)), y=np.array(["a", "b", "a", "b"])), None),
])
def test_npz_bad_input_is_one_line(tmp_path, make, needle):
    path = tmp_path / "data.npz"
    make(path)
    config = {"source": "npz", "path": "data.npz", "validation_split": 0.25, "seed": 0}
    if needle is None:  # text labels are fine
        assert load_dataset(config, tmp_path).classes == ["a", "b"]
        return
    with pytest.raises(DataError) as info:
        load_dataset(config, tmp_path)
    message = str(info.value)
    assert needle in message and "\n" not in message and "data.npz" in message


def test_npz_regression_on_text_is_refused(tmp_path):
    np.savez(tmp_path / "t.npz", X=np.zeros((4, 2)), y=np.array(["a", "b", "a", "b"]))
    with pytest.raises(DataError, match="regression needs numbers"):
        load_dataset({"source": "npz", "path": "t.npz", "task": "regression"}, tmp_path)


def test_cancel_stops_a_load(tmp_path):
    with pytest.raises(LoadCancelled, match="cancelled"):
        load_dataset(synthetic(), tmp_path, cancel=lambda: True)
    assert issubclass(LoadCancelled, DataError)


def test_project_without_data_is_a_data_error():
    with pytest.raises(DataError, match="no data"):
        load_project_dataset(new_project())


def test_project_dataset_uses_the_project_folder(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.arange(40.0).reshape(20, 2), y=np.arange(20) % 2)
    project = new_project()
    project.data = {"source": "npz", "path": "d.npz", "validation_split": 0.2, "seed": 0}
    project.path = tmp_path / "p.nsproj"
    assert load_project_dataset(project).n_train == 16


def test_unknown_sample_lists_the_bundled_ones(tmp_path):
    with pytest.raises(DataError, match="available: " + ", ".join(sorted(SAMPLES))):
        load_dataset({"source": "sample", "name": "nope"}, tmp_path)


def test_loading_data_does_not_import_torch(tmp_path):
    import subprocess
    import sys

    code = ("import sys, pathlib\n"
            "from netstudio.core.data.load import load_dataset, describe_data\n"
            "d = load_dataset({'source': 'sample', 'name': 'house-prices'}, pathlib.Path('.'))\n"
            "describe_data({'source': 'sample', 'name': 'shapes'}, pathlib.Path('.'))\n"
            "d.preprocessor.transform_frame(__import__('pandas').DataFrame({c.name: [1] for c in d.preprocessor.columns}))\n"
            "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
