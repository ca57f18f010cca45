"""Loading datasets: one entry point for every source of the project's ``data`` section.

:func:`load_dataset` reads CSV/TSV files, image folders, ``.npz`` arrays, synthetic 2-D sets and
the bundled samples, fits a :class:`~netstudio.core.data.preprocess.Preprocessor` on the training split
only, and returns a :class:`~netstudio.core.data.dataset.Dataset` ready to train on.
:func:`describe_data` answers "what shape goes in, what comes out" as cheaply as the source allows
(``netstudio summary`` uses it). Every problem with the data raises
:class:`~netstudio.core.errors.DataError` with one line naming the file and the column or row.

The source-specific readers live in ``data_csv`` / ``data_tabular`` (tables), ``data_images``,
``data_arrays`` (.npz, synthetic) and ``data_synthetic``; this module holds what they share: the
split, the final assembly and the progress/cancel plumbing.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from netstudio.core.data.dataset import Dataset, DataSummary
from netstudio.core.data.preprocess import Preprocessor, chunk_rows
from netstudio.core.errors import DataError

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]

#: Bundled samples: name -> data section, paths relative to the samples folder.
SAMPLES: dict[str, dict] = {
    "iris": {"source": "csv", "path": "iris.csv", "target": "species"},
    "house-prices": {"source": "csv", "path": "house-prices.csv", "target": "price_keur"},
    "shapes": {"source": "images", "path": "shapes"},
    "first-network": {"source": "csv", "path": "first-network.csv", "target": "label"},
}
#: A class is "rare" (imbalance warning) when the largest class is this many times bigger.
IMBALANCE_RATIO = 5.0
#: More classes than this is not a classification target.
MAX_CLASSES = 1000


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


# ------------------------------------------------------------------------------------------------
# Entry points


def load_dataset(data_config: dict, base_dir: Path, progress: Progress | None = None,
                 cancel: Cancel | None = None) -> Dataset:
    """Load and prepare the dataset a project's ``data`` section describes.

    Parameters
    ----------
    data_config : dict
        The validated ``data`` section (``source`` and that source's keys; see the project
        contract). Relative paths resolve against *base_dir*.
    base_dir : Path
        Usually the project file's folder.
    progress : callable, optional
        ``progress(done, total)``, called from the loading thread at most every 50 ms; the units
        are bytes for CSV files, image files for folders.
    cancel : callable, optional
        Polled while loading; when it returns true the load stops with :class:`LoadCancelled`.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        One line naming the file and, where it applies, the column or row.
    """
    if not data_config:
        raise DataError("no dataset chosen: the project's data section is empty")
    config, base_dir = resolve_sample(data_config, Path(base_dir))
    source = config.get("source")
    monitor = Monitor(_label(config, base_dir), progress, cancel)
    monitor.check()
    if source in ("synthetic", "npz"):
        from netstudio.core.data.arrays import load_npz, load_synthetic

        return load_synthetic(config, monitor) if source == "synthetic" else load_npz(config, base_dir, monitor)
    if source == "csv":
        from netstudio.core.data.tabular import load_csv

        return load_csv(config, base_dir, monitor)
    if source == "images":
        from netstudio.core.data.images import load_images

        return load_images(config, base_dir, monitor)
    raise DataError(f"data.source: unknown source {source!r}")


def load_project_dataset(project, progress: Progress | None = None, cancel: Cancel | None = None) -> Dataset:
    """:func:`load_dataset` for a :class:`~netstudio.core.project.Project` (paths beside its file)."""
    if not project.data:
        where = f"{project.path}: " if project.path else ""
        raise DataError(f"{where}the project has no data yet: choose a dataset first")
    return load_dataset(project.data, project.base_dir, progress, cancel)


def describe_data(data_config: dict, base_dir: Path) -> tuple[tuple[int, ...], int, str, list[str] | None]:
    """``(input_shape, output_width, task, classes)`` without preparing the whole dataset.

    Image folders read only the image headers and ``.npz`` files only the array headers and
    ``y``; synthetic sets need nothing; CSV files are loaded (pandas reads them fast).
    """
    if not data_config:
        raise DataError("no dataset chosen: the project's data section is empty")
    config, base_dir = resolve_sample(data_config, Path(base_dir))
    source = config.get("source")
    if source == "synthetic":
        from netstudio.core.data.arrays import synthetic_classes

        classes = synthetic_classes(config)
        task = "binary" if len(classes) == 2 else "multiclass"
        return (2,), output_width(task, classes), task, classes
    if source == "images":
        from netstudio.core.data.images import describe_images

        return describe_images(config, base_dir)
    if source == "npz":
        from netstudio.core.data.arrays import describe_npz

        return describe_npz(config, base_dir)
    dataset = load_dataset(config, base_dir)
    return dataset.input_shape, dataset.output_width, dataset.task, dataset.classes


def output_width(task: str, classes: list[str] | None) -> int:
    """What ``out_features: "auto"`` becomes: the number of classes (multiclass), else 1."""
    return len(classes) if task == "multiclass" and classes else 1


# ------------------------------------------------------------------------------------------------
# Bundled samples


def samples_dir() -> Path:
    """The bundled samples: inside the installed package first, else the source checkout's."""
    package = Path(__file__).resolve().parent.parent.parent / "samples"
    if package.is_dir():
        return package
    return Path(__file__).resolve().parent.parent.parent.parent / "samples"


