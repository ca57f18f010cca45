"""The live loss plot: buffers, smoothing, epochs, best-epoch marker, log scale and exports."""

import csv

import numpy as np
import pytest

from netstudio.ui.plots.fast_plot import GrowingSeries, MovingAverage
from netstudio.ui.plots.loss_plot import LossPlot


def test_growing_series_doubles_and_keeps_values():
    s = GrowingSeries(capacity=4)
    s.extend([0, 1, 2], [10, 11, 12])
    s.extend(np.arange(3, 10), np.arange(13, 20))
    x, y = s.view()
    assert list(x) == list(range(10)) and list(y) == list(range(10, 20))
    assert len(s.x) >= 10


def test_moving_average_in_chunks_equals_one_pass():
    values = np.random.default_rng(0).normal(size=200)
    whole = MovingAverage(window=7).feed(values)
    chunked = MovingAverage(window=7)
    parts = np.concatenate([chunked.feed(values[:13]), chunked.feed(values[13:100]), chunked.feed(values[100:])])
    np.testing.assert_allclose(parts, whole)
    assert whole[10] == pytest.approx(values[4:11].mean())


@pytest.fixture
def plot(qtbot):
    widget = LossPlot()
    qtbot.addWidget(widget)
    return widget


def test_plot_holds_the_points(plot):
    plot.add_steps(np.linspace(0.1, 1, 10), np.linspace(1, 0.5, 10))
    plot.add_epoch({"epoch": 1, "train_loss": 0.7, "val_loss": 0.6, "val_accuracy": 0.8, "best_epoch": 1})
    plot.redraw()
    x, y = plot.raw_curve.getData()
    assert len(x) == 10 and y[-1] == pytest.approx(0.5)
    vx, vy = plot.val_curve.getData()
    assert list(vx) == [1] and vy[0] == pytest.approx(0.6)
    mx, my = plot.metric_curve.getData()
    assert my[0] == pytest.approx(0.8)
    assert plot.best_lines[0].isVisible() and plot.best_lines[0].value() == 1
    assert plot.metric_plot.getAxis("left").labelText == "accuracy"


def test_regression_metric_is_r2(plot):
    plot.add_epoch({"epoch": 1, "train_loss": 1.0, "val_loss": 0.9, "val_r2": 0.3, "val_mae": 2.0, "best_epoch": 1})
    plot.redraw()
    assert plot.metric_plot.getAxis("left").labelText == "R²"


def test_million_points_are_kept_and_drawn_downsampled(plot):
    n = 1_000_000
    losses = np.exp(-np.arange(n) / 2e5) + np.random.default_rng(0).normal(0, 0.01, n)
    losses[123_457] = 5.0  # a spike must survive the downsampling
    for start in range(0, n, 250_000):  # as a run delivers them, in pieces
        plot.add_steps(np.arange(start, start + 250_000) / 1000, losses[start:start + 250_000])
    plot.redraw()
    assert plot.point_count() == n
    x, y = plot.raw_curve.getData()
    pixels = plot.loss_plot.vb.width() or 1000
    assert len(x) <= 4 * pixels + 2, "about two points a pixel, not a million"
    assert y.max() == 5.0 and y.min() == losses.min() and x[0] == 0 and x[-1] <= (n - 1) / 1000
    sx, sy = plot.smooth_curve.getData()
    assert len(sx) <= 4 * pixels + 2 and sy.max() < 5.0


def test_zooming_in_draws_the_visible_stretch_in_detail(plot):
    n = 200_000
    plot.add_steps(np.arange(n) / 1000, np.sin(np.arange(n) / 50.0))
    plot.redraw()
    plot.loss_plot.setXRange(100, 100.5, padding=0)  # 500 steps: every one of them is drawn
    x, y = plot.raw_curve.getData()
    assert x[0] <= 100 and x[-1] >= 100.5 and len(x) <= 505
    np.testing.assert_allclose(y[1:-1], np.sin(np.arange(100_000, 100_000 + len(y) - 2) / 50.0))
    plot.reset_zoom()
    plot.redraw()
    x, _ = plot.raw_curve.getData()
    assert x[0] == 0 and x[-1] > 190


def test_grid_lines_are_opaque_blends_of_the_translucent_ones(plot):
    from PySide6.QtGui import QColor, QImage, QPainter

    from netstudio.ui.plots.fast_plot import blend

    assert blend(QColor(0, 0, 0), 0.25, QColor(200, 100, 0)).getRgb() == (150, 75, 0, 255)
    plot.resize(600, 400)
    plot.add_steps([0, 1, 2], [1.0, 0.5, 0.25])
    plot.redraw()
    image = QImage(600, 400, QImage.Format.Format_ARGB32_Premultiplied)
    painter = QPainter(image)
    try:
        _, ticks, _ = plot.loss_plot.getAxis("left").generateDrawSpecs(painter)
    finally:
        painter.end()
    assert ticks and all(pen.color().alpha() == 255 for pen, _, _ in ticks)
    background = plot.palette().color(plot.view.viewport().backgroundRole())
    assert any(pen.color() != background and pen.color() != plot.loss_plot.getAxis("left").pen().color()
               for pen, _, _ in ticks), "the faint grid lines are mixed with the background"


