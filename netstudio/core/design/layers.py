"""The layer catalog: every layer NetStudio offers, with its parameters and shape rule.

Each :class:`LayerType` is named after its PyTorch class (``Conv2d``) and knows, in pure Python,
its parameter schema, the output shape it gives for an input shape, how many trainable parameters
it has and which input sizes it infers (``in_features``, ``in_channels``...). Only ``build``
imports PyTorch. Shapes leave out the batch dimension: an RGB image batch is ``(3, 32, 32)``.

A shape rule that cannot accept its input raises :class:`ShapeError` with a message for the user
and, where one exists, a :class:`Fix` that the editor offers as one click ("Insert Flatten").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from netstudio.core.design.params import Param, as_tuple

Shape = tuple[int, ...]

#: Palette categories, in the order the palette shows them.
CATEGORIES = ("Core", "Convolution", "Pooling", "Normalization", "Activation", "Recurrent", "Reshape")


@dataclass(frozen=True)
class Fix:
    """A one-click repair the editor can apply to a stack.

    ``op`` is ``insert`` (put ``layer`` before the faulty one), ``replace`` (swap the faulty layer
    for ``layer``), ``set_param`` (set ``param`` to ``value``) or ``remove``.
    """

    label: str
    op: str
    layer: dict | None = None
    param: str | None = None
    value: Any = None

    def to_json(self) -> dict:
        data: dict[str, Any] = {"label": self.label, "op": self.op}
        if self.layer is not None:
            data["layer"] = self.layer
        if self.param is not None:
            data["param"] = self.param
            data["value"] = self.value
        return data


class ShapeError(Exception):
    """A layer cannot take the shape it is given; ``fix`` may say how to repair it."""

    def __init__(self, message: str, fix: Fix | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix


@dataclass(frozen=True)
class LayerType:
    """One entry of the catalog. Use the methods; the ``*_fn`` fields are the rules behind them."""

    name: str
    category: str
    doc: str
    params: tuple[Param, ...]
    shape_fn: Callable[[Shape, dict], Shape]
    prefix: str
    count_fn: Callable[[Shape, dict], int] = lambda shape, p: 0
    infer_fn: Callable[[Shape, dict], dict] = lambda shape, p: {}
    build_fn: Callable[[Shape, dict], Any] | None = None
    describe_fn: Callable[[dict], str] = lambda p: ""
    warn_fn: Callable[[Shape, dict], list[str]] = lambda shape, p: []
    param_index: dict[str, Param] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "param_index", {p.name: p for p in self.params})

    @property
    def torch_class(self) -> str:
        """The PyTorch class this layer builds, for tooltips and the reference."""
        return f"torch.nn.{self.name}"

    def defaults(self) -> dict:
        """A fresh dict of every parameter's default value."""
        return {p.name: p.normalise(p.default) for p in self.params}

    def output_shape(self, input_shape: Shape, params: dict) -> Shape:
        """The output shape for *input_shape*; raises :class:`ShapeError` if it cannot be taken."""
        return tuple(self.shape_fn(tuple(input_shape), params))

    def parameter_count(self, input_shape: Shape, params: dict) -> int:
        """Trainable parameters, counted without building anything."""
        return self.count_fn(tuple(input_shape), params)

    def inferred(self, input_shape: Shape, params: dict) -> dict:
        """The sizes this layer takes from its input (``in_features``...), never typed by users."""
        return self.infer_fn(tuple(input_shape), params)

    def warnings(self, input_shape: Shape, params: dict) -> list[str]:
        """Things that work but are probably not what the user meant."""
        return self.warn_fn(tuple(input_shape), params)

    def describe(self, params: dict) -> str:
        """A short summary of the parameters for the stack view ("3×3, 16 ch")."""
        return self.describe_fn(params)

    def build(self, input_shape: Shape, params: dict):
        """Create the ``torch.nn.Module`` for this layer (imports PyTorch)."""
        import torch.nn as nn

        if self.build_fn is not None:
            return self.build_fn(tuple(input_shape), params)
        return getattr(nn, self.name)(**self._torch_kwargs(params))

    def _torch_kwargs(self, params: dict) -> dict:
        return {name: (tuple(v) if isinstance(v, list) else v) for name, v in params.items()}


_CATALOG: dict[str, LayerType] = {}


