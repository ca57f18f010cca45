"""Training throughput: NetStudio's Trainer vs a hand-written loop vs the DataLoader loop.

Same model, data, optimizer and seed for all of them; the loops are interleaved round by round in
one process so that machine noise hits them alike. Prints samples/s (median over rounds) and the
Trainer's ratio to the hand-written loop (goal: >= 0.95), also when the Trainer runs in the window:
a real MainWindow (offscreen) trains through its own Train path, with the worker thread, the
training panel and the live loss plot redrawing in a running Qt event loop (``--no-window`` skips
it). ``--device cuda`` runs every loop on the GPU with no per-step synchronisation: the clock
stops after a ``torch.cuda.synchronize()`` at the end of each timed loop only.

    python benchmarks/training_throughput.py [--rounds 5] [--device cpu|cuda] [--quick] [--no-window]
                                             [--threads N] [--seconds 2] [--only 1,3]

``--threads N`` sets PyTorch's intra-op threads for every loop (the window's worker then still
leaves a core to the GUI thread: it trains with ``min(N, cores - 1)``). On a busy 2-core machine
two threads make every loop several times slower and its timings erratic (OpenMP workers wait
for a preempted sibling), so compare loops at the same setting.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netstudio.core.config import TrainConfig  # noqa: E402
from netstudio.core.data.dataset import Dataset, DataSummary  # noqa: E402
from netstudio.core.design.builder import build_model  # noqa: E402
from netstudio.core.design.stack import LayerSpec, LayerStack  # noqa: E402
from netstudio.core.training.states import Callback  # noqa: E402
from netstudio.core.training.trainer import Trainer

S = LayerSpec.create


def workloads(quick: bool):
    n = 4000 if quick else 20000
    rng = np.random.default_rng(0)
    x10 = rng.normal(size=(n, 10)).astype(np.float32)
    y10 = (x10 @ rng.normal(size=10) > 0).astype(np.int64)
    x64 = rng.normal(size=(n, 64)).astype(np.float32)
    y64 = rng.integers(0, 10, size=n)
    n_img = n // 4
    ximg = rng.normal(size=(n_img, 1, 16, 16)).astype(np.float32)
    yimg = rng.integers(0, 10, size=n_img)
    mlp_small = [S("Linear", out_features=5), S("ReLU"), S("Linear", out_features=1)]
    mlp_big = [S("Linear", out_features=256), S("ReLU"), S("Linear", out_features=256), S("ReLU"),
               S("Linear", out_features=10)]
    cnn = [S("Conv2d", out_channels=8, padding=1), S("ReLU"), S("MaxPool2d"), S("Conv2d", out_channels=16, padding=1),
           S("ReLU"), S("MaxPool2d"), S("Flatten"), S("Linear", out_features=10)]
    return [
        ("MLP 10-5-1, batch 32, SGD", mlp_small, x10, y10, "binary", 32, "sgd", 3),
        ("MLP 10-5-1, batch 256, SGD", mlp_small, x10, y10, "binary", 256, "sgd", 10),
        ("MLP 64-256-256-10, batch 128, Adam", mlp_big, x64, y64, "multiclass", 128, "adam", 3),
        ("CNN 16x16, batch 64, Adam", cnn, ximg, yimg, "multiclass", 64, "adam", 2),
    ]


def dataset(x, y, task):
    classes = [str(i) for i in range(int(y.max()) + 1)] if task == "multiclass" else ["0", "1"]
    empty_x, empty_y = x[:0], y[:0]
    return Dataset("bench", task, x, y, empty_x, empty_y, classes, [], None,
                   DataSummary("bench", len(x), 0, x.shape[1:], task))


def fresh_model(layers, x, task, device):
    stack = LayerStack([s.copy() for s in layers])
    width = 10 if task == "multiclass" else 1
    return stack, build_model(stack, x.shape[1:], width, seed=0).to(device)


def optimizer_for(name, model, lr, fused=None):
    kwargs = {"fused": True} if fused else {}
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, **kwargs) if name == "sgd" else \
        torch.optim.Adam(model.parameters(), lr=lr, **kwargs)


def loss_and_targets(task, y, device):
    if task == "binary":
        return nn.BCEWithLogitsLoss(), torch.as_tensor(y, dtype=torch.float32).reshape(-1, 1).to(device)
    return nn.CrossEntropyLoss(), torch.as_tensor(y, dtype=torch.int64).to(device)


def run_hand(layers, x, y, task, bs, opt_name, epochs, device, fused=False):
    """The minimal loop a careful PyTorch user writes: tensors on the device, permute and slice."""
    _, model = fresh_model(layers, x, task, device)
    opt = optimizer_for(opt_name, model, 0.01, fused)
    loss_fn, yt = loss_and_targets(task, y, device)
    X = torch.as_tensor(x).to(device)
    n = X.shape[0]
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g).to(device)
        total = torch.zeros((), device=device)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            loss = loss_fn(model(X[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach()
        total.item()
    sync(device)
    return n * epochs / (time.perf_counter() - t0)


def run_dataloader(layers, x, y, task, bs, opt_name, epochs, device):
    """The classic tutorial loop: DataLoader(TensorDataset(...), shuffle=True)."""
    from torch.utils.data import DataLoader, TensorDataset

    _, model = fresh_model(layers, x, task, device)
    opt = optimizer_for(opt_name, model, 0.01)
    loss_fn, yt = loss_and_targets(task, y, "cpu")
    loader = DataLoader(TensorDataset(torch.as_tensor(x), yt), batch_size=bs, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(epochs):
        total = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
    sync(device)
    return len(x) * epochs / (time.perf_counter() - t0)


class LivePlotLike(Callback):
    """What the window's worker does each batch: note the state, flush 15 times a second (its EMIT_RATE)."""

    def __init__(self):
        self.last = 0.0
        self.read = 0
        self.points = []

    def on_batch_end(self, state):
        now = time.perf_counter()
        if now - self.last >= 1 / 15:
            self.last = now
            if state.step < self.read:
                self.read = 0
            new = state.step_losses[self.read:state.step]
            if new:
                self.points.extend(torch.stack(new).tolist())
            self.read = state.step


