"""The operator allow-list (netstudio/core/design/operators.py) follows the layer catalog.

Every catalog layer type, with each of its switches (every bool flipped, every choice, every string
a size accepts, ``None`` where allowed), the frame every export puts around the layers (each kind of
preprocessing with each output transform) and every template are exported to ``.pt2`` and
TorchScript; the operators in the files (the serialized program, the loaded program, every method
of every TorchScript submodule) must be on the list, and every entry of the list must be called by
some export, so the list neither falls behind the catalog nor keeps operators nothing uses.
"""

from __future__ import annotations

import io
import json
import zipfile
from functools import cache

import numpy as np
import pytest
import torch
from torch import nn

from netstudio.core.data.preprocess_module import RawInputs
from netstudio.core.design.builder import build_model
from netstudio.core.design.layers import get_layer_type, layer_names
from netstudio.core.design.operators import (
    ALLOWED_OPERATORS,
    BLOCK_OPERATORS,
    FRAME_OPERATORS,
    LAYER_OPERATORS,
    STRUCTURE_OPERATORS,
)
from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.design.templates import TEMPLATES
from netstudio.core.export import formats as export_formats
from netstudio.core.export.archive import script_operators
from netstudio.core.export.exporter import export_model
from netstudio.core.export.model import ExportedModel, OutputTransform
from netstudio.core.export.safe_load import graph_operators, program_operators
from tests.core.test_layers import SAMPLE_INPUT

#: (task, output transform, input shape of an empty network) for every way an export ends.
OUTPUTS = [("binary", "sigmoid", (1,)), ("binary", "binary_identity", (1,)), ("multiclass", "softmax", (3,)),
           ("multiclass", "exp", (3,)), ("multiclass", "identity", (3,)), ("regression", "identity", (1,))]


def variants(name: str) -> list[dict]:
    """The defaults, then one change at a time: each bool flipped, each other choice, each string a
    size accepts, None where allowed."""
    layer_type = get_layer_type(name)
    base = layer_type.defaults()
    found = [base]
    for param in layer_type.params:
        values = [not base[param.name]] if param.kind == "bool" else []
        values += [c for c in param.choices if c != base[param.name]]
        values += [s for s in param.strings if s != base[param.name]]
        values += [None] if param.allow_none and base[param.name] is not None else []
        found += [{**base, param.name: value} for value in values]
    return found


def framed(net: nn.Module, shape, preprocess: nn.Module | None = None, task: str = "multiclass",
           transform: str = "identity", input_dtype=torch.float32) -> ExportedModel:
    """*net* in the frame, frozen as ``build_exported_model`` leaves it: with weights that need no
    gradient, attention and transformer layers take PyTorch's fused fast path when traced."""
    for p in net.parameters():
        p.requires_grad_(False)
    return ExportedModel(net, preprocess, OutputTransform(transform, task, 1.5, 2.0), shape,
                         input_dtype=input_dtype).eval()


def raw_inputs(shape, divide_by: float) -> RawInputs:
    stats = np.ones(shape, np.float32)
    return RawInputs(stats * 0.5, stats * 0.25, stats * 2.0, divide_by)


