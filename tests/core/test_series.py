"""Time series (data.sequence): windows at the edges, a time-ordered split, training-only statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from netstudio.core.config import validate_data
from netstudio.core.data.load import load_dataset
from netstudio.core.data.series import series_windows
from netstudio.core.errors import DataError, ProjectError


def _write(tmp_path, n=60, shuffle=False, name="s.csv"):
    """A series whose value at row i is i (so a window shows which rows it holds) and a sine."""
    t = np.arange(n)
    frame = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                          "value": t.astype(float), "wave": np.sin(t / 3.0) * 5 + 20})
    if shuffle:
        frame = frame.sample(frac=1.0, random_state=1)
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _load(path, **sequence):
    extra = {k: sequence.pop(k) for k in ("validation_split", "test_split", "normalize") if k in sequence}
    config = {"source": "csv", "path": str(path), "sequence": {"target": "value", **sequence}, **extra}
    return load_dataset(config, path.parent)


def _rows(dataset, X):
    """The row numbers a split's windows hold: the raw 'value' feature, unstandardised."""
    pre = dataset.preprocessor
    j = dataset.feature_names.index("value")
    return X[:, :, j] * pre.std.reshape(-1)[j] + pre.mean.reshape(-1)[j]


def test_the_first_window_ends_at_row_window_and_forecasts_horizon_rows_ahead(tmp_path):
    path = _write(tmp_path)
    ds = _load(path, window=7, horizon=3, order_by="day", validation_split=0.2)
    assert ds.input_shape == (7, 2)
    assert ds.feature_names == ["value", "wave"]  # the target's own past is a feature
    np.testing.assert_allclose(_rows(ds, ds.X_train)[0], np.arange(7), atol=1e-4)
    # the target of the first window is row 7 - 1 + 3 = 9, in the target's own units
    assert ds.preprocessor.inverse_target(ds.y_train[:1])[0] == pytest.approx(9.0, abs=1e-4)
    rows = _rows(ds, ds.X_train)
    targets = ds.preprocessor.inverse_target(ds.y_train)
    np.testing.assert_allclose(targets, rows[:, -1] + 3, atol=1e-3)


def test_no_training_window_touches_validation_rows_and_test_rows_are_the_last(tmp_path):
    path = _write(tmp_path, n=100)
    ds = _load(path, window=5, horizon=2, order_by="day", validation_split=0.2, test_split=0.1)
    train_end, val_end, n = ds.series.bounds
    assert (train_end, val_end, n) == (70, 90, 100)
    train_rows, val_rows, test_rows = (_rows(ds, X) for X in (ds.X_train, ds.X_val, ds.X_test))
    train_targets, val_targets, test_targets = (ds.preprocessor.inverse_target(y)
                                                for y in (ds.y_train, ds.y_val, ds.y_test))
    assert train_rows.max() < train_end - 0.5 and train_targets.max() < train_end - 0.5
    assert val_rows.min() > train_end - 0.5 and val_targets.max() < val_end - 0.5
    assert test_rows.min() > val_end - 0.5
    # the test split is the last rows: its last window forecasts the last row
    assert test_targets.max() == pytest.approx(n - 1, abs=1e-3)
    assert ds.n_train == 70 - 5 - 2 + 1 and ds.n_val == 20 - 5 - 2 + 1 and ds.n_test == 10 - 5 - 2 + 1
    # the layout says the same rows
    np.testing.assert_array_equal(ds.series.target_rows(1), np.round(val_targets).astype(int))


def test_rows_are_sorted_by_date_and_statistics_come_from_the_training_period_only(tmp_path):
    path = _write(tmp_path, n=80, shuffle=True)
    ds = _load(path, window=4, order_by="day", validation_split=0.25)
    np.testing.assert_allclose(_rows(ds, ds.X_train)[0], np.arange(4), atol=1e-4)
    pre = ds.preprocessor
    j = ds.feature_names.index("value")
    training_rows = np.arange(60, dtype=np.float64)  # rows 1-60 are the training period
    assert pre.mean.reshape(-1)[j] == pytest.approx(training_rows.mean(), rel=1e-5)
    assert pre.std.reshape(-1)[j] == pytest.approx(training_rows.std(), rel=1e-4)
    assert pre.target_mean == pytest.approx(np.arange(4, 60).mean(), rel=1e-5)  # training targets only
    assert pre.to_json()["sequence"]["order_kind"] == "date"


def test_predict_windows_are_every_complete_window_in_time_order(tmp_path):
    path = _write(tmp_path, n=30)
    ds = _load(path, window=6, horizon=2, order_by="day", validation_split=0.0)
    shuffled = pd.read_csv(_write(tmp_path, n=30, shuffle=True, name="new.csv"))
    raw, ends, forecast_rows = series_windows(ds.preprocessor, shuffled, "new.csv")
    assert raw.shape == (25, 6, 2)
    np.testing.assert_allclose(raw[0, :, 0], np.arange(6))
    assert ends[0] == "2024-01-06" and forecast_rows[0] == 8 and forecast_rows[-1] == 32


