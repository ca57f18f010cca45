"""Small widget helpers every part of the window uses, and the widgets of the settings schema."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QScrollArea,
    QSpinBox,
    QWidget,
)

from netstudio.core.config import Setting


def run_modal(dialog: QDialog) -> int:
    """``dialog.exec()``, then the dialog is deleted: a window's dialogs must not pile up as
    hidden children, each opening another (the result and the widgets stay readable until the
    event loop runs again)."""
    try:
        return dialog.exec()
    finally:
        dialog.deleteLater()


def scrollable(widget: QWidget) -> QScrollArea:
    """*widget* in a frameless scroll area, so that a small window scrolls it instead of growing."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


# ------------------------------------------------------------------------------------------------
# Widgets for the settings of the schema (netstudio.core.config): ranges, choices and tooltips
# come from the Setting; what is left here is how the number is shown.

#: The range of a QSpinBox (a C int).
QT_INT_MIN, QT_INT_MAX = -2**31, 2**31 - 1


def int_range(spec: Setting) -> tuple[int, int]:
    """The spin box range of an integer setting: its bounds, within what a QSpinBox holds."""
    low = QT_INT_MIN if spec.minimum is None else max(QT_INT_MIN, int(spec.minimum))
    high = QT_INT_MAX if spec.maximum is None else min(QT_INT_MAX, int(spec.maximum))
    return low, high


def spin_box(spec: Setting, **display) -> QSpinBox:
    """A QSpinBox for an integer setting (*display*: ``singleStep``, ``suffix``...)."""
    low, high = int_range(spec)
    box = QSpinBox(minimum=low, maximum=high, **display)
    if spec.default is not None and "value" not in display:
        box.setValue(spec.default)
    box.setToolTip(spec.help)
    return box


def double_spin_box(spec: Setting, decimals: int, **display) -> QDoubleSpinBox:
    """A QDoubleSpinBox for a number setting, an open bound one step (10**-decimals) inside."""
    step = 10.0 ** -decimals
    low = spec.minimum + (step if spec.low_open else 0.0)
    high = spec.maximum - (step if spec.high_open else 0.0)
    box = QDoubleSpinBox(decimals=decimals, minimum=low, maximum=high, **display)
    if spec.default is not None and "value" not in display:
        box.setValue(spec.default)
    box.setToolTip(spec.help)
    return box


def choice_box(spec: Setting) -> QComboBox:
    """A QComboBox of a choice setting's labels, each item's data its value."""
    combo = QComboBox()
    for value, label in spec.choices.items():
        combo.addItem(label, value)
    combo.setToolTip(spec.help)
    return combo


def check_box(spec: Setting, text: str) -> QCheckBox:
    """A QCheckBox for a true/false setting."""
    box = QCheckBox(text)
    box.setToolTip(spec.help)
    return box


def select(combo: QComboBox, value) -> None:
    """Show the item whose data is *value* (the first one if there is none)."""
    combo.setCurrentIndex(max(combo.findData(value), 0))


def offer_sweep(widget: QWidget, path: str, request) -> None:
    """Right-clicking *widget* offers "Sweep This", which calls ``request(path)``: *path* is the
    setting's place in the project file (``training.learning_rate``). A spin box keeps its own
    entries (copy, paste, step) below."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractSpinBox

    def show(pos) -> None:
        menu = sweep_menu(widget, path, request)
        menu.exec(widget.mapToGlobal(pos))
        menu.deleteLater()

    widget.setProperty("sweepPath", path)
    widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    widget.customContextMenuRequested.connect(show)
    if isinstance(widget, QAbstractSpinBox):
        widget.lineEdit().setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)


def sweep_menu(widget: QWidget, path: str, request):
    """The context menu :func:`offer_sweep` shows (first entry: Sweep This)."""
    from PySide6.QtWidgets import QAbstractSpinBox, QMenu

    menu = QMenu(widget)
    action = menu.addAction("Sweep This")
    action.setObjectName("sweepThisAction")
    action.setStatusTip(f"Add {path} to the sweep with a range around its value (Sweep panel)")
    action.triggered.connect(lambda _=False: request(path))
    if isinstance(widget, QAbstractSpinBox):
        standard = widget.lineEdit().createStandardContextMenu()
        menu.addSeparator()
        for entry in standard.actions():
            entry.setParent(menu)
            menu.addAction(entry)
        standard.deleteLater()
    return menu
