"""Runs already on disk, in the window: the latest one shown when a project opens; any one exported,
used to predict or continued (the one trained in this session from memory, any other from its
resume files, as `train --resume`); an unsaved project's runs moved
beside the project when it is first saved.

:class:`PastRuns` is the :class:`~netstudio.ui.training.workflow.TrainingWorkflow`'s helper: it
works on the workflow's panels (runs table, loss plot, evaluation view) and reads and writes run
folders off the GUI thread (:class:`~netstudio.ui.tasks.TaskRunner`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox

from netstudio.core.training.resume import FILES as RESUME_FILES
from netstudio.ui.tasks import TaskRunner
from netstudio.ui.widgets import run_modal

PREDICT_FILTER = ("Data files and images (*.csv *.tsv *.txt *.npz *.png *.jpg *.jpeg *.bmp *.gif *.webp);;"
                  "All files (*)")


class PastRuns(QObject):
    """The workflow's run folders: show, evaluate, export, predict, continue, move on first save."""

    def __init__(self, workflow):
        super().__init__(workflow)
        self.workflow = workflow
        self._to_evaluate = None  # the run to score once the project's data is loaded
        self.evaluator = TaskRunner(self)
        self.evaluator.succeeded.connect(self._on_evaluated)
        self.predictor = TaskRunner(self)
        self.predictor.succeeded.connect(self._on_predicted)
        self.predictor.task_failed.connect(self._on_predict_failed)
        panel = workflow.runs_panel
        panel.can_continue = self.can_continue
        panel.export_requested.connect(self.export)
        panel.predict_requested.connect(self.predict)
        panel.continue_requested.connect(self.continue_run)

    # -- the latest run of a project just opened ---------------------------------------------------
    def show_latest(self) -> None:
        """Show the newest run of the project's runs folder: its curves now, its evaluation once
        the data has loaded; Export and Continue follow it."""
        wf = self.workflow
        runs = wf.runs_panel.model.runs
        self._to_evaluate = None
        if not runs:
            return
        run = runs[0]
        wf.last_run_dir = str(run.path)
        epochs = [m for m in run.metrics if m.get("epoch") is not None]
        losses = [(m["epoch"], m["train_loss"]) for m in epochs if m.get("train_loss") is not None]
        if losses:  # metrics.csv keeps one training loss an epoch: drawn at its epoch's end
            x, y = (np.asarray(v, dtype=np.float64) for v in zip(*losses))
            wf.loss_plot.add_steps(x, y)
        for row in epochs:
            wf.loss_plot.add_epoch({**row, "best_epoch": run.summary.get("best_epoch")})
        wf.loss_plot.redraw()
        wf.runs_panel.refresh(select=run.path)
        self._to_evaluate = run

    def on_dataset_loaded(self, dataset) -> None:
        """Score the run shown by :meth:`show_latest` on the validation split, if it trained on this data."""
        run, self._to_evaluate = self._to_evaluate, None
        if run is None or not _same_data(run.project, self.workflow.window.project):
            return
        grid = self.workflow.evaluation.grid

        def work(_progress, _cancelled):
            from netstudio.core.training.evaluation import boundary_field, evaluate_model

            model = run.load_model()
            transform = run.metadata.get("output_transform", "none")
            report = evaluate_model(model, dataset, transform)
            return report, (boundary_field(model, grid, transform) if grid is not None else None)

        self.evaluator.start(work)

    @Slot(object)
    def _on_evaluated(self, result) -> None:
        report, field = result
        evaluation = self.workflow.evaluation
        evaluation.show_report(report)
        if field is not None:
            evaluation.show_field(field)

    # -- any run -------------------------------------------------------------------------------------
    def can_continue(self, run) -> bool:
        """The run trained in this session goes on from memory; any other run from the state its
        folder keeps (``resume.safetensors``), once the data is loaded and nothing trains."""
        wf = self.workflow
        if wf.controller.is_running or wf.sweeps.is_running:
            return False
        if wf.controller.can_continue() and wf.last_run_dir is not None and Path(wf.last_run_dir) == run.path:
            return True
        return wf.ready_reason() is None and all((Path(run.path) / name).is_file() for name in RESUME_FILES)

    @Slot(object)
    def continue_run(self, run) -> None:
        wf = self.workflow
        if not self.can_continue(run):
            return
        epochs = wf.training_panel.continue_epochs.value()
        if wf.controller.can_continue() and wf.last_run_dir is not None and Path(wf.last_run_dir) == run.path:
            wf.continue_training(epochs)
        else:
            wf.resume_training(run.path, epochs)

    @Slot(object)
    def export(self, run):
        """Open the export dialog on *run*'s folder (returns the dialog)."""
        from netstudio.ui.training.export_dialog import ExportDialog

        dialog = ExportDialog(run.path, self.workflow.window)
        run_modal(dialog)
        return dialog

    @Slot(object)
    def predict(self, run, data: str | None = None, out: str | None = None) -> bool:
        """Predict *data* (asked for if None) with *run*'s model into the CSV *out* (asked for if None)."""
        window = self.workflow.window
        model = run.path / "model.pt2"
        if not model.is_file():
            QMessageBox.warning(window, "Cannot Predict", f"{run.path.name} has no model.pt2 to predict with.")
            return False
        if data is None:
            data, _ = QFileDialog.getOpenFileName(window, "Predict: Data", str(self.workflow.window.project.base_dir),
                                                  PREDICT_FILTER)
            if not data:
                return False
        if out is None:
            out, _ = QFileDialog.getSaveFileName(window, "Predict: Save Predictions As",
                                                 str(run.path / "predictions.csv"), "CSV files (*.csv)")
            if not out:
                return False

        def work(_progress, _cancelled):
            from netstudio.core.export.predict import predict_file
            from netstudio.core.fileio import atomic_write_text

            predictions = predict_file(model, data)
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(out, predictions.to_csv())
            return out, len(predictions.rows), predictions.warnings

        window.statusBar().showMessage(f"Predicting with {run.path.name}…")
        return self.predictor.start(work)

    @Slot(object)
    def _on_predicted(self, result) -> None:
        out, rows, warnings = result
        extra = f" ({'; '.join(warnings)})" if warnings else ""
        self.workflow.window.statusBar().showMessage(f"{rows:,} predictions written to {out}{extra}", 15000)

    @Slot(str)
    def _on_predict_failed(self, message: str) -> None:
        self.workflow.window.statusBar().clearMessage()
        QMessageBox.warning(self.workflow.window, "Cannot Predict", message)

    # -- an unsaved project's runs ---------------------------------------------------------------------
    def move_runs(self, source: Path, target: Path) -> list[Path]:
        """Move every run folder under *source* into *target* (names kept, or made unique)."""
        moved = []
        if not source.is_dir() or source.resolve() == target.resolve():
            return moved
        for run in sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")):
            target.mkdir(parents=True, exist_ok=True)
            destination, n = target / run.name, 2
            while destination.exists():
                destination, n = target / f"{run.name}-{n}", n + 1
            shutil.move(str(run), str(destination))
            moved.append(destination)
        shutil.rmtree(source.parent if source.name == "runs" else source, ignore_errors=True)
        return moved


def _same_data(a, b) -> bool:
    """Whether two projects' data sections describe the same prepared data (defaults filled in,
    file paths resolved: a run folder's copy of the project points at the data from elsewhere)."""
    from netstudio.core.config import validate_data
    from netstudio.core.errors import NetStudioError

    def normal(project):
        data = validate_data(dict(project.data))
        if data.get("path"):
            data["path"] = str(project.resolve(data["path"]).resolve())
        return data

    try:
        return normal(a) == normal(b)
    except (NetStudioError, OSError):
        return False
