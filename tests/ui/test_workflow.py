"""Data and training in the window, end to end: load, train, watch, stop, close, export."""

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QMessageBox

from netstudio.core.training.trainer import Trainer
from netstudio.ui.tasks import running_threads
from netstudio.ui.training.export_dialog import ExportDialog
from tests.pausing import watch_pause

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def iris_project(tmp_path):
    """The iris sample copied to a temporary folder (its runs must not land in samples/)."""
    for name in ("iris.nsproj", "iris.csv"):
        shutil.copy(REPO / "samples" / name, tmp_path / name)
    return tmp_path / "iris.nsproj"


def open_with_data(qtbot, window, path):
    workflow = window.workflow
    with qtbot.waitSignal(workflow.data_panel.dataset_loaded, timeout=60000):
        assert window.open_project(path)
    return workflow


def train(qtbot, workflow, epochs=2, timeout=120000):
    workflow.training_panel.epochs.setValue(epochs)
    with qtbot.waitSignal(workflow.controller.idle, timeout=timeout):
        qtbot.mouseClick(workflow.training_panel.train_button, Qt.MouseButton.LeftButton)


def test_loading_a_sample_feeds_the_design(qtbot, window, iris_project):
    workflow = open_with_data(qtbot, window, iris_project)
    assert window.design.input_shape == (4,) and window.design.output_width == 3
    assert window.design.validation.output_shape == (3,)
    assert workflow.training_panel.train_button.isEnabled()
    assert workflow.start.isEnabled() and not workflow.export.isEnabled()


def test_loading_data_into_a_new_project_marks_it_modified(qtbot, window):
    workflow = window.workflow
    with qtbot.waitSignal(workflow.data_panel.dataset_loaded, timeout=60000):
        workflow.data_panel.use_synthetic("moons", 200, 0.1)
    assert window.project.data["source"] == "synthetic" and window.design.modified
    assert window.design.input_shape == (2,)
    assert not workflow.training_panel.train_button.isEnabled(), "an empty design cannot train"
    assert "no layers" in workflow.training_panel.train_button.toolTip()


