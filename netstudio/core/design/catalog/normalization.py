"""The Normalization and Activation layers."""

from __future__ import annotations

import math
from collections.abc import Callable

from netstudio.core.design.catalog.common import (
    need_rank,
    replace_fix,
)
from netstudio.core.design.layer_type import Fix, LayerType, Shape, ShapeError, fmt_shape
from netstudio.core.design.params import Param

#: This module's layer types, in palette order.
LAYERS: list[LayerType] = []


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
    fix = replace_fix("BatchNorm2d") if len(shape) == 3 else None
    need_rank("BatchNorm1d", shape, (1, 2), "a [features] or [channels, length]", fix)
    return shape


def _bn2d_shape(shape: Shape, p: dict) -> Shape:
    fix = replace_fix("BatchNorm1d") if len(shape) in (1, 2) else None
    need_rank("BatchNorm2d", shape, (3,), "a [channels, height, width]", fix)
    return shape


for _name, _rule, _what in (("BatchNorm1d", _bn1d_shape, "features (or channels of a sequence)"),
                            ("BatchNorm2d", _bn2d_shape, "channels of an image")):
    LAYERS.append(LayerType(
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


LAYERS.append(LayerType(
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


LAYERS.append(LayerType(
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


def _instancenorm_shape(name: str, rank: int, what: str):
    def rule(shape: Shape, p: dict) -> Shape:
        other = "InstanceNorm2d" if rank == 2 else "InstanceNorm1d"
        fix = replace_fix(other) if len(shape) == (3 if rank == 2 else 2) else None
        need_rank(name, shape, (rank,), what, fix)
        if math.prod(shape[1:]) == 1:
            raise ShapeError(f"{name} normalises each channel over its {'length' if rank == 2 else 'pixels'}: "
                             f"it needs more than one value per channel, got {fmt_shape(shape)}")
        return shape
    return rule


for _name, _rank, _what in (("InstanceNorm1d", 2, "a [channels, length]"),
                            ("InstanceNorm2d", 3, "a [channels, height, width]")):
    LAYERS.append(LayerType(
        name=_name, category="Normalization", prefix="inorm",
        doc=f"Normalises each channel of each sample over its {'length' if _rank == 2 else 'pixels'} "
            "(no batch statistics), as in style transfer.",
        params=(
            Param("eps", "float", 1e-5, "Added to the variance for numerical stability.", minimum=0.0,
                  exclusive_minimum=True, maximum=1.0),
            Param("momentum", "float", 0.1, "How fast the running statistics follow each batch.", minimum=0.0, maximum=1.0),
            Param("affine", "bool", False, "Learn a scale and shift per channel."),
            Param("track_running_stats", "bool", False, "Keep running mean and variance for evaluation."),
        ),
        shape_fn=_instancenorm_shape(_name, _rank, _what),
        count_fn=lambda s, p: 2 * s[0] if p["affine"] else 0,
        infer_fn=lambda s, p: {"num_features": s[0]},
        build_fn=(lambda name: lambda s, p: getattr(__import__("torch.nn", fromlist=[name]), name)(s[0], **p))(_name),
    ))


def _rmsnorm_shape(shape: Shape, p: dict) -> Shape:
    if p["normalized_dims"] > len(shape):
        raise ShapeError(f"RMSNorm cannot normalise the last {p['normalized_dims']} dimensions of a "
                         f"{len(shape)}-D input {fmt_shape(shape)} (that would mix the samples of a batch)",
                         Fix("Set normalized_dims to 1", "set_param", param="normalized_dims", value=1))
    return shape


LAYERS.append(LayerType(
    name="RMSNorm", category="Normalization", prefix="rms",
    doc="Divides each sample by the root mean square of its last dimensions, then scales (no shift).",
    params=(
        Param("normalized_dims", "int", 1, "How many trailing dimensions to normalise over (normalized_shape is inferred).",
              minimum=1, maximum=8),
        Param("eps", "float", 1e-6, "Added to the mean square for numerical stability.",
              minimum=0.0, exclusive_minimum=True, maximum=1.0),
        Param("elementwise_affine", "bool", True, "Learn a scale per element."),
    ),
    shape_fn=_rmsnorm_shape,
    count_fn=lambda s, p: math.prod(_layernorm_normalized(s, p)) if p["elementwise_affine"] else 0,
    infer_fn=lambda s, p: {"normalized_shape": _layernorm_normalized(s, p)},
    build_fn=lambda s, p: __import__("torch.nn", fromlist=["RMSNorm"]).RMSNorm(
        tuple(_layernorm_normalized(s, p)), eps=p["eps"], elementwise_affine=p["elementwise_affine"]),
))


# --------------------------------------------------------------------------------------------
# Activation


def _activation(name: str, doc: str, params: tuple[Param, ...] = (), describe: Callable[[dict], str] | None = None) -> None:
    LAYERS.append(LayerType(name=name, category="Activation", prefix=name.lower(), doc=doc, params=params,
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
    LAYERS.append(LayerType(
        name=_name, category="Activation", prefix=_name.lower(), doc=_doc,
        params=(Param("dim", "int", -1, "Dimension the probabilities sum over (0 is the batch, -1 the last)."),),
        shape_fn=_softmax_shape(_name), warn_fn=_softmax_warnings, describe_fn=lambda p: f"dim {p['dim']}",
    ))


_activation("ReLU6", "min(max(0, x), 6): a ReLU capped at 6, as in MobileNet.")
_activation("SELU", "Scaled ELU: keeps activations normalised in deep plain stacks (pair it with AlphaDropout).")
_activation("CELU", "Continuously differentiable ELU: max(0, x) + min(0, α · (exp(x / α) - 1)).",
            (Param("alpha", "float", 1.0, "Value approached for large negative inputs (it divides x, so not tiny).",
                   minimum=0.001, maximum=100.0),), lambda p: f"α {p['alpha']:g}")
_activation("Softplus", "log(1 + exp(β · x)) / β: a smooth ReLU that is never exactly zero.",
            (Param("beta", "float", 1.0, "Sharpness: larger values come closer to ReLU.", minimum=0.001, maximum=100.0),
             Param("threshold", "float", 20.0, "Above β · x > threshold the layer is linear (for stability).",
                   minimum=0.0, maximum=100.0)),
            lambda p: f"β {p['beta']:g}")
_activation("Mish", "x · tanh(softplus(x)): smooth and non-monotonic, like SiLU.")
_activation("Hardswish", "x · ReLU6(x + 3) / 6: a cheap SiLU, as in MobileNetV3.")
_activation("Hardsigmoid", "ReLU6(x + 3) / 6: a cheap piecewise-linear sigmoid.")
_activation("LogSigmoid", "log(sigmoid(x)), computed stably.")


def _prelu_shape(shape: Shape, p: dict) -> Shape:
    n = p["num_parameters"]
    if n != 1 and n != shape[0]:
        raise ShapeError(f"PReLU num_parameters {n} must be 1 (one slope) or the {shape[0]} channels of "
                         f"{fmt_shape(shape)} (one slope each)",
                         Fix(f"Set num_parameters to {shape[0]}", "set_param", param="num_parameters", value=shape[0]))
    return shape


LAYERS.append(LayerType(
    name="PReLU", category="Activation", prefix="prelu",
    doc="Like LeakyReLU, but the slope for negative inputs is learned (one, or one per channel).",
    params=(
        Param("num_parameters", "int", 1, "Learned slopes: 1 for all, or the number of channels for one each.",
              minimum=1, maximum=1_000_000),
        Param("init", "float", 0.25, "Starting value of the slopes.", minimum=-10.0, maximum=10.0),
    ),
    shape_fn=_prelu_shape,
    count_fn=lambda s, p: p["num_parameters"],
    describe_fn=lambda p: "per channel" if p["num_parameters"] > 1 else "",
))


def _glu_shape(shape: Shape, p: dict) -> Shape:
    full = len(shape) + 1
    dim = p["dim"]
    if not -full <= dim < full:
        raise ShapeError(f"GLU dim {dim} is out of range for an input with {full} dimensions (batch included)",
                         Fix("Set dim to -1", "set_param", param="dim", value=-1))
    dim %= full
    if dim == 0:
        raise ShapeError("GLU would halve the batch dimension: dim must be ≥ 1",
                         Fix("Set dim to -1", "set_param", param="dim", value=-1))
    size = shape[dim - 1]
    if size % 2:
        raise ShapeError(f"GLU splits dimension {dim} in two halves, but its size {size} is odd")
    return shape[:dim - 1] + (size // 2,) + shape[dim:]


LAYERS.append(LayerType(
    name="GLU", category="Activation", prefix="glu",
    doc="Gated linear unit: splits dim in halves a and b and returns a · sigmoid(b) (half the size).",
    params=(Param("dim", "int", -1, "Dimension split in two (0 is the batch, -1 the last).", minimum=-8, maximum=8),),
    shape_fn=_glu_shape,
    describe_fn=lambda p: f"dim {p['dim']}",
))
