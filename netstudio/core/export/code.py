"""Source code of the ``python`` export's ``model.py``: readable PyTorch, as a person would write it.

Each layer becomes one line ``self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)`` (the
arguments that differ from PyTorch's defaults, read from the trained module itself), ``forward``
calls them one by one with the output shape in a comment, and the preprocessing is spelled out:
the numeric part as a module whose statistics load from ``weights.safetensors``, the encoding of
raw table rows or image files as two functions that call NetStudio's own
:mod:`~netstudio.core.data.model_inputs`, shipped beside ``model.py``; NetStudio's own modules
(:mod:`~netstudio.core.design.modules`: ``Recurrent``, ``SequencePool``, ``SelfAttention``...)
have their source copied in. A block becomes a small class of its own (``class Res1`` with
``body`` and ``shortcut``, ``class Parallel1`` with ``branches``, ``class Repeat1`` with its
copies), each inner list a class calling its layers in order, the module names the builder gave. The
export imports the result and checks it against the trained model, so a mistake here cannot go
unnoticed.
"""

from __future__ import annotations

import inspect
import json
import textwrap

from netstudio import __version__
from netstudio.core.design.blocks import BLOCK_TYPES

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

ENCODE_TEXT = '''_TOKENIZER = None


def encode_text(texts) -> np.ndarray:
    """Texts -> int64 [N, MAX_LENGTH] token ids, as in training: each text split by the fitted
    tokenizer (tokenizer.json beside this file; needs the ``tokenizers`` package), cut after
    MAX_LENGTH tokens and padded with id 0. *texts* is a list of strings, or a pandas DataFrame
    whose column TEXT_COLUMN holds them (a missing cell is the empty text).

        x = torch.from_numpy(encode_text(["a fine film", "dull"]))
    """
    global _TOKENIZER
    if _TOKENIZER is None:
        document = (HERE / "tokenizer.json").read_text(encoding="utf-8")
        _TOKENIZER = model_inputs.load_tokenizer(document)
    if hasattr(texts, "columns"):
        texts = model_inputs.text_cells(texts, TEXT_COLUMN)
    texts = ["" if t is None else str(t) for t in texts]
    return model_inputs.encode_texts(_TOKENIZER, texts, MAX_LENGTH)'''

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


def model_source(model, metadata: dict, results: list | None = None) -> str:
    """The whole of ``model.py`` for an :class:`~netstudio.core.export.model.ExportedModel`;
    *results* (the validation's, one per top-level layer) give the shapes in ``forward``'s comments."""
    pre = metadata.get("preprocessing") or {}
    table, images, text = (_raw_kind(pre) == kind for kind in ("table", "images", "text"))
    parts = [_header(metadata) + "\n\n" + _imports(table or text, images) + "\n\n" + _constants(metadata, pre)]
    if table:
        parts.append(ENCODE_TABLE)
    if text:
        parts.append(ENCODE_TEXT)
    if images:
        parts.append(READ_IMAGES)
    parts += [inspect.getsource(cls).rstrip("\n") for cls in own_classes(model.net)]
    parts += [_preprocess_class(model, pre), _net_class(model, results, metadata), _model_class(model, metadata),
              _loader()]
    return "\n\n\n".join(parts) + "\n"


def own_classes(net) -> list[type]:
    """NetStudio's own module classes (:mod:`netstudio.core.design.modules`) in *net*, in order of
    first use: model.py holds their source, so it needs no NetStudio. Blocks are written as their
    own classes instead (:func:`_block_class`)."""
    found: dict[type, None] = {}
    for module in net.modules():
        if type(module).__module__ == "netstudio.core.design.modules" and type(module).__name__ not in BLOCK_TYPES:
            found.setdefault(type(module))
    return list(found)


