"""A dataset and what a preview of it shows: the first rows, the columns, thumbnails, 2-D points.

:func:`load_for_panel` is what the window's Data panel runs in the background. A CSV is parsed
once; the parsed table is handed back (:attr:`LoadedData.table`) so that changing a column's role
or the split only re-prepares the data, without reading the file again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from netstudio.core.data.dataset import Dataset

#: Rows shown in the preview table.
PREVIEW_ROWS = 200
#: Thumbnails shown for an image folder.
THUMBNAILS = 24


@dataclass
class LoadedData:
    """A prepared dataset plus what the panel shows about the raw data."""

    dataset: Dataset
    config: dict
    preview: object = None                 # pandas.DataFrame of the first rows, or None
    columns: list[str] = field(default_factory=list)
    target: str | None = None
    table: tuple | None = None             # (frame, fmt, path) of a parsed CSV, for cheap re-preparing
    images: list[tuple[str, str]] = field(default_factory=list)  # (path, class) thumbnails
    points: tuple[np.ndarray, np.ndarray] | None = None          # raw 2-D points and labels


def load_for_panel(config: dict, base_dir: Path, progress=None, cancel=None, table: tuple | None = None) -> LoadedData:
    """Load *config* (a validated data section) for the panel; *table* reuses a parsed CSV."""
    from netstudio.core.data.common import Monitor, resolve_path
    from netstudio.core.data.load import load_dataset, resolve_sample, with_defaults

    resolved, folder = resolve_sample(config, Path(base_dir))
    resolved = with_defaults(resolved)
    source = resolved["source"]
    if source == "csv":
        from netstudio.core.data.csv import read_table
        from netstudio.core.data.series import sequence_settings, series_dataset
        from netstudio.core.data.tabular import frame_dataset

        path = resolve_path(resolved["path"], folder)
        monitor = Monitor(str(path), progress, cancel)
        prepare = series_dataset if resolved.get("sequence") else frame_dataset
        if table is None or Path(table[2]) != path:
            target = sequence_settings(resolved)["target"] if resolved.get("sequence") else resolved.get("target")
            frame, fmt = read_table(path, monitor, target=target.strip() if isinstance(target, str) else None)
            table = (frame, fmt, path)
        frame, fmt, _ = table
        dataset = prepare(frame, fmt, resolved, path, monitor)
        columns = [str(c) for c in frame.columns]
        target = dataset.preprocessor.target.get("column") if dataset.preprocessor else None
        return LoadedData(dataset, config, frame.head(PREVIEW_ROWS), columns, target, table)
    dataset = load_dataset(config, base_dir, progress, cancel)
    loaded = LoadedData(dataset, config)
    if source == "images":
        from netstudio.core.data.images import scan_folder

        classes, files, _ = scan_folder(resolve_path(resolved["path"], folder))
        step = max(1, len(files) // THUMBNAILS)
        loaded.images = [(str(p), classes[c]) for p, c in files[::step][:THUMBNAILS]]
    elif dataset.input_shape == (2,) or (len(dataset.input_shape) == 1 and dataset.input_shape[0] <= 64):
        loaded.preview = _array_preview(dataset)
        if dataset.input_shape == (2,):
            X = np.concatenate([dataset.X_train, dataset.X_val])
            y = np.concatenate([dataset.y_train, dataset.y_val])
            loaded.points = (raw_features(dataset, X), y)
    return loaded


def _array_preview(dataset: Dataset):
    """The first rows of a feature array in its own units, with the target, as a table."""
    import pandas as pd

    X = raw_features(dataset, dataset.X_train[:PREVIEW_ROWS])
    names = dataset.feature_names or [f"x{i + 1}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=names[:X.shape[1]])
    y = dataset.y_train[:PREVIEW_ROWS]
    if dataset.classes:
        frame["target"] = [dataset.classes[int(i)] for i in y]
    else:
        frame["target"] = np.asarray(y) * dataset.target_std + dataset.target_mean
    return frame


def raw_features(dataset, X: np.ndarray) -> np.ndarray:
    """Preprocessed two-feature rows back in the data's own units (as the user knows them)."""
    pre = dataset.preprocessor
    if pre is None or getattr(pre, "kind", None) == "images":
        return X
    # The preprocessor standardises raw / divide_by: undo both steps.
    return (X * np.asarray(pre.std).reshape(-1) + np.asarray(pre.mean).reshape(-1)) * pre.divide_by
