"""Run history: the runs stored beside a project, as rows to compare, and safe deletion.

Every training run is a folder under the project's ``runs/`` (see :mod:`netstudio.core.runs.folder`).
This module lists them (newest first), summarises each as a table row, compares two runs'
configurations and deletes a run only when the folder really is a NetStudio run.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from netstudio.core.errors import ExportError, NetStudioError
from netstudio.core.runs.folder import Run, load_run


@dataclass
class RunRow:
    """What the runs table shows for one run."""

    path: Path
    name: str
    started: str
    layers: str
    parameters: int | None
    optimizer: str
    learning_rate: float | None
    metric_name: str
    best_metric: float | None
    best_epoch: int | None
    epochs_run: int | None
    duration_seconds: float | None
    status: str
    task: str | None
    extra: dict = field(default_factory=dict)
    test_metric: float | None = None  # the same metric on the test split (data.test_split), if any


def runs_folder(project) -> Path:
    return project.base_dir / "runs"


def list_runs(folder: str | Path) -> list[Run]:
    """Every readable run folder directly under *folder*, newest first; broken ones are skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    runs = []
    for path in folder.iterdir():
        if not path.is_dir() or path.name.startswith("."):
            continue
        try:
            runs.append(load_run(path))
        except NetStudioError:
            continue
    runs.sort(key=lambda r: (r.summary.get("started") or "", r.path.name), reverse=True)
    return runs


def layer_text(layers: list[dict]) -> str:
    """A compact description of a layer list: ``Linear(64) → ReLU → Linear(auto)``."""
    parts = []
    for layer in layers:
        params = layer.get("params", {})
        main = params.get("out_features", params.get("out_channels", params.get("hidden_size")))
        parts.append(f"{layer.get('type')}({main})" if main is not None else str(layer.get("type")))
    return " → ".join(parts)


def run_row(run: Run) -> RunRow:
    s, training = run.summary, run.project.training
    metric = "val_accuracy" if "val_accuracy" in s else ("val_r2" if "val_r2" in s else "val_loss")
    duration = None
    try:
        duration = (_dt.datetime.fromisoformat(s["finished"]) - _dt.datetime.fromisoformat(s["started"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        pass
    return RunRow(
        path=run.path, name=run.path.name, started=(s.get("started") or "").replace("T", " ")[:19],
        layers=layer_text(run.metadata.get("layers") or run.project.stack.to_config()),
        parameters=s.get("parameters"), optimizer=training.get("optimizer", ""),
        learning_rate=training.get("learning_rate"), metric_name=metric, best_metric=s.get(metric),
        best_epoch=s.get("best_epoch"), epochs_run=s.get("epochs_run"), duration_seconds=duration,
        status=s.get("status", "completed"), task=s.get("task"),
        test_metric=s.get(metric.replace("val_", "test_", 1)),
    )


def flatten(doc, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists of layers become ``model.layers[i]...``."""
    flat = {}
    if isinstance(doc, dict):
        for key, value in doc.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(doc, list) and doc and all(isinstance(v, dict) for v in doc):
        for index, value in enumerate(doc):
            flat.update(flatten(value, f"{prefix}[{index}]"))
    else:
        flat[prefix] = doc
    return flat


def config_diff(a: Run, b: Run) -> list[tuple[str, object, object]]:
    """The settings that differ between two runs: ``(path, value in a, value in b)``, sorted."""
    fa = flatten({"data": a.project.data, "model": {"layers": a.project.stack.to_config()}, "training": a.project.training})
    fb = flatten({"data": b.project.data, "model": {"layers": b.project.stack.to_config()}, "training": b.project.training})
    keys = sorted(set(fa) | set(fb))
    return [(k, fa.get(k), fb.get(k)) for k in keys if fa.get(k) != fb.get(k)]


def delete_run(path: str | Path) -> None:
    """Delete a run folder, refusing anything that is not a NetStudio run."""
    path = Path(path)
    try:
        metadata = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        metadata = None
    if not path.is_dir() or path.is_symlink() or not isinstance(metadata, dict) \
            or metadata.get("format") != "netstudio-model":
        raise ExportError(f"{path} is not a NetStudio run folder: not deleting it")
    shutil.rmtree(path)
