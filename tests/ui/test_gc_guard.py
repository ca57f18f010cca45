"""Reference cycles are collected in the GUI thread, never in a worker (netstudio/ui/gc_guard.py)."""

import gc
import threading

from netstudio.ui import gc_guard
from netstudio.ui.app import create_application


class Cycle:
    """Garbage only the cycle collector can free; notes the thread that freed it."""

    freed_in: list = []

    def __init__(self):
        self.me = self

    def __del__(self):
        Cycle.freed_in.append(threading.current_thread().name)


def test_the_app_collects_in_the_gui_thread_only(qtbot):
    assert create_application() is not None and gc_guard.installed() is not None
    assert not gc.isenabled()
    Cycle.freed_in = []

    def work():
        Cycle()  # garbage at once
        for _ in range(20):  # allocations far past every threshold: Python would collect here
            [{} for _ in range(gc.get_threshold()[0] * 2)]

    thread = threading.Thread(target=work, name="a-worker")
    thread.start()
    thread.join()
    assert Cycle.freed_in == [], "collected in the worker thread"
    kept = [[] for _ in range(gc.get_threshold()[0] * 2)]  # a collection is due: the GUI thread's timer runs it
    # the guard's timer frees it; a library that calls gc.collect() itself from one of its own
    # threads (outside the guard's reach) may get there first: never the worker that allocated
    qtbot.waitUntil(lambda: len(Cycle.freed_in) == 1, timeout=30000)  # a loaded machine
    assert Cycle.freed_in != ["a-worker"], Cycle.freed_in
    del kept


def test_generations_are_collected_as_python_would(qtbot):
    collector = gc_guard.installed()
    before = list(collector.collections)
    kept = []
    for _ in range(gc.get_threshold()[1] + 2):
        kept.append([[] for _ in range(gc.get_threshold()[0] + 10)])  # live containers count too
        collector.check()
    assert collector.collections[0] > before[0] and collector.collections[1] > before[1]
