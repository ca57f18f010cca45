"""What the data loaders share: progress and cancellation, paths, the split and the final assembly.

Every loader (:mod:`~netstudio.core.data.tabular`, :mod:`~netstudio.core.data.images`,
:mod:`~netstudio.core.data.arrays`) imports from here; :mod:`~netstudio.core.data.load`
dispatches to them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from netstudio.core.data.chunks import chunk_rows
from netstudio.core.data.dataset import Dataset, DataSummary
from netstudio.core.data.preprocess import Preprocessor
from netstudio.core.errors import DataError
from netstudio.core.strings import plural

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]
#: A class is "rare" (imbalance warning) when the largest class is this many times bigger.
IMBALANCE_RATIO = 5.0


class LoadCancelled(DataError):
    """The user cancelled a load through the ``cancel`` callback."""


class Monitor:
    """Progress and cancellation for one load: calls *progress* at most every 50 ms (and at the
    end), and raises :class:`LoadCancelled` as soon as *cancel* returns true."""

    def __init__(self, what: str, progress: Progress | None = None, cancel: Cancel | None = None) -> None:
        self.what = what
        self.progress = progress
        self.cancel = cancel
        self._last = 0.0

    def check(self) -> None:
        if self.cancel is not None and self.cancel():
            raise LoadCancelled(f"loading {self.what} was cancelled")

    def step(self, done: int, total: int) -> None:
        self.check()
        if self.progress is None:
            return
        now = time.monotonic()
        if done >= total or now - self._last >= 0.05:
            self._last = now
            self.progress(int(done), int(total))


def output_width(task: str, classes: list[str] | None) -> int:
    """What ``out_features: "auto"`` becomes: the number of classes (multiclass), else 1."""
    return len(classes) if task == "multiclass" and classes else 1


def resolve_path(path: str, base_dir: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path(base_dir) / p


def split_indices(n: int, labels: np.ndarray | None = None, fraction: float = 0.2,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training and validation splits (each sorted).

    With *labels* (classification) the split is stratified: each class gives ``round(count *
    fraction)`` rows to validation, always keeping at least one for training. The same *seed*
    gives the same split.
    """
    rng = np.random.default_rng(seed)
    if fraction <= 0 or n < 2:
        return np.arange(n, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if labels is None:
        order = rng.permutation(n)
        take = min(n - 1, max(1, int(round(n * fraction))))
        val = order[:take]
    else:
        parts = []
        for cls in np.unique(labels):
            members = np.flatnonzero(labels == cls)
            rng.shuffle(members)
            take = min(len(members) - 1, int(round(len(members) * fraction)))
            parts.append(members[:take])
        val = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    mask = np.ones(n, dtype=bool)
    mask[val] = False
    return np.flatnonzero(mask).astype(np.int64), np.sort(val).astype(np.int64)


def split_rows(n: int, labels: np.ndarray | None, config: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices of the training, validation and test splits of a data section (each sorted).

    ``test_split`` rows are held out first (stratified like :func:`split_indices`), then
    ``validation_split`` of all the rows is taken from the rest; without a test split this is
    exactly :func:`split_indices`, so older projects keep their split.
    """
    validation, test, seed = float(config["validation_split"]), float(config.get("test_split", 0.0)), int(config["seed"])
    if test <= 0:
        return (*split_indices(n, labels, validation, seed), np.zeros(0, dtype=np.int64))
    rest, held = split_indices(n, labels, test, seed)
    train, val = split_indices(len(rest), None if labels is None else labels[rest],
                               min(validation / (1.0 - test), 1.0), seed + 1)
    return rest[train], rest[val], held


def assemble(name: str, source: str, pre: Preprocessor, raw_train: np.ndarray, raw_val: np.ndarray,
             y_train: np.ndarray, y_val: np.ndarray, *, normalize: bool, notes: list[str],
             warnings: list[str], dropped: int = 0, extra_missing: int = 0, where: str = "",
             imputed: int | None = None, raw_test: np.ndarray | None = None,
             y_test: np.ndarray | None = None) -> Dataset:
    """Fit *pre*'s statistics on the training split, transform the splits and build the Dataset.

    Float32 raw arrays are transformed in place (the caller hands them over). Non-finite raw
    values are counted as missing (and imputed); *extra_missing* adds those a loader encoded
    otherwise (missing categories). With *imputed* (a count), the caller has fitted *pre* and
    transformed the splits already (:meth:`Preprocessor.fit_transform_frame`), imputing that
    many values. *raw_test* and *y_test* are the test split, treated as the validation split is
    (none: an empty one).
    """
    if raw_test is None:
        raw_test = np.zeros((0, *raw_val.shape[1:]), dtype=np.float32)
        y_test = np.zeros(0, dtype=y_val.dtype if hasattr(y_val, "dtype") else np.int64)
    if imputed is None:
        imputed = pre.fit_stats(raw_train, normalize) + _nonfinite(raw_val) + _nonfinite(raw_test)
        X_train = pre.transform_array(raw_train, inplace=True)
        X_val = pre.transform_array(raw_val, inplace=True)
        X_test = pre.transform_array(raw_test, inplace=True)
    else:
        X_train, X_val, X_test = raw_train, raw_val, raw_test
    missing = imputed + int(extra_missing)
    mean, std = 0.0, 1.0
    if pre.task == "regression":
        y_train = np.asarray(y_train, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            mean = float(y_train.mean())
            std = float(y_train.std())
        if not (np.isfinite(mean) and np.isfinite(std)):
            raise DataError(f"{where or name}: the target's values are too large to standardise "
                            f"(up to {np.abs(y_train).max():.3g})")
        if not std > 0:
            std = 1.0
        pre.target.update(mean=mean, std=std)
        with np.errstate(over="ignore", invalid="ignore"):
            y_train = ((y_train - mean) / std).astype(np.float32)
            y_val = ((np.asarray(y_val, dtype=np.float64) - mean) / std).astype(np.float32)
            y_test = ((np.asarray(y_test, dtype=np.float64) - mean) / std).astype(np.float32)
        if not (np.isfinite(y_train).all() and np.isfinite(y_val).all() and np.isfinite(y_test).all()):
            raise DataError(f"{where or name}: the target's values are too far apart to standardise in float32")
        counts = None
    else:
        y_train = np.asarray(y_train, dtype=np.int64)
        y_val = np.asarray(y_val, dtype=np.int64)
        y_test = np.asarray(y_test, dtype=np.int64)
        tally = np.bincount(np.concatenate([y_train, y_val, y_test]), minlength=len(pre.classes))
        counts = {c: int(k) for c, k in zip(pre.classes, tally)}
        warnings = warnings + imbalance_warnings(counts)
    if imputed:
        notes = notes + [f"{plural(imputed, 'missing value')} imputed with the training split's mean"]
    summary = DataSummary(source=source, rows=len(y_train) + len(y_val) + len(y_test),
                          features=int(np.prod(pre.input_shape)), input_shape=pre.input_shape,
                          task=pre.task, class_counts=counts, missing_values=int(missing),
                          dropped_rows=int(dropped), notes=list(notes), warnings=list(warnings))
    return Dataset(name=name, task=pre.task, X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val,
                   classes=pre.classes, feature_names=pre.feature_names, preprocessor=pre,
                   summary=summary, target_mean=mean, target_std=std, X_test=X_test, y_test=y_test)


def imbalance_warnings(counts: dict[str, int]) -> list[str]:
    """A warning when the largest class is :data:`IMBALANCE_RATIO` times the smallest or more."""
    if not counts:
        return []
    small = min(counts, key=counts.get)
    large = max(counts, key=counts.get)
    if counts[large] >= IMBALANCE_RATIO * max(1, counts[small]):
        return [f"classes are imbalanced: {small!r} has {counts[small]:,} rows, {large!r} "
                f"{counts[large]:,} (accuracy can mislead; look at the confusion matrix)"]
    return []


def _nonfinite(x: np.ndarray) -> int:
    if x.dtype.kind != "f":
        return 0
    step = chunk_rows(x)
    return sum(int((~np.isfinite(x[s:s + step])).sum()) for s in range(0, x.shape[0], step))
