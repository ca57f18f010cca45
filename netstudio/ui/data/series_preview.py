"""The Data panel's view of a time series (``data.sequence``): the target over every row in time
order, with the validation and test periods shaded, from the dataset's
:class:`~netstudio.core.data.series.SeriesLayout`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

#: Fill of the validation and test periods, and the series' colour.
PERIOD_BRUSHES = {"validation": QColor(52, 120, 246, 60), "test": QColor(235, 110, 20, 60)}
LINE_PEN = QColor(150, 150, 150)  # readable on the dark and the light theme
ROW_LABEL = "row (in time order)"


class SeriesPreview(pg.PlotWidget):
    """The target over every row, the validation and test periods shaded (training is unshaded).

    Attributes
    ----------
    periods : dict
        ``{"validation": (first, last), "test": (first, last)}``: the shaded rows (1-based,
        inclusive), only the periods that hold rows.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("seriesPreview")
        self.setMenuEnabled(False)
        self.showGrid(x=True, y=True, alpha=0.15)
        self.setClipToView(True)
        self.setDownsampling(auto=True, mode="peak")
        self.addLegend(offset=(10, 10))
        self.periods: dict[str, tuple[int, int]] = {}
        self.line = None

    def show_series(self, layout, target_name: str) -> None:
        """Draw *layout*'s target (named *target_name*) and mark its periods."""
        self.clear()
        if self.plotItem.legend is not None:
            self.plotItem.legend.clear()
        rows = np.arange(1, len(layout.target) + 1, dtype=np.float64)
        self.line = self.plot(rows, np.asarray(layout.target, dtype=np.float64), pen=pg.mkPen(LINE_PEN, width=1),
                              name=target_name)
        train_end, val_end, n = layout.bounds
        self.periods = {}
        for name, low, high in (("validation", train_end, val_end), ("test", val_end, n)):
            if high > low:
                region = pg.LinearRegionItem((low + 0.5, high + 0.5), movable=False, brush=PERIOD_BRUSHES[name],
                                             pen=pg.mkPen(None))
                self.addItem(region)
                self.periods[name] = (low + 1, high)
        self.setLabel("bottom", ROW_LABEL)
        self.setLabel("left", target_name)
        parts = [f"training rows 1–{train_end:,}"]
        parts += [f"{name} rows {a:,}–{b:,} (shaded)" for name, (a, b) in self.periods.items()]
        self.setToolTip(f"The series in time order: {', '.join(parts)}. Validation and test are the last rows, "
                        f"never shuffled into training; each window of {layout.window} rows lies in one period.")
