"""The window under designs and data that made it crash, freeze or change a running design.

The review's cases: a design whose shape text is enormous (SIGSEGV in Qt's raster engine on an
8-million-pixel size hint), a project whose ``exclude`` lists a million names (the GUI thread
frozen for minutes on one warning per name), a CSV thousands of columns wide (frozen in
``resizeColumnsToContents``), and a sample loaded while a run trained (the locked design's input
shape changed mid-run).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.reliability.conftest import tally

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def count():
    tally("inputs")


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from netstudio.ui.settings import Settings
    from netstudio.ui.window.main_window import MainWindow

    monkeypatch.setattr("PySide6.QtWidgets.QMessageBox.exec", lambda *a: pytest.fail("a message box"))
    window = MainWindow(settings=Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    qtbot.addWidget(window, before_close_func=lambda w: w.design.mark_saved())
    window.show()
    return window


def test_no_other_data_is_loaded_while_a_run_trains(qtbot, window, tmp_path):
    """Data > Samples stayed live during a run: the shapes sample replaced iris under it."""
    for name in ("iris.nsproj", "iris.csv"):
        shutil.copy(REPO / "samples" / name, tmp_path / name)
    workflow = window.workflow
    with qtbot.waitSignal(workflow.data_panel.dataset_loaded, timeout=60000):
        assert window.open_project(tmp_path / "iris.nsproj")
    data = dict(window.project.data)
    workflow.training_panel.epochs.setValue(100000)
    with qtbot.waitSignal(workflow.controller.progressed, timeout=60000):
        qtbot.mouseClick(workflow.training_panel.train_button, Qt.MouseButton.LeftButton)
    try:
        workflow._fill_samples()
        shapes = [a for a in workflow.samples_menu.actions() if a.text() == "shapes"]
        assert shapes, [a.text() for a in workflow.samples_menu.actions()]
        shapes[0].trigger()  # what the menu does when it is clicked
        workflow.data_panel.reload()
        workflow.data_panel.use_synthetic("moons", 100, 0.1)
        assert not workflow.data_panel.is_loading
        assert window.project.data == data and window.design.input_shape == (4,)
        assert "Training is running" in window.statusBar().currentMessage()
    finally:
        with qtbot.waitSignal(workflow.controller.idle, timeout=60000):
            workflow.controller.stop()
    assert workflow.data_panel.isEnabled() and not workflow.data_panel.locked
