"""The fitted Preprocessor: JSON round trip, raw-row transform, and the torch module's equivalence."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from netstudio.core.data.columns import Column
from netstudio.core.data.preprocess import Preprocessor
from netstudio.core.errors import DataError


def fitted_tabular():
    columns = [Column("age"), Column("smoker", "bool"), Column("city", "categorical", ["Oslo", "Rome"]),
               Column("income")]
    pre = Preprocessor("tabular", (5,), "regression", None, columns=columns, stat_shape=(5,),
                       target={"column": "price"}, number_format={"decimal": ",", "thousands": "."})
    train = pd.DataFrame({"age": [30, 40, np.nan, 50], "smoker": ["yes", "no", "no", None],
                          "city": ["Oslo", "Rome", "Rome", "Paris"], "income": ["1.000,5", "2.000", "", "3.500,25"]})
    pre.fit_stats(pre.encode_frame(train))
    return pre


RAW = pd.DataFrame({"income": ["4.000", None, "1,5"], "city": [" Rome", "Oslo", "Tokyo"],
                    "age": [np.nan, 20.0, np.inf], "smoker": ["YES", "no", "maybe"], "price": [1, 2, 3]})


def test_encode_frame_orders_parses_and_one_hot_encodes():
    pre = fitted_tabular()
    assert pre.feature_names == ["age", "smoker", "city=Oslo", "city=Rome", "income"]
    encoded = pre.encode_frame(RAW)
    expected = np.array([[np.nan, 1, 0, 1, 4000], [20, 0, 1, 0, np.nan], [np.inf, np.nan, 0, 0, 1.5]], dtype=np.float32)
    np.testing.assert_array_equal(encoded, expected)


@pytest.mark.parametrize("rows", [None, np.array([4, 0, 2, 2, 6, 1, 3])])
def test_encoding_in_blocks_of_rows_equals_encoding_row_by_row(monkeypatch, rows):
    from netstudio.core.data import preprocess

    pre = fitted_tabular()
    frame = pd.concat([RAW, RAW.iloc[::-1], RAW.iloc[:1]], ignore_index=True)  # 7 rows
    frame["age"] = frame["age"].astype(np.float32)  # a float32 column is gathered without a copy
    whole = np.concatenate([pre.encode_frame(frame.iloc[[i]]) for i in range(len(frame))])
    monkeypatch.setattr(preprocess, "ENCODE_BLOCK_VALUES", 2 * len(pre.feature_names))  # blocks of 2 rows
    encoded = pre.encode_frame(frame, rows)
    np.testing.assert_array_equal(encoded, whole if rows is None else whole[rows])
    assert encoded.flags.c_contiguous and encoded.dtype == np.float32


def messy_frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, list[Column]]:
    """Every kind of column the fused path must get right: far from zero, missing, beyond float32,
    infinite, constant, all missing, text numbers, yes/no, categories."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "small": rng.normal(size=n).astype(np.float32),
        "far": 1e6 + rng.normal(size=n),
        "holes": np.where(rng.random(n) < 0.3, np.nan, rng.normal(5, 2, n)).astype(np.float32),
        "huge": np.where(rng.random(n) < 0.05, 1e300, rng.normal(size=n)),
        "inf": np.where(rng.random(n) < 0.05, np.inf, rng.normal(size=n)).astype(np.float32),
        "const": np.full(n, 3.0, np.float32),
        "text": [f"{i % 13},5" if i % 7 else "x" for i in range(n)],
        "yes": rng.choice(np.array(["yes", "no", None], dtype=object), n),
        "city": rng.choice(np.array(["Oslo", "Rome", "Paris", None], dtype=object), n),
        "empty": np.full(n, np.nan, np.float32),
    })
    columns = [Column("small"), Column("far"), Column("holes"), Column("huge"), Column("inf"), Column("const"),
               Column("text"), Column("yes", "bool"), Column("city", "categorical", ["Oslo", "Rome"]), Column("empty")]
    return frame, columns


