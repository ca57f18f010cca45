"""The Sweep panel's plots: parallel coordinates of the trials, and the parameters' importance.

:class:`ParallelCoordinates` draws one vertical axis per swept parameter and one for the metric;
each finished trial is a line through its values (log ranges on a log scale, choices in their
order), coloured from the best trial (bright) to the worst (dark); pruned trials are grey and
dashed, failed ones left out. :class:`ImportancePlot` shows Optuna's importance of each parameter
as horizontal bars.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from netstudio.core.search.sweep import TrialResult


def short_name(path: str) -> str:
    """``model.layers[0].params.out_features`` -> ``[0].out_features``; ``training.learning_rate`` -> ``learning_rate``."""
    if path.startswith("model."):
        inner = path[len("model."):].replace("layers", "").replace(".params.", ".")
        return inner.lstrip(".")
    return path.split(".", 1)[-1]


def axis_position(value, spec: dict) -> float | None:
    """*value* on its parameter's axis, 0 (low) to 1 (high); None when it is not on the axis."""
    if value is None:
        return None
    if spec["type"] == "categorical":
        choices = list(spec["choices"])
        if value not in choices:
            return None
        return 0.5 if len(choices) == 1 else choices.index(value) / (len(choices) - 1)
    low, high = float(spec["low"]), float(spec["high"])
    if spec.get("log") and low > 0 and value > 0:
        low, high, value = math.log10(low), math.log10(high), math.log10(value)
    return 0.5 if high == low else min(1.0, max(0.0, (float(value) - low) / (high - low)))


def _label(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


class ParallelCoordinates(pg.PlotWidget):
    """One line per finished trial across the parameters' axes and the metric's."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("sweepParallelPlot")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.getPlotItem().hideAxis("left")
        self.lines: list[pg.PlotDataItem] = []
        self.setToolTip("Each line is a trial through its values; the brightest lines are the best trials, "
                        "grey dashed ones were pruned")

    def show_trials(self, ranked: list[TrialResult], parameters: dict, metric: str) -> None:
        """Draw *ranked* (best first) over the axes of *parameters* (path -> range) and *metric*."""
        self.clear()
        self.lines = []
        paths = list(parameters)
        n = len(paths) + 1
        scored = [r.value if r.state == "COMPLETE" else r.last_value for r in ranked if r.state != "FAIL"]
        scored = [v for v in scored if v is not None]
        lo, hi = (min(scored), max(scored)) if scored else (0.0, 1.0)
        complete = [r for r in ranked if r.state == "COMPLETE"]
        colormap = pg.colormap.get("viridis")
        for r in reversed([r for r in ranked if r.state != "FAIL"]):  # the best drawn last, on top
            ys = [axis_position(r.params.get(p), parameters[p]) for p in paths]
            value = r.value if r.state == "COMPLETE" else r.last_value
            ys.append(None if value is None else (0.5 if hi == lo else (value - lo) / (hi - lo)))
            xs = [i for i, y in enumerate(ys) if y is not None]
            ys = [y for y in ys if y is not None]
            if r.state == "COMPLETE":
                rank = complete.index(r)
                fraction = 1.0 - rank / max(1, len(complete) - 1) if len(complete) > 1 else 1.0
                color = colormap.map(0.15 + 0.85 * fraction, mode="qcolor")
                pen = pg.mkPen(color, width=3 if rank == 0 else 1.5)
            else:
                pen = pg.mkPen(QColor(140, 140, 140), width=1, style=Qt.PenStyle.DashLine)
            line = self.plot(xs, ys, pen=pen, symbol="o", symbolSize=4, symbolBrush=pen.color(), symbolPen=None)
            self.lines.append(line)
        for i, path in enumerate(paths):
            self.addItem(pg.InfiniteLine(pos=i, angle=90, pen=pg.mkPen(QColor(128, 128, 128), width=1)))
            spec = parameters[path]
            ends = (spec["choices"][0], spec["choices"][-1]) if spec["type"] == "categorical" else (spec["low"], spec["high"])
            self._text(_label(ends[0]), i, 0.0, anchor=(0.5, 0))
            self._text(_label(ends[1]), i, 1.0, anchor=(0.5, 1))
        self.addItem(pg.InfiniteLine(pos=n - 1, angle=90, pen=pg.mkPen(QColor(128, 128, 128), width=1)))
        if scored:
            self._text(f"{lo:.4g}", n - 1, 0.0, anchor=(0.5, 0))
            self._text(f"{hi:.4g}", n - 1, 1.0, anchor=(0.5, 1))
        axis = self.getPlotItem().getAxis("bottom")
        axis.setTicks([[(i, short_name(p)) for i, p in enumerate(paths)] + [(n - 1, metric)]])
        self.setXRange(-0.5, n - 0.5, padding=0)  # room for the first and last axis' names
        self.setYRange(-0.12, 1.12, padding=0)

    def _text(self, text: str, x: float, y: float, anchor) -> None:
        item = pg.TextItem(text, color=self.palette().text().color(), anchor=anchor)
        item.setPos(x, y - 0.02 if anchor[1] == 0 else y + 0.02)
        self.addItem(item)


class ImportancePlot(pg.PlotWidget):
    """Optuna's importance of each parameter (summing to 1), as horizontal bars."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("sweepImportancePlot")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.importance: dict[str, float] = {}
        self.getPlotItem().hideAxis("left")
        self.setToolTip("How much each parameter explains the metric across the finished trials (Optuna's "
                        "importance; needs a few complete trials)")

    def show_importance(self, importance: dict[str, float]) -> None:
        self.clear()
        self.importance = dict(importance)
        names = list(importance)[::-1]  # the most important on top
        if not names:
            return
        values = [importance[n] for n in names]
        bars = pg.BarGraphItem(x0=0, y=list(range(len(names))), height=0.4, width=values,
                               brush=QColor(70, 130, 200))
        self.addItem(bars)
        for i, name in enumerate(names):  # the names on the bars: an axis would cut long ones off
            label = pg.TextItem(f"{short_name(name)}  {importance[name]:.2f}", color=self.palette().text().color(),
                                anchor=(0, 1))
            label.setPos(0, i + 0.3)
            self.addItem(label)
        self.setXRange(0, max(values) * 1.05 if max(values) > 0 else 1, padding=0)
        self.setYRange(-0.4, len(names) - 0.2, padding=0)
