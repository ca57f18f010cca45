"""Loading exported model files safely: ``.pt2``, TorchScript ``.pt`` and ``.onnx``.

A model file may come from anywhere, so nothing here unpickles Python objects:

* ``.pt2`` archives are checked before ``torch.export.load`` sees them, because that loader
  would otherwise unpickle (``torch.load(weights_only=False)``, ``pickle.loads``) pickled weights,
  constants, custom objects and example inputs, and load AOTInductor shared libraries. Only the
  members a plain ``torch.export.save`` writes are accepted; every weight and constant must be
  raw tensor data of exactly the size its tensors need; the example inputs must be a checked
  archive of plain tensors that loads with ``weights_only=True``; every operator of the graph must
  be on NetStudio's allow-list (:mod:`netstudio.core.design.operators`: a graph could name any
  ``torch.*`` function, or an ``aten`` operator such as ``from_file`` that writes files). The load
  then runs with ``TORCH_FORCE_WEIGHTS_ONLY_LOAD=1``, from the bytes that were checked, and the
  loaded graph is checked against the allow-list again.
* TorchScript goes through ``torch.jit.load`` (its own restricted unpickler), after the checks of
  :mod:`netstudio.core.export.archive` (no code that runs while loading); every method of every
  submodule is then checked against the allow-list, every attribute's type too.
* ONNX goes through onnxruntime, after the ``onnx`` checker (when installed): no weights outside
  the file, only standard operators.

Every archive's sizes are checked before its members are read (:mod:`netstudio.core.export.bounds`:
no zip bombs, no duplicate member names, no bytes the archive does not account for).

A file without NetStudio metadata, a ``torch.save`` pickle or anything else is refused with an
:class:`~netstudio.core.errors.ExportError` before any of its content is interpreted.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netstudio.core.design.operators import first_refused, operator_name
from netstudio.core.errors import ExportError
from netstudio.core.export.bounds import (
    ONNX_START,
    ZIP_ERRORS,
    check_archive,
    check_payload_sizes,
    read_model_file,
    read_record,
)
from netstudio.core.export.common import input_dtype

METADATA_FILE = "netstudio.json"
#: What a plain ``torch.export.save`` writes, relative to the archive's root folder.
_PT2_MEMBERS = re.compile(
    r"^(archive_format|archive_version|byteorder|\.data/version|\.data/serialization_id|models/model\.json"
    r"|data/weights/model_weights_config\.json|data/weights/weight_\d+"
    r"|data/constants/model_constants_config\.json|data/constants/tensor_\d+"
    r"|data/sample_inputs/model\.pt|extra/[A-Za-z0-9_.-]+)$")
_PT2_PAYLOAD = {"data/weights/model_weights_config.json": re.compile(r"^weight_\d+$"),
                "data/constants/model_constants_config.json": re.compile(r"^tensor_\d+$")}
#: Members of a .pt2 that are tensor data (the rest are records, bounded together).
_PT2_TENSOR = re.compile(r"^data/(weights/weight|constants/tensor)_\d+$")
#: Rows per chunk at most for a model whose metadata holds no design to size its chunks from.
UNKNOWN_DESIGN_ROWS = 1024
ONNX_EXTRA = "reading .onnx models needs onnxruntime: install the onnx extra (pip install 'netstudio[onnx]')"


@dataclass
class LoadedModel:
    """An exported model read back: its metadata and a function from raw inputs to outputs.

    Attributes
    ----------
    format : str
        ``pt2``, ``torchscript`` or ``onnx``.
    path : str
        Where it came from (for messages).
    metadata : dict
        The NetStudio metadata stored inside the file.
    """

    format: str
    path: str
    metadata: dict
    _call: object

    def run(self, raw: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Outputs ``[N, classes]`` (probabilities) or ``[N, 1]`` (values) for raw inputs ``[N, ...]``,
        in chunks of *batch_size* rows (default :meth:`chunk_rows`)."""
        raw = np.ascontiguousarray(raw, dtype=input_dtype(self.metadata))
        batch_size = batch_size or self.chunk_rows()
        parts = [self._call(raw[i:i + batch_size]) for i in range(0, len(raw), batch_size)]
        return np.concatenate(parts).astype(np.float32, copy=False)


    def chunk_rows(self) -> int:
        """Rows per forward-pass chunk, sized by the memory guard from the design in the metadata
        (one row's input and layer outputs, its training-step estimate the budget). A file whose
        metadata holds no valid design is sized from its input alone, at most
        :data:`UNKNOWN_DESIGN_ROWS` rows."""
        from netstudio.core.design.memory import forward_rows
        from netstudio.core.design.results import FLOAT_BYTES
        from netstudio.core.design.stack import LayerStack

        shape = tuple(self.metadata["input_shape"])
        try:
            stack = LayerStack.from_config(self.metadata["layers"])
            validation = stack.validate(shape, self.metadata.get("output_width"),
                                        vocabulary=self.metadata.get("vocabulary"))
        except Exception:  # noqa: BLE001 - metadata from any file: missing, damaged or foreign designs
            validation = None
        if validation is not None and validation.valid:
            return validation.forward_rows()
        return min(UNKNOWN_DESIGN_ROWS, forward_rows(FLOAT_BYTES * math.prod(shape)))


