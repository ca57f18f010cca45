"""Source code of the ``python`` export's ``model.py``: readable PyTorch, as a person would write it.

Each layer becomes one line ``self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)`` (the
arguments that differ from PyTorch's defaults, read from the trained module itself), ``forward``
calls them one by one with the output shape in a comment, and the preprocessing is spelled out:
the numeric part as a module whose statistics load from ``weights.safetensors``, the encoding of
raw table rows or image files as two functions that call NetStudio's own
:mod:`~netstudio.core.data.model_inputs`, shipped beside ``model.py``; NetStudio's own modules
(:mod:`~netstudio.core.design.modules`: ``Recurrent``, ``SequencePool``, ``SelfAttention``...)
have their source copied in. The
export imports the result and checks it against the trained model, so a mistake here cannot go
unnoticed.
"""

from __future__ import annotations

import inspect
import json
import textwrap

from netstudio import __version__

ENCODE_TABLE = '''def encode_table(frame) -> np.ndarray:
    """Raw table rows (a pandas DataFrame) -> float32 [N, len(FEATURE_NAMES)], NaN where missing.

    Columns are found by name (surrounding spaces ignored); other columns, the target included,
    are ignored. Yes/no columns become 1/0; categorical columns are one-hot encoded (all zero for
    a missing or unseen value).
    """
    return model_inputs.encode_table(frame, COLUMNS, FEATURE_NAMES, DECIMAL, THOUSANDS)'''

READ_IMAGES = '''def read_images(paths) -> np.ndarray:
    """Image files -> float32 [N, C, H, W] raw pixels (0-255), read as in training: resized to
    IMAGE_SIZE (height, width) and converted to COLOR."""
    return model_inputs.read_images(paths, IMAGE_SIZE, COLOR)'''

#: Constructor arguments never written (runtime placement, or not offered by NetStudio).
SKIPPED_ARGS = {"self", "device", "dtype", "inplace", "return_indices", "padding_mode", "divisor_override"}
#: Arguments whose value may be an int or a tuple of equal ints (written as one int when equal).
SIZE_ARGS = {"kernel_size", "stride", "padding", "dilation", "output_padding", "output_size"}


def layer_call(module, kind: str) -> str:
    """``nn.Conv2d(3, 16, kernel_size=3, padding=1)``: how to build *module* again."""
    special = _special_call(module, kind)
    if special is not None:
        return special
    cls = type(module)
    signature = inspect.signature(cls.__init__)
    positional, keywords = [], []
    for name, param in signature.parameters.items():
        if name in SKIPPED_ARGS or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name == "bias" and cls.__name__ in ("BatchNorm1d", "BatchNorm2d", "GroupNorm"):
            continue  # follows ``affine`` there
        value = _value(module, name)
        if param.default is inspect.Parameter.empty:
            positional.append(_literal(value, name))
        elif not _same(value, param.default, name) and not (
                name == "stride" and param.default is None and _same(value, module.kernel_size, name)):
            keywords.append(f"{name}={_literal(value, name)}")
    return f"nn.{cls.__name__}({', '.join(positional + keywords)})"


def _keywords(pairs) -> str:
    """``, name=value`` for each (name, value, default) whose value is not the default."""
    return "".join(f", {name}={_source(value)}" for name, value, default in pairs if value != default)


def _special_call(module, kind: str) -> str | None:
    """The constructor call of a layer whose module is NetStudio's own (its source goes into
    model.py) or keeps no attribute for some of its arguments; None for the others."""
    if kind in ("LSTM", "GRU", "RNN"):
        rnn = module.rnn
        pairs = [(name, getattr(rnn, name), default) for name, default in
                 (("num_layers", 1), ("bias", True), ("dropout", 0.0), ("bidirectional", False))]
        if kind == "RNN":
            pairs.append(("nonlinearity", rnn.nonlinearity, "tanh"))
        pairs.append(("return_sequences", module.return_sequences, False))
        return f"Recurrent({_source(kind)}, {rnn.input_size}, hidden_size={rnn.hidden_size}{_keywords(pairs)})"
    if kind == "Embedding":
        return (f"TokenEmbedding({module.num_embeddings}, {module.embedding_dim}"
                f"{_keywords([('padding_idx', module.padding_idx, None)])})")
    if kind == "PositionalEmbedding":
        return f"PositionalEmbedding({module.weight.shape[0]}, {module.weight.shape[1]})"
    if kind == "SequencePool":
        return f"SequencePool({_source(module.mode)})"
    if kind == "Permute":
        return f"Permute({_source(list(module.dims))})"
    if kind == "MultiheadAttention":
        attn = module.attention
        pairs = [("dropout", attn.dropout, 0.0), ("bias", attn.in_proj_bias is not None, True),
                 ("add_bias_kv", attn.bias_k is not None, False), ("add_zero_attn", attn.add_zero_attn, False)]
        return f"SelfAttention({attn.embed_dim}, {attn.num_heads}{_keywords(pairs)})"
    if kind == "TransformerEncoderLayer":
        attn = module.self_attn
        activation = "gelu" if getattr(module.activation, "__name__", "") == "gelu" else "relu"
        pairs = [("dim_feedforward", module.linear1.out_features, 2048), ("dropout", module.dropout.p, 0.1),
                 ("activation", activation, "relu"), ("layer_norm_eps", module.norm1.eps, 1e-5),
                 ("batch_first", True, False), ("norm_first", module.norm_first, False),
                 ("bias", module.linear1.bias is not None, True)]
        return f"nn.TransformerEncoderLayer({attn.embed_dim}, {attn.num_heads}{_keywords(pairs)})"
    return None


