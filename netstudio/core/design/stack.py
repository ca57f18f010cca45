"""The layer stack: an ordered, evented list of layer specs, and its validation.

:class:`LayerStack` is the model the designer edits and the project file stores. Every change goes
through its methods, which emit events a Qt model mirrors (napari's evented-list pattern).
:meth:`LayerStack.validate` checks the stack against an input shape and returns a value (shapes,
parameter counts, issues with suggested fixes, a memory estimate); it never raises on a bad stack.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field
from typing import Any

from psygnal import Signal

from netstudio.core.design.layers import (
    Fix,
    Shape,
    ShapeError,
    fmt_shape,
    get_layer_type,
    unknown_layer_message,
)

#: Bytes of float32; parameters and activations are counted in it.
FLOAT_BYTES = 4
#: Copies of each parameter held while training: weights, gradients, two Adam moments.
TRAINING_COPIES = 4
#: More values than this in one layer's output (per sample) or parameters cannot exist on any
#: machine; the shapes stop there, so later arithmetic stays within float range.
MAX_ELEMENTS = 2**53


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


@dataclass(frozen=True)
class Issue:
    """Something wrong (``error``) or suspicious (``warning``) about a layer or the whole stack."""

    severity: str
    message: str
    fix: Fix | None = None

    def to_json(self) -> dict:
        return {"severity": self.severity, "message": self.message, "fix": self.fix.label if self.fix else None}


@dataclass
class LayerResult:
    """The validation of one layer: resolved params, output shape, parameter count, issues."""

    index: int
    type: str
    params: dict
    input_shape: Shape | None
    output_shape: Shape | None
    parameters: int
    issues: list[Issue] = field(default_factory=list)

    @property
    def has_error(self) -> bool:
        return any(i.severity == "error" for i in self.issues)

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "type": self.type,
            "params": self.params,
            "output_shape": list(self.output_shape) if self.output_shape is not None else None,
            "parameters": self.parameters,
            "issues": [i.to_json() for i in self.issues],
        }


@dataclass
class Validation:
    """What :meth:`LayerStack.validate` found. ``valid`` is false when any error exists."""

    input_shape: Shape
    layers: list[LayerResult]
    issues: list[Issue]
    total_parameters: int
    memory_bytes: int
    batch_size: int

    @property
    def valid(self) -> bool:
        return not any(i.severity == "error" for i in self.issues) and not any(r.has_error for r in self.layers)

    @property
    def output_shape(self) -> Shape | None:
        """The stack's output shape, or ``None`` if an error stops the shapes before the end."""
        if not self.layers:
            return self.input_shape
        return self.layers[-1].output_shape

    def errors(self) -> list[tuple[int | None, Issue]]:
        """Every error as ``(layer index or None for the stack, issue)``."""
        found = [(None, i) for i in self.issues if i.severity == "error"]
        for result in self.layers:
            found += [(result.index, i) for i in result.issues if i.severity == "error"]
        return found

    def first_error(self) -> str | None:
        """A one-line description of the first error ("layer 3 (Linear): ..."), or ``None``."""
        for index, issue in self.errors():
            if index is None:
                return issue.message
            return f"layer {index + 1} ({self.layers[index].type}): {issue.message}"
        return None

    def to_json(self) -> dict:
        return {
            "input_shape": list(self.input_shape),
            "valid": self.valid,
            "total_parameters": self.total_parameters,
            "memory_bytes": self.memory_bytes,
            "batch_size": self.batch_size,
            "output_shape": list(self.output_shape) if self.output_shape is not None else None,
            "issues": [i.to_json() for i in self.issues],
            "layers": [r.to_json() for r in self.layers],
        }