def load_model_file(path: str | os.PathLike) -> LoadedModel:
    """Read an exported ``.pt2``, ``.pt`` (TorchScript) or ``.onnx`` model (see module docstring).

    Raises
    ------
    ExportError
        Missing or unreadable file, not a NetStudio model, unsafe content, onnxruntime missing.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise ExportError(f"{path} is a folder, not a model file (.pt2, .pt or .onnx)")
        data = read_model_file(path, str(path))
    except FileNotFoundError:
        raise ExportError(f"{path}: no such model file") from None
    except OSError as exc:
        raise ExportError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return load_model_bytes(data, str(path))


def load_model_bytes(data: bytes, name: str = "model") -> LoadedModel:
    """:func:`load_model_file` for a file's content; *name* is used in messages."""
    kind = sniff_format(data, name)
    if kind == "pt2":
        return _load_pt2(data, name)
    if kind == "torchscript":
        return _load_torchscript(data, name)
    return _load_onnx(data, name)


def sniff_format(data: bytes, name: str) -> str:
    """``pt2``, ``torchscript`` or ``onnx`` from the content; ExportError for anything else."""
    if data.startswith(b"PK\x03\x04"):
        names = _zip(data, name).namelist()
        rel = {n.split("/", 1)[1] for n in names if "/" in n}
        if "archive_format" in rel or "models/model.json" in rel:
            return "pt2"
        if "constants.pkl" in rel and any(n.startswith("code/") for n in rel):
            return "torchscript"
        if "data.pkl" in rel:
            raise ExportError(f"{name} is a torch.save pickle, not an exported model: NetStudio never "
                              "unpickles model files (they can run code); export the run as .pt2, .pt or .onnx")
        raise ExportError(f"{name} is a zip archive but not a NetStudio model (.pt2, .pt or .onnx)")
    if data[:1] == b"\x80" or data[:1] in (b"(", b"]", b"}") or data.startswith(b"c__builtin__"):
        raise ExportError(f"{name} is a Python pickle, not an exported model: NetStudio never unpickles "
                          "model files (they can run code)")
    if data.startswith(ONNX_START):
        return "onnx"
    raise ExportError(f"{name} is not a NetStudio model (expected a .pt2, .pt or .onnx export)")


