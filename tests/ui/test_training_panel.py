"""The training panel: the form edits the training section; buttons follow the run's state."""

import pytest
from PySide6.QtCore import Qt

from netstudio.core.training.devices import DeviceInfo
from netstudio.core.training.states import EpochMetrics, FitStart, FitStatus
from netstudio.ui.training.messages import Position, RunFinished, RunProgress
from netstudio.ui.training.panel import TrainingPanel, format_duration


@pytest.fixture
def panel(qtbot):
    widget = TrainingPanel()
    qtbot.addWidget(widget)
    return widget


def test_form_shows_and_edits_the_training_section(panel, qtbot):
    panel.set_config({"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 64, "epochs": 7,
                      "early_stopping": {"patience": 4}, "future_key": 1})
    assert panel.optimizer.currentData() == "sgd" and panel.momentum.isEnabled()
    assert panel.learning_rate.value() == pytest.approx(0.05) and panel.epochs.value() == 7
    assert panel.early.isChecked() and panel.patience.value() == 4
    with qtbot.waitSignal(panel.config_changed) as blocker:
        panel.batch_size.setValue(128)
    config = blocker.args[0]
    assert config["batch_size"] == 128 and config["future_key"] == 1 and config["epochs"] == 7
    with qtbot.waitSignal(panel.config_changed) as blocker:
        panel.early.setChecked(False)
    assert blocker.args[0]["early_stopping"]["patience"] is None
    with qtbot.waitSignal(panel.config_changed):
        panel.optimizer.setCurrentIndex(panel.optimizer.findData("adam"))
    assert not panel.momentum.isEnabled()


def test_buttons_follow_readiness_and_running(panel, qtbot):
    assert not panel.train_button.isEnabled() and "no data loaded" in panel.train_button.toolTip()
    panel.set_ready(None)
    assert panel.train_button.isEnabled() and not panel.stop_button.isEnabled()
    with qtbot.waitSignal(panel.start_requested):
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    panel.set_running(True)
    assert not panel.train_button.isEnabled() and panel.stop_button.isEnabled() and panel.pause_button.isEnabled()
    assert not panel.learning_rate.isEnabled(), "settings are locked during a run"
    with qtbot.waitSignal(panel.pause_requested) as blocker:
        qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [True]
    panel.set_paused(True)
    assert panel.pause_button.text() == "Resume"
    with qtbot.waitSignal(panel.stop_requested):
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    panel.set_running(False)
    panel.set_can_continue(True)
    assert panel.continue_button.isEnabled()
    panel.continue_epochs.setValue(4)
    with qtbot.waitSignal(panel.continue_requested) as blocker:
        qtbot.mouseClick(panel.continue_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [4]


def test_progress_and_log(panel):
    panel.run_started(FitStart(epochs=3, steps_per_epoch=10, n_train=80, n_val=20, device="cpu", parameters=61,
                               loss="bce_with_logits", first_epoch=1))
    epoch = EpochMetrics(epoch=1, train_loss=0.5, val_loss=0.4, values={"val_accuracy": 0.9}, learning_rate=0.01,
                         samples_per_second=1000.0, seconds=0.1, best_epoch=1)
    panel.show_progress(RunProgress(epochs=(epoch,), position=Position(
        epoch=2, step=5, steps_per_epoch=10, global_step=15, total_steps=30, eta_seconds=75, samples_per_second=1234.0)))
    assert panel.progress.value() == 500
    assert panel.progress.format() == "Epoch 2/3 · ETA 1:15"
    assert panel.progress.toolTip() == "Epoch 2/3 · ETA 1:15 · step 5/10 · 1,234 samples/s"
    assert "epoch    1  loss 0.5000  val 0.4000  accuracy 0.9000" in panel.log.toPlainText()
    panel.run_finished(RunFinished(FitStatus.COMPLETED, "", {"epochs_run": 3, "best_epoch": 2, "val_accuracy": 0.95},
                                   run_dir="/tmp/r"))
    assert panel.progress.format() == "Finished after 3 epochs"
    assert "best epoch 2: validation accuracy 0.9500" in panel.status.text()
    panel.run_failed("device cuda:1 is not available")
    assert "error: device cuda:1 is not available" in panel.log.toPlainText()


def test_devices_list_keeps_an_unknown_choice(panel):
    panel.set_config({"device": "cuda:1"})
    panel.set_devices([DeviceInfo("cpu", "CPU")])
    assert panel.device.currentData() == "cuda:1" and "not found" in panel.device.currentText()
    assert [panel.device.itemData(i) for i in range(panel.device.count())] == ["auto", "cpu", "cuda:1"]


def test_format_duration():
    assert format_duration(5) == "0:05" and format_duration(3725) == "1:02:05" and format_duration(float("inf")) == "–"


def test_the_widgets_ranges_and_choices_come_from_the_schema(panel):
    from netstudio.core.config import TrainConfig, settings

    spec = settings(TrainConfig)
    assert [panel.optimizer.itemData(i) for i in range(panel.optimizer.count())] == list(spec["optimizer"].choices)
    assert panel.loss.itemText(0) == spec["loss"].choices["auto"]
    assert panel.learning_rate.minimum() == pytest.approx(1e-6)  # > 0, one step of its 6 decimals
    assert panel.momentum.maximum() == pytest.approx(0.999)  # < 1, one step of its 3 decimals
    assert panel.batch_size.maximum() == spec["batch_size"].maximum
    assert panel.seed.maximum() == 2**31 - 1  # no bound of its own: as much as a QSpinBox holds
    assert panel.epochs.toolTip() == spec["epochs"].help