def physical_memory() -> int:
    """This machine's RAM in bytes (64 GiB if it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 64 * 2**30


def format_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KB"``: decimal units, as file managers show them."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


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
        for index in range(len(self._layers) - 1, -1, -1):
            if self._layers[index].type == "Linear":
                return index
        return None

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
        input_shape = tuple(input_shape)
        memory_limit = physical_memory() if memory_limit is None else memory_limit
        results: list[LayerResult] = []
        stack_issues: list[Issue] = []
        if not self._layers:
            stack_issues.append(Issue("error", "the model has no layers: add layers from the palette"))
        if not input_shape or any(not isinstance(s, int) or s < 1 for s in input_shape):
            stack_issues.append(Issue("error", f"the input shape {fmt_shape(input_shape)} is not a list of positive sizes"))
            shape: Shape | None = None
        else:
            shape = input_shape
        last_linear = self.last_linear_index()
        per_layer_bytes: list[int] = []
        for index, spec in enumerate(self._layers):
            result = self._validate_layer(index, spec, shape, output_width, last_linear, batch_size)
            results.append(result)
            shape = result.output_shape
            acts = math.prod(shape) if shape is not None else 0
            per_layer_bytes.append(FLOAT_BYTES * (TRAINING_COPIES * result.parameters + 2 * batch_size * acts))
        total_parameters = sum(r.parameters for r in results)
        input_bytes = FLOAT_BYTES * batch_size * (math.prod(input_shape) if input_shape else 0)
        memory = sum(per_layer_bytes) + input_bytes
        if memory > memory_limit and results:
            worst = max(range(len(results)), key=lambda i: per_layer_bytes[i])
            results[worst].issues.append(Issue(
                "error",
                f"this model needs about {format_bytes(memory)} to train (this layer alone "
                f"{format_bytes(per_layer_bytes[worst])}, {results[worst].parameters:,} parameters), more than "
                f"the {format_bytes(memory_limit)} available: use fewer units or channels"))
        return Validation(input_shape, results, stack_issues, total_parameters, memory, batch_size)

    def _validate_layer(self, index: int, spec: LayerSpec, shape: Shape | None, output_width: int | None,
                        last_linear: int | None, batch_size: int) -> LayerResult:
        result = LayerResult(index, spec.type, dict(spec.params), shape, None, 0)
        try:
            layer_type = get_layer_type(spec.type)
        except KeyError:
            result.issues.append(Issue("error", unknown_layer_message(spec.type), Fix("Remove layer", "remove")))
            return result
        params = layer_type.defaults()
        params.update(spec.params)
        for name, value in params.items():
            param = layer_type.param_index.get(name)
            if param is None:
                result.issues.append(Issue("error", f"{spec.type} has no parameter {name!r}"))
                continue
            problem = param.check(value)
            if problem:
                result.issues.append(Issue("error", f"{name} {problem}",
                                           Fix(f"Reset {name} to {param.default}", "set_param", param=name, value=param.default)))
            elif value == "auto" and param.allow_auto:
                if index != last_linear:
                    result.issues.append(Issue("error", f'only the last Linear can use {name} "auto": give a number',
                                               Fix(f"Set {name} to 64", "set_param", param=name, value=64)))
                params[name] = output_width or 1
        if result.has_error or shape is None:
            return result
        try:
            output = layer_type.output_shape(shape, params)
            result.parameters = layer_type.parameter_count(shape, params)
            inferred = layer_type.inferred(shape, params)
            warnings = layer_type.warnings(shape, params)
        except ShapeError as exc:
            message = exc.message
            if exc.fix is not None and exc.fix.op in ("insert", "replace"):
                message += ": " + exc.fix.label[0].lower() + exc.fix.label[1:]
            result.issues.append(Issue("error", message, exc.fix))
            return result
        except Exception as exc:  # a rule tripping over an odd value must not take down validation
            result.issues.append(Issue("error", f"{spec.type} cannot take {fmt_shape(shape)} with these settings ({exc})"))
            return result
        huge = _too_large(spec.type, output, result.parameters)
        if huge:
            result.parameters = 0
            result.issues.append(Issue("error", huge))
            return result
        shown = dict(inferred)
        shown.update(params)
        if output_width is None:
            shown.update({k: "auto" for k, v in spec.params.items() if v == "auto"})
        result.params = shown
        result.output_shape = output
        result.issues.extend(Issue("warning", w) for w in warnings)
        return result


def _too_large(type_name: str, output: Shape, parameters: int) -> str | None:
    """Why a layer's output or parameter count is beyond any machine, or None."""
    values = math.prod(output)
    if values > MAX_ELEMENTS:
        return (f"{type_name} would output about 10^{_digits(values)} values per sample, far more than any "
                "machine holds: use smaller sizes")
    if parameters > MAX_ELEMENTS:
        return (f"{type_name} would have about 10^{_digits(parameters)} parameters, far more than any machine "
                "holds: use fewer units or channels")
    return None


def _digits(n: int) -> int:
    """Decimal exponent of a huge integer (str() refuses numbers over 4,300 digits)."""
    return int(n.bit_length() * math.log10(2))
