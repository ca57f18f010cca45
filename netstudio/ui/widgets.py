"""Small widget helpers every part of the window uses."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QScrollArea, QWidget


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
