"""What NetStudio remembers between sessions (QSettings: layout, recent files, last folder, theme,
the design's view)
and where it keeps its own files (:func:`app_data_folder`)."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

ORGANIZATION = "NetStudio"
APPLICATION = "NetStudio"
MAX_RECENT = 10


class Settings:
    """Typed access to one QSettings store.

    Parameters
    ----------
    store : QSettings, optional
        Where to read and write; by default the user's NetStudio settings. Tests pass one under a
        temporary folder so that they never touch the user's.
    """

    def __init__(self, store: QSettings | None = None):
        self.store = store if store is not None else QSettings(ORGANIZATION, APPLICATION)

    # -- recent files ----------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        """Recently opened or saved projects, newest first."""
        value = self.store.value("recent_files", [])
        if isinstance(value, str):  # an INI file stores a one-element list as a string
            value = [value]
        return [str(v) for v in (value or []) if v]

    def add_recent(self, path: str | os.PathLike) -> None:
        path = os.path.abspath(os.fspath(path))
        files = [path] + [f for f in self.recent_files() if f != path]
        self.store.setValue("recent_files", files[:MAX_RECENT])

    def remove_recent(self, path: str | os.PathLike) -> None:
        path = os.path.abspath(os.fspath(path))
        self.store.setValue("recent_files", [f for f in self.recent_files() if f != path])

    def clear_recent(self) -> None:
        self.store.setValue("recent_files", [])

    # -- simple values ---------------------------------------------------------------------------
    @property
    def last_folder(self) -> str:
        """The folder of the last project opened or saved (the home folder at first)."""
        folder = str(self.store.value("last_folder", "") or "")
        return folder if folder and os.path.isdir(folder) else os.path.expanduser("~")

    @last_folder.setter
    def last_folder(self, folder: str) -> None:
        self.store.setValue("last_folder", str(folder))

    @property
    def theme(self) -> str:
        value = str(self.store.value("theme", "system") or "system")
        return value if value in ("system", "light", "dark") else "system"

    @theme.setter
    def theme(self, value: str) -> None:
        self.store.setValue("theme", value)

    @property
    def design_view(self) -> str:
        """Which view of the design the centre shows: ``stack`` or ``diagram``."""
        value = str(self.store.value("design_view", "stack") or "stack")
        return value if value in ("stack", "diagram") else "stack"

    @design_view.setter
    def design_view(self, value: str) -> None:
        self.store.setValue("design_view", value)

    def window_geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def window_state(self) -> QByteArray | None:
        value = self.store.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.store.setValue("window/geometry", geometry)
        self.store.setValue("window/state", state)

    def sync(self) -> None:
        self.store.sync()


def app_data_folder() -> Path:
    """NetStudio's folder for its own files (recovery, logs, runs of unsaved projects)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base) if base else Path.home() / ".netstudio"
