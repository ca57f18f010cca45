"""``netstudio train`` in a subprocess, per the command-line contract."""

import csv
import json

import numpy as np
import pytest

from tests.commands import netstudio

SUMMARY_KEYS = {"task", "classes", "n_train", "n_val", "epochs_run", "best_epoch", "val_loss",
                "samples_per_second", "device", "parameters"}


def write_project(folder, name="moons", data=None, layers=None, training=None):
    doc = {
        "format": "netstudio-project", "version": 1, "name": name,
        "data": data or {"source": "synthetic", "kind": "moons", "samples": 400, "noise": 0.1},
        "model": {"layers": layers or [{"type": "Linear", "params": {"out_features": 16}}, {"type": "ReLU"},
                                        {"type": "Linear", "params": {"out_features": "auto"}}]},
        "training": {"epochs": 3, "learning_rate": 0.01, **(training or {})},
    }
    path = folder / f"{name}.nsproj"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def read_metrics(folder):
    with open(folder / "metrics.csv", newline="") as handle:
        return list(csv.reader(handle))


def test_train_writes_the_run_folder_per_contract(tmp_path):
    project = write_project(tmp_path)
    result = netstudio("train", project, "--out", tmp_path / "run1")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 3 and "train_loss" in lines[0] and "val_loss" in lines[0] and "samples/s" in lines[0]
    run = tmp_path / "run1"
    for name in ("metrics.csv", "summary.json", "project.nsproj", "weights.safetensors", "preprocessing.json",
                 "model.pt2"):
        assert (run / name).is_file(), name
    assert not (run / "model.onnx").exists()  # only with --onnx
    rows = read_metrics(run)
    assert rows[0][:3] == ["epoch", "train_loss", "val_loss"]
    assert rows[0][3:] == ["val_accuracy", "val_auc", "learning_rate", "samples_per_second", "seconds"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"]
    summary = json.loads((run / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary) and "val_accuracy" in summary and 0 <= summary["val_auc"] <= 1
    assert summary["task"] == "binary" and summary["n_train"] + summary["n_val"] == 400
    assert summary["epochs_run"] == 3 and summary["device"] == "cpu" and summary["samples_per_second"] > 0
    used = json.loads((run / "project.nsproj").read_text())
    assert used["training"]["epochs"] == 3 and used["format"] == "netstudio-project"


def test_default_run_folder_is_beside_the_project(tmp_path):
    project = write_project(tmp_path, name="my model")
    result = netstudio("train", project, "--quiet", cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("my-model-")


def test_same_seed_same_first_three_columns(tmp_path):
    project = write_project(tmp_path)
    a = netstudio("train", project, "--seed", "5", "--epochs", "4", "--out", tmp_path / "a", "--quiet")
    b = netstudio("train", project, "--seed", "5", "--epochs", "4", "--out", tmp_path / "b", "--quiet")
    c = netstudio("train", project, "--seed", "6", "--epochs", "4", "--out", tmp_path / "c", "--quiet")
    assert a.returncode == b.returncode == c.returncode == 0
    first3 = lambda d: [r[:3] for r in read_metrics(d)]  # noqa: E731
    assert first3(tmp_path / "a") == first3(tmp_path / "b")
    assert first3(tmp_path / "a") != first3(tmp_path / "c")


def test_regression_summary_has_r2_and_mae(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5, 3.0]) * 100 + 1000).astype(np.float32)
    np.savez(tmp_path / "reg.npz", X=X, y=y)
    project = write_project(tmp_path, "reg", data={"source": "npz", "path": "reg.npz", "task": "regression"},
                            training={"epochs": 40, "learning_rate": 0.01})
    result = netstudio("train", project, "--out", tmp_path / "r", "--quiet")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["task"] == "regression" and summary["classes"] is None
    assert summary["val_r2"] > 0.9
    assert 0 < summary["val_mae"] < 200  # in the target's units (hundreds), not standardised ones
    assert read_metrics(tmp_path / "r")[0][3:5] == ["val_r2", "val_mae"]


def test_existing_out_folder_is_never_overwritten(tmp_path):
    project = write_project(tmp_path)
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    result = netstudio("train", project, "--out", out)
    assert result.returncode == 2
    assert result.stderr.startswith("netstudio: error: ") and "not empty" in result.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and (out / "keep.txt").read_text() == "precious"


def test_unavailable_device_exits_2_listing_devices(tmp_path):
    result = netstudio("train", write_project(tmp_path), "--device", "cuda:3")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "cuda:3 is not available" in result.stderr and "available: cpu" in result.stderr


def test_diverging_run_exits_1_and_still_saves_the_run(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)).astype(np.float32) * 100
    np.savez(tmp_path / "big.npz", X=X, y=(X.sum(axis=1) * 1000).astype(np.float32))
    project = write_project(tmp_path, "div", data={"source": "npz", "path": "big.npz", "task": "regression",
                                                   "normalize": False},
                            training={"optimizer": "sgd", "learning_rate": 5.0, "epochs": 20})
    result = netstudio("train", project, "--out", tmp_path / "d")
    assert result.returncode == 1, result.stderr
    assert "netstudio: error: training diverged at epoch" in result.stderr and "lower the learning rate" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads((tmp_path / "d" / "summary.json").read_text())["status"] == "diverged"


def test_design_that_does_not_fit_the_data_exits_2(tmp_path):
    project = write_project(tmp_path, "bad", layers=[{"type": "Conv2d", "params": {}}])
    result = netstudio("train", project)
    assert result.returncode == 2
    assert "the model does not fit the data: layer 1 (Conv2d)" in result.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args, needle", [
    (["--epochs", "0"], "is not a positive integer"),
    (["--seed", "-1"], "non-negative"),
    (["--device", "tpu"], "training.device"),
])
def test_bad_options_exit_2_with_one_line(tmp_path, args, needle):
    result = netstudio("train", write_project(tmp_path), *args)
    assert result.returncode == 2 and needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_data_override_trains_on_another_file(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 5)).astype(np.float32)
    np.savez(tmp_path / "other.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    result = netstudio("train", write_project(tmp_path), "--data", tmp_path / "other.npz", "--out", tmp_path / "o", "--quiet")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["input_shape"] == [5]


def test_missing_data_file_exits_2(tmp_path):
    project = write_project(tmp_path, "nodata", data={"source": "csv", "path": "missing.csv"})
    result = netstudio("train", project)
    assert result.returncode == 2 and "missing.csv" in result.stderr
