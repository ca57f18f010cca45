"""The live training plot: loss per step (raw and smoothed), validation per epoch, a metric below.

Built for long runs (pyqtgraph's scrolling-plot recipe): one curve item per series created once,
numpy buffers that double when full, ``setData`` on views of the filled part, peak downsampling
and clip-to-view, and a redraw timer that only repaints when new points arrived. A million
training steps stay smooth.
"""

from __future__ import annotations

import csv

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QFileDialog, QMenu, QVBoxLayout, QWidget

#: Redraws per second at most.
FRAME_RATE = 30
#: Training-loss points averaged into the smoothed curve.
SMOOTHING_WINDOW = 25

TRAIN_COLOR = QColor(52, 120, 246)
VAL_COLOR = QColor(235, 110, 20)
METRIC_COLOR = QColor(40, 160, 90)
BEST_COLOR = QColor(150, 150, 150)


class GrowingSeries:
    """x/y numpy buffers that double when full; ``view()`` gives the filled part without copying."""

    def __init__(self, capacity: int = 1024):
        self.x = np.empty(capacity, dtype=np.float64)
        self.y = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def extend(self, x, y) -> None:
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        need = self.n + len(x)
        if need > len(self.x):
            size = max(need, 2 * len(self.x))
            self.x = np.resize(self.x, size)
            self.y = np.resize(self.y, size)
        self.x[self.n:need] = x
        self.y[self.n:need] = y
        self.n = need

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[:self.n], self.y[:self.n]

    def clear(self) -> None:
        self.n = 0


class MovingAverage:
    """Moving average over the last ``window`` values, computed in chunks from a running sum."""

    def __init__(self, window: int = SMOOTHING_WINDOW):
        self.window = window
        self.tail = np.empty(0)

    def feed(self, values) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        joined = np.concatenate([self.tail, values])
        csum = np.concatenate([[0.0], np.cumsum(joined)])
        ends = np.arange(len(self.tail) + 1, len(joined) + 1)
        starts = np.maximum(0, ends - self.window)
        smoothed = (csum[ends] - csum[starts]) / (ends - starts)
        self.tail = joined[-(self.window - 1):] if self.window > 1 else np.empty(0)
        return smoothed

    def reset(self) -> None:
        self.tail = np.empty(0)


