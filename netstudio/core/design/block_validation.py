"""Checking a block (Residual, Parallel, Repeat) against the shape flowing into it.

:func:`validate_block` validates the block's inner lists with the list validator it is handed
(:func:`netstudio.core.design.validation._validate_list`, passed in the :class:`Context` so that
the two modules do not import each other), then its own rule: a Residual's sum (identity or a
projection, :func:`~netstudio.core.design.blocks.projection`), a Parallel's merge
(:func:`~netstudio.core.design.blocks.merge_shape`), a Repeat's copies one after another. When
sizes disagree it looks for the one padding change of an inner layer that makes them agree and
offers it as the fix, aimed at that layer (``Fix.path``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

from netstudio.core.design.blocks import (
    BLOCK_TYPES,
    MAX_NESTING,
    Projection,
    concat_axis,
    is_block,
    merge_shape,
    projection,
)
from netstudio.core.design.layer_type import Fix, Shape, ShapeError, fmt_shape
from netstudio.core.design.results import (
    FLOAT_BYTES,
    TRAINING_COPIES,
    Issue,
    LayerResult,
    too_large,
)

#: Paddings tried when looking for a fix that makes sizes agree.
PADDINGS = range(0, 9)


@dataclass(frozen=True)
class Context:
    """What every layer of one validation shares."""

    output_width: int | None
    last_linear: int | None
    batch_size: int
    validate_list: Callable  # (specs, shape, context, prefix, where, depth) -> list[LayerResult]


def validate_block(index: int, spec, shape: Shape | None, context: Context, path: tuple[int, ...], where: str,
                   depth: int) -> LayerResult:
    """The result of the block *spec* at *path*, *depth* blocks deep (1 at the top level)."""
    block_type = BLOCK_TYPES[spec.type]
    result = LayerResult(index, spec.type, dict(spec.params), shape, None, 0, path=path, path_text=where)
    params = block_type.defaults()
    params.update(spec.params)
    for name, value in params.items():
        param = block_type.param_index.get(name)
        if param is None:
            result.issues.append(Issue("error", f"{spec.type} has no parameter {name!r}"))
        elif param.check(value):
            result.issues.append(Issue("error", f"{name} {param.check(value)}",
                                       Fix(f"Reset {name} to {param.default}", "set_param", param=name,
                                           value=param.default)))
    result.params = params
    if depth > MAX_NESTING:
        result.issues.append(Issue("error", f"blocks are nested more than {MAX_NESTING} levels deep here: unwrap some"))
        return result
    if block_type.holds == "layers" and len(spec.children) != 1:
        result.issues.append(Issue("error", f"a {spec.type} holds one list of layers, not {len(spec.children)}"))
        return result
    if block_type.holds == "branches" and not spec.children:
        result.issues.append(Issue("error", "a Parallel needs at least one branch: add a branch"))
        return result
    inner = None if result.has_error else shape
    rule = {"Residual": _residual, "Parallel": _parallel, "Repeat": _repeat}[spec.type]
    rule(result, spec, inner, params, context, depth)
    if result.output_shape is not None:
        huge = too_large(spec.type, result.output_shape, result.parameters)
        if huge:
            result.output_shape = None
            result.issues.append(Issue("error", huge))
    acts = math.prod(result.output_shape) if result.output_shape is not None else 0
    own = result.shortcut.parameters if result.shortcut is not None else 0
    inside = result.copies if result.copies is not None else result.children
    result.memory_bytes = (sum(r.memory_bytes for child in inside for r in child)
                           + FLOAT_BYTES * (TRAINING_COPIES * own + 2 * context.batch_size * acts))
    result.row_values = sum(r.row_values for child in inside for r in child) + acts
    return result


def _inner(result: LayerResult, specs, list_index: int, shape, context: Context, depth: int) -> list[LayerResult]:
    where = (f"{result.path_text}.branches[{list_index}]" if BLOCK_TYPES[result.type].holds == "branches"
             else f"{result.path_text}.layers")
    return context.validate_list(specs, shape, context, result.path + (list_index,), where, depth)


def _output(results: list[LayerResult], shape):
    return results[-1].output_shape if results else shape


def _residual(result: LayerResult, spec, shape, params: dict, context: Context, depth: int) -> None:
    body = _inner(result, spec.children[0], 0, shape, context, depth)
    result.children = [body]
    result.parameters = sum(r.parameters for r in body)
    if not spec.children[0]:
        result.issues.append(Issue("warning", "the Residual holds no layers: it adds its input to itself"))
    out = _output(body, shape)
    if shape is None or out is None:
        return
    mode = params["shortcut"]
    plan: Projection | None = None
    try:
        if mode == "identity" or (mode == "auto" and out == shape):
            if out != shape:
                raise ShapeError(f"the layers give {fmt_shape(out)} from {fmt_shape(shape)}: an identity shortcut "
                                 "needs them equal",
                                 Fix("Set shortcut to auto (a projection)", "set_param", param="shortcut", value="auto"))
        else:
            plan = projection(shape, out)
    except ShapeError as exc:
        fix, message = exc.fix, exc.message
        if fix is None and len(shape) >= 2 and len(out) == len(shape):
            found = _padding_fix(spec.children[0], 0, shape, lambda s: s[1:] == shape[1:], context, result, depth)
            if found is not None:
                fix, phrase = found
                message += f" — {phrase}"
        result.issues.append(Issue("error", message, fix))
        return
    result.shortcut = plan
    result.parameters += plan.parameters if plan is not None else 0
    result.params = dict(params, shortcut_used=plan.describe() if plan is not None else "identity")
    result.output_shape = out


def _parallel(result: LayerResult, spec, shape, params: dict, context: Context, depth: int) -> None:
    branches = [_inner(result, branch, b, shape, context, depth) for b, branch in enumerate(spec.children)]
    result.children = branches
    result.parameters = sum(r.parameters for branch in branches for r in branch)
    outs = [_output(branch, shape) for branch in branches]
    if shape is None or any(o is None for o in outs):
        return
    merge = params["merge"]
    try:
        result.output_shape = merge_shape(merge, outs)
    except ShapeError as exc:
        fix, message = exc.fix, exc.message
        if fix is None:
            found = _branch_fix(spec, outs, merge, shape, context, result, depth)
            if found is not None:
                fix, phrase = found
                message += f" — {phrase}"
        result.issues.append(Issue("error", message, fix))


def _agrees(merge: str, shape: Shape, reference: Shape) -> bool:
    if len(shape) != len(reference):
        return False
    if merge == "add":
        return shape == reference
    axis = concat_axis(len(reference))
    return all(a == b for i, (a, b) in enumerate(zip(shape, reference)) if i != axis)


def _branch_fix(spec, outs: list[Shape], merge: str, shape: Shape, context: Context, result: LayerResult,
                depth: int):
    """A padding change in the one branch that disagrees with all the others (which agree among
    themselves) that makes it agree; the branch agreeing with the fewest is tried first, the later
    of two equals first (the second of two branches is the one changed)."""
    def agreeing(b: int) -> int:
        return sum(_agrees(merge, outs[b], other) for i, other in enumerate(outs) if i != b)

    for b in sorted(range(len(outs)), key=lambda b: (agreeing(b), -b)):
        others = [out for i, out in enumerate(outs) if i != b]
        if not all(_agrees(merge, out, others[0]) for out in others):
            continue
        found = _padding_fix(spec.children[b], b, shape, lambda s, ref=others[0]: _agrees(merge, s, ref), context,
                             result, depth)
        if found is not None:
            return found
    return None


def _padding_fix(specs: list, list_index: int, shape: Shape, wanted: Callable[[Shape], bool], context: Context,
                 result: LayerResult, depth: int):
    """``(fix, phrase)``: the padding of one layer of the inner list *list_index* that makes the
    list's output *wanted*, the last such layer first; None if no padding does."""
    quiet = Context(context.output_width, None, context.batch_size, context.validate_list)
    for j in range(len(specs) - 1, -1, -1):
        current = specs[j].params.get("padding")
        if is_block(specs[j].type) or not isinstance(current, int) or isinstance(current, bool):
            continue
        for padding in PADDINGS:
            if padding == current:
                continue
            trial = list(specs)
            trial[j] = copy.copy(specs[j])
            trial[j].params = dict(specs[j].params, padding=padding)
            out = _output(quiet.validate_list(trial, shape, quiet, result.path + (list_index,), "", depth), shape)
            if out is not None and wanted(out):
                place = (f"in branch {list_index + 1}" if BLOCK_TYPES[result.type].holds == "branches"
                         else f"(layer {j + 1} of the {result.type})")
                what = f"the {specs[j].type} {place}"
                phrase = f"add padding={padding} to {what}" if current == 0 else f"set padding={padding} on {what}"
                return Fix(f"Set padding to {padding} on {what}", "set_param", param="padding", value=padding,
                           path=(list_index, j)), phrase
    return None


def _repeat(result: LayerResult, spec, shape, params: dict, context: Context, depth: int) -> None:
    layers = spec.children[0]
    copies = []
    current = shape
    for _ in range(params["times"] if shape is not None else 1):
        copies.append(_inner(result, layers, 0, current, context, depth))
        current = _output(copies[-1], current)
        if current is None:
            break
    for number, later in enumerate(copies[1:], start=2):
        _merge_issues(copies[0], later, f"in copy {number}")
    result.children, result.copies = [copies[0]], copies
    result.parameters = sum(r.parameters for copy_ in copies for r in copy_)
    if not layers:
        result.issues.append(Issue("warning", "the Repeat holds no layers: it passes its input on"))
    if shape is not None and current is not None:
        result.output_shape = current


def _merge_issues(into: list[LayerResult], other: list[LayerResult], label: str) -> None:
    """Show a later copy's issues on the first copy's results (once each)."""
    for first, later in zip(into, other):
        known = {i.message for i in first.issues}
        for issue in later.issues:
            if issue.message not in known:
                first.issues.append(Issue(issue.severity, f"{label}: {issue.message}", issue.fix))
        for a, b in zip(first.children, later.children):
            _merge_issues(a, b, label)
