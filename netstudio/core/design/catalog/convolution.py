"""The Convolution and Pooling layers."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from netstudio.core.design.catalog.common import (
    check_sizes,
    conv_out,
    dims_text,
    image_fix,
    need_rank,
    pool_out,
    replace_fix,
    unflatten_fix,
)
from netstudio.core.design.layer_type import Fix, LayerType, Shape, ShapeError
from netstudio.core.design.params import Param, as_tuple

#: This module's layer types, in palette order.
LAYERS: list[LayerType] = []


def conv_like_rank(name: str, shape: Shape, dims: int) -> None:
    if dims == 3:
        fix = replace_fix(name[:-2] + "2d") if len(shape) == 3 and name[:-2] + "2d" in _names() else None
        need_rank(name, shape, (4,), "a [channels, depth, height, width]", fix)
    elif dims == 2:
        fix = image_fix(shape)
        if len(shape) == 2 and name.endswith("2d"):
            fix = replace_fix(name[:-2] + "1d") if name[:-2] + "1d" in _names() else fix
        need_rank(name, shape, (3,), "a [channels, height, width]", fix)
    else:
        fix = None
        if len(shape) == 1:
            fix = unflatten_fix(shape, (1, shape[0]))
        elif len(shape) == 3 and name[:-2] + "2d" in _names():
            fix = replace_fix(name[:-2] + "2d")
        need_rank(name, shape, (2,), "a [channels, length]", fix)



def _names() -> set[str]:
    return {t.name for t in LAYERS}


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
        conv_like_rank(name, shape, dims)
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
            raise ShapeError(f"kernel {dims_text(effective if any(dd > 1 for dd in d) else k)} is larger than the "
                             f"{dims_text(padded)} input" + (" (padding included)" if any(pad) else ""), fix)
        out = tuple(conv_out(size, kk, ss, pp, dd) for size, kk, ss, pp, dd in zip(spatial, k, s, pad, d))
        return check_sizes(name, (p["out_channels"],) + out)
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
        text = f"{dims_text(k) if dims > 1 else 'kernel ' + str(k[0])}, {p['out_channels']} ch"
        stride = as_tuple(p["stride"], dims)
        if any(v != 1 for v in stride):
            text += f", stride {dims_text(stride)}"
        if p.get("padding") == "same":
            text += ", same"
        elif p.get("padding") not in (0, "valid", None) and any(as_tuple(p["padding"], dims)):
            text += f", pad {dims_text(as_tuple(p['padding'], dims))}"
        return text
    return describe


def _conv_build(name: str) -> Callable[[Shape, dict], Any]:
    def build(shape: Shape, p: dict):
        import torch.nn as nn

        kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in p.items() if k != "out_channels"}
        return getattr(nn, name)(shape[0], p["out_channels"], **kwargs)
    return build


#: What a 1-, 2- or 3-D layer slides or pools over.
_EXTENT = {1: "length", 2: "height and width", 3: "depth, height and width"}

for _name, _dims in (("Conv1d", 1), ("Conv2d", 2), ("Conv3d", 3)):
    LAYERS.append(LayerType(
        name=_name, category="Convolution", prefix="conv",
        doc=f"{_dims}-D convolution: slides learned filters over the input's {_EXTENT[_dims]}.",
        params=_conv_params(_dims),
        shape_fn=_conv_shape(_name, _dims),
        count_fn=_conv_count(_dims),
        infer_fn=lambda s, p: {"in_channels": s[0]},
        build_fn=_conv_build(_name),
        describe_fn=_conv_describe(_dims),
    ))


def _deconv_shape(name: str, dims: int) -> Callable[[Shape, dict], Shape]:
    def rule(shape: Shape, p: dict) -> Shape:
        conv_like_rank(name, shape, dims)
        _check_groups(name, shape[0], p)
        k, s = as_tuple(p["kernel_size"], dims), as_tuple(p["stride"], dims)
        pad, op, d = as_tuple(p["padding"], dims), as_tuple(p["output_padding"], dims), as_tuple(p["dilation"], dims)
        if any(o >= max(ss, dd) for o, ss, dd in zip(op, s, d)):
            raise ShapeError(f"{name} output_padding must be smaller than stride or dilation",
                             Fix("Set output_padding to 0", "set_param", param="output_padding", value=0))
        out = tuple((size - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1
                    for size, kk, ss, pp, oo, dd in zip(shape[1:], k, s, pad, op, d))
        return check_sizes(name, (p["out_channels"],) + out)
    return rule


for _name, _dims, _example in (("ConvTranspose1d", 1, "doubling the length"),
                               ("ConvTranspose2d", 2, "doubling height and width")):
    LAYERS.append(LayerType(
        name=_name, category="Convolution", prefix="deconv",
        doc=f"Transposed {_dims}-D convolution: learned upsampling, e.g. {_example} with stride 2.",
        params=_conv_params(_dims, transposed=True),
        shape_fn=_deconv_shape(_name, _dims),
        count_fn=_conv_count(_dims, transposed=True),
        infer_fn=lambda s, p: {"in_channels": s[0]},
        build_fn=_conv_build(_name),
        describe_fn=_conv_describe(_dims),
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
        conv_like_rank(name, shape, dims)
        k = as_tuple(p["kernel_size"], dims)
        s = as_tuple(p["stride"] if p["stride"] is not None else p["kernel_size"], dims)
        pad = as_tuple(p["padding"], dims)
        d = as_tuple(p.get("dilation", 1), dims)
        if any(pp > kk // 2 for pp, kk in zip(pad, k)):
            raise ShapeError(f"{name} padding {dims_text(pad)} must be at most half the kernel {dims_text(k)}",
                             Fix("Set padding to 0", "set_param", param="padding", value=0))
        spatial = shape[1:]
        out = tuple(pool_out(size, kk, ss, pp, dd, p["ceil_mode"]) for size, kk, ss, pp, dd in zip(spatial, k, s, pad, d))
        if any(o < 1 for o in out):
            small = min(spatial)
            raise ShapeError(f"kernel {dims_text(k)} is larger than the {dims_text(spatial)} input",
                             Fix(f"Set kernel_size to {small}", "set_param", param="kernel_size", value=small))
        return (shape[0],) + out
    return rule


def _pool_describe(dims: int) -> Callable[[dict], str]:
    def describe(p: dict) -> str:
        k = as_tuple(p["kernel_size"], dims)
        text = dims_text(k)
        if p["stride"] is not None and as_tuple(p["stride"], dims) != k:
            text += f", stride {dims_text(as_tuple(p['stride'], dims))}"
        return text
    return describe


for _name, _dims, _kind in (("MaxPool1d", 1, "max"), ("MaxPool2d", 2, "max"), ("MaxPool3d", 3, "max"),
                            ("AvgPool1d", 1, "avg"), ("AvgPool2d", 2, "avg"), ("AvgPool3d", 3, "avg")):
    LAYERS.append(LayerType(
        name=_name, category="Pooling", prefix="pool",
        doc=f"{'Maximum' if _kind == 'max' else 'Average'} over {('windows along the length', '2-D windows', '3-D windows')[_dims - 1]}: shrinks the {('length', 'image', 'volume')[_dims - 1]} and keeps the channels.",
        params=_pool_params(_dims, _kind),
        shape_fn=_pool_shape(_name, _dims),
        describe_fn=_pool_describe(_dims),
    ))


def _adaptive_shape(name: str, dims: int) -> Callable[[Shape, dict], Shape]:
    def rule(shape: Shape, p: dict) -> Shape:
        conv_like_rank(name, shape, dims)
        return (shape[0],) + as_tuple(p["output_size"], dims)
    return rule


for _name, _dims, _kind in (("AdaptiveAvgPool1d", 1, "avg"), ("AdaptiveAvgPool2d", 2, "avg"),
                            ("AdaptiveMaxPool1d", 1, "max"), ("AdaptiveMaxPool2d", 2, "max")):
    _how = "Averages" if _kind == "avg" else "Takes the maximum of"
    LAYERS.append(LayerType(
        name=_name, category="Pooling", prefix="pool",
        doc=f"{_how} each channel down to a fixed output size, whatever the input size (1 = global {'average' if _kind == 'avg' else 'maximum'}).",
        params=(Param("output_size", "size", 1, f"{'Length' if _dims == 1 else 'Height and width'} of the output.",
                      minimum=1, maximum=4096, arity=_dims),),
        shape_fn=_adaptive_shape(_name, _dims),
        describe_fn=(lambda dims: lambda p: "→ " + dims_text(as_tuple(p["output_size"], dims)))(_dims),
    ))


