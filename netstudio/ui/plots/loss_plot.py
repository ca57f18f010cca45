"""The live training plot: loss per step (raw and smoothed), validation per epoch, a metric below.

Built for long runs (pyqtgraph's scrolling-plot recipe): one curve item per series created once,
numpy buffers that double when full, a redraw timer that only touches the curves that changed.
The per-step curves are drawn from a min/max pyramid (:class:`~netstudio.ui.plots.fast_plot.PeakEnvelope`):
each frame hands pyqtgraph about two points per pixel of the visible stretch, however many steps
there are; the grid is drawn in opaque colours; until the user zooms or pans, the view follows
the data in round steps rather than on every frame; and the frame rate drops where frames are
slow, so that the plot takes at most a twentieth of the time (it shares the GIL with training: while a
frame is drawn, the training thread mostly waits). A million training steps redraw in a few
milliseconds (``benchmarks/plot_redraw.py``).
"""

from __future__ import annotations

import csv
import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QFileDialog, QMenu, QVBoxLayout, QWidget

from netstudio.ui.plots.fast_plot import (
    Extremes,
    GrowingSeries,
    MovingAverage,
    OpaqueGridAxis,
    PeakEnvelope,
    blend,
    steady_range,
)

#: Redraws per second at most.
FRAME_RATE = 30
#: The plot's share of the time at most while points stream in: where a frame takes
#: long (a slow or busy machine), frames come less often, so that clicks and keys still get through
#: and training, which waits for the GIL while a frame is drawn, keeps its pace (a tenth cost small
#: models 5-10 % of their speed in the window on a busy 2-core machine).
FRAME_SHARE = 0.05
#: ...but a frame at least this often (seconds).
LONGEST_FRAME_INTERVAL = 0.5

TRAIN_COLOR = QColor(52, 120, 246)
VAL_COLOR = QColor(235, 110, 20)
METRIC_COLOR = QColor(40, 160, 90)
BEST_COLOR = QColor(150, 150, 150)
#: Epoch markers are drawn up to this many epochs (beyond, they only blur the line and cost time).
MARKER_LIMIT = 150
#: Opacity of the per-step curve (drawn as the opaque colour it blends to over the background).
RAW_OPACITY = 100 / 255


_clock = time.perf_counter  # what frames are timed with (a test replaces it)


