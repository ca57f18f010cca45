"""Never losing a design: autosave to a recovery file, and recovery on the next launch.

While the window has unsaved changes, :class:`Autosaver` writes the whole project document (layers,
input shape, data and training settings) to a recovery file every minute (``interval_ms``) and
whenever something goes wrong (the exception handler calls :meth:`Autosaver.error_note`). Writes
are atomic: a crash mid-write leaves the previous recovery file. Saving or discarding the design,
and a clean close, delete the file.

Recovery files live in ``recovery/`` in the application data folder (:func:`recovery_folder`;
``~/.local/share/NetStudio/NetStudio/recovery`` on Linux), one per running NetStudio:
``<project>-<hash of its path>-<process id>.nsproj`` (an untitled design's is
``untitled-<process id>.nsproj``). Each is an ordinary project document with one more top-level
key, ``"recovery"``: the project file it belongs to (or null), the writer's process id and when it
was written, so it also opens by hand as a project. A running NetStudio holds
``instance-<process id>.lock`` (a QLockFile) beside its recovery file, so that another NetStudio
started meanwhile never offers, or deletes, the changes of one that is still running.

On launch, :func:`offer_recovery` looks for a recovery file that no running NetStudio owns and that
is newer than the project it belongs to (for the project being opened, or any when none is) and
asks whether to recover it: Yes loads it into the window as an unsaved change of that project
(saving writes that project file); No deletes it. Opening a project later (File > Open, a recent
file) asks the same about that project's recovery file, if there is one.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QMessageBox

from netstudio import __version__
from netstudio.core.errors import ProjectError
from netstudio.core.fileio import atomic_write_text
from netstudio.core.project import MAX_PROJECT_BYTES, Project, project_from_json, store_input_shape
from netstudio.core.strings import slug
from netstudio.ui.settings import app_data_folder

#: Default autosave interval: once a minute.
INTERVAL_MS = 60_000
RECOVERY_KEY = "recovery"


def recovery_folder() -> Path:
    return app_data_folder() / "recovery"


def _key(path: str | os.PathLike) -> str:
    """One spelling per file (``a/../b``, symbolic links and case folding aside), for comparing."""
    return os.path.normcase(os.path.realpath(os.fspath(path)))


def recovery_name(project_path: str | os.PathLike | None, pid: int | None = None) -> str:
    """The recovery file's name for a project file (None: an untitled design) in process *pid*."""
    pid = os.getpid() if pid is None else pid
    if project_path is None:
        return f"untitled-{pid}.nsproj"
    digest = hashlib.sha1(_key(project_path).encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{slug(Path(project_path).stem)}-{digest}-{pid}.nsproj"


# ------------------------------------------------------------------------------------------------
# Which NetStudio is running: a lock file per process, beside the recovery files

_instance_locks: dict[str, QLockFile] = {}


def _lock_path(folder: Path, pid: int) -> Path:
    return Path(folder) / f"instance-{pid}.lock"


def _hold_instance_lock(folder: Path) -> None:
    """Mark this process as running (until it ends) for NetStudios looking in *folder*."""
    path = str(_lock_path(folder, os.getpid()))
    if path in _instance_locks:
        return
    lock = QLockFile(path)
    lock.setStaleLockTime(0)  # only a dead process makes it stale, never its age
    if not lock.tryLock(0):
        # Left by a crashed process that had our process id (a container's launches often do):
        # it is ours now.
        ok, pid, _host, _app = lock.getLockInfo()
        if not (ok and pid == os.getpid() and lock.removeStaleLockFile() and lock.tryLock(0)):
            return  # cannot tell others we run: at worst another NetStudio offers our file too
    _instance_locks[path] = lock


def running_elsewhere(folder: Path, pid: object) -> bool:
    """Whether another NetStudio that is still running wrote recovery files in *folder* as *pid*."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or pid == os.getpid():
        return False
    lock = QLockFile(str(_lock_path(folder, pid)))
    lock.setStaleLockTime(0)
    if lock.tryLock(0):  # nobody held it (or a dead process did): drop it again
        lock.unlock()
        return False
    return lock.error() == QLockFile.LockError.LockFailedError


class Autosaver(QObject):
    """Keeps the window's design in a recovery file while it has unsaved changes.

    Parameters
    ----------
    window : MainWindow
    folder : Path, optional
        Where recovery files go (default: :func:`recovery_folder`).
    interval_ms : int
        How often to write while there are unsaved changes.

    Signals
    -------
    saved(str)
        A recovery file was written (its path).
    discarded(str)
        A recovery file was deleted (its path).
    """

    saved = Signal(str)
    discarded = Signal(str)

    def __init__(self, window, folder: Path | None = None, interval_ms: int = INTERVAL_MS):
        super().__init__(window)
        self.window = window
        self.folder = Path(folder) if folder is not None else recovery_folder()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self._written: Path | None = None   # the recovery file this window owns now
        self._last: str | None = None        # what it holds (without its time stamp)
        window.project_changed.connect(self._on_project_changed)
        window.design.modified_changed.connect(self._on_modified_changed)
        window.closed.connect(self.discard)

    @property
    def path(self) -> Path:
        """Where the window's current design goes."""
        return self.folder / recovery_name(self.window.project.path)

    @property
    def written(self) -> Path | None:
        """The recovery file this window wrote and has not deleted yet."""
        return self._written

    @Slot()
    def tick(self) -> None:
        """The timer: write while there are unsaved changes, else drop the file."""
        if self.window.design.modified:
            self.save_now()
        else:
            self.discard()

    def save_now(self) -> Path | None:
        """Write the design to its recovery file now (atomically); None if it could not be."""
        try:
            doc = self.document()
            body = json.dumps(doc, sort_keys=True, allow_nan=False)
        except (ProjectError, ValueError, TypeError, RecursionError) as exc:
            self.window.statusBar().showMessage(f"Autosave failed: {exc}", 8000)
            return None
        path = self.path
        if path == self._written and body == self._last and path.exists():
            return path  # nothing changed since the last write
        doc[RECOVERY_KEY]["written"] = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _hold_instance_lock(self.folder)
            atomic_write_text(path, json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n", verify=True)
        except OSError as exc:
            self.window.statusBar().showMessage(f"Autosave failed: cannot write {path}: {exc.strerror or exc}", 8000)
            return None
        if self._written is not None and self._written != path:
            self._remove(self._written)
        self._written, self._last = path, body
        self.saved.emit(str(path))
        return path

    def document(self) -> dict:
        """The recovery document: the project as it would be saved, plus the ``recovery`` key."""
        project = self.window.project
        copy = project_from_json(project.to_json(), project.path)  # refuses what could not be read back
        store_input_shape(copy, self.window.design.input_shape)
        doc = copy.to_json()
        doc[RECOVERY_KEY] = {
            "project": str(project.path) if project.path is not None else None,
            "name": project.name,
            "pid": os.getpid(),
            "netstudio_version": __version__,
        }
        return doc

    def adopt(self, path: Path) -> Path | None:
        """Take over a recovered file: the design is written to this window's own recovery file
        at once, and *path* is deleted once that has succeeded."""
        self._written, self._last = Path(path), None
        return self.save_now()

    @Slot()
    def discard(self) -> None:
        """Delete this window's recovery file (the design was saved or discarded, or the window closed)."""
        if self._written is not None:
            self._remove(self._written)
        self._written, self._last = None, None

    def error_note(self) -> str | None:
        """For the exception handler: keep unsaved changes safe now, and say where."""
        if not self.window.design.modified:
            return None
        # (where exactly matters little: the next start offers the file back)
        return "Your unsaved changes were saved to a recovery file." if self.save_now() is not None else None

    def _remove(self, path: Path) -> None:
        if _remove(path):
            self.discarded.emit(str(path))

    @Slot(bool)
    def _on_modified_changed(self, modified: bool) -> None:
        if not modified:  # saved, or another design replaced it after the user agreed
            self.discard()

    @Slot(object)
    def _on_project_changed(self, _project) -> None:
        # Another project is open: the window asked about the last one's changes first.
        self.discard()


def _remove(path: Path) -> bool:
    with contextlib.suppress(OSError):
        path.unlink()
        return True
    return False


# ------------------------------------------------------------------------------------------------
# Recovering


@dataclass
class Recovery:
    """A recovery file found on launch."""

    path: Path
    document: dict
    project_path: Path | None
    written: _dt.datetime

    @property
    def name(self) -> str:
        info = self.document.get(RECOVERY_KEY) or {}
        return str(info.get("name") or self.document.get("name") or "untitled")

    def project(self) -> Project:
        """The recovered project, belonging to its original file (relative data paths resolve there)."""
        doc = {k: v for k, v in self.document.items() if k != RECOVERY_KEY}
        return project_from_json(doc, self.project_path)


def find_recovery(folder: Path | None = None, project_path: str | os.PathLike | None = None) -> Recovery | None:
    """The newest recovery file worth offering: for *project_path* (or for any project), written
    by a NetStudio that is no longer running, newer than the project file it belongs to, and
    readable as a project."""
    folder = Path(folder) if folder is not None else recovery_folder()
    wanted = _key(project_path) if project_path is not None else None
    found: list[Recovery] = []
    for path in sorted(folder.glob("*.nsproj")) if folder.is_dir() else []:
        recovery = _read(path)
        if recovery is None or running_elsewhere(folder, recovery.document[RECOVERY_KEY].get("pid")):
            continue
        owner = recovery.project_path
        if wanted is not None and (owner is None or _key(owner) != wanted):
            continue
        with contextlib.suppress(OSError):
            if owner is not None and owner.stat().st_mtime >= path.stat().st_mtime:
                continue  # the project was saved after this autosave: nothing to recover
        found.append(recovery)
    return max(found, key=lambda r: r.written, default=None)


def _read(path: Path) -> Recovery | None:
    try:
        if path.stat().st_size > MAX_PROJECT_BYTES:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
        info = doc[RECOVERY_KEY]
        owner = Path(info["project"]) if info.get("project") else None
        written = _dt.datetime.fromtimestamp(path.stat().st_mtime).astimezone()
        recovery = Recovery(path, doc, owner, written)
        recovery.project()  # only offer what can be opened
        return recovery
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError, ProjectError):
        return None


def offer_recovery(window, project_path: str | os.PathLike | None = None,
                   folder: Path | None = None) -> Recovery | None:
    """Ask whether to recover unsaved changes found on launch; the recovery the window now shows,
    or None (nothing found, or the user said No: then the file is deleted)."""
    recovery = find_recovery(folder, project_path)
    if recovery is None:
        return None
    when = recovery.written.strftime("%Y-%m-%d %H:%M")
    owner = (f"Recovering opens them as unsaved changes of {recovery.project_path}."
             if recovery.project_path is not None else "Recovering opens them as an unsaved design.")
    answer = QMessageBox.question(
        window, "Recover Unsaved Changes?",
        f"NetStudio did not close normally, and “{recovery.name}” has changes from {when} that were not "
        f"saved. {owner} Recover them? (No deletes them for good.)",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
    if answer != QMessageBox.StandardButton.Yes:
        _remove(recovery.path)
        return None
    window.set_project(recovery.project())
    window.mark_modified()
    window.statusBar().showMessage(f"Recovered the unsaved changes of {recovery.name} (from {when}): save to keep them",
                                   15000)
    return recovery


def install_safety_net(window, project_path: str | os.PathLike | None = None, *, data_folder: Path | None = None,
                       interval_ms: int = INTERVAL_MS, ask: bool = True):
    """Autosave, the exception handler and the recovery offer for *window*; returns both helpers.

    *data_folder* replaces the application data folder (``recovery/`` and ``logs/`` go inside it).
    With *ask* False, recovery is never offered (neither now nor when a project is opened later).
    """
    from netstudio.ui.errors import install_exception_handler, log_folder

    base = Path(data_folder) if data_folder is not None else None
    autosaver = Autosaver(window, base / "recovery" if base else None, interval_ms)
    handler = install_exception_handler(window, base / "logs" if base else log_folder(), autosaver.error_note)

    def offer(path: str | os.PathLike | None) -> None:
        recovered = offer_recovery(window, path, autosaver.folder)
        if recovered is not None:
            autosaver.adopt(recovered.path)  # the recovered changes are unsaved again: keep them safe at once

    if ask:  # at launch, and for a project opened later: it may have changes to recover too
        offer(project_path)
        window.project_opened.connect(offer)
    return autosaver, handler