class LossPlot(QWidget):
    """Live curves of one training run.

    Feed it with :meth:`add_steps` (x in epochs, one loss per step) and :meth:`add_epoch` (a
    metrics.csv row); :meth:`clear` starts over.

    Signals
    -------
    log_scale_changed(bool)
        The user toggled the logarithmic loss axis.
    """

    log_scale_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lossPlot")
        pg.setConfigOptions(antialias=False, background=None, foreground=self.palette().text().color())
        self.view = pg.GraphicsLayoutWidget()
        self.loss_plot = self.view.addPlot(row=0, col=0)
        self.metric_plot = self.view.addPlot(row=1, col=0)
        self.view.ci.layout.setRowStretchFactor(0, 3)
        self.view.ci.layout.setRowStretchFactor(1, 1)
        self.metric_plot.setXLink(self.loss_plot)
        self.loss_plot.setLabel("left", "loss")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.metric_plot.setLabel("bottom", "epoch")
        self.metric_plot.setLabel("left", "accuracy")
        for plot in (self.loss_plot, self.metric_plot):
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setMenuEnabled(False)

        self.raw = GrowingSeries()
        self.smooth = GrowingSeries()
        self.val = GrowingSeries(64)
        self.metric = GrowingSeries(64)
        self.average = MovingAverage()
        self.epochs: list[dict] = []
        self.metric_name: str | None = None
        self.best_epoch: int | None = None

        faint = QColor(TRAIN_COLOR)
        faint.setAlpha(70)
        self.raw_curve = self.loss_plot.plot(pen=pg.mkPen(faint, width=1), name="train (per step)")
        self.smooth_curve = self.loss_plot.plot(pen=pg.mkPen(TRAIN_COLOR, width=2), name="train (smoothed)")
        self.val_curve = self.loss_plot.plot(pen=pg.mkPen(VAL_COLOR, width=1.5), symbol="o", symbolSize=7,
                                             symbolBrush=VAL_COLOR, symbolPen=None, name="validation")
        self.metric_curve = self.metric_plot.plot(pen=pg.mkPen(METRIC_COLOR, width=2), symbol="o", symbolSize=5,
                                                  symbolBrush=METRIC_COLOR, symbolPen=None)
        for curve in (self.raw_curve, self.smooth_curve):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        self.best_lines = [pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(BEST_COLOR, width=1, style=pg.QtCore.Qt.DashLine))
                           for _ in range(2)]
        for plot, line in zip((self.loss_plot, self.metric_plot), self.best_lines):
            plot.addItem(line)
            line.hide()
        self.best_label = pg.TextItem(color=BEST_COLOR, anchor=(0, 0))
        self.loss_plot.addItem(self.best_label, ignoreBounds=True)
        self.best_label.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._dirty = False
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / FRAME_RATE))
        self.timer.timeout.connect(self.redraw)
        self.timer.start()
        self._build_menu()

    # -- data --------------------------------------------------------------------------------------
    def add_steps(self, x, losses) -> None:
        """Training losses of consecutive steps at positions *x* (in epochs)."""
        if len(losses) == 0:
            return
        self.raw.extend(x, losses)
        self.smooth.extend(x, self.average.feed(losses))
        self._dirty = True

    def add_epoch(self, row: dict) -> None:
        """One epoch's metrics (``epoch``, ``val_loss``, ``val_accuracy`` or ``val_r2``, ``best_epoch``)."""
        self.epochs.append(dict(row))
        epoch = row["epoch"]
        if row.get("val_loss") is not None:
            self.val.extend([epoch], [row["val_loss"]])
        name = "val_accuracy" if "val_accuracy" in row else ("val_r2" if "val_r2" in row else None)
        if name is not None and row.get(name) is not None:
            if name != self.metric_name:
                self.metric_name = name
                self.metric_plot.setLabel("left", "accuracy" if name == "val_accuracy" else "R²")
            self.metric.extend([epoch], [row[name]])
        if row.get("best_epoch") is not None:
            self.best_epoch = row["best_epoch"]
        self._dirty = True

    def clear(self) -> None:
        for series in (self.raw, self.smooth, self.val, self.metric):
            series.clear()
        self.average.reset()
        self.epochs.clear()
        self.best_epoch = None
        self._dirty = True
        self.redraw()

    def point_count(self) -> int:
        return self.raw.n

    # -- drawing -----------------------------------------------------------------------------------
    @Slot()
    def redraw(self) -> None:
        """Push new points to the curves (called by the frame timer; cheap when nothing changed)."""
        if not self._dirty:
            return
        self._dirty = False
        self.raw_curve.setData(*self.raw.view())
        self.smooth_curve.setData(*self.smooth.view())
        self.val_curve.setData(*self.val.view())
        self.metric_curve.setData(*self.metric.view())
        if self.best_epoch is not None:
            for line in self.best_lines:
                line.setValue(self.best_epoch)
                line.show()
            self.best_label.setText(f"best: epoch {self.best_epoch}")
            self.best_label.setPos(self.best_epoch, self._label_y())
            self.best_label.show()
        else:
            for line in self.best_lines:
                line.hide()
            self.best_label.hide()

    def _label_y(self) -> float:
        _, y = self.raw.view()
        finite = y[np.isfinite(y)] if len(y) else y
        top = float(finite.max()) if len(finite) else 1.0
        return np.log10(top) if self.log_action.isChecked() and top > 0 else top

    # -- menu: log scale, export -------------------------------------------------------------------
    def _build_menu(self) -> None:
        self.log_action = QAction("Logarithmic loss axis", self, checkable=True)
        self.log_action.toggled.connect(self.set_log_scale)
        self.png_action = QAction("Save Plot as PNG…", self)
        self.png_action.triggered.connect(lambda: self.save_png())
        self.csv_action = QAction("Save Data as CSV…", self)
        self.csv_action.triggered.connect(lambda: self.save_csv())
        self.reset_action = QAction("Reset Zoom", self)
        self.reset_action.triggered.connect(self.reset_zoom)
        self.view.setContextMenuPolicy(pg.QtCore.Qt.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._show_menu)

    def _show_menu(self, pos) -> None:
        menu = QMenu(self)
        for action in (self.log_action, self.reset_action, None, self.png_action, self.csv_action):
            menu.addSeparator() if action is None else menu.addAction(action)
        menu.exec(self.view.mapToGlobal(pos))

    @Slot(bool)
    def set_log_scale(self, on: bool) -> None:
        if self.log_action.isChecked() != on:
            self.log_action.setChecked(on)
            return
        self.loss_plot.setLogMode(y=on)
        self._dirty = True
        self.log_scale_changed.emit(on)

    @Slot()
    def reset_zoom(self) -> None:
        for plot in (self.loss_plot, self.metric_plot):
            plot.enableAutoRange()

    def save_png(self, path: str | None = None) -> str | None:
        """Write the plot as a PNG (asks for a path when none is given); returns the path."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save Plot as PNG", "loss.png", "PNG images (*.png)")
            if not path:
                return None
        self.redraw()
        self.view.grab().save(path, "PNG")
        return path

    def save_csv(self, path: str | None = None) -> str | None:
        """Write the per-step losses and per-epoch metrics as CSV; returns the path."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save Data as CSV", "losses.csv", "CSV files (*.csv)")
            if not path:
                return None
        from netstudio.core.fileio import atomic_open

        x, y = self.raw.view()
        keys = sorted({k for row in self.epochs for k in row}, key=lambda k: (k != "epoch", k))
        with atomic_open(path, "w") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["kind", "x_epochs", "train_loss", *keys])
            writer.writerows(("step", f"{a:.6g}", f"{b:.9g}") for a, b in zip(x, y))
            for row in self.epochs:
                writer.writerow(["epoch", row["epoch"], "", *[("" if row.get(k) is None else row.get(k)) for k in keys]])
        return path