def test_many_epochs_drop_the_markers(plot):
    for epoch in range(1, 301):
        plot.add_epoch({"epoch": epoch, "train_loss": 1.0, "val_loss": 1.0 / epoch, "val_accuracy": 0.5, "best_epoch": epoch})
        if epoch in (100, 300):
            plot.redraw()
            assert (plot.val_curve.opts["symbol"] is None) == (epoch == 300)
    assert len(plot.val_curve.getData()[0]) == 300
    plot.clear()
    plot.add_epoch({"epoch": 1, "train_loss": 1.0, "val_loss": 1.0, "best_epoch": 1})
    plot.redraw()
    assert plot.val_curve.opts["symbol"] == "o"


def test_log_scale_toggle(plot):
    with_signal = []
    plot.log_scale_changed.connect(with_signal.append)
    plot.set_log_scale(True)
    assert plot.loss_plot.ctrl.logYCheck.isChecked() and with_signal == [True]
    plot.set_log_scale(False)
    assert not plot.loss_plot.ctrl.logYCheck.isChecked()


def test_exports_png_and_csv(plot, tmp_path):
    plot.add_steps([0.5, 1.0], [0.9, 0.8])
    plot.add_epoch({"epoch": 1, "train_loss": 0.85, "val_loss": 0.7, "val_accuracy": 0.6, "best_epoch": 1})
    png = plot.save_png(str(tmp_path / "p.png"))
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png
    plot.save_csv(str(tmp_path / "d.csv"))
    rows = list(csv.reader(open(tmp_path / "d.csv")))
    assert rows[0][:3] == ["kind", "x_epochs", "train_loss"]
    assert [r[0] for r in rows[1:]] == ["step", "step", "epoch"]
    assert rows[3][rows[0].index("val_loss")] == "0.7"


def test_clear_starts_over(plot):
    plot.add_steps([1], [1])
    plot.add_epoch({"epoch": 1, "train_loss": 1, "val_loss": 1, "best_epoch": 1})
    plot.clear()
    assert plot.point_count() == 0 and plot.epochs == [] and not plot.best_lines[0].isVisible()


def test_the_view_follows_the_data_in_round_steps(plot):
    plot.add_steps(np.arange(1, 101) / 100, np.linspace(2.0, 1.0, 100))
    plot.redraw()
    (x0, x1), (y0, y1) = plot.loss_plot.vb.viewRange()
    assert x0 <= 0 and x1 >= 1.0 and y0 <= 1.0 and y1 >= 2.0
    plot.add_steps([1.01], [1.0])  # a step more: the view stays where it is (no new layout)
    plot.redraw()
    assert plot.loss_plot.vb.viewRange() == [[x0, x1], [y0, y1]]
    plot.add_steps(np.arange(102, 401) / 100, np.linspace(1.0, 0.2, 299))  # much further: it moves on
    plot.add_epoch({"epoch": 4, "train_loss": 0.3, "val_loss": 2.5, "best_epoch": 4})
    plot.redraw()
    (x0, x1), (y0, y1) = plot.loss_plot.vb.viewRange()
    assert x1 >= 4.0 and y0 <= 0.2 and y1 >= 2.5


def test_zooming_stops_following_and_reset_zoom_resumes(plot):
    plot.add_steps(np.arange(1, 1001) / 100, np.linspace(2.0, 1.0, 1000))
    plot.redraw()
    plot.loss_plot.setXRange(2, 3, padding=0)
    plot.add_steps(np.arange(1001, 3001) / 100, np.linspace(1.0, 0.5, 2000))
    plot.redraw()
    assert plot.loss_plot.vb.viewRange()[0] == [2, 3], "new points do not move a zoomed view"
    plot.reset_zoom()
    assert plot.loss_plot.vb.viewRange()[0][1] >= 30
    plot.set_log_scale(True)
    (_, _), (y0, y1) = plot.loss_plot.vb.viewRange()
    assert y0 <= np.log10(0.5) and y1 >= np.log10(2.0) and y1 < 1, "log10 units"


def test_slow_frames_come_less_often(plot, monkeypatch):
    from netstudio.ui.plots import loss_plot

    ticks = iter(range(10**6))
    monkeypatch.setattr(loss_plot, "_clock", lambda: next(ticks) * 0.001)  # each redraw's own work: 1 ms
    plot.add_steps([0.5], [1.0])
    plot.view.paint_seconds = 0.0005
    plot.redraw()
    assert plot.timer.interval() == round(1000 / loss_plot.FRAME_RATE), "1.5 ms a frame: the full frame rate"
    plot.add_steps([1.0], [0.9])
    plot.view.paint_seconds = 0.019  # a 20 ms frame: a slow or busy machine
    plot.redraw()
    assert plot.timer.interval() == round(0.020 / loss_plot.FRAME_SHARE * 1000)
    plot.add_steps([1.5], [0.8])
    plot.view.paint_seconds = 10.0
    plot.redraw()
    assert plot.timer.interval() == round(loss_plot.LONGEST_FRAME_INTERVAL * 1000)
