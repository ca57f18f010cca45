"""Time series: a CSV read as windows of rows, each forecasting a later row's target (``data.sequence``).

The rows are put in time order (``order_by``: a date or a number; else the file's order). Sample
``s`` is rows ``s … s + window - 1`` (``[window, features]``, oldest first) and its target is the
target column ``horizon`` rows after the window's last row, so the first window ends at row
``window`` and forecasts row ``window + horizon - 1`` (0-based).

The split keeps time order and nothing crosses it: the rows are cut into training | validation |
test periods (validation and test are the last rows, ``validation_split`` and ``test_split`` of
them), and a window belongs to a period only when all its rows *and* its target lie inside it; the
few windows straddling a cut are left out. The features are standardised with the training
period's rows only; the target is a regression target, standardised like any other (forecasts
come back in its own units).

:func:`series_windows` turns raw rows into the model's raw input the same way for ``predict``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from netstudio.core.config import Sequence, defaults, settings
from netstudio.core.data.columns import Column
from netstudio.core.data.common import Monitor, assemble, resolve_path
from netstudio.core.data.csv import read_table
from netstudio.core.data.dataset import Dataset
from netstudio.core.data.model_inputs import parse_numbers
from netstudio.core.data.preprocess import Preprocessor
from netstudio.core.data.tabular import find_column
from netstudio.core.errors import DataError
from netstudio.core.strings import plural


def load_series(config: dict, base_dir: Path, monitor: Monitor | None = None) -> Dataset:
    """A CSV with ``data.sequence`` as a Dataset of windows (see the module docstring)."""
    path = resolve_path(config["path"], base_dir)
    frame, fmt = read_table(path, monitor, target=str(sequence_settings(config)["target"]).strip())
    return series_dataset(frame, fmt, config, path, monitor)


def series_dataset(frame, fmt, config: dict, path: Path, monitor: Monitor | None = None) -> Dataset:
    """Prepare a table read by :func:`~netstudio.core.data.csv.read_table` as a time series."""
    where = str(path)
    seq = sequence_settings(config)
    window, horizon = int(seq["window"]), int(seq["horizon"])
    if config.get("task") not in (None, "auto", "regression"):
        raise DataError(f"{where}: a time series forecasts a number: data.task must be auto or regression "
                        f"for data.sequence, not {config['task']!r}")
    names = [str(c) for c in frame.columns]
    target = find_column(str(seq["target"]), names, where, "data.sequence.target: column")
    order_by = find_column(str(seq["order_by"]), names, where, "data.sequence.order_by: column") \
        if seq.get("order_by") else None
    notes, warnings = list(fmt.notes), []
    order, order_kind = _order(frame, order_by, fmt.decimal, fmt.thousands, where, notes)
    frame = frame.iloc[order].reset_index(drop=True)
    columns = _feature_columns(frame, seq.get("features"), target, order_by, fmt, where, notes,
                               exclude=set(config.get("exclude") or []))
    y, bad = parse_numbers(frame[target], fmt.decimal, fmt.thousands)
    if bad.any():
        raise DataError(f"{where}: target column {target!r} must hold numbers to forecast "
                        f"({plural(int(bad.sum()), 'value')} that {'are' if bad.sum() > 1 else 'is'} not, e.g. "
                        f"{str(frame[target][bad].iloc[0])[:40]!r})")
    n = len(frame)
    parts = period_bounds(n, float(config["validation_split"]), float(config.get("test_split", 0.0)))
    starts, part_of = window_parts(n, window, horizon, parts)
    if not len(starts):
        raise DataError(f"{where}: {plural(n, 'row')} make no window of {window} rows with a target "
                        f"{horizon} row(s) ahead: lower data.sequence.window or horizon")
    targets = starts + window - 1 + horizon
    has_target = np.isfinite(y[targets])
    if not has_target.all():
        notes.append(f"{plural(int((~has_target).sum()), 'window')} without a target value left out")
    keep = has_target & (part_of >= 0)
    straddling = int((has_target & (part_of < 0)).sum())
    if straddling:
        notes.append(f"{plural(straddling, 'window')} crossing from one period into the next left out "
                     "(a window and its target lie in one period)")
    picks = [starts[keep & (part_of == k)] for k in range(3)]
    if len(picks[0]) < 2:
        raise DataError(f"{where}: the training period (rows 1 to {parts[0]:,}) holds "
                        f"{plural(len(picks[0]), 'window')} of {window} rows plus {horizon} ahead: need at least 2 "
                        "(lower data.sequence.window or data.validation_split)")
    for k, what, key in ((1, "validation", "validation_split"), (2, "test", "test_split")):
        if parts[k] > parts[k - 1] and not len(picks[k]):
            raise DataError(f"{where}: the {what} period ({plural(parts[k] - parts[k - 1], 'row')}) is shorter "
                            f"than a window and its horizon ({window + horizon}): raise data.{key} or lower "
                            "data.sequence.window")
    width = len(columns)
    pre = Preprocessor("series", (window, width), "regression", None, columns=columns, stat_shape=(1, width),
                       target={"column": target}, number_format=fmt.number_format,
                       sequence={"window": window, "horizon": horizon, "order_by": order_by,
                                 "order_kind": order_kind})
    if monitor is not None:
        monitor.check()
    steps = pre.encode_frame(frame)  # raw [T, F]
    # one statistic per column, from the training period's rows (each row once, not once per window)
    imputed = pre.fit_stats(steps[:parts[0], None, :], bool(config["normalize"]))
    imputed += int((~np.isfinite(steps[parts[0]:])).sum())
    X = [pre.transform_array(_gather(steps, s, window), inplace=True) for s in picks]
    Y = [y[s + window - 1 + horizon] for s in picks]
    notes.append(f"{plural(n, 'row')} {'ordered by ' + repr(order_by) if order_by else 'in file order'}: windows of "
                 f"{window} x {plural(width, 'feature')}, forecasting {target!r} {plural(horizon, 'row')} ahead; "
                 f"training rows 1-{parts[0]:,}, validation {parts[0] + 1:,}-{parts[1]:,}"
                 + (f", test {parts[1] + 1:,}-{n:,}" if parts[2] > parts[1] else ""))
    dataset = assemble(path.name.split(".")[0] or path.stem, "csv", pre, X[0], X[1], Y[0], Y[1],
                       normalize=bool(config["normalize"]), notes=notes, warnings=warnings, where=where,
                       imputed=imputed, raw_test=X[2], y_test=Y[2])
    dataset.series = SeriesLayout(order=_order_labels(frame, order_by), target=y, bounds=parts,
                                  starts=tuple(picks), window=window, horizon=horizon)
    return dataset


def sequence_settings(config: dict) -> dict:
    """``data.sequence`` with the schema's defaults filled in (a DataError without a target)."""
    seq = config.get("sequence")
    if not isinstance(seq, dict):
        raise DataError('data.sequence: must be an object like {"target": "load", "window": 24}')
    seq = {**defaults(Sequence), **seq}
    if not isinstance(seq.get("target"), str) or not seq["target"].strip():
        raise DataError("data.sequence.target: is required for a time series")
    for key in ("window", "horizon"):
        problem = settings(Sequence)[key].problem(seq[key])
        if problem:
            raise DataError(f"data.sequence.{key}: {problem}")
    return seq


