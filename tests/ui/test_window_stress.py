"""The window under stress: Start/Stop fifty times in a row, and closing it while it trains, loads
data or exports. Each time the threads end and are joined, the window returns to idle, and nothing on
disk is lost or left half-written (folders are hashed before and after, as in tests/reliability).
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from netstudio.ui.tasks import TaskRunner, running_threads
from netstudio.ui.training.export_dialog import ExportDialog
from tests.reliability.conftest import assert_nothing_lost, snapshot, tally
from tests.ui.test_workflow import open_with_data, train

CYCLES = 50
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def iris_project(tmp_path):
    """The iris sample in a folder of its own (the window's settings file lies beside that folder)."""
    folder = tmp_path / "work"
    folder.mkdir()
    for name in ("iris.nsproj", "iris.csv"):
        shutil.copy(REPO / "samples" / name, folder / name)
    return folder / "iris.nsproj"


def assert_idle(window, workflow):
    panel = workflow.training_panel
    assert not workflow.controller.is_running and running_threads() == []
    assert panel.train_button.isEnabled() and not panel.stop_button.isEnabled() and not panel.pause_button.isEnabled()
    assert workflow.start.isEnabled() and not workflow.stop.isEnabled()
    assert not window.lock_banner.isVisible() and window.stack_editor.view.isEnabled()
    assert window.layer_palette.isEnabled() and window.design.undo_stack.isActive()


def test_start_and_stop_fifty_times_in_a_row(qtbot, window, iris_project, monkeypatch):
    """Half the stops come at once (before the first batch), half once progress has been shown."""
    # Each stopped run is saved; the model files (.pt2 and ONNX, over half a second each) are left
    # out of these fifty, which are about the window's threads. Training, continuing and exporting
    # write them in test_workflow.py.
    monkeypatch.setattr("netstudio.core.export.exporter.write_run_models", lambda session, summary, folder: [])
    workflow = open_with_data(qtbot, window, iris_project)
    panel, controller = workflow.training_panel, workflow.controller
    panel.epochs.setValue(100000)  # a training setting: the project is now modified, the layers are not
    design, modified = window.design.stack.to_config(), window.design.modified
    project_file = iris_project.read_bytes()
    results = []
    controller.run_finished.connect(results.append)
    failures, progress = [], []
    controller.run_failed.connect(failures.append)
    controller.progressed.connect(progress.append)

    for cycle in range(CYCLES):
        progress.clear()
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
        assert controller.is_running and panel.stop_button.isEnabled(), f"cycle {cycle} did not start"
        if cycle % 2:
            qtbot.waitUntil(lambda: bool(progress), timeout=30000)
        with qtbot.waitSignal(controller.idle, timeout=30000):
            qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
        assert len(results) == cycle + 1 and results[-1].status == "stopped", (cycle, results[-1:])
        assert_idle(window, workflow)
        assert window.design.stack.to_config() == design and window.design.modified == modified

    assert failures == []
    assert all(r.summary["epochs_run"] < 100000 and r.run_dir for r in results)
    runs = sorted(Path(r.run_dir) for r in results)
    assert len(set(runs)) == CYCLES and all(p.parent == iris_project.parent / "runs" for p in runs)
    assert sorted((iris_project.parent / "runs").iterdir()) == runs, "a half-written run folder was left"
    assert all((p / "summary.json").is_file() and (p / "weights.safetensors").is_file() for p in runs)
    assert iris_project.read_bytes() == project_file


def test_closing_during_training_joins_it_and_keeps_every_file_whole(qtbot, window, iris_project, monkeypatch):
    workflow = open_with_data(qtbot, window, iris_project)
    folder = iris_project.parent
    before = snapshot(folder)
    asked = []

    def answer(parent, title, text, *args):
        asked.append(title)
        return QMessageBox.StandardButton.Yes if title == "Training Is Running" else QMessageBox.StandardButton.Discard

    monkeypatch.setattr(QMessageBox, "question", answer)
    workflow.training_panel.epochs.setValue(100000)
    results = []
    workflow.controller.run_finished.connect(results.append)
    with qtbot.waitSignal(workflow.controller.progressed, timeout=60000):
        workflow.start_training()
    assert window.close()
    tally("faults")
    assert asked == ["Training Is Running", "Unsaved Changes"]  # (the epochs were changed)
    assert running_threads() == [] and not workflow.controller.is_running
    qtbot.wait(50)  # the run's result is a queued signal
    [result] = results
    run = Path(result.run_dir)
    assert result.status == "stopped" and run.parent == folder / "runs"
    assert {"model.pt2", "weights.safetensors", "summary.json", "metrics.csv", "project.nsproj"} <= \
        {p.name for p in run.iterdir()}
    assert json.loads((run / "summary.json").read_text())["epochs_run"] == result.summary["epochs_run"]
    assert_nothing_lost(before, folder, new=("runs/iris-*/*",))


@pytest.fixture
def big_csv_project(tmp_path):
    """A project on a 30 MB CSV (640,000 rows): a load the window spends over a second on."""
    folder = tmp_path / "work"
    folder.mkdir()
    rng = np.random.default_rng(0)
    block = rng.normal(size=(20000, 6))
    labels = np.array(["a", "b", "c"])[rng.integers(0, 3, len(block))]
    lines = "".join(",".join(f"{v:.4f}" for v in row) + f",{label}\n" for row, label in zip(block, labels))
    with open(folder / "big.csv", "w", encoding="utf-8") as handle:
        handle.write("f1,f2,f3,f4,f5,f6,label\n")
        for _ in range(32):
            handle.write(lines)
    doc = json.loads((REPO / "samples" / "iris.nsproj").read_text())
    doc["data"] = {"source": "csv", "path": "big.csv", "target": "label"}
    (folder / "big.nsproj").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return folder / "big.nsproj"


def test_closing_while_the_data_loads_cancels_the_load(qtbot, window, big_csv_project):
    folder = big_csv_project.parent
    before = snapshot(folder)
    panel = window.workflow.data_panel
    loaded, failed = [], []
    panel.dataset_loaded.connect(loaded.append)
    panel.runner.task_failed.connect(failed.append)
    with qtbot.waitSignal(panel.runner.progressed, timeout=60000):  # the file is parsed, the data not ready
        assert window.open_project(big_csv_project)
    assert panel.is_loading and panel.runner.is_running
    started = time.perf_counter()
    assert window.close()
    closed_in = time.perf_counter() - started
    tally("faults")
    assert running_threads() == [] and not panel.runner.is_running
    qtbot.wait(50)
    assert loaded == [] and failed == ["cancelled"] and panel.dataset is None, (loaded, failed, closed_in)
    assert_nothing_lost(before, folder)


def test_closing_during_an_export_finishes_the_file_being_written_and_nothing_else(qtbot, window, iris_project,
                                                                                 monkeypatch):
    workflow = open_with_data(qtbot, window, iris_project)
    finished = []
    workflow.controller.run_finished.connect(finished.append)
    train(qtbot, workflow, epochs=1)
    folder = iris_project.parent
    before = snapshot(folder)
    out = folder / "exports"
    dialog = ExportDialog(finished[0].run_dir, window)
    dialog.folder.setText(str(out))
    wanted = ["pt2", "torchscript", "onnx", "safetensors", "python"]
    for i in range(dialog.formats.count()):
        item = dialog.formats.item(i)
        item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in wanted
                           else Qt.CheckState.Unchecked)
    targets = dict(dialog.targets())
    # The first file is written once the window's close has cancelled the export, so that the
    # close surely comes mid-export (it did not always, on a busy machine, with all five quick).
    import netstudio.core.export.exporter as export_module

    real_export, cancel, cancelled = export_module.export_run, dialog.runner.cancel, threading.Event()
    monkeypatch.setattr(dialog.runner, "cancel", lambda: (cancel(), cancelled.set()))

    def export_once_cancelled(*args, **kwargs):
        assert cancelled.wait(60), "the window's close never cancelled the export"
        return real_export(*args, **kwargs)

    monkeypatch.setattr(export_module, "export_run", export_once_cancelled)
    dialog.show()
    with qtbot.waitSignal(dialog.runner.progressed, timeout=60000):
        assert dialog.start()
    assert dialog.runner in window.findChildren(TaskRunner) and dialog.runner.is_running
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Discard)  # (the epochs)
    assert window.close()
    tally("faults")
    assert running_threads() == [] and not dialog.runner.is_running
    first = dialog.chosen_formats()[0]
    assert sorted(p.name for p in out.iterdir()) == [targets[first].name], "the file being written, and no other"
    if first == "pt2":
        from netstudio.core.export.safe_load import load_model_file

        load_model_file(targets["pt2"])  # whole, with its metadata
    assert_nothing_lost(before, folder, new=("exports/*",))


