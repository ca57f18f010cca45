"""The ``python`` export: a folder of plain PyTorch that needs no NetStudio.

``model.py``            the network as a hand-written ``class Net(nn.Module)`` (named layers; each
                        block its own small class: ``class Res1`` with ``body`` and ``shortcut``), the
                        fitted preprocessing as code (``Preprocess``, ``encode_table`` or
                        ``read_images``), ``Model`` = preprocessing + network + probabilities, and
                        ``load_model()``
``model_inputs.py``     how raw rows and image files become the input tensor: NetStudio's own
                        :mod:`netstudio.core.data.model_inputs` (model.py and train.py use it)
``weights.safetensors`` ``Model``'s state dict (loads with ``strict=True``), metadata in the header
``train.py``            reproduces the training from the same data file; ``torchrun`` runs it with
                        DistributedDataParallel
``metadata.json``       the model's metadata, plus the project (data and training settings)
``README.txt``          how to use all this
``tokenizer.json``      only for text: the fitted tokenizer, which ``encode_text()`` in model.py applies
``data.npz``            only for synthetic data: the generated points train.py trains on

The folder is assembled under a temporary name, ``model.py`` is imported from it and checked
against the trained model on the sample inputs, and only then is it renamed into place.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
import sys
import uuid
from pathlib import Path

import numpy as np

from netstudio.core.data import model_inputs
from netstudio.core.data.text import TOKENIZER_FILE, tokenizer_text
from netstudio.core.errors import ExportError
from netstudio.core.export.code import model_source
from netstudio.core.export.common import METADATA_KEY, ExportResult, input_dtype, parity_check
from netstudio.core.export.formats import metadata_text, state_tensors
from netstudio.core.fileio import atomic_folder

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates_export"
#: NetStudio's own reading of raw rows and image files, shipped as it is beside model.py.
MODEL_INPUTS = Path(model_inputs.__file__)


def write_python(model, metadata: dict, project, out: Path, inputs: np.ndarray) -> ExportResult:
    """Write the folder *out* (new or empty); see the module docstring."""
    from safetensors.torch import save_file

    notes: list[str] = []
    with atomic_folder(out, ExportError) as tmp:
        metadata = dict(metadata, project=training_setup(project, metadata, tmp, notes))
        shapes = _output_shapes(project, metadata)
        (tmp / "model.py").write_text(model_source(model, metadata, shapes), encoding="utf-8")
        save_file(state_tensors(model), str(tmp / "weights.safetensors"), metadata={METADATA_KEY: metadata_text(metadata)})
        (tmp / "metadata.json").write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        shutil.copyfile(TEMPLATES / "train.py", tmp / "train.py")
        shutil.copyfile(MODEL_INPUTS, tmp / "model_inputs.py")
        text = (metadata.get("preprocessing") or {}).get("text")
        if text:
            (tmp / TOKENIZER_FILE).write_text(tokenizer_text(text), encoding="utf-8")
        (tmp / "README.txt").write_text(readme(metadata), encoding="utf-8")
        diff = check_folder(model, tmp, inputs)
    files = sorted(out.iterdir())
    return ExportResult("python", out, files, diff, notes)


def check_folder(model, folder: Path, inputs: np.ndarray) -> float:
    """Import the generated ``model.py``, load the weights strictly and compare with *model*."""
    import torch

    name = f"_netstudio_export_check_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    # model.py imports model_inputs from its own folder, as it does for its users: that one, not
    # another copy this process imported before.
    earlier = sys.modules.pop("model_inputs", None)
    sys.path.insert(0, str(folder))
    try:
        spec.loader.exec_module(module)
        generated = module.load_model(folder / "weights.safetensors")
        dtype = input_dtype({"raw_input": {"dtype": "int64" if hasattr(module, "encode_text") else "float32"}})
        with torch.no_grad():
            actual = generated(torch.from_numpy(np.ascontiguousarray(inputs, dtype=dtype))).numpy()
    except Exception as exc:
        raise ExportError(f"the generated model.py does not reproduce the model ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    finally:
        sys.modules.pop(name, None)
        sys.modules.pop("model_inputs", None)
        if earlier is not None:
            sys.modules["model_inputs"] = earlier
        sys.path.remove(str(folder))
    return parity_check(model.predict(inputs), actual, "the generated model.py")


def _output_shapes(project, metadata: dict) -> list | None:
    """The validation's result of each top-level layer (blocks hold their inner layers'), for the
    output shapes in the comments of each ``forward``."""
    with contextlib.suppress(Exception):
        validation = project.stack.validate(tuple(metadata["input_shape"]), metadata.get("output_width"),
                                            vocabulary=metadata.get("vocabulary"))
        return list(validation.layers)
    return None


# ------------------------------------------------------------------------------------------------
# What train.py needs to know


def training_setup(project, metadata: dict, folder: Path, notes: list[str]) -> dict:
    """The project document train.py reads: the data section points at a file it can open."""
    from netstudio.core.data.load import resolve_sample

    doc = project.to_json()
    data = dict(doc.get("data") or {})
    if data.get("source") == "sample":
        config, base = resolve_sample(data, project.base_dir)
        data = {**config, "path": str((base / config["path"]).resolve())}
    elif data.get("source") == "synthetic":
        data = _write_synthetic(data, folder)
    elif data.get("path"):
        data["path"] = str(project.resolve(data["path"]).resolve())
    if data.get("source") == "csv":
        data["table_format"] = _table_format(Path(data["path"]), notes)
    doc["data"] = data
    return doc


def _write_synthetic(data: dict, folder: Path) -> dict:
    """Synthetic points have no file: write the very points trained on as ``data.npz``."""
    from netstudio.core.config import data_defaults
    from netstudio.core.data.arrays import synthetic_classes
    from netstudio.core.data.synthetic import make_synthetic

    classes = synthetic_classes(data)
    config = {**data_defaults("synthetic"), **data}
    X, y = make_synthetic(config["kind"], int(config["samples"]), float(config["noise"]), int(config["seed"]),
                          len(classes))
    np.savez(folder / "data.npz", X=X.astype(np.float32), y=y.astype(np.int64))
    kept = {k: data[k] for k in ("validation_split", "normalize", "seed", "task") if k in data}
    return {"source": "npz", "path": "data.npz", **kept, "generated_from": {
        k: data[k] for k in ("source", "kind", "samples", "noise", "classes") if k in data}}


def _table_format(path: Path, notes: list[str]) -> dict | None:
    """How the CSV file is written (delimiter, encoding, header names), for train.py's reader."""
    from netstudio.core.data.csv import read_table
    from netstudio.core.data.csv_format import pandas_separator
    from netstudio.core.errors import DataError

    try:
        _, fmt = read_table(path, numeric_hints=False)
    except DataError as exc:
        notes.append(f"train.py will need --data: the training data cannot be read now ({exc})")
        return None
    return {"delimiter": pandas_separator(fmt.delimiter), "encoding": fmt.encoding, "skip_rows": fmt.skip_rows,
            "columns": list(fmt.columns), "compression": fmt.compression}


