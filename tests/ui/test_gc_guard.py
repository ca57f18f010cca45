"""Reference cycles are collected in the GUI thread, never in a worker (netstudio/ui/gc_guard.py)."""

import gc
import os
import subprocess
import sys

from netstudio.ui import gc_guard

SCRIPT = r"""
import gc, threading, time
from PySide6.QtCore import QCoreApplication
from netstudio.ui import gc_guard
from netstudio.ui.app import create_application

class Cycle:
    freed_in = []
    def __init__(self):
        self.me = self
    def __del__(self):
        Cycle.freed_in.append(threading.current_thread().name)

assert create_application() is not None and gc_guard.installed() is not None
assert not gc.isenabled()

def work():
    Cycle()  # garbage at once
    for _ in range(20):  # allocations far past every threshold: Python would collect here
        [{} for _ in range(gc.get_threshold()[0] * 2)]

thread = threading.Thread(target=work, name="a-worker")
thread.start()
thread.join()
assert Cycle.freed_in == [], f"collected in the worker thread: {Cycle.freed_in}"
kept = [[] for _ in range(gc.get_threshold()[0] * 2)]  # a collection is due: the GUI thread's timer runs it
deadline = time.monotonic() + 60
while not Cycle.freed_in and time.monotonic() < deadline:
    QCoreApplication.processEvents()
    time.sleep(0.01)
assert Cycle.freed_in == ["MainThread"], Cycle.freed_in
print("ok")
"""


def test_the_app_collects_in_the_gui_thread_only():
    """In a fresh interpreter: what other tests of this process allocated or collected must not
    decide where this cycle is freed."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]


def test_generations_are_collected_as_python_would(qtbot):
    collector = gc_guard.installed()
    before = list(collector.collections)
    kept = []
    for _ in range(2 * (gc.get_threshold()[1] + 2)):  # whatever the generation-1 count was
        kept.append([[] for _ in range(gc.get_threshold()[0] + 10)])  # live containers count too
        collector.check()
    assert collector.collections[0] > before[0] and collector.collections[1] > before[1]
