"""Small widget helpers every part of the window uses, and the widgets of the settings schema."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QLabel,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QWidget,
)

from netstudio.core.config import Setting
from netstudio.core.strings import SHOWN_CHARS, breakable, shorten, tooltip_text


def run_modal(dialog: QDialog) -> int:
    """``dialog.exec()``, then the dialog is deleted: a window's dialogs must not pile up as
    hidden children, each opening another (the result and the widgets stay readable until the
    event loop runs again)."""
    try:
        return dialog.exec()
    finally:
        dialog.deleteLater()


class VerticalScrollArea(QScrollArea):
    """A scroll area that asks for the width its widget needs, so that its dock is laid out wide
    enough not to scroll sideways (it still can, in a window too small for every panel)."""

    def sizeHint(self):  # noqa: N802 - Qt's name
        hint = super().sizeHint()
        hint.setWidth(max(hint.width(), self.needed_width()))
        return hint

    def needed_width(self) -> int:
        """The narrowest this area can be without a horizontal scroll bar."""
        widget = self.widget()
        if widget is None:
            return 0
        return widget.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()


def scrollable(widget: QWidget) -> QScrollArea:
    """*widget* in a frameless scroll area, so that a small window scrolls it up and down instead of growing."""
    area = VerticalScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


class BoundedLabel(QLabel):
    """A word-wrapped plain-text label for messages of any length (a run's failure, a sweep's
    error): it shows at most *limit* characters, breaks words too long to wrap, and gives the
    whole text in its tooltip when it had to cut it."""

    def __init__(self, text: str = "", parent: QWidget | None = None, limit: int = 2 * SHOWN_CHARS):
        super().__init__(parent)
        self.limit = limit
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        text = str(text)
        shown = shorten(text, self.limit)
        super().setText(breakable(shown))
        self.setToolTip(tooltip_text(text) if shown != text else "")


class StackingSplitter(QSplitter):
    """A splitter that lays its widgets side by side where they fit, and one above the other where
    they do not (a narrow dock): it never asks for more width than its widest widget needs, so its
    scroll area scrolls up and down, not sideways."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setChildrenCollapsible(False)

    def side_by_side_width(self) -> int:
        """The width its widgets need side by side."""
        shown = [self.widget(i) for i in range(self.count()) if not self.widget(i).isHidden()]
        needed = sum(w.minimumSizeHint().expandedTo(w.minimumSize()).width() for w in shown)
        return needed + self.handleWidth() * max(len(shown) - 1, 0)

    def minimumSizeHint(self):  # noqa: N802 - Qt's name
        hint = super().minimumSizeHint()
        shown = [self.widget(i) for i in range(self.count()) if not self.widget(i).isHidden()]
        hints = [w.minimumSizeHint().expandedTo(w.minimumSize()) for w in shown]
        if hints:
            hint.setWidth(max(h.width() for h in hints))
            if self.orientation() == Qt.Orientation.Horizontal:
                hint.setHeight(max(h.height() for h in hints))
        return hint

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        wanted = (Qt.Orientation.Horizontal if event.size().width() >= self.side_by_side_width()
                  else Qt.Orientation.Vertical)
        if wanted != self.orientation():
            self.setOrientation(wanted)
            self.updateGeometry()
        super().resizeEvent(event)


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


def pixels_to_qimage(pixels: np.ndarray) -> QImage:
    """A ``[C, H, W]`` uint8 array (1 or 3 channels) as a QImage that owns its pixels.

    The image is allocated by Qt and filled through ``bits()``: building a QImage on a Python
    buffer is where PySide has had reference-count bugs.
    """
    channels, height, width = pixels.shape
    gray = channels == 1
    image = QImage(width, height, QImage.Format.Format_Grayscale8 if gray else QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.bits(), dtype=np.uint8).reshape(height, image.bytesPerLine())
    if gray:
        rows[:, :width] = pixels[0]
    else:
        rows[:, :3 * width] = np.transpose(pixels[:3], (1, 2, 0)).reshape(height, 3 * width)
    return image


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
