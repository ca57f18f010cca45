"""Training on a worker thread: real PyTorch runs driven through the Qt controller."""

import dataclasses
import json
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt

from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.project import Project
from netstudio.core.training.session import prepare_session
from netstudio.core.training.states import EpochMetrics, FitStart
from netstudio.ui import tasks as tasks_module
from netstudio.ui.tasks import TaskRunner, running_threads
from netstudio.ui.training.controller import TrainingController
from netstudio.ui.training.messages import RunFinished, RunProgress
from tests.pausing import watch_pause

S = LayerSpec.create


def session_for(tmp_path, epochs=2, samples=400, batch_size=16):
    project = Project(
        name="moons",
        data={"source": "synthetic", "kind": "moons", "samples": samples, "noise": 0.1},
        stack=LayerStack([S("Linear", out_features=16), S("ReLU"), S("Linear", out_features="auto")]),
        path=tmp_path / "moons.nsproj",
    )
    project.training.update(epochs=epochs, batch_size=batch_size, device="cpu")
    return prepare_session(project)


@pytest.fixture
def controller(qtbot):
    c = TrainingController()
    yield c
    c.shutdown()


def steps_in(progress) -> int:
    return 0 if progress.step_loss is None else len(progress.step_loss)


def collect(controller):
    seen = {"progress": [], "started": [], "finished": [], "failed": []}
    controller.progressed.connect(seen["progress"].append)
    controller.run_started.connect(seen["started"].append)
    controller.run_finished.connect(seen["finished"].append)
    controller.run_failed.connect(seen["failed"].append)
    return seen


