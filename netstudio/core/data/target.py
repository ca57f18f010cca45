"""Deciding the task from a target column and encoding it: classes or values."""

from __future__ import annotations

import re

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
    """The first *limit* labels on one line (a quoted label may hold line breaks)."""
    shown = ", ".join(" ".join(str(item).split()) for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


#: Column names that say "this is what to predict".
_LABEL_NAME = re.compile(r"^(target|label|labels|class|classes|category|species|outcome|result|diagnosis|"
                         r"survived|churn|grade|quality|default|response|variety|kind|type|sentiment)$"
                         r"|(^|[\s_\-.])(target|label|class|outcome)$", re.IGNORECASE)
#: Column names that never are: identifiers, years, dates and times.
_NOT_TARGET_NAME = re.compile(r"(^|[\s_\-.])(id|ids|uuid|guid|key|index|idx|row|rowid|no|nr|year|yr|date|"
                              r"datetime|time|timestamp|month|day|week|created|updated)$"
                              r"|^(unnamed: ?\d+)$|[a-z0-9](Id|ID|Year|Date|Time)$", re.IGNORECASE)
_DATE_TEXT = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}.*)?$")


def guess_target(frame) -> tuple[str, str]:
    """The column of *frame* most likely meant as the target, and why it was picked.

    An identifier (a distinct value per row, named like an id), a year, a date
    or a time is never guessed unless no other column exists. Ranked: named like a label; the
    last column when it holds classes (text or few whole numbers); another text column with few
    values; the last column (numbers: a regression); a column of few whole numbers; any other.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as :func:`~netstudio.core.data.csv.read_table` reads it (numbers as floats,
        other columns as text).

    Returns
    -------
    name : str
    reason : str
        A few words for the note the loader prints ("a text column with 3 values").
    """
    import pandas as pd

    names = [str(c) for c in frame.columns]
    sample = frame.head(2000)
    best, best_score, best_reason = names[-1], -1.0, "the last column"
    for position, name in enumerate(names):
        score, reason = _target_score(name, sample[frame.columns[position]], pd)
        last = position == len(names) - 1
        if last and score in (2.0, 3.0):
            score, reason = 3.5, f"the last column, {reason}"
        elif last and score == 1.0:
            score, reason = 2.5, "the last column"
        if score >= best_score:  # ties go to the later column
            best, best_score, best_reason = name, score, reason
    return best, best_reason


def _target_score(name: str, column, pd) -> tuple[float, str]:
    """How likely the column is the target (negative: never), and why, in a few words."""
    values = column.dropna()
    if not len(values):
        return -1.0, "an empty column"
    numeric = pd.api.types.is_numeric_dtype(column)
    distinct = values.nunique()
    many = distinct > min(20, max(2, len(values) // 2))
    if _NOT_TARGET_NAME.search(name):
        return -1.0, "the last column"
    if numeric:
        floats = values.to_numpy(dtype=np.float64)
        whole = bool(np.all(floats == np.round(floats)))
        if whole and floats.min() >= 1800 and floats.max() <= 2100 and distinct > 1:
            return -1.0, "the last column"  # years
        if whole and distinct == len(values) and len(values) > 20:
            return -1.0, "the last column"  # a counter: one value per row
    else:
        text = values.astype(str)
        if text.str.match(_DATE_TEXT).mean() > 0.8:
            return -1.0, "the last column"
        if distinct == len(values) and len(values) > 20:
            return -1.0, "the last column"  # names, ids, free text
    if _LABEL_NAME.search(name):
        return 4.0, "named like a label"
    if name.strip().lower() == "y":  # a label, or the second coordinate of x, y: weaker
        return 3.8, "named like a label"
    if not numeric and 2 <= distinct and not many:
        return 3.0, f"a text column with {distinct} values"
    if numeric and 2 <= distinct and not many and bool(np.all(floats == np.round(floats))):
        return 2.0, f"a whole-number column with {distinct} values"
    return 1.0, "a usable column"
