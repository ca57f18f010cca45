"""The Core and Reshape layers: Linear, the dropouts, Identity, Flatten, Unflatten."""

from __future__ import annotations

import math

from netstudio.core.design.catalog.common import (
    dims_text,
    flatten_fix,
    need_rank,
    replace_fix,
)
from netstudio.core.design.layer_type import Fix, LayerType, Shape, ShapeError
from netstudio.core.design.params import Param

#: This module's layer types, in palette order.
LAYERS: list[LayerType] = []


# --------------------------------------------------------------------------------------------
# Core


def _linear_shape(shape: Shape, p: dict) -> Shape:
    need_rank("Linear", shape, (1, 2), "a flat", flatten_fix() if len(shape) >= 3 else None)
    return shape[:-1] + (p["out_features"],)


LAYERS.append(LayerType(
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


LAYERS.append(LayerType(
    name="Dropout", category="Core", prefix="dropout",
    doc="Randomly zeroes inputs with probability p while training, to reduce overfitting.",
    params=(Param("p", "float", 0.5, "Probability of zeroing an element (must be < 1).", minimum=0.0, maximum=1.0, exclusive_maximum=True),),
    shape_fn=lambda s, p: s,
    warn_fn=_dropout_warnings,
    describe_fn=lambda p: f"p = {p['p']:g}",
))

def _channel_dropout(name: str, rank: int, what: str) -> LayerType:
    def rule(shape: Shape, p: dict) -> Shape:
        other = {"Dropout1d": ("Dropout2d", 3), "Dropout2d": ("Dropout1d", 2)}[name]
        fix = replace_fix(other[0]) if len(shape) == other[1] else (replace_fix("Dropout") if len(shape) == 1 else None)
        need_rank(name, shape, (rank,), what, fix)
        return shape

    return LayerType(
        name=name, category="Core", prefix="dropout",
        doc=f"Zeroes whole channels of {'a sequence' if rank == 2 else 'an image'} with probability p while "
            "training (neighbouring values are alike, so single zeros would not regularise).",
        params=(Param("p", "float", 0.5, "Probability of zeroing a channel (must be < 1).", minimum=0.0, maximum=1.0,
                      exclusive_maximum=True),),
        shape_fn=rule,
        warn_fn=_dropout_warnings,
        describe_fn=lambda p: f"p = {p['p']:g}",
    )


LAYERS.append(_channel_dropout("Dropout1d", 2, "a [channels, length]"))
LAYERS.append(_channel_dropout("Dropout2d", 3, "a [channels, height, width]"))
LAYERS.append(LayerType(
    name="AlphaDropout", category="Core", prefix="dropout",
    doc="Dropout that keeps the mean and variance of its input, for SELU networks.",
    params=(Param("p", "float", 0.5, "Probability of dropping an element (must be < 1).", minimum=0.0, maximum=1.0,
                  exclusive_maximum=True),),
    shape_fn=lambda s, p: s,
    warn_fn=_dropout_warnings,
    describe_fn=lambda p: f"p = {p['p']:g}",
))

LAYERS.append(LayerType(
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


LAYERS.append(LayerType(
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
        raise ShapeError(f"Unflatten to {dims_text(target)} needs {math.prod(target)} values, "
                         f"but dimension {dim} has {size}", fix)
    return shape[:dim - 1] + target + shape[dim:]


LAYERS.append(LayerType(
    name="Unflatten", category="Reshape", prefix="unflatten",
    doc="Splits one dimension into several, e.g. 784 features into a [1, 28, 28] image.",
    params=(
        Param("dim", "int", 1, "Dimension to split (0 is the batch)."),
        Param("unflattened_size", "ints", [1, 28, 28], "The sizes it is split into; their product must equal its size.", minimum=1),
    ),
    shape_fn=_unflatten_shape,
    describe_fn=lambda p: "→ " + dims_text(tuple(p["unflattened_size"])),
))