def parse_metadata(text: str | bytes | None, name: str) -> dict:
    """The NetStudio metadata stored in a model file, checked; ExportError if absent or damaged."""
    if text is None:
        raise ExportError(f"{name} is not a NetStudio model (it carries no NetStudio metadata)")
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise ExportError(f"{name}: the NetStudio metadata is damaged (not JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != "netstudio-model":
        raise ExportError(f"{name} is not a NetStudio model (its metadata has no netstudio-model format)")
    task, shape = doc.get("task"), doc.get("input_shape")
    if task not in ("binary", "multiclass", "regression") or not isinstance(shape, list) or not all(
            isinstance(s, int) and s > 0 for s in shape):
        raise ExportError(f"{name}: the NetStudio metadata is damaged (task or input_shape)")
    classes = doc.get("classes")
    if task != "regression" and (not isinstance(classes, list) or len(classes) < 2):
        raise ExportError(f"{name}: the NetStudio metadata is damaged (no class names)")
    return doc


def _zip(data: bytes, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS as exc:
        raise ExportError(f"{name} is a damaged archive ({exc})") from None


def _root(archive: zipfile.ZipFile, name: str) -> str:
    roots = {n.split("/", 1)[0] for n in archive.namelist()}
    if len(roots) != 1 or any("/" not in n for n in archive.namelist()):
        raise ExportError(f"{name} is not a NetStudio model (unexpected archive layout)")
    return roots.pop() + "/"


# ------------------------------------------------------------------------------------------------
# .pt2


def _load_pt2(data: bytes, name: str) -> LoadedModel:
    import torch

    archive = _zip(data, name)
    root = _root(archive, name)
    check_archive(archive, len(data), name, root, lambda rel: _PT2_TENSOR.match(rel) is not None)
    metadata = parse_metadata(read_record(archive, root + "extra/" + METADATA_FILE, name), name)
    check_pt2_archive(archive, root, name)
    with _weights_only_loads(), _logged_errors("torch.export") as logged:
        try:
            program = torch.export.load(io.BytesIO(data))
        except Exception as exc:  # torch raises many kinds; all mean "cannot use this file"
            # torch.export logs the real cause (with a traceback) and raises "see the warnings above"
            cause = logged[0] if logged else exc
            raise ExportError(f"{name}: cannot load the .pt2 program ({_first_line(cause)})") from None
    _refuse_operators(graph_operators(program.graph_module), name)
    module = program.module()

    def call(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(x)).numpy()

    return LoadedModel("pt2", name, metadata, call)


def check_pt2_archive(archive: zipfile.ZipFile, root: str, name: str) -> None:
    """Refuse a .pt2 archive holding anything ``torch.export.load`` would unpickle or execute, or
    tensor data of another size than its tensors need (the archive's sizes are checked already)."""
    import torch

    from netstudio.core.export.archive import check_tensor_archive

    for member in archive.namelist():
        rel = member[len(root):]
        if not _PT2_MEMBERS.match(rel):
            raise ExportError(f"{name}: unexpected archive member {rel!r} (NetStudio reads only plain "
                              "torch.export archives, without pickled objects or compiled code)")
    for config_name, pattern in _PT2_PAYLOAD.items():
        raw = read_record(archive, root + config_name, name)
        try:
            config = json.loads(raw)["config"] if raw is not None else {}
            entries = list(config.values())
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ExportError(f"{name}: {config_name} is damaged") from None
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("use_pickle") is not False or not pattern.match(
                    str(entry.get("path_name", ""))):
                raise ExportError(f"{name}: {config_name} refers to pickled data, which NetStudio never loads")
        check_payload_sizes(archive, root + config_name.rsplit("/", 1)[0] + "/", entries, name,
                            config_name.rsplit("/", 1)[1])
    raw = read_record(archive, root + "models/model.json", name)
    if raw is None:
        raise ExportError(f"{name}: the archive holds no program (models/model.json)")
    try:
        program = json.loads(raw)
    except ValueError:
        raise ExportError(f"{name}: models/model.json is damaged") from None
    _refuse_operators(program_operators(program), name)
    inputs = read_record(archive, root + "data/sample_inputs/model.pt", name)
    if inputs:
        check_tensor_archive(inputs, f"{name}: the example inputs")
        try:
            torch.load(io.BytesIO(inputs), weights_only=True)
        except Exception:
            raise ExportError(f"{name}: the example inputs are not plain tensors (refused: they could run code)") from None


def program_operators(doc) -> Iterator[str]:
    """The allow-list name of every node target in a serialized program (``models/model.json``,
    nested graphs included): ``aten::linear`` for ``torch.ops.aten.linear.default``."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "target" in item and "inputs" in item and "outputs" in item:
                target = item["target"]
                yield operator_name(target) if isinstance(target, str) else repr(target)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def graph_operators(graph_module) -> Iterator[str]:
    """The allow-list name of every function a loaded program's graphs call (submodules included)."""
    import torch

    for module in graph_module.modules():
        graph = getattr(module, "graph", None)
        for node in graph.nodes if graph is not None else ():
            if node.op != "call_function":
                continue
            target = node.target
            if isinstance(target, torch._ops.OpOverload):
                yield operator_name(f"torch.ops.{target.namespace}.{target._opname}.{target._overloadname}")
            elif callable(target) and hasattr(target, "__module__") and hasattr(target, "__qualname__"):
                yield f"{target.__module__}.{target.__qualname__}"
            else:
                yield repr(target)


def _refuse_operators(names: Iterator[str], name: str) -> None:
    refused = first_refused(names)
    if refused is not None:
        raise ExportError(f"{name}: the program calls {refused}, which a NetStudio model never does")


@contextlib.contextmanager
def _logged_errors(logger_name: str):
    """Collect the exceptions *logger_name* logs inside the block instead of printing them (a
    traceback on stderr would break the one-line rule); yields the list they go into."""
    import logging

    caught: list[BaseException] = []

    def keep(record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            caught.append(record.exc_info[1])
            return False
        return True

    logger = logging.getLogger(logger_name)
    logger.addFilter(keep)
    try:
        yield caught
    finally:
        logger.removeFilter(keep)


@contextlib.contextmanager
def _weights_only_loads():
    """Any ``torch.load`` inside the block runs with ``weights_only=True``, whatever its caller asks."""
    key = "TORCH_FORCE_WEIGHTS_ONLY_LOAD"
    old = os.environ.get(key)
    os.environ[key] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


# ------------------------------------------------------------------------------------------------
# TorchScript


def _load_torchscript(data: bytes, name: str) -> LoadedModel:
    import torch

    from netstudio.core.export.archive import (
        check_script_module,
        check_torchscript_archive,
        is_tensor_member,
        loaded_records_only,
    )

    archive = _zip(data, name)
    root = _root(archive, name)
    check_archive(archive, len(data), name, root, is_tensor_member)
    metadata = parse_metadata(read_record(archive, root + "extra/" + METADATA_FILE, name), name)
    check_torchscript_archive(archive, root, name)
    try:
        data = loaded_records_only(archive, root)
    except ZIP_ERRORS as exc:
        raise ExportError(f"{name} is a damaged archive ({exc})") from None
    try:
        module = torch.jit.load(io.BytesIO(data), map_location="cpu")
    except Exception as exc:
        raise ExportError(f"{name}: cannot load the TorchScript model ({_first_line(exc)})") from None
    check_script_module(module, name)
    module.eval()

    def call(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(x)).numpy()

    return LoadedModel("torchscript", name, metadata, call)


# ------------------------------------------------------------------------------------------------
# ONNX


def _load_onnx(data: bytes, name: str) -> LoadedModel:
    try:
        import onnxruntime as ort
    except ImportError:
        raise ExportError(ONNX_EXTRA) from None
    _check_onnx(data, name)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        # no fallback: onnxruntime would print its "EP Error ... retrying" banner on stdout, where
        # `netstudio predict` writes its CSV
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"], enable_fallback=0)
    except Exception as exc:
        raise ExportError(f"{name} is not a NetStudio model (onnxruntime cannot read it: {_first_line(exc)})") from None
    try:
        stored = session.get_modelmeta().custom_metadata_map.get("netstudio")
        inputs = session.get_inputs()
    except (UnicodeDecodeError, RuntimeError) as exc:  # a damaged file: metadata that is not UTF-8 text
        raise ExportError(f"{name}: the model's metadata is damaged ({_first_line(exc)})") from None
    metadata = parse_metadata(stored, name)
    if len(inputs) != 1:
        raise ExportError(f"{name}: a NetStudio model has one input, this one has {len(inputs)}")
    input_name = inputs[0].name

    def call(x: np.ndarray) -> np.ndarray:
        return session.run(None, {input_name: x})[0]

    return LoadedModel("onnx", name, metadata, call)


def _check_onnx(data: bytes, name: str) -> None:
    """Refuse an ONNX model that reads weights from other files (NetStudio writes them inside), calls
    operators outside the standard set, or fails the ``onnx`` checker. Skipped without ``onnx``."""
    try:
        import onnx
    except ImportError:
        return
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise ExportError(f"{name} is not a NetStudio model (not a readable ONNX model: {_first_line(exc)})") from None
    if len(model.functions):
        raise ExportError(f"{name}: the ONNX model defines its own functions, which a NetStudio model never does")
    graphs = [model.graph]
    while graphs:
        graph = graphs.pop()
        tensors = [*graph.initializer, *(s.values for s in graph.sparse_initializer)]
        for node in graph.node:
            if node.domain not in ("", "ai.onnx"):
                raise ExportError(f"{name}: the ONNX model calls {node.domain}::{node.op_type}, which a NetStudio "
                                  "model never does")
            for attribute in node.attribute:
                tensors += [*([attribute.t] if attribute.HasField("t") else []), *attribute.tensors]
                graphs += [*([attribute.g] if attribute.HasField("g") else []), *attribute.graphs]
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in tensors):
            raise ExportError(f"{name}: the ONNX model reads its weights from other files, which a NetStudio "
                              "model never does")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # ValidationError, and whatever a damaged model makes the checker raise
        raise ExportError(f"{name} is not a NetStudio model (the ONNX checker refuses it: {_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return text[:300]
