"""Reading cells of a table: missing-value words, numbers with local marks, yes/no words.

Shared by the loaders (deciding what a column is) and by
:meth:`netstudio.core.data.preprocess.Preprocessor.encode_frame` (encoding raw rows at predict time),
so a cell means the same thing at both times.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

#: Cell texts read as "missing" besides the empty cell (compared after stripping, case-insensitive).
MISSING_TOKENS = ("na", "n/a", "nan", "null", "none", "nil", "?", "-", "--", "missing", "#n/a",
                  "<na>", "#na", "n.a.", "not available")
TRUE_WORDS = frozenset({"true", "yes", "y", "t", "on"})
FALSE_WORDS = frozenset({"false", "no", "n", "f", "off"})
_CURRENCY = re.compile(r"^[\$€£¥]\s*|\s*[\$€£¥%]$")


def na_strings() -> list[str]:
    """Every spelling of :data:`MISSING_TOKENS` that pandas should read as NaN."""
    words = set()
    for token in MISSING_TOKENS:
        words.update({token, token.upper(), token.title()})
    return sorted(words)


def text_values(series) -> Any:
    """*series* as stripped text with NaN for missing cells (numbers print without a trailing .0)."""
    import pandas as pd

    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        out = np.empty(len(values), dtype=object)
        finite = np.isfinite(values)
        integral = finite & (values == np.round(values)) & (np.abs(values) < 2**53)
        out[integral] = [str(int(v)) for v in values[integral]]
        other = finite & ~integral
        out[other] = [repr(float(v)) for v in values[other]]
        out[~finite] = np.nan
        return pd.Series(out, index=series.index, dtype=object)
    text = series.astype("str") if not pd.api.types.is_string_dtype(series.dtype) else series
    text = text.str.strip()
    lowered = text.str.lower()
    return text.mask(lowered.isin(MISSING_TOKENS) | (text == ""))


def parse_numbers(series, decimal: str = ".", thousands: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of *series* as float64, and a mask of the cells that were text but not a number.

    Numeric dtypes pass through. Text is stripped; a leading or trailing currency sign and a
    trailing ``%`` are dropped; the thousands mark is removed and a decimal comma becomes a point.
    Missing cells are NaN and not "bad".
    """
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.zeros(len(values), dtype=bool)
    text = text_values(series)
    missing = text.isna().to_numpy()
    cleaned = text.str.replace(_CURRENCY, "", regex=True)
    if thousands:
        cleaned = cleaned.str.replace(thousands, "", regex=False)
    if decimal != ".":
        cleaned = cleaned.str.replace(decimal, ".", regex=False)
    values = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    return values, np.isnan(values) & ~missing


def parse_bools(series) -> np.ndarray:
    """1.0 for true/yes, 0.0 for false/no, NaN otherwise (missing or anything else)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        values[(values != 0) & (values != 1)] = np.nan
        return values
    lowered = text_values(series).str.lower()
    out = np.full(len(lowered), np.nan)
    out[lowered.isin(TRUE_WORDS).to_numpy()] = 1.0
    out[lowered.isin(FALSE_WORDS).to_numpy()] = 0.0
    return out


def is_bool_like(values) -> bool:
    """Whether every (lower-cased) distinct value is a yes/no word of one true and one false kind."""
    words = {str(v).lower() for v in values}
    return bool(words) and words <= (TRUE_WORDS | FALSE_WORDS) and len(words) <= 2 and (
        len(words) == 1 or (len(words & TRUE_WORDS) == 1 and len(words & FALSE_WORDS) == 1))