class _PlotView(pg.GraphicsLayoutWidget):
    """The plot's view; notes how long its last paint took (the frame rate follows it)."""

    paint_seconds = 0.0

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        start = time.perf_counter()
        super().paintEvent(event)
        self.paint_seconds = time.perf_counter() - start


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
        self.view = _PlotView()
        background = self._background()
        self.axes = {(row, side): OpaqueGridAxis(side, background) for row in (0, 1) for side in ("left", "bottom")}
        self.loss_plot = self.view.addPlot(row=0, col=0, axisItems={s: self.axes[0, s] for s in ("left", "bottom")})
        self.metric_plot = self.view.addPlot(row=1, col=0, axisItems={s: self.axes[1, s] for s in ("left", "bottom")})
        for axis in self.axes.values():  # opaque grid lines go under the curves (the view box is at -100)
            axis.setZValue(-200)
        self.view.ci.layout.setRowStretchFactor(0, 3)
        self.view.ci.layout.setRowStretchFactor(1, 1)
        self.metric_plot.setXLink(self.loss_plot)
        self.loss_plot.setLabel("left", "loss")
        # one row of entries: a short plot still shows all three (in a column the last ones fell off)
        self.loss_plot.addLegend(offset=(-10, 5), colCount=3)
        self.metric_plot.setLabel("bottom", "epoch")
        self.metric_plot.setLabel("left", "accuracy")
        for plot in (self.loss_plot, self.metric_plot):
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setLimits(xMin=0)  # no negative epochs, whatever the padding or the zoom
            plot.setMenuEnabled(False)
            plot.hideButtons()  # the "A" (auto-range) button: Reset Zoom in the context menu does it
            for side in ("left", "bottom"):  # "loss (x0.001)" reads worse than 0.05, "epoch (x0.001)" than 0.2
                plot.getAxis(side).enableAutoSIPrefix(False)
        self._build_curves(background)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._dirty = False          # new steps: the per-step curves need new data
        self._epochs_dirty = False   # new epochs: validation, metric, best epoch
        self._title = None
        self._markers = True
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / FRAME_RATE))
        self.timer.timeout.connect(self.redraw)
        self.timer.start()
        self._build_menu()

    def _build_curves(self, background: QColor) -> None:
        """The data buffers, the curves drawn from them once each, the best-epoch lines."""
        self.raw = GrowingSeries()
        self.smooth = GrowingSeries()
        self.val = GrowingSeries(64)
        self.metric = GrowingSeries(64)
        self.average = MovingAverage()
        self.raw_envelope, self.smooth_envelope = PeakEnvelope(), PeakEnvelope()
        self.extremes = Extremes()  # of the losses shown (steps and validation), for the view's range
        self.epochs: list[dict] = []
        self.metric_name: str | None = None
        self.best_epoch: int | None = None

        self.raw_curve = self.loss_plot.plot(pen=pg.mkPen(blend(TRAIN_COLOR, RAW_OPACITY, background), width=1),
                                             name="train (per step)")
        self.smooth_curve = self.loss_plot.plot(pen=pg.mkPen(TRAIN_COLOR, width=2), name="train (smoothed)")
        self.val_curve = self.loss_plot.plot(pen=pg.mkPen(VAL_COLOR, width=1.5), symbol="o", symbolSize=7,
                                             symbolBrush=VAL_COLOR, symbolPen=None, name="validation")
        self.metric_curve = self.metric_plot.plot(pen=pg.mkPen(METRIC_COLOR, width=2), symbol="o", symbolSize=5,
                                                  symbolBrush=METRIC_COLOR, symbolPen=None)
        self._drawing = False
        self._following = True   # the view shows all the data, in round steps, until the user zooms or pans
        self._ranging = False    # the view's range is being set here (not by the user)
        self._range = None       # the last range set here
        self.loss_plot.vb.disableAutoRange()
        self.loss_plot.vb.sigRangeChanged.connect(self._on_range_changed)
        self.loss_plot.vb.sigResized.connect(self._on_view_changed)
        self.best_lines = [pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(BEST_COLOR, width=1, style=pg.QtCore.Qt.DashLine))
                           for _ in range(2)]
        for plot, line in zip((self.loss_plot, self.metric_plot), self.best_lines):
            plot.addItem(line)
            line.hide()

    # -- data --------------------------------------------------------------------------------------
    def add_steps(self, x, losses) -> None:
        """Training losses of consecutive steps at positions *x* (in epochs)."""
        if len(losses) == 0:
            return
        self.raw.extend(x, losses)
        self.smooth.extend(x, self.average.feed(losses))
        self.extremes.add(losses)
        self.raw_envelope.update(self.raw.view()[1])
        self.smooth_envelope.update(self.smooth.view()[1])
        self._dirty = True

    def add_epoch(self, row: dict) -> None:
        """One epoch's metrics (``epoch``, ``val_loss``, ``val_accuracy`` or ``val_r2``, ``best_epoch``)."""
        self.epochs.append(dict(row))
        epoch = row["epoch"]
        if row.get("val_loss") is not None:
            self.val.extend([epoch], [row["val_loss"]])
            self.extremes.add([row["val_loss"]])
        name = "val_accuracy" if "val_accuracy" in row else ("val_r2" if "val_r2" in row else None)
        if name is not None and row.get(name) is not None:
            if name != self.metric_name:
                self.metric_name = name
                self.metric_plot.setLabel("left", "accuracy" if name == "val_accuracy" else "R²")
            self.metric.extend([epoch], [row[name]])
        if row.get("best_epoch") is not None:
            self.best_epoch = row["best_epoch"]
        self._epochs_dirty = True

    def clear(self) -> None:
        for series in (self.raw, self.smooth, self.val, self.metric):
            series.clear()
        for envelope in (self.raw_envelope, self.smooth_envelope):
            envelope.clear()
        self.extremes.clear()
        self.average.reset()
        self.epochs.clear()
        self.best_epoch = None
        self._dirty = self._epochs_dirty = True
        self.redraw()

    def point_count(self) -> int:
        return self.raw.n

    # -- drawing -----------------------------------------------------------------------------------
    @Slot()
    def redraw(self) -> None:
        """Push new points to the curves (called by the frame timer; cheap when nothing changed)."""
        if not (self._dirty or self._epochs_dirty):
            return
        start = _clock()
        self._update_curves()
        # Pace the frames by what the last one cost (this work, then the paint it causes).
        cost = _clock() - start + self.view.paint_seconds
        interval = min(max(1 / FRAME_RATE, cost / FRAME_SHARE), LONGEST_FRAME_INTERVAL)
        self.timer.setInterval(round(interval * 1000))

    def _update_curves(self) -> None:
        if self._dirty:
            self._dirty = False
            self._draw_steps()
        if self._epochs_dirty:
            self._epochs_dirty = False
            self._draw_epochs()
        self._follow()
        self._settle()

    def _draw_epochs(self) -> None:
        self._show_markers(self.val.n <= MARKER_LIMIT and self.metric.n <= MARKER_LIMIT)
        self.val_curve.setData(*self.val.view())
        self.metric_curve.setData(*self.metric.view())
        if self.best_epoch is not None:
            for line in self.best_lines:
                line.setValue(self.best_epoch)
                line.show()
        else:
            for line in self.best_lines:
                line.hide()
        title = self._best_text() if self.best_epoch is not None else None
        if title != self._title:  # a new title lays the plot out again: only when it changed
            self._title = title
            if title:
                self.loss_plot.setTitle(title, size="9pt", color=BEST_COLOR)
            else:
                self.loss_plot.setTitle(None)

    def _settle(self) -> None:
        """Re-range now rather than in the paint: pyqtgraph would re-range there and paint twice."""
        for plot in (self.loss_plot, self.metric_plot):
            plot.vb.prepareForPaint()

    def _show_markers(self, show: bool) -> None:
        if show != self._markers:
            self._markers = show
            self.val_curve.setSymbol("o" if show else None)
            self.metric_curve.setSymbol("o" if show else None)

    def _draw_steps(self) -> None:
        """Give the per-step curves the visible stretch of their points, about two a pixel."""
        x, y = self.raw.view()
        vb = self.loss_plot.vb
        start, stop = 0, len(x)
        if not self._following and len(x):  # zoomed in: only what is in view (and a point beyond)
            low, high = vb.viewRange()[0]
            start = max(int(np.searchsorted(x, low)) - 1, 0)
            stop = min(int(np.searchsorted(x, high, side="right")) + 1, len(x))
        pixels = int(vb.width()) or 1000
        self.raw_curve.setData(*self.raw_envelope.view(x, y, start, stop, pixels))
        _, smooth = self.smooth.view()
        self.smooth_curve.setData(*self.smooth_envelope.view(x, smooth, start, stop, pixels))

    def _follow(self) -> None:
        """While following, show all the data, in a range rounded out to round steps."""
        e = self.extremes
        if not self._following or e.high < e.low:
            return
        right = max(self.raw.x[self.raw.n - 1] if self.raw.n else 0.0, self.val.x[self.val.n - 1] if self.val.n else 0.0,
                    self.metric.x[self.metric.n - 1] if self.metric.n else 0.0)
        if self.log_action.isChecked():
            if not math.isfinite(e.positive):
                return
            low, high = math.log10(e.positive), math.log10(max(e.high, e.positive))
        else:
            low, high = e.low, e.high
        target = steady_range(0.0, right or 1.0), steady_range(low, high)
        if target != self._range:
            self._range = target
            self._ranging = True
            try:
                self.loss_plot.vb.setRange(xRange=target[0], yRange=target[1], padding=0)
            finally:
                self._ranging = False

    def _on_range_changed(self, *_args) -> None:
        """Zoom or pan (by the user, or by code other than :meth:`_follow`): stop following."""
        if not self._ranging:
            self._following = False
            self._on_view_changed()

    def _on_view_changed(self, *_args) -> None:
        """The visible stretch, or its width in pixels, changed."""
        if self.raw.n and not self._drawing:
            self._drawing = True
            try:
                self._draw_steps()
                self._settle()
            finally:
                self._drawing = False

    def _background(self) -> QColor:
        """The colour behind the curves (the view's own palette may not have followed a theme switch yet)."""
        return self.palette().color(self.view.viewport().backgroundRole())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.PaletteChange:  # a theme switch: re-blend the opaque colours
            background = self._background()
            for axis in self.axes.values():
                axis.background = background
                axis.invalidate()
            self.raw_curve.setPen(pg.mkPen(blend(TRAIN_COLOR, RAW_OPACITY, background), width=1))
        super().changeEvent(event)

    def _best_text(self) -> str:
        """"best epoch 12 · validation loss 0.0831" for the plot's title."""
        row = next((r for r in reversed(self.epochs) if r.get("epoch") == self.best_epoch), None)
        text = f"best epoch {self.best_epoch}"
        if row is not None and row.get("val_loss") is not None:
            text += f" · validation loss {row['val_loss']:.4g}"
        return text

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
        self.loss_plot.setLogMode(y=on)  # this switches pyqtgraph's own auto-range back on
        self.reset_zoom()
        self.log_scale_changed.emit(on)

    @Slot()
    def reset_zoom(self) -> None:
        """Follow the data again: all of it in view, and the newest as it arrives."""
        self.loss_plot.vb.disableAutoRange()
        self.metric_plot.vb.enableAutoRange(axis=pg.ViewBox.YAxis)
        self._following, self._range = True, None
        self._dirty = self._epochs_dirty = True
        self.redraw()

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
