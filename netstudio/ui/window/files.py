"""The window's File commands: new, open, recent files, save, save as; and asking before losing work.

:class:`ProjectFiles` is a mixin of :class:`~netstudio.ui.window.main_window.MainWindow`: it uses
the window's ``project``, ``design``, ``settings``, ``workflow``, ``set_project`` and status bar.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from netstudio.core.design.templates import get_template
from netstudio.core.errors import ProjectError
from netstudio.core.project import (
    CURRENT_VERSION,
    SUFFIX,
    load_project,
    new_project,
    project_from_template,
    store_input_shape,
    version_on_disk,
)

PROJECT_FILTER = f"NetStudio projects (*{SUFFIX});;All files (*)"


class ProjectFiles:
    """New, Open, Open Recent, Save and Save As of the main window (a mixin)."""

    def maybe_save(self) -> bool:
        """Ask Save / Discard / Cancel if there are unsaved changes; ``True`` means go ahead.

        A running training is stopped first (after asking): the design is locked while it runs.
        """
        if not self.workflow.confirm_idle():
            return False
        if not self.design.modified:
            return True
        answer = QMessageBox.question(
            self, "Unsaved Changes", f"“{self.project.name}” has changes that are not saved.\nSave them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_project(self) -> None:
        if self.maybe_save():
            self.set_project(new_project())
            self.statusBar().showMessage("New design: drag layers from the palette into the stack", 5000)

    def new_from_template(self, key: str) -> None:
        if self.maybe_save():
            template = get_template(key)
            self.set_project(project_from_template(template))
            self.statusBar().showMessage(f"{template.title}: {template.description}", 8000)

    def open_sample(self, name: str) -> bool:
        """A bundled sample as a new, unsaved project: its design, settings and data (by name)."""
        from netstudio.core.data.load import samples_dir

        if not self.maybe_save():
            return False
        try:
            project = load_project(samples_dir() / f"{name}.nsproj")
        except ProjectError as exc:
            QMessageBox.critical(self, "Cannot Open Sample", str(exc))
            return False
        if project.data.get("source") != "synthetic":  # the copy is unsaved: read the data by name
            project.data = {"source": "sample", "name": name}
        project.path = None
        note = self.set_project(project)
        self.statusBar().showMessage(f"Sample {name}: loading its data; then Train (F5)" + (f"; {note}" if note else ""),
                                     10000)
        return True

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open Project", self.settings.last_folder, PROJECT_FILTER)
        if path:
            self.open_project(path)

    def open_project(self, path: str | Path) -> bool:
        """Open the project at *path*; on failure say why and keep the current design."""
        try:
            project = load_project(path)
        except ProjectError as exc:
            QMessageBox.critical(self, "Cannot Open Project", str(exc))
            return False
        note = self.set_project(project)
        self._remember(project.path)
        self.statusBar().showMessage(f"Opened {project.path}" + (f"; {note}" if note else ""), 10000)
        self.project_opened.emit(str(project.path))
        return True

    def open_recent(self, path: str) -> None:
        if not self.maybe_save():
            return
        if not Path(path).exists():
            self.settings.remove_recent(path)
        self.open_project(path)

    def fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        files = self.settings.recent_files()
        for number, path in enumerate(files, 1):
            label = f"&{number} {Path(path).name}" if number < 10 else Path(path).name
            action = menu.addAction(label)
            action.setStatusTip(path)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_recent(p))
        if files:
            menu.addSeparator()
            menu.addAction("Clear Recent").triggered.connect(lambda _=False: self.settings.clear_recent())
        else:
            menu.addAction("No recent projects").setEnabled(False)

    def save(self) -> bool:
        if self.project.path is None:
            return self.save_as()
        return self._write(self.project.path)

    def save_as(self) -> bool:
        folder = Path(self.project.path.parent if self.project.path else self.settings.last_folder)
        path, _ = QFileDialog.getSaveFileName(self, "Save Project As", str(folder / f"{self.project.name}{SUFFIX}"),
                                              PROJECT_FILTER)
        if not path:
            return False
        if not path.endswith(SUFFIX):
            path += SUFFIX
        return self._write(Path(path))

    def _write(self, path: Path) -> bool:
        found = version_on_disk(path)
        newer = found is not None and found > CURRENT_VERSION
        if newer and not self._confirm_overwrite_newer(Path(path), found):
            return False
        project = self.project
        store_input_shape(project, self.design.input_shape)
        old_name = project.name
        if project.path is None or project.name == project.path.stem:
            project.name = Path(path).stem  # an untitled or file-named project takes its new file's name
        try:
            project.save(path, overwrite_newer=newer)
        except ProjectError as exc:
            project.name = old_name
            QMessageBox.critical(self, "Cannot Save Project", str(exc))
            return False
        self.design.mark_saved()
        self._remember(project.path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {project.path}", 5000)
        self.project_saved.emit(str(project.path))
        return True

    def _confirm_overwrite_newer(self, path: Path, version: int) -> bool:
        """A project file written by a newer NetStudio is never replaced without asking."""
        answer = QMessageBox.question(
            self, "Overwrite Newer Project?",
            f"{path.name} was written by a newer NetStudio (project version {version}; this one writes version "
            f"{CURRENT_VERSION}). Saving over it stores it in the older format, and what the newer version kept "
            "in it may be lost. Overwrite it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _remember(self, path: Path | None) -> None:
        if path is not None:
            self.settings.add_recent(path)
            self.settings.last_folder = str(Path(path).parent)
