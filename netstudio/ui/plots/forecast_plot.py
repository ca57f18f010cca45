"""The forecast of a time series (``data.sequence``) against the truth over the validation or
test period: the Evaluation view's Forecast tab. It takes the dataset's
:class:`~netstudio.core.data.series.SeriesLayout`; the x axis is the row in time order (1-based),
the y axis the target in its own units. (The Data panel's view of the whole series, with its
split marked, is :mod:`netstudio.ui.data.series_preview`.)
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

#: The lines' colours.
TRUTH_PEN = QColor(150, 150, 150)  # readable on the dark and the light theme
ROW_LABEL = "row (in time order)"
FORECAST_PEN = QColor(235, 110, 20)


def prepare_plot(plot: pg.PlotWidget) -> None:
    """A time-series plot's look: a faint grid, downsampled, clipped to the view, a legend."""
    plot.setMenuEnabled(False)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.addLegend(offset=(10, 10))


class ForecastPlot(pg.PlotWidget):
    """Forecast against truth for the windows of one split, at the rows they forecast."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("forecastPlot")
        prepare_plot(self)
        self.truth = self.forecast = None

    def show_forecast(self, layout, report, split_index: int, target_name: str) -> None:
        """Draw *report* (a regression report of split *split_index*: 1 validation, 2 test)."""
        self.clear()
        if self.plotItem.legend is not None:
            self.plotItem.legend.clear()
        rows = layout.target_rows(split_index).astype(np.float64) + 1
        count = min(len(rows), len(report.true))
        rows = rows[:count]
        self.truth = self.plot(rows, np.asarray(report.true[:count], dtype=np.float64),
                               pen=pg.mkPen(TRUTH_PEN, width=2), name="truth")
        self.forecast = self.plot(rows, np.asarray(report.predicted[:count], dtype=np.float64),
                                  pen=pg.mkPen(FORECAST_PEN, width=2), name="forecast")
        self.setLabel("bottom", ROW_LABEL)
        self.setLabel("left", target_name)
        ahead = f"{layout.horizon} row{'s' if layout.horizon != 1 else ''}"
        self.setToolTip(f"Each point is one window's forecast of {target_name!r} {ahead} after its last row, "
                        "drawn at the row it forecasts, beside the true value there")
