"""Start-up time: process start to the main window's first paint, NetStudio vs a bare window.

Each run starts a fresh Python process and times, from just before the process is started to the
first paint event of its main window (reported by the child, which then exits at once):

* ``netstudio``: the real entry point (``netstudio`` with no arguments, as ``python -m netstudio``
  runs it: command line, QApplication, MainWindow with every panel) with settings in a fresh
  temporary folder; PyTorch must not be imported before the window shows;
* ``project``: the same, opening a project (``netstudio PROJECT``: the iris sample with a run
  folder beside it, so the Runs panel has a run to list); PyTorch must not be imported first
  either;
* ``bare``: PySide6 + pyqtgraph and nothing else: a QApplication and a QMainWindow holding one
  pyqtgraph PlotWidget with a curve.

Both run offscreen (``QT_QPA_PLATFORM=offscreen`` unless set), interleaved, ``--runs`` times each;
the table shows the median and the spread. Goals: NetStudio <= 0.8 s and <= 1.5x the bare window.
``--importtime`` also prints NetStudio's slowest imports (``python -X importtime``).

    python benchmarks/startup.py [--runs 9] [--importtime]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYCACHE = Path(tempfile.gettempdir()) / "netstudio-startup-pycache"

# Shared by both children: note the first paint of a widget in the main window, print the time, exit.
ON_FIRST_PAINT = r"""
import os, sys, time
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and obj.isWidgetType() and isinstance(obj.window(), QMainWindow):
            print(f"first-paint {time.time():.6f} torch={'torch' in sys.modules}", flush=True)
            os._exit(0)
        return False

first_paint = FirstPaint()
"""

NETSTUDIO = ON_FIRST_PAINT + r"""
sys.path.insert(0, REPO)
import netstudio.ui.app as app_module
original_launch = app_module.launch

def launch(project=None):
    app, window = original_launch(project)
    app.installEventFilter(first_paint)
    return app, window

app_module.launch = launch
from netstudio.cli import main
sys.argv = ["netstudio", *ARGS]
sys.exit(main())
"""

BARE = ON_FIRST_PAINT + r"""
import numpy as np
import pyqtgraph as pg
app = QApplication(sys.argv)
app.installEventFilter(first_paint)
window = QMainWindow()
plot = pg.PlotWidget()
plot.plot(np.arange(100.0), np.random.default_rng(0).normal(size=100))
window.setCentralWidget(plot)
window.resize(1280, 800)
window.show()
sys.exit(app.exec())
"""


def child_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYTHONDONTWRITEBYTECODE")}
    # Byte-code as an installed app has it (pip compiles on install), kept out of the checkout.
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
    return env


def time_child(code: str, home: Path, extra: tuple = ()) -> tuple[float, bool, str]:
    """Seconds from starting the process to its main window's first paint, and whether torch was loaded."""
    start = time.time()
    result = subprocess.run([sys.executable, *extra, "-c", code], capture_output=True, text=True, timeout=120,
                            env=child_env(home), cwd=str(home))
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("first-paint ")), None)
    if line is None:
        raise SystemExit(f"the child never painted its window:\n{result.stdout}\n{result.stderr}")
    _, stamp, torch = line.split()
    return float(stamp) - start, torch == "torch=True", result.stderr


def slowest_imports(home: Path, count: int = 20) -> list[tuple[int, int, str]]:
    code = NETSTUDIO.replace("REPO", repr(str(REPO))).replace("*ARGS", "")
    _, _, stderr = time_child(code, home, ("-X", "importtime"))
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line[len("import time:"):].split("|")
        rows.append((int(own), int(cumulative), name.rstrip()))
    return sorted(rows, key=lambda r: -r[1])[:count]


def _project_with_a_run(folder: Path) -> Path:
    """The iris sample copied into *folder*, with a run folder beside it (``netstudio train``)."""
    import shutil

    for name in ("iris.nsproj", "iris.csv"):
        shutil.copy(REPO / "samples" / name, folder / name)
    project = folder / "iris.nsproj"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "netstudio", "train", str(project), "--epochs", "2", "--quiet"],
                   check=True, env=env, cwd=str(folder), capture_output=True)
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--importtime", action="store_true", help="also list NetStudio's slowest imports")
    args = parser.parse_args()
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="netstudio-startup-") as folder:
        project = _project_with_a_run(Path(folder))
        netstudio = NETSTUDIO.replace("REPO", repr(str(REPO)))
        codes = {"netstudio": netstudio.replace("*ARGS", ""),
                 "project": netstudio.replace("*ARGS", repr(str(project))), "bare": BARE}
        times: dict[str, list[float]] = {name: [] for name in codes}
        torch_loaded = {name: False for name in codes}
        for code in codes.values():  # a first, untimed run of each warms the file cache and byte-code
            time_child(code, Path(folder))
        for run in range(args.runs):
            order = list(codes) if run % 2 == 0 else list(reversed(codes))
            for name in order:
                with tempfile.TemporaryDirectory(dir=folder) as home:  # a first start: no settings yet
                    seconds, torch, _ = time_child(codes[name], Path(home))
                times[name].append(seconds)
                torch_loaded[name] |= torch
        load.append(os.getloadavg()[0])
        imports = slowest_imports(Path(folder)) if args.importtime else []

    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"process start -> main window's first paint, {args.runs} interleaved runs each; "
          f"load average {load[0]:.2f} -> {load[1]:.2f}")
    header = f"{'window':34} {'median s':>9} {'min s':>7} {'max s':>7}"
    print(header)
    print("-" * len(header))
    labels = {"netstudio": "NetStudio (netstudio gui)", "project": "NetStudio opening a project with a run",
              "bare": "bare PySide6 + pyqtgraph window"}
    for name, label in labels.items():
        print(f"{label:34} {med[name]:9.3f} {min(times[name]):7.3f} {max(times[name]):7.3f}")
    print(f"ratio NetStudio / bare: {med['netstudio'] / med['bare']:.2f}x (goal <= 1.5x); NetStudio median "
          f"{med['netstudio']:.2f} s (goal <= 0.8 s); with a project open {med['project']:.2f} s, "
          f"{med['project'] / med['bare']:.2f}x; PyTorch imported before the window showed: "
          f"{'yes' if torch_loaded['netstudio'] else 'no'}, with the project "
          f"{'yes' if torch_loaded['project'] else 'no'}")
    if imports:
        print("\nslowest imports on NetStudio's start-up path (-X importtime, one run):")
        print(f"{'cumulative ms':>14} {'self ms':>8}  module")
        for own, cumulative, name in imports:
            print(f"{cumulative / 1000:14.1f} {own / 1000:8.1f}  {name}")


if __name__ == "__main__":
    main()
