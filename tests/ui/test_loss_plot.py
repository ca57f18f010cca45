"""The live loss plot: buffers, smoothing, epochs, best-epoch marker, log scale and exports."""

import csv

import numpy as np
import pytest

from netstudio.ui.loss_plot import GrowingSeries, LossPlot, MovingAverage


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
    plot.add_steps(np.arange(n) / 1000, np.exp(-np.arange(n) / 2e5))
    plot.redraw()
    assert plot.point_count() == n
    x, _ = plot.raw_curve.getData()
    assert len(x) == n
    assert plot.raw_curve.opts["autoDownsample"] and plot.raw_curve.opts["clipToView"]


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
