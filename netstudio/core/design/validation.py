"""Checking a layer stack against an input shape: a value, never an exception.

:func:`validate_layers` (what :meth:`LayerStack.validate <netstudio.core.design.stack.LayerStack.validate>`
runs) returns a :class:`Validation`: for every layer its resolved parameters, output shape,
parameter count and issues with suggested fixes, plus a training memory estimate.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from netstudio.core.design.layers import (
    Fix,
    Shape,
    ShapeError,
    fmt_shape,
    get_layer_type,
    unknown_layer_message,
)
from netstudio.core.design.params import MAX_RANK

#: Bytes of float32; parameters and activations are counted in it.
FLOAT_BYTES = 4
#: Copies of each parameter held while training: weights, gradients, two Adam moments.
TRAINING_COPIES = 4
#: More values than this in one layer's output (per sample) or parameters cannot exist on any
#: machine; the shapes stop there, so later arithmetic stays within float range.
MAX_ELEMENTS = 2**53


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


def last_linear_index(layers: Sequence) -> int | None:
    """The index of the last Linear layer (the one that may say ``out_features: "auto"``), or None."""
    for index in range(len(layers) - 1, -1, -1):
        if layers[index].type == "Linear":
            return index
    return None


def validate_layers(layers: Sequence, input_shape: Shape, output_width: int | None = None, batch_size: int = 32,
                    memory_limit: int | None = None) -> Validation:
    """Check every layer (a :class:`~netstudio.core.design.stack.LayerSpec`) against the shape
    flowing into it; see :meth:`~netstudio.core.design.stack.LayerStack.validate`."""
    input_shape = tuple(input_shape)
    memory_limit = physical_memory() if memory_limit is None else memory_limit
    results: list[LayerResult] = []
    stack_issues: list[Issue] = []
    if not layers:
        stack_issues.append(Issue("error", "the model has no layers: add layers from the palette"))
    if len(input_shape) > MAX_RANK:
        stack_issues.append(Issue("error", f"the input has {len(input_shape):,} dimensions per sample, more than the "
                                           f"{MAX_RANK} NetStudio handles: reshape the data"))
        shape: Shape | None = None
    elif not input_shape or any(not isinstance(s, int) or s < 1 for s in input_shape):
        stack_issues.append(Issue("error", f"the input shape {fmt_shape(input_shape)} is not a list of positive sizes"))
        shape = None
    else:
        shape = input_shape
    last_linear = last_linear_index(layers)
    per_layer_bytes: list[int] = []
    for index, spec in enumerate(layers):
        result = _validate_layer(index, spec, shape, output_width, last_linear, batch_size)
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


def _validate_layer(index: int, spec, shape: Shape | None, output_width: int | None,
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
    if huge is None and len(output) > MAX_RANK:
        huge = (f"{spec.type} would output {len(output)} dimensions per sample, more than the {MAX_RANK} "
                "NetStudio handles: use fewer sizes")
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