def test_two_epochs_finish_in_order_and_save_the_run(qtbot, controller, tmp_path):
    session = session_for(tmp_path, epochs=2)
    seen = collect(controller)
    with qtbot.waitSignals([controller.run_started, controller.run_finished, controller.idle], order="strict", timeout=60000):
        assert controller.start(session, out_dir=lambda: str(tmp_path / "run"))
    assert not controller.is_running and running_threads() == []
    # What crossed the thread: frozen dataclasses, not dicts
    assert isinstance(seen["started"][0], FitStart) and isinstance(seen["finished"][0], RunFinished)
    assert all(isinstance(p, RunProgress) for p in seen["progress"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        seen["finished"][0].run_dir = None
    epochs = [row for p in seen["progress"] for row in p.epochs]
    assert all(isinstance(row, EpochMetrics) for row in epochs)
    assert [row.epoch for row in epochs] == [1, 2]
    steps = sum(steps_in(p) for p in seen["progress"])
    assert steps == 2 * seen["started"][0].steps_per_epoch
    result = seen["finished"][0]
    assert result.status == "completed" and Path(result.run_dir) == tmp_path / "run"
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["epochs_run"] == 2
    assert seen["failed"] == []


def test_only_one_run_at_a_time(qtbot, controller, tmp_path):
    session = session_for(tmp_path, epochs=500)
    with qtbot.waitSignal(controller.idle, timeout=60000):
        assert controller.start(session, out_dir=lambda: str(tmp_path / "a"))
        assert not controller.start(session_for(tmp_path), out_dir=lambda: str(tmp_path / "b"))
        controller.stop()


def test_stop_mid_run_gives_a_partial_run(qtbot, controller, tmp_path):
    seen = collect(controller)
    controller.progressed.connect(lambda p: controller.stop())
    with qtbot.waitSignal(controller.idle, timeout=60000):
        controller.start(session_for(tmp_path, epochs=5000), out_dir=lambda: str(tmp_path / "s"))
    result = seen["finished"][0]
    assert result.status == "stopped" and result.summary["epochs_run"] < 5000
    assert (tmp_path / "s" / "weights.safetensors").is_file()


def test_pause_and_resume(qtbot, controller, tmp_path):
    seen = collect(controller)
    first = []

    def pause_once(payload):
        if not first:
            first.append(payload)
            controller.pause()

    controller.progressed.connect(pause_once)
    session = session_for(tmp_path, epochs=60, samples=2000, batch_size=8)
    held = watch_pause(session.trainer)
    with qtbot.waitSignal(controller.paused_changed, timeout=60000):
        controller.start(session, out_dir=lambda: str(tmp_path / "p"))
    assert controller.is_paused
    assert held.wait(30), "the pause never held the training thread"
    QCoreApplication.sendPostedEvents()  # what the worker sent before the pause held it
    count = sum(steps_in(p) for p in seen["progress"])
    assert held.is_set() and sum(steps_in(p) for p in seen["progress"]) == count, "no steps while paused"
    with qtbot.waitSignal(controller.idle, timeout=120000):
        controller.resume()
    assert seen["finished"][0].status == "completed"
    assert sum(steps_in(p) for p in seen["progress"]) > count


def test_signals_are_coalesced(qtbot, controller, tmp_path):
    seen = collect(controller)
    started = time.perf_counter()
    with qtbot.waitSignal(controller.idle, timeout=120000):
        controller.start(session_for(tmp_path, epochs=400, samples=200, batch_size=200), out_dir=lambda: str(tmp_path / "c"))
    seconds = time.perf_counter() - started
    epochs = [row.epoch for p in seen["progress"] for row in p.epochs]
    assert epochs == list(range(1, 401)), "every epoch arrives exactly once"
    assert len(seen["progress"]) <= 30 * seconds + 5


def test_continue_training_n_more_epochs(qtbot, controller, tmp_path):
    seen = collect(controller)
    with qtbot.waitSignal(controller.idle, timeout=60000):
        controller.start(session_for(tmp_path, epochs=2), out_dir=lambda: str(tmp_path / "1"))
    assert controller.can_continue()
    with qtbot.waitSignal(controller.idle, timeout=60000):
        assert controller.continue_training(3, out_dir=lambda: str(tmp_path / "2"))
    epochs = [row.epoch for p in seen["progress"] for row in p.epochs]
    assert epochs == [1, 2, 3, 4, 5]
    assert json.loads((tmp_path / "2" / "summary.json").read_text())["epochs_run"] == 5


def test_shutdown_mid_run_joins_the_thread(qtbot, tmp_path):
    controller = TrainingController()
    with qtbot.waitSignal(controller.progressed, timeout=60000):
        controller.start(session_for(tmp_path, epochs=100000), out_dir=lambda: str(tmp_path / "x"))
    assert controller.shutdown(30000)
    assert running_threads() == []


def test_a_failing_run_reports_one_line(qtbot, controller, tmp_path):
    seen = collect(controller)
    session = session_for(tmp_path)
    out = tmp_path / "full"
    out.mkdir()
    (out / "x").write_text("occupied")
    with qtbot.waitSignal(controller.idle, timeout=60000):
        controller.start(session, out_dir=lambda: str(out))
    result = seen["finished"][0]
    assert result.run_dir is None and "not empty" in result.save_error


def test_task_runner_success_failure_and_cancel(qtbot):
    runner = TaskRunner()
    got = []
    runner.succeeded.connect(got.append)
    runner.task_failed.connect(got.append)
    with qtbot.waitSignal(runner.idle, timeout=10000):
        runner.start(lambda progress, cancelled: (progress(1, 1), 42)[1])
    with qtbot.waitSignal(runner.idle, timeout=10000):
        runner.start(lambda progress, cancelled: 1 / 0)

    release = threading.Event()

    def slow(progress, cancelled):
        release.wait(10)  # a long task: it ends once the test has cancelled it

    with qtbot.waitSignal(runner.idle, timeout=10000):
        runner.start(slow)
        runner.cancel()
        release.set()
    assert got == [42, "internal error: ZeroDivisionError: division by zero", "cancelled"]


def test_training_on_the_cpu_leaves_a_core_to_the_window(qtbot, controller, tmp_path, monkeypatch):
    import torch

    from netstudio.core.training.states import Callback
    from netstudio.ui.training import worker

    class Threads(Callback):
        def on_fit_start(self, start):
            self.during = torch.get_num_threads()

    original = torch.get_num_threads()
    torch.set_num_threads(2)  # PyTorch takes every core by default: say there are two
    monkeypatch.setattr(worker, "available_cores", lambda: 2)
    try:
        probe = Threads()
        with qtbot.waitSignal(controller.idle, timeout=60000):
            assert controller.start(session_for(tmp_path, epochs=1), out_dir=lambda: str(tmp_path / "run"),
                                    callbacks=(probe,))
        assert probe.during == 1
        with worker.leave_a_core(torch.device("cpu")):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2, "PyTorch's setting is restored"
        with worker.leave_a_core(torch.device("meta")):  # another device: its own threads, untouched
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(original)


def test_workers_are_destroyed_in_the_gui_thread(qtbot, controller, tmp_path, monkeypatch):
    """A worker destroyed in its own thread deadlocked with the GUI thread now and then (~QObject
    holds Qt's lock and wants the GIL; see netstudio/ui/tasks.py, Worker)."""
    destroyed_in = []
    start_in_thread = tasks_module.start_in_thread

    def watched(worker, owner, on_finished):
        worker.destroyed.connect(lambda *_: destroyed_in.append(threading.current_thread().name),
                                 Qt.ConnectionType.DirectConnection)
        return start_in_thread(worker, owner, on_finished)

    monkeypatch.setattr("netstudio.ui.tasks.start_in_thread", watched)
    with qtbot.waitSignal(controller.idle, timeout=60000):
        assert controller.start(session_for(tmp_path, epochs=1), out_dir=lambda: str(tmp_path / "run"))
    runner = TaskRunner()
    with qtbot.waitSignal(runner.idle, timeout=10000):
        assert runner.start(lambda progress, cancelled: 42)
    with qtbot.waitSignal(runner.idle, timeout=10000):
        assert runner.start(lambda progress, cancelled: 1 / 0)
    qtbot.waitUntil(lambda: len(destroyed_in) == 3, timeout=5000)
    assert destroyed_in == ["MainThread"] * 3
