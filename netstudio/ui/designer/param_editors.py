"""One editor widget per parameter kind, built from the layer's params schema.

Each editor shows a value and emits :attr:`ParamEditor.value_edited` when the user changes it,
with whether the change may merge with the previous one into a single undo step (spin-box
steps do; a checkbox toggle or a combo choice does not).
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeySequence, QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from netstudio.core.design.params import MAX_FLOAT, Param
from netstudio.core.design.templates import parse_sizes

INT_LIMIT = 2**31 - 1
#: Combo label for a ``None`` value (a pooling stride of None means "the kernel size").
NONE_LABELS = {"stride": "= kernel", "padding_idx": "none"}


class ParamEditor(QWidget):
    """Base class: an editor for one :class:`Param`.

    Signals
    -------
    value_edited(object, bool)
        The user changed the value: (new value, whether it may merge with the previous edit).
    """

    value_edited = Signal(object, bool)

    def __init__(self, param: Param, parent=None):
        super().__init__(parent)
        self.param = param
        self.session = 0  # bumped when the editor loses focus, so later edits start a new undo step
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.setToolTip(f"{param.name}: {param.doc}\nAllowed: {param.expected()}")

    def set_value(self, value: Any) -> None:
        """Show *value* without emitting :attr:`value_edited`."""
        self.blockSignals(True)
        try:
            self._show(value)
        finally:
            self.blockSignals(False)

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def _emit(self, value: Any, merge: bool) -> None:
        self.value_edited.emit(value, merge)

    def _watch_focus(self, widget: QWidget) -> None:
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.FocusOut:
            self.session += 1
        elif event.type() == QEvent.Type.ShortcutOverride and _undo_or_redo(event) and _committed(watched):
            event.ignore()  # the spin box's own text undo would swallow the key: the window's Undo gets it
            self.session += 1  # what follows the undo is a new edit, not a merge into the undone one
            return True
        return super().eventFilter(watched, event)


def _undo_or_redo(event) -> bool:
    return any(event.matches(key) for key in (QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo))


def _committed(widget) -> bool:
    """Whether *widget* holds no typed text that is not its value yet (nothing for its own undo)."""
    if isinstance(widget, QAbstractSpinBox) and hasattr(widget, "textFromValue"):
        return widget.cleanText() == widget.textFromValue(widget.value())
    return False


def _int_spin(param: Param, parent: QWidget) -> QSpinBox:
    spin = QSpinBox(parent)
    low = -INT_LIMIT if param.minimum is None else int(param.minimum) + (1 if param.exclusive_minimum else 0)
    high = INT_LIMIT if param.maximum is None else int(param.maximum) - (1 if param.exclusive_maximum else 0)
    spin.setRange(low, high)
    spin.setKeyboardTracking(False)  # typed digits commit on Enter or focus-out, arrow steps at once
    spin.setAccelerated(True)
    spin.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
    # Qt sizes a spin box for its widest value (ten digits for an open range): settings are a few
    # digits, and three of them side by side (Conv3d's kernel) made the inspector scroll sideways
    spin.setMinimumWidth(spin.fontMetrics().horizontalAdvance("0000") + 24)
    return spin


class IntEditor(ParamEditor):
    """A spin box; with ``auto`` allowed, an "auto" check box beside it (the last Linear); with
    ``None`` allowed, a "none" check box (Embedding's ``padding_idx``)."""

    def __init__(self, param: Param, show_auto: bool, parent=None):
        super().__init__(param, parent)
        self.spin = _int_spin(param, self)
        self._layout.addWidget(self.spin, 1)
        self._watch_focus(self.spin)
        self.auto = QCheckBox("auto", self)
        self.auto.setToolTip("Take the data's output width: one unit per class, or 1 for a yes/no "
                             "or regression target")
        self.auto.setVisible(show_auto)
        self._layout.addWidget(self.auto)
        self.none = QCheckBox(NONE_LABELS.get(param.name, "none"), self)
        self.none.setToolTip(f"No {param.name}")
        self.none.setVisible(param.allow_none)
        self._layout.addWidget(self.none)
        self.spin.valueChanged.connect(lambda v: self._emit(int(v), True))
        self.auto.toggled.connect(self._on_auto_toggled)
        self.none.toggled.connect(self._on_none_toggled)

    def _show(self, value: Any) -> None:
        is_auto = value == "auto"
        self.auto.setChecked(is_auto)
        self.none.blockSignals(True)
        self.none.setChecked(value is None)
        self.none.blockSignals(False)
        self.spin.setEnabled(not is_auto and value is not None)
        if not is_auto and isinstance(value, int):
            self.spin.setValue(value)

    def _on_none_toggled(self, checked: bool) -> None:
        self.spin.setEnabled(not checked)
        self._emit(None if checked else int(self.spin.value()), False)

    def _on_auto_toggled(self, checked: bool) -> None:
        self.spin.setEnabled(not checked)
        self._emit("auto" if checked else int(self.spin.value()), False)


class FloatSpinBox(QDoubleSpinBox):
    """A double spin box that shows as many digits as the number needs (``1e-05``, ``0.2``)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDecimals(12)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt's name
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text.strip())
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        stripped = text.strip()
        if stripped in ("", "-", ".", "-.") or stripped.lower().endswith(("e", "e-", "e+")):
            return QValidator.State.Intermediate, text, pos
        try:
            value = float(stripped)
        except ValueError:
            return QValidator.State.Invalid, text, pos
        if not math.isfinite(value):
            return QValidator.State.Invalid, text, pos
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos


def float_step(default: float) -> float:
    """A spin step of the order of *default* (0.5 -> 0.1, 1e-5 -> 1e-5, 1.0 -> 0.1)."""
    if not default:
        return 0.1
    exponent = math.floor(math.log10(abs(default)))
    return 10.0 ** (exponent - (1 if abs(default) >= 1 else 0))


class FloatEditor(ParamEditor):
    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.spin = FloatSpinBox(self)
        step = float_step(float(param.default))
        low = -MAX_FLOAT if param.minimum is None else float(param.minimum)
        high = MAX_FLOAT if param.maximum is None else float(param.maximum)
        if param.exclusive_minimum:
            low = low + min(step, 1e-9) if low == 0 else low * (1 + 1e-6)
        if param.exclusive_maximum:
            high -= min(step / 10, 1e-3)
        self.spin.setRange(low, high)
        self.spin.setSingleStep(step)
        self.spin.setKeyboardTracking(False)
        self._layout.addWidget(self.spin, 1)
        self._watch_focus(self.spin)
        self.spin.valueChanged.connect(lambda v: self._emit(round(float(v), 12), True))

    def _show(self, value: Any) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.spin.setValue(float(value))


class BoolEditor(ParamEditor):
    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.check = QCheckBox(self)
        self._layout.addWidget(self.check)
        self._layout.addStretch(1)
        self.check.toggled.connect(lambda checked: self._emit(bool(checked), False))

    def _show(self, value: Any) -> None:
        self.check.setChecked(bool(value))


class ChoiceEditor(ParamEditor):
    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.combo = QComboBox(self)
        self.combo.addItems([str(c) for c in param.choices])
        self._layout.addWidget(self.combo, 1)
        self.combo.activated.connect(lambda i: self._emit(param.choices[i], False))

    def _show(self, value: Any) -> None:
        if value in self.param.choices:
            self.combo.setCurrentIndex(self.param.choices.index(value))


class SizeEditor(ParamEditor):
    """One spin box, or height × width, plus a mode for ``"same"``/``"valid"``/``None`` where allowed."""

    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.modes: list[Any] = ["number"] + list(param.strings) + ([None] if param.allow_none else [])
        self.mode = QComboBox(self)
        for mode in self.modes:
            self.mode.addItem("size" if mode == "number" else NONE_LABELS.get(param.name, "none") if mode is None else mode)
        self.mode.setVisible(len(self.modes) > 1)
        self.spins = [_int_spin(param, self) for _ in range(param.arity)]
        row = self._layout
        if param.arity >= 3 and self.mode.isVisibleTo(self):  # the mode above the sizes: narrow docks fit
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(self.mode, 0, Qt.AlignmentFlag.AlignLeft)
            row = QHBoxLayout()
            row.setSpacing(self._layout.spacing())
            column.addLayout(row)
            self._layout.addLayout(column, 1)
        else:
            self._layout.addWidget(self.mode)
        for i, spin in enumerate(self.spins):
            if i:
                row.addWidget(QLabel("×", self))
            row.addWidget(spin, 1)
            self._watch_focus(spin)
            spin.valueChanged.connect(lambda _v: self._emit(self._spin_value(), True))
        if param.arity == 2:
            self.spins[0].setToolTip("height")
            self.spins[1].setToolTip("width")
        self.mode.activated.connect(self._on_mode_activated)

    def _spin_value(self) -> Any:
        values = [int(s.value()) for s in self.spins]
        return values[0] if len(set(values)) == 1 else values

    def _on_mode_activated(self, row: int) -> None:
        mode = self.modes[row]
        for spin in self.spins:
            spin.setEnabled(mode == "number")
        self._emit(self._spin_value() if mode == "number" else mode, False)

    def _show(self, value: Any) -> None:
        if isinstance(value, str) or value is None:
            row = self.modes.index(value) if value in self.modes else 0
        else:
            row = 0
            values = value if isinstance(value, (list, tuple)) else [value] * len(self.spins)
            for spin, v in zip(self.spins, values):
                spin.blockSignals(True)
                spin.setValue(int(v))
                spin.blockSignals(False)
        self.mode.setCurrentIndex(row)
        for spin in self.spins:
            spin.setEnabled(self.modes[row] == "number")


class IntsEditor(ParamEditor):
    """A list of sizes typed as ``1, 28, 28``; a bad list is shown in red and not applied."""

    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("e.g. 1, 28, 28")
        self._layout.addWidget(self.edit, 1)
        self.error = ""
        self.edit.editingFinished.connect(self._on_editing_finished)
        self.edit.textEdited.connect(lambda _t: self._set_error(""))

    def _on_editing_finished(self) -> None:
        try:
            value = parse_sizes(self.edit.text())
        except ValueError:
            self._set_error(f"{self.param.name} must be whole numbers separated by commas")
            return
        problem = self.param.check(value)
        if problem:
            self._set_error(f"{self.param.name} {problem}")
            return
        self._set_error("")
        self._emit(value, False)

    def _set_error(self, message: str) -> None:
        self.error = message
        self.edit.setProperty("invalid", bool(message))
        self.edit.setStyleSheet("QLineEdit { border: 1px solid #e5484d; }" if message else "")
        self.edit.setToolTip(message or self.toolTip())

    def _show(self, value: Any) -> None:
        if isinstance(value, (list, tuple)):
            self.edit.setText(", ".join(str(v) for v in value))
        self._set_error("")


def make_editor(param: Param, show_auto: bool = False, parent: QWidget | None = None) -> ParamEditor:
    """The editor for *param*'s kind."""
    if param.kind == "int":
        return IntEditor(param, show_auto, parent)
    if param.kind == "float":
        return FloatEditor(param, parent)
    if param.kind == "bool":
        return BoolEditor(param, parent)
    if param.kind == "choice":
        return ChoiceEditor(param, parent)
    if param.kind == "size":
        return SizeEditor(param, parent)
    return IntsEditor(param, parent)