def _raw_kind(pre: dict) -> str | None:
    if pre.get("kind") in ("tabular", "series") and pre.get("columns"):
        return "table"
    return pre.get("kind") if pre.get("kind") in ("images", "text") else None


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
    outputs = model(x)              # x: {_input_words(metadata)} shaped [N, {", ".join(map(str, metadata["input_shape"]))}]
"""'''


def _input_words(metadata: dict) -> str:
    if (metadata.get("preprocessing") or {}).get("kind") == "text":
        return "int64 token ids (encode_text(texts))"
    return "float32 tensor"


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
    if pre.get("kind") in ("tabular", "series") and pre.get("columns"):
        columns = [(c["name"], c.get("kind", "numeric"), list(c.get("categories", []))) for c in pre["columns"]]
        number = pre.get("number_format") or {}
        lines += ["", "# Raw table columns in order: (name, kind, one-hot categories).",
                  _constant("COLUMNS", columns),
                  _constant("DECIMAL", number.get("decimal", ".")),
                  _constant("THOUSANDS", number.get("thousands"))]
    if pre.get("kind") == "series":
        lines += ["", "# A time series: each input is WINDOW consecutive rows in ORDER_BY's order (oldest first).",
                  _constant("SEQUENCE", dict(pre.get("sequence") or {}))]
    if pre.get("kind") == "text":
        text = pre.get("text") or {}
        number = pre.get("number_format") or {}
        lines += ["", "# The text column and the tokens per text (tokenizer.json holds the tokenizer).",
                  _constant("TEXT_COLUMN", text.get("column")),
                  _constant("MAX_LENGTH", int(metadata["input_shape"][0])),
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


def _net_class(model, results: list | None, metadata: dict) -> str:
    """``class Net``, after the small classes of its blocks (each block, each list inside one)."""
    configs = metadata.get("layers") if len(metadata.get("layers") or []) == len(model.net) else None
    shape_in = ", ".join(map(str, metadata["input_shape"]))
    helpers: list[str] = []
    net = _sequence_class("Net", f"The trained network: preprocessed inputs [N, {shape_in}] -> raw outputs.",
                          model.net, configs, results, "", helpers)
    return "\n\n\n".join([*helpers, net])


def _camel(name: str) -> str:
    """``res1`` -> ``Res1``; ``parallel1`` -> ``Parallel1``."""
    return name[:1].upper() + name[1:]


def _sequence_class(class_name: str, doc: str, sequence, configs: list | None, results: list | None,
                    prefix: str, helpers: list[str]) -> str:
    """A class that calls the modules of *sequence* one after another (their names kept, so the
    state dict's keys are the trained model's); block classes are appended to *helpers* first."""
    init, forward = [], []
    for i, (name, module) in enumerate(sequence.named_children()):
        config = configs[i] if configs and i < len(configs) and isinstance(configs[i], dict) else {}
        kind = config.get("type") or type(module).__name__
        result = results[i] if results and i < len(results) else None
        if kind in BLOCK_TYPES and type(module).__name__ == kind:
            block_class = prefix + _camel(name)
            helpers.append(_block_class(block_class, kind, module, config, result, helpers))
            call = f"{block_class}()"
        else:
            call = layer_call(module, kind)
        init.append(f"        self.{name} = {call}")
        shape = getattr(result, "output_shape", None)
        comment = f"  # [N, {', '.join(map(str, shape))}]" if shape else ""
        forward.append(f"        x = self.{name}(x){comment}")
    body = "\n".join(init) if init else "        pass"
    return f'''class {class_name}(nn.Module):
    """{doc}"""

    def __init__(self) -> None:
        super().__init__()
{body}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
{chr(10).join(forward) + chr(10) if forward else ""}        return x'''


def _block_class(class_name: str, kind: str, module, config: dict, result, helpers: list[str]) -> str:
    """The class of one block (Residual, Parallel, Repeat), its inner lists' classes added to *helpers*."""
    if kind == "Residual":
        layers = config.get("layers") if isinstance(config.get("layers"), list) else None
        inner = result.children[0] if result is not None and result.children else None
        helpers.append(_sequence_class(f"{class_name}Body", "The layers inside the Residual block.", module.body,
                                       layers, inner, class_name, helpers))
        shortcut = _shortcut_call(module.shortcut)
        return f'''class {class_name}(nn.Module):
    """Residual block: body(x) + shortcut(x), the shortcut {_shortcut_doc(module.shortcut)}."""

    def __init__(self) -> None:
        super().__init__()
        self.body = {class_name}Body()
        self.shortcut = {shortcut}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)'''
    if kind == "Parallel":
        branch_configs = config.get("branches") if isinstance(config.get("branches"), list) else []
        calls = []
        for b, branch in enumerate(module.branches):
            if len(branch) == 0:
                calls.append("nn.Identity()")  # an empty branch passes its input on
                continue
            layers = branch_configs[b] if b < len(branch_configs) and isinstance(branch_configs[b], list) else None
            inner = result.children[b] if result is not None and b < len(result.children) else None
            name = f"{class_name}Branch{b + 1}"
            helpers.append(_sequence_class(name, f"Branch {b + 1} of the Parallel block.", branch, layers, inner,
                                           name, helpers))
            calls.append(f"{name}()")
        if module.merge == "add":
            merge, what = "sum(branch(x) for branch in self.branches)", "summed"
        else:
            merge, what = f"torch.cat([branch(x) for branch in self.branches], dim={module.dim})", \
                f"joined along dim {module.dim}"
        return f'''class {class_name}(nn.Module):
    """Parallel block: every branch gets the input; their outputs are {what}."""

    def __init__(self) -> None:
        super().__init__()
        self.branches = {_module_list(calls)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return {merge}'''
    # Repeat: each copy its own weights; copies with the same layers share one class
    layers = config.get("layers") if isinstance(config.get("layers"), list) else None
    copies = list(module.named_children())
    results = result.copies if result is not None and result.copies else []
    sources: dict[str, str] = {}
    init, forward = [], []
    for number, (name, copy_) in enumerate(copies, start=1):
        inner = results[number - 1] if number - 1 < len(results) else None
        probe: list[str] = []
        text = _sequence_class("{name}", "", copy_, layers, None, "{prefix}", probe)
        key = text + "\n".join(probe)
        if key not in sources:
            copy_class = f"{class_name}Copy{len(sources) + 1}"
            sources[key] = copy_class
            helpers.append(_sequence_class(copy_class, f"One copy of the layers the Repeat block runs {len(copies)} "
                                           "times, with its own weights.", copy_, layers, inner, copy_class, helpers))
        init.append(f"        self.{name} = {sources[key]}()")
        forward.append(f"        x = self.{name}(x)")
    return f'''class {class_name}(nn.Module):
    """Repeat block: the same layers {len(copies)} times in a row, each copy with its own weights."""

    def __init__(self) -> None:
        super().__init__()
{chr(10).join(init)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
{chr(10).join(forward) + chr(10) if forward else ""}        return x'''


def _module_list(calls: list[str]) -> str:
    """``nn.ModuleList([A(), B()])``, one call a line when that line would be long."""
    text = f"nn.ModuleList([{', '.join(calls)}])"
    if len(text) <= 70:
        return text
    return "nn.ModuleList([\n" + "".join(f"            {call},\n" for call in calls) + "        ])"


def _shortcut_call(shortcut) -> str:
    from torch import nn

    if isinstance(shortcut, nn.Sequential):
        return f"nn.Sequential({', '.join(layer_call(m, type(m).__name__) for m in shortcut)})"
    return layer_call(shortcut, type(shortcut).__name__)


def _shortcut_doc(shortcut) -> str:
    from torch import nn

    if isinstance(shortcut, nn.Identity):
        return "the identity"
    if isinstance(shortcut, nn.Linear):
        return "a learned Linear projection"
    return "a learned 1x1 convolution + batch norm"


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
