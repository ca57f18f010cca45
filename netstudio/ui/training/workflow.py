"""Data and training in the window: the panels, menus and glue around one training controller.

:class:`TrainingWorkflow` joins the designer window: the data panel feeds the design's input
shape, "auto" width and loss checks; the training panel starts runs through the
:class:`~netstudio.ui.training.controller.TrainingController`; the loss plot follows them live; a finished
run can be exported. While a run is going the design is locked, visibly (a banner, greyed panels,
disabled edit actions): the run trains a copy of the project, and editing it mid-run would make
the saved run disagree with what is on screen.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox

from netstudio.core.errors import NetStudioError
from netstudio.core.training.states import FitStatus
from netstudio.ui.data.panel import DataPanel
from netstudio.ui.icons import icon
from netstudio.ui.plots.evaluation_view import EvaluationView
from netstudio.ui.plots.inside_view import InsideView
from netstudio.ui.plots.loss_plot import LossPlot
from netstudio.ui.settings import app_data_folder
from netstudio.ui.training.controller import TrainingController
from netstudio.ui.training.inside import InsideController, SetTrainingSettings
from netstudio.ui.training.messages import RunFinished, RunProgress
from netstudio.ui.training.panel import TrainingPanel
from netstudio.ui.training.past_runs import PastRuns
from netstudio.ui.training.run_toolbar import RunToolbar
from netstudio.ui.training.runs_panel import RunsPanel
from netstudio.ui.widgets import run_modal, scrollable

DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".tab", ".psv", ".npz", ".gz"}


def app_runs_folder() -> Path:
    """Where runs of a project that was never saved go (in NetStudio's own folder)."""
    return app_data_folder() / "runs"


def scratch_folder() -> Path:
    """A folder of its own for one unsaved project's runs (moved beside the project on its first save)."""
    import os

    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder, n = app_runs_folder() / "unsaved" / f"{stamp}-{os.getpid()}", 2
    while folder.exists():
        folder, n = app_runs_folder() / "unsaved" / f"{stamp}-{os.getpid()}-{n}", n + 1
    return folder


class ProbeSignals(QObject):
    """Lives in the GUI thread; the training thread's probes emit through it (queued to the GUI).

    Signals
    -------
    field_ready(numpy.ndarray), report_ready(object)
    """

    field_ready = Signal(object)
    report_ready = Signal(object)


class TrainingWorkflow(QObject):
    """Adds the data panel, training panel and live plot to a :class:`MainWindow` and runs training.

    It uses only the window's public face: ``add_panel``, ``add_menu``, ``set_editing_locked``,
    ``project``, ``design``, ``project_changed``, ``mark_modified``, ``set_input_shape``,
    ``save``, ``statusBar``, and the two designer docks to tab beside (``palette_dock``,
    ``inspector_dock``).
    """

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.controller = TrainingController(self)
        # Before any plot exists: pyqtgraph's defaults (black background) would ignore the theme.
        pg.setConfigOptions(antialias=False, background=None, foreground=window.palette().text().color())
        self.data_panel = DataPanel()
        self.training_panel = TrainingPanel()
        self.loss_plot = LossPlot()
        self.evaluation = EvaluationView()
        self.runs_panel = RunsPanel()
        self.probes = ProbeSignals(self)
        self.last_run_dir: str | None = None
        self._data_error: str | None = None
        self._started_at = time.perf_counter()
        self._fit_seconds = 0.0
        self._scratch = scratch_folder()
        area = Qt.DockWidgetArea
        self.data_dock = window.add_panel(scrollable(self.data_panel), "Data", area.LeftDockWidgetArea, "dataPanelDock",
                                          tabify_with=window.palette_dock)
        self.training_dock = window.add_panel(scrollable(self.training_panel), "Training", area.RightDockWidgetArea,
                                              "trainingPanelDock", tabify_with=window.inspector_dock)
        self.plot_dock = window.add_panel(self.loss_plot, "Loss Plot", area.BottomDockWidgetArea, "lossPlotDock")
        self.evaluation_dock = window.add_panel(scrollable(self.evaluation), "Evaluation", area.BottomDockWidgetArea,
                                                "evaluationDock", tabify_with=self.plot_dock)
        self.runs_dock = window.add_panel(scrollable(self.runs_panel), "Runs", area.BottomDockWidgetArea, "runsDock",
                                          tabify_with=self.plot_dock)
        self.inside = InsideView()
        self.inside_dock = window.add_panel(self.inside, "Inside", area.BottomDockWidgetArea, "insideDock",
                                            tabify_with=self.plot_dock)
        self.inside_controller = InsideController(self, self.inside)
        self.inside_controller.signals.snapshot_ready.connect(self._on_snapshot_ready)  # the diagram's badges
        from netstudio.ui.training.sweeping import SweepFlow

        self.sweeps = SweepFlow(self)
        self._build_actions()
        self.run_toolbar = RunToolbar(self.start, self.pause, self.stop, self.training_panel.device, window)
        self.run_toolbar.toggleViewAction().setVisible(False)  # always in sight: not one to hide
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.run_toolbar)
        self.past_runs = PastRuns(self)
        self._connect()

    # -- menus -------------------------------------------------------------------------------------
    def _action(self, text: str, tip: str, slot, shortcut: str | None = None, icon_name: str | None = None) -> QAction:
        action = QAction(text, self.window)
        action.setStatusTip(tip)
        action.setToolTip(f"{tip} ({shortcut})" if shortcut and icon_name else tip)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if icon_name:
            action.setIcon(icon(icon_name))
            action.setObjectName(icon_name)
        action.triggered.connect(lambda _=False: slot())
        return action

    def _build_actions(self) -> None:
        p = self.data_panel
        self.open_data = self._action("Open &Data File…", "Use a CSV/TSV table or a NumPy .npz file", p.open_file_dialog,
                                      "Ctrl+Shift+O")
        self.open_images = self._action("Open &Image Folder…", "Use a folder with one sub-folder per class",
                                        p.open_folder_dialog)
        self.reload_data = self._action("&Reload Data", "Read the data file again", p.reload, "Ctrl+R")
        self.start = self._action("&Train", "Start training", self.start_training, "F5", "train")
        self.pause = self._action("&Pause", "Pause or resume the run", self.toggle_pause, "F6", "pause")
        self.stop = self._action("&Stop", "Stop after the current batch and keep the run", self.controller.stop,
                                 "Shift+F5", "stop")
        self.continue_ = self._action("&Continue…", "Train more epochs from where the last run ended",
                                      lambda: self.continue_training(self.training_panel.continue_epochs.value()))
        self.export = self._action("&Export Model…", "Write the last run's model as .pt2, TorchScript, ONNX, "
                                   "safetensors or PyTorch code", self.export_model, "Ctrl+Shift+E")
        self.find_rate = self._action("Find &Learning Rate…", "Range test: train a copy of the model with a rising "
                                      "rate and suggest one", self.find_learning_rate)
        self.cluster = self._action("Train on a &Cluster…", "Show the torchrun commands that train this project "
                                    "on several GPUs or machines", self.show_cluster_dialog)
        self.data_menu = QMenu("&Data", self.window)
        self.data_menu.addActions([self.open_data, self.open_images])
        self.samples_menu = self.data_menu.addMenu("&Samples")
        self.samples_menu.aboutToShow.connect(self._fill_samples)
        self.data_menu.addSeparator()
        self.data_menu.addAction(self.reload_data)
        self.train_menu = QMenu("&Train", self.window)
        for action in (self.start, self.pause, self.stop, self.continue_, None, self.find_rate, self.export,
                       self.cluster):
            self.train_menu.addSeparator() if action is None else self.train_menu.addAction(action)
        self.window.add_menu(self.data_menu)
        self.window.add_menu(self.train_menu)
        self._update_actions()

    def _fill_samples(self) -> None:
        self.data_panel.fill_sample_menu()
        self.samples_menu.clear()
        for action in self.data_panel.sample_menu.actions():
            self.samples_menu.addAction(action)

    # -- wiring ------------------------------------------------------------------------------------
    def _connect(self) -> None:
        w, c, t, d = self.window, self.controller, self.training_panel, self.data_panel
        w.project_changed.connect(self._on_project_changed)
        w.project_saved.connect(self._on_project_saved)
        w.design.validation_changed.connect(lambda _v: self._update_ready())
        d.data_config_changed.connect(self._on_data_config_changed)
        d.dataset_loaded.connect(self._on_dataset_loaded)
        d.dataset_failed.connect(self._on_dataset_failed)
        d.loading_changed.connect(self._on_data_loading_changed)
        d.class_weights_requested.connect(lambda: t.use_class_weights(True))
        d.load_refused.connect(lambda message: self.window.statusBar().showMessage(message, 6000))
        t.config_changed.connect(self._on_training_config_changed)
        t.start_requested.connect(self.start_training)
        t.stop_requested.connect(c.stop)
        t.pause_requested.connect(lambda paused: c.pause() if paused else c.resume())
        t.continue_requested.connect(self.continue_training)
        c.stage_changed.connect(self.run_toolbar.set_stage)
        t.find_rate_requested.connect(self.find_learning_rate)
        c.run_started.connect(t.run_started)
        c.run_started.connect(self._on_run_started)
        c.progressed.connect(self._on_progress)
        c.fit_ended.connect(self._on_fit_ended)
        c.run_finished.connect(self._on_run_finished)
        c.run_failed.connect(self._on_run_failed)
        c.running_changed.connect(self._on_running_changed)
        c.paused_changed.connect(t.set_paused)
        c.paused_changed.connect(self._on_paused_changed)
        self.probes.field_ready.connect(self.evaluation.show_field)
        self.probes.report_ready.connect(self.evaluation.show_report)
        self.evaluation.sample_chosen.connect(self._look_inside)
        self.runs_panel.restore_design_requested.connect(self.restore_design)
        self.runs_panel.restore_settings_requested.connect(self.restore_settings)

    @Slot(object)
    def _on_project_changed(self, project) -> None:
        if self.is_running:
            return  # the window asks before replacing a project during a run or a sweep
        self.controller.session = None
        self.last_run_dir = None
        self._data_error = None
        self._data_chosen = False  # the user picked data before the project's own had loaded
        if project.path is None:
            self._scratch = scratch_folder()
        self.training_panel.set_config(project.training)
        self.training_panel.set_can_continue(False)
        self.training_panel.clear_run()  # nothing of the previous project's runs stays on screen
        self.run_toolbar.clear_run()
        self.window.statusBar().clearMessage()
        self.loss_plot.clear()
        self.evaluation.set_dataset(None)
        self.inside.set_dataset(None)
        self.inside_controller.probe = None
        if self.window.first_paint_pending:  # start-up: the window shows first, then data and runs load
            self.window.after_first_paint(lambda: self._show_project_data(project))
        else:
            self._show_project_data(project)

    def _show_project_data(self, project) -> None:
        """Load *project*'s data (in the background), list its runs and show the latest one."""
        if project is not self.window.project or self.is_running:
            return  # another project was opened before the first paint (a recovered design)
        if self._data_chosen:  # data picked before the first paint is the project's data now
            self.data_panel.base_dir = project.base_dir
        else:
            self.data_panel.set_project(project)
        self.runs_panel.set_folder(self.runs_folder())
        self.sweeps.show_project(project)
        self.past_runs.show_latest()
        self._update_ready()

    @Slot(str)
    def _on_project_saved(self, _path: str) -> None:
        """Runs made before the project's first save move into its runs/ folder."""
        if self.controller.is_running:  # the running one lands in the scratch folder: move it afterwards
            self.controller.idle.connect(self._move_scratch_runs, Qt.ConnectionType.SingleShotConnection)
        else:
            self._move_scratch_runs()

    @Slot()
    def _move_scratch_runs(self) -> None:
        project = self.window.project
        if project.path is None:
            return
        try:
            moved = self.past_runs.move_runs(self._scratch / "runs", project.base_dir / "runs")
        except OSError as exc:
            self.training_panel.append_log(f"warning: could not move the runs beside the project: {exc}")
            return
        if self.last_run_dir is not None:
            old = Path(self.last_run_dir).name
            self.last_run_dir = next((str(p) for p in moved if p.name == old), self.last_run_dir)
        self.runs_panel.set_folder(self.runs_folder())
        if moved:
            self.window.statusBar().showMessage(f"Saved {project.path}; its {len(moved)} run(s) moved to "
                                                f"{project.base_dir / 'runs'}", 8000)

    def runs_folder(self) -> Path:
        """Where the open project's runs are: runs/ beside it, or the app's folder if it is unsaved."""
        project = self.window.project
        return project.base_dir / "runs" if project.path is not None else self._scratch / "runs"

    def _on_data_config_changed(self, config: dict) -> None:
        self._data_chosen = True
        self.window.project.data = config
        self.window.mark_modified()

    @Slot(object)
    def _on_dataset_loaded(self, dataset) -> None:
        self._data_error = None
        self.evaluation.set_dataset(dataset)
        self.inside.set_dataset(dataset)
        self.sweeps.show_dataset(dataset)
        self.window.design.set_vocabulary(dataset.vocabulary)
        self.window.set_input_shape(dataset.input_shape, dataset.output_width)
        self.window.design.set_training_context(dataset.task, dataset.classes, self.window.project.training["loss"])
        self.past_runs.on_dataset_loaded(dataset)
        self.window.statusBar().showMessage(
            f"Data ready: {dataset.n_train + dataset.n_val + dataset.n_test:,} rows, input {list(dataset.input_shape)}, {dataset.task}", 6000)
        self._update_ready()

    @Slot(str)
    def _on_dataset_failed(self, message: str) -> None:
        self._data_error = message
        self.window.design.set_training_context(None)
        self._update_ready()

    def _on_training_config_changed(self, config: dict) -> None:
        project = self.window.project
        project.training = config
        self.window.design.set_batch_size(config["batch_size"])
        dataset = self.data_panel.dataset
        if dataset is not None:
            self.window.design.set_training_context(dataset.task, dataset.classes, config["loss"])
        self.window.mark_modified()

    def ready_reason(self) -> str | None:
        """Why training cannot start now, or None."""
        if self.controller.is_saving:
            return "the last run is still being saved"
        if self.data_panel.is_loading:
            return "the data is still loading"
        if self.data_panel.dataset is None:
            return f"the data could not be loaded ({self._data_error})" if self._data_error else "no data loaded"
        if not len(self.window.design.stack):
            return "the design has no layers"
        if not self.window.design.validation.valid:
            return "the design has errors (see the red rows)"
        return None

    def _update_ready(self) -> None:
        self.training_panel.set_ready(self.ready_reason())
        self.sweeps.update_ready()
        self._update_actions()
        self.runs_panel.update_buttons()  # Continue on a saved run waits for the data

    def _update_actions(self) -> None:
        running = self.controller.is_running
        self.start.setEnabled(not running and not self.sweeps.is_running and self.ready_reason() is None)
        self.start.setToolTip("Start training (F5)" if self.start.isEnabled() or running
                              else f"Cannot train yet: {self.ready_reason()}")
        self.pause.setEnabled(self.controller.is_training)
        self.stop.setEnabled(self.controller.is_training)
        self.find_rate.setEnabled(not running and not self.sweeps.is_running and self.ready_reason() is None)
        self.continue_.setEnabled(self.controller.can_continue())
        self.export.setEnabled(not running and self.last_run_dir is not None)
        for action in (self.open_data, self.open_images, self.reload_data):
            action.setEnabled(not running and not self.sweeps.is_running)

    # -- running -----------------------------------------------------------------------------------
    def _out_dir(self):
        """Runs go to runs/ beside a saved project; an unsaved one's to the application data folder."""
        project = self.window.project
        if project.path is not None:
            return None
        from netstudio.core.project import Project
        from netstudio.core.runs.folder import default_run_dir
        from netstudio.core.strings import slug

        stand_in = Project(name=project.name, path=self._scratch / f"{slug(project.name)}.nsproj")
        return lambda: str(default_run_dir(stand_in))

    def start_training(self) -> bool:
        return self._start_run()

    def resume_training(self, run_dir, epochs: int) -> bool:
        """Train *epochs* more from the saved run in *run_dir* (a run of an earlier session: its
        optimizer state is in the folder), into a new run folder, as ``train --resume`` does."""
        return self._start_run(run_dir, epochs)

    def _start_run(self, resume_dir=None, epochs: int | None = None) -> bool:
        """A new run of the open project, from scratch or from the saved state in *resume_dir*."""
        reason = self.ready_reason()
        if reason is not None or self.controller.is_running or self.sweeps.is_running:
            if reason:
                verb = "train" if resume_dir is None else "continue"
                self.window.statusBar().showMessage(f"Cannot {verb} yet: {reason}", 6000)
            return False
        from netstudio.core.training.resume import read_resume
        from netstudio.core.training.session import prepare_session

        self._started_at = time.perf_counter()
        self.run_toolbar.set_stage("Building the model…")
        self.run_toolbar.state.repaint()  # the model is built here, in the GUI thread: say so first
        overrides = {} if epochs is None else {"epochs": epochs}
        try:
            point = read_resume(resume_dir) if resume_dir is not None else None
            session = prepare_session(self.window.project, dataset=self.data_panel.dataset, **overrides)
        except NetStudioError as exc:
            self._on_run_failed(str(exc))
            return False
        self.loss_plot.clear()
        self.training_panel.log.clear()
        self.window.diagram_view.clear_badges()
        self.evaluation.set_dataset(session.dataset)
        self.inside.set_dataset(session.dataset)
        return self.controller.start(session, self._out_dir(), self._probes(session), resume=point)

    def continue_training(self, epochs: int) -> bool:
        session = self.controller.session
        self._started_at = time.perf_counter()
        probes = self._probes(session, continuing=True) if session else ()
        return self.controller.continue_training(epochs, self._out_dir(), probes)

    def _probes(self, session, continuing: bool = False) -> tuple:
        """Callbacks that feed the evaluation and Inside views from the training thread, a few
        times a second (*continuing*: the Inside probe keeps the run's history so far)."""
        from netstudio.core.training.evaluation import BoundaryProbe, EvaluationProbe

        probes = [EvaluationProbe(session, self.probes.report_ready.emit),
                  self.inside_controller.probe_for(session, continuing)]
        if self.evaluation.grid is not None:
            probes.append(BoundaryProbe(session, self.evaluation.grid, self.probes.field_ready.emit))
        return tuple(probes)

    def toggle_pause(self) -> None:
        if self.controller.is_paused:
            self.controller.resume()
        else:
            self.controller.pause()

    @Slot(object)
    def _on_snapshot_ready(self, snapshot) -> None:
        """The run's model seen inside: each diagram node gets its reading (if the design is
        still the one the model was built from)."""
        session = self.controller.session
        if session is not None:
            self.window.diagram_view.show_snapshot(snapshot, list(session.project.stack))

    @Slot(object)
    def _on_run_started(self, _start) -> None:
        self.run_toolbar.set_stage("Paused" if self.controller.is_paused else "Training")
        self.run_toolbar.show_started()
        self.inside_controller.repeat_try()  # Try it's typed values, with the model of this run

    @Slot(bool)
    def _on_paused_changed(self, paused: bool) -> None:
        self.pause.setText("&Resume" if paused else "&Pause")
        self.pause.setIcon(icon("train" if paused else "pause"))
        if self.controller.is_training:
            self.run_toolbar.set_stage("Paused" if paused else "Training")
            self.window.set_editing_locked(True, "Training is paused (Resume with F6): the design stays locked "
                                                 "until the run ends (Stop to edit)." if paused else None)

    @Slot(bool)
    def _on_data_loading_changed(self, loading: bool) -> None:
        if not self.controller.is_running:
            self.run_toolbar.set_stage("Preparing data…" if loading else "Ready")
        self._update_ready()

    @Slot(object)
    def _on_fit_ended(self, result: RunFinished) -> None:
        """Training is over: show it and free the design now; the run folder is written meanwhile."""
        self._fit_seconds = time.perf_counter() - self._started_at
        self.run_toolbar.show_ended(result.status.label, result.summary["epochs_run"])
        self.training_panel.set_running(False)
        self.training_panel.show_saving(result)
        self.set_design_locked(False)
        self._update_ready()
        self.window.statusBar().showMessage("Saving the run…")

    @Slot(object)
    def _on_progress(self, progress: RunProgress) -> None:
        self.run_toolbar.show_position(progress.position)
        self.training_panel.show_progress(progress)
        if progress.step_x is not None:
            self.loss_plot.add_steps(progress.step_x, progress.step_loss)
        for metrics in progress.epochs:
            self.loss_plot.add_epoch({**metrics.row(), "best_epoch": metrics.best_epoch})

    @Slot(object)
    def _on_run_finished(self, result: RunFinished) -> None:
        self.training_panel.run_finished(result)
        if result.run_dir:
            self.last_run_dir = result.run_dir
            self.runs_panel.refresh(select=result.run_dir)
        self.runs_panel.update_buttons()
        if result.status in (FitStatus.DIVERGED, FitStatus.FAILED):
            QMessageBox.warning(self.window, "Training Failed", result.message)
        elif result.save_error:
            QMessageBox.warning(self.window, "Run Not Saved", result.save_error)
        seconds = f"{self._fit_seconds:.1f} s"
        label = result.status.label
        self.run_toolbar.set_stage(f"Done in {seconds}" if result.status == FitStatus.COMPLETED
                                   else f"{label} after {seconds}")
        if result.run_dir:
            self.window.statusBar().showMessage(f"Run saved to {result.run_dir}", 15000)
        else:
            self.window.statusBar().showMessage(result.message or f"Training {result.status}", 8000)

    @Slot(str)
    def _on_run_failed(self, message: str) -> None:
        self.run_toolbar.set_stage("Failed")
        self.training_panel.run_failed(message)
        QMessageBox.critical(self.window, "Training Failed", message)

    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        self.training_panel.set_running(running)
        self.training_panel.set_can_continue(self.controller.can_continue())
        self.set_design_locked(running)
        self.sweeps.update_ready()
        if not running:
            self.pause.setText("&Pause")
            self.pause.setIcon(icon("pause"))
            self.inside_controller.repeat_try()  # Try it shows the trained model's answer
        self._update_ready()
        self.runs_panel.update_buttons()

    def set_design_locked(self, locked: bool) -> None:
        """While a run is going, the design and the data cannot be edited (the run trains a copy)."""
        self.data_panel.set_locked(locked)
        self.samples_menu.setEnabled(not locked)
        self.window.set_editing_locked(locked)

    # -- run history -------------------------------------------------------------------------------
    @Slot(object)
    def restore_design(self, run) -> None:
        """Put a run's layers back into the editor as one undoable step."""
        if self.controller.is_running:
            return
        design = self.window.design
        layers = [spec.copy() for spec in run.project.stack]
        design.undo_stack.beginMacro(f"Restore design of {run.path.name}")
        design.remove_layers(list(range(len(design.stack))))
        design.insert_layers(0, layers)
        design.undo_stack.endMacro()
        self.window.statusBar().showMessage(f"Restored the design of {run.path.name} (Undo to go back)", 8000)

    @Slot(object)
    def restore_settings(self, run) -> None:
        """Use a run's training settings."""
        if self.controller.is_running:
            return
        self.training_panel.set_config(run.project.training)
        self._on_training_config_changed(self.training_panel.config())
        self.window.statusBar().showMessage(f"Training settings of {run.path.name} restored", 8000)

    @Slot(int)
    def _look_inside(self, index: int) -> None:
        """A sample double-clicked in the Evaluation view: show it in the Inside view."""
        self.inside.choose_sample(index)
        self.inside_dock.show()
        self.inside_dock.raise_()

    def set_training_settings(self, config: dict) -> None:
        """Put *config* in the Training panel and the project (undo commands call this)."""
        self.training_panel.set_config(config)
        self._on_training_config_changed(self.training_panel.config())

    def find_learning_rate(self) -> None:
        """The range test in a dialog; its "Use" sets the learning rate as one undo step."""
        reason = self.ready_reason()
        if reason is not None or self.controller.is_running:
            self.window.statusBar().showMessage(f"Cannot run the range test now: {reason or 'a run is going'}", 6000)
            return
        from netstudio.ui.training.lr_finder_dialog import LearningRateDialog

        dialog = LearningRateDialog(self.window.project, self.data_panel.dataset, self.window)
        dialog.rate_chosen.connect(self._use_learning_rate)
        dialog.start()
        run_modal(dialog)

    def _use_learning_rate(self, rate: float) -> None:
        old = dict(self.window.project.training)
        new = {**old, "learning_rate": rate}
        self.window.design.undo_stack.push(SetTrainingSettings(old, new, self.set_training_settings,
                                                               f"Learning Rate {rate:g}"))

    # -- export, cluster ---------------------------------------------------------------------------
    def export_model(self) -> None:
        if not self.last_run_dir:
            QMessageBox.information(self.window, "Export Model", "Train a model first: export writes a finished run.")
            return
        from netstudio.ui.training.export_dialog import ExportDialog

        run_modal(ExportDialog(self.last_run_dir, self.window))

    def show_cluster_dialog(self) -> None:
        from netstudio.ui.training.cluster_dialog import ClusterDialog

        if self.window.project.path is None or self.window.design.modified:
            answer = QMessageBox.question(self.window, "Save First",
                                          "The cluster runs the saved project file. Save the project now?")
            if answer != QMessageBox.StandardButton.Yes or not self.window.save():
                return
        run_modal(ClusterDialog(self.window.project.path, self.window))

    @Slot(str, str)
    def on_devices_found(self, *_args) -> None:
        """List the devices PyTorch found (called once the start-up probe has imported PyTorch)."""
        from netstudio.core.training.devices import available_devices

        try:
            self.training_panel.set_devices(available_devices())
        except Exception as exc:  # a broken CUDA driver must not break the window
            self.training_panel.append_log(f"warning: could not list the devices: {exc}")

    # -- closing -----------------------------------------------------------------------------------
    def confirm_idle(self, doing: str = "close the window") -> bool:
        """Before closing or replacing the project: ask to stop a running run; True to go ahead."""
        if not self.is_running:
            return True
        if self.controller.is_saving and not self.sweeps.is_running:  # wait for the folder, never half-written
            self.controller.shutdown()
            return True
        what = "A training run" if self.controller.is_running else "A sweep"
        answer = QMessageBox.question(self.window, "Training Is Running",
                                      f"{what} is going. Stop it (the runs so far are saved) and {doing}?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.controller.shutdown()
        self.sweeps.shutdown()
        return True

    def shutdown(self) -> None:
        """Stop and join every background thread (the window is closing)."""
        self.controller.shutdown()
        self.sweeps.shutdown()
        self.data_panel.shutdown()
        self.inside_controller.shutdown()

    @property
    def is_running(self) -> bool:
        return self.controller.is_running or self.sweeps.is_running

    def open_data_path(self, path: str) -> None:
        """Use the data file or image folder at *path* (dropped on the window) and show the Data panel."""
        self.data_panel.open_path(path)
        self.data_dock.show()
        self.data_dock.raise_()

    @staticmethod
    def accepts_data(path: str) -> bool:
        p = Path(path)
        return p.is_dir() or p.suffix.lower() in DATA_SUFFIXES
