"""More Reshape layers: ZeroPad2d, ReflectionPad2d, Upsample, PixelShuffle and Permute.

(Flatten and Unflatten, the first Reshape layers, are in :mod:`netstudio.core.design.catalog.core`.)
"""

from __future__ import annotations

from collections.abc import Callable

from netstudio.core.design.catalog.common import dims_text, image_fix, need_rank
from netstudio.core.design.layer_type import Fix, LayerType, Shape, ShapeError, fmt_shape
from netstudio.core.design.params import Param, as_tuple

#: This module's layer types, in palette order.
LAYERS: list[LayerType] = []

#: Most padding on one side, and the largest upsampling factor, offered.
MAX_PADDING = 1024
MAX_FACTOR = 64


def _image_rank(name: str, shape: Shape) -> None:
    need_rank(name, shape, (3,), "a [channels, height, width]", image_fix(shape))


# --------------------------------------------------------------------------------------------
# Padding


def _pads(p: dict) -> tuple[int, int, int, int]:
    """(left, right, top, bottom), as torch orders a 2-D padding."""
    return as_tuple(p["padding"], 4)


def _pad_shape(name: str) -> Callable[[Shape, dict], Shape]:
    def rule(shape: Shape, p: dict) -> Shape:
        _image_rank(name, shape)
        left, right, top, bottom = _pads(p)
        if name == "ReflectionPad2d":
            height, width = shape[1:]
            if max(top, bottom) >= height or max(left, right) >= width:
                most = min(height, width) - 1
                fix = (Fix(f"Set padding to {most}", "set_param", param="padding", value=most) if most >= 1
                       else Fix("Replace with ZeroPad2d", "replace", {"type": "ZeroPad2d", "params": {"padding": p["padding"]}}))
                raise ShapeError(f"ReflectionPad2d padding {dims_text(_pads(p))} must be smaller than the "
                                 f"{height}×{width} input on each side (it mirrors the pixels inside)", fix)
        return (shape[0], shape[1] + top + bottom, shape[2] + left + right)
    return rule


def _pad_describe(p: dict) -> str:
    pads = _pads(p)
    return f"pad {pads[0]}" if len(set(pads)) == 1 else "pad " + dims_text(pads)


for _name, _how in (("ZeroPad2d", "zeros"), ("ReflectionPad2d", "the mirror image of the pixels inside")):
    LAYERS.append(LayerType(
        name=_name, category="Reshape", prefix="pad",
        doc=f"Pads an image's borders with {_how}, e.g. to keep its size through a convolution.",
        params=(Param("padding", "size", 1, "Pixels added on every side, or [left, right, top, bottom].",
                      minimum=0, maximum=MAX_PADDING, arity=4),),
        shape_fn=_pad_shape(_name),
        describe_fn=_pad_describe,
    ))


# --------------------------------------------------------------------------------------------
# Resizing

#: Upsample modes that need a given number of spatial dimensions (nearest takes 1 to 3).
_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_SPATIAL = {1: "a [channels, length]", 2: "a [channels, height, width]", 3: "a [channels, depth, height, width]"}


def _upsample_shape(shape: Shape, p: dict) -> Shape:
    mode = p["mode"]
    dims = _MODE_DIMS.get(mode)
    if dims is None:
        need_rank("Upsample", shape, (2, 3, 4), "a [channels, length], [channels, height, width] or 3-D", image_fix(shape))
    elif len(shape) != dims + 1:
        raise ShapeError(f"Upsample mode {mode} needs {_SPATIAL[dims]} input, got {fmt_shape(shape)}",
                         Fix("Set mode to nearest", "set_param", param="mode", value="nearest"))
    factor = p["scale_factor"]
    return (shape[0],) + tuple(size * factor for size in shape[1:])


def _upsample_warnings(shape: Shape, p: dict) -> list[str]:
    if p["align_corners"] and p["mode"] == "nearest":
        return ["align_corners only changes the linear and cubic modes: it does nothing with nearest"]
    return []


def _upsample_build(shape: Shape, p: dict):
    from torch import nn

    corners = p["align_corners"] if p["mode"] != "nearest" else None
    return nn.Upsample(scale_factor=float(p["scale_factor"]), mode=p["mode"], align_corners=corners)


LAYERS.append(LayerType(
    name="Upsample", category="Reshape", prefix="upsample",
    doc="Enlarges a sequence, image or volume by a whole factor, repeating or interpolating values.",
    params=(
        Param("scale_factor", "int", 2, "How many times larger each spatial dimension becomes.", minimum=1, maximum=MAX_FACTOR),
        Param("mode", "choice", "nearest", "How new values are found: nearest repeats them; the others interpolate "
              "(linear for sequences, bilinear or bicubic for images, trilinear for volumes).",
              choices=("nearest", "linear", "bilinear", "bicubic", "trilinear")),
        Param("align_corners", "bool", False, "Interpolate between the corner pixels' centres (not with nearest)."),
    ),
    shape_fn=_upsample_shape,
    warn_fn=_upsample_warnings,
    build_fn=_upsample_build,
    describe_fn=lambda p: f"×{p['scale_factor']}, {p['mode']}",
))


def _pixel_shuffle_shape(shape: Shape, p: dict) -> Shape:
    _image_rank("PixelShuffle", shape)
    r = p["upscale_factor"]
    if shape[0] % (r * r):
        raise ShapeError(f"PixelShuffle upscale_factor {r} needs the channels to be a multiple of {r * r}, "
                         f"got {shape[0]}")
    return (shape[0] // (r * r), shape[1] * r, shape[2] * r)


LAYERS.append(LayerType(
    name="PixelShuffle", category="Reshape", prefix="shuffle",
    doc="Moves channels into space: [C·r², H, W] → [C, H·r, W·r], for sub-pixel upsampling.",
    params=(Param("upscale_factor", "int", 2, "The factor r by which height and width grow.", minimum=1, maximum=MAX_FACTOR),),
    shape_fn=_pixel_shuffle_shape,
    describe_fn=lambda p: f"×{p['upscale_factor']}",
))


# --------------------------------------------------------------------------------------------
# Permute


def _permute_shape(shape: Shape, p: dict) -> Shape:
    dims = list(p["dims"])
    full = len(shape) + 1
    if sorted(dims) != list(range(full)):
        order = [0] + list(range(full - 1, 0, -1))
        raise ShapeError(f"Permute dims {dims} must list each of the {full} dimensions 0 to {full - 1} once "
                         "(the batch's included)",
                         Fix(f"Set dims to {order}", "set_param", param="dims", value=order))
    if dims[0] != 0:
        raise ShapeError("Permute must keep the batch dimension first: dims must start with 0",
                         Fix(f"Set dims to {[0] + [d for d in dims if d]}", "set_param", param="dims",
                             value=[0] + [d for d in dims if d]))
    batched = (None,) + shape
    return tuple(batched[d] for d in dims[1:])


def _permute_build(shape: Shape, p: dict):
    from netstudio.core.design.modules import Permute

    return Permute(p["dims"])


LAYERS.append(LayerType(
    name="Permute", category="Reshape", prefix="permute", own=True,
    doc="Reorders the dimensions, e.g. [T, E] → [E, T] (dims 0, 2, 1) to convolve over time.",
    params=(Param("dims", "ints", [0, 2, 1], "The new order of the dimensions, 0 (the batch) first.",
                  minimum=0, maximum=8),),
    shape_fn=_permute_shape,
    build_fn=_permute_build,
    describe_fn=lambda p: "dims " + ", ".join(str(d) for d in p["dims"]),
))
