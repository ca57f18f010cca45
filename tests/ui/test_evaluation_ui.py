"""The evaluation view and run history in the window, driven by real training runs."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from netstudio.core.data.load import load_dataset
from netstudio.core.design.stack import LayerSpec
from netstudio.core.training.evaluation import classification_report, regression_report
from netstudio.ui.plots.evaluation_view import EvaluationView
from netstudio.ui.training.runs_panel import run_color

S = LayerSpec.create


def load(config, folder):
    base = {"task": "auto", "validation_split": 0.3, "normalize": True, "seed": 0}
    return load_dataset({**base, **config}, folder)


@pytest.fixture
def view(qtbot):
    widget = EvaluationView()
    qtbot.addWidget(widget)
    return widget


def test_confusion_cells_show_counts_or_row_shares(view, tmp_path):
    data = load({"source": "synthetic", "kind": "gaussians", "samples": 90, "classes": 3}, tmp_path)
    view.set_dataset(data)
    n = data.n_val
    true = data.y_val
    predicted = np.where(np.arange(n) % 4 == 0, (true + 1) % 3, true)  # a quarter wrong
    probs = np.eye(3)[predicted] * 0.9 + 0.05
    report = classification_report(true, probs, data.classes)
    view.show_report(report)
    model = view.confusion_model
    assert model.rowCount() == 3 and model.columnCount() == 3
    assert model.data(model.index(0, 0)) == f"{report.matrix[0, 0]:,}"
    view.normalize.setChecked(True)
    assert model.data(model.index(0, 0)) == f"{report.normalized()[0, 0]:.0%}"
    assert view.scores.rowCount() == 3 and view.scores.item(1, 1).text() == f"{report.recall[1]:.3f}"
    assert f"{report.accuracy:.2%}" in view.accuracy.text()
    rows = view.show_cell(0, 1)
    assert list(rows) == list(np.flatnonzero((true == 0) & (predicted == 1)))
    assert view.samples_table.rowCount() == len(rows) and view.samples.currentWidget() is view.samples_table
    # The listed values are the raw features of exactly those validation rows.
    if len(rows):
        from netstudio.core.data.preview import raw_features

        expected = raw_features(data, data.X_val[rows[:1]])[0]
        shown = [float(view.samples_table.item(0, c).text()) for c in range(1, 3)]
        assert shown == pytest.approx(expected, rel=1e-3)


def test_image_cells_show_thumbnails(view, tmp_path):
    for label, value in (("dark", 10), ("light", 240)):
        (tmp_path / label).mkdir()
        for i in range(10):
            Image.new("L", (8, 8), value + i).save(tmp_path / label / f"{i}.png")
    data = load({"source": "images", "path": str(tmp_path), "validation_split": 0.4}, tmp_path)
    view.set_dataset(data)
    report = classification_report(data.y_val, np.eye(2)[np.zeros(data.n_val, dtype=int)], data.classes)
    view.show_report(report)
    rows = view.show_cell(1, 0)
    assert len(rows) == int((data.y_val == 1).sum()) and view.samples_thumbs.count() == len(rows)
    assert view.samples.currentWidget() is view.samples_thumbs
    assert not view.samples_thumbs.item(0).icon().isNull()


def test_regression_report_draws_scatter_and_histogram(view, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3)).astype(np.float32)
    np.savez(tmp_path / "r.npz", X=X, y=(X.sum(axis=1) * 10 + 50).astype(np.float32))
    data = load({"source": "npz", "path": "r.npz", "task": "regression"}, tmp_path)
    view.set_dataset(data)
    assert view.tabs.isTabEnabled(1) and not view.tabs.isTabEnabled(0) and not view.tabs.isTabEnabled(2)
    report = regression_report([1.0, 2.0, 3.0, 4.0], [1.1, 2.2, 2.7, 4.0])
    view.show_report(report)
    assert f"R² {report.r2:.4f}" in view.regression_scores.text()
    scatter = view.scatter.getPlotItem().listDataItems()
    assert len(scatter[0].getData()[0]) == 4
    assert any(type(i).__name__ == "BarGraphItem" for i in view.histogram.getPlotItem().items)


def test_boundary_field_is_drawn_over_the_data_range(view, tmp_path):
    data = load({"source": "synthetic", "kind": "moons", "samples": 200}, tmp_path)
    view.set_dataset(data)
    assert view.tabs.isTabEnabled(2) and len(view.boundary_points) == 2
    field = np.zeros((len(view.grid.ys), len(view.grid.xs), 2))
    field[..., 1] = np.linspace(0, 1, len(view.grid.xs))[None, :]
    field[..., 0] = 1 - field[..., 1]
    view.show_field(field)
    rect = view.field_image.mapRectToParent(view.field_image.boundingRect())
    assert rect.left() == pytest.approx(view.grid.xs[0]) and rect.right() == pytest.approx(view.grid.xs[-1])
    assert view.field_image.image.shape == (len(view.grid.ys), len(view.grid.xs), 4)


def start_and_wait(qtbot, workflow, epochs=3, **training):
    workflow.training_panel.epochs.setValue(epochs)
    for key, value in training.items():
        getattr(workflow.training_panel, key).setValue(value)
    finished = []
    workflow.controller.run_finished.connect(finished.append)
    with qtbot.waitSignal(workflow.controller.idle, timeout=120000):
        assert workflow.start_training()
    return finished[-1]


@pytest.fixture
def moons_window(qtbot, window, tmp_path):
    workflow = window.workflow
    for spec in (S("Linear", out_features=16), S("ReLU"), S("Linear", out_features="auto")):
        window.design.insert_layers(len(window.design.stack), [spec])
    window.project.save(tmp_path / "moons.nsproj")
    with qtbot.waitSignal(workflow.data_panel.dataset_loaded, timeout=60000):
        workflow.data_panel.use_synthetic("moons", 300, 0.1)
    window.workflow.runs_panel.set_folder(workflow.runs_folder())
    return window


def test_training_feeds_the_boundary_and_the_report(qtbot, moons_window):
    workflow = moons_window.workflow
    fields, reports = [], []
    workflow.probes.field_ready.connect(fields.append)
    workflow.probes.report_ready.connect(reports.append)
    result = start_and_wait(qtbot, workflow)
    qtbot.waitUntil(lambda: len(reports) >= 1 and len(fields) >= 2, timeout=10000)
    assert fields[-1].shape[2] == 2 and workflow.evaluation.field_image.image is not None
    final = reports[-1]
    assert final.accuracy == pytest.approx(result.summary["val_accuracy"], abs=1e-6)
    assert workflow.evaluation.stack.currentWidget() is workflow.evaluation.page


def test_runs_table_overlay_compare_restore_and_delete(qtbot, moons_window, monkeypatch):
    window, workflow = moons_window, moons_window.workflow
    panel = workflow.runs_panel
    first = start_and_wait(qtbot, workflow, learning_rate=0.01)
    assert panel.model.rowCount() == 1 and panel.selected_runs()[0].path.as_posix() == first.run_dir
    window.design.set_param(0, "out_features", 8)
    second = start_and_wait(qtbot, workflow, learning_rate=0.05)
    assert panel.model.rowCount() == 2
    panel.select_rows([0, 1])
    shown = panel.curves_shown()
    names = {r.path.name for r in panel.selected_runs()}
    assert set(shown) == names and all(shown[n] == run_color(n) for n in names)
    assert panel.compare_button.isEnabled() and not panel.restore_button.isEnabled()
    dialog = panel.compare_selected()
    diff = dict((k, (a, b)) for k, a, b in dialog.diff)
    assert {k for k in diff} == {"training.learning_rate", "model.layers[0].params.out_features"}
    dialog.close()
    # Restore the first run's design: one undo step brings the 8 units back.
    older = next(r for r in panel.model.runs if r.path.as_posix() == first.run_dir)
    panel.select_rows([panel.model.runs.index(older)])
    qtbot.mouseClick(panel.restore_button, Qt.MouseButton.LeftButton)
    assert window.design.stack[0].params["out_features"] == 16
    window.design.undo_stack.undo()
    assert window.design.stack[0].params["out_features"] == 8
    qtbot.mouseClick(panel.settings_button, Qt.MouseButton.LeftButton)
    assert window.project.training["learning_rate"] == pytest.approx(0.01)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert panel.delete_selected() == 1
    assert panel.model.rowCount() == 1 and panel.model.runs[0].path.as_posix() == second.run_dir


def test_roc_and_pr_curves_with_a_threshold_that_moves_the_confusion_matrix(view, tmp_path):
    from netstudio.core.training.curves import average_precision, roc_auc

    data = load({"source": "synthetic", "kind": "moons", "samples": 200}, tmp_path)
    view.set_dataset(data)
    rng = np.random.default_rng(0)
    p1 = np.clip(data.y_val * 0.5 + rng.random(data.n_val) * 0.5, 0, 1)
    report = classification_report(data.y_val, np.column_stack([1 - p1, p1]), data.classes)
    view.show_report(report)
    assert view.tabs.isTabEnabled(3) and not view.threshold_row.isHidden()
    auc = roc_auc(data.y_val == 1, p1)
    assert f"ROC AUC {auc:.3f}" in view.curve_areas.text()
    assert f"average precision {average_precision(data.y_val == 1, p1):.3f}" in view.curve_areas.text()
    legend = [label.text for _, label in view.roc.plotItem.legend.items]
    assert legend == [f"{data.classes[1]} (AUC {auc:.3f})"]
    view.threshold.setValue(80)
    expected = report.at_threshold(0.8).matrix
    model = view.confusion_model
    assert [[int(model.data(model.index(r, c))) for c in range(2)] for r in range(2)] == expected.tolist()
    assert "at threshold 0.80" in view.accuracy.text()
    (tn, fp), (fn, tp) = expected.tolist()
    assert view.threshold_counts.text() == f"TP {tp:,}  FP {fp:,}  FN {fn:,}  TN {tn:,}"
    x, y = view.threshold_marks[0].getData()
    assert (x[0], y[0]) == (pytest.approx(fp / (fp + tn)), pytest.approx(tp / (tp + fn)))
    rows = view.show_cell(1, 0)  # the positives missed at 0.80
    assert list(rows) == list(np.flatnonzero((data.y_val == 1) & (p1 < 0.8)))


def test_multiclass_gets_one_curve_per_class_and_no_threshold(view, tmp_path):
    data = load({"source": "synthetic", "kind": "gaussians", "samples": 90, "classes": 3}, tmp_path)
    view.set_dataset(data)
    probs = np.eye(3)[data.y_val] * 0.6 + 0.4 / 3
    view.show_report(classification_report(data.y_val, probs, data.classes))
    assert view.threshold_row.isHidden() and "each class against the rest" in view.curve_areas.text()
    assert [label.text for _, label in view.roc.plotItem.legend.items] == [f"{c} (AUC 1.000)" for c in data.classes]