def pt2_operators(data: bytes) -> set[str]:
    """The operators of a .pt2 file: its serialized program and the program torch loads from it."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        program = json.loads(archive.read(next(n for n in archive.namelist() if n.endswith("models/model.json"))))
    return set(program_operators(program)) | set(graph_operators(torch.export.load(io.BytesIO(data)).graph_module))


def torchscript_operators(data: bytes) -> set[str]:
    return {kind for _, kind in script_operators(torch.jit.load(io.BytesIO(data)))}


def exported_operators(model: ExportedModel) -> set[str]:
    """What the .pt2 and TorchScript exports of *model* call (written as the exporters write them)."""
    buffer = io.BytesIO()
    with export_formats.quiet():
        torch.export.save(export_formats.exported_program(model), buffer)
    found = pt2_operators(buffer.getvalue())
    buffer = io.BytesIO()
    torch.jit.save(export_formats._trace(model, export_formats.example_input(model)), buffer)
    return found | torchscript_operators(buffer.getvalue())


@cache
def bare_frame() -> frozenset[str]:
    """What an export without layers, preprocessing or output transform calls."""
    return frozenset(exported_operators(framed(nn.Sequential(), (3,))))


def test_every_layer_type_has_an_entry():
    assert set(LAYER_OPERATORS) == set(layer_names()), (
        "netstudio/core/design/operators.py LAYER_OPERATORS must list every catalog layer type: "
        f"missing {sorted(set(layer_names()) - set(LAYER_OPERATORS))}, "
        f"not in the catalog {sorted(set(LAYER_OPERATORS) - set(layer_names()))}")


#: More inputs for layers whose operators depend on the input's rank (each variant runs on every
#: input of its layer that it accepts, and must accept at least one).
OTHER_INPUTS = {"Upsample": [(3, 8), (2, 3, 4, 4)]}


@pytest.mark.parametrize("name", layer_names())
def test_every_layer_type_calls_only_its_listed_operators(name):
    called: set[str] = set()
    for params in variants(name):
        stack = LayerStack([LayerSpec(name, params)])
        accepted = 0
        for shape in [SAMPLE_INPUT[name], *OTHER_INPUTS.get(name, [])]:
            validation = stack.validate(shape)
            if not validation.valid:
                continue
            accepted += 1
            net = build_model(stack, shape, output_width=3, seed=0, validation=validation)
            called |= exported_operators(framed(net, shape))
        assert accepted, f"{name} {params}: {stack.validate(SAMPLE_INPUT[name]).first_error()}"
    unlisted = called - LAYER_OPERATORS.get(name, frozenset()) - STRUCTURE_OPERATORS - bare_frame()
    assert not unlisted, f"add {sorted(unlisted)} to LAYER_OPERATORS[{name!r}] in netstudio/core/design/operators.py"
    unused = LAYER_OPERATORS.get(name, frozenset()) - called
    assert not unused, f"no export of {name} calls {sorted(unused)}: remove them from its entry"


def test_the_frame_around_the_layers_calls_only_listed_operators():
    called: set[str] = set()
    for preprocess in (None, 1.0, 255.0):
        for task, transform, shape in OUTPUTS:
            pre = None if preprocess is None else raw_inputs(shape, preprocess)
            called |= exported_operators(framed(nn.Sequential(), shape, pre, task, transform))
    assert called <= FRAME_OPERATORS | STRUCTURE_OPERATORS, sorted(called - FRAME_OPERATORS - STRUCTURE_OPERATORS)
    assert FRAME_OPERATORS | STRUCTURE_OPERATORS <= called, sorted((FRAME_OPERATORS | STRUCTURE_OPERATORS) - called)


def test_the_allow_list_refuses_what_computes_more_than_numbers():
    assert {"aten::from_file", "aten::save", "prim::PythonOp", "prim::CallFunction", "prim::Loop",
            "torch.os.system", "_operator.setitem"}.isdisjoint(ALLOWED_OPERATORS)
    assert len(ALLOWED_OPERATORS) == len(FRAME_OPERATORS | STRUCTURE_OPERATORS | set().union(*LAYER_OPERATORS.values())
                                         | set().union(*BLOCK_OPERATORS.values()))


DESIGNS = [t for t in TEMPLATES if t.layers]  # the blank one has nothing to export


@pytest.mark.parametrize("template", DESIGNS, ids=[t.key for t in DESIGNS])
def test_every_template_exports_to_files_that_call_only_listed_operators(tmp_path, template):
    """Through the real exporters (which read each file back through the checked loaders)."""
    stack = template.stack()
    shape = template.input_shape
    last = stack.layers[-1].params.get("out_features")
    task, transform, classes = ("binary", "sigmoid", 2) if last == 1 else ("multiclass", "softmax", 3)
    net = build_model(stack, shape, output_width=classes, seed=0)
    metadata = {"name": template.key, "task": task, "classes": [f"c{i}" for i in range(classes)],
                "input_shape": list(shape), "output_transform": transform, "preprocessing": None,
                "layers": [spec.get_config() for spec in stack]}
    if stack.layers[0].type == "Embedding":  # a text model: token ids in, as build_exported_model frames it
        model = framed(net, shape, None, task, transform, input_dtype=torch.int64)
        metadata.update(preprocessing={"kind": "text"}, raw_input={"dtype": "int64"},
                        vocabulary=stack.layers[0].params["num_embeddings"])
    else:
        images = len(shape) == 3
        model = framed(net, shape, raw_inputs(shape if not images else (shape[0], 1, 1), 255.0 if images else 1.0),
                       task, transform)
    for fmt, suffix in (("pt2", ".pt2"), ("torchscript", ".pt")):
        path = export_model(model, metadata, fmt, tmp_path / f"model{suffix}").path
        called = (pt2_operators if fmt == "pt2" else torchscript_operators)(path.read_bytes())
        assert called <= ALLOWED_OPERATORS, sorted(called - ALLOWED_OPERATORS)


def test_every_block_has_an_entry():
    from netstudio.core.design.blocks import BLOCK_TYPES

    assert set(BLOCK_OPERATORS) == set(BLOCK_TYPES)
    assert BLOCK_OPERATORS["Residual"] >= {"aten::add"} and BLOCK_OPERATORS["Parallel"] >= {"aten::cat", "aten::add"}
