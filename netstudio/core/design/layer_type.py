"""What a layer of the catalog is: :class:`LayerType`, and the shape errors and fixes it reports.

Each :class:`LayerType` is named after its PyTorch class (``Conv2d``) and knows, in pure Python,
its parameter schema, the output shape it gives for an input shape, how many trainable parameters
it has and which input sizes it infers (``in_features``, ``in_channels``...). Only ``build``
imports PyTorch. Shapes leave out the batch dimension: an RGB image batch is ``(3, 32, 32)``.

A shape rule that cannot accept its input raises :class:`ShapeError` with a message for the user
and, where one exists, a :class:`Fix` that the editor offers as one click ("Insert Flatten").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netstudio.core.design.params import Param

Shape = tuple[int, ...]

#: Palette categories, in the order the palette shows them.
CATEGORIES = ("Core", "Convolution", "Pooling", "Normalization", "Activation", "Recurrent", "Sequence", "Reshape")


@dataclass(frozen=True)
class Fix:
    """A one-click repair the editor can apply to a stack.

    ``op`` is ``insert`` (put ``layer`` before the faulty one), ``replace`` (swap the faulty layer
    for ``layer``), ``set_param`` (set ``param`` to ``value``) or ``remove``. ``path`` aims the fix
    at a layer inside the block the issue is reported on (``(1, 0)``: branch 2's first layer; see
    :mod:`netstudio.core.design.paths`); empty, it is the faulty layer itself.
    """

    label: str
    op: str
    layer: dict | None = None
    param: str | None = None
    value: Any = None
    path: tuple[int, ...] = ()

    def to_json(self) -> dict:
        data: dict[str, Any] = {"label": self.label, "op": self.op}
        if self.layer is not None:
            data["layer"] = self.layer
        if self.param is not None:
            data["param"] = self.param
            data["value"] = self.value
        if self.path:
            data["path"] = list(self.path)
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
    #: A NetStudio layer with no torch class of its name (``SequencePool``): its module is in
    #: :mod:`netstudio.core.design.modules`, and the python export copies the module's source.
    own: bool = False
    param_index: dict[str, Param] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "param_index", {p.name: p for p in self.params})

    @property
    def torch_class(self) -> str:
        """The PyTorch class this layer builds, for tooltips and the reference."""
        return "a NetStudio layer (exported as plain PyTorch)" if self.own else f"torch.nn.{self.name}"

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


def fmt_shape(shape: Shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"
