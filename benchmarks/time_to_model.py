"""Time to a trained model: ``netstudio train`` against a hand-written script doing the same job.

Both sides start a fresh Python process and end when the model file is on disk; the clock runs from
just before the process starts to its exit:

* ``netstudio``: ``python -m netstudio train PROJECT --out DIR --quiet`` on a 178-row CSV (13
  numeric features, 3 classes, the size of the classic wine data) for 30 epochs: the run folder
  written (``model.pt2``, weights, metrics, summary, project, preprocessing);
* ``script``: a hand-written PyTorch script: read the CSV with pandas, split 80/20, standardise on
  the training rows, train the same network (same optimizer, learning rate, batch size, epochs,
  validation loss each epoch), write ``metrics.csv`` and save a ``.pt2`` with torch.export (the
  standardisation and the softmax inside, dynamic batch).

``OMP_NUM_THREADS=1`` on both sides (the machine has 2 cores). The sides alternate round by round
(the order flips each round) after one untimed warm-up of each; the table shows the median of
``--rounds`` (default 3) and the spread. Goal: NetStudio <= 1.25x the script.
``--profile`` also prints where one ``netstudio train`` spends its time (cProfile, cumulative).

``--window-rounds N`` (default 3; 0 skips it) then trains the same table in the real window
(offscreen, through the Train path of :mod:`_window`) and measures the end-of-run latency: from the
trainer's ``fit`` returning on the worker thread to the design being unlocked in the GUI thread
(goal <= 0.5 s), and to the run folder being saved (which goes on in the background meanwhile).

    python benchmarks/time_to_model.py [--rounds 3] [--epochs 30] [--window-rounds 3] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
ROWS, FEATURES, CLASSES = 178, 13, 3
HIDDEN, BATCH, LEARNING_RATE = 32, 16, 0.01

SCRIPT = r'''
import sys, csv
import numpy as np
import pandas as pd
import torch
from torch import nn

path, out, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.manual_seed(0)
frame = pd.read_csv(path)
x = frame.drop(columns=["label"]).to_numpy(np.float32)
classes = sorted(frame["label"].unique())
y = frame["label"].map({c: i for i, c in enumerate(classes)}).to_numpy(np.int64)
order = np.random.default_rng(0).permutation(len(x))
n_val = int(round(0.2 * len(x)))
val, train = order[:n_val], order[n_val:]
mean, std = x[train].mean(0), x[train].std(0) + 1e-8
xt = torch.from_numpy((x - mean) / std)
yt = torch.from_numpy(y)
x_train, y_train, x_val, y_val = xt[train], yt[train], xt[val], yt[val]

net = nn.Sequential(nn.Linear(x.shape[1], HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, len(classes)))
optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
loss_fn = nn.CrossEntropyLoss()
rows = []
for epoch in range(1, epochs + 1):
    net.train()
    perm = torch.randperm(len(x_train))
    total = 0.0
    for i in range(0, len(perm), BATCH):
        idx = perm[i:i + BATCH]
        optimizer.zero_grad()
        loss = loss_fn(net(x_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    net.eval()
    with torch.no_grad():
        logits = net(x_val)
        val_loss = loss_fn(logits, y_val).item()
        accuracy = (logits.argmax(1) == y_val).float().mean().item()
    rows.append((epoch, total / len(x_train), val_loss, accuracy))
with open(out + "/metrics.csv", "w", newline="") as handle:
    csv.writer(handle).writerows([("epoch", "train_loss", "val_loss", "val_accuracy"), *rows])


class Model(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.from_numpy(mean))
        self.register_buffer("std", torch.from_numpy(std))

    def forward(self, raw):
        return torch.softmax(self.net((raw - self.mean) / self.std), dim=1)


model = Model(net).eval()
program = torch.export.export(model, (torch.zeros(2, x.shape[1]),),
                              dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
torch.export.save(program, out + "/model.pt2")
'''.replace("HIDDEN", str(HIDDEN)).replace("BATCH", str(BATCH)).replace("LEARNING_RATE", str(LEARNING_RATE))


def make_table() -> tuple[np.ndarray, np.ndarray]:
    """A wine-sized table: 178 rows, 13 numeric features on different scales, 3 classes."""
    rng = np.random.default_rng(0)
    label = rng.integers(0, CLASSES, ROWS)
    centres = rng.normal(0, 1.5, (CLASSES, FEATURES))
    scales = 10.0 ** rng.uniform(-1, 3, FEATURES)
    return (centres[label] + rng.normal(0, 1, (ROWS, FEATURES))) * scales, label


def write_data(folder: Path) -> Path:
    """:func:`make_table` as a CSV with a ``label`` column of class names."""
    x, label = make_table()
    names = [f"f{i + 1}" for i in range(FEATURES)]
    lines = [",".join(names + ["label"])]
    lines += [",".join(f"{v:.4g}" for v in row) + f",class_{c}" for row, c in zip(x, label)]
    path = folder / "wine.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_project(folder: Path, data: Path, epochs: int) -> Path:
    doc = {"format": "netstudio-project", "version": 1, "name": "wine",
           "data": {"source": "csv", "path": data.name, "target": "label", "validation_split": 0.2},
           "model": {"layers": [{"type": "Linear", "params": {"out_features": HIDDEN}}, {"type": "ReLU", "params": {}},
                                {"type": "Linear", "params": {"out_features": "auto"}}]},
           "training": {"optimizer": "adam", "learning_rate": LEARNING_RATE, "batch_size": BATCH,
                        "epochs": epochs, "device": "cpu", "seed": 0}}
    path = folder / "wine.nsproj"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def child_env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def timed(command: list[str], cwd: Path, out: Path, expect: str) -> float:
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=child_env(), timeout=600)
    seconds = time.perf_counter() - started
    if result.returncode != 0 or not (out / expect).is_file():
        raise SystemExit(f"{command[:4]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="also profile one netstudio train (cProfile)")
    parser.add_argument("--window-rounds", type=int, default=3, help="runs in the window (0: skip)")
    args = parser.parse_args()
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="netstudio-time-to-model-") as name:
        folder = Path(name)
        data = write_data(folder)
        project = write_project(folder, data, args.epochs)
        script = folder / "handwritten.py"
        script.write_text(SCRIPT, encoding="utf-8")
        runs = iter(range(10 ** 6))

        def netstudio() -> float:
            out = folder / f"run-{next(runs)}"
            return timed([sys.executable, "-m", "netstudio", "train", str(project), "--out", str(out), "--quiet"],
                         folder, out, "model.pt2")

        def handwritten() -> float:
            out = folder / f"script-{next(runs)}"
            return timed([sys.executable, str(script), str(data), str(out), str(args.epochs)], folder, out,
                         "model.pt2")

        sides = {"netstudio": netstudio, "script": handwritten}
        for side in sides.values():  # untimed: warms the file cache and the byte-code
            side()
        times: dict[str, list[float]] = {name: [] for name in sides}
        for round_ in range(args.rounds):
            for name in (list(sides) if round_ % 2 == 0 else list(reversed(sides))):
                times[name].append(sides[name]())
        load.append(os.getloadavg()[0])
        profile = _profile(project, folder) if args.profile else ""

    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"{ROWS}-row CSV, {args.epochs} epochs, OMP_NUM_THREADS=1, {args.rounds} interleaved rounds; "
          f"load average {load[0]:.2f} -> {load[1]:.2f}")
    header = f"{'side':44} {'median s':>9} {'min s':>7} {'max s':>7}"
    print(header)
    print("-" * len(header))
    labels = {"netstudio": "netstudio train (run folder written)", "script": "hand-written script (.pt2 saved)"}
    for name, label in labels.items():
        print(f"{label:44} {med[name]:9.2f} {min(times[name]):7.2f} {max(times[name]):7.2f}")
    print(f"ratio netstudio / script: {med['netstudio'] / med['script']:.2f}x (goal <= 1.25x)")
    if profile:
        print("\n" + profile)
    if args.window_rounds > 0:
        unlock, saved = window_latency(args.window_rounds, args.epochs)
        print(f"\nwindow, {args.window_rounds} runs of {args.epochs} epochs: design unlocked "
              f"{statistics.median(unlock):.3f} s after the last epoch (max {max(unlock):.3f} s; goal <= 0.5 s), "
              f"run folder saved after {statistics.median(saved):.3f} s (median)")


def window_latency(rounds: int, epochs: int) -> tuple[list[float], list[float]]:
    """Seconds from the end of ``fit`` to the design unlocking, and to the run being saved, per run."""
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from _window import WindowBench

    from netstudio.core.design.stack import LayerSpec

    x, label = make_table()
    layers = [LayerSpec.from_config({"type": "Linear", "params": {"out_features": HIDDEN}}),
              LayerSpec.from_config({"type": "ReLU", "params": {}}),
              LayerSpec.from_config({"type": "Linear", "params": {"out_features": "auto"}})]
    bench = WindowBench()
    unlocked: list[float] = []
    saved: list[float] = []
    window = bench.window
    set_locked = window.set_editing_locked

    def spy(locked: bool, message: str | None = None) -> None:
        set_locked(locked, message)
        if not locked:
            unlocked.append(time.perf_counter())

    window.set_editing_locked = spy  # the workflow looks it up on the window at each call
    bench.workflow.controller.run_finished.connect(lambda _result: saved.append(time.perf_counter()))
    unlock, save = [], []
    try:
        bench.open(layers, x.astype(np.float32), label.astype(np.int64), task="multiclass", batch_size=BATCH,
                   optimizer="adam", epochs=epochs, learning_rate=LEARNING_RATE, validation_split=0.2,
                   normalize=True)
        bench.train()  # warm-up: the first run imports and warms up PyTorch
        for _ in range(rounds):
            bench.train()
            fit_end = bench.fit_spans[-1][1]
            unlock.append(min(t for t in unlocked if t >= fit_end) - fit_end)
            save.append(saved[-1] - fit_end)
    finally:
        bench.close()
    return unlock, save


def _profile(project: Path, folder: Path) -> str:
    stats = folder / "train.prof"
    out = folder / "run-profiled"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "netstudio", "train", str(project),
                    "--out", str(out), "--quiet"], check=True, cwd=folder, env=child_env(), capture_output=True)
    code = ("import pstats, sys; pstats.Stats(sys.argv[1], stream=sys.stdout).sort_stats('cumulative')"
            ".print_stats(40)")
    return subprocess.run([sys.executable, "-c", code, str(stats)], capture_output=True, text=True).stdout


if __name__ == "__main__":
    main()
