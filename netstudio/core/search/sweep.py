"""Running a sweep: trials one at a time, each a normal training run, ranked at the end.

:class:`Sweep` asks its Optuna study for a trial, puts the trial's values into a copy of the
project (:func:`~netstudio.core.search.space.with_values`), trains it as ``netstudio train``
would (:func:`~netstudio.core.training.session.prepare_session`), reports the validation metric
to the pruner after every epoch and saves the trial's run folder (``summary.json`` marked with
the study and the trial number). A trial whose values make an invalid design is FAIL with the
reason; one the pruner stops is PRUNED; the others are COMPLETE with the metric of the run's
best epoch (what its ``summary.json`` says).

Listeners (:class:`SweepListener`) hear each trial start and end in the sweep's thread, and
may hand the trainer extra callbacks (the window's live curve). :meth:`Sweep.request_stop`
is thread-safe: the sweep ends after the current trial, or at once with ``now=True``.
"""

from __future__ import annotations

import csv
import io
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netstudio.core.config import SweepConfig
from netstudio.core.errors import ConfigError, NetStudioError, describe
from netstudio.core.fileio import atomic_write_text
from netstudio.core.project import Project
from netstudio.core.runs.folder import METRIC_COLUMNS, save_run
from netstudio.core.search.space import sweep_config, with_values
from netstudio.core.search.study import open_study
from netstudio.core.strings import slug
from netstudio.core.training.states import Callback, EpochMetrics, FitSummary

STATES = ("COMPLETE", "PRUNED", "FAIL")


@dataclass(frozen=True)
class TrialStart:
    """A trial about to train: its number in the study and its values (path -> value)."""

    number: int
    params: dict
    epochs: int


@dataclass(frozen=True)
class TrialResult:
    """One finished trial, as ``trials.csv`` shows it.

    Attributes
    ----------
    state : str
        COMPLETE, PRUNED or FAIL.
    value : float or None
        The metric of a COMPLETE trial (of its run's best epoch).
    reason : str
        Why a trial failed or was pruned ("" for a complete one).
    run_dir : str or None
        The trial's run folder (None where it never trained, or another worker ran it).
    last_value : float or None
        The last metric reported to the pruner (what a pruned trial reached).
    """

    number: int
    state: str
    value: float | None
    params: dict
    duration_s: float | None
    reason: str = ""
    run_dir: str | None = None
    last_value: float | None = None


class SweepListener:
    """Hears a sweep's trials (in the sweep's thread); every hook is optional."""

    def on_trial_start(self, start: TrialStart) -> None: ...
    def training_callbacks(self) -> Sequence[Callback]:
        """Extra trainer callbacks for the trial that is starting."""
        return ()
    def on_trial_end(self, result: TrialResult) -> None: ...


class _TrialFailed(Exception):
    """Ends a trial as FAIL (its reason is already in the trial's user attributes)."""


class _Pruning(Callback):
    """Reports the metric after each epoch and stops the trainer when the pruner says so."""

    def __init__(self, trial, metric: str, trainer):
        self.trial, self.metric, self.trainer = trial, metric, trainer
        self.pruned_at: int | None = None
        self.last: float | None = None

    def on_epoch_end(self, metrics: EpochMetrics) -> None:
        value = metric_of(metrics, self.metric)
        if value is None:
            return
        self.last = value
        self.trial.report(value, metrics.epoch)
        if self.pruned_at is None and self.trial.should_prune():
            self.pruned_at = metrics.epoch
            self.trainer.request_stop()


def metric_of(metrics: EpochMetrics | None, metric: str) -> float | None:
    """*metric* of one epoch, or None when it has none (or it is not finite)."""
    if metrics is None:
        return None
    value = metrics.val_loss if metric == "val_loss" else metrics.values.get(metric)
    return float(value) if value is not None and math.isfinite(value) else None