def test_train_two_epochs_plot_holds_the_points_and_design_is_locked(qtbot, window, iris_project):
    workflow = open_with_data(qtbot, window, iris_project)
    locked = []
    workflow.controller.progressed.connect(lambda _p: locked.append(
        (window.lock_banner.isVisible(), window.stack_editor.view.isEnabled(), window.window_actions.undo.isEnabled())))
    finished = []
    workflow.controller.run_finished.connect(finished.append)
    train(qtbot, workflow, epochs=2)
    result = finished[0]
    assert result.status == "completed" and result.summary["epochs_run"] == 2
    steps = -(-result.summary["n_train"] // window.project.training["batch_size"])
    assert workflow.loss_plot.point_count() == 2 * steps
    assert [row["epoch"] for row in workflow.loss_plot.epochs] == [1, 2]
    assert locked and all(state == (True, False, False) for state in locked), "the design is locked while training"
    assert not window.lock_banner.isVisible() and window.stack_editor.view.isEnabled()
    run_dir = Path(result.run_dir)
    assert run_dir.parent == iris_project.parent / "runs" and (run_dir / "model.pt2").is_file()
    assert workflow.export.isEnabled() and workflow.continue_.isEnabled()
    assert "run saved to" in workflow.training_panel.log.toPlainText()
    assert running_threads() == []


def test_pause_resume_and_stop_from_the_panel(qtbot, window, iris_project, monkeypatch):
    held = []
    made = Trainer.__init__

    def watched(trainer, *args, **kwargs):
        made(trainer, *args, **kwargs)
        held.append(watch_pause(trainer))

    monkeypatch.setattr(Trainer, "__init__", watched)
    workflow = open_with_data(qtbot, window, iris_project)
    panel, controller = workflow.training_panel, workflow.controller
    panel.epochs.setValue(100000)
    with qtbot.waitSignal(controller.progressed, timeout=60000):
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(controller.paused_changed, timeout=10000):
        qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert controller.is_paused and panel.pause_button.text() == "Resume"
    assert held[-1].wait(30), "the pause never held the training thread"
    QCoreApplication.sendPostedEvents()  # progress sent just before the pause held the thread
    points = workflow.loss_plot.point_count()
    assert held[-1].is_set() and workflow.loss_plot.point_count() == points
    with qtbot.waitSignal(controller.paused_changed, timeout=10000):
        qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    results = []
    controller.run_finished.connect(results.append)
    with qtbot.waitSignal(controller.idle, timeout=60000):
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert results[0].status == "stopped" and results[0].summary["epochs_run"] < 100000


def test_closing_mid_run_asks_then_stops_and_joins(qtbot, window, iris_project, monkeypatch):
    workflow = open_with_data(qtbot, window, iris_project)
    asked = []

    def answer(parent, title, text, *args, **kwargs):
        asked.append(text)
        return QMessageBox.StandardButton.Yes if "training run" in text else QMessageBox.StandardButton.Discard

    monkeypatch.setattr(QMessageBox, "question", answer)
    workflow.training_panel.epochs.setValue(100000)
    with qtbot.waitSignal(workflow.controller.progressed, timeout=60000):
        workflow.start_training()
    assert window.close()
    assert "training run is going" in asked[0] and "not saved" in asked[1]
    assert running_threads() == [] and not workflow.controller.is_running


def test_closing_mid_run_can_be_refused(qtbot, window, iris_project, monkeypatch):
    workflow = open_with_data(qtbot, window, iris_project)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    workflow.training_panel.epochs.setValue(100000)
    with qtbot.waitSignal(workflow.controller.progressed, timeout=60000):
        workflow.start_training()
    assert not window.close() and workflow.controller.is_running
    with qtbot.waitSignal(workflow.controller.idle, timeout=60000):
        workflow.controller.stop()


def test_export_dialog_writes_the_files_and_reports_parity(qtbot, window, iris_project):
    workflow = open_with_data(qtbot, window, iris_project)
    finished = []
    workflow.controller.run_finished.connect(finished.append)
    train(qtbot, workflow, epochs=2)
    dialog = ExportDialog(finished[0].run_dir, window)
    qtbot.addWidget(dialog)
    for i in range(dialog.formats.count()):
        item = dialog.formats.item(i)
        wanted = item.data(Qt.ItemDataRole.UserRole) in ("torchscript", "python")
        item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
    with qtbot.waitSignal(dialog.runner.idle, timeout=120000):
        assert dialog.start()
    written = {name: result for name, result, error in dialog.results if error is None}
    assert set(written) == {"torchscript", "python"}, dialog.report.toPlainText()
    assert Path(written["torchscript"].path).is_file() and (Path(written["python"].path) / "model.py").is_file()
    assert "parity: max |Δ|" in dialog.report.toPlainText()
    assert written["torchscript"].parity_max_abs_diff <= 1e-4


def test_loss_mistakes_show_in_the_design_once_data_is_known(qtbot, window, iris_project):
    workflow = open_with_data(qtbot, window, iris_project)
    window.design.append_layer("Softmax")
    last = window.design.validation.layers[-1]
    assert last.has_error and "Softmax before CrossEntropyLoss" in last.issues[0].message
    assert last.issues[0].fix.op == "remove"
    assert not workflow.training_panel.train_button.isEnabled()
    window.design.apply_fix(len(window.design.stack) - 1, last.issues[0].fix)
    assert window.design.validation.valid and workflow.training_panel.train_button.isEnabled()


def test_a_bad_data_file_blocks_training_with_the_reason(qtbot, window, tmp_path):
    (tmp_path / "broken.csv").write_bytes(b"\x00\x01\x02binary\xff\xfe")
    workflow = window.workflow
    with qtbot.waitSignal(workflow.data_panel.dataset_failed, timeout=30000):
        workflow.data_panel.open_path(tmp_path / "broken.csv")
    assert "could not be loaded" in workflow.ready_reason()