# ------------------------------------------------------------------------------------------------
# README.txt


def readme(metadata: dict) -> str:
    task = metadata["task"]
    classes = metadata.get("classes") or []
    out = (f"class probabilities [N, {len(classes)}], columns in this order: {', '.join(classes)}"
           if task != "regression" else "predicted values [N, 1] in the target's own units")
    raw = (metadata.get("raw_input") or {}).get("description", "")
    data = metadata["project"]["data"]
    source = data.get("path", "")
    return f"""NetStudio model "{metadata.get('name', '')}" ({task}) as plain PyTorch
{'=' * 60}

Made with NetStudio {metadata.get('netstudio_version')} and PyTorch {metadata.get('torch_version')}.
Nothing here needs NetStudio: torch, numpy and safetensors (pandas for tables, pillow for images).

Files
  model.py             the network (class Net), the fitted preprocessing (class Preprocess and the
                       helpers that turn raw rows or image files into the input tensor), and
                       class Model = preprocessing + network + output
  model_inputs.py      how raw table cells and image files are read (model.py and train.py use it)
  weights.safetensors  Model's weights and preprocessing statistics
  metadata.json        task, classes, feature names, input shape, preprocessing, layers, versions,
                       and the project (data and training settings)
  train.py             trains the network again from the data file, like NetStudio did

Predict
  from model import load_model
  model = load_model()          # loads weights.safetensors with strict=True
  outputs = model(x)            # x: float32 tensor of raw inputs

  Input: {raw}
  Output: {out}.
{_readme_input_help(metadata)}
Train again
  python train.py --epochs 5                       # one process (CPU or one GPU)
  torchrun --nproc_per_node=4 train.py             # DistributedDataParallel (nccl on GPUs, gloo on CPU)
  Options: --data PATH (default: {source}), --epochs N, --device auto|cpu|cuda, --out FILE
  (default: retrained.safetensors, which load_model(path) accepts).
"""


def _readme_input_help(metadata: dict) -> str:
    kind = (metadata.get("preprocessing") or {}).get("kind")
    if kind == "tabular":
        return ("\n  Raw table rows: x = torch.from_numpy(encode_table(pandas.read_csv(path)))\n"
                "  (columns by name; extra columns such as the target are ignored).\n")
    if kind == "images":
        return "\n  Image files: x = torch.from_numpy(read_images([path1, path2]))\n"
    if kind == "series":
        return ("\n  A time series: rows = encode_table(frame) with the frame sorted by SEQUENCE['order_by'];\n"
                "  x = torch.from_numpy(numpy.stack([rows[s:s + WINDOW] for s in range(len(rows) - WINDOW + 1)]))\n"
                "  with WINDOW = SEQUENCE['window'] (train.py does this).\n")
    if kind == "text":
        return ("\n  Raw texts: x = torch.from_numpy(encode_text([\"first text\", \"second text\"]))\n"
                "  (or encode_text(pandas.read_csv(path)) for the text column; needs the tokenizers package;\n"
                "  tokenizer.json is the fitted tokenizer).\n")
    return ""