def run_trainer(layers, x, y, task, bs, opt_name, epochs, device, callbacks=()):
    stack, model = fresh_model(layers, x, task, device)
    cfg = TrainConfig(optimizer=opt_name, learning_rate=0.01, momentum=0.9, batch_size=bs, epochs=epochs,
                      device=str(device), seed=0)
    data = dataset(x, y, task)
    sync(device)
    t0 = time.perf_counter()
    Trainer(cfg).fit(model, data, callbacks, stack=stack)
    sync(device)
    return len(x) * epochs / (time.perf_counter() - t0)


def run_window(bench, layers, x, y, task, bs, opt_name, epochs, device):
    """The same training, started from the window's Train action; timed around the trainer's fit."""
    seconds = bench.train()
    return len(x) * epochs / seconds


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="smaller data, for a smoke run")
    parser.add_argument("--no-window", action="store_true", help="skip training in the window")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads for every loop")
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="about how long each timed run lasts (epochs are scaled up to it; 0: the fixed epochs)")
    parser.add_argument("--only", help="comma-separated workload numbers (1-4) to run, e.g. 2,4")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    bench = None
    if not args.no_window:
        from _window import WindowBench

        bench = WindowBench()
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, rounds {args.rounds}, "
          f"load average {os.getloadavg()[0]:.2f}")
    header = (f"{'workload (epochs)':36} {'hand-written':>12} {'hand fused':>10} {'DataLoader':>10} {'Trainer':>9} "
              f"{'+live cb':>9} {'window':>9} {'ratio':>6} {'ratio cb':>8} {'window':>7} {'vs fused':>8}")
    print(header)
    print("-" * len(header))
    chosen = {int(i) for i in args.only.split(",")} if args.only else None
    for number, (name, layers, x, y, task, bs, opt, epochs) in enumerate(workloads(args.quick), 1):
        if chosen and number not in chosen:
            continue
        if args.seconds:  # long enough that the start of a run (the window locking its design...) does not count
            rate = run_hand(layers, x, y, task, bs, opt, epochs, device)
            epochs = max(epochs, round(args.seconds * rate / len(x)))
        runs = {"hand": [], "hand_fused": [], "loader": [], "trainer": [], "trainer_cb": []}
        if bench is not None:
            runs["window"] = []
            bench.open(layers, x, y, task=task, batch_size=bs, optimizer=opt, epochs=epochs, device=str(device))
        for r in range(args.rounds):
            order = list(runs)
            order = order[r % len(order):] + order[:r % len(order)]
            for which in order:
                # Each run starts without the garbage of the ones before it: with the window open,
                # cycles are collected only by its GUI-thread timer (netstudio/ui/gc_guard.py), so
                # the window's run would otherwise pay for collecting the other loops' garbage.
                gc.collect()
                if which == "hand":
                    runs[which].append(run_hand(layers, x, y, task, bs, opt, epochs, device))
                elif which == "hand_fused":
                    runs[which].append(run_hand(layers, x, y, task, bs, opt, epochs, device, fused=True))
                elif which == "loader":
                    runs[which].append(run_dataloader(layers, x, y, task, bs, opt, epochs, device))
                elif which == "trainer":
                    runs[which].append(run_trainer(layers, x, y, task, bs, opt, epochs, device))
                elif which == "window":
                    runs[which].append(run_window(bench, layers, x, y, task, bs, opt, epochs, device))
                else:
                    runs[which].append(run_trainer(layers, x, y, task, bs, opt, epochs, device, [LivePlotLike()]))
        med = {k: statistics.median(v) for k, v in runs.items()}
        window = (f"{med['window']:>9,.0f}", f"{med['window'] / med['hand']:>7.2f}") if bench else (f"{'–':>9}", f"{'–':>7}")
        print(f"{name + f' ({epochs} ep)':36} {med['hand']:>12,.0f} {med['hand_fused']:>10,.0f} {med['loader']:>10,.0f} "
              f"{med['trainer']:>9,.0f} {med['trainer_cb']:>9,.0f} {window[0]} {med['trainer'] / med['hand']:>6.2f} "
              f"{med['trainer_cb'] / med['hand']:>8.2f} {window[1]} {med['trainer'] / med['hand_fused']:>8.2f}")
    if bench is not None:
        bench.close()
    print(f"samples/s, median of rounds; load average {os.getloadavg()[0]:.2f}. ratio = Trainer / hand-written\n"
          "(goal >= 0.95); ratio cb = with a live-plot-like callback; window = trained from the window with the\n"
          "live plot, / hand-written; vs fused = Trainer / a hand-written loop that also uses fused optimizers.")


if __name__ == "__main__":
    main()
