"""Qt models for the data panel: a read-only table over a pandas DataFrame."""

from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

MISSING = "—"


class FrameModel(QAbstractTableModel):
    """The first rows of a table; missing cells show a dash in grey, numbers align right."""

    def __init__(self, frame=None, parent=None):
        super().__init__(parent)
        self._highlight: str | None = None
        self.set_frame(frame)

    def set_frame(self, frame, highlight: str | None = None) -> None:
        self.beginResetModel()
        self._highlight = highlight
        self._columns = [str(c) for c in frame.columns] if frame is not None else []
        self._values = frame.to_numpy(dtype=object) if frame is not None else None
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if self._values is None or parent.isValid() else len(self._values)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        value = self._values[index.row(), index.column()]
        missing = value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("nan", "<NA>")
        if role == Qt.ItemDataRole.DisplayRole:
            if missing:
                return MISSING
            if isinstance(value, float):
                return f"{value:.6g}"
            return str(value)
        if role == Qt.ItemDataRole.ForegroundRole and missing:
            return QColor(150, 150, 150)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            return int((Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft) | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and missing:
            return "missing value"
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole:
            if orientation == Qt.Orientation.Horizontal:
                name = self._columns[section]
                return f"{name} (target)" if name == self._highlight else name
            return str(section + 1)
        if role == Qt.ItemDataRole.FontRole and orientation == Qt.Orientation.Horizontal \
                and self._columns[section] == self._highlight:
            from PySide6.QtGui import QFont

            font = QFont()
            font.setBold(True)
            return font
        return None
