"""Starting the application: the QApplication, the main window, and a background device probe.

The window appears before PyTorch is imported: shape inference is pure Python. Once the event
loop runs, a daemon thread imports PyTorch (so that Train later starts at once) and reports the
training device to the status bar.
"""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from netstudio import __version__
from netstudio.core.project import Project
from netstudio.ui.icons import app_icon
from netstudio.ui.settings import APPLICATION, ORGANIZATION


def create_application(argv: list[str] | None = None) -> QApplication:
    """The running QApplication, created with NetStudio's names and icon if there is none yet."""
    app = QApplication.instance()
    if app is None:
        QApplication.setOrganizationName(ORGANIZATION)
        QApplication.setApplicationName(APPLICATION)
        QApplication.setApplicationDisplayName(APPLICATION)
        QApplication.setApplicationVersion(__version__)
        QApplication.setDesktopFileName("netstudio")
        app = QApplication(argv if argv is not None else [sys.argv[0]])
        app.setWindowIcon(app_icon())
    from netstudio.ui import gc_guard

    gc_guard.install()  # reference cycles holding Qt objects are freed in this thread only
    return app


def launch(project: Project | None = None):
    """Create the application and show the main window with *project*; returns ``(app, window)``."""
    app = create_application()
    from netstudio.ui.window.main_window import MainWindow

    window = MainWindow(project)
    if project is None:  # a launch without a project: samples, templates, recent projects, own files
        window.show_start_page()
    window.show()
    return app, window


class DeviceProbe(QObject):
    """Imports PyTorch on a daemon thread and says which device training would use.

    Signals
    -------
    found(str, str)
        (short device text, longer tooltip), emitted once from the probe thread (queued to the GUI).
    """

    found = Signal(str, str)

    def start(self, setting: str = "auto") -> None:
        threading.Thread(target=self._run, args=(setting,), name="netstudio-device-probe", daemon=True).start()

    def _run(self, setting: str) -> None:
        try:
            text, tip = describe_device(setting)
        except Exception as exc:  # a broken PyTorch install must not take the designer down
            text, tip = "unavailable", f"PyTorch could not be loaded: {exc}"
        self.found.emit(text, tip)


def describe_device(setting: str = "auto") -> tuple[str, str]:
    """What *setting* (``auto``, ``cpu``, ``cuda:N``, ``mps``) means on this machine (imports PyTorch)."""
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    found = [f"CUDA: {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())] if cuda else []
    found += ["Apple MPS"] if mps else []
    tip = f"PyTorch {torch.__version__}; GPUs: {', '.join(found) if found else 'none, training runs on the CPU'}"
    if setting != "auto":
        return setting, tip
    if cuda:
        return f"auto → CUDA ({torch.cuda.get_device_name(0)})", tip
    return ("auto → MPS", tip) if mps else ("auto → CPU", tip)


def run(project: Project | None = None) -> int:
    """Show the designer (with *project*, already loaded) and run until the window closes."""
    app, window = launch(project)
    if project is not None and project.path is not None:
        window.settings.add_recent(project.path)
    from netstudio.ui.recovery import install_safety_net

    # autosave, the global exception handler, and the offer to recover a design a crash left unsaved
    window.safety_net = autosaver, handler = install_safety_net(window, project.path if project else None)
    app.aboutToQuit.connect(handler.uninstall)
    probe = DeviceProbe(window)
    probe.found.connect(window.set_device)
    probe.found.connect(window.workflow.on_devices_found)
    QTimer.singleShot(300, lambda: probe.start(window.project.training.get("device", "auto")))
    return app.exec()
