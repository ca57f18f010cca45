"""The layer stack: an ordered, evented list of layer specs, and its validation.

:class:`LayerStack` is the model the designer edits and the project file stores. Every change goes
through its methods, which emit events a Qt model mirrors (napari's evented-list pattern).
:meth:`LayerStack.validate` checks the stack against an input shape and returns a value (shapes,
parameter counts, issues with suggested fixes, a memory estimate; :mod:`netstudio.core.design.validation`);
it never raises on a bad stack.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from psygnal import Signal

from netstudio.core.design.layers import (
    Shape,
    get_layer_type,
    unknown_layer_message,
)
from netstudio.core.design.validation import Validation, last_linear_index, validate_layers


@dataclass
class LayerSpec:
    """One layer of a stack: its type name, its parameter values and any extra keys from a file."""

    type: str
    params: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @classmethod
    def create(cls, type_name: str, **params: Any) -> LayerSpec:
        """A new layer of *type_name* with defaults, overridden by *params*."""
        values = get_layer_type(type_name).defaults()
        values.update(params)
        return cls(type_name, values)

    @classmethod
    def from_config(cls, config: dict) -> LayerSpec:
        """Rebuild a spec from :meth:`get_config` output, filling in missing defaults.

        Raises ``ValueError`` with a message naming the problem (unknown type or parameter, a
        value out of bounds); the project loader prefixes it with the JSON path.
        """
        if not isinstance(config, dict):
            raise ValueError("must be an object with \"type\" and \"params\"")
        type_name = config.get("type")
        if not isinstance(type_name, str):
            raise ValueError("type: must be a layer type name")
        try:
            layer_type = get_layer_type(type_name)
        except KeyError:
            raise ValueError("type: " + unknown_layer_message(type_name)) from None
        params = config.get("params", {})
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ValueError("params: must be an object")
        values = layer_type.defaults()
        for name, value in params.items():
            param = layer_type.param_index.get(name)
            if param is None:
                known = ", ".join(layer_type.param_index) or "none"
                raise ValueError(f"params.{json_key(name)}: {type_name} has no parameter {name!r} (it has: {known})")
            problem = param.check(value)
            if problem:
                raise ValueError(f"params.{name}: {problem}")
            values[name] = param.normalise(value)
        extra = {k: copy.deepcopy(v) for k, v in config.items() if k not in ("type", "params")}
        return cls(type_name, values, extra)

    def get_config(self) -> dict:
        """Plain JSON types: ``{"type": ..., "params": {...}}`` plus any extra keys."""
        return {"type": self.type, "params": copy.deepcopy(self.params), **copy.deepcopy(self.extra)}

    def copy(self) -> LayerSpec:
        return LayerSpec(self.type, copy.deepcopy(self.params), copy.deepcopy(self.extra))


def json_key(key: str) -> str:
    """*key* as a step of a JSON path in a message: as is when it is a plain name, else quoted
    (a key may hold a line break, which would break the one-line rule of error messages)."""
    return key if key.isidentifier() else repr(key)


class LayerStack:
    """An ordered list of :class:`LayerSpec` that tells observers about every change.

    Events
    ------
    inserting(index) / inserted(index, spec)
        Before and after a layer is inserted at *index*.
    removing(index) / removed(index, spec)
        Before and after the layer at *index* is removed.
    moving(source, destination) / moved(source, destination)
        Before and after a layer moves; *destination* is its index after the move.
    changed(index)
        A layer's parameters changed, or it was replaced by another layer.
    resetting() / reset()
        Before and after every layer is replaced at once.
    """

    inserting = Signal(int)
    inserted = Signal(int, object)
    removing = Signal(int)
    removed = Signal(int, object)
    moving = Signal(int, int)
    moved = Signal(int, int)
    changed = Signal(int)
    resetting = Signal()
    reset = Signal()

    def __init__(self, layers: list[LayerSpec] | None = None):
        self._layers: list[LayerSpec] = list(layers or [])

    # -- reading ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._layers)

    def __getitem__(self, index: int) -> LayerSpec:
        return self._layers[index]

    def __iter__(self):
        return iter(self._layers)

    def __repr__(self) -> str:
        return f"LayerStack([{', '.join(s.type for s in self._layers)}])"

    @property
    def layers(self) -> list[LayerSpec]:
        """A shallow copy of the layer list."""
        return list(self._layers)

    # -- editing ---------------------------------------------------------------------------------
    def insert(self, index: int, spec: LayerSpec) -> None:
        index = max(0, min(index, len(self._layers)))
        self.inserting.emit(index)
        self._layers.insert(index, spec)
        self.inserted.emit(index, spec)

    def append(self, spec: LayerSpec) -> None:
        self.insert(len(self._layers), spec)

    def remove(self, index: int) -> LayerSpec:
        self._check_index(index)
        self.removing.emit(index)
        spec = self._layers.pop(index)
        self.removed.emit(index, spec)
        return spec

    def move(self, source: int, destination: int) -> None:
        """Move the layer at *source* so that it ends up at index *destination*."""
        self._check_index(source)
        self._check_index(destination)
        if source == destination:
            return
        self.moving.emit(source, destination)
        spec = self._layers.pop(source)
        self._layers.insert(destination, spec)
        self.moved.emit(source, destination)

    def replace(self, index: int, spec: LayerSpec) -> LayerSpec:
        self._check_index(index)
        old = self._layers[index]
        self._layers[index] = spec
        self.changed.emit(index)
        return old

    def set_param(self, index: int, name: str, value: Any) -> Any:
        """Set one parameter of the layer at *index*; returns the previous value."""
        self._check_index(index)
        spec = self._layers[index]
        old = spec.params.get(name)
        spec.params[name] = copy.deepcopy(value)
        self.changed.emit(index)
        return old

    def set_layers(self, layers: list[LayerSpec]) -> None:
        self.resetting.emit()
        self._layers = list(layers)
        self.reset.emit()

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self._layers):
            raise IndexError(f"layer index {index} out of range for {len(self._layers)} layers")

    # -- serialisation ---------------------------------------------------------------------------
    def to_config(self) -> list[dict]:
        return [spec.get_config() for spec in self._layers]

    @classmethod
    def from_config(cls, layers: list[dict]) -> LayerStack:
        return cls([LayerSpec.from_config(c) for c in layers])

    # -- validation ------------------------------------------------------------------------------
    def last_linear_index(self) -> int | None:
        return last_linear_index(self._layers)

    def validate(self, input_shape: Shape, output_width: int | None = None, batch_size: int = 32,
                 memory_limit: int | None = None) -> Validation:
        """Check every layer against the shape flowing into it.

        Parameters
        ----------
        input_shape : tuple of int
            One sample's shape, without the batch dimension.
        output_width : int, optional
            What ``out_features: "auto"`` becomes (the data's classes, or 1). Unknown: 1.
        batch_size : int
            Batch size for the activation memory estimate.
        memory_limit : int, optional
            Bytes above which the stack is an error (cannot be allocated). Default: this
            machine's RAM.

        Returns
        -------
        Validation
            Never raises for a bad stack: every problem is an :class:`Issue`.
        """
        return validate_layers(self._layers, input_shape, output_width, batch_size, memory_limit)
