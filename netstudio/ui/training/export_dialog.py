"""The export dialog: write a finished run's model in one or more formats and show the parity check."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from netstudio.ui.tasks import TaskRunner

FORMAT_LABELS = {
    "pt2": ("PyTorch program (.pt2)", "torch.export: load with torch.export.load(path).module()"),
    "torchscript": ("TorchScript (.pt)", "For older consumers: torch.jit.load(path)"),
    "onnx": ("ONNX (.onnx)", "For ONNX Runtime and other engines; checked against PyTorch when written"),
    "safetensors": ("Weights (.safetensors)", "The weights and the preprocessing statistics, with metadata"),
    "python": ("PyTorch code (folder)", "A readable model.py, the weights, and a train.py that reproduces the run"),
}


def unused_path(path: Path) -> Path:
    """*path*, or ``path-2``, ``path-3``... if it already exists (folders are never overwritten)."""
    if not path.exists():
        return path
    n = 2
    while path.with_name(f"{path.name}-{n}").exists():
        n += 1
    return path.with_name(f"{path.name}-{n}")


class ExportDialog(QDialog):
    """Export the model of the run in *run_dir* (a finished run) in the formats the user ticks."""

    def __init__(self, run_dir: str | Path, parent: QWidget | None = None):
        super().__init__(parent)
        from netstudio.core.export.common import FORMATS, onnx_available

        self.setWindowTitle("Export Model")
        self.setObjectName("exportDialog")
        self.run_dir = Path(run_dir)
        self.results: list = []
        self.runner = TaskRunner(self)
        self.runner.progressed.connect(self._on_progress)
        self.runner.succeeded.connect(self._on_done)
        self.runner.task_failed.connect(self._on_failed)
        self.runner.running_changed.connect(self._on_running_changed)

        self.formats = QListWidget()
        self.formats.setObjectName("exportFormats")
        onnx_problem = onnx_available()
        for name in FORMATS:
            label, tip = FORMAT_LABELS[name]
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(tip)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name == "pt2" else Qt.CheckState.Unchecked)
            if name == "onnx" and onnx_problem:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(onnx_problem)
                item.setText(f"{label} — {onnx_problem.split(':')[0]}")
            self.formats.addItem(item)
        self.folder = QLineEdit(str(self.run_dir))
        self.folder.setToolTip("Folder the files are written to (default: the run's own folder)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse())
        where = QHBoxLayout()
        where.addWidget(self.folder, 1)
        where.addWidget(browse)
        self.progress = QProgressBar()
        self.progress.hide()
        self.report = QTextBrowser()
        self.report.setObjectName("exportReport")
        self.report.setOpenExternalLinks(False)
        self.report.setPlaceholderText("Each written file is loaded back and compared with the trained model.")
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setObjectName("exportButton")
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(lambda: self.start())
        self.close_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Run: <b>{html.escape(self.run_dir.name)}</b>"))
        layout.addWidget(QLabel("Formats:"))
        layout.addWidget(self.formats)
        layout.addWidget(QLabel("Folder:"))
        layout.addLayout(where)
        layout.addWidget(self.progress)
        layout.addWidget(self.report, 1)
        layout.addWidget(self.buttons)
        self.resize(560, 480)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export To", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def chosen_formats(self) -> list[str]:
        return [self.formats.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.formats.count())
                if self.formats.item(i).checkState() == Qt.CheckState.Checked
                and self.formats.item(i).flags() & Qt.ItemFlag.ItemIsEnabled]

    def targets(self) -> list[tuple[str, Path]]:
        """``(format, path)`` for each chosen format in the chosen folder."""
        from netstudio.core.export.exporter import default_export_path

        folder = Path(self.folder.text()).expanduser()
        out = []
        for name in self.chosen_formats():
            path = folder / default_export_path(self.run_dir, name).name
            out.append((name, unused_path(path) if name == "python" else path))
        return out

    def start(self) -> bool:
        """Export every chosen format in the background; False if nothing is chosen or busy."""
        targets = self.targets()
        if not targets or self.runner.is_running:
            if not targets:
                self.report.setHtml("<p>Tick at least one format.</p>")
            return False
        run_dir = self.run_dir
        self.report.clear()
        self.results = []

        def work(progress, cancelled):
            from netstudio.core.errors import NetStudioError
            from netstudio.core.export.exporter import export_run
            from netstudio.core.runs.folder import load_run

            run = load_run(run_dir)
            outcomes = []
            for done, (name, path) in enumerate(targets):
                if cancelled():
                    break
                progress(done, len(targets))
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    outcomes.append((name, export_run(run, name, path), None))
                except NetStudioError as exc:
                    outcomes.append((name, None, str(exc)))
            progress(len(targets), len(targets))
            return outcomes

        self.runner.start(work)
        return True

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.export_button.setEnabled(not running)
        self.formats.setEnabled(not running)

    @Slot(object)
    def _on_done(self, outcomes) -> None:
        self.results = outcomes
        lines = []
        for name, result, error in outcomes:
            label = FORMAT_LABELS[name][0]
            if error:
                lines.append(f"<p><b style='color:#c0392b'>✗ {html.escape(label)}</b><br>{html.escape(error)}</p>")
                continue
            parity = (f"parity: max |Δ| = {result.parity_max_abs_diff:.2e} (limit 1e-4)"
                      if result.parity_max_abs_diff is not None else "parity not checked")
            notes = "".join(f"<br><i>{html.escape(n)}</i>" for n in result.notes)
            lines.append(f"<p><b style='color:#1e8449'>✓ {html.escape(label)}</b><br>{html.escape(str(result.path))}"
                         f"<br>{parity}{notes}</p>")
        self.report.setHtml("".join(lines))

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.report.setHtml(f"<p style='color:#c0392b'><b>Export failed:</b> {html.escape(message)}</p>")

    def reject(self) -> None:
        if self.runner.is_running:  # let the running export finish: half-written files are never left
            self.runner.shutdown()
        super().reject()
