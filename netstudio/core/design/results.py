"""What validation finds about one layer or block: :class:`Issue` and :class:`LayerResult`.

A block's result holds its inner layers' results (``children``: one list, or one per branch), so
the results form the same tree as the layers; :meth:`LayerResult.walk` visits it and
:meth:`LayerResult.tree_issues` gathers a row's issues with the ones inside it, each fix aimed at
its layer (:attr:`Fix.path <netstudio.core.design.layer_type.Fix.path>`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from netstudio.core.design.blocks import Projection, holds_branches, is_block
from netstudio.core.design.layer_type import Fix, Shape

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
    """The validation of one layer or block: resolved params, output shape, parameter count, issues.

    For a block, ``output_shape`` and ``parameters`` cover everything inside it, ``children``
    holds the inner results (a Repeat's first copy; ``copies`` has them all), and ``shortcut``
    is a Residual's projection (None for the identity).
    """

    index: int
    type: str
    params: dict
    input_shape: Shape | None
    output_shape: Shape | None
    parameters: int
    issues: list[Issue] = field(default_factory=list)
    path: tuple[int, ...] = ()
    path_text: str = ""
    children: list[list[LayerResult]] = field(default_factory=list)
    copies: list[list[LayerResult]] | None = None
    shortcut: Projection | None = None
    memory_bytes: int = 0
    #: Values one sample makes in this layer's forward pass (its output; a block's, everything inside).
    row_values: int = 0

    @property
    def has_error(self) -> bool:
        """An error on this very layer or block (not inside it: see :meth:`tree_has_error`)."""
        return any(i.severity == "error" for i in self.issues)

    def tree_has_error(self) -> bool:
        return any(r.has_error for r in self.walk())

    def walk(self) -> Iterator[LayerResult]:
        """This result, then every result inside it, depth first."""
        pending = [self]
        while pending:
            result = pending.pop()
            yield result
            pending.extend(r for child in reversed(result.children) for r in reversed(child))

    def tree_issues(self) -> list[Issue]:
        """This row's issues, then those inside it: their messages say where ("branch 2, layer 1
        (Conv2d): ..."), their fixes carry the path from this row to their layer."""
        found = list(self.issues)
        for result in self.walk():
            if result is self:
                continue
            relative = result.path[len(self.path):]
            where = self._where(relative)
            for issue in result.issues:
                fix = issue.fix
                if fix is not None:
                    fix = dataclasses.replace(fix, path=relative + tuple(fix.path))
                found.append(Issue(issue.severity, f"{where}: {issue.message}", fix))
        return found

    def _where(self, relative: tuple[int, ...]) -> str:
        steps, node = [], self
        for list_index, index in zip(relative[::2], relative[1::2]):
            child = node.children[list_index][index]
            branch = f"branch {list_index + 1}, " if is_block(node.type) and holds_branches(node.type) else ""
            steps.append(f"{branch}layer {index + 1} ({child.type})")
            node = child
        return " › ".join(steps)

    def to_json(self) -> dict:
        data = {
            "index": self.index,
            "path": self.path_text,
            "type": self.type,
            "params": self.params,
            "output_shape": list(self.output_shape) if self.output_shape is not None else None,
            "parameters": self.parameters,
            "issues": [i.to_json() for i in self.issues],
        }
        if is_block(self.type):
            if holds_branches(self.type):
                data["branches"] = [[r.to_json() for r in branch] for branch in self.children]
            else:
                data["layers"] = [r.to_json() for r in (self.children[0] if self.children else [])]
        return data


def too_large(type_name: str, output: Shape, parameters: int) -> str | None:
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
