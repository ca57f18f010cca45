"""Live plot redraw time with a 1,000,000-point loss curve (and its smoothed curve).

The window's :class:`~netstudio.ui.plots.loss_plot.LossPlot` is shown offscreen at ``--size`` and
filled with ``--points`` training steps (raw and smoothed curves, one validation point per
epoch). Each frame is what the app does on its 30 Hz timer followed by a real, synchronous paint
of the plot into the window's backing store (pyqtgraph's prepare-for-paint, auto-range,
downsampling and drawing), timed from before the timer's work until the event loop is idle again,
every paint that work caused included:

* ``full view``: the whole curve is visible and nothing changed (an expose);
* ``appending``: ``--append`` new steps (one epoch, with its validation point) arrive before
  each frame, as in a fast run; the view follows the growing curve;
* ``zoomed``: the view shows a different tenth of the curve each frame (panning a long run).

Goal: <= 16 ms per frame.

    python benchmarks/plot_redraw.py [--points 1000000] [--frames 60] [--append 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QObject  # noqa: E402


def loss_curve(start: int, count: int, steps_per_epoch: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """A noisy, falling training loss for steps ``start + 1 ... start + count`` (x in epochs)."""
    steps = np.arange(start + 1, start + count + 1)
    x = steps / steps_per_epoch
    y = 0.05 + 2.0 / np.sqrt(1 + steps / 500) + rng.normal(0, 0.08, count) ** 2
    return x, y


class PaintCounter(QObject):
    """Counts the paint events of a widget (each frame must paint at least once)."""

    def __init__(self, widget):
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def frame_times(plot, app, frames: int, before_frame, paints: PaintCounter) -> list[float]:
    """Milliseconds per frame: the timer's work, then every paint and event it causes until idle."""
    times = []
    for i in range(frames):
        app.processEvents()  # anything queued before belongs to no frame
        start = time.perf_counter()
        painted = paints.count
        before_frame(i)
        plot.redraw()
        plot.view.viewport().update()
        app.processEvents()  # the paint and whatever it posts (pyqtgraph re-ranges, re-lays out)
        app.processEvents()
        times.append((time.perf_counter() - start) * 1000)
        if paints.count == painted:
            raise SystemExit("a frame did not paint: the measurement would be wrong")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--append", type=int, default=1000, help="new steps per frame while appending")
    parser.add_argument("--size", default="1000x450", help="plot size in pixels, WIDTHxHEIGHT")
    parser.add_argument("--steps-per-epoch", type=int, default=1000)
    args = parser.parse_args()

    from netstudio.ui.app import create_application
    from netstudio.ui.plots.loss_plot import LossPlot

    app = create_application()
    plot = LossPlot()
    plot.timer.stop()  # frames are driven here, one at a time
    width, height = (int(v) for v in args.size.split("x"))
    plot.resize(width, height)
    plot.show()
    app.processEvents()
    rng = np.random.default_rng(0)
    spe = args.steps_per_epoch

    start = time.perf_counter()
    for lo in range(0, args.points, 100_000):  # as a long run delivers them, in pieces
        x, y = loss_curve(lo, min(100_000, args.points - lo), spe, rng)
        plot.add_steps(x, y)
    for epoch in range(1, args.points // spe + 1):
        plot.add_epoch({"epoch": epoch, "val_loss": 0.1 + 2.0 / np.sqrt(1 + epoch * spe / 500),
                        "val_accuracy": 1 - 1 / (1 + epoch), "best_epoch": epoch})
    fill = time.perf_counter() - start
    paints = PaintCounter(plot.view.viewport())
    first = frame_times(plot, app, 1, lambda i: None, paints)[0]

    results = []
    results.append(("full view", frame_times(plot, app, args.frames, lambda i: None, paints)))

    total = [args.points]

    def append(i):
        x, y = loss_curve(total[0], args.append, spe, rng)
        plot.add_steps(x, y)
        total[0] += args.append
        if total[0] // spe > plot.val.n:
            epoch = total[0] // spe
            plot.add_epoch({"epoch": epoch, "val_loss": 0.1, "val_accuracy": 0.9, "best_epoch": epoch})

    results.append((f"appending {args.append:,}/frame", frame_times(plot, app, args.frames, append, paints)))

    span = total[0] / spe

    def zoom(i):
        lo = (i % 10) * span / 10
        plot.loss_plot.setXRange(lo, lo + span / 10, padding=0)

    results.append(("zoomed to a tenth", frame_times(plot, app, args.frames, zoom, paints)))
    plot.reset_zoom()

    print(f"LossPlot {width}x{height}, {args.points:,} steps (raw + smoothed curves, {plot.val.n:,} validation "
          f"points); filling took {fill:.2f} s, first frame {first:.1f} ms; load average {os.getloadavg()[0]:.2f}")
    header = f"{'frame':24} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'frames':>7}"
    print(header)
    print("-" * len(header))
    for name, times in results:
        print(f"{name:24} {statistics.median(times):10.1f} {np.percentile(times, 95):8.1f} {max(times):8.1f} "
              f"{len(times):7d}")
    print("goal: <= 16 ms per frame (the median; p95 and max show the spread on a shared machine)")


if __name__ == "__main__":
    main()