def resolve_sample(config: dict, base_dir: Path) -> tuple[dict, Path]:
    """A ``source: sample`` section becomes its sample's real section (paths in the samples folder).

    The split, seed, normalisation and task of *config* are kept; other sources pass through.
    """
    if config.get("source") != "sample":
        return config, base_dir
    name = str(config.get("name", "")).strip()
    if name not in SAMPLES:
        raise DataError(f"data.name: no bundled sample called {name!r} (available: {', '.join(sorted(SAMPLES))})")
    resolved = copy.deepcopy(SAMPLES[name])
    for key in ("validation_split", "seed", "normalize", "task"):
        if key in config:
            resolved[key] = config[key]
    return resolved, samples_dir()


def _label(config: dict, base_dir: Path) -> str:
    if config.get("path"):
        return str(resolve_path(config["path"], base_dir))
    return f"the {config.get('kind', config.get('source'))} dataset"


def resolve_path(path: str, base_dir: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path(base_dir) / p


# ------------------------------------------------------------------------------------------------
# Shared steps: target, split, assembly


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


def classify_target(values: np.ndarray | None, text, requested: str, where: str, name: str):
    """Decide the task and encode the target.

    Parameters
    ----------
    values : numpy.ndarray or None
        The target as float64 (NaN where missing), or None when it is not numeric.
    text : pandas.Series or numpy.ndarray
        The target as stripped text with NaN for missing cells (used for text labels).
    requested : str
        ``auto``, ``binary``, ``multiclass`` or ``regression``.
    where, name : str
        The file and the column, for messages.

    Returns
    -------
    keep : numpy.ndarray of bool
        Rows with a usable target.
    y : numpy.ndarray
        For the kept rows: int64 class indices, or float64 values (regression).
    task : str
    classes : list of str or None
    """
    import pandas as pd

    label = f"{where}: target column {name!r}"
    if values is not None:
        keep = np.isfinite(values)
        kept = values if keep.all() else values[keep]  # not modified below: no copy needed
        if not len(kept):
            raise DataError(f"{label} has no values")
        head = kept[:1024]  # a fractional value among the first rows spares the whole pass
        integral = bool(np.all(head == np.round(head))) and bool(np.all(kept == np.round(kept)))
        # np.unique sorts: skip it for the (large) regression targets that cannot be classes
        distinct = np.unique(kept) if integral or requested in ("binary", "multiclass") else None
        few = integral and len(distinct) <= min(20, max(2, len(kept) // 2))
        if requested == "regression" or (requested == "auto" and not few):
            if kept.min() == kept.max():
                raise DataError(f"{label} is constant ({_number(kept[0])}): there is nothing to predict")
            return keep, kept, "regression", None
        if len(distinct) > MAX_CLASSES:
            raise DataError(f"{label} has {len(distinct):,} distinct values, too many to be classes "
                            f"(at most {MAX_CLASSES}): use task regression or another target")
        classes = [_number(v) for v in distinct]
        codes = np.searchsorted(distinct, kept).astype(np.int64)
    else:
        if requested == "regression":
            sample = next((str(v) for v in text if isinstance(v, str)), "")
            raise DataError(f"{label} is not numeric (it holds text such as {sample!r}): "
                            "regression needs numbers")
        text = pd.Series(text, dtype=object)
        keep = text.notna().to_numpy()
        kept = text[keep].astype(str)
        classes = sorted(set(kept))
        if not classes:
            raise DataError(f"{label} has no values")
        if len(classes) > MAX_CLASSES:
            raise DataError(f"{label} has {len(classes):,} distinct values, too many to be classes "
                            f"(at most {MAX_CLASSES}): choose another target")
        codes = pd.Index(classes, dtype=object).get_indexer(kept.astype(object)).astype(np.int64)
    if len(classes) < 2:
        raise DataError(f"{label} has a single class ({classes[0]!r}): classification needs at least two")
    if requested == "binary" and len(classes) != 2:
        raise DataError(f"{label} has {len(classes)} classes ({_short(classes)}), but data.task is binary")
    task = "binary" if requested == "auto" and len(classes) == 2 else (
        "multiclass" if requested == "auto" else requested)
    return keep, codes, task, classes


def assemble(name: str, source: str, pre: Preprocessor, raw_train: np.ndarray, raw_val: np.ndarray,
             y_train: np.ndarray, y_val: np.ndarray, *, normalize: bool, notes: list[str],
             warnings: list[str], dropped: int = 0, extra_missing: int = 0, where: str = "",
             imputed: int | None = None) -> Dataset:
    """Fit *pre*'s statistics on the training split, transform both splits and build the Dataset.

    Float32 raw arrays are transformed in place (the caller hands them over). Non-finite raw
    values are counted as missing (and imputed); *extra_missing* adds those a loader encoded
    otherwise (missing categories). With *imputed* (a count), the caller has fitted *pre* and
    transformed the splits already (:meth:`Preprocessor.fit_transform_frame`), imputing that
    many values.
    """
    if imputed is None:
        imputed = pre.fit_stats(raw_train, normalize) + _nonfinite(raw_val)
        X_train = pre.transform_array(raw_train, inplace=True)
        X_val = pre.transform_array(raw_val, inplace=True)
    else:
        X_train, X_val = raw_train, raw_val
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
        if not (np.isfinite(y_train).all() and np.isfinite(y_val).all()):
            raise DataError(f"{where or name}: the target's values are too far apart to standardise in float32")
        counts = None
    else:
        y_train = np.asarray(y_train, dtype=np.int64)
        y_val = np.asarray(y_val, dtype=np.int64)
        tally = np.bincount(np.concatenate([y_train, y_val]), minlength=len(pre.classes))
        counts = {c: int(k) for c, k in zip(pre.classes, tally)}
        warnings = warnings + imbalance_warnings(counts)
    if imputed:
        notes = notes + [f"{imputed:,} missing value{'s' if imputed != 1 else ''} imputed with the training split's mean"]
    summary = DataSummary(source=source, rows=len(y_train) + len(y_val),
                          features=int(np.prod(pre.input_shape)), input_shape=pre.input_shape,
                          task=pre.task, class_counts=counts, missing_values=int(missing),
                          dropped_rows=int(dropped), notes=list(notes), warnings=list(warnings))
    return Dataset(name=name, task=pre.task, X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val,
                   classes=pre.classes, feature_names=pre.feature_names, preprocessor=pre,
                   summary=summary, target_mean=mean, target_std=std)


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


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value == round(value) and abs(value) < 2**53 else repr(value)


def _short(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _synthetic_classes(config: dict) -> list[str]:
    """The class names of a synthetic section (kept here for callers of this older name)."""
    from netstudio.core.data.arrays import synthetic_classes

    return synthetic_classes(config)
