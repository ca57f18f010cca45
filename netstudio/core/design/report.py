"""The layer table as text: what ``netstudio summary`` prints and the window's File › Export Summary writes."""

from __future__ import annotations

from netstudio.core.design.blocks import holds_branches, is_block
from netstudio.core.design.layers import fmt_shape, get_layer_type
from netstudio.core.design.validation import Validation, format_bytes
from netstudio.core.strings import plural


def format_table(name: str, validation: Validation) -> str:
    """The human-readable summary: one row a layer (a block's inner layers indented under it, a
    Parallel's under a row per branch), then totals and issues."""
    rows = [("#", "Layer", "Settings", "Output", "Parameters")]
    rows.append(("", "Input", "", fmt_shape(validation.input_shape), ""))
    for result in validation.layers:
        _rows(result, 0, rows)
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [f"Model: {name}"]
    for r in rows:
        lines.append("  ".join([r[0].rjust(widths[0]), r[1].ljust(widths[1]), r[2].ljust(widths[2]),
                                r[3].ljust(widths[3]), r[4].rjust(widths[4])]).rstrip())
    lines.append("")
    lines.append(f"Total parameters: {validation.total_parameters:,}")
    lines.append(f"Training memory (batch {validation.batch_size}): about {format_bytes(validation.memory_bytes)}")
    problems = [(None, i) for i in validation.issues]
    for result in validation.walk():
        problems += [(result, i) for i in result.issues]
    errors = sum(1 for _, i in problems if i.severity == "error")
    lines.append("Valid: yes" if validation.valid else f"Valid: no ({plural(errors, 'error')})")
    for result, issue in problems:
        if result is None:
            where = "model"
        elif len(result.path) > 1:
            where = f"{result.path_text} ({result.type})"
        else:
            where = f"layer {result.index + 1} ({result.type})"
        fix = f"  [fix: {issue.fix.label}]" if issue.fix else ""
        lines.append(f"  {issue.severity}: {where}: {issue.message}{fix}")
    return "\n".join(lines) + "\n"


def _rows(result, depth: int, rows: list) -> None:
    """The row of *result* and, for a block, the rows inside it, indented one step a level."""
    try:
        settings = get_layer_type(result.type).describe(result.params)
    except (KeyError, TypeError, ValueError):
        settings = ""
    if result.params.get("shortcut_used") not in (None, "identity"):
        settings += f" ({result.params['shortcut_used']})"
    mark = " ✗" if result.has_error else (" !" if result.issues else "")
    indent = "  " * depth
    number = str(result.index + 1)
    rows.append((number if depth == 0 else "", (f"{indent}{number}. " if depth else "") + result.type + mark,
                 settings, fmt_shape(result.output_shape) if result.output_shape is not None else "?",
                 f"{result.parameters:,}"))
    if not is_block(result.type):
        return
    if holds_branches(result.type):
        for b, branch in enumerate(result.children):
            empty = " (empty: passes its input on)" if not branch else ""
            rows.append(("", f"{indent}  branch {b + 1}{empty}", "", "", ""))
            for inner in branch:
                _rows(inner, depth + 2, rows)
    else:
        for inner in result.children[0] if result.children else []:
            _rows(inner, depth + 1, rows)


def reference_markdown() -> str:
    """docs/layers.md: every layer of the catalog by category, its one-line doc and its settings."""
    from netstudio.core.design.layers import CATEGORIES, layer_types

    lines = ["# Layer reference", "",
             "Every layer NetStudio offers (Help › Layer Reference shows the same in the window). Names and",
             "settings are PyTorch's; input sizes (`in_features`, `in_channels`, `embed_dim`, `d_model`…) are",
             "inferred from the previous layer. Written from the catalog by",
             "`python -c \"from netstudio.core.design.report import reference_markdown as r; print(r(), end='')\"`.", ""]
    types = list(layer_types())
    for category in CATEGORIES:
        lines += [f"## {category}", ""]
        for layer_type in (t for t in types if t.category == category):
            settings = ", ".join(f"`{p.name}`" for p in layer_type.params) or "none"
            origin = "NetStudio's own" if layer_type.own else f"`{layer_type.torch_class}`"
            lines.append(f"- **{layer_type.name}** ({origin}): {layer_type.doc} Settings: {settings}.")
        lines.append("")
    lines.append(f"{len(types)} layer types.")
    return "\n".join(lines) + "\n"