def register(layer_type: LayerType) -> LayerType:
    """Add *layer_type* to the catalog; a second type with the same name is refused."""
    if layer_type.name in _CATALOG:
        raise ValueError(f"layer type {layer_type.name!r} is already registered")
    if layer_type.category not in CATEGORIES:
        raise ValueError(f"unknown category {layer_type.category!r}")
    _CATALOG[layer_type.name] = layer_type
    return layer_type


def get_layer_type(name: str) -> LayerType:
    """The catalog entry named *name*; ``KeyError`` with close matches if there is none."""
    try:
        return _CATALOG[name]
    except KeyError:
        raise KeyError(unknown_layer_message(name)) from None


def unknown_layer_message(name: Any) -> str:
    import difflib

    close = difflib.get_close_matches(str(name), list(_CATALOG), n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"unknown layer type {name!r}{hint}"


def layer_types() -> Iterator[LayerType]:
    """Every registered layer type, by category then in registration order."""
    for category in CATEGORIES:
        yield from (t for t in _CATALOG.values() if t.category == category)


def layer_names() -> list[str]:
    return [t.name for t in layer_types()]


# --------------------------------------------------------------------------------------------
# Shape helpers


def fmt_shape(shape: Shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _need_rank(name: str, shape: Shape, ranks: tuple[int, ...], what: str, fix: Fix | None = None) -> None:
    if len(shape) not in ranks:
        raise ShapeError(f"{name} needs {what} input, got {fmt_shape(shape)}", fix)


def _flatten_fix() -> Fix:
    return Fix("Insert Flatten", "insert", {"type": "Flatten", "params": {}})


def _unflatten_fix(shape: Shape, target: tuple[int, ...]) -> Fix:
    label = "Insert Unflatten to " + "×".join(str(t) for t in target)
    return Fix(label, "insert", {"type": "Unflatten", "params": {"dim": 1, "unflattened_size": list(target)}})


def _image_fix(shape: Shape) -> Fix | None:
    """Suggest reshaping a flat vector into a one-channel square image, when it is one."""
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        if side * side == shape[0] and side > 1:
            return _unflatten_fix(shape, (1, side, side))
    return None


def _replace_fix(name: str) -> Fix:
    return Fix(f"Replace with {name}", "replace", {"type": name, "params": {}})


def _conv_like_rank(name: str, shape: Shape, dims: int) -> None:
    if dims == 2:
        fix = _image_fix(shape)
        if len(shape) == 2 and name.endswith("2d"):
            fix = _replace_fix(name[:-2] + "1d") if name[:-2] + "1d" in _CATALOG else fix
        _need_rank(name, shape, (3,), "a [channels, height, width]", fix)
    else:
        fix = None
        if len(shape) == 1:
            fix = _unflatten_fix(shape, (1, shape[0]))
        elif len(shape) == 3 and name[:-2] + "2d" in _CATALOG:
            fix = _replace_fix(name[:-2] + "2d")
        _need_rank(name, shape, (2,), "a [channels, length]", fix)


def _check_sizes(name: str, out: Shape) -> Shape:
    if any(s < 1 for s in out):
        raise ShapeError(f"{name} would give an empty output {fmt_shape(out)}: the input is too small")
    return out


def _conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    # Follows ATen's pooling_output_shape: the last window must start inside the (left-padded) input.
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _dims_text(values: tuple[int, ...]) -> str:
    return "×".join(str(v) for v in values)


# --------------------------------------------------------------------------------------------
# Core


def _linear_shape(shape: Shape, p: dict) -> Shape:
    _need_rank("Linear", shape, (1, 2), "a flat", _flatten_fix() if len(shape) >= 3 else None)
    return shape[:-1] + (p["out_features"],)


register(LayerType(
    name="Linear", category="Core", prefix="fc",
    doc="Fully connected layer: every output is a weighted sum of all inputs plus a bias.",
    params=(
        Param("out_features", "int", 64, "Number of output units; \"auto\" on the last layer takes the data's output width.", minimum=1, allow_auto=True),
        Param("bias", "bool", True, "Learn an additive bias."),
    ),
    shape_fn=_linear_shape,
    count_fn=lambda s, p: s[-1] * p["out_features"] + (p["out_features"] if p["bias"] else 0),
    infer_fn=lambda s, p: {"in_features": s[-1]},
    build_fn=lambda s, p: __import__("torch.nn", fromlist=["Linear"]).Linear(s[-1], p["out_features"], bias=p["bias"]),
    describe_fn=lambda p: f"{p['out_features']} unit{'' if p['out_features'] == 1 else 's'}",
))


def _dropout_warnings(shape: Shape, p: dict) -> list[str]:
    return ["Dropout p = 0 does nothing"] if p["p"] == 0 else []


register(LayerType(
    name="Dropout", category="Core", prefix="dropout",
    doc="Randomly zeroes inputs with probability p while training, to reduce overfitting.",
    params=(Param("p", "float", 0.5, "Probability of zeroing an element (must be < 1).", minimum=0.0, maximum=1.0, exclusive_maximum=True),),
    shape_fn=lambda s, p: s,
    warn_fn=_dropout_warnings,
    describe_fn=lambda p: f"p = {p['p']:g}",
))

register(LayerType(
    name="Identity", category="Core", prefix="identity",
    doc="Passes its input through unchanged (a placeholder while experimenting).",
    params=(),
    shape_fn=lambda s, p: s,
))


# --------------------------------------------------------------------------------------------
# Reshape


def _flatten_shape(shape: Shape, p: dict) -> Shape:
    full = len(shape) + 1
    start, end = p["start_dim"], p["end_dim"]
    for label, dim in (("start_dim", start), ("end_dim", end)):
        if not -full <= dim < full:
            raise ShapeError(f"Flatten {label} {dim} is out of range for an input with {full} dimensions (batch included)")
    start, end = start % full, end % full
    if start == 0:
        raise ShapeError("Flatten would merge the batch dimension: start_dim must be ≥ 1",
                         Fix("Set start_dim to 1", "set_param", param="start_dim", value=1))
    if start > end:
        raise ShapeError(f"Flatten start_dim ({p['start_dim']}) comes after end_dim ({p['end_dim']})")
    batched = (None,) + shape
    merged = math.prod(batched[start:end + 1])
    return tuple(batched[1:start]) + (merged,) + tuple(batched[end + 1:])


register(LayerType(
    name="Flatten", category="Reshape", prefix="flatten",
    doc="Flattens dimensions into one, e.g. a [16, 4, 4] feature map into 256 features.",
    params=(
        Param("start_dim", "int", 1, "First dimension to flatten (0 is the batch)."),
        Param("end_dim", "int", -1, "Last dimension to flatten (-1 is the last)."),
    ),
    shape_fn=_flatten_shape,
))


def _unflatten_shape(shape: Shape, p: dict) -> Shape:
    full = len(shape) + 1
    dim = p["dim"]
    if not -full <= dim < full:
        raise ShapeError(f"Unflatten dim {dim} is out of range for an input with {full} dimensions (batch included)")
    dim %= full
    if dim == 0:
        raise ShapeError("Unflatten cannot split the batch dimension: dim must be ≥ 1",
                         Fix("Set dim to 1", "set_param", param="dim", value=1))
    size = shape[dim - 1]
    target = tuple(p["unflattened_size"])
    if math.prod(target) != size:
        fix = None
        side = math.isqrt(size)
        if side * side == size and dim == 1 and len(shape) == 1:
            fix = Fix(f"Set unflattened_size to 1×{side}×{side}", "set_param", param="unflattened_size", value=[1, side, side])
        raise ShapeError(f"Unflatten to {_dims_text(target)} needs {math.prod(target)} values, "
                         f"but dimension {dim} has {size}", fix)
    return shape[:dim - 1] + target + shape[dim:]


register(LayerType(
    name="Unflatten", category="Reshape", prefix="unflatten",
    doc="Splits one dimension into several, e.g. 784 features into a [1, 28, 28] image.",
    params=(
        Param("dim", "int", 1, "Dimension to split (0 is the batch)."),
        Param("unflattened_size", "ints", [1, 28, 28], "The sizes it is split into; their product must equal its size.", minimum=1),
    ),
    shape_fn=_unflatten_shape,
    describe_fn=lambda p: "→ " + _dims_text(tuple(p["unflattened_size"])),
))


# --------------------------------------------------------------------------------------------
# Convolution


def _conv_params(dims: int, transposed: bool = False) -> tuple[Param, ...]:
    params = [
        Param("out_channels", "int", 16, "Number of filters (output channels).", minimum=1),
        Param("kernel_size", "size", 3, "Size of each filter.", minimum=1, arity=dims),
        Param("stride", "size", 1, "Step between filter positions.", minimum=1, arity=dims),
    ]
    if transposed:
        params += [
            Param("padding", "size", 0, "Zero-padding removed from each side of the output.", minimum=0, arity=dims),
            Param("output_padding", "size", 0, "Extra size added to one side of the output (< stride).", minimum=0, arity=dims),
        ]
    else:
        params.append(Param("padding", "size", 0, "Zero-padding added to both sides; \"same\" keeps the size (stride 1).",
                            minimum=0, arity=dims, strings=("same", "valid")))
    params += [
        Param("dilation", "size", 1, "Spacing between filter elements.", minimum=1, arity=dims),
        Param("groups", "int", 1, "Split channels into groups that do not mix (channels must divide).", minimum=1),
        Param("bias", "bool", True, "Learn an additive bias per output channel."),
    ]
    return tuple(params)


def _check_groups(name: str, in_ch: int, p: dict) -> None:
    g = p["groups"]
    if in_ch % g:
        raise ShapeError(f"{name} groups {g} must divide the {in_ch} input channels",
                         Fix("Set groups to 1", "set_param", param="groups", value=1))
    if p["out_channels"] % g:
        raise ShapeError(f"{name} groups {g} must divide out_channels {p['out_channels']}",
                         Fix("Set groups to 1", "set_param", param="groups", value=1))


def _conv_shape(name: str, dims: int) -> Callable[[Shape, dict], Shape]:
    def rule(shape: Shape, p: dict) -> Shape:
        _conv_like_rank(name, shape, dims)
        _check_groups(name, shape[0], p)
        spatial = shape[1:]
        k, s, d = as_tuple(p["kernel_size"], dims), as_tuple(p["stride"], dims), as_tuple(p["dilation"], dims)
        padding = p["padding"]
        if padding == "same":
            if any(v != 1 for v in s):
                raise ShapeError(f'{name} padding "same" needs stride 1',
                                 Fix("Set padding to 0", "set_param", param="padding", value=0))
            return (p["out_channels"],) + spatial
        pad = (0,) * dims if padding == "valid" else as_tuple(padding, dims)
        effective = tuple(dd * (kk - 1) + 1 for kk, dd in zip(k, d))
        padded = tuple(size + 2 * pp for size, pp in zip(spatial, pad))
        if any(e > size for e, size in zip(effective, padded)):
            fix = None
            if all(dd == 1 for dd in d) and all(pp == 0 for pp in pad):
                small = min(spatial)
                fix = Fix(f"Set kernel_size to {small}", "set_param", param="kernel_size", value=small)
            raise ShapeError(f"kernel {_dims_text(effective if any(dd > 1 for dd in d) else k)} is larger than the "
                             f"{_dims_text(padded)} input" + (" (padding included)" if any(pad) else ""), fix)
        out = tuple(_conv_out(size, kk, ss, pp, dd) for size, kk, ss, pp, dd in zip(spatial, k, s, pad, d))
        return _check_sizes(name, (p["out_channels"],) + out)
    return rule


def _conv_count(dims: int, transposed: bool = False) -> Callable[[Shape, dict], int]:
    def count(shape: Shape, p: dict) -> int:
        k = math.prod(as_tuple(p["kernel_size"], dims))
        weights = shape[0] * p["out_channels"] // p["groups"] * k
        return weights + (p["out_channels"] if p["bias"] else 0)
    return count


def _conv_describe(dims: int) -> Callable[[dict], str]:
    def describe(p: dict) -> str:
        k = as_tuple(p["kernel_size"], dims)
        text = f"{_dims_text(k) if dims == 2 else 'kernel ' + str(k[0])}, {p['out_channels']} ch"
        stride = as_tuple(p["stride"], dims)
        if any(v != 1 for v in stride):
            text += f", stride {_dims_text(stride)}"
        if p.get("padding") == "same":
            text += ", same"
        elif p.get("padding") not in (0, "valid", None) and any(as_tuple(p["padding"], dims)):
            text += f", pad {_dims_text(as_tuple(p['padding'], dims))}"
        return text
    return describe


def _conv_build(name: str) -> Callable[[Shape, dict], Any]:
    def build(shape: Shape, p: dict):
        import torch.nn as nn

        kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in p.items() if k != "out_channels"}
        return getattr(nn, name)(shape[0], p["out_channels"], **kwargs)
    return build


for _name, _dims in (("Conv1d", 1), ("Conv2d", 2)):
    register(LayerType(
        name=_name, category="Convolution", prefix="conv",
        doc=f"{_dims}-D convolution: slides learned filters over the input's {'length' if _dims == 1 else 'height and width'}.",
        params=_conv_params(_dims),
        shape_fn=_conv_shape(_name, _dims),
        count_fn=_conv_count(_dims),
        infer_fn=lambda s, p: {"in_channels": s[0]},
        build_fn=_conv_build(_name),
        describe_fn=_conv_describe(_dims),
    ))


def _deconv_shape(shape: Shape, p: dict) -> Shape:
    name = "ConvTranspose2d"
    _conv_like_rank(name, shape, 2)
    _check_groups(name, shape[0], p)
    k, s = as_tuple(p["kernel_size"], 2), as_tuple(p["stride"], 2)
    pad, op, d = as_tuple(p["padding"], 2), as_tuple(p["output_padding"], 2), as_tuple(p["dilation"], 2)
    if any(o >= max(ss, dd) for o, ss, dd in zip(op, s, d)):
        raise ShapeError("ConvTranspose2d output_padding must be smaller than stride or dilation",
                         Fix("Set output_padding to 0", "set_param", param="output_padding", value=0))
    out = tuple((size - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1
                for size, kk, ss, pp, oo, dd in zip(shape[1:], k, s, pad, op, d))
    return _check_sizes(name, (p["out_channels"],) + out)


register(LayerType(
    name="ConvTranspose2d", category="Convolution", prefix="deconv",
    doc="Transposed 2-D convolution: learned upsampling, e.g. doubling height and width with stride 2.",
    params=_conv_params(2, transposed=True),
    shape_fn=_deconv_shape,
    count_fn=_conv_count(2, transposed=True),
    infer_fn=lambda s, p: {"in_channels": s[0]},
    build_fn=_conv_build("ConvTranspose2d"),
    describe_fn=_conv_describe(2),
))


# --------------------------------------------------------------------------------------------
# Pooling


def _pool_params(dims: int, kind: str) -> tuple[Param, ...]:
    params = [
        Param("kernel_size", "size", 2, "Size of the pooling window.", minimum=1, arity=dims),
        Param("stride", "size", None, "Step between windows; null means the kernel size.", minimum=1, arity=dims, allow_none=True),
        Param("padding", "size", 0, "Implicit padding on both sides (at most half the kernel).", minimum=0, arity=dims),
    ]
    if kind == "max":
        params.append(Param("dilation", "size", 1, "Spacing between window elements.", minimum=1, arity=dims))
    params.append(Param("ceil_mode", "bool", False, "Round the output size up instead of down."))
    if kind == "avg":
        params.append(Param("count_include_pad", "bool", True, "Count padded zeros in the average."))
    return tuple(params)


def _pool_shape(name: str, dims: int) -> Callable[[Shape, dict], Shape]:
    def rule(shape: Shape, p: dict) -> Shape:
        _conv_like_rank(name, shape, dims)
        k = as_tuple(p["kernel_size"], dims)
        s = as_tuple(p["stride"] if p["stride"] is not None else p["kernel_size"], dims)
        pad = as_tuple(p["padding"], dims)
        d = as_tuple(p.get("dilation", 1), dims)
        if any(pp > kk // 2 for pp, kk in zip(pad, k)):
            raise ShapeError(f"{name} padding {_dims_text(pad)} must be at most half the kernel {_dims_text(k)}",
                             Fix("Set padding to 0", "set_param", param="padding", value=0))
        spatial = shape[1:]
        out = tuple(_pool_out(size, kk, ss, pp, dd, p["ceil_mode"]) for size, kk, ss, pp, dd in zip(spatial, k, s, pad, d))
        if any(o < 1 for o in out):
            small = min(spatial)
            raise ShapeError(f"kernel {_dims_text(k)} is larger than the {_dims_text(spatial)} input",
                             Fix(f"Set kernel_size to {small}", "set_param", param="kernel_size", value=small))
        return (shape[0],) + out
    return rule


def _pool_describe(dims: int) -> Callable[[dict], str]:
    def describe(p: dict) -> str:
        k = as_tuple(p["kernel_size"], dims)
        text = _dims_text(k)
        if p["stride"] is not None and as_tuple(p["stride"], dims) != k:
            text += f", stride {_dims_text(as_tuple(p['stride'], dims))}"
        return text
    return describe


for _name, _dims, _kind in (("MaxPool1d", 1, "max"), ("MaxPool2d", 2, "max"), ("AvgPool1d", 1, "avg"), ("AvgPool2d", 2, "avg")):
    register(LayerType(
        name=_name, category="Pooling", prefix="pool",
        doc=f"{'Maximum' if _kind == 'max' else 'Average'} over {'windows along the length' if _dims == 1 else '2-D windows'}: shrinks the {'length' if _dims == 1 else 'image'} and keeps the channels.",
        params=_pool_params(_dims, _kind),
        shape_fn=_pool_shape(_name, _dims),
        describe_fn=_pool_describe(_dims),
    ))


def _adaptive_shape(shape: Shape, p: dict) -> Shape:
    _conv_like_rank("AdaptiveAvgPool2d", shape, 2)
    return (shape[0],) + as_tuple(p["output_size"], 2)


register(LayerType(
    name="AdaptiveAvgPool2d", category="Pooling", prefix="pool",
    doc="Averages each channel down to a fixed output size, whatever the input size (1 = global average).",
    params=(Param("output_size", "size", 1, "Height and width of the output.", minimum=1, arity=2),),
    shape_fn=_adaptive_shape,
    describe_fn=lambda p: "→ " + _dims_text(as_tuple(p["output_size"], 2)),
))


# --------------------------------------------------------------------------------------------
# Normalization


def _bn_params() -> tuple[Param, ...]:
    return (
        Param("eps", "float", 1e-5, "Added to the variance for numerical stability.", minimum=0.0, exclusive_minimum=True),
        Param("momentum", "float", 0.1, "How fast the running statistics follow each batch.", minimum=0.0, maximum=1.0),
        Param("affine", "bool", True, "Learn a scale and shift per channel."),
        Param("track_running_stats", "bool", True, "Keep running mean and variance for evaluation."),
    )


def _bn1d_shape(shape: Shape, p: dict) -> Shape:
    fix = _replace_fix("BatchNorm2d") if len(shape) == 3 else None
    _need_rank("BatchNorm1d", shape, (1, 2), "a [features] or [channels, length]", fix)
    return shape


def _bn2d_shape(shape: Shape, p: dict) -> Shape:
    fix = _replace_fix("BatchNorm1d") if len(shape) in (1, 2) else None
    _need_rank("BatchNorm2d", shape, (3,), "a [channels, height, width]", fix)
    return shape


for _name, _rule, _what in (("BatchNorm1d", _bn1d_shape, "features (or channels of a sequence)"),
                            ("BatchNorm2d", _bn2d_shape, "channels of an image")):
    register(LayerType(
        name=_name, category="Normalization", prefix="bn",
        doc=f"Normalises each of the {_what} over the batch, then scales and shifts it.",
        params=_bn_params(),
        shape_fn=_rule,
        count_fn=lambda s, p: 2 * s[0] if p["affine"] else 0,
        infer_fn=lambda s, p: {"num_features": s[0]},
        build_fn=(lambda name: lambda s, p: getattr(__import__("torch.nn", fromlist=[name]), name)(s[0], **p))(_name),
    ))


def _layernorm_shape(shape: Shape, p: dict) -> Shape:
    if p["normalized_dims"] > len(shape):
        raise ShapeError(f"LayerNorm cannot normalise the last {p['normalized_dims']} dimensions of a "
                         f"{len(shape)}-D input {fmt_shape(shape)} (that would mix the samples of a batch)",
                         Fix("Set normalized_dims to 1", "set_param", param="normalized_dims", value=1))
    return shape


def _layernorm_normalized(shape: Shape, p: dict) -> list[int]:
    return list(shape[len(shape) - p["normalized_dims"]:])


register(LayerType(
    name="LayerNorm", category="Normalization", prefix="ln",
    doc="Normalises each sample over its last dimensions (no batch statistics), then scales and shifts.",
    params=(
        Param("normalized_dims", "int", 1, "How many trailing dimensions to normalise over (normalized_shape is inferred).", minimum=1),
        Param("eps", "float", 1e-5, "Added to the variance for numerical stability.", minimum=0.0, exclusive_minimum=True),
        Param("elementwise_affine", "bool", True, "Learn a scale per element."),
        Param("bias", "bool", True, "Learn a shift per element (with elementwise_affine)."),
    ),
    shape_fn=_layernorm_shape,
    count_fn=lambda s, p: math.prod(_layernorm_normalized(s, p)) * ((1 + p["bias"]) if p["elementwise_affine"] else 0),
    infer_fn=lambda s, p: {"normalized_shape": _layernorm_normalized(s, p)},
    build_fn=lambda s, p: __import__("torch.nn", fromlist=["LayerNorm"]).LayerNorm(
        tuple(_layernorm_normalized(s, p)), eps=p["eps"], elementwise_affine=p["elementwise_affine"], bias=p["bias"]),
))


def _groupnorm_shape(shape: Shape, p: dict) -> Shape:
    channels = shape[0]
    if channels % p["num_groups"]:
        # The largest divisor nearby, else the gcd (also a divisor): a bounded search, since a
        # project may ask for 10**12 channels and an exhaustive one would hang validation.
        start = min(p["num_groups"], channels)
        best = next((g for g in range(start, max(0, start - 10_000), -1) if channels % g == 0),
                    math.gcd(channels, p["num_groups"]))
        raise ShapeError(f"GroupNorm num_groups {p['num_groups']} must divide the {channels} channels",
                         Fix(f"Set num_groups to {best}", "set_param", param="num_groups", value=best))
    return shape


register(LayerType(
    name="GroupNorm", category="Normalization", prefix="gn",
    doc="Normalises groups of channels within each sample; works with small batches.",
    params=(
        Param("num_groups", "int", 2, "Number of channel groups (must divide the channels).", minimum=1),
        Param("eps", "float", 1e-5, "Added to the variance for numerical stability.", minimum=0.0, exclusive_minimum=True),
        Param("affine", "bool", True, "Learn a scale and shift per channel."),
    ),
    shape_fn=_groupnorm_shape,
    count_fn=lambda s, p: 2 * s[0] if p["affine"] else 0,
    infer_fn=lambda s, p: {"num_channels": s[0]},
    build_fn=lambda s, p: __import__("torch.nn", fromlist=["GroupNorm"]).GroupNorm(p["num_groups"], s[0], eps=p["eps"], affine=p["affine"]),
    describe_fn=lambda p: f"{p['num_groups']} groups",
))


# --------------------------------------------------------------------------------------------
# Activation


def _activation(name: str, doc: str, params: tuple[Param, ...] = (), describe: Callable[[dict], str] | None = None) -> None:
    register(LayerType(name=name, category="Activation", prefix=name.lower(), doc=doc, params=params,
                       shape_fn=lambda s, p: s, describe_fn=describe or (lambda p: "")))


def _softmax_shape(name: str) -> Callable[[Shape, dict], Shape]:
    def rule(shape: Shape, p: dict) -> Shape:
        full = len(shape) + 1
        if not -full <= p["dim"] < full:
            raise ShapeError(f"{name} dim {p['dim']} is out of range for an input with {full} dimensions (batch included)",
                             Fix("Set dim to -1", "set_param", param="dim", value=-1))
        return shape
    return rule


def _softmax_warnings(shape: Shape, p: dict) -> list[str]:
    if p["dim"] % (len(shape) + 1) == 0:
        return ["dim 0 is the batch: the values of different samples would be mixed"]
    return []


_activation("ReLU", "max(0, x): the default non-linearity.")
_activation("LeakyReLU", "Like ReLU but lets a small slope through for negative inputs.",
            (Param("negative_slope", "float", 0.01, "Slope for negative inputs."),), lambda p: f"slope {p['negative_slope']:g}")
_activation("ELU", "Exponential linear unit: smooth for negative inputs.",
            (Param("alpha", "float", 1.0, "Value approached for large negative inputs.", minimum=0.0),), lambda p: f"α {p['alpha']:g}")
_activation("GELU", "Gaussian error linear unit, as used in transformers.",
            (Param("approximate", "choice", "none", "Use the tanh approximation.", choices=("none", "tanh")),),
            lambda p: "tanh approx." if p["approximate"] == "tanh" else "")
_activation("SiLU", "x · sigmoid(x) (also called swish).")
_activation("Sigmoid", "Squashes values into (0, 1).")
_activation("Tanh", "Squashes values into (-1, 1).")
for _name, _doc in (("Softmax", "Turns scores into probabilities that sum to 1 along dim."),
                    ("LogSoftmax", "Logarithm of softmax along dim (pair it with NLLLoss).")):
    register(LayerType(
        name=_name, category="Activation", prefix=_name.lower(), doc=_doc,
        params=(Param("dim", "int", -1, "Dimension the probabilities sum over (0 is the batch, -1 the last)."),),
        shape_fn=_softmax_shape(_name), warn_fn=_softmax_warnings, describe_fn=lambda p: f"dim {p['dim']}",
    ))


# --------------------------------------------------------------------------------------------
# Recurrent


def _rnn_params() -> tuple[Param, ...]:
    return (
        Param("hidden_size", "int", 64, "Size of the hidden state.", minimum=1),
        Param("num_layers", "int", 1, "Number of stacked recurrent layers.", minimum=1),
        Param("bias", "bool", True, "Learn bias weights."),
        Param("dropout", "float", 0.0, "Dropout between stacked layers (needs num_layers > 1).", minimum=0.0, maximum=1.0, exclusive_maximum=True),
        Param("bidirectional", "bool", False, "Also read the sequence backwards (doubles the output)."),
        Param("return_sequences", "bool", False, "Pass on every time step; otherwise only the last one."),
    )


def _rnn_shape(name: str) -> Callable[[Shape, dict], Shape]:
    def rule(shape: Shape, p: dict) -> Shape:
        fix = _unflatten_fix(shape, (shape[0], 1)) if len(shape) == 1 else None
        _need_rank(name, shape, (2,), "a [time steps, features]", fix)
        width = p["hidden_size"] * (2 if p["bidirectional"] else 1)
        return (shape[0], width) if p["return_sequences"] else (width,)
    return rule


def _rnn_count(gates: int) -> Callable[[Shape, dict], int]:
    def count(shape: Shape, p: dict) -> int:
        # Closed form: a loop over num_layers would hang validation on a project asking for 2**63 layers.
        h, dirs = p["hidden_size"], 2 if p["bidirectional"] else 1
        bias = 2 * gates * h if p["bias"] else 0
        first = gates * h * (shape[-1] + h) + bias
        later = gates * h * (h * dirs + h) + bias
        return dirs * (first + (p["num_layers"] - 1) * later)
    return count


def _rnn_warnings(shape: Shape, p: dict) -> list[str]:
    if p["dropout"] > 0 and p["num_layers"] == 1:
        return ["dropout only acts between stacked layers: it does nothing with num_layers = 1"]
    return []


def _rnn_build(name: str) -> Callable[[Shape, dict], Any]:
    def build(shape: Shape, p: dict):
        from netstudio.core.design.modules import Recurrent

        kwargs = {k: v for k, v in p.items() if k != "return_sequences"}
        return Recurrent(name, shape[-1], return_sequences=p["return_sequences"], **kwargs)
    return build


def _rnn_describe(p: dict) -> str:
    parts = [f"{p['hidden_size']} hidden"]
    if p["num_layers"] > 1:
        parts.append(f"{p['num_layers']} layers")
    if p["bidirectional"]:
        parts.append("bidirectional")
    parts.append("sequence" if p["return_sequences"] else "last step")
    return ", ".join(parts)


for _name, _gates, _what in (("LSTM", 4, "long short-term memory"), ("GRU", 3, "gated recurrent unit")):
    register(LayerType(
        name=_name, category="Recurrent", prefix=_name.lower(),
        doc=f"Recurrent {_what} over a [time steps, features] sequence; passes on the last step or the whole sequence.",
        params=_rnn_params(),
        shape_fn=_rnn_shape(_name),
        count_fn=_rnn_count(_gates),
        infer_fn=lambda s, p: {"input_size": s[-1]},
        build_fn=_rnn_build(_name),
        warn_fn=_rnn_warnings,
        describe_fn=_rnn_describe,
    ))
