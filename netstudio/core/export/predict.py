"""Predicting with an exported model file on raw data: what ``netstudio predict`` does.

The model file (``.pt2``, ``.pt`` or ``.onnx``) is read through the safe loaders of
:mod:`netstudio.core.export.safe_load`; everything needed to turn the data into the model's raw input
(column order, one-hot categories, image size and colour) comes from the metadata inside it.
The data is a CSV/TSV file (the target column and any other extra column are ignored; a text
model reads its text column and splits it with the tokenizer inside the file), an
``.npz`` file with an array ``X``, one image, or a folder of images (searched recursively).

The result is a table: ``prediction`` (the class name, or the value in the target's units), then
for classification one ``prob_<class>`` column per class in the order of ``classes``; for images
a last column ``file`` says which image each row is. A time-series model (``data.sequence``)
gives one forecast per complete window of the CSV's rows (in time order), with the window's last
row (``window_end``: its order value, or its row number) and ``forecast_row``, the 1-based row of
the ordered data the forecast is for (beyond the data's end for the newest windows).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from netstudio.core.data.model_inputs import EXTENSIONS
from netstudio.core.errors import DataError, ExportError
from netstudio.core.export.safe_load import LoadedModel, load_model_file


@dataclass
class Predictions:
    """A prediction table: ``columns`` and ``rows`` of text, ready to write as CSV."""

    columns: list[str]
    rows: list[list[str]]
    #: What the caller should tell the user (unreadable images of a folder that were skipped).
    warnings: list[str] = field(default_factory=list)

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return out.getvalue()


def predict_file(model_path: str | os.PathLike, data_path: str | os.PathLike) -> Predictions:
    """Predict every row or image of *data_path* with the exported model at *model_path*.

    Raises
    ------
    ExportError
        The model file cannot be used (see :func:`~netstudio.core.export.safe_load.load_model_file`).
    DataError
        The data cannot be read or lacks columns the model needs (they are listed).
    """
    model = load_model_file(model_path)
    skipped: list[str] = []
    raw, files = raw_inputs(model, Path(data_path), skipped)
    series = files if isinstance(files, tuple) else None
    files = None if series is not None else files
    try:
        outputs = model.run(raw)
    except (RuntimeError, ValueError, IndexError, AssertionError) as exc:  # a fixed batch (a failed guard), a shape
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ExportError(f"{model_path}: the model cannot run on {len(raw):,} rows of shape "
                          f"{list(raw.shape[1:])} ({reason})") from None
    if outputs.ndim != 2 or len(outputs) != len(raw):
        raise ExportError(f"{model_path}: the model gives outputs of shape {list(outputs.shape)} for {len(raw):,} "
                          "rows; a NetStudio model gives one row of outputs per input row")
    table = prediction_table(model.metadata, outputs)
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        table.warnings.append(f"{len(skipped)} unreadable image file{'s' * (len(skipped) != 1)} skipped: {shown}")
    if series is not None:
        table.columns += ["window_end", "forecast_row"]
        for row, end, ahead in zip(table.rows, *series):
            row += [end, str(ahead)]
    if files is not None:
        table.columns.append("file")
        for row, name in zip(table.rows, files):
            row.append(name)
    return table


def raw_inputs(model: LoadedModel, path: Path, skipped: list[str] | None = None) -> tuple[np.ndarray, object]:
    """The model's raw input for the data at *path*, and the image names (None for tables; for a
    time series, each window's last-row label and forecast row, as a tuple of two lists).

    In a folder, images that cannot be decoded are left out, as training leaves them out, and
    their names go into *skipped* (without a list, or when none is readable, that is a DataError).
    """
    from netstudio.core.data.preprocess import Preprocessor

    doc = model.metadata.get("preprocessing")
    pre = Preprocessor.from_json(doc) if doc else None
    kind = pre.kind if pre is not None else "array"
    shape = tuple(model.metadata["input_shape"])
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir() or path.suffix.lower() in EXTENSIONS:
        if kind != "images":
            raise DataError(f"{path}: this model takes {'table rows' if kind == 'tabular' else 'arrays'}, not images")
        files = image_files(path)
        names = [f.relative_to(path).as_posix() if path.is_dir() else f.name for f in files]
        pixels, unreadable = _read_images(pre, files, skip=path.is_dir() and skipped is not None)
        if unreadable:
            skipped.extend(names[i] for i in unreadable)
            keep = sorted(set(range(len(files))) - set(unreadable))
            pixels, names = pixels[keep], [names[i] for i in keep]
        return pixels, names
    if path.suffix.lower() == ".npz":
        raw = _npz_inputs(path)
    elif kind == "series":
        from netstudio.core.data.csv import read_table
        from netstudio.core.data.series import series_windows

        frame, _ = read_table(path)
        try:
            raw, ends, rows = series_windows(pre, frame, str(path))
        except DataError as exc:
            text = str(exc)
            raise DataError(text if text.startswith(str(path)) else f"{path}: {text}") from None
        return raw, (ends, rows)
    elif (kind == "tabular" and pre.columns) or kind == "text":
        from netstudio.core.data.csv import read_table

        # a text column is read as text, never as numbers (a review of "10" stays the text "10")
        frame, _ = read_table(path, numeric_hints=kind != "text")
        try:
            raw = pre.encode_text_frame(frame) if kind == "text" else pre.encode_frame(frame)
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from None
    else:
        what = "images (a file or a folder)" if kind == "images" else "an .npz file with an array X"
        raise DataError(f"{path}: this model takes {what}, not a table")
    if tuple(raw.shape[1:]) != shape:
        raise DataError(f"{path}: the model takes inputs shaped [N, {', '.join(map(str, shape))}], "
                        f"the data gives {list(raw.shape)}")
    return raw, None


def image_files(path: Path) -> list[Path]:
    """*path* itself, or every image under the folder *path*, in the order training reads them."""
    from netstudio.core.data.model_inputs import images_under

    if path.is_file():
        return [path]
    files = images_under(path)
    if not files:
        raise DataError(f"{path}: no images found ({', '.join(sorted(EXTENSIONS))})")
    return files


def _read_images(pre, files: list[Path], skip: bool = False) -> tuple[np.ndarray, list[int]]:
    """Raw pixels of every file, read as in training, and the indices of those that could not be
    decoded: with *skip*, left as zeros (unless none could be read); else a DataError naming it."""
    out = np.zeros((len(files), *pre.input_shape), dtype=np.float32)
    unreadable: list[int] = []
    first_error = ""
    for i, file in enumerate(files):
        try:
            out[i] = pre.encode_images([file])[0]
        except Exception as exc:  # any decoder error: the file is not a usable image
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if not skip:
                raise DataError(f"{file}: cannot read the image ({reason})") from None
            unreadable.append(i)
            first_error = first_error or f"{file}: {reason}"
    if files and len(unreadable) == len(files):
        raise DataError(f"none of the {len(files)} image files can be read (first: {first_error})")
    return out, unreadable


def _npz_inputs(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "X" not in archive.files:
                raise DataError(f"{path}: no array X (found: {', '.join(archive.files) or 'none'})")
            raw = archive["X"]
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read an untrusted file: zip, zlib, header errors
        text = "its header claims an array too large for memory" if isinstance(exc, MemoryError) else (
            str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"{path} is not a NumPy .npz file ({text})") from None
    if raw.dtype.kind not in "biuf":
        raise DataError(f"{path}: array X has dtype {raw.dtype}: it must be numbers")
    raw = raw.reshape(-1, 1) if raw.ndim == 1 else raw
    return raw.astype(np.float32)


def prediction_table(metadata: dict, outputs: np.ndarray) -> Predictions:
    """``prediction`` and, for classification, ``prob_<class>`` columns from the model's outputs."""
    if len(outputs) == 0:
        raise DataError("the data has no rows to predict")
    broken = ~np.isfinite(outputs).all(axis=1)
    warnings = []
    if broken.any():
        first = int(np.flatnonzero(broken)[0]) + 1
        warnings.append(f"the model gave NaN or infinite outputs for {int(broken.sum()):,} of {len(outputs):,} rows "
                        f"(first: row {first}): no prediction written for them")
    if metadata["task"] == "regression":
        rows = [["" if bad else _number(v)] for v, bad in zip(outputs[:, 0], broken)]
        return Predictions(["prediction"], rows, warnings)
    classes = [str(c) for c in metadata["classes"]]
    if outputs.shape[1] != len(classes):
        raise ExportError(f"the model gives {outputs.shape[1]} outputs per row for {len(classes)} classes")
    best = np.nan_to_num(outputs, nan=-np.inf).argmax(axis=1)
    rows = [["" if bad else classes[k], *(_number(p) for p in probs)] for k, probs, bad in zip(best, outputs, broken)]
    return Predictions(["prediction", *(f"prob_{c}" for c in classes)], rows, warnings)


def _number(value) -> str:
    """The shortest text that reads back as the same float32: plain digits from 0.0001 to 1e16
    (``0.25``, ``350000``), an exponent beyond (``6e-19``, not 19 zeros and a 6)."""
    value = np.float32(value)
    if value == 0 or not np.isfinite(value) or 1e-4 <= abs(value) < 1e16:
        return np.format_float_positional(value, unique=True, trim="-")
    return np.format_float_scientific(value, unique=True, trim="-")
