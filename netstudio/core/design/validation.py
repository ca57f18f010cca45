"""Checking a layer stack against an input shape: a value, never an exception.

:func:`validate_layers` (what :meth:`LayerStack.validate <netstudio.core.design.stack.LayerStack.validate>`
runs) returns a :class:`Validation`: for every layer its resolved parameters, output shape,
parameter count and issues with suggested fixes, plus a training memory estimate. Blocks are
checked by :mod:`netstudio.core.design.block_validation`; their results hold their inner layers'.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from netstudio.core.design.block_validation import Context, validate_block
from netstudio.core.design.blocks import MAX_LAYERS, count_layers, is_block
from netstudio.core.design.catalog.sequence import TEXT_PADDING_ID
from netstudio.core.design.layers import (
    Fix,
    Shape,
    ShapeError,
    fmt_shape,
    get_layer_type,
    unknown_layer_message,
)
from netstudio.core.design.memory import forward_rows, physical_memory
from netstudio.core.design.params import MAX_RANK
from netstudio.core.design.results import (
    FLOAT_BYTES,
    MAX_ELEMENTS,
    TRAINING_COPIES,
    Issue,
    LayerResult,
    too_large,
)

__all__ = ["FLOAT_BYTES", "MAX_ELEMENTS", "TRAINING_COPIES", "Issue", "LayerResult", "Validation", "format_bytes",
           "last_linear_index", "physical_memory", "validate_layers"]

@dataclass
class Validation:
    """What :meth:`LayerStack.validate` found. ``valid`` is false when any error exists."""

    input_shape: Shape
    layers: list[LayerResult]
    issues: list[Issue]
    total_parameters: int
    memory_bytes: int
    batch_size: int
    #: Bytes one row makes in a forward pass: its input and every layer's output, inside blocks too.
    row_bytes: int = 0

    def forward_rows(self, memory_limit: int | None = None) -> int:
        """Rows per forward-pass chunk outside training (validation, evaluation, prediction), sized
        by the memory guard from this estimate (:func:`netstudio.core.design.memory.forward_rows`)."""
        return forward_rows(self.row_bytes, self.memory_bytes, memory_limit)

    @property
    def valid(self) -> bool:
        return not any(i.severity == "error" for i in self.issues) and not any(r.has_error for r in self.walk())

    def walk(self):
        """Every layer's and block's result, inside blocks too, depth first."""
        for result in self.layers:
            yield from result.walk()

    def row_issues(self, index: int) -> list[Issue]:
        """The issues of top-level row *index* and of everything inside it (see
        :meth:`LayerResult.tree_issues`)."""
        return self.layers[index].tree_issues()

    @property
    def output_shape(self) -> Shape | None:
        """The stack's output shape, or ``None`` if an error stops the shapes before the end."""
        if not self.layers:
            return self.input_shape
        return self.layers[-1].output_shape

    def errors(self) -> list[tuple[int | None, Issue]]:
        """Every error as ``(top-level layer index or None for the stack, issue)``; an error
        inside a block is its row's, its message saying where (:meth:`row_issues`)."""
        found = [(None, i) for i in self.issues if i.severity == "error"]
        for result in self.layers:
            found += [(result.index, i) for i in result.tree_issues() if i.severity == "error"]
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


def format_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KB"``: decimal units, as file managers show them."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


def last_linear_index(layers: Sequence) -> int | None:
    """The index of the last Linear layer (the one that may say ``out_features: "auto"``), or None."""
    for index in range(len(layers) - 1, -1, -1):
        if layers[index].type == "Linear":
            return index
    return None


def validate_layers(layers: Sequence, input_shape: Shape, output_width: int | None = None, batch_size: int = 32,
                    memory_limit: int | None = None, vocabulary: int | None = None) -> Validation:
    """Check every layer (a :class:`~netstudio.core.design.stack.LayerSpec`) against the shape
    flowing into it, inside blocks too; see :meth:`~netstudio.core.design.stack.LayerStack.validate`."""
    input_shape = tuple(input_shape)
    text_issue = None
    if vocabulary is not None and layers:
        layers, text_issue = _token_input(list(layers), int(vocabulary))
    memory_limit = physical_memory() if memory_limit is None else memory_limit
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
    if count_layers(layers) > MAX_LAYERS:
        stack_issues.append(Issue("error", f"the model would hold more than {MAX_LAYERS:,} layers (counting those "
                                           "inside blocks and each Repeat's copies): use fewer"))
        shape = None  # the shapes of so many layers are not worked out
    context = Context(output_width, last_linear_index(layers), batch_size, _validate_list)
    results = _validate_list(layers, shape, context, (), "model.layers", 0)
    if text_issue is not None and results:
        results[0].issues.insert(0, text_issue)
    per_layer_bytes = [r.memory_bytes for r in results]
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
    row_bytes = FLOAT_BYTES * ((math.prod(input_shape) if input_shape else 0) + sum(r.row_values for r in results))
    return Validation(input_shape, results, stack_issues, total_parameters, memory, batch_size, row_bytes)


def _token_input(layers: list, vocabulary: int) -> tuple[list, Issue | None]:
    """Token ids go into an Embedding: its ``num_embeddings`` and ``padding_idx`` come from the
    tokenizer (as ``in_features`` comes from the shape); any other first layer is an error."""
    first = layers[0]
    if first.type != "Embedding":
        return layers, Issue("error", "text input needs an Embedding first (the input is token ids, not numbers)",
                             Fix("Insert Embedding", "insert", {"type": "Embedding", "params": {"embedding_dim": 64}}))
    params = {**first.params, "num_embeddings": max(1, vocabulary), "padding_idx": TEXT_PADDING_ID}
    return [dataclasses.replace(first, params=params), *layers[1:]], None


def _validate_list(specs: Sequence, shape: Shape | None, context: Context, prefix: tuple[int, ...], where: str,
                   depth: int) -> list[LayerResult]:
    """The results of one list of layers (the top level, or one inside a block *depth* deep)."""
    results = []
    for index, spec in enumerate(specs):
        path, text = prefix + (index,), f"{where}[{index}]"
        if is_block(spec.type):
            result = validate_block(index, spec, shape, context, path, text, depth + 1)
        else:
            last_linear = context.last_linear if depth == 0 else None
            result = _validate_layer(index, spec, shape, context.output_width, last_linear, context.batch_size)
            acts = math.prod(result.output_shape) if result.output_shape is not None else 0
            result.memory_bytes = FLOAT_BYTES * (TRAINING_COPIES * result.parameters + 2 * context.batch_size * acts)
            result.row_values = acts
        result.path, result.path_text = path, text
        results.append(result)
        shape = result.output_shape
    return results


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
    huge = too_large(spec.type, output, result.parameters)
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
