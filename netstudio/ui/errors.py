"""The window's last line of defence: an exception that no slot caught.

:class:`ExceptionHandler` replaces ``sys.excepthook`` (PySide6 hands it every exception a slot or
a Qt virtual method raises, in any thread) and ``threading.excepthook``. For each exception it:

1. appends the traceback to the log file, ``logs/netstudio.log`` in the application data folder
   (:func:`log_folder`; ``~/.local/share/NetStudio/NetStudio/logs`` on Linux), and to stderr;
2. in the GUI thread, saves the design to its recovery file (the ``on_error`` callback, the
   window's :class:`~netstudio.ui.recovery.Autosaver`), so that nothing is lost if worse follows;
3. shows a message box with one line: what went wrong and where the log is. The same error
   again within :data:`REPEAT_SECONDS` (a paint handler failing on every repaint) is only
   logged and shown in the status bar, so that the window stays usable.

The event loop goes on: the slot that failed is abandoned, the window stays usable. Ctrl+C
(KeyboardInterrupt) keeps its usual meaning.
"""

from __future__ import annotations

import datetime as _dt
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from netstudio import __version__
from netstudio.core.errors import NetStudioError, one_line
from netstudio.ui.settings import app_data_folder

#: The log is rotated (to netstudio.log.1) when it grows past this size.
MAX_LOG_BYTES = 1 << 20
#: An error that repeats within this many seconds gets no second message box.
REPEAT_SECONDS = 10.0


def log_folder() -> Path:
    """``logs/`` in the application data folder: where unexpected errors are written down."""
    return app_data_folder() / "logs"


def summary(exc: BaseException) -> str:
    """What went wrong, in one short line: ``ValueError: message`` (our own errors: the message)."""
    text = one_line(exc, limit=300)
    if isinstance(exc, NetStudioError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ExceptionHandler(QObject):
    """Logs, autosaves and reports uncaught exceptions (see the module docstring).

    Parameters
    ----------
    parent : QWidget, optional
        The window message boxes are shown over (and the handler's owner).
    log_dir : Path, optional
        Where ``netstudio.log`` goes (default: :func:`log_folder`).
    on_error : callable, optional
        Called in the GUI thread before the message box; returns a one-line note for it (such
        as where the design was saved) or None.

    Signals
    -------
    caught(str)
        What went wrong (:func:`summary`), emitted from any thread and delivered (queued) to the
        GUI thread, which reports it.
    reported(str)
        The message box was shown with this text, or (a repeat) the status bar (tests wait on it).
    """

    caught = Signal(str)
    reported = Signal(str)

    def __init__(self, parent: QWidget | None = None, log_dir: Path | None = None,
                 on_error: Callable[[], str | None] | None = None):
        super().__init__(parent)
        self.window = parent
        self.log_dir = Path(log_dir) if log_dir is not None else log_folder()
        self.on_error = on_error
        self.count = 0
        self._lock = threading.Lock()
        self._showing = False
        self._last_shown: tuple[str, float] | None = None
        self._previous: tuple | None = None
        self.caught.connect(self._report, Qt.ConnectionType.QueuedConnection)

    @property
    def log_path(self) -> Path:
        return self.log_dir / "netstudio.log"

    # -- installing ----------------------------------------------------------------------------------
    def install(self) -> ExceptionHandler:
        """Become ``sys.excepthook`` and ``threading.excepthook`` (until :meth:`uninstall`)."""
        if self._previous is None:
            self._previous = (sys.excepthook, threading.excepthook)
            sys.excepthook = self._on_exception
            threading.excepthook = self._on_thread_exception
        return self

    def uninstall(self) -> None:
        """Put back the hooks that were there before :meth:`install`."""
        if self._previous is not None:
            if sys.excepthook == self._on_exception:
                sys.excepthook = self._previous[0]
            if threading.excepthook == self._on_thread_exception:
                threading.excepthook = self._previous[1]
            self._previous = None

    # -- any thread ----------------------------------------------------------------------------------
    def _on_exception(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            (self._previous[0] if self._previous else sys.__excepthook__)(exc_type, exc, tb)
            return
        self.handle(exc if exc is not None else exc_type(), tb, threading.current_thread().name)

    def _on_thread_exception(self, args) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "a thread"
        self.handle(args.exc_value if args.exc_value is not None else args.exc_type(), args.exc_traceback, name)

    def handle(self, exc: BaseException, tb=None, thread: str = "MainThread") -> str:
        """Log *exc* and have the GUI thread report it; returns its one-line summary."""
        with self._lock:
            self.count += 1
        self._log(exc, tb, thread)
        what = summary(exc)
        try:
            self.caught.emit(what)
        except RuntimeError:  # the handler's Qt side is gone (the application is shutting down)
            pass
        return what

    def _log(self, exc: BaseException, tb, thread: str) -> bool:
        text = "".join(traceback.format_exception(type(exc), exc, tb if tb is not None else exc.__traceback__))
        stamp = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        entry = f"--- {stamp} NetStudio {__version__}, Python {sys.version.split()[0]}, thread {thread}\n{text}\n"
        if sys.__stderr__ is not None:  # someone who started NetStudio from a terminal sees it there too
            try:
                sys.__stderr__.write(entry)
                sys.__stderr__.flush()
            except (OSError, ValueError):
                pass
        with self._lock:
            try:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                if self.log_path.exists() and self.log_path.stat().st_size > MAX_LOG_BYTES:
                    self.log_path.replace(self.log_path.with_name(self.log_path.name + ".1"))
                # an append-only log: each entry is whole lines, and a crash mid-entry loses only it
                with open(self.log_path, "a", encoding="utf-8") as handle:
                    handle.write(entry)
                return True
            except OSError:
                return False

    # -- GUI thread ----------------------------------------------------------------------------------
    @Slot(str)
    def _report(self, what: str) -> None:
        if self._showing:  # one box at a time: errors raised while it is open are logged only
            return
        self._showing = True
        try:
            note = None
            if self.on_error is not None:
                try:
                    note = self.on_error()
                except Exception as exc:  # the safety net must not fall through itself
                    self._log(exc, exc.__traceback__, "MainThread")
            where = (f"the details are in {self.log_path}" if self.log_path.exists()
                     else f"the log could not be written to {self.log_path}")
            text = f"Something went wrong: {what}. NetStudio keeps running; {where}." + (f" {note}" if note else "")
            now = time.monotonic()
            repeat = self._last_shown is not None and self._last_shown[0] == what and \
                now - self._last_shown[1] < REPEAT_SECONDS
            if repeat:
                if hasattr(self.window, "statusBar"):
                    self.window.statusBar().showMessage(f"Again: {what} (see {self.log_path})", 8000)
            else:
                QMessageBox.critical(self.window, "Unexpected Error", text)
                now = time.monotonic()  # the box was open meanwhile: count from its closing
            self._last_shown = (what, now)
            self.reported.emit(text)
        finally:
            self._showing = False


def install_exception_handler(window: QWidget | None = None, log_dir: Path | None = None,
                              on_error: Callable[[], str | None] | None = None) -> ExceptionHandler:
    """Create an :class:`ExceptionHandler` for *window* and install it."""
    return ExceptionHandler(window, log_dir, on_error).install()
