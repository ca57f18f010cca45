"""The Data panel's time-series settings (``data.sequence``): read a CSV as a series, the column
that orders its rows, the window and the horizon. The target is the panel's own Target chooser."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox

from netstudio.core.config import Sequence, settings
from netstudio.ui.widgets import spin_box

#: The Order by chooser's first entry: the rows as the file has them.
FILE_ORDER = "(file order)"


class SeriesOptions(QGroupBox):
    """A checkable "Time series" group: checked, the CSV becomes windows of rows.

    Signals
    -------
    sequence_edited(object)
        The user changed the settings: the new ``data.sequence`` without its ``target`` (a dict
        of ``window``, ``horizon`` and ``order_by``), or None when the group was unchecked.
    """

    sequence_edited = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__("Time series", parent)
        self.setObjectName("seriesOptions")
        self.setCheckable(True)
        self.setChecked(False)
        self.setToolTip("Read the CSV as a time series: each sample is the window of rows before a point, its "
                        "target the Target column horizon rows after the window; validation and test are the "
                        "last rows")
        s = settings(Sequence)
        self.order_by = QComboBox()
        self.order_by.setObjectName("seriesOrder")
        self.order_by.setToolTip(s["order_by"].help)
        self.order_by.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.order_by.setMinimumContentsLength(8)
        self.window = spin_box(s["window"], keyboardTracking=False)
        self.window.setObjectName("seriesWindow")
        self.horizon = spin_box(s["horizon"], keyboardTracking=False)
        self.horizon.setObjectName("seriesHorizon")
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a narrow dock: labels above
        form.addRow("Order by", self.order_by)
        form.addRow("Window (rows)", self.window)
        form.addRow("Horizon (rows ahead)", self.horizon)
        self._filling = False
        self.toggled.connect(self._on_edited)
        self.order_by.currentIndexChanged.connect(self._on_edited)
        self.window.valueChanged.connect(self._on_edited)
        self.horizon.valueChanged.connect(self._on_edited)

    def show_config(self, config: dict, columns: list[str] | None = None) -> None:
        """Show *config*'s ``sequence`` (visible for CSV files only); *columns* fill Order by (None:
        keep the ones shown)."""
        self.setVisible(config.get("source") == "csv")
        sequence = config.get("sequence") or {}
        self._filling = True
        try:
            if columns is not None:
                self.order_by.clear()
                self.order_by.addItem(FILE_ORDER, None)
                for name in columns:
                    self.order_by.addItem(name, name)
            order = sequence.get("order_by")
            if order is not None and self.order_by.findData(order) < 0:
                self.order_by.addItem(order, order)
            self.order_by.setCurrentIndex(max(0, self.order_by.findData(order)))
            self.setChecked(bool(sequence))
            s = settings(Sequence)
            self.window.setValue(int(sequence.get("window", s["window"].default)))
            self.horizon.setValue(int(sequence.get("horizon", s["horizon"].default)))
        finally:
            self._filling = False

    def value(self) -> dict | None:
        """What the group says: ``{"window", "horizon", "order_by"}``, or None when unchecked."""
        if not self.isChecked():
            return None
        return {"window": self.window.value(), "horizon": self.horizon.value(),
                "order_by": self.order_by.currentData()}

    def _on_edited(self, *args) -> None:
        if not self._filling:
            self.sequence_edited.emit(self.value())
