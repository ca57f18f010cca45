"""Sweeps in the window: the Sweep panel, "Sweep This" on settings, the sweep's thread, Apply Best.

:class:`SweepFlow` joins the :class:`~netstudio.ui.training.workflow.TrainingWorkflow`: "Sweep
This" (training panel, inspector) adds a setting to the project's ``sweep`` section with
:func:`~netstudio.core.search.space.suggested_range`; Run Sweep trains a copy of the project, one
trial at a time, on the :class:`~netstudio.ui.training.sweep_worker.SweepController`'s thread,
with the design locked as during a run; each trial's run folder goes beside the project's runs
and appears in Runs. Apply Best puts the best trial's values into the design and the training
settings as one undo step.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QUndoCommand

from netstudio.core.errors import NetStudioError
from netstudio.ui.training.sweep_panel import SweepPanel
from netstudio.ui.training.sweep_worker import SweepController, SweepUpdate


class SetTraining(QUndoCommand):
    """Replace the training section (one part of Apply Best), through *apply(section)*."""

    def __init__(self, apply, before: dict, after: dict, text: str = "Set Training Settings"):
        super().__init__(text)
        self.apply, self.before, self.after = apply, before, after

    def redo(self) -> None:
        self.apply(self.after)

    def undo(self) -> None:
        self.apply(self.before)


class SweepFlow(QObject):
    """The Sweep panel and its sweeps, for one window's training workflow."""

    def __init__(self, workflow):
        super().__init__(workflow)
        self.workflow = workflow
        self.window = window = workflow.window
        self.controller = SweepController(self)
        self.panel = SweepPanel()
        self.dock = window.add_panel(self.panel, "Sweep", Qt.DockWidgetArea.BottomDockWidgetArea, "sweepDock",
                                     tabify_with=workflow.plot_dock)
        p, c = self.panel, self.controller
        workflow.training_panel.sweep_requested.connect(self.sweep_this)
        window.inspector.sweep_requested.connect(self.sweep_this)
        p.section_changed.connect(self._on_section_changed)
        p.run_requested.connect(self.start)
        p.stop_requested.connect(c.stop)
        p.apply_best_requested.connect(self.apply_best)
        c.trial_started.connect(p.trial_started)
        c.epoch_ended.connect(p.add_epoch)
        c.trial_finished.connect(self._on_trial_finished)
        c.sweep_finished.connect(self._on_finished)
        c.sweep_failed.connect(self._on_failed)
        c.running_changed.connect(self._on_running_changed)

    @property
    def is_running(self) -> bool:
        return self.controller.is_running

    # -- the section -------------------------------------------------------------------------------
    def show_project(self, project) -> None:
        from netstudio.core.search.space import sweep_section

        self.panel.ranked = []
        self.panel.set_section(sweep_section(project))

    def show_dataset(self, dataset) -> None:
        from netstudio.core.runs.folder import METRIC_COLUMNS

        self.panel.set_metrics(["val_loss", *METRIC_COLUMNS.get(dataset.task, [])])

    def sweep_this(self, path: str) -> bool:
        """Add the setting at *path* to the sweep with a range around its value; show the panel."""
        from netstudio.core.search.space import set_parameter, suggested_range

        if self.is_running or self.workflow.controller.is_running:
            return False
        project = self.window.project
        try:
            set_parameter(project, path, suggested_range(project, path))
        except NetStudioError as exc:
            self.window.statusBar().showMessage(f"Cannot sweep {path}: {exc}", 8000)
            return False
        self.show_project(project)
        self.window.mark_modified()
        self.dock.show()
        self.dock.raise_()
        self.window.statusBar().showMessage(f"{path} added to the sweep (Sweep panel)", 6000)
        return True

    def _on_section_changed(self, section: dict) -> None:
        from netstudio.core.config import validate_sweep
        from netstudio.core.search.space import SECTION

        try:
            validate_sweep(section)
        except NetStudioError as exc:
            self.panel.status.setText(str(exc))
            return
        self.window.project.extra[SECTION] = section
        self.window.mark_modified()

    def update_ready(self) -> None:
        reason = self.workflow.ready_reason()
        if reason is None and self.workflow.controller.is_running:
            reason = "a training run is going"
        self.panel.set_ready(reason)

    # -- running -----------------------------------------------------------------------------------
    def start(self) -> bool:
        from netstudio.core.search.space import with_values

        reason = self.workflow.ready_reason()
        if reason is not None or self.is_running or self.workflow.controller.is_running:
            if reason:
                self.window.statusBar().showMessage(f"Cannot sweep yet: {reason}", 6000)
            return False
        out = self.workflow._out_dir()
        try:
            project = with_values(self.window.project, {})  # a copy: the design may change afterwards
            started = self.controller.start(project, self.workflow.data_panel.dataset,
                                            run_dir=(lambda _n: Path(out())) if out else None)
        except NetStudioError as exc:
            self.panel.status.setText(f"Cannot sweep: {exc}")
            return False
        if started:
            self.panel.sweep_started()
        return started

    @Slot(object)
    def _on_trial_finished(self, update: SweepUpdate) -> None:
        self.panel.show_update(update)
        if update.result.run_dir:
            self.workflow.runs_panel.refresh()

    @Slot(bool)
    def _on_finished(self, stopped: bool) -> None:
        best = next((r for r in self.panel.ranked if r.state == "COMPLETE"), None)
        done = len(self.panel.ranked)
        text = f"Sweep {'stopped' if stopped else 'finished'}: {done} trial{'s' if done != 1 else ''}"
        if best is not None:
            text += f"; best trial {best.number}, {self.panel.section.get('metric', 'val_loss')} {best.value:.4f}"
        self.panel.sweep_ended(text)
        self.window.statusBar().showMessage(text, 8000)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.panel.sweep_ended(f"The sweep failed: {message}")

    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        self.panel.set_running(running)
        self.workflow.set_design_locked(running)
        self.workflow.training_panel.setEnabled(not running)
        self.workflow._update_actions()

    # -- apply best --------------------------------------------------------------------------------
    def apply_best(self) -> bool:
        """Put the best trial's values into the design and training settings (one undo step)."""
        from netstudio.core.search.space import parse_path, with_values

        best = next((r for r in self.panel.ranked if r.state == "COMPLETE"), None)
        if best is None or self.is_running:
            return False
        window, design = self.window, self.window.design
        try:
            new = with_values(window.project, best.params)
        except NetStudioError as exc:
            self.panel.status.setText(f"Cannot apply trial {best.number}: {exc}")
            return False
        layers = sorted({parse_path(p)[2] for p in best.params if p.startswith("model.")})
        design.undo_stack.beginMacro(f"Apply Best Trial {best.number}")
        for index in layers:
            design.replace_layer(index, new.stack[index].copy(), f"Apply Best Trial {best.number}")
        if new.training != window.project.training:
            design.undo_stack.push(SetTraining(self._set_training, dict(window.project.training), new.training))
        design.undo_stack.endMacro()
        self.panel.status.setText(f"Trial {best.number}'s values applied (Undo to go back)")
        return True

    def _set_training(self, section: dict) -> None:
        panel = self.workflow.training_panel
        panel.set_config(section)
        self.workflow._on_training_config_changed(panel.config())

    # -- closing -----------------------------------------------------------------------------------
    def shutdown(self) -> None:
        self.controller.shutdown()