def _value(module, name: str):
    if name == "bias":
        return module.bias is not None
    value = getattr(module, name)
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _norm(value, name: str):
    if name in SIZE_ARGS and isinstance(value, tuple) and value and len(set(value)) == 1:
        return value[0]
    return value


def _same(value, default, name: str) -> bool:
    return _norm(value, name) == _norm(default, name) and type(_norm(value, name)) is type(_norm(default, name))


def _literal(value, name: str) -> str:
    return _source(_norm(value, name))


def _constant(name: str, value, width: int = 100) -> str:
    """``NAME = value`` as Python source (double quotes), wrapped to *width* columns."""
    text = _source(value)
    if len(name) + 3 + len(text) <= width:
        return f"{name} = {text}"
    if isinstance(value, str):  # implicit concatenation of pieces split at spaces
        pieces = textwrap.wrap(value, width - 8, drop_whitespace=False, break_on_hyphens=False)
        return f"{name} = (\n" + "".join(f"    {_source(p)}\n" for p in pieces) + ")"
    if isinstance(value, (list, tuple)):
        lines, line = [], ""
        for item in (_source(v) + "," for v in value):
            if line and len(line) + 1 + len(item) > width - 4:
                lines.append(line)
                line = item
            else:
                line = f"{line} {item}" if line else item
        lines.append(line)
        open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
        return f"{name} = {open_}\n" + "".join(f"    {line}\n" for line in lines) + close
    return f"{name} = {text}"


def _source(value) -> str:
    """A Python literal for plain JSON-like values, strings in double quotes."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        items = ", ".join(_source(v) for v in value)
        if isinstance(value, tuple):
            return f"({items},)" if len(value) == 1 else f"({items})"
        return f"[{items}]"
    return repr(value)


# ------------------------------------------------------------------------------------------------
# model.py


def model_source(model, metadata: dict, shapes: list | None = None) -> str:
    """The whole of ``model.py`` for an :class:`~netstudio.core.export.model.ExportedModel`."""
    pre = metadata.get("preprocessing") or {}
    table, images = _raw_kind(pre) == "table", _raw_kind(pre) == "images"
    parts = [_header(metadata) + "\n\n" + _imports(table, images) + "\n\n" + _constants(metadata, pre)]
    if table:
        parts.append(ENCODE_TABLE)
    if images:
        parts.append(READ_IMAGES)
    parts += [inspect.getsource(cls).rstrip("\n") for cls in own_classes(model.net)]
    parts += [_preprocess_class(model, pre), _net_class(model, shapes, metadata), _model_class(model, metadata),
              _loader()]
    return "\n\n\n".join(parts) + "\n"


def own_classes(net) -> list[type]:
    """NetStudio's own module classes (:mod:`netstudio.core.design.modules`) in *net*, in order of
    first use: model.py holds their source, so it needs no NetStudio."""
    found: dict[type, None] = {}
    for module in net.modules():
        if type(module).__module__ == "netstudio.core.design.modules":
            found.setdefault(type(module))
    return list(found)


def _raw_kind(pre: dict) -> str | None:
    if pre.get("kind") == "tabular" and pre.get("columns"):
        return "table"
    return "images" if pre.get("kind") == "images" else None


def _header(metadata: dict) -> str:
    task = metadata["task"]
    classes = metadata.get("classes") or []
    out = (f"class probabilities [N, {len(classes)}] in CLASSES order" if task != "regression"
           else "values [N, 1] in the target's own units")
    return f'''"""NetStudio model "{metadata.get('name', '')}" as plain PyTorch ({task}).

Written by NetStudio {__version__} for PyTorch {metadata.get('torch_version')}; needs no NetStudio.
``Model`` takes raw inputs (see RAW_INPUT), prepares them as in training (class ``Preprocess``)
and returns {out}.

    from model import load_model
    model = load_model()            # weights.safetensors beside this file, strict=True
    outputs = model(x)              # x: float32 tensor shaped [N, {", ".join(map(str, metadata["input_shape"]))}]
