"""Exporting trained models: files that plain PyTorch or ONNX Runtime use without NetStudio.

Every export starts from an :class:`~netstudio.core.export.model.ExportedModel` (raw inputs ->
preprocessing -> trained network -> probabilities ``[N, classes]`` or values ``[N, 1]`` in the
target's units) and carries the model's metadata (JSON: NetStudio and torch versions, task, feature
names, classes, input shape, the fitted preprocessing, the layer list; the opset for ONNX).

========================  =====================================================================
``pt2``                   ``torch.export`` program, dynamic batch; ``torch.export.load(p).module()``
``torchscript`` (``.pt``)  traced TorchScript; ``torch.jit.load(p)``
``onnx``                  dynamic batch, metadata in ``metadata_props``; checked in onnxruntime
``safetensors``           the state dict (preprocessing statistics and weights), metadata in the header
``python``                a folder: readable ``model.py``, ``weights.safetensors``, ``train.py``
                          (plain PyTorch, runs under ``torchrun`` with DDP), ``metadata.json``,
                          ``README.txt``
========================  =====================================================================

Each written file is read back (through the same safe loaders ``netstudio predict`` uses) and
compared with the model on sample raw inputs (real rows where known, plus random rows with
missing values); a difference above :data:`PARITY_TOLERANCE` fails the export. Files are written
under a temporary name and moved into place only when complete and checked.

:func:`write_run_models` is what a saved training run gets its ``model.pt2`` (and, when asked,
``model.onnx``) from: the front ends hand it to :func:`netstudio.core.runs.folder.save_run`.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
from pathlib import Path

import numpy as np

from netstudio import __version__
from netstudio.core.errors import ExportError
from netstudio.core.export.common import (
    MODEL_FORMAT,
    SUFFIXES,
    ExportResult,
    check_format,
    onnx_available,
)
from netstudio.core.fileio import refuse_overwriting_inputs
from netstudio.core.runs.folder import Run, load_run, model_metadata


def default_export_path(run: Run | str | os.PathLike, format: str) -> Path:
    """Where an export of *run* goes unless the user says otherwise.

    Parameters
    ----------
    run : Run or path
        The run (or its folder).
    format : str
        One of :data:`FORMATS`.

    Returns
    -------
    Path
        ``RUN_DIR/model.<suffix>`` (``RUN_DIR/python`` for the Python folder).
    """
    check_format(format)
    folder = run.path if isinstance(run, Run) else Path(run)
    return folder / ("python" if format == "python" else "model" + SUFFIXES[format])


# ------------------------------------------------------------------------------------------------
# Entry points


def export_run(run: Run | str | os.PathLike, format: str, out_path: str | os.PathLike,
               *, samples: np.ndarray | None = None) -> ExportResult:
    """Export the trained model of a run folder.

    Parameters
    ----------
    run : Run or path
        A run folder (as written by ``netstudio train``) or one read by
        :func:`netstudio.core.runs.folder.load_run`.
    format : str
        One of :data:`FORMATS`.
    out_path : path
        The file to write (the folder for ``python``). An existing file is replaced only once
        the new one is complete and checked; an existing non-empty folder is refused.
    samples : numpy.ndarray, optional
        Raw inputs ``[N, ...]`` to check the written model on, besides random ones.

    Returns
    -------
    ExportResult

    Raises
    ------
    ExportError
        Bad run folder, unwritable target, a layer the format cannot express, failed parity.
    """
    check_format(format)
    if not isinstance(run, Run):
        run = load_run(run)
    from netstudio.core.export.model import build_exported_model
    from netstudio.core.runs.folder import OPTIONAL_RUN_FILES, RUN_FILES

    # the run's own records and its training data are inputs: never an export's target
    refuse_overwriting_inputs(out_path, [*(run.path / name for name in (*RUN_FILES, *OPTIONAL_RUN_FILES)), run.project.data_path()],
                              ExportError)

    model = build_exported_model(run.load_model(), run.metadata, run.preprocessor())
    metadata = dict(run.metadata)
    return export_model(model, metadata, format, out_path, project=run.project, samples=samples)


def export_model(model, metadata: dict, format: str, out_path: str | os.PathLike, *, project=None,
                 samples: np.ndarray | None = None) -> ExportResult:
    """Export an :class:`~netstudio.core.export.model.ExportedModel` (see :func:`export_run`).

    *metadata* is the run's model metadata (:func:`netstudio.core.runs.folder.model_metadata`); the
    export adds its own section. *project* (a :class:`~netstudio.core.project.Project`) is needed
    by the ``python`` format, whose ``train.py`` reproduces the training.
    """
    from netstudio.core.export import formats as export_formats

    check_format(format)
    out = Path(out_path).expanduser().absolute()
    _check_target(out, format)
    inputs = sample_inputs(metadata, model.input_shape, real=samples)
    metadata = export_metadata(metadata, format)
    if format == "python":
        from netstudio.core.export.python import write_python

        if project is None:
            raise ExportError("the python export needs the run's project (its data and training settings)")
        return write_python(model, metadata, project, out, inputs)
    writer = {"pt2": export_formats.write_pt2, "torchscript": export_formats.write_torchscript,
              "onnx": export_formats.write_onnx, "safetensors": export_formats.write_safetensors}[format]
    return writer(model, metadata, out, inputs)


def export_metadata(metadata: dict, format: str) -> dict:
    """*metadata* plus the ``export`` section (format, versions, time) every file carries."""
    import torch

    doc = dict(metadata)
    doc["format"] = MODEL_FORMAT
    doc.setdefault("netstudio_version", __version__)
    doc["torch_version"] = torch.__version__.split("+")[0]
    doc["export"] = {"format": format, "netstudio_version": __version__,
                     "torch_version": torch.__version__.split("+")[0],
                     "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds")}
    return doc


def _check_target(out: Path, format: str) -> None:
    """Refuse targets that cannot be written before any work is done."""
    parent = out.parent
    if not parent.is_dir():
        raise ExportError(f"cannot write {out}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {out}: the folder {parent} is not writable")
    if format == "python":
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ExportError(f"{out} already exists and is not an empty folder: choose another --out")
    elif out.is_dir():
        raise ExportError(f"{out} is a folder: give the file name to write (e.g. {out / ('model' + SUFFIXES[format])})")


# ------------------------------------------------------------------------------------------------
# Sample inputs and parity


def sample_inputs(metadata: dict, input_shape, n: int = 24, seed: int = 0, real: np.ndarray | None = None) -> np.ndarray:
    """Raw inputs to check exports on: up to 64 *real* rows, then *n* random ones with NaNs.

    Parameters
    ----------
    metadata : dict
        The model metadata (its ``preprocessing`` says how raw values are distributed).
    input_shape : tuple of int
        One raw example's shape.
    n, seed : int
        How many random rows, from which seed.
    real : numpy.ndarray, optional
        Real raw rows (from the data), checked first.

    Returns
    -------
    numpy.ndarray
        float32 ``[min(64, len(real)) + n, *input_shape]``. Random rows follow the fitted
        statistics (numbers around the training mean, 0/1 for yes/no and one-hot columns, 0-255
        for pixels, any id of the vocabulary for token ids); about a tenth of their values, and the
        whole first random row, are NaN (never token ids: they cannot be missing).
    """
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in input_shape)
    pre = metadata.get("preprocessing") or {}
    kind = pre.get("kind", "array")
    if kind == "images":
        x = rng.integers(0, 256, size=(n, *shape)).astype(np.float32)
    elif kind == "text":  # token ids: any id of the vocabulary, padding at the end of some rows
        vocabulary = int(metadata.get("vocabulary") or 2)
        x = rng.integers(0, vocabulary, size=(n, *shape)).astype(np.float32)
        for i, used in enumerate(rng.integers(0, shape[-1] + 1, size=n)):
            x[i, used:] = 0.0
    else:
        stat_shape = tuple(pre.get("stat_shape") or (1,) * len(shape))
        mean = np.asarray(pre.get("mean") or [0.0], dtype=np.float64).reshape(stat_shape if pre else (1,))
        std = np.asarray(pre.get("std") or [1.0], dtype=np.float64).reshape(stat_shape if pre else (1,))
        scale = float(pre.get("divide_by", 1.0))
        x = ((mean + std * rng.standard_normal((n, *shape))) * scale).astype(np.float32)
        if kind == "tabular":
            j = 0
            for column in pre.get("columns", []):
                width = len(column.get("categories", [])) if column.get("kind") == "categorical" else 1
                if column.get("kind") == "bool":
                    x[:, j] = rng.integers(0, 2, size=n)
                elif column.get("kind") == "categorical":
                    x[:, j:j + width] = 0.0
                    hot = rng.integers(0, width + 1, size=n)  # width = an unseen value: all zero
                    rows = np.flatnonzero(hot < width)
                    x[rows, j + hot[rows]] = 1.0
                j += width
    flat = x.reshape(n, -1)
    if kind != "text":  # token ids are never missing
        flat[rng.random(flat.shape) < 0.1] = np.nan
        if n > 1:
            flat[0] = np.nan
    if real is not None and len(real):
        x = np.concatenate([np.asarray(real[:64], dtype=np.float32).reshape(-1, *shape), x])
    return x


# ------------------------------------------------------------------------------------------------
# Run folders: model.pt2 (and model.onnx on request) beside the weights


def write_run_models(session, summary, folder: Path, *, onnx: bool = False) -> list[str]:
    """Write ``model.pt2`` (and ``model.onnx`` when *onnx*) into a run folder being assembled.

    Given to :func:`~netstudio.core.runs.folder.save_run` by the front ends (``netstudio train
    --onnx`` binds *onnx* with :func:`functools.partial`). ONNX is off the default path: the
    dynamo exporter takes seconds, and ``export`` writes it from the run folder at any time.
    Training has succeeded by then, so a model that cannot be exported leaves a one-line note on
    stderr instead of failing the run. Returns the notes.
    """
    from netstudio.core.export.model import build_exported_model

    metadata = model_metadata(session, summary)
    pre = session.dataset.preprocessor
    notes = []
    try:
        model = build_exported_model(session.model, metadata, pre)
        real = _raw_rows(session.dataset)
        formats = ["pt2"]
        if onnx:
            reason = onnx_available()
            if reason is None:
                formats.append("onnx")
            else:
                notes.append(f"model.onnx not written: {reason}")
        for fmt in formats:
            try:
                export_model(model, metadata, fmt, Path(folder) / f"model{SUFFIXES[fmt]}", samples=real)
            except ExportError as exc:
                notes.append(f"model{SUFFIXES[fmt]} not written: {exc}")
            except OSError as exc:  # a full disk: the run's records are already saved
                notes.append(f"model{SUFFIXES[fmt]} not written: {exc.strerror or exc}")
    except ExportError as exc:
        notes.append(f"no model file written: {exc}")
    for note in notes:
        print(f"netstudio: note: {note}", file=sys.stderr, flush=True)
    return notes


def _raw_rows(dataset, limit: int = 64) -> np.ndarray | None:
    """Validation (else training) rows back in raw units: real inputs for the parity check."""
    pre = dataset.preprocessor
    x = dataset.X_val if dataset.n_val else dataset.X_train
    if pre is None or not len(x):
        return None
    x = np.asarray(x[:limit], dtype=np.float64)
    return ((x * pre.std + pre.mean) * pre.divide_by).astype(np.float32)