@pytest.mark.parametrize("n, every_row", [(1, True), (7, False), (50_000, False), (50_000, True)])
def test_fused_fit_transform_equals_encode_fit_transform(monkeypatch, n, every_row):
    from netstudio.core.data import preprocess

    monkeypatch.setattr(preprocess, "ENCODE_BLOCK_VALUES", 1 << 16)  # several blocks, in parallel
    frame, columns = messy_frame(n)

    def fresh():
        return Preprocessor("tabular", (11,), "regression", columns=[Column(c.name, c.kind, list(c.categories))
                                                                    for c in columns],
                            stat_shape=(11,), number_format={"decimal": ",", "thousands": None})

    rng = np.random.default_rng(1)
    val = np.zeros(0, np.int64) if every_row else np.sort(rng.permutation(n)[:max(1, n // 5)])
    train = np.setdiff1d(np.arange(n), val)
    step = fresh()
    raw_train, raw_val = step.encode_frame(frame, train), step.encode_frame(frame, val)
    imputed = step.fit_stats(raw_train) + int((~np.isfinite(raw_val)).sum())
    X_train, X_val = step.transform_array(raw_train), step.transform_array(raw_val)

    fused = fresh()
    got_train, got_val, got_imputed = fused.fit_transform_frame(frame, None if every_row else train, val)
    assert got_imputed == imputed > 0
    # the statistics agree to float rounding (the sums run in another order from another shift)
    np.testing.assert_allclose(fused.mean, step.mean, rtol=1e-6, atol=1e-7 * step.std.max())
    np.testing.assert_allclose(fused.std, step.std, rtol=1e-6)
    np.testing.assert_allclose(fused.fill, step.fill, rtol=1e-6, atol=1e-7 * step.std.max())
    assert fused.mean[1] == pytest.approx(1e6, rel=1e-6) and 0.9 < fused.std[1] < 1.1 or n < 10
    assert fused.std[5] == 1.0 and fused.std[10] == 1.0  # constant, all missing
    np.testing.assert_allclose(got_train, X_train, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got_val, X_val, rtol=1e-4, atol=1e-4)
    assert got_train.shape == (len(train), 11) and got_val.shape == (len(val), 11)
    assert np.isfinite(got_train).all() and np.isfinite(got_val).all()
    # with the same statistics, transform_frame is bit for bit the two-step transform
    np.testing.assert_array_equal(fused.transform_frame(frame),
                                  fused.transform_array(fused.encode_frame(frame), inplace=True))


@pytest.mark.parametrize("fused", [False, True])
def test_a_column_far_from_zero_that_starts_missing_keeps_its_spread(fused):
    # timestamps recorded only part way through a file: the first rows hold no value to centre on
    rng = np.random.default_rng(0)
    n = 60_000
    stamps = 1.6e9 + rng.normal(0, 1e4, n)
    stamps[:5000] = np.nan
    frame = pd.DataFrame({"time": stamps, "x": rng.normal(size=n)})
    pre = Preprocessor("tabular", (2,), "regression", columns=[Column("time"), Column("x")], stat_shape=(2,))
    if fused:
        pre.fit_transform_frame(frame, None, np.zeros(0, np.int64))
    else:
        pre.fit_stats(pre.encode_frame(frame))
    exact = stamps.astype(np.float32).astype(np.float64)
    assert pre.std[0] == pytest.approx(np.nanstd(exact), rel=1e-5)
    assert pre.mean[0] == pytest.approx(np.nanmean(exact), rel=1e-7)


def test_fused_fit_transform_with_one_statistic_for_all_columns_and_a_check_between_splits():
    frame, columns = messy_frame(500)
    pre = Preprocessor("tabular", (11,), "regression", columns=columns, stat_shape=(1,),
                       number_format={"decimal": ",", "thousands": None})
    calls = []
    X_train, X_val, imputed = pre.fit_transform_frame(frame, np.arange(400), np.arange(400, 500),
                                                      check=lambda: calls.append(1))
    assert calls == [1] and pre.mean.shape == (1,) and imputed > 0
    assert X_train.shape == (400, 11) and X_val.shape == (100, 11) and np.isfinite(X_train).all()


def test_fit_uses_finite_values_only_and_imputes_with_the_training_mean():
    pre = fitted_tabular()
    np.testing.assert_allclose(pre.fill[[0, 1, 4]], [40.0, 1 / 3, (1000.5 + 2000 + 3500.25) / 3], rtol=1e-6)
    out = pre.transform_frame(RAW)
    assert np.isfinite(out).all()
    assert out[0, 0] == pytest.approx(0.0, abs=1e-6)  # the training mean standardises to 0
    assert out[2, 0] == out[0, 0]  # inf is missing too


def test_json_round_trip_gives_an_identical_transform():
    pre = fitted_tabular()
    text = json.dumps(pre.to_json(), allow_nan=False)
    again = Preprocessor.from_json(json.loads(text))
    np.testing.assert_array_equal(again.transform_frame(RAW), pre.transform_frame(RAW))
    assert again.to_json() == pre.to_json()
    assert Preprocessor.from_json(pre.to_text()).feature_names == pre.feature_names


def test_as_module_of_encoded_rows_equals_transform_frame():
    pre = fitted_tabular()
    encoded = pre.encode_frame(RAW)
    assert np.isnan(encoded).any()
    module = pre.as_module()
    with torch.no_grad():
        out = module(torch.from_numpy(encoded)).numpy()
    np.testing.assert_allclose(out, pre.transform_frame(RAW), rtol=0, atol=1e-6)


def test_image_module_takes_raw_pixels():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (20, 3, 5, 5)).astype(np.float32)
    pre = Preprocessor("images", (3, 5, 5), "binary", ["a", "b"], stat_shape=(3, 1, 1), divide_by=255.0,
                       image={"size": [5, 5], "color": "rgb"})
    pre.fit_stats(pixels)
    expected = pre.transform_array(pixels)
    np.testing.assert_allclose(expected.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(pre.mean.ravel(), (pixels / 255).mean(axis=(0, 2, 3)), rtol=1e-5)
    with torch.no_grad():
        out = pre.as_module()(torch.from_numpy(pixels)).numpy()
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)
    described = pre.raw_input()
    assert described["shape"] == ["N", 3, 5, 5] and "0-255" in described["description"]
    assert "RGB" in described["description"] and "5x5" in described["description"]


def test_constant_columns_do_not_divide_by_zero():
    pre = Preprocessor("tabular", (2,), "binary", ["0", "1"], columns=[Column("a"), Column("b")], stat_shape=(2,))
    pre.fit_stats(np.array([[1.0, 7.0], [2.0, 7.0], [3.0, 7.0]], dtype=np.float32))
    assert pre.std[1] == 1.0
    out = pre.transform_array(np.array([[2.0, 7.0]], dtype=np.float32))
    assert np.isfinite(out).all() and out[0, 1] == 0.0


def test_missing_columns_are_listed():
    pre = fitted_tabular()
    with pytest.raises(DataError, match=r"lacks 2 columns the model needs: 'smoker', 'income'"):
        pre.encode_frame(pd.DataFrame({"age": [1], "city": ["Oslo"]}))


def test_column_names_match_ignoring_surrounding_spaces():
    pre = fitted_tabular()
    spaced = RAW.rename(columns={"age": " age ", "city": "city  "})
    np.testing.assert_array_equal(pre.encode_frame(spaced), pre.encode_frame(RAW))


def test_not_a_preprocessor_is_refused():
    with pytest.raises(DataError, match="not a NetStudio preprocessor"):
        Preprocessor.from_json({"format": "something"})
    with pytest.raises(DataError, match="damaged"):
        Preprocessor.from_json({"format": "netstudio-preprocessor", "version": 1, "kind": "tabular"})
