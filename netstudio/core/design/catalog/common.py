"""What the catalog's shape rules share: rank checks, the one-click fixes they suggest, output sizes."""

from __future__ import annotations

import math

from netstudio.core.design.layer_type import Fix, Shape, ShapeError, fmt_shape


def need_rank(name: str, shape: Shape, ranks: tuple[int, ...], what: str, fix: Fix | None = None) -> None:
    if len(shape) not in ranks:
        raise ShapeError(f"{name} needs {what} input, got {fmt_shape(shape)}", fix)


def flatten_fix() -> Fix:
    return Fix("Insert Flatten", "insert", {"type": "Flatten", "params": {}})


def unflatten_fix(shape: Shape, target: tuple[int, ...]) -> Fix:
    label = "Insert Unflatten to " + "×".join(str(t) for t in target)
    return Fix(label, "insert", {"type": "Unflatten", "params": {"dim": 1, "unflattened_size": list(target)}})


def image_fix(shape: Shape) -> Fix | None:
    """Suggest reshaping a flat vector into a one-channel square image, when it is one."""
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        if side * side == shape[0] and side > 1:
            return unflatten_fix(shape, (1, side, side))
    return None


def replace_fix(name: str) -> Fix:
    return Fix(f"Replace with {name}", "replace", {"type": name, "params": {}})


def check_sizes(name: str, out: Shape) -> Shape:
    if any(s < 1 for s in out):
        raise ShapeError(f"{name} would give an empty output {fmt_shape(out)}: the input is too small")
    return out


def conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    # Follows ATen's pooling_output_shape: the last window must start inside the (left-padded) input.
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def dims_text(values: tuple[int, ...]) -> str:
    return "×".join(str(v) for v in values)
