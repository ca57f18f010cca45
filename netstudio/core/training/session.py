"""One training session of a project: the path from a project file to a trained model.

:func:`prepare_session` applies the command line's (or window's) overrides to a copy of the
project, loads the data, checks the design against it, picks the device and builds the model.
The returned :class:`TrainingSession` trains (``fit``, ``continue_fit``) and is what
:func:`netstudio.core.runs.folder.save_run` saves. The CLI and the GUI worker both go through here, so a
run in the window and a run on a server are the same run.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from netstudio.core.config import TrainConfig, validate_data
from netstudio.core.data.dataset import Dataset
from netstudio.core.design.builder import build_model
from netstudio.core.design.losses import check_training
from netstudio.core.design.validation import Issue, Validation
from netstudio.core.errors import ProjectError
from netstudio.core.project import Project
from netstudio.core.training.augment import is_active
from netstudio.core.training.states import Callback, FitSummary
from netstudio.core.training.trainer import Trainer

#: File suffixes --data understands, and the data source each one means.
SOURCE_BY_SUFFIX = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".tab": "csv", ".psv": "csv", ".npz": "npz"}


@dataclass
class TrainingSession:
    """A project ready to train: its exact configuration, data, checked design, model and trainer."""

    project: Project
    dataset: Dataset
    validation: Validation
    config: TrainConfig
    model: object
    trainer: Trainer
    started: _dt.datetime = field(default_factory=lambda: _dt.datetime.now().astimezone())
    summary: FitSummary | None = None

    def fit(self, callbacks: Sequence[Callback] = (), resume=None) -> FitSummary:
        """Train; *resume* (a ``ResumePoint``) goes on from a saved run for ``config.epochs`` more epochs."""
        self.summary = self.trainer.fit(self.model, self.dataset, callbacks, stack=self.project.stack, resume=resume)
        return self.summary

    def continue_fit(self, epochs: int, callbacks: Sequence[Callback] = ()) -> FitSummary:
        """Train *epochs* more epochs; the saved configuration counts them in."""
        self.summary = self.trainer.continue_fit(epochs, callbacks)
        self.project.training["epochs"] = self.summary.epochs_run
        return self.summary


def apply_overrides(project: Project, *, data_path: str | Path | None = None, epochs: int | None = None,
                    device: str | None = None, seed: int | None = None) -> Project:
    """A copy of *project* with the command line's overrides in it (validated)."""
    project = project.copy()
    if data_path is not None:
        path = Path(data_path).expanduser().absolute()
        data = dict(project.data)
        if path.is_dir():
            source = "images"
        else:
            source = SOURCE_BY_SUFFIX.get(path.suffix.lower())
            if source is None:
                source = data.get("source") if data.get("source") in ("csv", "npz") else "csv"
        if data.get("source") != source:
            data = {k: v for k, v in data.items() if k in ("target", "exclude", "task", "validation_split", "test_split",
                                                          "normalize", "seed")}
            data["source"] = source
        data["path"] = str(path)
        project.data = validate_data(data)
    if epochs is not None:
        project.training["epochs"] = epochs
    if device is not None:
        project.training["device"] = device
    if seed is not None:
        project.training["seed"] = seed
    TrainConfig.from_dict(project.training)  # refuse impossible settings before loading anything
    return project


def check_design(project: Project, dataset: Dataset, config: TrainConfig) -> Validation:
    """The design validated against the data and the loss; errors are in the returned value."""
    validation = project.stack.validate(dataset.input_shape, dataset.output_width, batch_size=config.batch_size,
                                        vocabulary=dataset.vocabulary)
    validation = check_training(validation, project.stack, dataset.task, dataset.classes, config.loss)
    if config.class_weights is not None and not dataset.is_classification:
        validation.issues.append(Issue("error", "training.class_weights: weights classes, but the task is "
                                                f"{dataset.task}: set it to null"))
    if is_active(project.data.get("augment")) and len(dataset.input_shape) != 3:
        validation.issues.append(Issue("error", "data.augment: changes images, but this data is not images: "
                                                "remove it"))
    return validation


def prepare_session(project: Project, *, dataset: Dataset | None = None,
                    progress: Callable[[int, int], None] | None = None, cancel: Callable[[], bool] | None = None,
                    distributed=None, **overrides) -> TrainingSession:
    """Load the data, check the design, resolve the device and build the model.

    Parameters
    ----------
    project : Project
    dataset : Dataset, optional
        Already loaded data (the window has it); loaded from the project otherwise.
    progress, cancel : callable, optional
        Passed to the data loader.
    distributed : Distributed, optional
        This process's place in a torchrun job: it joins the job's process group here, on the
        device that suits its local rank, and the trainer trains its shard of the data.
    **overrides
        ``data_path``, ``epochs``, ``device``, ``seed``: see :func:`apply_overrides`.

    Raises
    ------
    ProjectError, DataError, ConfigError
        Bad project, unreadable or unsuitable data, an invalid design, an unavailable device.
    TrainingError
        The other processes of a torchrun job cannot be reached.
    """
    from netstudio.core.training.devices import resolve_device

    project = apply_overrides(project, **overrides)
    config = TrainConfig.from_dict(project.training)
    if dataset is None:
        if not project.data:
            raise ProjectError("the project has no data: choose a dataset (or pass --data)")
        from netstudio.core.data.load import load_project_dataset

        dataset = load_project_dataset(project, progress=progress, cancel=cancel)
    validation = check_design(project, dataset, config)
    if not validation.valid:
        raise ProjectError(f"the model does not fit the data: {validation.first_error()}")
    device = distributed.join(config.device) if distributed is not None else resolve_device(config.device)
    model = build_model(project.stack, dataset.input_shape, dataset.output_width, seed=config.seed,
                        validation=validation)
    trainer = Trainer(config, device, distributed, augment=project.data.get("augment"),
                      memory_bytes=validation.memory_bytes)
    return TrainingSession(project, dataset, validation, config, model, trainer)
