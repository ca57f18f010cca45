"""Helpers shared by the export and predict tests (no tests here).

Tiny real runs are trained in-process (``prepare_session`` + ``fit`` + ``save_run``, a second
or two each); exported files are loaded in fresh interpreters in which importing ``netstudio``
fails, as they would be on a machine without NetStudio.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from tests.commands import netstudio

#: Prepended to every isolated script: any import of netstudio raises ImportError.
BLOCK_NETSTUDIO = '''
import sys


class _BlockNetStudio:
    def find_spec(self, name, path=None, target=None):
        if name == "netstudio" or name.startswith("netstudio."):
            raise ImportError(f"{name} is blocked: exported models must work without NetStudio")
        return None


sys.meta_path.insert(0, _BlockNetStudio())
try:
    import netstudio  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("netstudio is importable: the isolation failed")
'''

#: Makes the packages in ``BLOCKED`` (set by the caller) look not installed: ``import`` fails and
#: ``importlib.util.find_spec`` answers None.
BLOCK_PACKAGES = '''
import sys

for _name in BLOCKED:
    sys.modules[_name] = None
'''


def run_isolated(code: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run *code* in a fresh interpreter where ``import netstudio`` fails; assert it worked."""
    script = BLOCK_NETSTUDIO + textwrap.dedent(code)
    result = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def run_without(packages: list[str], args: list[str], cwd: Path | None = None,
                timeout: int = 300) -> subprocess.CompletedProcess:
    """``python -m netstudio ARGS`` in an interpreter where *packages* cannot be imported."""
    return netstudio(*args, cwd=cwd, timeout=timeout, prelude=f"BLOCKED = {set(packages)!r}\n" + BLOCK_PACKAGES)


def write_project(folder: Path, name: str, data: dict, layers: list[dict], training: dict | None = None) -> Path:
    doc = {"format": "netstudio-project", "version": 1, "name": name, "data": data,
           "model": {"layers": layers},
           "training": {"epochs": 2, "learning_rate": 0.01, "batch_size": 16, **(training or {})}}
    path = folder / f"{name}.nsproj"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def train_run(folder: Path, name: str, data: dict, layers: list[dict], training: dict | None = None,
              onnx: bool = False) -> Path:
    """Train a project in-process and save its run folder (with model.pt2; model.onnx too if *onnx*)."""
    import functools

    from netstudio.core.export.exporter import write_run_models
    from netstudio.core.project import load_project
    from netstudio.core.runs.folder import save_run
    from netstudio.core.training.session import prepare_session

    session = prepare_session(load_project(write_project(folder, name, data, layers, training)))
    summary = session.fit()
    assert summary.ok, summary.message
    writer = functools.partial(write_run_models, onnx=onnx)
    return save_run(session, summary, folder / f"run-{name}", write_models=writer)


def one_line_error(result, *words) -> None:
    """*result* (a finished ``netstudio`` command) failed with bad input: one line, naming *words*."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("netstudio: error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def reference_outputs(run_dir: Path, raw: np.ndarray) -> np.ndarray:
    """What the trained network says about raw inputs, computed the way training prepared data:
    the run's Sequential on ``Preprocessor.transform_array`` outputs, then probabilities or the
    target's units. Independent of the export code."""
    import torch

    from netstudio.core.design.losses import to_probabilities
    from netstudio.core.runs.folder import load_run

    run = load_run(run_dir)
    x = run.preprocessor().transform_array(np.array(raw, dtype=np.float32))
    with torch.no_grad():
        out = run.load_model()(torch.from_numpy(x))
        if run.metadata["task"] == "regression":
            return run.preprocessor().inverse_target(out.numpy()).astype(np.float32)
        return to_probabilities(out, run.metadata["output_transform"]).numpy()


