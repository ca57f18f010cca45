"""Responsiveness while training: how late a 10 ms timer fires in the window's event loop.

A real main window (offscreen) trains the fastest workload, MLP 10-5-1 at batch 32 with SGD, for
about ``--seconds`` seconds through its own Train path (worker thread, coalesced progress signals,
training panel and log, the live loss plot redrawing up to 15 times a second). Meanwhile a precise 10 ms
single-shot timer in the GUI thread is re-armed each time it fires and records how late it came:
that is how long a click or a keystroke would wait. The same probe also runs in the idle window
first, for reference. Only the ticks while the trainer's ``fit`` runs count (not the saving of
the run afterwards). Goals: p99 lateness <= 30 ms, worst <= 100 ms.

    python benchmarks/responsiveness.py [--seconds 10] [--runs 3] [--validation 0.2]
                                        [--threads N] [--switch-interval S]

``--threads`` and ``--switch-interval`` override PyTorch's intra-op threads and Python's GIL
switch interval for the whole process, for experiments (the app sets its own while it trains).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _window import LatenessProbe, WindowBench  # noqa: E402
from training_throughput import workloads  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="about how long each training run lasts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--validation", type=float, default=0.2, help="validation split of the run (as in the app)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads for the whole process")
    parser.add_argument("--switch-interval", type=float, help="sys.setswitchinterval for the whole process (seconds)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)

    name, layers, x, y, task, bs, opt, _ = workloads(quick=False)[0]
    n_train = round(len(x) * (1 - args.validation))
    bench = WindowBench()
    probe = LatenessProbe()
    rows = []
    try:
        probe.start()
        bench.spin(min(args.seconds, 5.0))
        probe.stop()
        rows.append(("idle window", None, None, probe.summary()))
        bench.open(layers, x, y, task=task, batch_size=bs, optimizer=opt, epochs=2, validation_split=args.validation)
        bench.train()  # the first run also loads and warms up PyTorch: not a measure
        epochs = max(1, math.ceil(args.seconds / (bench.train() / 2)))  # a second, short run sets the length
        print(f"{name}: {n_train:,} training samples, {epochs} epochs a run; torch threads "
              f"{torch.get_num_threads()}, switch interval {sys.getswitchinterval() * 1000:g} ms; "
              f"load average {os.getloadavg()[0]:.2f}")
        for run in range(1, args.runs + 1):
            seconds = bench.train(probe, epochs=epochs)
            start, end = bench.fit_spans[-1]
            rows.append((f"training, run {run}", seconds, n_train * epochs / seconds, probe.summary(start, end)))
    finally:
        bench.close()

    header = f"{'':18} {'fit s':>6} {'samples/s':>10} {'ticks':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    print(header)
    print("-" * len(header))
    for label, seconds, speed, s in rows:
        fit = f"{seconds:6.2f}" if seconds is not None else f"{'–':>6}"
        sps = f"{speed:10,.0f}" if speed is not None else f"{'–':>10}"
        print(f"{label:18} {fit} {sps} {s['ticks']:6d} {s['p50']:7.1f} {s['p99']:7.1f} {s['max']:7.1f}")
    training = [r[3] for r in rows[1:]]
    print(f"median of the training runs: p99 {statistics.median(s['p99'] for s in training):.1f} ms "
          f"(goal <= 30), max {statistics.median(s['max'] for s in training):.1f} ms (goal <= 100); "
          f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
