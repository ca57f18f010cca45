"""Try it: the current model's prediction for raw values the user types, or an image file.

:func:`prepare_values` turns raw column values (strings, as typed) into the network's input
exactly as ``netstudio predict`` does (the fitted preprocessor: parsing, one-hot, imputation,
standardising); :func:`prepare_image` does the same for an image file. :func:`predict_sample`
returns a :class:`TryResult`: the prediction (class name or value in the target's units) and the
class probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from netstudio.core.errors import DataError


@dataclass(frozen=True)
class TryResult:
    """``prediction``: the class name or the value; ``probabilities``: per class (None for regression)."""

    prediction: str | float
    probabilities: dict | None = field(default=None, compare=False)
    sample: np.ndarray | None = field(default=None, compare=False, repr=False)  # the preprocessed input


def input_columns(dataset) -> list[str]:
    """The raw columns a user types values for (tables; a text model's text column), else empty."""
    pre = dataset.preprocessor
    if getattr(pre, "kind", None) == "text":
        return [pre.text["column"]]
    return [c.name for c in getattr(pre, "columns", None) or []]


def prepare_values(dataset, values: dict) -> np.ndarray:
    """One preprocessed sample from raw column values (missing or empty: imputed as in training)."""
    import pandas as pd

    pre = dataset.preprocessor
    columns = input_columns(dataset)
    if not columns:
        raise DataError("this model does not take table rows")
    if pre.kind == "text":  # the text as typed: tokenized as in training, padded or cut
        frame = pd.DataFrame({columns[0]: [str(values.get(columns[0], "") or "")]}, dtype=object)
        return pre.transform_frame(frame)[0].astype(np.float32)
    frame = pd.DataFrame({name: [str(values.get(name, "") or "")] for name in columns}, dtype=object)
    frame = frame.replace({"": np.nan})
    return pre.transform_frame(frame)[0].astype(np.float32)


def prepare_image(dataset, path) -> np.ndarray:
    """One preprocessed sample from an image file (resized and coloured as the training images)."""
    pre = dataset.preprocessor
    if getattr(pre, "kind", None) != "images":
        raise DataError("this model does not take images")
    if not Path(path).is_file():
        raise DataError(f"{path}: no such image file")
    return pre.transform_images([Path(path)])[0].astype(np.float32)


def predict_sample(model, dataset, output_transform: str, sample: np.ndarray) -> TryResult:
    """The model's prediction for one preprocessed sample."""
    from netstudio.core.training.evaluation import model_outputs

    out = model_outputs(model, np.asarray(sample, dtype=np.float32)[None], output_transform)[0]
    if dataset.task == "regression":
        return TryResult(float(out[0] * dataset.target_std + dataset.target_mean), None, sample)
    probs = np.asarray(out, dtype=np.float64)
    if dataset.task == "binary" and probs.shape[0] == 1:
        probs = np.array([1 - probs[0], probs[0]])
    classes = list(dataset.classes)
    return TryResult(classes[int(probs.argmax())], {c: float(p) for c, p in zip(classes, probs)}, sample)
