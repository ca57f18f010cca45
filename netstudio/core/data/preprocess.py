"""Fitted, serialisable preprocessing: what turns raw rows or pixels into what the network sees.

A :class:`Preprocessor` is fitted on the training split only and then stored as plain JSON (no
pickle) with every run and export, so that a prediction on raw data is prepared exactly as the
training data was. It works in two parts:

1. **Encoding** (:meth:`Preprocessor.encode_frame`): pick the feature columns in training order,
   parse numbers (the file's decimal and thousands marks), map yes/no columns to 1/0 and one-hot
   encode categorical columns. Missing values stay NaN. This part needs pandas and runs outside
   the model.
2. **Numeric part** (:meth:`Preprocessor.transform_array`, or the same in torch via
   :meth:`Preprocessor.as_module`): replace non-finite values by the training mean, divide by a
   fixed scale (255 for pixels) and standardise with the training mean and standard deviation.
   An exported graph starts with this module, so it takes raw inputs (NaN in, imputed inside).

``transform_frame(df) == as_module()(encode_frame(df))`` to float32 rounding: both do the same
float32 operations in the same order.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from netstudio.core.data.chunks import (
    chunk_moments,
    chunk_rows,
    combine_moments,
    finite_chunk,
    run_parallel,
)
from netstudio.core.data.columns import Column, locate_columns
from netstudio.core.data.model_inputs import (
    parse_bools,
    parse_numbers,
    text_values,
)
from netstudio.core.errors import DataError

FORMAT = "netstudio-preprocessor"
VERSION = 1
KINDS = ("tabular", "images", "array", "series", "text")

#: Values per block of rows that encode_frame fills column by column, then transposes (in cache).
ENCODE_BLOCK_VALUES = 1 << 18


# ------------------------------------------------------------------------------------------------
# The preprocessor


class Preprocessor:
    """Fitted preprocessing of one dataset (see the module docstring for the two parts).

    Parameters
    ----------
    kind : str
        ``tabular`` (named columns), ``images`` (pixels ``[C, H, W]``), ``array`` (an
        ``.npz`` array of any shape) or ``series`` (windows ``[window, F]`` of a time series's
        numeric columns; see :mod:`~netstudio.core.data.series`).
    input_shape : tuple of int
        One example's shape as the network sees it, without the batch dimension.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    classes : list of str, optional
        Class names in sorted order (classification).
    columns : list of Column
        The raw feature columns, in order (tabular only).
    fill, mean, std : numpy.ndarray
        Per-statistic-group imputation value (raw units), mean and standard deviation (after
        dividing by ``divide_by``), shaped ``stat_shape``.
    stat_shape : tuple of int
        Broadcastable to ``input_shape``: ``(F,)`` per column, ``(C, 1, 1)`` per image channel,
        or all ones for one global statistic.
    divide_by : float
        Raw values are divided by it before standardising (255 for pixels).
    target : dict
        ``{"column": name or None, "mean": float, "std": float}``; a regression prediction in
        target units is ``y * std + mean``.
    number_format : dict
        ``{"decimal": "." or ",", "thousands": mark or None}`` of the training file.
    image : dict, optional
        ``{"size": [h, w], "color": "rgb"|"grayscale"}`` (images only).
    sequence : dict, optional
        ``{"window", "horizon", "order_by", "order_kind"}`` (series only): how the rows of a CSV
        become windows (:func:`netstudio.core.data.series.series_windows`).
    text : dict, optional
        The text column's fitted tokenizer and its settings (``text`` only; see
        :class:`~netstudio.core.data.text.TextEncoder`): the input is ``[max_length]`` token ids,
        which the numeric part leaves as they are (fill 0, the padding id; mean 0, std 1).
    """

    def __init__(self, kind: str, input_shape, task: str, classes: list[str] | None = None, *,
                 columns: list[Column] | None = None, fill=None, mean=None, std=None,
                 stat_shape=None, divide_by: float = 1.0, target: dict | None = None,
                 number_format: dict | None = None, image: dict | None = None,
                 sequence: dict | None = None, text: dict | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown preprocessor kind {kind!r}")
        self.kind = kind
        self.input_shape = tuple(int(s) for s in input_shape)
        self.task = task
        self.classes = list(classes) if classes is not None else None
        self.columns = list(columns or [])
        self.stat_shape = tuple(int(s) for s in (stat_shape if stat_shape is not None else self.input_shape))
        size = math.prod(self.stat_shape)
        self.fill = _float32(fill, size, 0.0).reshape(self.stat_shape)
        self.mean = _float32(mean, size, 0.0).reshape(self.stat_shape)
        self.std = _float32(std, size, 1.0).reshape(self.stat_shape)
        self.divide_by = float(divide_by)
        self.target = {"column": None, "mean": 0.0, "std": 1.0, **(target or {})}
        self.number_format = {"decimal": ".", "thousands": None, **(number_format or {})}
        self.image = dict(image) if image else None
        self.sequence = dict(sequence) if sequence else None
        self.text = dict(text) if text else None
        self._encoder = None

    # --------------------------------------------------------------------------------------------
    # Description

    @property
    def feature_names(self) -> list[str]:
        """The network's input columns in order (tabular), else empty."""
        return [name for column in self.columns for name in column.output_names]

    @property
    def encoder(self):
        """The :class:`~netstudio.core.data.text.TextEncoder` of a text model (None otherwise)."""
        if self.text is None:
            return None
        if self._encoder is None:
            from netstudio.core.data.text import TextEncoder

            self._encoder = TextEncoder(self.text)
        return self._encoder

    @property
    def vocabulary(self) -> int | None:
        """A text model's vocabulary size (the Embedding's ``num_embeddings``), else None."""
        return self.encoder.vocabulary if self.text is not None else None

    @property
    def target_mean(self) -> float:
        return float(self.target["mean"])

    @property
    def target_std(self) -> float:
        return float(self.target["std"])

    def raw_input(self) -> dict:
        """How to build the raw input tensor that :meth:`as_module` (and an export) takes."""
        shape: list[Any] = ["N", *self.input_shape]
        if self.kind == "images":
            h, w = self.image["size"]
            gray = self.image["color"] == "grayscale"
            text = (f"float32 [N, {self.input_shape[0]}, {h}, {w}]: each image converted to "
                    f"{'8-bit grayscale (one channel)' if gray else 'RGB (channels in R, G, B order)'} "
                    f"(transparent pixels composited on white, EXIF orientation applied), resized to "
                    f"{w}x{h} pixels (width x height) with bilinear resampling when its size differs, "
                    f"raw 0-255 pixel values (not scaled), laid out channels first.")
        elif self.kind == "text":
            length = self.input_shape[0]
            return {"dtype": "int64", "shape": shape, "description": (
                f"int64 [N, {length}] token ids of the text column {self.text['column']!r}: the text split by the "
                f"bundled tokenizer (tokenizer.json; {self.text['kind']}"
                f"{', lower-cased' if self.text['lowercase'] else ''}) without special tokens, cut after "
                f"{length} tokens, then padded with id 0 ([PAD]); words it does not know are id 1 ([UNK]).")}
        elif self.kind == "tabular":
            text = (f"float32 [N, {len(self.feature_names)}], one row per example, columns in the order of "
                    "'feature_names': numeric columns as plain numbers in their own units, NaN (or ±inf) "
                    "where missing; a yes/no column is 1.0 for true/yes and 0.0 for false/no; a one-hot "
                    "column 'name=value' is 1.0 when column 'name' equals value and 0.0 otherwise (all "
                    "0.0 for a missing or unseen value).")
        elif self.kind == "series":
            window, width = self.input_shape
            order = self.sequence.get("order_by")
            text = (f"float32 [N, {window}, {width}]: each example is {window} consecutive rows of the series "
                    f"({'ordered by ' + repr(order) if order else 'in file order'}), oldest first, one column per "
                    "name in 'feature_names' as plain numbers in their own units, NaN where missing; the output "
                    f"is the target {self.sequence.get('horizon', 1)} row(s) after the window's last row.")
        else:
            text = (f"float32 [N, {', '.join(map(str, self.input_shape))}]: the values as in the .npz "
                    "array X, NaN where missing.")
        return {"dtype": "float32", "shape": shape, "description": text}

    def to_json(self) -> dict:
        """Plain JSON types only: what runs and exports store."""
        return {
            "format": FORMAT, "version": VERSION, "kind": self.kind,
            "input_shape": list(self.input_shape), "task": self.task, "classes": self.classes,
            "feature_names": self.feature_names,
            "columns": [c.to_json() for c in self.columns],
            "stat_shape": list(self.stat_shape),
            "fill": _floats(self.fill), "mean": _floats(self.mean), "std": _floats(self.std),
            "divide_by": self.divide_by,
            "target": {"column": self.target["column"], "mean": float(self.target["mean"]),
                       "std": float(self.target["std"])},
            "number_format": dict(self.number_format),
            "image": self.image,
            **({"sequence": dict(self.sequence)} if self.sequence else {}),
            "text": self.text,
            "raw_input": self.raw_input(),
        }

    def to_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, doc: dict | str) -> Preprocessor:
        """Rebuild a preprocessor from :meth:`to_json` output (a dict or its JSON text)."""
        if isinstance(doc, str):
            doc = json.loads(doc)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise DataError("not a NetStudio preprocessor (expected \"format\": \"netstudio-preprocessor\")")
        if int(doc.get("version", 0)) > VERSION:
            raise DataError(f"preprocessor version {doc.get('version')} is newer than this NetStudio reads ({VERSION})")
        try:
            return cls(doc["kind"], doc["input_shape"], doc["task"], doc.get("classes"),
                       columns=[Column.from_json(c) for c in doc.get("columns", [])],
                       fill=doc["fill"], mean=doc["mean"], std=doc["std"], stat_shape=doc["stat_shape"],
                       divide_by=doc.get("divide_by", 1.0), target=doc.get("target"),
                       number_format=doc.get("number_format"), image=doc.get("image"),
                       sequence=doc.get("sequence"), text=doc.get("text"))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"the preprocessor description is damaged ({type(exc).__name__}: {exc})") from None

    # --------------------------------------------------------------------------------------------
    # Fitting

    def fit_stats(self, x: np.ndarray, normalize: bool = True) -> int:
        """Fit imputation values, means and standard deviations on the training array *x*.

        *x* holds raw values (encoded, NaN where missing), shaped ``(N, *input_shape)``. The
        statistics ignore non-finite values; a constant group gets a standard deviation of 1.
        Returns the number of non-finite values seen.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            return self._fit_stats(x, normalize)

    def _fit_stats(self, x: np.ndarray, normalize: bool) -> int:
        axes = (0,) + tuple(i + 1 for i, s in enumerate(self.stat_shape) if s == 1)
        # Chunk by chunk (float32, no float64 copy of the data), each centred on its own mean
        # before its squares are summed, so the variance stays accurate for values far from zero;
        # the chunks' moments are then combined exactly (see combine_moments).
        step = chunk_rows(x)

        def moments(start: int) -> tuple:
            with np.errstate(over="ignore", invalid="ignore"):  # per thread
                chunk, finite = finite_chunk(x[start:start + step], self.divide_by)  # may be a view of x
                return chunk_moments(chunk, finite, axes, self.stat_shape, scratch=False)

        parts = run_parallel([lambda s=start: moments(s) for start in range(0, x.shape[0], step)])
        return self._set_stats(*combine_moments(parts, self.stat_shape), normalize, x.size)

    def _set_stats(self, count: np.ndarray, mean: np.ndarray, var: np.ndarray, normalize: bool, size: int) -> int:
        """Store the fill values, means and deviations from the finite values' *count*, *mean*
        and *var* per group; returns how many of *size* values were not finite."""
        mean = np.where(count > 0, mean, 0.0)
        std = np.sqrt(np.maximum(var, 0.0))
        std[~(std > 1e-6 * np.maximum(np.abs(mean), 1.0))] = 1.0  # constant group: no division by 0
        mean[~np.isfinite(mean)] = 0.0  # values near float32's limit overflow the sums
        std[~np.isfinite(std)] = 1.0
        self.fill = (mean * self.divide_by).astype(np.float32)
        self.mean = (mean if normalize else np.zeros_like(mean)).astype(np.float32)
        self.std = (std if normalize else np.ones_like(std)).astype(np.float32)
        return int(size - count.sum())

    # --------------------------------------------------------------------------------------------
    # Applying

    def transform_array(self, x: np.ndarray, inplace: bool = False) -> np.ndarray:
        """The numeric part on raw values *x* ``(N, *input_shape)``: impute, scale, standardise.

        Returns float32. With ``inplace=True`` a float32 *x* is overwritten instead of copied.
        """
        x = np.asarray(x)
        if tuple(x.shape[1:]) != self.input_shape:
            raise DataError(f"expected inputs shaped [N, {', '.join(map(str, self.input_shape))}], "
                            f"got {list(x.shape)}")
        if not (inplace and x.dtype == np.float32 and x.flags.writeable):
            x = x.astype(np.float32, copy=True)
        step = chunk_rows(x)
        run_parallel([lambda s=start: self._standardise(x[s:s + step]) for start in range(0, x.shape[0], step)])
        return x

    def _standardise(self, part: np.ndarray, layout: tuple = ()) -> int:
        """Impute, scale and standardise the float32 *part* in place; returns how many values were
        not finite. *layout* reshapes the statistics to *part*'s axes: ``(-1, 1)`` for a block of
        features x rows. The same float32 operations, in the same order, as :meth:`as_module`."""
        fill, mean, std = (a.reshape(layout) if layout else a for a in (self.fill, self.mean, self.std))
        finite = np.isfinite(part)
        count = part.size - int(np.count_nonzero(finite))  # much faster than summing booleans
        if count:
            np.copyto(part, np.broadcast_to(fill, part.shape), where=~finite)
        if self.divide_by != 1.0:
            part /= np.float32(self.divide_by)
        part -= mean
        part /= std
        return count

    def encode_frame(self, frame, rows: np.ndarray | None = None) -> np.ndarray:
        """Raw rows (a pandas DataFrame) -> float32 ``[N, F]`` in feature order, NaN where missing.

        Columns are matched by name (surrounding spaces ignored); extra columns, the target
        included, are ignored. With *rows* (positions), only those rows are encoded, in that
        order, without copying the frame. Raises :class:`DataError` listing the columns that
        are missing.
        """
        if self.kind == "text":
            return self.encode_text_frame(frame, rows).astype(np.float32)
        return self._encode(self._sources(frame), len(frame) if rows is None else len(rows), rows)[0]

    def encode_text_frame(self, frame, rows: np.ndarray | None = None) -> np.ndarray:
        """A text model's raw input for a table: int64 ``[N, max_length]`` token ids of its text
        column (found by name; a missing cell is all padding)."""
        from netstudio.core.data.model_inputs import text_cells

        if self.kind != "text":
            raise DataError(f"a {self.kind} model does not take text")
        try:
            texts = text_cells(frame, self.text["column"])
        except KeyError:
            raise DataError(f"the data lacks the column the model needs: {self.text['column']!r}") from None
        if rows is not None:
            texts = [texts[i] for i in rows]
        return self.encoder.encode(texts)

    def transform_frame(self, frame) -> np.ndarray:
        """Raw rows -> exactly what the network was trained on (float32 ``[N, F]``)."""
        if self.kind == "text":
            return self.encode_frame(frame)
        return self._encode(self._sources(frame), len(frame), None, self._standardise_into)[0]

    def fit_transform_frame(self, frame, train_rows: np.ndarray | None, val_rows: np.ndarray,
                            normalize: bool = True, check=None) -> tuple[np.ndarray, np.ndarray, int]:
        """Encode the training and validation rows of *frame*, fit the statistics on the training
        rows and standardise both: ``(X_train, X_val, values imputed)``.

        The same result as :meth:`encode_frame` on each split, :meth:`fit_stats` on the training
        one and :meth:`transform_array` on both, in fewer passes over the data: the statistics
        are summed from each block of encoded rows while it is in cache, and the validation rows
        are standardised as they are encoded. *train_rows* None means every row; *check*, if
        given, is called between the two splits (a load's cancel check).
        """
        width = len(self.feature_names)
        if self.stat_shape != (width,):  # statistics per group of columns: the two-step way
            X_train = self.encode_frame(frame, train_rows)
            imputed = self.fit_stats(X_train, normalize)
            if check is not None:
                check()
            X_val = self.encode_frame(frame, val_rows)
            imputed += X_val.size - int(np.count_nonzero(np.isfinite(X_val)))
            return self.transform_array(X_train, inplace=True), self.transform_array(X_val, inplace=True), imputed
        sources = self._sources(frame)
        n_train = len(frame) if train_rows is None else len(train_rows)

        def with_moments(block: np.ndarray, target: np.ndarray):
            """Write the raw block (features x rows) into place, then take its moments as fit_stats
            would (scaled, finite values only), using the block as scratch."""
            target[:] = block.T
            with np.errstate(over="ignore", invalid="ignore"):  # per thread
                return chunk_moments(*finite_chunk(block, self.divide_by, scratch=True), (1,), self.stat_shape,
                                scratch=True)

        X_train, parts = self._encode(sources, n_train, train_rows, with_moments)
        imputed = self._set_stats(*combine_moments(parts, self.stat_shape), normalize, X_train.size)
        self.transform_array(X_train, inplace=True)
        if check is not None:
            check()
        X_val, bad = self._encode(sources, len(val_rows), val_rows, self._standardise_into)
        return X_train, X_val, imputed + sum(bad)

    def _standardise_into(self, block: np.ndarray, target: np.ndarray) -> int:
        """Standardise a block of features x rows in cache, then write it transposed into *target*;
        returns how many values were imputed."""
        with np.errstate(over="ignore", invalid="ignore"):
            bad = self._standardise(block, (-1, 1))
        target[:] = block.T
        return bad

    def _sources(self, frame) -> list:
        """Per feature column: its whole-column numbers, or its category codes (-1: none)."""
        import pandas as pd

        if self.kind not in ("tabular", "series"):
            raise DataError(f"a {self.kind} model does not take table rows")
        labels = locate_columns(frame, [c.name for c in self.columns])
        sources = []
        for column, label in zip(self.columns, labels):
            series = frame[label]
            if column.kind == "numeric" and pd.api.types.is_float_dtype(series.dtype) and \
                    not isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
                values = series.to_numpy()  # already numbers: no parsing, no copy
            elif column.kind == "numeric":
                values = parse_numbers(series, self.number_format["decimal"], self.number_format["thousands"])[0]
            elif column.kind == "bool":
                values = parse_bools(series)
            else:
                values = pd.Index(column.categories, dtype=object).get_indexer(text_values(series).astype(object))
            sources.append((column, values))
        return sources

    def _encode(self, sources: list, n: int, rows, finish=None) -> tuple[np.ndarray, list]:
        """Encode *n* rows (*rows*: positions or a slice; None: all) into a new float32 ``[n, F]``.

        Each block of rows is filled column by column (each a contiguous write, a gather when
        *rows* is given), then transposed into place while it is still in cache: one pass over
        the output instead of a whole column-major copy and a whole transposing copy. With
        *finish*, ``finish(block, out_rows)`` does the transposing write instead (and may work
        on the block before or after it); its results come back in block order.
        """
        out = np.empty((n, len(self.feature_names)), dtype=np.float32)

        def encode(start: int, stop: int):
            if rows is None:
                picked = slice(start, stop)
            elif isinstance(rows, slice):
                picked = slice((rows.start or 0) + start, (rows.start or 0) + stop)
            else:
                picked = rows[start:stop]
            block = np.empty((out.shape[1], stop - start), dtype=np.float32)
            j = 0
            for column, values in sources:
                if column.kind == "categorical":
                    codes = values[picked]
                    part = block[j:j + column.width]
                    part[:] = 0.0
                    hit = np.flatnonzero(codes >= 0)
                    part[codes[hit], hit] = 1.0
                elif not isinstance(picked, slice) and values.dtype == np.float32:
                    np.take(values, picked, out=block[j])
                else:
                    with np.errstate(over="ignore"):  # beyond float32's range -> inf -> imputed later
                        block[j] = values[picked]
                j += column.width
            if finish is not None:
                return finish(block, out[start:stop])
            out[start:stop] = block.T
            return None

        step = max(1, ENCODE_BLOCK_VALUES // max(1, out.shape[1]))
        return out, run_parallel([lambda s=start: encode(s, min(n, s + step)) for start in range(0, n, step)])

    def encode_images(self, paths) -> np.ndarray:
        """Image files -> raw float32 ``[N, C, H, W]`` pixels (0-255) as :meth:`raw_input` says."""
        from netstudio.core.data.model_inputs import read_image

        if self.kind != "images":
            raise DataError(f"a {self.kind} model does not take images")
        h, w = self.image["size"]
        out = np.empty((len(paths), *self.input_shape), dtype=np.float32)
        for i, path in enumerate(paths):
            out[i] = read_image(path, (h, w), self.image["color"])
        return out

    def transform_images(self, paths) -> np.ndarray:
        """Image files -> exactly what the network was trained on."""
        return self.transform_array(self.encode_images(paths), inplace=True)

    def inverse_target(self, y: np.ndarray) -> np.ndarray:
        """Standardised regression outputs -> the target's own units."""
        return np.asarray(y, dtype=np.float64) * self.target_std + self.target_mean

    def as_module(self):
        """A ``torch.nn.Module`` doing the numeric part: raw float32 inputs -> network inputs.

        Its input is described by :meth:`raw_input`; non-finite values are imputed inside, so an
        exported graph that starts with it takes raw data.
        """
        from netstudio.core.data.preprocess_module import RawInputs

        return RawInputs(self.fill, self.mean, self.std, self.divide_by)


# ------------------------------------------------------------------------------------------------
# Helpers


def _float32(values, size: int, default: float) -> np.ndarray:
    if values is None:
        return np.full(size, default, dtype=np.float32)
    array = np.asarray(values, dtype=np.float32).reshape(-1)
    if array.size != size:
        raise ValueError(f"expected {size} statistics, got {array.size}")
    return array


def _floats(array: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(array, dtype=np.float64).reshape(-1)]


