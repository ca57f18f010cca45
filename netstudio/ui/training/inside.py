"""The glue between the Inside view and training: the inspection probe, Try it, Explain, fixes.

:class:`InsideController` makes the :class:`~netstudio.core.training.inspection.InspectionProbe`
of each run; its snapshots and diagnoses come back through :class:`InsideSignals` (queued to the
GUI thread). While a run trains, Try it and Explain run on the training thread between two steps
(``probe.call_soon``), so nothing races the optimizer; when idle, Try it runs at once (one row)
and Explain on a :class:`~netstudio.ui.tasks.TaskRunner`. A diagnosis's remedy is one undo step:
its design edits and a :class:`SetTrainingSettings` command in one macro on the design's stack.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QUndoCommand

from netstudio.core.errors import NetStudioError


class InsideSignals(QObject):
    """Lives in the GUI thread; the training thread emits through it.

    Signals
    -------
    snapshot_ready(Snapshot), diagnoses_ready(tuple), try_ready(object), attribution_ready(object),
    failed(str) (an Explain that went wrong on the training thread)
    """

    snapshot_ready = Signal(object)
    diagnoses_ready = Signal(object)
    try_ready = Signal(object)
    attribution_ready = Signal(object)
    failed = Signal(str)


class SetTrainingSettings(QUndoCommand):
    """Replace the training settings (one undo step); *apply(config)* puts a config in place."""

    def __init__(self, old: dict, new: dict, apply: Callable[[dict], None], text: str = "Change Training Settings"):
        super().__init__(text)
        self.old, self.new, self.apply = old, new, apply

    def redo(self) -> None:
        self.apply(self.new)

    def undo(self) -> None:
        self.apply(self.old)


class InsideController(QObject):
    """See the module docstring. *workflow* is the :class:`TrainingWorkflow` (its public face:
    ``window``, ``controller``, ``is_running``, ``set_training_settings``)."""

    def __init__(self, workflow, view):
        super().__init__(workflow)
        from netstudio.ui.tasks import TaskRunner

        self.workflow, self.view = workflow, view
        self.signals = InsideSignals(self)
        self.probe = None
        self._last_image: str | None = None  # the image Try it last predicted, re-predicted as the model learns
        self._try_pending = False
        self.explainer = TaskRunner(self)
        self.signals.snapshot_ready.connect(view.show_snapshot)
        self.signals.snapshot_ready.connect(self._on_snapshot)
        self.signals.try_ready.connect(self._on_try_done)
        self.signals.diagnoses_ready.connect(view.show_diagnoses)
        self.signals.try_ready.connect(view.show_try_result)
        self.signals.attribution_ready.connect(view.show_attribution)
        self.signals.failed.connect(view.set_status)
        self.explainer.succeeded.connect(view.show_attribution)
        self.explainer.task_failed.connect(lambda message: view.set_status(f"Explain failed: {message}"))
        view.sample_changed.connect(self._on_sample_changed)
        view.try_requested.connect(self.try_it)
        view.explain_requested.connect(self.explain)
        view.remedy_requested.connect(self.apply_remedy)

    @property
    def session(self):
        return self.workflow.controller.session

    def _pool(self, session):
        data = session.dataset
        return data.X_val if data.n_val else data.X_train

    def probe_for(self, session, continuing: bool = False):
        """A run's probe: the view's sample, snapshots and diagnoses to the view. *continuing*
        (Continue on the same model): it goes on with the last probe's history, so the diagnoses
        see the epochs before the Continue too."""
        from netstudio.core.training.inspection import probe_for_session

        previous = self.probe
        history = previous.history if continuing and previous is not None and previous.model is session.model else None
        self.probe = probe_for_session(session, self.view.sample_index(), on_snapshot=self.signals.snapshot_ready.emit,
                                       on_diagnoses=self.signals.diagnoses_ready.emit, history=history)
        self._try_pending = False  # a Try it queued in the last run's probe has run or was dropped
        return self.probe

    def repeat_try(self) -> None:
        """Predict Try it's input again with the model as it is now (what the user typed, or the
        last image), at most one at a time: called when a run starts and on each snapshot while it
        trains, so the prediction follows the training live. Nothing typed: nothing to do."""
        if self._try_pending or self.session is None:
            return
        if self.view.is_image_input():
            request = {"image": self._last_image} if self._last_image else None
        else:
            values = self.view.try_values()
            request = {"values": values} if any(values.values()) else None
        if request is not None:
            self.try_it(request)

    @Slot(object)
    def _on_snapshot(self, _snapshot) -> None:
        if self.workflow.is_running:
            self.repeat_try()

    @Slot(object)
    def _on_try_done(self, _result) -> None:
        self._try_pending = False

    @Slot(int)
    def _on_sample_changed(self, index: int) -> None:
        session = self.session
        if session is None:
            return
        pool = self._pool(session)
        if not len(pool):
            return
        sample = pool[min(index, len(pool) - 1)]
        if self.probe is not None:
            self.probe.set_sample(sample)
            if not self.workflow.is_running and self.probe.model is session.model:
                self.probe.on_fit_end(None)  # idle: a fresh snapshot now (one forward pass)

    def _on_model(self, fn: Callable[[], object], emit, fail) -> None:
        """Run *fn* where the model may be used: between two steps while training, else now.
        Its result goes to *emit*, a failure's one-line message to *fail*: a Try it or Explain that
        goes wrong must not stop the run it was queued in."""
        def guarded():
            try:
                result = fn()
            except Exception as exc:  # noqa: BLE001 - reported in the view, the run goes on
                fail(f"{type(exc).__name__}: {exc}" if not isinstance(exc, NetStudioError) else str(exc))
                return
            emit(result)

        if not (self.workflow.is_running and self.probe is not None and self.probe.call_soon(guarded)):
            guarded()

    @Slot(object)
    def try_it(self, request: dict) -> None:
        from netstudio.core.training.try_it import predict_sample, prepare_image, prepare_values

        session = self.session
        if session is None:
            self.view.show_try_result("Train a model first: Try it uses the current model.")
            return
        try:
            sample = prepare_image(session.dataset, request["image"]) if "image" in request else \
                prepare_values(session.dataset, request.get("values", {}))
        except (NetStudioError, ValueError, OSError) as exc:
            self.view.show_try_result(f"Cannot use that: {exc}")
            return
        if "image" in request:
            self._last_image = request["image"]
        self._try_pending = True
        output = session.trainer.plan.output
        self._on_model(lambda: predict_sample(session.model, session.dataset, output, sample),
                       self.signals.try_ready.emit, lambda message: self.signals.try_ready.emit(f"Cannot predict: {message}"))

    @Slot()
    def explain(self) -> None:
        from netstudio.core.training.attribution import attribute

        session = self.session
        if session is None:
            self.view.set_status("Train a model first: Explain uses the current model.")
            return
        pool = self._pool(session)
        sample = pool[min(self.view.sample_index(), len(pool) - 1)]
        work = lambda: attribute(session.model, session.dataset, sample)  # noqa: E731
        if self.workflow.is_running and self.probe is not None:
            self._on_model(work, self.signals.attribution_ready.emit,
                           lambda message: self.signals.failed.emit(f"Explain failed: {message}"))
        else:
            self.explainer.start(lambda progress, cancelled: work())

    @Slot(object)
    def apply_remedy(self, remedy) -> None:
        """Apply a diagnosis's remedy as one undo step (not while a run trains: the design is locked)."""
        from netstudio.core.training.diagnoses import apply_settings

        if self.workflow.is_running:
            self.workflow.window.statusBar().showMessage("Stop the run first: fixes change the design", 6000)
            return
        window = self.workflow.window
        design = window.design
        stack = design.undo_stack
        stack.beginMacro(f"Fix: {remedy.label}")
        try:
            for index, fix in remedy.edits:
                design.apply_fix(index, fix)
            if remedy.settings:
                old = dict(window.project.training)
                new = apply_settings(old, remedy)
                stack.push(SetTrainingSettings(old, new, self.workflow.set_training_settings))
        finally:
            stack.endMacro()
        window.statusBar().showMessage(f"Applied: {remedy.label} (Undo takes it back)", 8000)

    def shutdown(self) -> None:
        self.explainer.shutdown()