def write_table(path: Path, rows: int = 160, seed: int = 0) -> Path:
    """A CSV with numbers (some missing), a category (some missing), a yes/no column and a
    three-class text target that depends on them."""
    rng = np.random.default_rng(seed)
    size = rng.normal(50, 10, rows)
    weight = rng.normal(5, 2, rows)
    colour = rng.choice(["red", "green", "blue"], rows)
    member = rng.choice(["yes", "no"], rows)
    score = (size - 50) / 10 + (weight - 5) / 2 + np.where(colour == "red", 1.5, 0) + np.where(member == "yes", -1, 0)
    label = np.where(score > 0.8, "high", np.where(score < -0.8, "low", "mid"))
    lines = ["size,weight,colour,member,label"]
    for i in range(rows):
        cells = [f"{size[i]:.3f}", f"{weight[i]:.3f}", colour[i], member[i], label[i]]
        if i % 7 == 3:
            cells[0] = ""
        if i % 11 == 5:
            cells[1] = "NA"
        if i % 13 == 6:
            cells[2] = ""
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_sequences(path: Path, rows: int = 120, seed: int = 0) -> Path:
    """An .npz of sequences X [N, 6, 3] with a binary label."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 6, 3)).astype(np.float32)
    np.savez(path, X=X, y=(X[:, :, 0].sum(axis=1) > 0).astype(np.int64))
    return path


def write_pictures(path: Path, rows: int = 96, seed: int = 0) -> Path:
    """An .npz of one-channel 8x8 'images' X [N, 1, 8, 8] (0-255) with three classes."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(rows, 1, 8, 8)).astype(np.float32)
    top, left = X[:, 0, :4].mean(axis=(1, 2)), X[:, 0, :, :4].mean(axis=(1, 2))
    np.savez(path, X=X, y=np.where(top > left + 3, 2, np.where(left > top + 3, 1, 0)))
    return path


MLP = [{"type": "Linear", "params": {"out_features": 16}}, {"type": "ReLU"},
       {"type": "Dropout", "params": {"p": 0.1}}, {"type": "Linear", "params": {"out_features": "auto"}}]
CNN = [{"type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3, "padding": "same"}},
       {"type": "BatchNorm2d"}, {"type": "ReLU"}, {"type": "MaxPool2d"},
       {"type": "AdaptiveAvgPool2d", "params": {"output_size": 3}},  # 4 -> 3: windows that overlap
       {"type": "Flatten"}, {"type": "Linear", "params": {"out_features": "auto"}}]
LSTM = [{"type": "LSTM", "params": {"hidden_size": 8, "num_layers": 2, "bidirectional": True}},
        {"type": "Linear", "params": {"out_features": "auto"}}]
#: Every block kind in one table model: a Residual, a Parallel (with an empty branch), a Repeat.
BLOCKS = [{"type": "Linear", "params": {"out_features": 12}},
          {"type": "Residual", "params": {"shortcut": "auto"}, "layers": [
              {"type": "Linear", "params": {"out_features": 12}}, {"type": "ReLU"}]},
          {"type": "Parallel", "params": {"merge": "concat"}, "branches": [
              [{"type": "Linear", "params": {"out_features": 6}}, {"type": "Tanh"}], []]},
          {"type": "Repeat", "params": {"times": 2}, "layers": [
              {"type": "Linear", "params": {"out_features": 8}}, {"type": "ReLU"}]},
          {"type": "Linear", "params": {"out_features": "auto"}}]
GRU = [{"type": "GRU", "params": {"hidden_size": 8, "return_sequences": True}}, {"type": "Flatten"},
       {"type": "Linear", "params": {"out_features": "auto"}}]


def write_prices(path: Path, rows: int = 150, seed: int = 1) -> Path:
    """A CSV regression table: price (hundreds to thousands) from area, rooms and a city."""
    rng = np.random.default_rng(seed)
    area = rng.uniform(30, 150, rows)
    rooms = rng.integers(1, 6, rows)
    city = rng.choice(["north", "south"], rows)
    price = 20 * area + 150 * rooms + np.where(city == "north", 400, 0) + rng.normal(0, 50, rows)
    lines = ["area,rooms,city,price"]
    for i in range(rows):
        lines.append(f"{'' if i % 9 == 4 else f'{area[i]:.1f}'},{rooms[i]},{city[i]},{price[i]:.2f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def close(actual: np.ndarray, expected: np.ndarray, tolerance: float = 1e-4) -> float:
    """Assert the export tolerance (absolute, relative above 1) and return the largest difference."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    diff = np.abs(actual - expected)
    assert (diff <= tolerance * np.maximum(1.0, np.abs(expected))).all(), f"max difference {diff.max()}"
    return float(diff.max())
