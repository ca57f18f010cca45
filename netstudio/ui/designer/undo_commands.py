"""The undoable edits of a design, one QUndoCommand each.

Every change to the layer stack or the input shape goes through one of these on the design's
QUndoStack, so that undo and redo restore the exact stack. Commands keep the very LayerSpec
objects they remove and re-insert, so a layer keeps its identity across undo and redo.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from PySide6.QtGui import QUndoCommand

from netstudio.core.design.layers import Shape, fmt_shape, get_layer_type
from netstudio.core.design.stack import LayerSpec, LayerStack


class ShapedDesign(Protocol):
    """What :class:`SetInputShape` needs of the design (:class:`~netstudio.ui.designer.design.Design`)."""

    input_shape: Shape

    def apply_input_shape(self, shape: Shape) -> None: ...


#: QUndoCommand.id() of parameter edits that may merge (consecutive spin-box steps).
SET_PARAM_ID = 1001


def _layers_text(specs: list[LayerSpec]) -> str:
    if len(specs) == 1:
        return specs[0].type
    return f"{len(specs)} Layers"


class InsertLayers(QUndoCommand):
    """Insert *specs* so that the first one ends up at *index*."""

    def __init__(self, stack: LayerStack, index: int, specs: list[LayerSpec], text: str | None = None):
        super().__init__(text or f"Add {_layers_text(specs)}")
        self.stack, self.specs = stack, list(specs)
        self.index = max(0, min(index, len(stack)))

    def redo(self) -> None:
        for offset, spec in enumerate(self.specs):
            self.stack.insert(self.index + offset, spec)

    def undo(self) -> None:
        for _ in self.specs:
            self.stack.remove(self.index)


class RemoveLayers(QUndoCommand):
    """Remove the layers at *indices*."""

    def __init__(self, stack: LayerStack, indices: list[int], text: str | None = None):
        self.stack = stack
        self.indices = sorted(set(indices))
        self.specs = [stack[i] for i in self.indices]
        super().__init__(text or f"Delete {_layers_text(self.specs)}")

    def redo(self) -> None:
        for index in reversed(self.indices):
            self.stack.remove(index)

    def undo(self) -> None:
        for index, spec in zip(self.indices, self.specs):
            self.stack.insert(index, spec)


class ReorderLayers(QUndoCommand):
    """Move layers one at a time so that the stack ends up in *order* (old indices, new order)."""

    def __init__(self, stack: LayerStack, order: list[int], text: str = "Move Layers"):
        super().__init__(text)
        self.stack = stack
        current = list(range(len(stack)))
        self.moves: list[tuple[int, int]] = []
        for target, old in enumerate(order):
            source = current.index(old)
            if source != target:
                current.insert(target, current.pop(source))
                self.moves.append((source, target))

    def redo(self) -> None:
        for source, target in self.moves:
            self.stack.move(source, target)

    def undo(self) -> None:
        for source, target in reversed(self.moves):
            self.stack.move(target, source)


class ReplaceLayer(QUndoCommand):
    """Put *spec* in place of the layer at *index*."""

    def __init__(self, stack: LayerStack, index: int, spec: LayerSpec, text: str | None = None):
        super().__init__(text or f"Replace {stack[index].type} with {spec.type}")
        self.stack, self.index, self.new, self.old = stack, index, spec, stack[index]

    def redo(self) -> None:
        self.stack.replace(self.index, self.new)

    def undo(self) -> None:
        self.stack.replace(self.index, self.old)


class SetParam(QUndoCommand):
    """Set one parameter of one layer.

    Edits with the same *merge_key* (an editor's id and focus session) on the same parameter
    merge into one undo step, so that ten clicks on a spin box's arrow undo at once.
    """

    def __init__(self, stack: LayerStack, index: int, name: str, value: Any, merge_key: Any = None,
                 text: str | None = None):
        spec = stack[index]
        super().__init__(text or f"Set {spec.type} {name} to {_value_text(value)}")
        self.stack, self.index, self.name, self.merge_key = stack, index, name, merge_key
        self.value = copy.deepcopy(value)
        self.old = copy.deepcopy(spec.params.get(name, get_layer_type(spec.type).param_index[name].default))

    def id(self) -> int:  # noqa: A003 - Qt's name
        return SET_PARAM_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not (isinstance(other, SetParam) and other.merge_key == self.merge_key
                and other.index == self.index and other.name == self.name and other.stack is self.stack):
            return False
        self.value = copy.deepcopy(other.value)
        self.setText(other.text())
        if self.value == self.old:
            self.setObsolete(True)
        return True

    def redo(self) -> None:
        self.stack.set_param(self.index, self.name, self.value)

    def undo(self) -> None:
        self.stack.set_param(self.index, self.name, self.old)


class SetInputShape(QUndoCommand):
    """Change the shape the design is checked against."""

    def __init__(self, design: ShapedDesign, shape: Shape):
        super().__init__(f"Set Input Shape to {fmt_shape(shape)}")
        self.design, self.new, self.old = design, tuple(shape), design.input_shape

    def redo(self) -> None:
        self.design.apply_input_shape(self.new)

    def undo(self) -> None:
        self.design.apply_input_shape(self.old)


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "×".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