def test_numeric_order_and_file_order(tmp_path):
    frame = pd.DataFrame({"step": [3, 1, 2, 5, 4, 6, 8, 7, 9, 10], "value": [3, 1, 2, 5, 4, 6, 8, 7, 9, 10.0]})
    frame.to_csv(tmp_path / "n.csv", index=False)
    ds = _load(tmp_path / "n.csv", window=2, order_by="step", validation_split=0.0, normalize=False)
    np.testing.assert_allclose(ds.X_train[:, :, 0], [[1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7], [7, 8], [8, 9]])
    assert ds.feature_names == ["value"]  # the order column is not a feature
    plain = _load(tmp_path / "n.csv", window=2, validation_split=0.0, normalize=False)
    np.testing.assert_allclose(plain.X_train[0, :, 1], [3, 1])  # file order; step is a feature then
    frame["noise"] = np.arange(10.0) * 7
    frame.to_csv(tmp_path / "n.csv", index=False)
    config = {"source": "csv", "path": str(tmp_path / "n.csv"), "validation_split": 0.0, "exclude": ["noise"],
              "sequence": {"target": "value", "window": 2, "order_by": "step"}}
    assert load_dataset(config, tmp_path).feature_names == ["value"]  # data.exclude leaves a column out


@pytest.mark.parametrize("change, message", [
    ({"window": 500}, "make no window"),
    ({"target": "nope"}, "not found"),
    ({"target": "label"}, "must hold numbers"),
    ({"features": ["label"]}, "is not numeric"),
    ({"order_by": "label"}, "neither numbers nor dates"),
])
def test_bad_series_settings_are_one_line_errors(tmp_path, change, message):
    frame = pd.DataFrame({"t": range(40), "value": np.arange(40.0), "label": ["a", "b"] * 20})
    frame.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match=message) as caught:
        _load(tmp_path / "b.csv", **{"window": 4, **change})
    assert "\n" not in str(caught.value)


def test_repeated_times_and_a_validation_period_shorter_than_a_window_are_refused(tmp_path):
    frame = pd.DataFrame({"t": [1, 2, 2, 3] * 5, "value": np.arange(20.0)})
    frame.to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(DataError, match="one row per time"):
        _load(tmp_path / "r.csv", window=2, order_by="t")
    with pytest.raises(DataError, match="validation period"):
        _load(_write(tmp_path, n=40), window=10, validation_split=0.2)


def test_the_sequence_section_is_checked_and_may_be_null():
    assert validate_data({"source": "csv", "path": "a.csv", "sequence": None})["sequence"] is None
    checked = validate_data({"source": "csv", "path": "a.csv", "sequence": {"target": "y"}})["sequence"]
    assert checked["window"] == 24 and checked["horizon"] == 1
    with pytest.raises(ProjectError, match="data.sequence.target"):
        validate_data({"source": "csv", "path": "a.csv", "sequence": {"window": 3}})
    with pytest.raises(ProjectError, match="data.sequence.window"):
        validate_data({"source": "csv", "path": "a.csv", "sequence": {"target": "y", "window": 0}})


def test_the_energy_load_sample_regenerates_byte_for_byte(tmp_path):
    import importlib.util
    from pathlib import Path

    samples = Path(__file__).resolve().parents[2] / "samples"
    spec = importlib.util.spec_from_file_location("make_samples", samples / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.energy_load(tmp_path / "energy-load.csv")
    assert (tmp_path / "energy-load.csv").read_bytes() == (samples / "energy-load.csv").read_bytes()


@pytest.mark.parametrize("key", ["lstm-forecaster", "cnn1d-forecaster"])
def test_the_forecaster_templates_fit_the_bundled_series_and_train(key, tmp_path):
    import json

    from netstudio.core.design.templates import get_template
    from netstudio.core.project import load_project
    from netstudio.core.training.session import prepare_session

    template = get_template(key)
    ds = load_dataset({"source": "sample", "name": "energy-load", "test_split": 0.1}, tmp_path)
    assert ds.input_shape == template.input_shape == (24, 2) and ds.task == "regression"
    assert ds.series.bounds == (705, 907, 1008) and ds.n_test == 101 - 24
    doc = {"format": "netstudio-project", "version": 2, "name": key,
           "data": {"source": "sample", "name": "energy-load"},
           "model": {"layers": list(template.layers)}, "training": {**template.training, "epochs": 2}}
    (tmp_path / "p.nsproj").write_text(json.dumps(doc))
    session = prepare_session(load_project(tmp_path / "p.nsproj"))
    summary = session.fit()
    assert summary.ok, summary.message


def test_times_with_offsets_and_mixed_formats_order_by_the_instant():
    from netstudio.core.data.series import date_keys

    keys = date_keys(pd.Series(["2024-01-01T02:00+02:00", "2024-01-01T00:30+00:00", "2024-01-01 01:00"]))
    assert list(np.argsort(keys)) == [0, 1, 2]  # 00:00 UTC, 00:30 UTC, 01:00 (no offset: read as UTC)
    mixed = date_keys(pd.Series(["2024-01-02", "3 January 2024", "", "not a date"]))
    assert mixed[0] < mixed[1] and np.isnan(mixed[2:]).all()


def test_predict_data_without_the_order_column_is_a_one_line_error(tmp_path):
    ds = _load(_write(tmp_path), window=5, order_by="day")
    frame = pd.read_csv(tmp_path / "s.csv").drop(columns=["day"])
    with pytest.raises(DataError, match="order column 'day' not found") as caught:
        series_windows(ds.preprocessor, frame, "new.csv")
    assert "\n" not in str(caught.value)