WORKERS_AND_CONNECTS = r"""
import sys
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication
from netstudio.ui.tasks import TaskRunner

app = QApplication([])
TASKS = int(sys.argv[1])


class Node(QObject):
    ping = Signal()


runner, finished, kept = TaskRunner(), [0], []


def on_success(_):  # the GUI thread, holding the GIL, takes Qt's signal-slot locks again and again
    nodes = [Node() for _ in range(200)]
    for a, b in zip(nodes, nodes[1:]):
        a.ping.connect(b.ping)
    kept[:] = nodes


def on_idle():
    finished[0] += 1
    if finished[0] == TASKS:
        app.quit()
    else:
        runner.start(lambda progress, cancelled: 1)


runner.succeeded.connect(on_success)
runner.idle.connect(on_idle)
runner.start(lambda progress, cancelled: 1)
app.exec()
print("finished", finished[0])
"""


def test_short_tasks_while_the_window_connects_signals_never_deadlock(tmp_path):
    """Each task's end and the GUI thread's connect() race for Qt's signal-slot locks. While workers
    were destroyed in their own threads, this froze for good within the first 200 tasks (six tries
    of six); see netstudio/ui/tasks.py, Worker. Run in a child process, so a hang fails this test
    instead of stopping the suite."""
    script = tmp_path / "workers_and_connects.py"
    script.write_text(WORKERS_AND_CONNECTS, encoding="utf-8")
    try:
        done = subprocess.run([sys.executable, str(script), "1000"], capture_output=True, text=True, timeout=120,
                              cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    except subprocess.TimeoutExpired:
        pytest.fail("1000 short tasks did not finish in 120 s: the window deadlocked")
    assert done.returncode == 0 and "finished 1000" in done.stdout, done.stderr[-2000:]
