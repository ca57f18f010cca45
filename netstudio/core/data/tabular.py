"""From a table to a Dataset: column roles, task detection, encoding and the split.

Column roles: the ``target`` (default: :func:`~netstudio.core.data.target.guess_target`), the ``exclude`` list, and every other
column as a feature, except those that cannot help and are left out with a note: empty or constant
columns, identifiers (a distinct value per row, or a counter named like an id) and text with too
many distinct values to one-hot encode. Text columns with few distinct values are one-hot encoded,
yes/no columns become 1/0, numbers stay numbers (missing ones are imputed with the training
split's mean). Rows without a target are dropped. A free-text column (``data.text``, or detected when
no other column is usable) makes the input its token ids instead (:mod:`~netstudio.core.data.text`).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import numpy as np

from netstudio.core.data import text as text_input
from netstudio.core.data.cells import is_bool_like
from netstudio.core.data.columns import Column
from netstudio.core.data.common import Monitor, assemble, resolve_path, split_rows
from netstudio.core.data.csv import TableFormat, read_table
from netstudio.core.data.dataset import Dataset
from netstudio.core.data.model_inputs import PAD_ID, parse_numbers, text_cells, text_values
from netstudio.core.data.preprocess import Preprocessor
from netstudio.core.data.target import classify_target, guess_target
from netstudio.core.errors import DataError
from netstudio.core.strings import plural

#: A text column with at most this many distinct values is one-hot encoded.
MAX_CATEGORIES = 50
#: A numeric column mostly numbers, with at most this share of other text, is numeric (text -> missing).
MAX_BAD_SHARE = 0.05
_ID_NAME = re.compile(r"(^|[\s_\-.])(id|ids|uuid|guid|key|index|idx|row|rowid|no|nr|number|#)$|^(unnamed: ?\d+|column 1)$",
                      re.IGNORECASE)
_ID_CAMEL = re.compile(r"[a-z0-9](Id|ID|Key|No|Nr|Number)$")  # PassengerId, orderID, customerNo


def load_csv(config: dict, base_dir: Path, monitor: Monitor | None = None) -> Dataset:
    """A CSV/TSV file as a Dataset (the ``csv`` source)."""
    path = resolve_path(config["path"], base_dir)
    target = config.get("target")
    frame, fmt = read_table(path, monitor, target=target.strip() if isinstance(target, str) else None)
    return frame_dataset(frame, fmt, config, path, monitor)


def frame_dataset(frame, fmt: TableFormat, config: dict, path: Path, monitor: Monitor | None = None) -> Dataset:
    """Prepare a table read by :func:`~netstudio.core.data.csv.read_table` (see module docstring)."""
    where = str(path)
    notes = list(fmt.notes)
    warnings: list[str] = []
    target, candidates, explicit = _choose_columns(config, frame, where, notes, warnings)
    keep, y, task, classes = _target(frame[target], fmt, config["task"], where, target, warnings)
    dropped = int((~keep).sum())
    if dropped:
        notes.append(f"{plural(dropped, 'row')} without a value in {target!r} dropped")
    rows = np.flatnonzero(keep)
    if len(rows) < 2:
        raise DataError(f"{where}: only {plural(len(rows), 'row')} with a target value: need at least 2")
    if monitor is not None:
        monitor.check()
    text_column = config.get("text")
    if text_column is not None and str(text_column).strip():
        text_column = find_column(str(text_column), [str(c) for c in frame.columns], where, "text column")
        if text_column == target:
            raise DataError(f"{where}: data.text {text_column!r} is the target column: choose another")
        return text_dataset(frame, text_column, target, rows, y, task, classes, config, path, notes, warnings, dropped)
    columns, left_out = _feature_columns(frame, candidates, fmt, explicit, notes, warnings)
    if not columns and not explicit:
        # only then: a table with one usable column and a free-text one (Titanic's Name) stays a table
        found = next((name for name in candidates if text_input.looks_like_text(frame[name])), None)
        if found is not None:
            notes = [n for n in notes if not n.startswith(f"column {found!r} left out")]
            notes.append(f"column {found!r} read as free text (the input is its token ids); set data.text to "
                         "choose another")
            return text_dataset(frame, found, target, rows, y, task, classes, config, path, notes, warnings, dropped)
    if not columns:
        why = f"; left out: {', '.join(left_out)}" if left_out else ""
        raise DataError(f"{where}: no usable feature column (target {target!r}{why})")
    train, val, test = split_rows(len(rows), y if classes else None, config)
    train_rows, val_rows, test_rows = (train, val, test) if len(rows) == len(frame) else (rows[train], rows[val], rows[test])
    categorical_missing = _fit_categories(frame, columns, train_rows, rows, notes)
    if not columns:
        raise DataError(f"{where}: no usable feature column (target {target!r})")
    pre = Preprocessor("tabular", (sum(c.width for c in columns),), task, classes, columns=columns,
                       stat_shape=(sum(c.width for c in columns),),
                       target={"column": target}, number_format=fmt.number_format)
    if monitor is not None:
        monitor.check()
    # Encode each split straight from the frame (no full-size intermediate array), fitting the
    # statistics and standardising on the way.
    # The test rows are encoded with the validation rows, then split off.
    X_train, X_held, imputed = pre.fit_transform_frame(frame, None if len(train_rows) == len(frame) else train_rows,
                                                       np.concatenate([val_rows, test_rows]), bool(config["normalize"]),
                                                       check=monitor.check if monitor is not None else None)
    X_val, X_test = X_held[:len(val_rows)], X_held[len(val_rows):]
    if categorical_missing:
        notes.append(f"{plural(categorical_missing, 'missing categorical value')} "
                     "encoded as all-zero one-hot rows")
    return assemble(path.name.split(".")[0] or path.stem, "csv", pre, X_train, X_val, y[train], y[val],
                    normalize=bool(config["normalize"]), notes=notes, warnings=warnings,
                    dropped=dropped, extra_missing=categorical_missing, where=where, imputed=imputed,
                    raw_test=X_test, y_test=y[test])


def _choose_columns(config: dict, frame, where: str, notes: list[str], warnings: list[str]):
    """``(target, candidate feature columns, whether data.features listed them)``."""
    names = [str(c) for c in frame.columns]
    target = config.get("target")
    if target is None or not str(target).strip():
        target, why = guess_target(frame)
        notes.append(f"no target column given: guessed {target!r} ({why}); set data.target to choose another")
    else:
        target = find_column(str(target), names, where, "target column")
    exclude, absent = set(), []
    for name in config.get("exclude") or []:
        if name in names or name.strip() in names:
            exclude.add(name if name in names else name.strip())
        else:
            absent.append(name)
    # one warning, however many names: a list of a million made a million lines in the window
    if len(absent) == 1:
        warnings.append(f"data.exclude: there is no column {absent[0]!r}")
    elif absent:
        shown = ", ".join(repr(n[:40]) for n in absent[:3])
        warnings.append(f"data.exclude: {len(absent):,} names are not columns ({shown}"
                        f"{', ...' if len(absent) > 3 else ''})")
    explicit = config.get("features")
    if explicit:
        candidates = [c for c in dict.fromkeys(find_column(str(n), names, where, "feature column") for n in explicit)
                      if c != target]
    else:
        candidates = [n for n in names if n != target and n not in exclude]
    return target, candidates, bool(explicit)


def _feature_columns(frame, candidates: list[str], fmt: TableFormat, explicit: bool, notes: list[str],
                     warnings: list[str]) -> tuple[list[Column], list[str]]:
    """The candidates that can be features, each with its kind, and those left out (with why)."""
    columns: list[Column] = []
    left_out: list[str] = []
    for name in candidates:
        column, reason = _role(frame[name], name, fmt, len(frame), warnings, explicit=explicit)
        if column is None:
            left_out.append(f"{name} ({reason})")
            notes.append(f"column {name!r} left out: {reason}")
        else:
            columns.append(column)
            if column.kind == "bool":
                notes.append(f"column {name!r} read as yes/no (1/0)")
    return columns, left_out


def _fit_categories(frame, columns: list[Column], train_rows: np.ndarray, rows: np.ndarray, notes: list[str]) -> int:
    """Each categorical column's categories, from the training split (a column without any is left
    out); returns how many categorical cells of the kept rows are missing."""
    categorical_missing = 0
    for column in list(columns):
        if column.kind != "categorical":
            continue
        text = text_values(frame[column.name])
        seen = text.iloc[train_rows].dropna().unique()
        column.categories = sorted(str(v) for v in seen)
        categorical_missing += int(text.iloc[rows].isna().sum())
        if not column.categories:
            columns.remove(column)
            notes.append(f"column {column.name!r} left out: no values in the training split")
        else:
            notes.append(f"column {column.name!r} one-hot encoded ({len(column.categories)} categories)")
    return categorical_missing


def find_column(name: str, names: list[str], where: str, what: str) -> str:
    """*name* among *names* (surrounding spaces ignored), else a DataError listing close matches."""
    if name in names:
        return name
    stripped = name.strip()
    if stripped in names:
        return stripped
    folded = {n.lower(): n for n in names}
    close = [folded[stripped.lower()]] if stripped.lower() in folded else []
    close += [folded[m] for m in difflib.get_close_matches(stripped.lower(), list(folded), 3, 0.6)
              if folded[m] not in close]
    hint = f"; did you mean {' or '.join(repr(c) for c in close[:3])}?" if close else ""
    shown = ", ".join(repr(n) for n in names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    return _raise(f"{where}: {what} {stripped!r} not found{hint} (columns: {shown})")


def _raise(message: str):
    raise DataError(message)


def _target(series, fmt: TableFormat, requested: str, where: str, name: str, warnings: list[str]):
    """Classify the target: numbers (every non-missing cell parses) or text labels.

    Numbers with a few stray words (at most 5 %, and more than 20 distinct numbers) are numbers:
    the stray cells count as missing, so their rows are dropped, with a warning.
    """
    import pandas as pd

    if pd.api.types.is_float_dtype(series.dtype):
        if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
            return classify_target(series.to_numpy(dtype=np.float64, na_value=np.nan), None, requested, where, name)
        return classify_target(series.to_numpy(dtype=np.float64), None, requested, where, name)  # NaN: missing
    text = text_values(series)
    distinct = text.dropna().unique()
    if not is_bool_like(distinct):
        values, bad = parse_numbers(series, fmt.decimal, fmt.thousands)
        bad_count = int(bad.sum())
        if not bad_count:
            return classify_target(values, None, requested, where, name)
        present = int(text.notna().sum())
        if requested not in ("binary", "multiclass") and bad_count <= MAX_BAD_SHARE * present \
                and len(distinct) - len(pd.unique(text[bad])) > 20:
            examples = ", ".join(repr(v) for v in pd.unique(text[bad])[:3])
            warnings.append(f"target column {name!r}: {plural(bad_count, 'value')} that "
                            f"{'are' if bad_count != 1 else 'is'} not a number ({examples}) treated as missing")
            return classify_target(values, None, requested, where, name)
    return classify_target(None, text.to_numpy(dtype=object, na_value=np.nan), requested, where, name)


def _role(series, name: str, fmt: TableFormat, n: int, warnings: list[str], explicit: bool):
    """``(Column, None)`` for a usable feature, ``(None, reason)`` for one left out."""
    import pandas as pd

    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy()
        return _numeric_role(values, name, explicit)
    text = text_values(series)
    present = int(text.notna().sum())
    if present == 0:
        return None, "it is empty"
    values, bad = parse_numbers(series, fmt.decimal, fmt.thousands)
    bad_count = int(bad.sum())
    distinct = text.dropna().unique()
    if bad_count == 0:
        return _numeric_role(values, name, explicit)
    if bad_count <= MAX_BAD_SHARE * present and len(distinct) > 2 * bad_count:
        examples = ", ".join(repr(v) for v in pd.unique(text[bad])[:3])
        warnings.append(f"column {name!r}: {plural(bad_count, 'value')} that "
                        f"{'are' if bad_count != 1 else 'is'} not a number ({examples}) treated as missing")
        return _numeric_role(values, name, explicit)
    if len(distinct) == 1 and not explicit:
        return None, f"it is constant ({distinct[0]!r})"
    if is_bool_like(distinct):
        return Column(name, "bool"), None
    if len(distinct) == present and present >= 10 and not explicit:
        return None, "it looks like an identifier (a different value in every row)"
    if len(distinct) > MAX_CATEGORIES:
        return None, f"text with {len(distinct):,} distinct values, too many to one-hot encode (at most {MAX_CATEGORIES})"
    return Column(name, "categorical"), None


def _numeric_role(values: np.ndarray, name: str, explicit: bool):
    # fmin/fmax skip NaN without copying the column; an infinite end falls back to a mask
    low, high = np.fmin.reduce(values), np.fmax.reduce(values)
    if not (np.isfinite(low) and np.isfinite(high)):
        finite = values[np.isfinite(values)]
        if not len(finite):
            return None, "it is empty"
        low, high = finite.min(), finite.max()
    if explicit:
        return Column(name, "numeric"), None
    if low == high:
        return None, f"it is constant ({float(low):g})"
    # numbers are only an identifier when named like one ("id", "row", a saved index)
    if (_ID_NAME.search(name) or _ID_CAMEL.search(name)) and len(values) >= 10 and np.isfinite(values).all() \
            and np.all(values == np.round(values)) and len(np.unique(values)) == len(values):
        return None, "it looks like an identifier (a distinct number per row, named like an id)"
    return Column(name, "numeric"), None


def text_dataset(frame, column: str, target: str, rows: np.ndarray, y: np.ndarray, task: str,
                 classes: list[str] | None, config: dict, path, notes: list[str], warnings: list[str],
                 dropped: int):
    """The Dataset of a table whose input is the free-text column *column*.

    *rows* are the frame's rows with a target, *y* their encoded targets; the tokenizer is
    fitted on the training split of them only, then every split is encoded with it.
    """
    where = str(path)
    settings = text_input.tokenizer_settings(config)
    texts = text_cells(frame, column)
    train, val, test = split_rows(len(rows), y if classes else None, config)
    picked = [[texts[rows[i]] for i in part] for part in (train, val, test)]
    if not any(t.strip() for t in picked[0]):
        raise DataError(f"{where}: the text column {column!r} is empty in every training row")
    doc = text_input.fit_tokenizer(picked[0], settings["kind"], int(settings["vocab_size"]), bool(settings["lowercase"]))
    settings_doc = {"column": column, "kind": settings["kind"], "vocab_size": int(settings["vocab_size"]),
            "max_length": int(settings["max_length"]), "lowercase": bool(settings["lowercase"]), "tokenizer": doc}
    pre = Preprocessor("text", (settings_doc["max_length"],), task, classes, stat_shape=(1,), fill=[float(PAD_ID)],
                       mean=[0.0], std=[1.0], target={"column": target}, text=settings_doc)
    encoder = pre.encoder
    X_train, X_val, X_test = (encoder.encode(part).astype(np.float32) for part in picked)
    counts = encoder.token_counts(picked[0])
    summary = text_input.text_summary(encoder, picked[0], counts)
    notes = [*notes, f"text column {column!r}: {encoder.vocabulary:,} tokens fitted on the training rows "
                     f"({settings['kind']}), {settings_doc['max_length']} tokens per text"]
    lengths = summary["lengths"]
    if lengths["truncated_share"] > 1 - text_input.SUGGEST_QUANTILE:
        warnings = [*warnings, f"{lengths['truncated_share']:.0%} of the training texts are longer than max_length "
                               f"{settings_doc['max_length']} and are cut: {lengths['suggested_max_length']} would keep 95%"]
    name = path.name.split(".")[0] or path.stem
    dataset = assemble(name, "csv", pre, X_train, X_val, y[train], y[val], normalize=False, notes=notes,
                       warnings=warnings, dropped=dropped, where=where, imputed=0, raw_test=X_test, y_test=y[test])
    dataset.summary.text = summary
    return dataset
