"""Writers of the single-file export formats: ``.pt2``, TorchScript ``.pt``, ONNX and safetensors.

Each writer serialises an :class:`~netstudio.core.export.model.ExportedModel` with its metadata,
reads the result back through :mod:`netstudio.core.export.safe_load` (the loaders ``netstudio
predict`` uses), checks it against the model on the sample inputs (whole batch and batch size 1),
and only then moves it into place. When a format cannot express the model, the layer at fault is
found by exporting the layers one at a time, and named in the error.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from netstudio.core.data.text import TOKENIZER_FILE, tokenizer_text
from netstudio.core.errors import ExportError, first_line
from netstudio.core.export.common import METADATA_KEY, ExportResult, onnx_available, parity_check
from netstudio.core.export.safe_load import METADATA_FILE, ONNX_EXTRA, load_model_bytes
from netstudio.core.fileio import atomic_write_bytes, umask

LABELS = {"pt2": "torch.export (.pt2)", "torchscript": "TorchScript", "onnx": "ONNX"}


def metadata_text(metadata: dict) -> str:
    return json.dumps(metadata, ensure_ascii=False, allow_nan=False, sort_keys=False)


def extra_files(metadata: dict) -> dict[str, str]:
    """The files stored beside a model's graph: the metadata and, for a text model, the tokenizer
    as its own ``tokenizer.json`` (also inside the metadata's preprocessing)."""
    files = {METADATA_FILE: metadata_text(metadata)}
    text = (metadata.get("preprocessing") or {}).get("text")
    if text:
        files[TOKENIZER_FILE] = tokenizer_text(text)
    return files


@contextlib.contextmanager
def quiet():
    """Silence the exporters' chatter (deprecations, progress lines, optional-package warnings)."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._export", "torch.fx")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def example_input(model, batch: int = 2) -> torch.Tensor:
    """A batch shaped like the model's raw input, of its type (float32, or int64 token ids); a size
    above 1 keeps the batch dynamic."""
    return torch.zeros((batch, *model.input_shape), dtype=getattr(model, "input_dtype", torch.float32))


def batch_dim():
    return ({0: torch.export.Dim("batch", min=1)},)


def check_loaded(model, loaded, inputs: np.ndarray, what: str) -> float:
    """Compare a read-back model with *model* on *inputs*: the whole batch, then a few single rows."""
    expected = model.predict(inputs)
    worst = parity_check(expected, loaded.run(inputs), what)
    for i in sorted({0, 1, len(inputs) - 1} & set(range(len(inputs)))):
        one = inputs[i:i + 1]
        worst = max(worst, parity_check(model.predict(one), loaded.run(one), f"{what} (batch of one)"))
    return worst


def layer_failure(model, fmt: str, exc: BaseException, attempt) -> ExportError:
    """The error for a failed export: the first layer that fails alone is named, with the reason.

    *attempt(module, example)* exports one module and raises if the format cannot express it.
    """
    x = example_input(model)
    with torch.no_grad(), quiet():
        x = model.preprocess(x)
        for (name, kind), layer in zip(model.layers(), model.net):
            try:
                attempt(layer, x)
            except Exception as layer_exc:
                return ExportError(f"the {LABELS[fmt]} export cannot handle layer {name} ({kind}): "
                                   f"{first_line(layer_exc, 300)}")
            x = layer(x)
    return ExportError(f"the {LABELS[fmt]} export failed: {first_line(exc, 300)}")


# ------------------------------------------------------------------------------------------------
# torch.export (.pt2)


def _export_program(module, x):
    with quiet():
        return torch.export.export(module, (x,), dynamic_shapes=batch_dim())


def exported_program(model):
    """``torch.export`` of *model* with a dynamic batch dimension (ExportError naming the layer)."""
    try:
        return _export_program(model, example_input(model))
    except Exception as exc:
        raise layer_failure(model, "pt2", exc, _export_program) from None


def write_pt2(model, metadata: dict, out: Path, inputs: np.ndarray) -> ExportResult:
    """``torch.export.save`` with the metadata as ``extra/netstudio.json``."""
    program = exported_program(model)
    buffer = io.BytesIO()
    with quiet():
        torch.export.save(program, buffer, extra_files=extra_files(metadata))
    data = buffer.getvalue()
    return _checked_write("pt2", model, data, out, inputs, "the .pt2 file")


# ------------------------------------------------------------------------------------------------
# TorchScript (.pt)


def _trace(module, x):
    with quiet():
        return torch.jit.trace(module, (x,), check_trace=False)


def write_torchscript(model, metadata: dict, out: Path, inputs: np.ndarray) -> ExportResult:
    """``torch.jit.trace`` (checked on other batch sizes) with the metadata as an extra file."""
    try:
        traced = _trace(model, example_input(model))
    except Exception as exc:
        raise layer_failure(model, "torchscript", exc, _trace) from None
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer, _extra_files=extra_files(metadata))
    data = buffer.getvalue()
    return _checked_write("torchscript", model, data, out, inputs, "the TorchScript file")


# ------------------------------------------------------------------------------------------------
# ONNX


def _onnx_program(module, x):
    with quiet():
        return torch.onnx.export(module, (x,), dynamo=True, dynamic_shapes=batch_dim(), input_names=["input"],
                                 output_names=["output"], verbose=False, optimize=True)


def write_onnx(model, metadata: dict, out: Path, inputs: np.ndarray) -> ExportResult:
    """``torch.onnx.export(dynamo=True)``, metadata in ``metadata_props``, checked in onnxruntime."""
    reason = onnx_available()
    if reason is not None:
        raise ExportError(f"ONNX export needs onnx and onnxscript: {reason}")
    try:
        program = _onnx_program(model, example_input(model))
    except Exception as exc:
        raise layer_failure(model, "onnx", exc, _onnx_program) from None
    opset = program.model.opset_imports.get("")
    metadata = dict(metadata, opset_version=opset, export={**metadata.get("export", {}), "opset_version": opset})
    for key, text in extra_files(metadata).items():  # the tokenizer under "tokenizer.json"
        program.model.metadata_props[METADATA_KEY if key == METADATA_FILE else key] = text
    program.model.doc_string = f"NetStudio model {metadata.get('name', '')}: raw inputs in, " + (
        "values in the target's units out" if metadata["task"] == "regression" else "class probabilities out")
    notes: list[str] = []
    diff = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
    try:
        try:
            with quiet():
                program.save(tmp, external_data=False)
        except OSError as exc:  # a full disk: the partial file goes, the error is the user's to fix
            raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
        data = Path(tmp).read_bytes()
        try:
            loaded = load_model_bytes(data, str(out))
        except ExportError as exc:
            if str(exc) != ONNX_EXTRA:
                raise
            notes.append("parity not checked: onnxruntime is not installed (install the onnx extra)")
        else:
            diff = check_loaded(model, loaded, inputs, "the ONNX model in onnxruntime")
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return ExportResult("onnx", out, [out], diff, notes)


# ------------------------------------------------------------------------------------------------
# safetensors


def state_tensors(model) -> dict:
    """The state dict as contiguous CPU tensors: preprocessing statistics and the network's weights."""
    return {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}


def write_safetensors(model, metadata: dict, out: Path, inputs: np.ndarray) -> ExportResult:
    """The state dict, with the metadata JSON under the header key ``netstudio``."""
    import copy

    from safetensors.torch import load as load_bytes
    from safetensors.torch import save

    data = save(state_tensors(model), metadata={METADATA_KEY: metadata_text(metadata)})
    reloaded = copy.deepcopy(model)
    reloaded.load_state_dict(load_bytes(data), strict=True)
    diff = parity_check(model.predict(inputs), reloaded.predict(inputs), "the safetensors weights")
    _write(out, data)
    return ExportResult("safetensors", out, [out], diff)


def _checked_write(fmt: str, model, data: bytes, out: Path, inputs: np.ndarray, what: str) -> ExportResult:
    """Load *data* back as NetStudio will, compare it with *model*, and only then write it to *out*."""
    diff = check_loaded(model, load_model_bytes(data, str(out)), inputs, what)
    _write(out, data)
    return ExportResult(fmt, out, [out], diff)


def _write(out: Path, data: bytes) -> None:
    try:
        atomic_write_bytes(out, data)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None

