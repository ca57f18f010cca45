"""What every export format shares: the format names, the result, the metadata key, the parity check.

:mod:`~netstudio.core.export.exporter` dispatches to the writers (:mod:`~netstudio.core.export.formats`,
:mod:`~netstudio.core.export.python`); they all import from here, never from the exporter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from netstudio.core.errors import ExportError

FORMATS = ("pt2", "torchscript", "onnx", "safetensors", "python")
#: File suffix of each format ("" for the python folder).
SUFFIXES = {"pt2": ".pt2", "torchscript": ".pt", "onnx": ".onnx", "safetensors": ".safetensors", "python": ""}
#: Largest difference allowed between the model and a written file on the same raw inputs: absolute
#: for probabilities, relative to the value's size for regression values above 1.
PARITY_TOLERANCE = 1e-4
#: Name of the metadata entry: ``extra/netstudio.json`` in .pt2/.pt archives, the
#: ``metadata_props`` key in ONNX, the header key in safetensors.
METADATA_KEY = "netstudio"
MODEL_FORMAT = "netstudio-model"


@dataclass
class ExportResult:
    """What an export wrote.

    Attributes
    ----------
    format : str
        One of :data:`FORMATS`.
    path : Path
        The file (or, for ``python``, the folder) written.
    files : list of Path
        Every file written (the folder's contents for ``python``).
    parity_max_abs_diff : float or None
        Largest absolute difference between the model and the written file on the sample
        inputs (ONNX: run in onnxruntime); None when it could not be checked (see ``notes``).
    notes : list of str
        One-line remarks for the user (a check that could not run, a missing optional package).
    """

    format: str
    path: Path
    files: list[Path] = field(default_factory=list)
    parity_max_abs_diff: float | None = None
    notes: list[str] = field(default_factory=list)


def input_dtype(metadata: dict):
    """The numpy type of a model's raw input: int64 token ids for a text model, else float32."""
    return np.int64 if (metadata.get("raw_input") or {}).get("dtype") == "int64" else np.float32


def check_format(format: str) -> str:
    """*format* if it is one of :data:`FORMATS`, else :class:`ExportError` listing them."""
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r} (choose from {', '.join(FORMATS)})")
    return format


def onnx_available() -> str | None:
    """Whether ONNX export works here (an export dialog can grey the format out).

    Returns
    -------
    str or None
        None when ``onnx`` and ``onnxscript`` are installed, else a one-line reason naming the
        ``onnx`` extra.
    """
    missing = [name for name in ("onnx", "onnxscript") if not _importable(name)]
    if missing:
        return (f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: "
                "install the onnx extra (pip install 'netstudio[onnx]')")
    return None


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def parity_check(expected: np.ndarray, actual: np.ndarray, what: str) -> float:
    """Compare a written model's outputs with the trained model's.

    Parameters
    ----------
    expected, actual : numpy.ndarray
        Outputs of the trained model and of the written file on the same inputs.
    what : str
        The written model, for the message ("the ONNX model in onnxruntime").

    Returns
    -------
    float
        The largest absolute difference.

    Raises
    ------
    ExportError
        When a difference exceeds :data:`PARITY_TOLERANCE` (relative to values above 1), the
        shapes differ, or one side is non-finite where the other is not.
    """
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if expected.shape != actual.shape:
        raise ExportError(f"{what} gives outputs shaped {list(actual.shape)}, the model {list(expected.shape)}")
    if not np.isfinite(actual).all() and not np.array_equal(np.isfinite(actual), np.isfinite(expected)):
        raise ExportError(f"{what} gives non-finite outputs where the model does not")
    diff = np.abs(np.nan_to_num(actual) - np.nan_to_num(expected))
    worst = float(diff.max()) if diff.size else 0.0
    allowed = PARITY_TOLERANCE * np.maximum(1.0, np.abs(np.nan_to_num(expected)))
    if (diff > allowed).any():
        raise ExportError(f"{what} disagrees with the trained model: max abs difference {worst:.3g} "
                          f"(allowed {PARITY_TOLERANCE:g})")
    return worst
