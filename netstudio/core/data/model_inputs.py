"""How raw data becomes a model's input: table cells, whole tables, image files.

NetStudio reads every cell and every image through these functions, and the ``python`` export
ships this very file beside ``model.py`` (which calls :func:`encode_table` and
:func:`read_images`), so a raw row or an image means the same thing in training, in ``predict`` and
in the exported plain-PyTorch folder. It imports numpy, and pandas or Pillow where they are
needed, never NetStudio.

- A text column is split into token ids by the run's own tokenizer (Hugging Face
  ``tokenizers``, fitted on the training split, saved as ``tokenizer.json``): each text cut after
  ``max_length`` tokens and padded with :data:`PAD_ID`.
- A cell is missing when it is empty or one of :data:`MISSING_TOKENS`; numbers may carry a
  decimal comma, thousands marks, a currency sign or ``%``; :data:`TRUE_WORDS` and
  :data:`FALSE_WORDS` are 1 and 0.
- The images of a folder are its image files (:data:`EXTENSIONS`) in sorted order, hidden
  files and the folders tools leave behind (:data:`IGNORED_FOLDERS`) left out; an image is read
  as its first frame, EXIF orientation applied, transparent pixels composited
  on white, 16-bit and float images scaled to 8 bits, converted to grayscale or RGB and resized
  with bilinear resampling.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

#: Cell texts read as "missing" besides the empty cell (compared after stripping, case-insensitive).
MISSING_TOKENS = ("na", "n/a", "nan", "null", "none", "nil", "?", "-", "--", "missing", "#n/a",
                  "<na>", "#na", "n.a.", "not available")
TRUE_WORDS = frozenset({"true", "yes", "y", "t", "on"})
FALSE_WORDS = frozenset({"false", "no", "n", "f", "off"})
CURRENCY = re.compile(r"^[\$€£¥]\s*|\s*[\$€£¥%]$")


# ------------------------------------------------------------------------------------------------
# Table cells


def text_values(series) -> Any:
    """*series* as stripped text, NaN for missing cells (numbers without a trailing .0)."""
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


def parse_numbers(series, decimal: str = ".",
                  thousands: str | None = None) -> tuple[np.ndarray, np.ndarray]:
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
    cleaned = text.str.replace(CURRENCY, "", regex=True)
    if thousands:
        cleaned = cleaned.str.replace(thousands, "", regex=False)
    if decimal != ".":
        cleaned = cleaned.str.replace(decimal, ".", regex=False)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
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


def encode_table(frame, columns, feature_names, decimal: str = ".",
                 thousands: str | None = None) -> np.ndarray:
    """Raw table rows (a pandas DataFrame) -> float32 ``[N, len(feature_names)]``, NaN if missing.

    *columns* are the raw columns in order, each ``(name, kind, categories)`` with *kind*
    ``numeric``, ``bool`` or ``categorical``; they are found in *frame* by name (surrounding
    spaces ignored), and other columns, the target included, are ignored. Yes/no columns become
    1/0; categorical columns are one-hot encoded (all zero for a missing or unseen value).
    """
    import pandas as pd

    labels = {str(c).strip(): c for c in frame.columns}
    labels.update({str(c): c for c in frame.columns})
    missing = [name for name, _, _ in columns if name not in labels and name.strip() not in labels]
    if missing:
        raise KeyError(f"the data lacks the columns {missing}")
    out = np.zeros((len(frame), len(feature_names)), dtype=np.float32)
    j = 0
    for name, kind, categories in columns:
        series = frame[labels[name] if name in labels else labels[name.strip()]]
        if kind == "numeric":
            out[:, j] = parse_numbers(series, decimal, thousands)[0]
        elif kind == "bool":
            out[:, j] = parse_bools(series)
        else:
            text = text_values(series).astype(object)
            codes = pd.Index(categories, dtype=object).get_indexer(text)
            hit = np.flatnonzero(codes >= 0)
            out[hit, j + codes[hit]] = 1.0
        j += len(categories) if kind == "categorical" else 1
    return out


# ------------------------------------------------------------------------------------------------
# Text

#: The token id of padding (and of a missing text): every NetStudio tokenizer puts ``[PAD]`` first.
PAD_ID = 0


def load_tokenizer(doc):
    """A Hugging Face ``tokenizers.Tokenizer`` from its JSON (a dict or its text)."""
    import json

    from tokenizers import Tokenizer

    return Tokenizer.from_str(doc if isinstance(doc, str) else json.dumps(doc))


def text_cells(frame, column: str) -> list[str]:
    """The cells of the text column *column* (found by name, surrounding spaces ignored) as
    strings; a missing cell is the empty text."""
    labels = {str(c).strip(): c for c in frame.columns}
    labels.update({str(c): c for c in frame.columns})
    label = labels.get(column, labels.get(column.strip()))
    if label is None:
        raise KeyError(f"the data lacks the text column {column!r}")
    cells = text_values(frame[label]).to_numpy(dtype=object, na_value=np.nan)
    return ["" if isinstance(v, float) else str(v) for v in cells]


def encode_texts(tokenizer, texts, max_length: int) -> np.ndarray:
    """Texts -> int64 ``[N, max_length]`` token ids: each text's tokens, cut after *max_length*,
    then :data:`PAD_ID` to fill the row."""
    out = np.full((len(texts), max_length), PAD_ID, dtype=np.int64)
    encodings = tokenizer.encode_batch([str(t) for t in texts], add_special_tokens=False)
    for i, encoding in enumerate(encodings):
        ids = encoding.ids[:max_length]
        out[i, :len(ids)] = ids
    return out


# ------------------------------------------------------------------------------------------------
# Image files

EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})
#: Folders that tools leave behind and that are never classes.
IGNORED_FOLDERS = frozenset({"__MACOSX", "@eaDir", "$RECYCLE.BIN"})


def visible(name: str) -> bool:
    """Whether a file or folder is neither hidden nor one that tools leave behind."""
    return not name.startswith((".", "_.")) and name not in IGNORED_FOLDERS


def images_under(folder: Path) -> list[Path]:
    """Every image file under *folder*, sorted, hidden files and tool folders left out."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if visible(d))
        found.extend(Path(root) / n for n in sorted(names)
                     if visible(n) and os.path.splitext(n)[1].lower() in EXTENSIONS)
    return found



def read_image(path, size: tuple[int, int], color: str) -> np.ndarray:
    """One image file as uint8 ``[C, H, W]`` (C = 3 for ``rgb``, 1 for ``grayscale``).

    Raises the file's own error (OSError, ValueError...) when it cannot be decoded.
    """
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image.seek(0)
        image = ImageOps.exif_transpose(image)
        image = _to_mode(image, "L" if color == "grayscale" else "RGB")
        h, w = size
        if image.size != (w, h):
            image = image.resize((w, h), Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _to_mode(image, mode: str):
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        image = Image.fromarray(np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert(mode) if image.mode != mode else image


def read_images(paths, size: tuple[int, int], color: str) -> np.ndarray:
    """Image files -> float32 ``[N, C, H, W]`` raw pixels (0-255), as read_image reads them."""
    out = np.empty((len(paths), 1 if color == "grayscale" else 3, *size), dtype=np.float32)
    for i, path in enumerate(paths):
        out[i] = read_image(path, size, color)
    return out