class SeriesLayout:
    """Where a series' windows lie, for plots: the ordered rows' labels, the target in its own
    units, the period bounds (row counts: training ends at ``bounds[0]``, validation at
    ``bounds[1]``) and each split's window starts."""

    def __init__(self, order: list[str], target: np.ndarray, bounds: tuple[int, int, int],
                 starts: tuple[np.ndarray, ...], window: int, horizon: int) -> None:
        self.order = order
        self.target = target
        self.bounds = bounds
        self.starts = starts
        self.window = window
        self.horizon = horizon

    def target_rows(self, split: int) -> np.ndarray:
        """The row each window of split *split* (0 train, 1 validation, 2 test) forecasts."""
        return self.starts[split] + self.window - 1 + self.horizon


def period_bounds(n: int, validation: float, test: float) -> tuple[int, int, int]:
    """Where the training, validation and test periods end (row counts): the last rows are held out."""
    n_test = int(round(n * test)) if test > 0 else 0
    n_val = int(round(n * validation)) if validation > 0 else 0
    train_end = max(0, n - n_test - n_val)
    return train_end, train_end + n_val, n


def window_parts(n: int, window: int, horizon: int, bounds: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Every window's first row, and its period (0, 1, 2; -1 when it crosses a cut)."""
    count = n - window - horizon + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.arange(count, dtype=np.int64)
    last = starts + window - 1 + horizon  # the target row: the window's furthest row
    part = np.full(count, -1, dtype=np.int64)
    lows = (0, bounds[0], bounds[1])
    for k in range(3):
        part[(starts >= lows[k]) & (last < bounds[k])] = k
    return starts, part


def series_windows(pre: Preprocessor, frame, where: str = "") -> tuple[np.ndarray, list[str], list[int]]:
    """Raw rows of a series -> every complete window ``[N, window, F]`` (raw units), with the label
    of each window's last row (its order value, or its 1-based row number) and the 1-based
    number of the row each forecasts (past the data's end for the newest windows)."""
    seq = pre.sequence or {}
    window, horizon = int(seq.get("window", pre.input_shape[0])), int(seq.get("horizon", 1))
    order_by = seq.get("order_by")
    names = [str(c) for c in frame.columns]
    if order_by:
        order_by = find_column(order_by, names, where, "order column")
        order, _ = _order(frame, order_by, pre.number_format["decimal"], pre.number_format["thousands"], where, [],
                          kind=seq.get("order_kind"))
        frame = frame.iloc[order].reset_index(drop=True)
    steps = pre.encode_frame(frame)
    n = len(steps)
    if n < window:
        raise DataError(f"{where}: {plural(n, 'row')}, fewer than one window of {window}: "
                        "the model needs that many consecutive rows")
    starts = np.arange(n - window + 1, dtype=np.int64)
    labels = _order_labels(frame, order_by)
    ends = starts + window - 1
    return _gather(steps, starts, window), [labels[e] for e in ends], [int(e) + 1 + horizon for e in ends]


# ------------------------------------------------------------------------------------------------
# Helpers


def _gather(steps: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """The windows starting at *starts*, copied into one float32 ``[N, window, F]`` array."""
    view = np.lib.stride_tricks.sliding_window_view(steps, window, axis=0)  # [T - w + 1, F, w]
    return np.ascontiguousarray(view[starts].transpose(0, 2, 1), dtype=np.float32)


def _order(frame, order_by: str | None, decimal: str, thousands: str | None, where: str, notes: list[str],
           kind: str | None = None) -> tuple[np.ndarray, str | None]:
    """The row positions in time order, and how the order column reads (``number``/``date``)."""
    n = len(frame)
    if order_by is None:
        return np.arange(n), None
    series = frame[order_by]
    numbers, bad = parse_numbers(series, decimal, thousands)
    if kind != "date" and not bad.any() and np.isfinite(numbers).any():
        key, kind = numbers, "number"
    else:
        key = date_keys(series)
        if not np.isfinite(key).any():
            raise DataError(f"{where}: order column {order_by!r} holds neither numbers nor dates "
                            f"(e.g. {str(series.iloc[0])[:40]!r})")
        kind = "date"
    missing = ~np.isfinite(key)
    if missing.any():
        raise DataError(f"{where}: order column {order_by!r} has {plural(int(missing.sum()), 'row')} without a "
                        f"{'date' if kind == 'date' else 'number'} (first: row {int(np.flatnonzero(missing)[0]) + 2} "
                        "of the file): a time series needs every row's time")
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    repeated = np.flatnonzero(ordered[1:] == ordered[:-1])
    if len(repeated):
        first = str(series.iloc[order[repeated[0]]])[:40]
        raise DataError(f"{where}: order column {order_by!r} repeats {first!r} "
                        f"({plural(len(repeated), 'repeat')}): a time series needs one row per time")
    if (order != np.arange(n)).any():
        notes.append(f"rows sorted by {order_by!r} ({'dates' if kind == 'date' else 'numbers'})")
    return order, kind


def date_keys(series) -> np.ndarray:
    """Dates and times of a column as float64 nanoseconds since 1970 (UTC), NaN where unreadable.

    The format is inferred from the first value (fast); only when that leaves readable-looking
    cells unread is each cell parsed on its own (``format="mixed"``, much slower).
    """
    import warnings

    import pandas as pd

    text = series.astype("string").str.strip()
    present = text.notna() & (text != "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format": the mixed pass below handles it
        dates = pd.to_datetime(text, errors="coerce", utc=True)
        if (dates.isna() & present).any():
            dates = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
    key = dates.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype("int64").astype(np.float64)
    key[dates.isna().to_numpy()] = np.nan
    return key


def _feature_columns(frame, requested, target: str, order_by: str | None, fmt, where: str,
                     notes: list[str], exclude: set[str] = frozenset()) -> list[Column]:
    """The numeric columns each time step holds (``requested``, else all numeric ones but the
    order column and ``data.exclude``'s)."""
    names = [str(c) for c in frame.columns]
    if requested:
        chosen = list(dict.fromkeys(find_column(str(c), names, where, "data.sequence.features: column")
                                    for c in requested))
    else:
        chosen = [c for c in names if c != order_by and c not in exclude and c.strip() not in exclude]
    columns, left_out = [], []
    for name in chosen:
        values, bad = parse_numbers(frame[name], fmt.decimal, fmt.thousands)
        if bad.any() or not np.isfinite(values).any():
            if requested:
                raise DataError(f"{where}: data.sequence.features: column {name!r} is not numeric")
            left_out.append(name)
            continue
        columns.append(Column(name, "numeric"))
    if left_out:
        notes.append(f"{plural(len(left_out), 'column')} without numbers left out: "
                     + ", ".join(repr(c) for c in left_out[:5]) + (" ..." if len(left_out) > 5 else ""))
    if not columns:
        raise DataError(f"{where}: no numeric column to use as the series' features")
    return columns


def _order_labels(frame, order_by: str | None) -> list[str]:
    """Each ordered row's label: its order value as written in the file, else its 1-based number."""
    if order_by is None:
        return [str(i + 1) for i in range(len(frame))]
    from netstudio.core.data.model_inputs import text_values

    return [str(v) for v in text_values(frame[order_by]).fillna("").tolist()]
