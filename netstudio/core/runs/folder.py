"""Run folders: everything a training run leaves behind, written atomically, read back safely.

A run folder (``runs/<project-name>-<timestamp>/`` beside the project by default) holds:

``metrics.csv``            one row per epoch: epoch, train_loss, val_loss, metrics, learning rate, samples/s, seconds
``summary.json``           task, classes, sizes, best epoch and its metrics, throughput, device, parameters
``resume.safetensors``     what ``train --resume`` needs, with ``resume.json`` (core/training/resume.py)
``project.nsproj``         the exact configuration used (data path rewritten to still point at the data)
``weights.safetensors``    the trained weights (best epoch where early stopping restored them)
``preprocessing.json``     the fitted preprocessing
``tokenizer.json``         a text model's fitted tokenizer (Hugging Face ``tokenizers`` JSON; also in preprocessing.json)
``metadata.json``          what a model file needs to be used without NetStudio (see the export contract)

The records are assembled under a temporary name and renamed into place in one step, so a crash
never leaves half a run, and an existing folder is never overwritten; the model files follow. The model files (``model.pt2``,
and ``model.onnx`` on request) are the exporter's work: :func:`save_run` writes them when it is handed the writer
(the command line and the window pass :func:`netstudio.core.export.exporter.write_run_models`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from netstudio import __version__
from netstudio.core.data.text import TOKENIZER_FILE, tokenizer_text
from netstudio.core.errors import ConfigError, ExportError
from netstudio.core.fileio import FolderClaim, atomic_folder, atomic_write_text, claim_folder
from netstudio.core.strings import slug
from netstudio.core.training.resume import write_resume
from netstudio.core.training.states import EpochMetrics, FitSummary

METRIC_COLUMNS = {"binary": ["val_accuracy", "val_auc"], "multiclass": ["val_accuracy"], "regression": ["val_r2", "val_mae"]}
TAIL_COLUMNS = ["learning_rate", "samples_per_second", "seconds"]
RUN_FILES = ("metrics.csv", "summary.json", "project.nsproj", "weights.safetensors", "preprocessing.json", "metadata.json",
             "resume.safetensors", "resume.json")
#: Written only where the run needs it: a text model's tokenizer.
OPTIONAL_RUN_FILES = (TOKENIZER_FILE,)

#: Writes the model files into a run folder being assembled: ``write(session, summary, folder)``.
ModelWriter = Callable[[object, FitSummary, Path], object]


def default_run_dir(project, when: _dt.datetime | None = None) -> Path:
    """``runs/<name>-<YYYYmmdd-HHMMSS>`` beside the project (a suffix if it already exists)."""
    when = when or _dt.datetime.now()
    base = project.base_dir / "runs" / f"{slug(project.name)}-{when:%Y%m%d-%H%M%S}"
    path, n = base, 2
    while path.exists():
        path = base.with_name(f"{base.name}-{n}")
        n += 1
    return path


def metrics_columns(task: str) -> list[str]:
    return ["epoch", "train_loss", "val_loss", *METRIC_COLUMNS[task], *TAIL_COLUMNS]


def metrics_csv(history: list[EpochMetrics], task: str) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, metrics_columns(task), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for m in history:
        writer.writerow({k: ("" if v is None else v) for k, v in m.row().items()})
    return out.getvalue()


def _finite(value):
    return value if value is None or math.isfinite(value) else None


def summary_doc(session, summary: FitSummary) -> dict:
    """The ``summary.json`` document (contract keys first)."""
    data = session.dataset
    best = summary.best()
    doc = {
        "task": data.task,
        "classes": data.classes,
        "n_train": data.n_train,
        "n_val": data.n_val,
        "n_test": data.n_test,
        "epochs_run": summary.epochs_run,
        "best_epoch": summary.best_epoch,
        "val_loss": _finite(best.val_loss) if best else None,
    }
    metrics = METRIC_COLUMNS[data.task]
    for key in metrics:
        doc[key] = _finite(best.values.get(key)) if best else None
    for key, value in summary.test.items():  # the test split's scores, when there is one
        doc[key] = _finite(value)
    doc.update({
        "samples_per_second": summary.samples_per_second,
        "device": summary.device,
        "parameters": summary.parameters,
        "world_size": summary.world_size,
        "status": summary.status,
        "message": summary.message,
        "train_loss": _finite(best.train_loss) if best else None,
        "loss": summary.loss,
        "train_seconds": summary.train_seconds,
        "started": session.started.isoformat(timespec="seconds"),
        "finished": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "seed": session.config.seed,
        "input_shape": list(data.input_shape),
        "project": session.project.name,
        "netstudio_version": __version__,
    })
    return doc


def model_metadata(session, summary: FitSummary) -> dict:
    """What travels inside every exported model (the export bundle's metadata)."""
    import torch

    data = session.dataset
    pre = data.preprocessor
    return {
        "format": "netstudio-model",
        "netstudio_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
        "name": session.project.name,
        "task": data.task,
        "classes": data.classes,
        "feature_names": list(data.feature_names),
        "input_shape": list(data.input_shape),
        "output_width": data.output_width,
        "vocabulary": data.vocabulary,
        "output_transform": summary.output_transform,
        "output": (["prob_" + c for c in data.classes] if data.classes else ["prediction"]),
        "target_mean": data.target_mean,
        "target_std": data.target_std,
        "raw_input": pre.raw_input() if pre is not None else None,
        "preprocessing": pre.to_json() if pre is not None else None,
        "layers": session.project.stack.to_config(),
        "loss": summary.loss,
        "best_epoch": summary.best_epoch,
    }


def claim_run_dir(out_dir: str | os.PathLike) -> FolderClaim:
    """Take the run folder *out_dir* before training starts: a file or a non-empty folder is
    refused now, not after the last epoch, and a second training given the same folder is refused
    at once (the claim is one ``O_EXCL`` file). Pass the claim to :func:`save_run`; release it
    if the run ends without saving.

    Raises
    ------
    ConfigError
        If *out_dir* is taken, not empty, or cannot be written.
    """
    return claim_folder(out_dir, ConfigError, "the run folder")


def save_run(session, summary: FitSummary, out_dir: str | os.PathLike | None = None, *,
             write_models: ModelWriter | None = None, marks: dict | None = None,
             claim: FolderClaim | None = None) -> Path:
    """Save the session's run; returns the folder.

    The records (metrics, summary, weights, preprocessing, metadata, the project) are written
    first and renamed into place in one step; the model files, which can take long to export,
    follow in the finished folder (each written under a temporary name and moved into place).
    A process killed while writing them leaves a run that ``netstudio export`` completes.

    Parameters
    ----------
    session : TrainingSession
    summary : FitSummary
        How the fit ended (its history becomes ``metrics.csv``).
    out_dir : path, optional
        The run folder (new or empty); default :func:`default_run_dir`.
    write_models : callable, optional
        ``write_models(session, summary, folder)`` writes the model files into the run folder
        (:func:`netstudio.core.export.exporter.write_run_models`); without it the run holds the
        weights, which is all ``export`` needs.
    claim : FolderClaim, optional
        The folder taken before training (:func:`claim_run_dir`); it is the run folder.
    marks : dict, optional
        Keys added to ``summary.json`` (a sweep's trial: ``{"study": ..., "trial": 3}``).

    Raises
    ------
    ConfigError
        If *out_dir* exists and is not empty (nothing is overwritten), or cannot be written.
    """
    from safetensors.torch import save_file

    if claim is not None:
        target = claim.path
    else:
        target = Path(out_dir).absolute() if out_dir is not None else default_run_dir(session.project, session.started)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise ConfigError(f"{target} already exists and is not empty: choose another --out folder")
    with atomic_folder(target, ConfigError, "the run folder", claimed=claim is not None) as tmp:
        metadata = model_metadata(session, summary)
        atomic_write_text(tmp / "metrics.csv", metrics_csv(summary.history, session.dataset.task))
        atomic_write_text(tmp / "summary.json", json.dumps({**summary_doc(session, summary), **(marks or {})},
                                                           indent=2) + "\n")
        atomic_write_text(tmp / "metadata.json", json.dumps(metadata, indent=2) + "\n")
        if session.dataset.preprocessor is not None:
            atomic_write_text(tmp / "preprocessing.json", json.dumps(session.dataset.preprocessor.to_json(), indent=2) + "\n")
            if session.dataset.preprocessor.text is not None:  # the tokenizer as its own file, as tokenizers writes it
                atomic_write_text(tmp / TOKENIZER_FILE, tokenizer_text(session.dataset.preprocessor.text))
        state = {k: v.detach().to("cpu").contiguous() for k, v in session.model.state_dict().items()}
        save_file(state, str(tmp / "weights.safetensors"), metadata={"netstudio": json.dumps(
            {k: metadata[k] for k in ("format", "netstudio_version", "task", "input_shape", "output_width")})})
        # Saved into a new folder, the data path becomes absolute: the run's project still finds its data.
        session.project.copy().save(tmp / "project.nsproj")
        write_resume(session.trainer, tmp)  # what `train --resume` needs
    if claim is not None:
        claim.filled()
    if write_models is not None:
        try:
            write_models(session, summary, target)
        except OSError as exc:
            raise ConfigError(f"cannot write the model files into {target}: {exc.strerror or exc} (the run is saved: "
                              f"'netstudio export {target}' writes them)") from None
    return target


# ------------------------------------------------------------------------------------------------
# Reading runs back


@dataclass
class Run:
    """A run folder read back: its configuration, metadata, summary and metrics (no weights yet)."""

    path: Path
    project: object
    metadata: dict
    summary: dict
    metrics: list[dict]

    def load_model(self):
        """Rebuild the trained ``nn.Sequential`` and load its weights (safetensors only)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        from netstudio.core.design.builder import build_model

        model = build_model(self.project.stack, tuple(self.metadata["input_shape"]), self.metadata["output_width"],
                            vocabulary=self.metadata.get("vocabulary"))
        try:
            state = load_file(str(self.path / "weights.safetensors"))
        except (OSError, SafetensorError) as exc:
            raise ExportError(f"{self.path / 'weights.safetensors'}: cannot read the weights ({exc})") from None
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise ExportError(f"{self.path}: the weights do not match the design ({first})") from None
        model.eval()
        return model

    def preprocessor(self):
        from netstudio.core.data.preprocess import Preprocessor

        doc = self.metadata.get("preprocessing")
        return Preprocessor.from_json(doc) if doc else None


def load_run(path: str | os.PathLike) -> Run:
    """Read a run folder written by :func:`save_run`.

    Raises
    ------
    ExportError
        If the folder is missing, incomplete or not a NetStudio run.
    """
    from netstudio.core.project import load_project

    path = Path(path)
    if not path.is_dir():
        raise ExportError(f"{path} is not a run folder (no such folder)")
    missing = [name for name in ("metadata.json", "project.nsproj", "weights.safetensors") if not (path / name).is_file()]
    if missing:
        raise ExportError(f"{path} is not a complete NetStudio run (missing {', '.join(missing)})")
    try:
        metadata = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8")) if (path / "summary.json").is_file() else {}
    except (OSError, ValueError) as exc:
        raise ExportError(f"{path}: unreadable run metadata ({exc})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != "netstudio-model":
        raise ExportError(f"{path} is not a NetStudio run (metadata.json has no netstudio-model format)")
    project = load_project(path / "project.nsproj")
    metrics = []
    if (path / "metrics.csv").is_file():
        with open(path / "metrics.csv", newline="", encoding="utf-8") as handle:
            metrics = [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    return Run(path, project, metadata, summary, metrics)


def _number(text: str):
    if text == "" or text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
