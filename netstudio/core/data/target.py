"""Deciding the task from a target column and encoding it: classes or values."""

from __future__ import annotations

import numpy as np

from netstudio.core.errors import DataError

#: More classes than this is not a classification target.
MAX_CLASSES = 1000


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
    label = f"{where}: target column {name!r}"
    if values is not None:
        keep = np.isfinite(values)
        kept = values if keep.all() else values[keep]  # not modified below: no copy needed
        found = _numeric_classes(kept, requested, label)
        if found is None:
            return keep, kept, "regression", None
        codes, classes = found
    else:
        keep, codes, classes = _text_classes(text, requested, label)
    if len(classes) < 2:
        raise DataError(f"{label} has a single class ({classes[0]!r}): classification needs at least two")
    if requested == "binary" and len(classes) != 2:
        raise DataError(f"{label} has {len(classes)} classes ({_short(classes)}), but data.task is binary")
    task = "binary" if requested == "auto" and len(classes) == 2 else (
        "multiclass" if requested == "auto" else requested)
    return keep, codes, task, classes


def _numeric_classes(kept: np.ndarray, requested: str, label: str):
    """``(codes, class names)`` of a numeric target with few whole values, or None for regression."""
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
        return None
    if len(distinct) > MAX_CLASSES:
        raise DataError(f"{label} has {len(distinct):,} distinct values, too many to be classes "
                        f"(at most {MAX_CLASSES}): use task regression or another target")
    return np.searchsorted(distinct, kept).astype(np.int64), [_number(v) for v in distinct]


def _text_classes(text, requested: str, label: str):
    """``(rows with a target, codes, class names)`` of a text target (classes sorted)."""
    import pandas as pd

    if requested == "regression":
        sample = next((str(v) for v in text if isinstance(v, str)), "")
        raise DataError(f"{label} is not numeric (it holds text such as {sample!r}): regression needs numbers")
    text = pd.Series(text, dtype=object)
    keep = text.notna().to_numpy()
    kept = text[keep].astype(str)
    classes = sorted(set(kept))
    if not classes:
        raise DataError(f"{label} has no values")
    if len(classes) > MAX_CLASSES:
        raise DataError(f"{label} has {len(classes):,} distinct values, too many to be classes "
                        f"(at most {MAX_CLASSES}): choose another target")
    return keep, pd.Index(classes, dtype=object).get_indexer(kept.astype(object)).astype(np.int64), classes


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value == round(value) and abs(value) < 2**53 else repr(value)


def _short(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