"""'''


def _imports(table: bool, images: bool) -> str:
    lines = ["from __future__ import annotations", ""]
    lines += ["from pathlib import Path", ""]
    if table or images:
        lines.append("import numpy as np")
    lines += ["import torch", "from torch import nn"]
    if table or images:
        lines += ["", "import model_inputs  # beside this file: raw rows and image files -> the input tensor"]
    return "\n".join(lines)


def _constants(metadata: dict, pre: dict) -> str:
    lines = ["HERE = Path(__file__).resolve().parent",
             _constant("TASK", metadata["task"]),
             _constant("CLASSES", metadata.get("classes")),
             _constant("INPUT_SHAPE", tuple(metadata["input_shape"])),
             _constant("FEATURE_NAMES", list(metadata.get("feature_names") or [])),
             _constant("RAW_INPUT", (metadata.get("raw_input") or {}).get("description", ""))]
    if pre.get("kind") == "tabular" and pre.get("columns"):
        columns = [(c["name"], c.get("kind", "numeric"), list(c.get("categories", []))) for c in pre["columns"]]
        number = pre.get("number_format") or {}
        lines += ["", "# Raw table columns in order: (name, kind, one-hot categories).",
                  _constant("COLUMNS", columns),
                  _constant("DECIMAL", number.get("decimal", ".")),
                  _constant("THOUSANDS", number.get("thousands"))]
    if pre.get("kind") == "images":
        image = pre.get("image") or {}
        lines += [_constant("IMAGE_SIZE", tuple(image.get("size", metadata["input_shape"][1:]))),
                  _constant("COLOR", image.get("color", "rgb"))]
    return "\n".join(lines)


def _preprocess_class(model, pre: dict) -> str:
    stat = tuple(pre.get("stat_shape") or ())
    divide = float(pre.get("divide_by", 1.0))
    buffers = "\n".join(f'        self.register_buffer("{name}", torch.{init}({stat!r}))'
                        for name, init in (("fill", "zeros"), ("mean", "zeros"), ("std", "ones")))
    has_stats = bool(pre)
    body = '''        x = x.to(torch.float32)
        x = torch.where(torch.isnan(x) | torch.isinf(x), self.fill, x)  # impute missing values
''' + ("        x = x / self.divide_by\n" if divide != 1.0 else "") + "        return (x - self.mean) / self.std"
    if not has_stats:
        return '''class Preprocess(nn.Module):
    """Raw inputs -> network inputs: this model was trained without preprocessing."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float32)'''
    scale = f", divide by {divide:g}" if divide != 1.0 else ""
    return f'''class Preprocess(nn.Module):
    """Raw inputs -> network inputs, as fitted on the training split.

    Missing values (NaN, ±inf) become the training mean (``fill``, raw units){scale}, then each
    value is standardised: ``(x - mean) / std``. The statistics load from weights.safetensors.
    """

    def __init__(self) -> None:
        super().__init__()
{buffers}
        self.register_buffer("divide_by", torch.tensor({divide!r}))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
{body}'''


def _net_class(model, shapes: list | None, metadata: dict) -> str:
    layers = model.layers()
    init = "\n".join(f"        self.{name} = {layer_call(module, kind)}"
                     for (name, kind), module in zip(layers, model.net))
    lines = []
    for i, (name, _) in enumerate(layers):
        shape = shapes[i] if shapes and i < len(shapes) and shapes[i] else None
        comment = f"  # [N, {', '.join(map(str, shape))}]" if shape else ""
        lines.append(f"        x = self.{name}(x){comment}")
    forward = "\n".join(lines)
    shape_in = ", ".join(map(str, metadata["input_shape"]))
    return f'''class Net(nn.Module):
    """The trained network: preprocessed inputs [N, {shape_in}] -> raw outputs."""

    def __init__(self) -> None:
        super().__init__()
{init}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
{forward}
        return x'''


def _model_class(model, metadata: dict) -> str:
    out = model.output
    if out.task == "regression":
        what = "values [N, 1] in the target's units"
        tail = f"        return outputs * {out.target_std!r} + {out.target_mean!r}  # target std and mean"
    elif out.transform in ("sigmoid", "binary_identity"):
        what = "probabilities [N, 2] of CLASSES"
        squash = "torch.sigmoid(outputs)" if out.transform == "sigmoid" else "outputs.clamp(0, 1)"
        tail = f"        p = {squash}  # probability of CLASSES[1]\n        return torch.cat([1 - p, p], dim=1)"
    elif out.transform == "softmax":
        what = "probabilities [N, classes] in CLASSES order"
        tail = "        return torch.softmax(outputs, dim=1)"
    elif out.transform == "exp":
        what = "probabilities [N, classes] in CLASSES order"
        tail = "        return torch.exp(outputs)  # the network ends with LogSoftmax"
    else:
        what = "probabilities [N, classes] in CLASSES order"
        tail = "        return outputs  # the network ends with Softmax"
    return f'''class Model(nn.Module):
    """Raw inputs -> {what}."""

    def __init__(self) -> None:
        super().__init__()
        self.preprocess = Preprocess()
        self.net = Net()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = self.net(self.preprocess(x))
{tail}'''


def _loader() -> str:
    return '''def load_model(path: str | Path | None = None) -> Model:
    """A ``Model`` with the trained weights (weights.safetensors unless *path*), in eval mode."""
    from safetensors.torch import load_file

    model = Model()
    model.load_state_dict(load_file(str(path or HERE / "weights.safetensors")), strict=True)
    return model.eval()'''
