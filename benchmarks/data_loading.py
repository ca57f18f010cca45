"""Data loading speed and memory: NetStudio's CSV loader against ``pandas.read_csv`` alone.

Run ``python benchmarks/data_loading.py`` (add ``--rows 200000`` for a quick look). It writes a
numeric CSV (``rows`` x 20 columns: 19 features and a target) into a temporary folder, then

* times ``pandas.read_csv(path)`` and ``load_dataset`` + ``torch.from_numpy`` (``--repeat`` times,
  modules imported before the clock starts on both sides,
  interleaved; the best of each, and the median of the ratios of the runs side by side, which a
  busy moment on a shared machine sways less), each in a fresh subprocess that also reports its peak memory above what it held
  before loading: the peak RSS (``ru_maxrss``, which counts the pages of the file pandas
  memory-maps) and the peak of anonymous memory (``RssAnon``, sampled every 2 ms: what was
  really allocated); the goal is a ratio near 1.0 and a peak within ~3x the float32 size;
* times a folder of ``--images`` small PNG files (3 classes) through the image loader, counting
  the progress callbacks.

It prints a table; benchmarks/README.md records the results. This is a benchmark, not a test.
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

CHILD = r"""
import gc, json, resource, sys, time
sys.path.insert(0, {repo!r})
import numpy as np, pandas as pd
from pathlib import Path
mode, path = sys.argv[1], Path(sys.argv[2])
if mode == "netstudio":
    import torch
    from netstudio.core.data.load import load_dataset
    import netstudio.core.data.tabular  # the CSV loader's code, imported as `import pandas` imports read_csv's
import threading
def anon_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0
peak_anon = [0]
done = threading.Event()
def sample():  # RssAnon has no high-water mark: sample it (every 2 ms)
    while not done.is_set():
        peak_anon[0] = max(peak_anon[0], anon_kib())
        time.sleep(0.002)
gc.collect()
anon_before = anon_kib()
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if mode == "pandas":
    frame = pd.read_csv(path)
    shape = frame.shape
else:
    data = load_dataset({{"source": "csv", "path": path.name, "target": "y", "validation_split": 0.2,
                          "seed": 0, "task": "auto", "normalize": True}}, path.parent)
    X_train, y_train = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    X_val, y_val = torch.from_numpy(data.X_val), torch.from_numpy(data.y_val)
    shape = (data.n_train + data.n_val, data.input_shape[0] + 1)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
done.set()
sampler.join()
peak_anon[0] = max(peak_anon[0], anon_kib())
print(json.dumps({{"seconds": seconds, "peak_kib": peak - before, "anon_kib": peak_anon[0] - anon_before,
                  "shape": list(shape)}}))
"""


def write_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    with path.open("w") as handle:
        handle.write(",".join([f"f{i}" for i in range(19)] + ["y"]) + "\n")
        for start in range(0, rows, 100_000):
            block = rng.normal(size=(min(100_000, rows - start), 20))
            block[:, :19] *= rng.uniform(0.5, 50, 19)
            block[:, 19] = block[:, :19] @ rng.normal(size=19) + rng.normal(size=len(block))
            handle.write("\n".join(",".join(f"{v:.6g}" for v in row) for row in block) + "\n")


def run_child(mode: str, path: Path) -> dict:
    code = CHILD.format(repo=str(REPO))
    result = subprocess.run([sys.executable, "-c", code, mode, str(path)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def csv_benchmark(rows: int, repeat: int) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "numbers.csv"
        start = time.perf_counter()
        write_csv(path, rows)
        print(f"wrote {path.stat().st_size / 2**20:.0f} MiB CSV ({rows:,} x 20) in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)
        runs: dict[str, list[dict]] = {"pandas": [], "netstudio": []}
        for _ in range(repeat):  # interleaved, so a busy moment hits both sides alike
            for mode in runs:
                runs[mode].append(run_child(mode, path))
    best = {mode: min(r["seconds"] for r in results) for mode, results in runs.items()}
    median = {mode: statistics.median(r["seconds"] for r in results) for mode, results in runs.items()}
    paired = statistics.median(ns["seconds"] / pd["seconds"] for pd, ns in zip(runs["pandas"], runs["netstudio"]))
    peak = {mode: max(r["peak_kib"] for r in results) * 1024 for mode, results in runs.items()}
    anon = {mode: max(r["anon_kib"] for r in results) * 1024 for mode, results in runs.items()}
    tensor_bytes = rows * 20 * 4

    def memory(mode: str) -> str:
        return f"+{peak[mode] / 2**20:.0f} MiB RSS, +{anon[mode] / 2**20:.0f} MiB allocated"

    return [
        ("rows x columns", f"{rows:,} x 20"),
        ("pandas.read_csv alone", f"best {best['pandas']:.2f} s, median {median['pandas']:.2f} s, "
                                  f"peak {memory('pandas')}"),
        ("load_dataset -> tensors", f"best {best['netstudio']:.2f} s, median {median['netstudio']:.2f} s, "
                                    f"peak {memory('netstudio')}"),
        ("time ratio (NetStudio / pandas)", f"{paired:.2f}x median of {len(runs['pandas'])} side-by-side pairs, "
                                            f"{best['netstudio'] / best['pandas']:.2f}x best / best"),
        ("float32 size of the data", f"{tensor_bytes / 2**20:.0f} MiB"),
        ("peak RSS / float32 size", f"{peak['netstudio'] / tensor_bytes:.2f}x (includes the memory-mapped file)"),
        ("peak allocated / float32 size", f"{anon['netstudio'] / tensor_bytes:.2f}x (anonymous memory, sampled)"),
    ]


def image_benchmark(count: int) -> list[tuple[str, str]]:
    from PIL import Image, ImageDraw

    from netstudio.core.data.load import load_dataset

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        rng = np.random.default_rng(0)
        for i in range(count):
            label = ("circle", "square", "triangle")[i % 3]
            (root / label).mkdir(exist_ok=True)
            image = Image.new("RGB", (32, 32), tuple(int(v) for v in rng.integers(0, 256, 3)))
            ImageDraw.Draw(image).ellipse((4, 4, 28, 28), fill=(255, 255, 255))
            image.save(root / label / f"{i}.png")
        calls = []
        start = time.perf_counter()
        data = load_dataset({"source": "images", "path": str(root), "validation_split": 0.2, "seed": 0},
                            root, progress=lambda done, total: calls.append((done, total)))
        seconds = time.perf_counter() - start
    return [
        ("image files", f"{count:,} PNG, 32x32 RGB, 3 classes"),
        ("load_dataset (images)", f"{seconds:.2f} s ({count / seconds:,.0f} images/s)"),
        ("progress callbacks", f"{len(calls)} (last {calls[-1][0]:,}/{calls[-1][1]:,})"),
        ("input shape", str(list(data.input_shape))),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--images", type=int, default=10_000)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    table = csv_benchmark(args.rows, args.repeat)
    if args.images:
        table += image_benchmark(args.images)
    table.append(("load average (start -> end)", f"{load:.2f} -> {os.getloadavg()[0]:.2f}"))
    width = max(len(k) for k, _ in table)
    print(f"| {'measure'.ljust(width)} | result |")
    print(f"| {'-' * width} | --- |")
    for key, value in table:
        print(f"| {key.ljust(width)} | {value} |")


if __name__ == "__main__":
    main()
