"""Fixtures for the designer's tests: settings under tmp_path, a design, a main window."""

import pytest
from PySide6.QtCore import QSettings

from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.ui.designer.design import Design
from netstudio.ui.settings import Settings


@pytest.fixture(autouse=True, scope="session")
def gui_thread_garbage_collection(qapp):
    """As in the app (create_application): reference cycles are collected in the GUI thread only.

    Without it, a worker thread that happened to run Python's collector on a closed window's
    pyqtgraph items deadlocked with the GUI thread now and then (see netstudio/ui/gc_guard.py).
    """
    from netstudio.ui import gc_guard

    return gc_guard.install()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Point every QSettings, and NetStudio's data folder (recovery files, logs, runs of unsaved
    projects), at temporary folders: no test touches the user's files or another test's, also
    when the tests run in parallel processes."""
    folder = tmp_path / "settings"
    folder.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    return folder


@pytest.fixture(autouse=True)
def no_unexpected_message_boxes(monkeypatch):
    """A modal dialog would hang an offscreen test: fail instead, unless the test patches it."""
    from PySide6.QtWidgets import QMessageBox

    def refuse(parent, title, text, *args, **kwargs):
        raise AssertionError(f"unexpected message box: {title}: {text}")

    for name in ("question", "critical", "warning", "information"):
        monkeypatch.setattr(QMessageBox, name, refuse)

    def refuse_exec(dialog, *args):
        raise AssertionError(f"unexpected modal dialog: {dialog.windowTitle()}")

    from PySide6.QtWidgets import QDialog

    monkeypatch.setattr(QDialog, "exec", refuse_exec)
    monkeypatch.setattr(QMessageBox, "exec", refuse_exec)


@pytest.fixture
def settings(tmp_path):
    """A Settings store in an INI file under tmp_path."""
    return Settings(QSettings(str(tmp_path / "netstudio.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def design(qapp):
    """A design of Linear(8) -> ReLU -> Linear(2) on 4 features."""
    stack = LayerStack([LayerSpec.create("Linear", out_features=8), LayerSpec.create("ReLU"),
                        LayerSpec.create("Linear", out_features=2)])
    return Design(stack, (4,))


@pytest.fixture
def window(qtbot, settings):
    """A shown main window with a fresh project; closing it never asks."""
    from netstudio.ui.window.main_window import MainWindow

    window = MainWindow(settings=settings)
    qtbot.addWidget(window, before_close_func=lambda w: w.design.mark_saved())  # teardown's close must not ask
    window.show()
    return window
