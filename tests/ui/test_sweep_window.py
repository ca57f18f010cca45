"""Sweeps in the window: Sweep This, running trials on the worker thread, Apply Best, Stop, close."""

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from netstudio.ui.tasks import running_threads
from netstudio.ui.widgets import sweep_menu

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def iris_project(tmp_path):
    for name in ("iris.nsproj", "iris.csv"):
        shutil.copy(REPO / "samples" / name, tmp_path / name)
    return tmp_path / "iris.nsproj"


def open_with_data(qtbot, window, path, epochs=3):
    workflow = window.workflow
    with qtbot.waitSignal(workflow.data_panel.dataset_loaded, timeout=60000):
        assert window.open_project(path)
    workflow.training_panel.epochs.setValue(epochs)
    return workflow


def sweep_this(widget, path, request):
    """Choose Sweep This in *widget*'s context menu, as a right-click shows it."""
    menu = sweep_menu(widget, path, request)
    [action] = [a for a in menu.actions() if a.objectName() == "sweepThisAction"]
    action.trigger()
    menu.deleteLater()


def add_two_parameters(window, workflow):
    panel = workflow.training_panel
    assert panel.learning_rate.property("sweepPath") == "training.learning_rate"
    sweep_this(panel.learning_rate, "training.learning_rate", panel.sweep_requested.emit)
    window.inspector.show_layer(0)
    label = window.inspector.form.labelForField(window.inspector.editors["out_features"])
    assert label.property("sweepPath") == "model.layers[0].params.out_features"
    sweep_this(label, label.property("sweepPath"), window.inspector.sweep_requested.emit)


def run_sweep(qtbot, workflow, trials):
    sweeps = workflow.sweeps
    sweeps.panel.trials.setValue(trials)
    with qtbot.waitSignal(sweeps.controller.idle, timeout=300000):
        qtbot.mouseClick(sweeps.panel.run_button, Qt.MouseButton.LeftButton)
    return sweeps


def test_sweep_this_adds_a_setting_with_a_range_around_its_value(qtbot, window, iris_project):
    workflow = open_with_data(qtbot, window, iris_project)
    sweeps = workflow.sweeps
    assert not sweeps.panel.run_button.isEnabled() and "Sweep This" in sweeps.panel.run_button.toolTip()
    add_two_parameters(window, workflow)
    parameters = window.project.extra["sweep"]["parameters"]
    assert parameters["training.learning_rate"] == {"type": "float", "low": 0.001, "high": 0.1, "log": True}
    assert parameters["model.layers[0].params.out_features"] == {"type": "int", "low": 8, "high": 32, "log": False,
                                                             "step": 1}
    assert sweeps.panel.parameters.rowCount() == 2 and window.design.modified
    assert sweeps.panel.parameters.item(1, 1).text() == "8 – 32"
    assert sweeps.panel.run_button.isEnabled()
    # a range typed in the table; a bad one is refused with a message and the old range kept
    item = sweeps.panel.parameters.item(1, 1)
    item.setText("4 – 16")
    assert window.project.extra["sweep"]["parameters"]["model.layers[0].params.out_features"]["high"] == 16
    sweeps.panel.parameters.item(1, 1).setText("16 – 4")
    assert "Range not changed" in sweeps.panel.status.text()
    assert window.project.extra["sweep"]["parameters"]["model.layers[0].params.out_features"]["low"] == 4
    assert window.save()
    saved = json.loads(iris_project.read_text(encoding="utf-8"))
    assert set(saved["sweep"]["parameters"]) == {"training.learning_rate", "model.layers[0].params.out_features"}
    # Delete in the table stops sweeping the selected setting (and removes no layer)
    sweeps.panel.parameters.selectRow(0)
    sweeps.panel.parameters.setFocus()
    qtbot.keyClick(sweeps.panel.parameters, Qt.Key.Key_Delete)
    assert list(window.project.extra["sweep"]["parameters"]) == ["model.layers[0].params.out_features"]
    assert len(window.design.stack) == 3


