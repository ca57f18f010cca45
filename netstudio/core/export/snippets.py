"""Fixed pieces of the ``python`` export's ``model.py`` (see :mod:`netstudio.core.export.code`).

They mirror NetStudio's own code in plain PyTorch/NumPy/pandas/Pillow: ``ENCODE_TABLE`` does
what :meth:`netstudio.core.data.preprocess.Preprocessor.encode_frame` does, ``READ_IMAGES`` what the
image loader does, ``RECURRENT`` is :class:`netstudio.core.design.modules.Recurrent`. Tests hold each
copy to the original on the same inputs.
"""

ENCODE_TABLE = r'''
CURRENCY = re.compile(r"^[\$€£¥]\s*|\s*[\$€£¥%]$")


def cell_text(series):
    """Cells as stripped text, NaN where missing (whole numbers written without ".0")."""
    import pandas as pd

    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        out = np.full(len(values), np.nan, dtype=object)
        finite = np.isfinite(values)
        whole = finite & (values == np.round(values)) & (np.abs(values) < 2**53)
        out[whole] = [str(int(v)) for v in values[whole]]
        out[finite & ~whole] = [repr(float(v)) for v in values[finite & ~whole]]
        return pd.Series(out, index=series.index, dtype=object)
    text = series.astype("str").str.strip()
    return text.mask(text.str.lower().isin(MISSING) | (text == ""))


def cell_numbers(series) -> np.ndarray:
    """Numbers of a column: DECIMAL and THOUSANDS marks, currency signs and % allowed."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    text = cell_text(series).str.replace(CURRENCY, "", regex=True)
    if THOUSANDS:
        text = text.str.replace(THOUSANDS, "", regex=False)
    if DECIMAL != ".":
        text = text.str.replace(DECIMAL, ".", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _bools(series) -> np.ndarray:
    """1.0 for true/yes, 0.0 for false/no, NaN otherwise."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        values[(values != 0) & (values != 1)] = np.nan
        return values
    lowered = cell_text(series).str.lower()
    out = np.full(len(lowered), np.nan)
    out[lowered.isin(TRUE_WORDS).to_numpy()] = 1.0
    out[lowered.isin(FALSE_WORDS).to_numpy()] = 0.0
    return out


def encode_table(frame) -> np.ndarray:
    """Raw table rows (a pandas DataFrame) -> float32 [N, len(FEATURE_NAMES)], NaN where missing.

    Columns are found by name (surrounding spaces ignored); other columns, the target included,
    are ignored. Yes/no columns become 1/0; categorical columns are one-hot encoded (all zero for
    a missing or unseen value).
    """
    import pandas as pd

    labels = {str(c).strip(): c for c in frame.columns}
    labels.update({str(c): c for c in frame.columns})
    missing = [name for name, _, _ in COLUMNS if name not in labels and name.strip() not in labels]
    if missing:
        raise KeyError(f"the data lacks the columns {missing}")
    out = np.zeros((len(frame), len(FEATURE_NAMES)), dtype=np.float32)
    j = 0
    for name, kind, categories in COLUMNS:
        series = frame[labels[name] if name in labels else labels[name.strip()]]
        if kind == "numeric":
            out[:, j] = cell_numbers(series)
        elif kind == "bool":
            out[:, j] = _bools(series)
        else:
            codes = pd.Index(categories, dtype=object).get_indexer(cell_text(series).astype(object))
            hit = np.flatnonzero(codes >= 0)
            out[hit, j + codes[hit]] = 1.0
        j += len(categories) if kind == "categorical" else 1
    return out
'''

READ_IMAGES = r'''
def read_images(paths) -> np.ndarray:
    """Image files -> float32 [N, C, H, W] raw pixels (0-255), read as in training.

    First frame, EXIF orientation applied, transparent pixels composited on white, 16-bit and
    float images scaled to 8 bits, converted to COLOR ("grayscale": one channel, "rgb": three) and
    resized to IMAGE_SIZE (height, width) with bilinear resampling when the size differs.
    """
    from PIL import Image, ImageOps

    height, width = IMAGE_SIZE
    mode = "L" if COLOR == "grayscale" else "RGB"
    out = np.empty((len(paths), *INPUT_SHAPE), dtype=np.float32)
    for i, path in enumerate(paths):
        with Image.open(path) as image:
            image.seek(0)
            image = ImageOps.exif_transpose(image)
            if image.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
                values = np.asarray(image, dtype=np.float64)
                top = 65535.0 if image.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
                scaled = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
                image = Image.fromarray(scaled, "L")
            if image.mode == "P":
                image = image.convert("RGBA" if "transparency" in image.info else "RGB")
            if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
                rgba = image.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                image = Image.alpha_composite(white, rgba)
            image = image.convert(mode) if image.mode != mode else image
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8)
        out[i] = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return out
'''

RECURRENT = r'''
class Recurrent(nn.Module):
    """An LSTM or GRU (batch first) that passes on a tensor: the last time step [N, H], or every
    step [N, T, H] with return_sequences (H doubles when bidirectional)."""

    def __init__(self, kind: str, input_size: int, *, return_sequences: bool = False,
                 **kwargs) -> None:
        super().__init__()
        self.return_sequences = return_sequences
        self.rnn = getattr(nn, kind)(input_size, batch_first=True, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return out if self.return_sequences else out[:, -1]
'''
