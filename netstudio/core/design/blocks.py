"""Blocks: rows of a stack that hold inner stacks, so that a stack can be a tree.

* ``Residual`` (``shortcut``: auto | identity | projection) holds ``layers`` and outputs
  ``layers(x) + shortcut(x)``. ``auto`` is the identity when the inner layers keep the shape,
  otherwise the projection ResNet uses: a 1×1 convolution with the stride that matches the sizes
  (no bias) and a batch norm, for images (``[C, H, W]``), signals (``[C, L]``) and volumes
  (``[C, D, H, W]``); a ``Linear`` for vectors and for sequences that keep their length
  (``[T, E]``: over the last axis).
* ``Parallel`` (``merge``: concat | add) holds ``branches``, each a list of layers fed the same
  input; an empty branch passes the input on. ``concat`` joins channels (images), features
  (vectors) or the last axis (sequences, ``[T, E]``); ``add`` needs equal shapes.
* ``Repeat`` (``times``) holds ``layers`` and runs them ``times`` times in a row, each copy with
  its own weights (a copy may see another shape than the first: its sizes are inferred again).

Blocks nest to :data:`MAX_NESTING` levels, and a model holds at most :data:`MAX_LAYERS` layers
(counting each Repeat's copies). This module is pure Python: the shape rules of the merges and
shortcuts (:func:`merge_shape`, :func:`projection`) and the block types' schema; validation walks
the tree in :mod:`netstudio.core.design.validation`, paths into it are
:mod:`netstudio.core.design.paths`, the torch modules are :mod:`netstudio.core.design.modules`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from netstudio.core.design.layer_type import Fix, Shape, ShapeError, fmt_shape
from netstudio.core.design.params import Param

#: Deepest nesting of blocks (a block inside a block... counts one level each).
MAX_NESTING = 32
#: Most layers a model may hold, counting every layer inside blocks and each Repeat's copies.
MAX_LAYERS = 10_000
#: The category blocks show under (the palette lists layer categories only).
BLOCK_CATEGORY = "Blocks"


@dataclass(frozen=True)
class BlockType:
    """A block: its settings (:class:`Param`) and what it holds (``layers`` or ``branches``).

    It answers the questions the editor asks of a layer type (``params``, ``param_index``,
    ``defaults``, ``describe``, ``doc``, ``category``, ``torch_class``, ``prefix``), so a block
    can be a row of the stack like any layer.
    """

    name: str
    doc: str
    params: tuple[Param, ...]
    prefix: str
    holds: str  # "layers" or "branches"
    describe_fn: Callable[[dict], str]
    category: str = BLOCK_CATEGORY
    param_index: dict[str, Param] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "param_index", {p.name: p for p in self.params})

    @property
    def torch_class(self) -> str:
        return f"netstudio {self.name} block (torch.nn.Module)"

    def defaults(self) -> dict:
        return {p.name: p.normalise(p.default) for p in self.params}

    def describe(self, params: dict) -> str:
        return self.describe_fn(params)

    def new_children(self) -> list[list]:
        """What a new block holds: one empty list of layers, or two empty branches."""
        return [[], []] if self.holds == "branches" else [[]]


BLOCK_TYPES: dict[str, BlockType] = {b.name: b for b in (
    BlockType(
        name="Residual", prefix="res", holds="layers",
        doc="Adds its input to what its layers make of it (a skip connection, as in ResNet).",
        params=(Param("shortcut", "choice", "auto",
                      "How the input reaches the sum: auto (itself when the shapes match, else a learned "
                      "projection), identity, or always a projection.", choices=("auto", "identity", "projection")),),
        describe_fn=lambda p: f"+ {p['shortcut']} shortcut",
    ),
    BlockType(
        name="Parallel", prefix="parallel", holds="branches",
        doc="Feeds its input to every branch and merges their outputs (as in Inception or DenseNet).",
        params=(Param("merge", "choice", "concat",
                      "concat joins channels (images), features (vectors) or the last axis (sequences); "
                      "add sums outputs of equal shape.", choices=("concat", "add")),),
        describe_fn=lambda p: p["merge"],
    ),
    BlockType(
        name="Repeat", prefix="repeat", holds="layers",
        doc="Runs its layers several times in a row, each copy with its own weights.",
        params=(Param("times", "int", 2, "How many copies of the layers run one after the other.", minimum=1,
                      maximum=MAX_LAYERS),),
        describe_fn=lambda p: f"× {p['times']}",
    ),
)}


def is_block(type_name: object) -> bool:
    return isinstance(type_name, str) and type_name in BLOCK_TYPES


def holds_branches(type_name: str) -> bool:
    return BLOCK_TYPES[type_name].holds == "branches"


# ------------------------------------------------------------------------------------------------
# Counting


def count_layers(specs: Iterable, limit: int = MAX_LAYERS, copies: bool = True) -> int:
    """Layers of *specs* counted as built (inside blocks, each Repeat copy unless not *copies*);
    stops past *limit*.

    Blocks count as layers too. Nesting deeper than :data:`MAX_NESTING` is not followed (the
    validation reports it).
    """
    total = 0
    pending = [(list(specs), 1, 0)]
    while pending and total <= limit:
        layers, factor, depth = pending.pop()
        for spec in layers:
            total += factor
            if spec.children and depth < MAX_NESTING:
                times = spec.params.get("times", 1) if spec.type == "Repeat" and copies else 1
                times = times if isinstance(times, int) and not isinstance(times, bool) and times > 0 else 1
                for child in spec.children:
                    pending.append((child, factor * min(times, limit + 1), depth + 1))
    return total


def nesting_depth(specs: Iterable, limit: int = MAX_NESTING) -> int:
    """How deeply blocks nest in *specs* (0 for a flat stack); stops counting past *limit*."""
    deepest = 0
    pending = [(list(specs), 0)]
    while pending:
        layers, depth = pending.pop()
        for spec in layers:
            if spec.children or is_block(spec.type):
                deepest = max(deepest, depth + 1)
                if depth + 1 <= limit:
                    pending.extend((child, depth + 1) for child in spec.children)
    return deepest


# ------------------------------------------------------------------------------------------------
# Shape rules


def concat_axis(rank: int) -> int:
    """The axis (of one sample) concat joins: the last for sequences ``[T, E]``, else channels."""
    return 1 if rank == 2 else 0


def _axis_word(rank: int) -> str:
    return {1: "features", 2: "the last axis"}.get(rank, "channels")


def merge_shape(merge: str, shapes: list[Shape]) -> Shape:
    """The shape a Parallel's *merge* makes of its branches' output *shapes*; ShapeError if none.

    The error names the first branch that disagrees with branch 1 (the caller adds a fix).
    """
    first = shapes[0]
    for number, shape in enumerate(shapes[1:], start=2):
        if len(shape) != len(first):
            raise ShapeError(f"branches give {fmt_shape(first)} and {fmt_shape(shape)}: their outputs need the "
                             f"same number of dimensions (branch {number} differs)")
    if merge == "add":
        for number, shape in enumerate(shapes[1:], start=2):
            if shape != first:
                fix = None
                axis = concat_axis(len(first))
                if all(a == b for i, (a, b) in enumerate(zip(first, shape)) if i != axis):
                    fix = Fix("Set merge to concat", "set_param", param="merge", value="concat")
                raise ShapeError(f"branches give {fmt_shape(first)} and {fmt_shape(shape)}: add needs equal shapes "
                                 f"(branch {number} differs)", fix)
        return first
    axis = concat_axis(len(first))
    for number, shape in enumerate(shapes[1:], start=2):
        if any(a != b for i, (a, b) in enumerate(zip(first, shape)) if i != axis):
            raise ShapeError(f"branches give {fmt_shape(first)} and {fmt_shape(shape)}: concat needs equal sizes "
                             f"except {_axis_word(len(first))} (branch {number} differs)")
    return tuple(sum(s[axis] for s in shapes) if i == axis else first[i] for i in range(len(first)))


@dataclass(frozen=True)
class Projection:
    """A learned shortcut: ``kind`` is ``Linear`` or ``Conv1d``/``Conv2d``/``Conv3d`` (1×1, no bias,
    then a batch norm); ``stride`` per spatial axis."""

    kind: str
    in_size: int
    out_size: int
    stride: tuple[int, ...] = ()

    @property
    def parameters(self) -> int:
        if self.kind == "Linear":
            return self.in_size * self.out_size + self.out_size
        return self.in_size * self.out_size + 2 * self.out_size  # conv weights + norm weight and bias

    def describe(self) -> str:
        if self.kind == "Linear":
            return f"Linear {self.in_size} → {self.out_size}"
        stride = "×".join(str(s) for s in self.stride)
        return f"{self.kind} 1×1 {self.in_size} → {self.out_size} ch, stride {stride}, + BatchNorm"


def _stride(size: int, out: int) -> int | None:
    """The stride of a 1×1 convolution that maps *size* onto *out*, or None."""
    if out == size:
        return 1
    if out < 1 or out > size:
        return None
    stride = max(1, math.ceil(size / out))
    for s in (stride - 1, stride, stride + 1):
        if s >= 1 and (size - 1) // s + 1 == out:
            return s
    return None


def projection(in_shape: Shape, out_shape: Shape) -> Projection:
    """The shortcut that maps *in_shape* onto *out_shape*; ShapeError when there is none."""
    mismatch = f"the layers give {fmt_shape(out_shape)} from {fmt_shape(in_shape)}"
    if len(in_shape) != len(out_shape):
        raise ShapeError(f"{mismatch}: a Residual's layers must keep the number of dimensions for the sum")
    if len(in_shape) == 1 or (len(in_shape) == 2 and in_shape[0] == out_shape[0]):
        return Projection("Linear", in_shape[-1], out_shape[-1])
    if len(in_shape) > 4:
        raise ShapeError(f"{mismatch}: a projection shortcut handles up to 3 spatial dimensions")
    strides = tuple(_stride(a, b) for a, b in zip(in_shape[1:], out_shape[1:]))
    if any(s is None for s in strides):
        raise ShapeError(f"{mismatch}: no 1×1 strided projection maps the sizes onto each other")
    return Projection(f"Conv{len(in_shape) - 1}d", in_shape[0], out_shape[0], strides)