def test_a_sweep_runs_its_trials_ranks_them_and_apply_best_is_one_undo_step(qtbot, window, iris_project):
    workflow = open_with_data(qtbot, window, iris_project)
    add_two_parameters(window, workflow)
    locked, epochs = [], []
    sweeps = workflow.sweeps
    sweeps.controller.epoch_ended.connect(lambda n, m: (epochs.append(n), locked.append(window.lock_banner.isVisible())))
    run_sweep(qtbot, workflow, trials=4)
    assert running_threads() == []
    ranked = sweeps.panel.ranked
    assert len(ranked) == 4 and sweeps.panel.table.rowCount() == 4
    assert locked and all(locked) and not window.lock_banner.isVisible()
    assert sorted(set(epochs)) == [0, 1, 2, 3]
    best = ranked[0]
    assert best.state == "COMPLETE" and all(r.value >= best.value for r in ranked if r.state == "COMPLETE")
    assert sweeps.panel.table.item(0, 1).text() == str(best.number)
    assert len(sweeps.panel.parallel.lines) == sum(r.state != "FAIL" for r in ranked)
    assert sweeps.panel.views.currentWidget() is sweeps.panel.parallel
    assert "Sweep finished: 4 trials" in sweeps.panel.status.text()
    # each trial is a run in Runs, marked with its trial number
    runs = sorted((iris_project.parent / "runs").iterdir())
    assert len(runs) == 4 and workflow.runs_panel.model.rowCount() == 4
    assert sorted(json.loads((r / "summary.json").read_text())["trial"] for r in runs) == [0, 1, 2, 3]
    # Apply Best: both values in, one undo step takes both back
    before_lr = window.project.training["learning_rate"]
    before_width = window.design.stack[0].params["out_features"]
    assert sweeps.panel.apply_button.isEnabled()
    qtbot.mouseClick(sweeps.panel.apply_button, Qt.MouseButton.LeftButton)
    assert window.project.training["learning_rate"] == best.params["training.learning_rate"]
    assert workflow.training_panel.learning_rate.value() == pytest.approx(best.params["training.learning_rate"], abs=1e-6)
    assert window.design.stack[0].params["out_features"] == best.params["model.layers[0].params.out_features"]
    window.design.undo_stack.undo()
    assert window.project.training["learning_rate"] == before_lr
    assert window.design.stack[0].params["out_features"] == before_width
    window.design.undo_stack.redo()
    assert window.design.stack[0].params["out_features"] == best.params["model.layers[0].params.out_features"]


def test_stop_during_a_sweep_leaves_no_thread_running(qtbot, window, iris_project):
    workflow = open_with_data(qtbot, window, iris_project, epochs=100000)
    add_two_parameters(window, workflow)
    sweeps = workflow.sweeps
    sweeps.panel.trials.setValue(50)
    with qtbot.waitSignal(sweeps.controller.epoch_ended, timeout=60000):
        qtbot.mouseClick(sweeps.panel.run_button, Qt.MouseButton.LeftButton)
    assert sweeps.panel.stop_button.isEnabled() and not workflow.start.isEnabled()
    with qtbot.waitSignal(sweeps.controller.idle, timeout=60000):
        qtbot.mouseClick(sweeps.panel.stop_button, Qt.MouseButton.LeftButton)
    assert running_threads() == [] and not sweeps.is_running
    assert len(sweeps.panel.ranked) == 1 and sweeps.panel.ranked[0].state == "FAIL"
    assert "stopped" in sweeps.panel.ranked[0].reason and "Sweep stopped" in sweeps.panel.status.text()
    assert workflow.training_panel.isEnabled() and workflow.start.isEnabled()


def test_closing_mid_sweep_asks_then_stops_and_joins(qtbot, window, iris_project, monkeypatch):
    workflow = open_with_data(qtbot, window, iris_project, epochs=100000)
    add_two_parameters(window, workflow)
    asked = []

    def answer(parent, title, text, *args, **kwargs):
        asked.append(text)
        return QMessageBox.StandardButton.Yes if "sweep is going" in text else QMessageBox.StandardButton.Discard

    monkeypatch.setattr(QMessageBox, "question", answer)
    with qtbot.waitSignal(workflow.sweeps.controller.epoch_ended, timeout=60000):
        workflow.sweeps.start()
    assert window.close()
    assert "sweep is going" in asked[0]
    assert running_threads() == [] and not workflow.sweeps.is_running