class Sweep:
    """A hyper-parameter search of one project, on one Optuna study.

    Parameters
    ----------
    project : Project
        With a ``sweep`` section (its parameters' paths are checked here).
    storage : str, optional
        Where the study lives (see :func:`~netstudio.core.search.study.open_storage`); None: in memory.
    study_name : str, optional
        Default: the project's name (workers sharing a storage then share the study).
    dataset : Dataset, optional
        Already loaded data (the window's); loaded once here otherwise. Reloaded for each trial
        only when the sweep varies the data section.
    run_dir : callable, optional
        ``run_dir(number) -> Path``: where trial *number*'s run folder goes (default: beside the
        project's runs).
    write_models : callable, optional
        Passed on to :func:`~netstudio.core.runs.folder.save_run`.

    Raises
    ------
    ProjectError, ConfigError, DataError
        A bad sweep section, an unusable storage, unreadable data.
    """

    def __init__(self, project: Project, *, storage=None, study_name: str | None = None, dataset=None,
                 run_dir: Callable[[int], Path] | None = None, write_models=None):
        from netstudio.core.search.study import open_storage

        self.project = project
        self.config: SweepConfig = sweep_config(project)
        self.study_name = study_name or slug(project.name)
        self.run_dir = run_dir
        self.write_models = write_models
        self._reload_data = any(path.startswith("data.") for path in self.config.parameters)
        self._dataset = dataset
        self._stop = threading.Event()
        self._stop_now = threading.Event()
        self._lock = threading.Lock()
        self._trainer = None
        self._ours: dict[int, TrialResult] = {}
        self.stopped = False
        self.study = open_study(self.config, self.study_name, storage=open_storage(storage),
                                epochs=int(project.training["epochs"]))

    @property
    def parameters(self) -> list[str]:
        return list(self.config.parameters)

    # -- control (thread-safe) ---------------------------------------------------------------------
    def request_stop(self, now: bool = False) -> None:
        """End after the current trial; with *now*, stop the current trial's training too."""
        self._stop.set()
        if now:
            self._stop_now.set()
            with self._lock:
                if self._trainer is not None:
                    self._trainer.request_stop()

    # -- running -----------------------------------------------------------------------------------
    def run(self, trials: int | None = None, timeout_s: float | None = None,
            listeners: Sequence[SweepListener] = ()) -> list[TrialResult]:
        """Run *trials* trials (default: the section's) for at most *timeout_s* seconds.

        Returns this worker's trials in the order they ran. A stop request ends the sweep after
        the current trial (:attr:`stopped` is then True).
        """

        trials = self.config.trials if trials is None else trials
        timeout_s = self.config.timeout_s if timeout_s is None else timeout_s
        self.prepare()
        done: list[TrialResult] = []

        def after(study, frozen) -> None:
            result = self._result(frozen)
            self._ours[result.number] = result
            done.append(result)
            for listener in listeners:
                listener.on_trial_end(result)
            if self._stop.is_set():
                self.stopped = True
                study.stop()

        if self._stop.is_set():
            self.stopped = True
            return done
        self.study.optimize(lambda trial: self._objective(trial, listeners), n_trials=trials, timeout=timeout_s,
                            catch=(_TrialFailed,), callbacks=[after], gc_after_trial=False)
        return done

    def prepare(self) -> None:
        """Load the data now (once), so that a bad dataset or a metric the task lacks fails
        before the first trial."""
        if self._dataset is None and not self._reload_data:
            self._dataset = self._load(self.project)
        if self._dataset is not None:
            task = self._dataset.task
            offered = ["val_loss", *METRIC_COLUMNS.get(task, [])]
            if self.config.metric not in offered:
                raise ConfigError(f"sweep.metric: a {task} task has no {self.config.metric}: use one of "
                                  + ", ".join(offered))

    def _load(self, project: Project):
        from netstudio.core.data.load import load_project_dataset
        from netstudio.core.errors import ProjectError

        if not project.data:
            raise ProjectError("the project has no data: choose a dataset before sweeping")
        return load_project_dataset(project)

    def _objective(self, trial, listeners: Sequence[SweepListener]) -> float:
        from netstudio.core.search.space import suggest
        from netstudio.core.training.session import prepare_session

        values = suggest(trial, self.config)
        trial.set_user_attr("worker", f"{_host()}")
        for listener in listeners:
            listener.on_trial_start(TrialStart(trial.number, dict(values), int(self.project.training["epochs"])))
        try:
            project = with_values(self.project, values)
            dataset = self._load(project) if self._reload_data else self._dataset
            session = prepare_session(project, dataset=dataset)
        except Exception as exc:  # an invalid design or value: this trial fails, the sweep goes on
            self._fail(trial, describe(exc))
        pruning = _Pruning(trial, self.config.metric, session.trainer)
        extra = [cb for listener in listeners for cb in listener.training_callbacks()]
        with self._lock:
            self._trainer = session.trainer
            if self._stop_now.is_set():
                session.trainer.request_stop()
        try:
            summary = session.fit([pruning, *extra])
        except Exception as exc:  # the trainer reports its own failures; anything else ends this trial only
            self._fail(trial, describe(exc))
        finally:
            with self._lock:
                self._trainer = None
        folder = self._save(trial, session, summary)
        if pruning.last is not None:
            trial.set_user_attr("last_value", pruning.last)
        return self._value(trial, summary, pruning, folder)

    def _value(self, trial, summary: FitSummary, pruning: _Pruning, folder: Path | None) -> float:
        import optuna

        if pruning.pruned_at is not None:
            trial.set_user_attr("reason", f"pruned after epoch {pruning.pruned_at}")
            raise optuna.TrialPruned(f"pruned after epoch {pruning.pruned_at}")
        if summary.status == "stopped":
            self._fail(trial, "stopped before its last epoch")
        if not summary.ok:
            self._fail(trial, summary.message)
        value = metric_of(summary.best(), self.config.metric)
        if value is None:
            self._fail(trial, f"the run has no {self.config.metric} (does the data have a validation split?)")
        return value

    def _save(self, trial, session, summary: FitSummary) -> Path | None:
        out = self.run_dir(trial.number) if self.run_dir is not None else None
        marks = {"study": self.study_name, "trial": trial.number}
        try:
            folder = save_run(session, summary, out, write_models=self.write_models, marks=marks)
        except NetStudioError as exc:
            self._fail(trial, f"the run could not be saved: {describe(exc)}")
        trial.set_user_attr("run", str(folder))
        return folder

    @staticmethod
    def _fail(trial, reason: str):
        trial.set_user_attr("reason", reason)
        raise _TrialFailed(reason)

    def _result(self, frozen) -> TrialResult:
        duration = frozen.duration.total_seconds() if frozen.duration is not None else None
        attrs = frozen.user_attrs
        state = frozen.state.name if frozen.state.name in STATES else "FAIL"
        reason = attrs.get("reason", "")
        if state == "FAIL" and not reason:
            reason = "failed (see the log of the worker that ran it)"
        return TrialResult(frozen.number, state, frozen.value if state == "COMPLETE" else None,
                           dict(frozen.params), duration, reason, attrs.get("run"), attrs.get("last_value"))

    # -- results -----------------------------------------------------------------------------------
    def results(self) -> list[TrialResult]:
        """Every finished trial of the study (all workers'), ranked: best first, then the pruned,
        then the failed."""
        finished = [self._result(t) for t in self.study.get_trials(deepcopy=False)
                    if t.state.name in STATES]
        return rank(finished, self.config.maximize)

    def best(self) -> TrialResult | None:
        ranked = self.results()
        return ranked[0] if ranked and ranked[0].state == "COMPLETE" else None

    def best_project(self) -> Project | None:
        """The project with the best trial's values (its sweep section kept), or None."""
        best = self.best()
        return with_values(self.project, best.params) if best is not None else None

    def importance(self) -> dict[str, float]:
        """Each parameter's importance (Optuna's default evaluator, summing to 1); {} with too few trials."""
        import warnings

        import optuna

        complete = [t for t in self.study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
        if len(complete) < 2 or len(self.parameters) < 1:
            return {}
        try:
            with warnings.catch_warnings():  # "importances will be equal" on a few trials: shown as such
                warnings.simplefilter("ignore")
                found = optuna.importance.get_param_importances(self.study)
        except (ValueError, RuntimeError):  # every trial had the same values, or a parameter never varied
            return {}
        return {k: float(v) for k, v in found.items()}

    def write(self, folder: str | Path, results: list[TrialResult] | None = None) -> Path | None:
        """Write ``trials.csv`` (and ``best.nsproj`` when a trial completed) into *folder*.

        Returns the path of ``best.nsproj``, or None.
        """
        folder = Path(folder)
        results = self.results() if results is None else results
        atomic_write_text(folder / "trials.csv", trials_csv(results, self.parameters))
        best = self.best_project()
        if best is None:
            return None
        return best.save(folder / "best.nsproj")


def rank(results: list[TrialResult], maximize: bool) -> list[TrialResult]:
    """COMPLETE trials best first, then PRUNED by how far they got, then FAIL; ties by number."""
    def key(r: TrialResult):
        group = STATES.index(r.state)
        value = r.value if r.state == "COMPLETE" else r.last_value
        score = math.inf if value is None else (-value if maximize else value)
        return group, score, r.number

    return sorted(results, key=key)


def trials_csv(results: list[TrialResult], parameters: list[str]) -> str:
    """The ``trials.csv`` text: ``number, state, value``, one column per parameter, ``duration_s``;
    rows by trial number."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["number", "state", "value", *parameters, "duration_s"])
    for r in sorted(results, key=lambda r: r.number):
        writer.writerow([r.number, r.state, "" if r.value is None else repr(float(r.value)),
                         *(_cell(r.params.get(p)) for p in parameters),
                         "" if r.duration_s is None else f"{r.duration_s:.3f}"])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _host() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


