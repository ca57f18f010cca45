"""Inspection overhead: training speed with the window's InspectionProbe on and off.

The window always adds an :class:`~netstudio.core.training.inspection.InspectionProbe` to a run
(snapshots at most twice a second, gradient norms every 10 steps, diagnoses after every epoch).
This trains the same project with and without it, interleaved round by round in one process so
that machine noise hits both alike, and prints samples/s (median over rounds) and the ratio
on/off (the issue's goal: >= 0.9). Workloads: the iris sample (an MLP) and the shapes sample
(a small CNN on 32x32 images), each with the epochs raised so that a run lasts about a second or
more: the probe's fixed cost is two snapshots (before the first step and after the last, ~16 ms
each for the CNN), which alone is 10 % of a 0.3 s run; after that it costs at most ``rate``
snapshots and diagnoses a second.

    OMP_NUM_THREADS=1 python benchmarks/inspection_overhead.py [--rounds 5] [--epochs-iris 300]
                                                              [--epochs-shapes 20]

Set ``OMP_NUM_THREADS=1`` (the default here when unset) so that a busy machine's other work does
not stall OpenMP workers and swamp the difference being measured.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netstudio.core.project import load_project  # noqa: E402
from netstudio.core.training.inspection import probe_for_session  # noqa: E402
from netstudio.core.training.session import prepare_session  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def timed_fit(project, dataset, inspect: bool) -> tuple[float, int]:
    """Samples/s of one fit (timed around ``fit`` only) and the snapshots the probe took."""
    session = prepare_session(project, dataset=dataset, device="cpu")
    snapshots = []
    callbacks = [probe_for_session(session, on_snapshot=snapshots.append)] if inspect else []
    gc.collect()
    t0 = time.perf_counter()
    session.fit(callbacks)
    seconds = time.perf_counter() - t0
    epochs = int(project.training["epochs"])
    return dataset.n_train * epochs / seconds, len(snapshots)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs-iris", type=int, default=300)
    parser.add_argument("--epochs-shapes", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))

    workloads = []
    for name, epochs in (("iris", args.epochs_iris), ("shapes", args.epochs_shapes)):
        project = load_project(SAMPLES / f"{name}.nsproj")
        project.training.update({"epochs": epochs, "device": "cpu"})
        project.training.pop("early_stopping", None)
        session = prepare_session(project, device="cpu")
        workloads.append((name, project, session.dataset))

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, rounds {args.rounds}")
    for name, project, dataset in workloads:
        timed_fit(project, dataset, True)  # warm-up: first-call costs out of the timings
        on, off, shots = [], [], []
        for round_ in range(args.rounds):
            order = (True, False) if round_ % 2 == 0 else (False, True)
            for inspect in order:
                rate, taken = timed_fit(project, dataset, inspect)
                (on if inspect else off).append(rate)
                if inspect:
                    shots.append(taken)
        on_m, off_m = statistics.median(on), statistics.median(off)
        print(f"{name:7s} {dataset.n_train} train samples x {project.training['epochs']} epochs, "
              f"batch {project.training.get('batch_size')}: off {off_m:,.0f} samples/s, on {on_m:,.0f} "
              f"samples/s, ratio {on_m / off_m:.3f} (snapshots per run: median {statistics.median(shots):g})")


if __name__ == "__main__":
    main()
