"""Time series end to end: ``netstudio train`` with an LSTM and a Conv1d design, exported models on
raw ``[N, window, features]`` windows, and ``predict`` giving one forecast per complete window."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from tests.core.test_export_support import (
    close,
    netstudio,
    one_line_error,
    reference_outputs,
    train_run,
)

pytestmark = pytest.mark.xdist_group("test_series_cli")

WINDOW = 8
LSTM = [{"type": "LSTM", "params": {"hidden_size": 8}}, {"type": "Linear", "params": {"out_features": "auto"}}]
CONV1D = [{"type": "Permute", "params": {"dims": [0, 2, 1]}},
          {"type": "Conv1d", "params": {"out_channels": 4, "kernel_size": 3, "padding": 1}}, {"type": "ReLU"},
          {"type": "AdaptiveAvgPool1d", "params": {"output_size": 1}}, {"type": "Flatten"},
          {"type": "Linear", "params": {"out_features": "auto"}}]


def write_series(path, rows: int = 160, shuffle: bool = False):
    """A daily seasonal series in the hundreds (so standardised and raw units differ) and a covariate."""
    t = np.arange(rows)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"date": pd.date_range("2023-03-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
                          "sales": np.round(500 + 80 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 5, rows), 2),
                          "promo": (t % 5 == 0).astype(int)})
    if shuffle:
        frame = frame.sample(frac=1.0, random_state=3)
    frame.to_csv(path, index=False)
    return path


def _data(path):
    return {"source": "csv", "path": str(path), "validation_split": 0.25,
            "sequence": {"target": "sales", "window": WINDOW, "order_by": "date"}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("series")
    data = write_series(folder / "sales.csv")
    return {"folder": folder, "data": data,
            "lstm": train_run(folder, "lstm", _data(data), LSTM, onnx=True),
            "conv1d": train_run(folder, "conv1d", _data(data), CONV1D)}


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_both_designs_train_on_windows_with_a_time_ordered_split(runs):
    for name in ("lstm", "conv1d"):
        summary = json.loads((runs[name] / "summary.json").read_text())
        assert summary["task"] == "regression"
        assert summary["n_train"] == 120 - WINDOW and summary["n_val"] == 40 - WINDOW
        assert np.isfinite(summary["val_r2"])
        meta = json.loads((runs[name] / "metadata.json").read_text())
        assert meta["input_shape"] == [WINDOW, 2]
        assert meta["preprocessing"]["sequence"]["order_by"] == "date"


def test_exported_models_take_raw_windows_and_forecast_in_the_targets_units(runs):
    from netstudio.core.data.load import load_dataset
    from netstudio.core.data.series import series_windows
    from netstudio.core.runs.folder import load_run

    frame = pd.read_csv(runs["data"])
    for name in ("lstm", "conv1d"):
        run = load_run(runs[name])
        raw, _, _ = series_windows(run.preprocessor(), frame)
        import torch

        module = torch.export.load(str(runs[name] / "model.pt2")).module()
        with torch.no_grad():
            exported = module(torch.from_numpy(raw)).numpy()
        close(exported, reference_outputs(runs[name], raw))
        # the validation windows as training prepared them, through the trained network, in units
        dataset = load_dataset(_data(runs["data"]), runs["folder"])
        val_starts = dataset.series.starts[1]
        with torch.no_grad():
            net = run.load_model()(torch.from_numpy(dataset.X_val)).numpy()
        close(exported[val_starts], run.preprocessor().inverse_target(net).astype(np.float32))
        assert 300 < float(np.median(exported)) < 700  # sales units, not standardised ones


def test_predict_gives_one_forecast_per_complete_window(runs, tmp_path):
    shuffled = write_series(tmp_path / "shuffled.csv", shuffle=True)  # predict sorts by date as training did
    for model in (runs["lstm"] / "model.pt2", runs["lstm"] / "model.onnx", runs["conv1d"] / "model.pt2"):
        result = netstudio("predict", model, shuffled)
        assert result.returncode == 0, result.stderr
        rows = _rows(result.stdout)
        assert rows[0] == ["prediction", "window_end", "forecast_row"]
        assert len(rows) - 1 == 160 - WINDOW + 1
        assert rows[1][1:] == ["2023-03-08", str(WINDOW + 1)]
        assert rows[-1][1:] == ["2023-08-07", "161"]  # the newest window forecasts the day after the data
    from netstudio.core.data.series import series_windows
    from netstudio.core.runs.folder import load_run

    raw, _, _ = series_windows(load_run(runs["lstm"]).preprocessor(), pd.read_csv(runs["data"]))
    values = np.array([[float(r[0])] for r in rows[1:]], dtype=np.float32)
    close(values, reference_outputs(runs["conv1d"], raw))


def test_predict_on_too_few_rows_is_one_line(runs, tmp_path):
    short = tmp_path / "short.csv"
    write_series(short, rows=WINDOW - 1)
    one_line_error(netstudio("predict", runs["lstm"] / "model.pt2", short), "fewer than one window")


def test_netstudio_train_on_a_series_project(runs, tmp_path):
    project = tmp_path / "series.nsproj"
    project.write_text(json.dumps({
        "format": "netstudio-project", "version": 2, "name": "series",
        "data": {**_data(runs["data"]), "test_split": 0.1}, "model": {"layers": CONV1D},
        "training": {"epochs": 2, "batch_size": 16}}))
    result = netstudio("train", project, "--out", tmp_path / "run", "--quiet")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    # 160 rows: training 1-104, validation 105-144, test 145-160 (the last rows)
    assert (summary["n_train"], summary["n_val"], summary["n_test"]) == (104 - WINDOW, 40 - WINDOW, 16 - WINDOW)
    assert "test_r2" in summary


def test_the_python_export_retrains_the_series_as_netstudio_did(runs, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "python"
    result = netstudio("export", runs["conv1d"], "--format", "python", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "SEQUENCE = " in (out / "model.py").read_text()
    trained = subprocess.run([sys.executable, "train.py", "--epochs", "1", "--out", "again.safetensors"], cwd=out,
                             capture_output=True, text=True, timeout=300)
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert f"{120 - WINDOW} training and {40 - WINDOW} validation samples" in trained.stdout
    line = next(x for x in trained.stdout.splitlines() if x.startswith("epoch 1/1"))
    first = (runs["conv1d"] / "metrics.csv").read_text().splitlines()[1].split(",")
    words = line.split()
    assert float(words[words.index("train_loss") + 1]) == pytest.approx(float(first[1]), rel=1e-4)
    assert float(words[words.index("val_loss") + 1]) == pytest.approx(float(first[2]), rel=1e-4)
